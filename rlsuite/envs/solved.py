"""What "solved" means for each rlsuite env: thresholds on an evaluation's figures, with their anchors.

One :class:`SolvedDefinition` per env id (:data:`DEFINITIONS`): the thresholds (:class:`Criterion`,
on the keys of an evaluation result: ``return_mean`` and each task metric's ``<name>_mean``), how
many held-out episodes they are judged over, what must be held out, and the published figure the
definition is anchored to (:class:`Anchor`, with its source). Some thresholds depend on the env's
kwargs — Highway's speed range is the reward's ``reward_speed_range``; GridRacetrack's bar is 95 % of
the exact optimum of the track and noise evaluated, computed by value iteration
(:mod:`rlsuite.envs.driving.grid_solver`) — so a definition gives its criteria for given kwargs.

    >>> from rlsuite.envs.solved import is_solved
    >>> is_solved("rlsuite/Highway-v0", {}, {"crash_rate_mean": 0.02, "mean_speed_mean": 24.0})
    (True, 'solved: crash_rate_mean = 0.02 <= 0.05; mean_speed_mean = 24 in [20, 30] (over 100 held-out episodes)')

A zoo card or a study calls :func:`is_solved`; the docs' env pages render :data:`DEFINITIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "DEFINITIONS",
    "Anchor",
    "Criterion",
    "SolvedDefinition",
    "definition",
    "grid_racetrack_optimum",
    "is_solved",
]

HELD_OUT_EPISODES = 100
GRID_FRACTION = 0.05  # GridRacetrack: at most this fraction of |optimum| below the optimum


@dataclass(frozen=True)
class Criterion:
    """``low <= result[metric] <= high`` (either bound may be open: ``-inf`` / ``inf``)."""

    metric: str  # a key of an evaluation result: "return_mean" or a task metric's "<name>_mean"
    low: float = -math.inf
    high: float = math.inf

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and self.low <= value <= self.high

    def describe(self) -> str:
        if math.isinf(self.low):
            return f"{self.metric} <= {self.high:g}"
        if math.isinf(self.high):
            return f"{self.metric} >= {self.low:g}"
        return f"{self.metric} in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Anchor:
    """The published figure a definition is anchored to, and where it is published."""

    figure: str  # what the source reports, in our words, with its numbers
    source: str  # the citation: title (and commit or date where the page moves)
    url: str  # a web address, or a path in this repository (experiments/<study>/RESULTS.md)
    gap: str  # what the source does not give, and how the threshold relates to it


@dataclass(frozen=True)
class SolvedDefinition:
    """Solved for one env id: thresholds judged over ``episodes`` held-out episodes."""

    env_id: str
    text: str  # the definition in one or two sentences
    variants: str  # which env variants it covers (kwargs)
    held_out: str  # what the evaluation must not have seen in training
    anchor: Anchor
    criteria: Callable[[Mapping[str, Any]], tuple[Criterion, ...]]  # the thresholds for these env kwargs
    episodes: int = HELD_OUT_EPISODES
    check_kwargs: Callable[[Mapping[str, Any]], str | None] = lambda kwargs: None  # why kwargs do not qualify

    def thresholds(self, env_kwargs: Mapping[str, Any] | None = None) -> str:
        """The criteria for these kwargs, in words (e.g. ``crash_rate_mean <= 0.05; ...``)."""
        return "; ".join(c.describe() for c in self.criteria(dict(env_kwargs or {})))


# --------------------------------------------------------------------------------------------
# Per-env thresholds that depend on the kwargs
# --------------------------------------------------------------------------------------------
def _highway_criteria(kwargs: Mapping[str, Any]) -> tuple[Criterion, ...]:
    from rlsuite.envs.driving.highway_core import HighwayConfig

    low, high = kwargs.get("reward_speed_range", HighwayConfig.defaults()["reward_speed_range"])
    return (Criterion("crash_rate_mean", high=0.05), Criterion("mean_speed_mean", float(low), float(high)))


@lru_cache(maxsize=32)
def _grid_optimum(track: str | tuple[str, ...], noise: float) -> float:
    from rlsuite.envs.driving.grid_solver import solve

    return solve(track=track if isinstance(track, str) else list(track), noise=noise).optimal_return


def grid_racetrack_optimum(env_kwargs: Mapping[str, Any] | None = None) -> float:
    """The exact optimal expected return of ``rlsuite/GridRacetrack-v0`` with these kwargs (track and
    noise; the registered 1000-step limit), by value iteration; cached per track and noise."""
    from rlsuite.envs.driving.grid_racetrack import GridRacetrackConfig

    config = GridRacetrackConfig.from_kwargs(
        {k: v for k, v in (env_kwargs or {}).items() if k != "render_mode"}
    )
    return _grid_optimum(config.track, float(config.noise))


def _grid_criteria(kwargs: Mapping[str, Any]) -> tuple[Criterion, ...]:
    optimum = grid_racetrack_optimum(kwargs)
    return (Criterion("return_mean", low=optimum - GRID_FRACTION * abs(optimum)),)


def _racetrack_layouts(kwargs: Mapping[str, Any]) -> str | None:
    track = kwargs.get("track", "kidney")
    if track == "random" or (isinstance(track, int) and not isinstance(track, bool)):
        return None
    return (
        f"Racetrack is judged on unseen layouts: evaluate with track='random' or an int layout seed "
        f"that training never saw, not track={track!r}"
    )


_RL_ZOO = "RL Baselines3 Zoo, benchmark.md (DLR-RM/rl-baselines3-zoo, commit 22e3ff2, 2026-04-23)"
_RL_ZOO_URL = (
    "https://github.com/DLR-RM/rl-baselines3-zoo/blob/22e3ff2450fd92033f7f032915e1f64894a09584/benchmark.md"
)
_RL_ZOO_GAP = (
    "The benchmark has no row for MuJoCo {mujoco} (its only reacher is the PyBullet ReacherBulletEnv-v0) "
    "and no success-rate figure for any env: it reports the mean return of one trained agent. "
    "The success threshold is ours: {ours}"
)

DEFINITIONS: dict[str, SolvedDefinition] = {
    d.env_id: d
    for d in (
        SolvedDefinition(
            env_id="rlsuite/Racetrack-v0",
            text="A mean return of at least 290 over 100 episodes on layouts that training never saw, "
            "from the state observation, and from pixels through a frozen pretrained encoder.",
            variants="obs_type='state', and obs_type='pixels' with a frozen encoder; any action_type",
            held_out="the layouts (track='random' or int layout seeds not trained on) and the episode seeds",
            anchor=Anchor(
                figure="Our own runs on the default (kidney) track, state observations, 1000-step episodes: "
                "final greedy return median 287.5 (DQN, 6 seeds, best 290.6) and 278.2 (PQN, 7 seeds, best "
                "290.7); held-out episodes up to 291.6.",
                source="rlsuite experiments/pqn/RESULTS.md (commit 5accac7)",
                url="experiments/pqn/RESULTS.md",
                gap="No external anchor: highway-env's racetrack-v0 is a different task (lane keeping, "
                "continuous steering only) with no published return table. 290 is the level our best "
                "seeds reach on the training layout; the definition asks for it on unseen layouts.",
            ),
            criteria=lambda kwargs: (Criterion("return_mean", low=290.0),),
            check_kwargs=_racetrack_layouts,
        ),
        SolvedDefinition(
            env_id="rlsuite/Highway-v0",
            text="At most 5 % of 100 held-out episodes end in a collision, at a mean speed inside the "
            "reward's speed range (reward_speed_range, default [20, 30] m/s).",
            variants="any obs_type and action_type; the speed range is the env's reward_speed_range kwarg",
            held_out="the episode seeds (traffic draws)",
            anchor=Anchor(
                figure="highway-env's quickstart trains Stable-Baselines3's DQN (MLP 256x256, 2e4 steps) on "
                "highway-fast-v0 and shows training curves for 5 seeds: mean episode length reaches about "
                "23-26 of the 30 steps and mean episode reward about 18-21; its reward maps speed over "
                "reward_speed_range = [20, 30] m/s to [0, 1]. Its PPO script (scripts/sb3_highway_ppo.py, "
                "same budget) publishes no result.",
                source="highway-env docs, quickstart.md 'Training an agent' (Farama-Foundation/HighwayEnv, "
                "commit 1a00a68, 2026-07-06); highway_env/envs/highway_env.py default_config",
                url="https://github.com/Farama-Foundation/HighwayEnv/blob/1a00a68e61da86fc435c02a31f7485dd7e11ea35/docs/quickstart.md",
                gap="highway-env publishes no crash rate: an episode ends at a collision, so episodes "
                "shorter than 30 steps are crashes, and the curves imply a crash rate well above 5 %. "
                "The 5 % bar is ours and stricter; the speed range is the anchor's own.",
            ),
            criteria=_highway_criteria,
        ),
        SolvedDefinition(
            env_id="rlsuite/Reacher-v0",
            text="At least 95 % of 100 held-out episodes end with the fingertip within success_tolerance "
            "(default 0.02 m) of the target.",
            variants="any obs_type and action_type",
            held_out="the episode seeds (targets and start poses)",
            anchor=Anchor(
                figure="RL Zoo's trained agents on ReacherBulletEnv-v0 (PyBullet) after 300k steps: "
                "SAC 18.06 ± 9.73 and TQC 18.26 ± 9.54 mean return over 1000 episodes.",
                source=_RL_ZOO,
                url=_RL_ZOO_URL,
                gap=_RL_ZOO_GAP.format(
                    mujoco="Reacher-v3/v4/v5",
                    ours="an episode ending within 2 cm of the target (the arm's is_success at the last step).",
                ),
            ),
            criteria=lambda kwargs: (Criterion("success_rate_mean", low=0.95),),
        ),
        SolvedDefinition(
            env_id="rlsuite/Pusher-v0",
            text="At least 80 % of 100 held-out episodes end with the puck within goal_radius (default "
            "0.03 m) of the goal (is_success at the last step).",
            variants="any obs_type and action_type",
            held_out="the episode seeds (object and goal placements)",
            anchor=Anchor(
                figure="RL Zoo publishes no Pusher figure at all (no Pusher row in benchmark.md, no Pusher "
                "hyper-parameters); its closest arm task is ReacherBulletEnv-v0 (SAC 18.06, TQC 18.26).",
                source=_RL_ZOO,
                url=_RL_ZOO_URL,
                gap=_RL_ZOO_GAP.format(
                    mujoco="Pusher-v2/v4/v5",
                    ours="the puck within goal_radius (default 0.03 m) of the goal at the episode's end.",
                ),
            ),
            criteria=lambda kwargs: (Criterion("success_rate_mean", low=0.80),),
        ),
        SolvedDefinition(
            env_id="rlsuite/GridRacetrack-v0",
            text="A mean return within 5 % of the exact optimum of the track and noise evaluated (value "
            "iteration over the env's own transition model), over 100 held-out episodes, on each named "
            "track.",
            variants="track: each named track ('classic', 'wide'; custom maps are solved the same way); "
            "any noise",
            held_out="the episode seeds (start cells, noise draws) and the training seeds used for tuning",
            anchor=Anchor(
                figure="The exact optimum, computed here: value iteration over the env's transition table "
                "and its two random events (failed increments, crash resets), under the 1000-step limit "
                "(rlsuite.envs.driving.grid_solver.solve). Sutton & Barto pose the task (exercise 5.12) "
                "without a figure for it.",
                source="Sutton & Barto, Reinforcement Learning: An Introduction (2nd ed., 2018), "
                "exercise 5.12; rlsuite.envs.driving.grid_solver",
                url="http://incompleteideas.net/book/the-book-2nd.html",
                gap="None: the optimum is exact, so 'within 5 %' is a distance from the ceiling.",
            ),
            criteria=_grid_criteria,
        ),
    )
}


def definition(env_id: str) -> SolvedDefinition:
    """The definition of solved for ``env_id`` (``"rlsuite/Highway-v0"``; a ``"rlsuite:"`` prefix is
    accepted)."""
    key = env_id.removeprefix("rlsuite:")
    if key not in DEFINITIONS:
        raise KeyError(f"no definition of solved for env id {env_id!r}; defined for: {sorted(DEFINITIONS)}")
    return DEFINITIONS[key]


def _value(result: Mapping[str, Any], metric: str) -> float | None:
    """``result[metric]``, also under the training log's names (``eval/<metric>``, ``eval/<name>``) and
    the bare name (a card's ``success_rate``)."""
    name = metric.removesuffix("_mean")
    for key in (metric, f"eval/{metric}", f"eval/{name}", name):
        if key in result:
            return float(result[key])
    return None


def is_solved(
    env_id: str, env_kwargs: Mapping[str, Any] | None, eval_result: Mapping[str, Any]
) -> tuple[bool, str]:
    """Whether an evaluation of ``env_id`` with ``env_kwargs`` meets the definition of solved, and why.

    ``eval_result`` holds the evaluation's figures under the names of ``rlsuite eval`` /
    ``evaluate_run``: ``return_mean`` and ``<metric>_mean`` for each task metric (``crash_rate_mean``,
    ``mean_speed_mean``, ``success_rate_mean``, ...); the training log's ``eval/...`` names are read
    too. Where it says how many episodes it ran (``episodes``), fewer than the definition's count do
    not qualify. The message names each criterion with its value, or what is missing."""
    solved = definition(env_id)
    kwargs = dict(env_kwargs or {})
    reasons: list[str] = []
    ok = True
    refusal = solved.check_kwargs(kwargs)
    if refusal is not None:
        ok = False
        reasons.append(refusal)
    for criterion in solved.criteria(kwargs):
        value = _value(eval_result, criterion.metric)
        if value is None:
            ok = False
            reasons.append(f"{criterion.metric} missing from the evaluation (it has {sorted(eval_result)})")
            continue
        holds = criterion.holds(value)
        ok &= holds
        reasons.append(_judged(criterion, value, holds))
    episodes = eval_result.get("episodes")
    if episodes is not None and int(episodes) < solved.episodes:
        ok = False
        reasons.append(
            f"only {int(episodes)} episodes (the definition needs {solved.episodes} held-out ones)"
        )
    else:
        reasons[-1] += f" (over {solved.episodes} held-out episodes)"
    return ok, ("solved: " if ok else "not solved: ") + "; ".join(reasons)


def _judged(criterion: Criterion, value: float, holds: bool) -> str:
    """``crash_rate_mean = 0.02 <= 0.05`` where it holds, ``... = 0.2, needs <= 0.05`` where not."""
    if holds:
        return f"{criterion.metric} = {value:.4g} {criterion.describe().removeprefix(criterion.metric + ' ')}"
    return (
        f"{criterion.metric} = {value:.4g}, needs {criterion.describe().removeprefix(criterion.metric + ' ')}"
    )
