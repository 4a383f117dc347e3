"""Training and evaluation: the functions behind ``rlsuite train`` and ``rlsuite eval``.

Data flow (``docs/design.md``): validated config → ``gymnasium.make_vec`` → agent → ``agent.learn(monitor)``
→ run directory. The :class:`Monitor` is the bookkeeping every agent shares: it turns the vector
steps an agent reports into episode statistics, SPS, periodic greedy evaluations on separate envs,
checkpoints (``last``, ``best``, ``step_<N>``) and the progress display, so agents only learn.

From Python, use the public API (:mod:`rlsuite.api`, re-exported by ``rlsuite``), built on these::

    import rlsuite

    run = rlsuite.train("experiments/configs/q_learning_grid_racetrack.yaml")
    print(rlsuite.evaluate(run.run_dir))
"""

from __future__ import annotations

import collections
import copy
import json
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from rlsuite.agents.base import NonFiniteError
from rlsuite.checkpoints import CheckpointError, find_checkpoint, write_checkpoint
from rlsuite.config import (
    Config,
    ConfigError,
    apply_overrides,
    from_dict,
    migrate_renamed_keys,
    read_yaml,
    to_dict,
)
from rlsuite.envs.core import task_metrics
from rlsuite.rollout import (
    EpisodeCollector,
    EpisodeResults,
    Episodes,
    Policy,
    collect_frames,
    make_envs,
    run_episodes,
)
from rlsuite.runs import SCALARS, Run, create_run_dir

if TYPE_CHECKING:
    from rlsuite.agents.base import Agent
    from rlsuite.perturb import Perturbation

__all__ = [
    "Monitor",
    "SeedEnvs",
    "evaluate",
    "evaluate_robustness",
    "robustness_row",
    "evaluate_run",
    "make_agent_envs",
    "make_envs",
    "seed_batch_algos",
    "seed_configs",
    "seed_everything",
    "train",
    "train_seeds",
]

EVAL_SEED_OFFSET = 1_000_003  # evaluation envs never share a seed with the training envs
TEST_SEED_OFFSET = 2_000_029  # `rlsuite eval`: seeds the evaluations that picked `best` never saw


# --------------------------------------------------------------------------------------------
# Seeding, devices, envs
# --------------------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    """Seed Python, numpy's global generator and (when it is imported) torch.

    The envs and action spaces are seeded by the agent through ``envs.reset(seed=...)`` and
    ``space.seed(...)``; agents own generators derived from ``config.train.seed``.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (third-party code draws from the global one)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)


def make_agent_envs(
    config: Config, num_envs: int | None = None, perturbation: Perturbation | None = None
) -> gym.vector.VectorEnv:
    """The envs an agent of ``config`` trains or is evaluated on, resolved from what its class
    declares (``encoder_modes``, ``encoder_frames_stacked_by_envs``; :mod:`rlsuite.agents.base`):

    - an ``encoder`` section the agent cannot take is refused here, before any env is built;
    - ``features`` mode: :func:`make_envs` wrapped in
      :class:`rlsuite.encoders.transfer.FeatureObservations` (the agent sees features, not frames);
    - ``frozen``/``finetune`` for an agent whose model sees frames the envs stack (RLlib's pixel
      RLModule): wrapped in :class:`~rlsuite.encoders.transfer.StackedFrames`;
    - otherwise the plain envs (the agent builds its own encoder, or loads and checks the checkpoint).

    A ``perturbation`` (:mod:`rlsuite.perturb`) changes the env's kwargs and wraps the plain envs,
    inside any encoder wrapper: a frozen encoder sees the perturbed frames."""
    from rlsuite.agents.base import encoder_mode
    from rlsuite.config import algorithm_class

    agent_cls = algorithm_class(config.agent.algo)
    agent_cls.check_encoder(config)
    encoder = config.encoder
    mode = encoder_mode(config)
    stacked = mode in ("frozen", "finetune") and agent_cls.encoder_frames_stacked_by_envs
    if perturbation is None:
        envs = make_envs(config.env, num_envs)
    else:
        envs = make_envs(perturbation.configure(config.env), num_envs)
        try:
            envs = perturbation.wrap(envs)
        except BaseException:
            envs.close()
            raise
    if not stacked and mode != "features":
        return envs  # an agent that trains its encoder loads and checks the checkpoint itself
    try:
        from rlsuite.encoders.transfer import FeatureObservations, StackedFrames, load_checked
        from rlsuite.resources import resolve_device

        if stacked:  # the agent's model trains the encoder on frames stacked here
            _, meta = load_checked(encoder, envs.single_observation_space, "cpu")
            return StackedFrames(envs, meta["frame_stack"])

        device = resolve_device(config.train.device)
        frame_stack = getattr(config.agent.params, "frame_stack", None)
        network, meta = load_checked(encoder, envs.single_observation_space, device, frame_stack)
        return FeatureObservations(envs, network, meta["frame_stack"], device)
    except BaseException:
        envs.close()
        raise


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------
EvaluationHook = Callable[["Monitor", int, dict[str, float]], None]
"""``hook(monitor, step, result)`` after each evaluation; ``monitor.checkpoint(step, "last")`` saves."""


def evaluate(policy: Policy, envs: gym.vector.VectorEnv, episodes: int, seed: int) -> dict[str, float]:
    """Run ``episodes`` complete episodes with ``policy`` and return their statistics, as ``rlsuite
    eval`` records them: ``eval/return_mean``, ``eval/return_std``, ``eval/length_mean`` (and
    ``eval/success_rate``), and each task metric of the env as ``<name>_mean`` and ``<name>_std``
    (:func:`_evaluation_result`; training logs each metric's mean as ``eval/<name>``).

    The episodes are those of :func:`rlsuite.rollout.run_episodes` (spread over the sub-envs as
    Stable-Baselines3's ``evaluate_policy`` does; NEXT_STEP autoreset's reset steps not counted).
    ``policy`` is called as ``policy(obs, episode_start)`` (see :data:`rlsuite.rollout.Policy`).
    """
    return _evaluation_result(run_episodes(policy, envs, episodes, seed), metric_spread=True)


def _evaluation_result(episodes: EpisodeResults, metric_spread: bool = False) -> dict[str, float]:
    """The evaluation scalars of whole episodes: ``eval/return_mean``, ``eval/return_std``,
    ``eval/length_mean``, ``eval/success_rate`` (envs that report ``is_success``) and each task
    metric's mean over the episodes as ``eval/<name>`` (the scalars training logs); with
    ``metric_spread`` (``rlsuite eval``'s record) each task metric as ``<name>_mean`` and
    ``<name>_std`` instead. A metric's mean and std are over the episodes where it is defined (a
    lap time over those that completed a lap), NaN where it is defined in none."""
    result = {
        SCALARS["eval_return_mean"]: float(np.mean(episodes.returns)),
        SCALARS["eval_return_std"]: float(np.std(episodes.returns)),
        SCALARS["eval_length_mean"]: float(np.mean(episodes.lengths)),
    }
    if episodes.successes:
        result[SCALARS["eval_success_rate"]] = float(np.mean(episodes.successes))
    for name, values in episodes.metrics.items():
        mean, std = _defined_mean_std(values)
        if metric_spread:
            result[f"{name}_mean"], result[f"{name}_std"] = mean, std
        else:
            result[f"eval/{name}"] = mean
    return result


def _defined_mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and (population) std of the values that are not NaN; NaN, NaN if there are none."""
    defined = np.asarray(values, dtype=np.float64)
    defined = defined[~np.isnan(defined)]
    if not defined.size:
        return math.nan, math.nan
    return float(defined.mean()), float(defined.std())


# --------------------------------------------------------------------------------------------
# The monitor every agent reports to
# --------------------------------------------------------------------------------------------
class _Progress:
    """A tqdm bar on a terminal; plain periodic lines otherwise (CI logs); or nothing."""

    # The training episodes' mean return comes from the exploring policy (ε-greedy, sampled actions),
    # the evaluations' from the greedy one: side by side they differ a lot, so each says which it is.
    LABELS = {"return": "train return (exploring)", "eval": "eval return (greedy)"}

    def __init__(self, mode: str, total: int, initial: int) -> None:
        total = max(total, initial)  # a resumed run that is already past its budget
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "lines"
        self._bar = None
        if mode == "bar":
            try:
                from tqdm import tqdm

                self._bar = tqdm(
                    total=total, initial=initial, unit="step", unit_scale=True, dynamic_ncols=True
                )
            except ImportError:
                mode = "lines"
        self.mode = mode
        self.total = total
        self._shown = initial

    def update(self, step: int, sps: float, stats: dict[str, str]) -> None:
        # An agent finishes the rollout or iteration it is in, so the last step may pass the budget:
        # the display then counts to the steps actually taken, never past 100 %.
        if step > self.total:
            self.total = step
            if self._bar is not None:
                self._bar.total = step
        if self._bar is not None:
            self._bar.update(step - self._shown)
            labelled = {self.LABELS.get(k, k): v for k, v in stats.items()}
            self._bar.set_postfix({"sps": f"{sps:,.0f}", **labelled}, refresh=True)
        elif self.mode == "lines":
            extra = " | ".join(f"{self.LABELS.get(k, k)} {v}" for k, v in stats.items())
            percent = 100.0 * step / max(self.total, 1)
            print(f"step {step:,}/{self.total:,} ({percent:.0f}%) | {sps:,.0f} sps | {extra}", flush=True)
        self._shown = step

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class Monitor:
    """Bookkeeping shared by all agents; agents call :meth:`on_step` after every vector step.

    It tracks episodes under NEXT_STEP autoreset (the step after a done is the reset step and is
    not part of any episode), logs ``charts/*`` scalars, evaluates the greedy policy every
    ``train.eval_every`` steps on separate envs, keeps ``checkpoints/best`` (best evaluation) and
    ``checkpoints/last``, and drives the progress display. :meth:`log` is how agents add scalars.
    """

    def __init__(
        self,
        run: Run,
        agent: Agent,
        config: Config,
        total_steps: int,
        on_evaluation: EvaluationHook | None = None,
    ) -> None:
        self.run = run
        self.on_evaluation = on_evaluation
        self.agent = agent
        self.config = config
        self.total_steps = total_steps
        self._open_episodes = Episodes(agent.num_envs)  # the training envs' episodes in progress
        self.recent_returns: collections.deque[float] = collections.deque(maxlen=100)
        self.episodes = 0
        self.best_eval = -math.inf
        self.last_eval: dict[str, float] = {}
        state = _read_monitor_state(run)
        self.best_eval = state.get("best_eval", -math.inf)
        self.episodes = state.get("episodes", 0)
        start = agent.global_step
        train = config.train
        self._next_eval = _next_multiple(start, train.eval_every)
        self._next_checkpoint = _next_multiple(start, train.checkpoint_every)
        self._eval_envs: gym.vector.VectorEnv | None = None
        self._progress = _Progress(config.log.progress, total_steps, start)
        self._last_time = time.perf_counter()
        self._last_step = start
        self._last_sps = 0.0
        self._closed = False
        self._last_eval_step = state.get("last_eval_step", -1)
        self._eval_seconds = 0.0  # cumulative time spent in evaluations (time/eval_seconds)
        self._next_video = _next_multiple(start, train.video_every) if train.video_every else 0
        #: What computes an evaluation's result (``evaluator(monitor, step)``) in place of
        #: :func:`evaluate` on this monitor's envs: a K-seed run's evaluates all seeds at once.
        self.evaluator: Callable[[Monitor, int], dict[str, float]] | None = None

    # ---------------------------------------------------------------- agent-facing API
    def on_step(
        self,
        global_step: int,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: dict[str, Any] | None = None,
        *,
        same_step: bool = False,
    ) -> bool:
        """Record one vector step; returns ``False`` when training should stop (see
        :class:`rlsuite.agents.base.StepMonitor`; ``same_step=True`` for same-step autoreset)."""
        if not np.isfinite(rewards).all():
            self._nonfinite(global_step, "reward", np.flatnonzero(~np.isfinite(rewards)), rewards)
        finished = self._open_episodes.update(rewards, terminated, truncated, same_step=same_step)
        return self.on_episodes(global_step, finished.returns, finished.lengths)

    def on_episodes(self, global_step: int, returns: Any, lengths: Any) -> bool:
        """Record episodes that ended by ``global_step`` (for agents that see whole episodes rather
        than vector steps, e.g. RLlib's env runners); evaluates and checkpoints when due."""
        returns = np.asarray(returns, dtype=np.float64)
        if returns.size:
            self.recent_returns.extend(returns.tolist())
            self.episodes += len(returns)
            self.run.log(
                global_step,
                {
                    SCALARS["episode_return"]: float(returns.mean()),
                    SCALARS["episode_length"]: float(np.mean(lengths)),
                },
            )
        if global_step >= self._next_eval:
            self.evaluate(global_step)
            self._next_eval = _next_multiple(global_step, self.config.train.eval_every)
        if global_step >= self._next_checkpoint:
            self.checkpoint(global_step, "last")  # what --resume continues from after a crash
            self._next_checkpoint = _next_multiple(global_step, self.config.train.checkpoint_every)
        now = time.perf_counter()
        if now - self._last_time >= self.config.log.log_every_s:
            self._report(global_step, now)
        return True

    def log(self, step: int, scalars: dict[str, float]) -> None:
        """Log an agent's own scalars (``losses/*``, ``charts/epsilon``, …); a non-finite loss stops
        training (:class:`NonFiniteError`) after it is logged."""
        self.run.log(step, scalars)
        for tag, value in scalars.items():
            if tag.startswith("losses/") and not math.isfinite(value):
                self._nonfinite(step, tag, None, value)

    def _nonfinite(self, step: int, quantity: str, where: Any, value: Any) -> None:
        """Stop training: name the step, the quantity and the checkpoint to go back to."""
        self.run.flush()
        last = self.run.checkpoints_dir / "last"
        try:
            found = find_checkpoint(self.run.checkpoints_dir, "last")
            state = _read_json(found / "monitor.json")
            checkpoint = f"The last checkpoint is {found} (step {state.get('global_step', '?')})"
        except CheckpointError:
            checkpoint = f"No checkpoint was saved yet ({last} does not exist; set train.checkpoint_every)"
        detail = f" in sub-env(s) {list(map(int, where))[:8]}" if where is not None else ""
        shown = value if where is None else np.asarray(value)[where][:8].tolist()
        raise NonFiniteError(
            f"step {step}: {quantity} is not finite{detail} ({shown}); training stopped. {checkpoint}; "
            "resume from it with `rlsuite train --resume RUN_DIR` once the cause is fixed"
        )

    # ---------------------------------------------------------------- evaluation and checkpoints
    def _greedy(self, obs: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
        """The agent's deterministic actions: the :data:`~rlsuite.rollout.Policy` evaluations run."""
        return self.agent.act(obs, deterministic=True, episode_start=episode_start)

    def eval_envs(self) -> gym.vector.VectorEnv:
        """The evaluation envs (``train.eval_num_envs`` of them, at most one per episode), made on
        first use and kept."""
        train = self.config.train
        if self._eval_envs is None:
            self._eval_envs = make_agent_envs(self.config, min(train.eval_num_envs, train.eval_episodes))
        return self._eval_envs

    def evaluate(self, step: int) -> dict[str, float]:
        train = self.config.train
        start = time.perf_counter()
        if self.evaluator is not None:
            result = self.evaluator(self, step)
        else:  # the scalars: task metrics as eval/<name>
            episodes = run_episodes(
                self._greedy, self.eval_envs(), train.eval_episodes, seed=train.seed + EVAL_SEED_OFFSET
            )
            result = _evaluation_result(episodes)
        self._eval_seconds += time.perf_counter() - start
        self.run.log(step, {**result, "time/eval_seconds": self._eval_seconds})
        self.last_eval = result
        self._last_eval_step = step
        if train.video_every and step >= self._next_video:
            self._next_video = _next_multiple(step, train.video_every)
            self.video(step)
        mean = result[SCALARS["eval_return_mean"]]
        if mean > self.best_eval:
            self.best_eval = mean
            self.checkpoint(step, "best")
        if self.on_evaluation is not None:
            self.on_evaluation(self, step, result)
        return result

    def video(self, step: int) -> Path:
        """One greedy episode (evaluation seed) rendered whole, the agent's own pixels beside it."""
        config = copy.deepcopy(self.config)
        config.env.kwargs = {**config.env.kwargs, "render_mode": "rgb_array"}
        envs = make_agent_envs(config, 1)
        try:
            frames, _ = collect_frames(
                self._greedy, envs, 1, self.config.train.seed + EVAL_SEED_OFFSET, show_agent_view=True
            )
            fps = float((getattr(envs, "metadata", None) or {}).get("render_fps") or 30)
        finally:
            envs.close()
        return self.run.log_video("eval/video", frames, step, fps)

    def checkpoint(self, step: int, name: str) -> Path:
        """Save the agent and this monitor's state as ``checkpoints/NAME``, crash-safely
        (:func:`rlsuite.checkpoints.write_checkpoint`: written aside, checksummed, renamed in)."""
        state = {
            "best_eval": self.best_eval,
            "episodes": self.episodes,
            "global_step": step,
            "last_eval_step": self._last_eval_step,  # a resume at this step need not evaluate it again
        }

        def save(directory: Path) -> None:
            self.agent.save(directory)
            (directory / "monitor.json").write_text(json.dumps(state))
            if name == "last":  # what --resume continues from
                self._save_loop(directory)

        return write_checkpoint(self.run.checkpoints_dir / name, save)

    def _save_loop(self, directory: Path) -> None:
        """``loop.safetensors`` + ``loop.json``: the envs' own state (our native vector envs), the
        agent's loop state and this monitor's episode counters — what an exact resume needs besides
        the agent. Skipped for envs or agents that cannot give theirs (a resume then starts new
        episodes)."""
        get_state = getattr(self.agent.envs, "get_state", None)
        loop = self.agent.get_state()
        if get_state is None or loop is None:
            return
        from safetensors.numpy import save_file

        arrays, json_able = get_state()
        tensors = {
            **arrays,
            **{f"agent.{k}": v for k, v in loop.items()},
            "monitor.returns": self._open_episodes.returns,
            "monitor.lengths": self._open_episodes.lengths,
            "monitor.prev_done": self._open_episodes.done,
        }
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, directory / "loop.safetensors")
        (directory / "loop.json").write_text(
            json.dumps({"env": type(self.agent.envs).__name__, "state": json_able})
        )

    def restore_loop(self, checkpoint: Path) -> bool:
        """Continue exactly where ``checkpoint`` was taken (envs mid-episode, the agent's loop, the
        episode counters) when it holds that state for envs like these; ``False`` otherwise."""
        set_state = getattr(self.agent.envs, "set_state", None)
        path = checkpoint / "loop.safetensors"
        if set_state is None or not path.is_file():
            return False
        from safetensors.numpy import load_file

        meta = _read_json(checkpoint / "loop.json")
        if meta.get("env") != type(self.agent.envs).__name__:
            return False
        tensors = load_file(path)
        if tensors["env._elapsed"].shape != (self.agent.num_envs,):  # resumed with another env.num_envs
            return False
        set_state({k: v for k, v in tensors.items() if k.startswith(("env.", "core."))}, meta["state"])
        self.agent.set_state({k[6:]: v for k, v in tensors.items() if k.startswith("agent.")})
        self._open_episodes.returns[:] = tensors["monitor.returns"]
        self._open_episodes.lengths[:] = tensors["monitor.lengths"]
        self._open_episodes.done[:] = tensors["monitor.prev_done"]
        return True

    def close(self) -> None:
        """Final evaluation (unless one just ran), the ``last`` checkpoint, flush the logs."""
        if self._closed:
            return
        self._closed = True
        step = self.agent.global_step
        self._report(step, time.perf_counter())  # the training rate, before the final evaluation
        if self._last_eval_step != step:
            self.evaluate(step)
        self.checkpoint(step, "last")
        self.agent.on_train_end(self.run.dir)
        self._progress.close()
        if self._eval_envs is not None:
            self._eval_envs.close()
        self.run.flush()

    # ---------------------------------------------------------------- internals
    def _report(self, step: int, now: float) -> None:
        if step > self._last_step:  # a report at the step of the previous one (close) keeps its rate
            self._last_sps = (step - self._last_step) / max(now - self._last_time, 1e-9)
            self._last_time, self._last_step = now, step
            self.run.log(step, {SCALARS["sps"]: self._last_sps})
        sps = self._last_sps
        stats = {}
        if self.recent_returns:
            stats["return"] = f"{np.mean(self.recent_returns):.2f}"
        if self.last_eval:
            stats["eval"] = f"{self.last_eval[SCALARS['eval_return_mean']]:.2f}"
        self._progress.update(step, sps, stats)
        self.run.flush()


def _next_multiple(step: int, every: int) -> int:
    """The first multiple of ``every`` above ``step`` (never, when ``every`` is 0)."""
    if every <= 0:
        return sys.maxsize
    return (step // every + 1) * every


def _read_monitor_state(run: Run) -> dict[str, Any]:
    try:
        return _read_json(find_checkpoint(run.checkpoints_dir, "last") / "monitor.json")
    except CheckpointError:
        return {}


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.is_file() else {}


# --------------------------------------------------------------------------------------------
# Train and evaluate a run
# --------------------------------------------------------------------------------------------
def default_run_name(config: Config) -> str:
    env_name = config.env.id.split(":")[-1].split("/")[-1]
    return config.log.name or f"{config.agent.algo}-{env_name}"


def train(
    config: Config, resume: str | Path | None = None, on_evaluation: EvaluationHook | None = None
) -> Path:
    """Train ``config.agent`` on ``config.env`` and return the run directory.

    Everything that can fail on bad input (env kwargs, agent/space compatibility) is built before
    the run directory is created, so a bad config leaves nothing behind. With ``resume``, the
    agent is reloaded from ``RUN_DIR/checkpoints/last`` and training continues to
    ``train.total_steps`` in the same run directory. ``on_evaluation(monitor, step, result)``
    runs after every evaluation (a sweep reports to Ray Tune there).
    """
    from rlsuite.config import algorithm_class as get_algo

    if config.train.num_seeds > 1:
        return train_seeds(config, resume, on_evaluation)
    agent_cls = get_algo(config.agent.algo)
    seed_everything(config.train.seed)
    from rlsuite.perturb import training_perturbation

    # train.perturb (domain randomisation over the batch) wraps the training envs, never evaluation's
    envs = make_agent_envs(config, perturbation=training_perturbation(config))
    agent = None
    try:
        if resume is not None:
            run_dir = Run.check(resume)
            try:
                checkpoint = find_checkpoint(run_dir / "checkpoints", "last")
            except CheckpointError as error:
                raise FileNotFoundError(f"{run_dir}: nothing to resume from ({error})") from None
            agent = load_agent(agent_cls, checkpoint, config, envs)
            run = Run.open(run_dir, resume_step=agent.global_step)
        else:
            agent = agent_cls(config, envs)
            try:
                run = Run.create(config.log.run_dir, default_run_name(config), to_dict(config))
            except OSError as error:  # a path through a file, no permission, a read-only disk
                raise ConfigError(
                    f"log.run_dir: cannot create a run directory in {config.log.run_dir!r}: "
                    f"{error.strerror or error}"
                ) from None
            log_observation_samples(run, config, agent)
        monitor = Monitor(run, agent, config, config.train.total_steps, on_evaluation)
        if resume is not None:
            exact = monitor.restore_loop(checkpoint)
            how = "mid-episode, as the checkpoint left the envs" if exact else "with new episodes"
            run.log_text("resume", f"resumed at step {agent.global_step} {how}", agent.global_step)
        try:
            agent.learn(config.train.total_steps, monitor)
            monitor.close()
        finally:
            run.close()
    finally:
        _release(agent, envs)
    return run.dir


# --------------------------------------------------------------------------------------------
# Seeds side by side: train.num_seeds > 1
# --------------------------------------------------------------------------------------------
SEEDS_SUMMARY = "summary.json"  # in a K-seed run's parent directory: mean ± std over the seeds


def seed_configs(config: Config) -> list[Config]:
    """The single-run configs of a K-seed config: ``train.seed`` is ``seed + k`` and
    ``train.num_seeds`` is 1, so each seed's ``config.yaml`` reruns that seed alone, exactly."""
    configs = []
    for k in range(config.train.num_seeds):
        single = copy.deepcopy(config)
        single.train.seed = config.train.seed + k
        single.train.num_seeds = 1
        configs.append(single)
    return configs


class _SeedRows(gym.vector.VectorEnv):
    """What one seed's agent is built with in a K-seed run: its ``n`` sub-envs' spaces and count (its
    own copies, so seeding one agent's space leaves the others'). The rows are stepped by
    :class:`SeedEnvs`, which owns them; closing this releases nothing."""

    def __init__(self, envs: gym.vector.VectorEnv) -> None:
        self.num_envs = envs.num_envs
        self.single_observation_space = copy.deepcopy(envs.single_observation_space)
        self.single_action_space = copy.deepcopy(envs.single_action_space)
        self.observation_space = copy.deepcopy(envs.observation_space)
        self.action_space = copy.deepcopy(envs.action_space)
        self.metadata = dict(getattr(envs, "metadata", {}) or {})

    def step(self, actions: Any) -> Any:
        raise RuntimeError("a K-seed run's envs are stepped together by SeedEnvs, not one seed at a time")

    def reset(self, *, seed: Any = None, options: Any = None) -> Any:
        raise RuntimeError("a K-seed run's envs are reset together by SeedEnvs.reset_seeds")

    def close(self, **kwargs: Any) -> None:
        pass


class SeedEnvs:
    """The training envs of K seeds as one batch of ``K * n`` rows, seed-major (seed ``k`` owns rows
    ``k * n`` to ``(k + 1) * n``), each row seeing the episodes it sees in that seed's own run.

    Our native vector envs step every row from its own random stream (``docs/design.md``, "Vector
    semantics"), so the K seeds share one env of ``K * n`` rows, reset with the list of seeds the K
    single runs give theirs. Other vector envs may draw every row from one generator (Gymnasium's
    ``CartPoleVectorEnv`` does): then each seed keeps its own vector env and they are stepped in turn.
    """

    def __init__(self, configs: list[Config]) -> None:
        from rlsuite.envs.core import CoreVectorEnv

        self.num_seeds = len(configs)
        first = make_agent_envs(configs[0])
        self.envs_per_seed = first.num_envs
        self.num_envs = self.num_seeds * self.envs_per_seed
        self._views = [_SeedRows(first) for _ in configs]
        if isinstance(first, CoreVectorEnv):  # rows are independent: one env of K * n rows
            first.close()
            self._parts = [make_agent_envs(configs[0], self.num_envs)]
        else:
            self._parts = [first]
            try:
                self._parts += [make_agent_envs(c) for c in configs[1:]]
            except BaseException:
                self.close()
                raise
        self.single_observation_space = first.single_observation_space
        self.single_action_space = first.single_action_space

    def rows(self, k: int) -> gym.vector.VectorEnv:
        """The envs seed ``k``'s agent is built with (spaces and ``num_envs`` of its own run)."""
        return self._views[k]

    def reset_seeds(self, seeds: list[int]) -> np.ndarray:
        """Reset every row as seed ``k``'s run does with ``envs.reset(seed=seeds[k])``; the observations."""
        n = self.envs_per_seed
        if len(self._parts) == 1:  # sub-env i of seed k: like its run's sub-env i, seeded seeds[k] + i
            obs, _ = self._parts[0].reset(seed=[s + i for s in seeds for i in range(n)])
            return obs
        return np.concatenate([envs.reset(seed=s)[0] for envs, s in zip(self._parts, seeds)])

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every row: observations, rewards, terminated, truncated (infos are left out: the
        monitor does not read them)."""
        if len(self._parts) == 1:
            obs, rewards, terminated, truncated, _ = self._parts[0].step(actions)
            return obs, rewards, terminated, truncated
        n = self.envs_per_seed
        steps = [envs.step(actions[k * n : (k + 1) * n]) for k, envs in enumerate(self._parts)]
        return tuple(np.concatenate([s[i] for s in steps]) for i in range(4))  # type: ignore[return-value]

    def close(self) -> None:
        for envs in self._parts:
            envs.close()


class _SeedsEvaluation:
    """The evaluations of a K-seed run, all seeds at once: the first monitor to evaluate at a step
    runs every seed's evaluation episodes side by side — one batched forward pass
    (``greedy_actions``) a step for all seeds — and the other monitors take their result when they
    ask for it at that step. Each seed gets the episodes, and so the result, of its own run's
    :func:`evaluate`: its actions are its agent's greedy ones, on envs reset with its run's seed.

    As :class:`SeedEnvs` does for training, the seeds share one native vector env of ``K * m`` rows
    (each row steps from its own random stream); other envs, one per seed (each monitor's own)."""

    def __init__(self, greedy_actions: Callable[[np.ndarray], np.ndarray], monitors: list[Monitor]) -> None:
        self.greedy_actions = greedy_actions
        self.monitors = monitors
        self._results: dict[int, dict[int, dict[str, float]]] = {}  # step -> monitor index -> result
        self._shared: gym.vector.VectorEnv | None = None  # the K seeds' rows of a native vector env

    def __call__(self, monitor: Monitor, step: int) -> dict[str, float]:
        k = self.monitors.index(monitor)
        if k not in self._results.get(step, {}):
            self._results = {step: self._evaluate_all()}
        return self._results[step].pop(k)

    def _envs(self) -> list[gym.vector.VectorEnv]:
        """One shared env of ``K * m`` rows (native vector envs), else each monitor's own."""
        from rlsuite.envs.core import CoreVectorEnv

        if self._shared is not None:
            return [self._shared]
        first = self.monitors[0].eval_envs()
        if not isinstance(first, CoreVectorEnv):
            return [m.eval_envs() for m in self.monitors]
        self._shared = make_agent_envs(self.monitors[0].config, len(self.monitors) * first.num_envs)
        return [self._shared]

    def _evaluate_all(self) -> dict[int, dict[str, float]]:
        train = self.monitors[0].config.train
        seeds = [m.config.train.seed + EVAL_SEED_OFFSET for m in self.monitors]
        episodes = _run_episodes_side_by_side(self.greedy_actions, self._envs(), train.eval_episodes, seeds)
        return {k: _evaluation_result(e) for k, e in enumerate(episodes)}

    def close(self) -> None:
        if self._shared is not None:
            self._shared.close()


def _run_episodes_side_by_side(
    greedy_actions: Callable[[np.ndarray], np.ndarray],
    envs: list[gym.vector.VectorEnv],
    episodes: int,
    seeds: list[int],
) -> list[EpisodeResults]:
    """:func:`rlsuite.rollout.run_episodes` for K policies at once, on K vector envs of ``m`` rows or
    on one of ``K * m`` rows whose rows step independently (seed ``k`` owns rows ``k * m`` to
    ``(k + 1) * m``, reset as its own env is with ``seeds[k]``: row ``i`` with ``seeds[k] + i``):
    ``greedy_actions`` maps every seed's observations ``(K, m, *obs)`` to its actions ``(K, m)``, and
    seed ``k`` gets what ``run_episodes`` on its own env returns (the episodes, spread and listed the
    same way). A seed whose episodes are done stops (its own env) or steps on unread (the shared
    env's rows). Policies that need ``episode_start`` (frame stacks) are not for this."""
    k_seeds = len(seeds)
    shared = len(envs) == 1 and k_seeds > 1
    m = envs[0].num_envs // k_seeds if shared else envs[0].num_envs
    metrics = task_metrics(envs[0])
    collectors = [EpisodeCollector(m, episodes, metrics) for _ in seeds]
    if shared:
        first, _ = envs[0].reset(seed=[seed + i for seed in seeds for i in range(m)])
        obs = list(first.reshape(k_seeds, m, *first.shape[1:]))
    else:
        obs = [e.reset(seed=seed)[0] for e, seed in zip(envs, seeds)]
    going = [k for k in range(k_seeds) if not collectors[k].complete]
    while going:
        actions = greedy_actions(np.stack(obs))
        if shared:
            step = envs[0].step(actions.reshape(k_seeds * m))
            all_obs, rewards_all, terminated_all, truncated_all, infos_all = step
            obs = list(all_obs.reshape(k_seeds, m, *all_obs.shape[1:]))
        for k in going:
            if shared:
                rows = slice(k * m, (k + 1) * m)
                rewards, terminated, truncated = rewards_all[rows], terminated_all[rows], truncated_all[rows]
                infos = {key: value[rows] for key, value in infos_all.items()}  # views
            else:
                obs[k], rewards, terminated, truncated, infos = envs[k].step(actions[k])
            collectors[k].update(rewards, terminated, truncated, infos)
        going = [k for k in going if not collectors[k].complete]
    return [c.results for c in collectors]


def seed_batch_algos() -> list[str]:
    """The registered algorithms of our own families that train seeds side by side (``train.num_seeds``
    > 1; a sweep's ``batch_seeds: true``): for messages that list what is allowed."""
    from rlsuite.config import ALGORITHMS, algorithm_class

    own = [
        name
        for name, target in ALGORITHMS.items()
        if target.startswith("rlsuite.agents.")
        and not target.startswith(("rlsuite.agents.sb3", "rlsuite.agents.rllib"))
    ]
    return sorted(name for name in own if algorithm_class(name).learns_seeds_together)


def train_seeds(
    config: Config, resume: str | Path | None = None, on_evaluation: EvaluationHook | None = None
) -> Path:
    """Train ``train.num_seeds`` seeds of ``config`` side by side in this process, as one batched
    computation of the agent (``Agent.seed_batch``), and return the parent directory.

    Seed ``k`` (``train.seed + k``) gets exactly what ``train`` gives a run of that seed alone: its
    agent is built the same way (after :func:`seed_everything` with its seed), its rows of the envs
    see the same episodes (:class:`SeedEnvs`) and its own :class:`Monitor` writes an ordinary run
    directory ``<parent>/seed<S>-<stamp>`` (``config.yaml`` with that seed and ``num_seeds: 1``,
    events, ``metrics.csv``, evaluations, checkpoints) that ``rlsuite eval`` and ``rlsuite.load``
    read unchanged. The parent ``<run_dir>/<name>-<K>seeds-<stamp>`` also gets
    :data:`SEEDS_SUMMARY`: each seed's final evaluation and their mean ± std. ``on_evaluation`` runs
    after every evaluation of every seed. Bad input raises :class:`ConfigError` before anything is
    written; resuming a K-seed run is not supported yet (resume one seed's directory instead: it is
    an ordinary run)."""
    from rlsuite.config import algorithm_class as get_algo

    algo = config.agent.algo
    if resume is not None:
        raise ConfigError(
            f"train.num_seeds: got {config.train.num_seeds}; resuming a K-seed run is not supported yet. "
            "Resume one seed's run directory (an ordinary run), or set train.num_seeds=1"
        )
    agent_cls = get_algo(algo)
    if not agent_cls.learns_seeds_together:
        raise ConfigError(
            f"train.num_seeds: got {config.train.num_seeds}, but {algo} trains one seed per process; "
            f"agents that train seeds side by side: {', '.join(seed_batch_algos())}. Use train.num_seeds=1 "
            "(or a sweep over train.seed)"
        )
    if config.train.perturb:
        raise ConfigError(
            f"train.perturb: got {config.train.perturb}; training under perturbations runs one seed per "
            "process: set train.num_seeds=1 (or a sweep over train.seed)"
        )
    configs = seed_configs(config)
    envs = SeedEnvs(configs)
    agents: list[Agent] = []
    runs: list[Run] = []
    evaluation: _SeedsEvaluation | None = None
    try:
        for k, single in enumerate(configs):  # each agent as its own run builds it
            seed_everything(single.train.seed)
            agents.append(agent_cls(single, envs.rows(k)))
        batch = agent_cls.seed_batch(agents, envs)  # refuses what it cannot batch, before any writing
        name = f"{default_run_name(config)}-{len(configs)}seeds"
        try:
            parent = create_run_dir(config.log.run_dir, name)
        except OSError as error:
            raise ConfigError(
                f"log.run_dir: cannot create a run directory in {config.log.run_dir!r}: {error.strerror or error}"
            ) from None
        monitors = []
        for k, (single, agent) in enumerate(zip(configs, agents)):
            run = Run.create(parent, f"seed{single.train.seed}", to_dict(single))
            runs.append(run)
            log_observation_samples(run, single, agent)
            shown = copy.deepcopy(single)  # one progress display for all seeds: the first seed's
            if k > 0:
                shown.log.progress = "none"
            monitors.append(Monitor(run, agent, shown, single.train.total_steps, on_evaluation))
        greedy_actions = getattr(batch, "greedy_actions", None)
        if greedy_actions is not None:  # every seed's evaluation at once
            evaluation = _SeedsEvaluation(greedy_actions, monitors)
            for monitor in monitors:
                monitor.evaluator = evaluation
        batch.learn(config.train.total_steps, monitors)
        for monitor in monitors:
            monitor.close()
    finally:
        for run in runs:
            run.close()
        for agent in agents:
            agent.close()
        if evaluation is not None:
            evaluation.close()
        envs.close()
    _write_seeds_summary(parent, configs, [r.dir for r in runs], [m.last_eval for m in monitors])
    return parent


def _write_seeds_summary(
    parent: Path, configs: list[Config], run_dirs: list[Path], finals: list[dict[str, float]]
) -> dict[str, Any]:
    """``summary.json``: each seed's run directory and final evaluation, and the mean ± std (the
    population std, numpy's default) over seeds of every final evaluation scalar."""
    tags = sorted(set.intersection(*(set(f) for f in finals))) if finals else []
    summary = {
        "num_seeds": len(configs),
        "seeds": [c.train.seed for c in configs],
        "runs": [d.name for d in run_dirs],
        "final_eval": [dict(f) for f in finals],
        "mean": {t: float(np.mean([f[t] for f in finals])) for t in tags},
        "std": {t: float(np.std([f[t] for f in finals])) for t in tags},
    }
    (parent / SEEDS_SUMMARY).write_text(json.dumps(summary, indent=2))
    return summary


def _release(agent: Any, envs: gym.vector.VectorEnv) -> None:
    """Close the agent (its envs, and what it built: RLlib's Algorithm, the Ray it started), or only
    the envs when no agent was built."""
    if agent is not None:
        agent.close()
    else:
        envs.close()


SAMPLE_SEED_OFFSET = 2_000_003  # the sample frames' envs share no seed with training or evaluation


def log_observation_samples(run: Run, config: Config, agent: Any, count: int = 4) -> None:
    """Pixel observations as TensorBoard images at the start of a run (``observations/samples``:
    ``count`` frames of the training envs after a few random steps, the channels of a frame laid
    out left to right unless they are RGB) and, for an agent that augments its batches (``agent.
    augment``, e.g. DQN's ``random_shift_pad``), the same frames as its updates see them
    (``observations/augmented``). State observations log nothing."""
    from rlsuite.agents.base import is_image_space

    envs = make_envs(config.env, count)
    try:
        if not is_image_space(envs.single_observation_space):
            return
        seed = config.train.seed + SAMPLE_SEED_OFFSET
        observations, _ = envs.reset(seed=seed)
        envs.action_space.seed(seed)
        for _ in range(8):
            observations, *_ = envs.step(envs.action_space.sample())
    finally:
        envs.close()
    run.log_image("observations/samples", _tile_observations(observations))
    augment = agent.augment
    if augment is not None:
        import torch

        views = augment(torch.as_tensor(observations), torch.Generator().manual_seed(seed))
        run.log_image("observations/augmented", _tile_observations(views.numpy()))


def _tile_observations(observations: np.ndarray) -> np.ndarray:
    """(B, H, W, C) uint8 -> one image: a row per observation; RGB stays colour, other channel
    counts (gray, stacked frames) are laid out side by side in gray."""
    rows = []
    for frame in observations:
        if frame.shape[2] == 3:
            rows.append(frame)
        else:
            rows.append(
                np.repeat(np.concatenate(list(np.moveaxis(frame, 2, 0)), axis=1)[:, :, None], 3, axis=2)
            )
    return np.concatenate(rows, axis=0)


def load_agent(agent_cls: Any, checkpoint: Path, config: Config, envs: gym.vector.VectorEnv) -> Any:
    """``agent_cls.load(checkpoint, …)`` with a clear error naming the checkpoint when its files cannot
    be read (a damaged file, another format, a pickle in disguise: our loaders never unpickle)."""
    try:
        return agent_cls.load(checkpoint, config, envs)
    except (ConfigError, NonFiniteError):
        raise
    except Exception as error:  # safetensors, JSON and shape errors of a bad checkpoint
        raise ConfigError(
            f"checkpoint {checkpoint} cannot be loaded by {config.agent.algo}: {type(error).__name__}: {error}"
        ) from None


def resolve_run_checkpoint(run_dir: Path, name: str) -> Path:
    """An intact checkpoint ``name`` of a run (``best`` falls back to ``last``); a clear error otherwise."""
    checkpoints = run_dir / "checkpoints"
    for candidate in [name, "last"] if name == "best" else [name]:
        try:
            return find_checkpoint(checkpoints, candidate)
        except CheckpointError:
            continue
    available = sorted(p.name for p in checkpoints.glob("*") if p.is_dir() and not p.name.startswith("."))
    raise ConfigError(
        f"checkpoint {name!r} not found (or not intact) in {run_dir}; available: {available or 'none'}"
    )


def load_run_config(run_dir: str | Path, overrides: list[str] | None = None) -> Config:
    """The validated config a run was started with (plus optional overrides, e.g. for resuming)."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory: it has no config.yaml")
    return from_dict(apply_overrides(migrate_renamed_keys(read_yaml(path)), list(overrides or [])))


def evaluate_run(
    run_dir: str | Path,
    episodes: int | None = None,
    checkpoint: str = "best",
    seed: int | None = None,
    perturb: str | None = None,
) -> dict[str, Any]:
    """Reload a run's ``best`` (else ``last``) checkpoint, evaluate it greedily, write ``eval/*.json``.

    The result holds :func:`evaluate`'s statistics (each task metric of the env as ``<name>_mean``
    and ``<name>_std``, e.g. ``crash_rate_mean``) and the evaluation's settings.

    ``perturb``: ``"NAME"`` or ``"NAME:LEVEL"`` (level 1 by default), a perturbation of
    :mod:`rlsuite.perturb` applied to the evaluation envs (seeded with the evaluation seed) and
    recorded as ``perturbation`` in the result; an unknown name or level, or one that does not apply
    to the run's env, is a :class:`ConfigError` before anything is loaded."""
    from rlsuite.config import algorithm_class as get_algo

    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    perturbation = None
    if perturb is not None:
        from rlsuite.perturb import parse_perturbation

        perturb_seed = config.train.seed + TEST_SEED_OFFSET if seed is None else seed  # the episodes' seed
        perturbation = parse_perturbation(perturb, seed=perturb_seed, env=config.env)
    ckpt = resolve_run_checkpoint(run_dir, checkpoint)
    agent_cls = get_algo(config.agent.algo)
    train_cfg = config.train
    episodes = train_cfg.eval_episodes if episodes is None else episodes
    if episodes < 1:
        raise ConfigError(f"episodes: got {episodes}; must be >= 1")
    # The training evaluations (seed + EVAL_SEED_OFFSET) chose `best`: evaluating it on those
    # episodes again would replay the selection and report an optimistic figure.
    selection_seed = train_cfg.seed + EVAL_SEED_OFFSET
    seed = train_cfg.seed + TEST_SEED_OFFSET if seed is None else seed
    seed_everything(seed)
    envs = make_agent_envs(config, min(train_cfg.eval_num_envs, episodes), perturbation)
    agent = None
    try:
        agent = load_agent(agent_cls, ckpt, config, envs)
        result = evaluate(
            lambda obs, starts: agent.act(obs, deterministic=True, episode_start=starts), envs, episodes, seed
        )
    finally:
        _release(agent, envs)
    selection = _read_json(ckpt / "monitor.json")
    result = {
        **result,
        "episodes": episodes,
        "checkpoint": ckpt.name,
        "seed": seed,
        "held_out": seed != selection_seed,
        "selection_seed": selection_seed,
        # what the training evaluations measured for this checkpoint, on the selection seed
        "selection_eval/return_mean": selection.get("best_eval") if ckpt.name == "best" else None,
        "perturbation": None if perturbation is None else perturbation.record(),
    }
    tag = "" if perturbation is None else f"-{perturbation.name}{perturbation.level}"
    _write_eval_json(run_dir, f"eval-{ckpt.name}{tag}", result)
    return result


def _write_eval_json(run_dir: Path, prefix: str, result: Any) -> Path:
    """``RUN_DIR/eval/<prefix>-<stamp>.json`` (a new name if that one exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = run_dir / "eval" / f"{prefix}-{stamp}.json"
    k = 1
    while out.exists():
        out = run_dir / "eval" / f"{prefix}-{stamp}-{k}.json"
        k += 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return out


def robustness_row(name: str, level: int, result: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """One row of a robustness table: an evaluation's return mean and std under ``name:level`` and its
    drop against the unperturbed evaluation ``base`` (both :func:`evaluate`'s results)."""
    mean, std = SCALARS["eval_return_mean"], SCALARS["eval_return_std"]
    return {
        "perturbation": name,
        "level": level,
        "return_mean": result[mean],
        "return_std": result[std],
        "drop": base[mean] - result[mean],
    }


def evaluate_robustness(
    run_dir: str | Path,
    episodes: int | None = None,
    checkpoint: str = "best",
    seed: int | None = None,
    levels: tuple[int, ...] = (1, 2, 3),
) -> list[dict[str, Any]]:
    """The robustness sweep behind ``rlsuite eval RUN --perturb all``: the unperturbed evaluation,
    then every perturbation of :mod:`rlsuite.perturb` that applies to the run's env at each of
    ``levels``, all on the same episodes' seed. Each evaluation writes its own ``eval/*.json``; the
    rows (``perturbation``, ``level``, ``return_mean``, ``return_std``, ``drop``: unperturbed mean
    minus this mean) are also written to ``eval/robustness-<stamp>.json`` and returned."""
    from rlsuite.perturb import LEVELS, applicable

    run_dir = Path(run_dir)
    for level in levels:
        if level not in LEVELS:
            raise ConfigError(f"levels: got {level!r}; allowed: {LEVELS}")
    names = applicable(load_run_config(run_dir).env)
    base = evaluate_run(run_dir, episodes, checkpoint, seed)
    rows = [robustness_row("none", 0, base, base)]
    for name in names:
        for level in levels:
            result = evaluate_run(run_dir, episodes, checkpoint, seed, perturb=f"{name}:{level}")
            rows.append(robustness_row(name, level, result, base))
    _write_eval_json(
        run_dir, "robustness", {"checkpoint": base["checkpoint"], "seed": base["seed"], "rows": rows}
    )
    return rows
