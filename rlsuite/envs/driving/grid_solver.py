"""The exact optimum of the grid racetrack, by value iteration over the env's own transition model.

:class:`~rlsuite.envs.driving.grid_racetrack.GridRacetrackEnv` precomputes its deterministic
dynamics into one lookup table (``_Dynamics.transition``: the next state of every
``(state, action)``, or a code for a crash or the finish); its step kernel adds the two random
events. The model here is that table plus those two events, written once as a Bellman backup:

* with probability ``noise`` the increments fail: the action becomes ``NO_OP``;
* a crash puts the car on a uniformly random start state (a start cell, standing still);
* crossing the finish ends the episode; every step, the finishing one included, costs 1.

So the action value of a state is ``Q(s, a) = -1 + (1 - noise) W(s, a) + noise W(s, NO_OP)`` with
``W(s, b)`` the value after the deterministic outcome of ``b``: ``V(next)``, the mean of ``V`` over
the start states after a crash, ``0`` at the finish. ``tests/envs/test_grid_solver.py`` holds this
model to ``env.step`` on random ``(state, action)`` pairs, noise outcomes and crashes included.

The episode is truncated after ``max_episode_steps`` (1000 when made with ``gymnasium.make``).
Value iteration from ``V = 0`` computes, after ``k`` sweeps, exactly the optimal expected return
with ``k`` steps left (a truncated episode costs nothing more), so ``max_episode_steps`` sweeps give
the exact optimum under the time limit. The sweeps go on until ``V`` stops changing, which gives
the undiscounted optimum without a limit, its greedy policy, and the expected steps to finish; the
greedy policy's return under the time limit is then computed exactly by propagating its state
distribution. The three figures agree to rounding on the shipped tracks: the limit does not bind.

    >>> from rlsuite.envs.driving.grid_solver import solve
    >>> solution = solve(track="classic", noise=0.0)
    >>> solution.optimal_return, solution.expected_steps   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsuite.envs.driving.grid_racetrack import (
    _CRASH_CODE,
    _FINISH_CODE,
    N_ACTIONS,
    NO_OP,
    GridRacetrackConfig,
    _Dynamics,
    _parse_track,
)

__all__ = ["GridModel", "GridSolution", "evaluate_policy", "solve"]

#: The registered time limit of ``rlsuite/GridRacetrack-v0`` (``envs/registration.py``).
DEFAULT_MAX_EPISODE_STEPS = 1000


class GridModel:
    """The transition model of one track and noise level: the env's lookup table and its two random
    events (failed increments, crash resets), as arrays over every ``(state, action)`` pair."""

    def __init__(self, track: str | Sequence[str] = "classic", noise: float = 0.0) -> None:
        config = GridRacetrackConfig.from_kwargs({"track": track, "noise": noise})
        self.track = config.track
        self.noise = float(config.noise)
        self.dynamics = _Dynamics(
            _parse_track(self.track if isinstance(self.track, str) else list(self.track))
        )
        self.n_states = self.dynamics.n_states
        self.start_states = self.dynamics.start_states
        table = self.dynamics.transition.reshape(self.n_states, N_ACTIONS)
        self.next_state = np.maximum(table, 0)  # (n_states, 9); meaningful where ``moves``
        self.moves = table >= 0
        self.crashes = table == _CRASH_CODE
        self.finishes = table == _FINISH_CODE

    def outcomes(self, state: int, action: int) -> dict[tuple[str, int], float]:
        """The distribution of one step's outcome: ``{("move", next_state) | ("crash", start_state) |
        ("finish", state): probability}`` (the car stays in place at the finish, as in the env)."""
        distribution: dict[tuple[str, int], float] = {}
        for taken, weight in ((action, 1.0 - self.noise), (NO_OP, self.noise)):
            if weight == 0.0:
                continue
            if self.moves[state, taken]:
                events = [(("move", int(self.next_state[state, taken])), weight)]
            elif self.crashes[state, taken]:
                share = weight / len(self.start_states)
                events = [(("crash", int(s)), share) for s in self.start_states]
            else:
                events = [(("finish", int(state)), weight)]
            for key, p in events:
                distribution[key] = distribution.get(key, 0.0) + p
        return distribution

    def after(self, values: np.ndarray) -> np.ndarray:
        """``W(s, b)``: the value after each deterministic outcome, shape ``(n_states, 9)``."""
        crash_value = values[self.start_states].mean()
        return np.where(self.moves, values[self.next_state], np.where(self.crashes, crash_value, 0.0))

    def backup(self, values: np.ndarray) -> np.ndarray:
        """The action values ``Q(s, a)`` of one Bellman backup of the state values ``values``."""
        after = self.after(values)
        return -1.0 + (1.0 - self.noise) * after + self.noise * after[:, NO_OP : NO_OP + 1]


@dataclass(frozen=True)
class GridSolution:
    """The optimum of one track and noise level (returns are undiscounted; a step costs 1)."""

    track: str | tuple[str, ...]
    noise: float
    max_episode_steps: int | None
    values: np.ndarray = field(repr=False)  # (n_states,) optimal state values V*(s), no time limit
    q_values: np.ndarray = field(repr=False)  # (n_states, 9) optimal action values, no time limit
    policy: np.ndarray = field(repr=False)  # (n_states,) a greedy action of q_values (lowest index on ties)
    start_states: np.ndarray = field(
        repr=False
    )  # the observations of the start line (reset is uniform over them)
    optimal_return: float  # the exact optimum of the expected return from reset, under the time limit
    optimal_return_unlimited: float  # the same without a time limit: mean of V* over the start states
    expected_return: float  # the greedy ``policy``'s exact expected return from reset, under the time limit
    expected_steps: float  # the greedy policy's expected steps to finish, no time limit (= -V*)
    finish_probability: float  # probability that the greedy policy finishes within the time limit
    sweeps: int  # value-iteration sweeps until V stopped changing

    def as_dict(self) -> dict[str, Any]:
        """The scalar figures (JSON-able)."""
        return {
            "track": self.track if isinstance(self.track, str) else list(self.track),
            "noise": self.noise,
            "max_episode_steps": self.max_episode_steps,
            "optimal_return": self.optimal_return,
            "optimal_return_unlimited": self.optimal_return_unlimited,
            "expected_return": self.expected_return,
            "expected_steps": self.expected_steps,
            "finish_probability": self.finish_probability,
            "sweeps": self.sweeps,
        }

    def act(self, observation: int) -> int:
        """The optimal action of an observation."""
        return int(self.policy[int(observation)])


def evaluate_policy(
    model: GridModel, policy: np.ndarray, max_episode_steps: int | None = DEFAULT_MAX_EPISODE_STEPS
) -> tuple[float, float]:
    """The exact expected return from reset of a deterministic ``policy`` (one action per state) and
    its probability of finishing, under the time limit, by propagating its state distribution.

    ``max_episode_steps=None`` propagates until at most 1e-13 of the probability is left unfinished
    (and raises if the policy can go on for ever, e.g. it stands still on the start line)."""
    policy = np.asarray(policy, dtype=np.int64)
    if policy.shape != (model.n_states,) or policy.min() < 0 or policy.max() >= N_ACTIONS:
        raise ValueError(
            f"evaluate_policy: policy must hold one action in 0..{N_ACTIONS - 1} per state, shape "
            f"({model.n_states},); got shape {policy.shape}"
        )
    rows = np.arange(model.n_states)
    branches = [(policy, 1.0 - model.noise), (np.full_like(policy, NO_OP), model.noise)]
    branches = [(rows * N_ACTIONS + taken, weight) for taken, weight in branches if weight > 0.0]
    moves, crashes, nexts = model.moves.reshape(-1), model.crashes.reshape(-1), model.next_state.reshape(-1)
    distribution = np.zeros(model.n_states)
    distribution[model.start_states] = 1.0 / len(model.start_states)
    expected_steps, unfinished = 0.0, 1.0
    limit = max_episode_steps if max_episode_steps is not None else 10**7
    for _ in range(limit):
        expected_steps += unfinished  # every unfinished episode takes this step
        following = np.zeros(model.n_states)
        crashed = 0.0
        for pair, weight in branches:
            mass = distribution * weight
            following += np.bincount(
                nexts[pair], weights=np.where(moves[pair], mass, 0.0), minlength=model.n_states
            )
            crashed += float(mass[crashes[pair]].sum())
        following[model.start_states] += crashed / len(model.start_states)
        distribution = following
        unfinished = float(distribution.sum())
        if max_episode_steps is None and unfinished < 1e-13:
            break
    else:
        if max_episode_steps is None:
            raise ValueError(f"evaluate_policy: the policy has not finished after {limit} steps")
    return -expected_steps, 1.0 - unfinished


def solve(
    track: str | Sequence[str] = "classic",
    noise: float = 0.0,
    max_episode_steps: int | None = DEFAULT_MAX_EPISODE_STEPS,
    tolerance: float = 1e-12,
    max_sweeps: int = 1_000_000,
) -> GridSolution:
    """Value iteration on ``rlsuite/GridRacetrack-v0`` with these kwargs (a track name or a custom map,
    and the noise); ``max_episode_steps`` is the time limit (``None``: none). Sweeps stop when no
    state value moves by more than ``tolerance``."""
    model = GridModel(track, noise)
    values = np.zeros(model.n_states)
    limited: float | None = None
    for sweep in range(1, max_sweeps + 1):
        updated = model.backup(values).max(axis=1)
        change = float(np.abs(updated - values).max())
        values = updated
        fixed_point = change == 0.0  # every later sweep gives the same values
        if max_episode_steps is not None and limited is None and (sweep == max_episode_steps or fixed_point):
            limited = float(values[model.start_states].mean())  # the optimum with max_episode_steps left
        if fixed_point or (change <= tolerance and (max_episode_steps is None or sweep >= max_episode_steps)):
            break
    else:
        raise RuntimeError(
            f"solve: value iteration did not converge in {max_sweeps} sweeps (last change {change})"
        )
    q_values = model.backup(values)
    policy = q_values.argmax(axis=1)
    unlimited = float(values[model.start_states].mean())
    expected_return, finish_probability = evaluate_policy(model, policy, max_episode_steps)
    return GridSolution(
        track=model.track,
        noise=model.noise,
        max_episode_steps=max_episode_steps,
        values=values,
        q_values=q_values,
        policy=policy,
        start_states=model.start_states.copy(),
        optimal_return=unlimited if limited is None else limited,
        optimal_return_unlimited=unlimited,
        expected_return=expected_return,
        expected_steps=-unlimited,
        finish_probability=finish_probability,
        sweeps=sweep,
    )
