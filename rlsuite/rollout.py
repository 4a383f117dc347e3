"""Rollouts over vector envs: building them from an :class:`~rlsuite.config.EnvConfig`, the episode
bookkeeping of Gymnasium's NEXT_STEP autoreset (written once, here), running a policy for whole
episodes, and collecting rendered frames.

This module sits just above the envs (``docs/design.md``, "Layers"): it imports ``rlsuite.envs`` and
``rlsuite.config`` only — never torch, an agent or the training loop — so training, evaluation,
``rlsuite record`` and the encoders' data collection all share it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from rlsuite.config import ConfigError, EnvConfig
from rlsuite.envs.core import TaskMetric, task_metrics

__all__ = [
    "EpisodeCollector",
    "EpisodeMetrics",
    "EpisodeResults",
    "Episodes",
    "Finished",
    "Policy",
    "collect_frames",
    "make_envs",
    "run_episodes",
]

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``policy(observations, episode_start) -> actions`` on a batch; ``episode_start`` (bool, one per
sub-env) marks observations that begin an episode, for policies with memory (frame stacks)."""


# --------------------------------------------------------------------------------------------
# Envs
# --------------------------------------------------------------------------------------------
def make_envs(env: EnvConfig, num_envs: int | None = None) -> gym.vector.VectorEnv:
    """The vector env of ``env`` (our native one where registered, else Gymnasium's sync one).

    Our ids are registered by the package's import (``rlsuite/__init__.py``), which always runs
    before this module's. A kwarg the env refuses is a :class:`ConfigError` naming ``env.kwargs``.
    """
    n = env.num_envs if num_envs is None else num_envs
    message = None
    # A vector env whose constructor raised is still deleted, and Gymnasium's VectorEnv.__del__ then
    # fails on the half-built object ("Exception ignored in ... __del__" and a traceback on stderr,
    # before our clear error): those reports are dropped while the failed construction is cleaned up.
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_del_hook(previous_hook)
    try:
        try:
            return gym.make_vec(env.id, num_envs=n, **env.kwargs)
        except TypeError as error:  # an unknown constructor kwarg
            message = f"env.kwargs: {env.kwargs!r} is not accepted by {env.id!r}: {error}"
        except ValueError as error:  # our envs validate their kwargs with ValueError
            message = f"env.kwargs: {error}"
        gc.collect()
    finally:
        sys.unraisablehook = previous_hook
    raise ConfigError(message)


def _quiet_del_hook(previous: Callable[[Any], None]) -> Callable[[Any], None]:
    def hook(unraisable: Any) -> None:
        if getattr(unraisable.object, "__name__", "") != "__del__":
            previous(unraisable)

    return hook


# --------------------------------------------------------------------------------------------
# Episode bookkeeping under NEXT_STEP autoreset
# --------------------------------------------------------------------------------------------
class Finished(NamedTuple):
    """The episodes that ended on one vector step: the sub-envs (ascending), their returns and lengths."""

    rows: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


NONE_FINISHED = Finished(*(_read_only(np.empty(0, dtype)) for dtype in (np.int64, np.float64, np.int64)))
"""What :meth:`Episodes.update` returns on the (most) steps where no episode ends (shared, read-only)."""


class Episodes:
    """The episodes in progress in ``num_envs`` sub-envs under Gymnasium's NEXT_STEP autoreset.

    The step that ends an episode returns the real reward and flags; the sub-env's next step is its
    reset step (action ignored, reward 0, flags False), which belongs to no episode and is not a
    transition a learner may use. Every loop over a vector env keeps this account the same way::

        episodes = Episodes(envs.num_envs)
        obs, _ = envs.reset(seed=seed)
        while ...:
            obs, rewards, terminated, truncated, _ = envs.step(policy(obs))
            finished = episodes.update(rewards, terminated, truncated)
            for row, ret, length in zip(*finished): ...  # the episodes that ended on this step
            ...  # episodes.starts: the sub-envs whose ``obs`` begins an episode (a reset step's)

    A learner that needs only which steps were reset steps calls :meth:`advance` instead.
    Attributes (arrays of ``num_envs``, read and restored by checkpoints): ``returns`` and ``lengths``
    of the episodes in progress, ``done`` (the last step ended the sub-env's episode: its next step is
    the reset step) and ``starts`` (the last step was a reset step: its observation begins an episode).
    """

    def __init__(self, num_envs: int) -> None:
        self.returns = np.zeros(num_envs)
        self.lengths = np.zeros(num_envs, dtype=np.int64)
        self.done = np.zeros(num_envs, dtype=bool)
        self.starts = np.zeros(num_envs, dtype=bool)

    def update(
        self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, *, same_step: bool = False
    ) -> Finished:
        """Count one vector step; returns the episodes it ended (:data:`NONE_FINISHED` when none).

        ``same_step=True`` for envs that reset in the step that ends an episode (SB3's ``VecEnv``):
        every step then belongs to an episode."""
        live = np.ones_like(self.done) if same_step else ~self.done
        self.returns += np.where(live, rewards, 0.0)
        self.lengths += live
        done = np.logical_or(terminated, truncated)
        finished = done & live
        self.starts = done if same_step else self.done
        self.done = done
        if not finished.any():
            return NONE_FINISHED
        rows = np.flatnonzero(finished)
        result = Finished(rows, self.returns[rows], self.lengths[rows])
        self.returns[rows] = 0.0
        self.lengths[rows] = 0
        return result

    def advance(self, terminated: np.ndarray, truncated: np.ndarray) -> np.ndarray:
        """Count one vector step's flags only (no returns): the sub-envs whose step was a reset step,
        i.e. not a transition, and whose new observation begins an episode (:attr:`starts`)."""
        self.starts = self.done
        self.done = np.logical_or(terminated, truncated)
        return self.starts

    def restart(self) -> None:
        """Forget the episodes in progress: after ``envs.reset()`` every sub-env begins a new one."""
        self.returns[:] = 0.0
        self.lengths[:] = 0
        self.done = np.zeros_like(self.done)
        self.starts = np.ones_like(self.starts)


# --------------------------------------------------------------------------------------------
# Task metrics of episodes
# --------------------------------------------------------------------------------------------
class EpisodeMetrics:
    """The task metrics (:class:`~rlsuite.envs.core.TaskMetric`) of the episodes in progress in
    ``num_envs`` sub-envs, reduced step by step from the vector env's infos.

    :meth:`update` takes a step's infos and the sub-envs whose step belongs to an episode (``live``:
    not a NEXT_STEP reset step); a value counts only where its ``_key`` mask is True (an info without
    the key, or with its mask False, leaves that sub-env's metric as it was). :meth:`finish` hands out
    the finished episodes' values (NaN where a value is not finite: not defined, see
    :class:`~rlsuite.envs.core.TaskMetric`) and starts those sub-envs afresh. Whole-batch numpy per
    step."""

    def __init__(self, metrics: tuple[TaskMetric, ...], num_envs: int) -> None:
        self.metrics = metrics
        self._value = {m.name: self._start(m, num_envs) for m in metrics}  # any: ever true; mean: sum
        self._count = {m.name: np.zeros(num_envs, np.int64) for m in metrics if m.reduce == "mean"}

    @staticmethod
    def _start(metric: TaskMetric, num_envs: int) -> np.ndarray:
        return np.full(num_envs, np.nan) if metric.reduce == "last" else np.zeros(num_envs)

    def update(self, infos: dict[str, Any], live: np.ndarray) -> None:
        """Count one vector step's ``infos`` for the sub-envs where ``live`` is True."""
        for metric in self.metrics:
            data = infos.get(metric.key)
            if data is None:
                continue
            mask = infos.get("_" + metric.key)
            present = live if mask is None else live & mask
            values = np.asarray(data, dtype=np.float64)
            acc = self._value[metric.name]
            if metric.reduce == "any":
                acc[present & (values != 0)] = 1.0
            elif metric.reduce == "mean":
                acc += np.where(present, values, 0.0)
                self._count[metric.name] += present
            else:
                np.copyto(acc, values, where=present)

    def finish(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The metrics of the episodes that ended in ``rows`` (one value per row, per metric), whose
        accounts then start again."""
        out = {}
        for metric in self.metrics:
            acc = self._value[metric.name]
            value = acc[rows]
            if metric.reduce == "mean":
                count = self._count[metric.name]
                with np.errstate(invalid="ignore", divide="ignore"):
                    value = np.where(count[rows] > 0, value / count[rows], np.nan)
                count[rows] = 0
            acc[rows] = np.nan if metric.reduce == "last" else 0.0
            out[metric.name] = np.where(np.isfinite(value), value, np.nan)
        return out


# --------------------------------------------------------------------------------------------
# Running a policy for episodes
# --------------------------------------------------------------------------------------------
class EpisodeResults(NamedTuple):
    """Whole episodes of :func:`run_episodes`, in the order they ended: returns, lengths, for envs
    that report ``info["is_success"]`` at an episode's end their successes (0.0 or 1.0; else empty),
    and the env's task metrics (:func:`rlsuite.envs.core.task_metrics`): one list per metric name,
    one value per episode (NaN where a ``"last"`` metric's value is NaN, e.g. no lap finished);
    empty for envs that declare none."""

    returns: list[float]
    lengths: list[int]
    successes: list[float]
    metrics: dict[str, list[float]]


class EpisodeCollector:
    """The bookkeeping of :func:`run_episodes` for one vector env of ``num_envs`` sub-envs: which
    episodes count (``episodes`` spread over the sub-envs as Stable-Baselines3's
    ``evaluate_policy`` does: sub-env ``i`` counts ``(episodes + i) // num_envs``), their returns,
    lengths, successes and task ``metrics``, under NEXT_STEP autoreset. Call :meth:`update` after
    every step until :attr:`complete`; :attr:`results` holds the episodes."""

    def __init__(self, num_envs: int, episodes: int, metrics: tuple[TaskMetric, ...] = ()) -> None:
        self.num_envs = num_envs
        self.targets = np.array([(episodes + i) // num_envs for i in range(num_envs)])
        self.counts = np.zeros(num_envs, dtype=np.int64)
        self.book = Episodes(num_envs)
        self.metrics = EpisodeMetrics(metrics, num_envs)
        self.results = EpisodeResults([], [], [], {m.name: [] for m in metrics})

    @property
    def complete(self) -> bool:
        """Every sub-env has ended the episodes it counts."""
        return not (self.counts < self.targets).any()

    @property
    def starts(self) -> np.ndarray:
        """The sub-envs whose last observation begins an episode (see :attr:`Episodes.starts`)."""
        return self.book.starts

    def update(
        self, rewards: np.ndarray, terminated: np.ndarray, truncated: np.ndarray, infos: dict[str, Any]
    ) -> None:
        """Count one vector step (its rewards, flags and infos)."""
        self.metrics.update(infos, ~self.book.done)  # a reset step (done before it) is no episode's
        finished = self.book.update(rewards, terminated, truncated)
        if not finished.rows.size:
            return
        values = self.metrics.finish(finished.rows)
        results = self.results
        for j, (i, episode_return, length) in enumerate(zip(*finished, strict=True)):
            if self.counts[i] < self.targets[i]:
                results.returns.append(float(episode_return))
                results.lengths.append(int(length))
                if "is_success" in infos and infos.get("_is_success", np.ones(self.num_envs, bool))[i]:
                    results.successes.append(float(infos["is_success"][i]))
                for name, value in values.items():
                    results.metrics[name].append(float(value[j]))
                self.counts[i] += 1


def run_episodes(policy: Policy, envs: gym.vector.VectorEnv, episodes: int, seed: int) -> EpisodeResults:
    """Run ``policy`` on ``envs`` (reset with ``seed``) until ``episodes`` complete episodes have ended.

    Episodes are spread over the sub-envs as Stable-Baselines3's ``evaluate_policy`` does (sub-env
    ``i`` counts ``(episodes + i) // n`` of them) so that short episodes do not bias the mean; they are
    listed in the order they ended, with the env's task metrics (:class:`EpisodeResults`).
    ``policy`` is called as ``policy(obs, episode_start)`` (see :data:`Policy`); ``episode_start`` is
    all True on the first call and afterwards marks the sub-envs whose observation begins an episode
    (NEXT_STEP autoreset: the one after the reset step), so a frame-stacking policy starts each
    episode from its own first frame.
    """
    collector = EpisodeCollector(envs.num_envs, episodes, task_metrics(envs))
    episode_start = np.ones(envs.num_envs, dtype=bool)
    obs, _ = envs.reset(seed=seed)
    while not collector.complete:
        obs, rewards, terminated, truncated, infos = envs.step(policy(obs, episode_start))
        collector.update(rewards, terminated, truncated, infos)
        episode_start = collector.starts
    return collector.results


# --------------------------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------------------------
def collect_frames(
    policy: Policy,
    envs: Any,
    episodes: int,
    seed: int,
    show_agent_view: bool = False,
    max_steps: int | None = None,
    size: int | None = None,
) -> tuple[list[np.ndarray], list[float]]:
    """Frames of ``episodes`` episodes of ``policy`` in sub-env 0 of ``envs`` (``render_mode=
    "rgb_array"``, NEXT_STEP autoreset), and their returns; with ``show_agent_view`` each frame has
    the agent's own pixels beside it (:func:`agent_view`). An episode longer than ``max_steps`` env
    steps is cut there (its return is that of those steps) and the next starts from ``envs.reset()``
    (the seed stream continuing); ``size``: frames resized to that longest side as they come, so
    long episodes stay small in memory. After an episode's last frame the next frame is the new
    episode's first (the reset step is taken at once, with the last actions)."""
    frames, returns = [], []
    book = Episodes(envs.num_envs)
    obs, _ = envs.reset(seed=seed)

    def frame() -> np.ndarray:
        scene = np.asarray(envs.render()[0])
        image = side_by_side(scene, agent_view(envs, obs)) if show_agent_view else scene
        return image if size is None else resize(image, size)

    frames.append(frame())
    episode_start = np.ones(envs.num_envs, dtype=bool)
    while len(returns) < episodes:
        actions = policy(obs, episode_start)
        obs, rewards, terminated, truncated, _ = envs.step(actions)
        finished = book.update(rewards, terminated, truncated)
        done = finished.rows.size > 0 and finished.rows[0] == 0  # sub-env 0 never waits in a reset step
        cut = not done and max_steps is not None and book.lengths[0] >= max_steps
        if done or cut:
            returns.append(float(finished.returns[0] if done else book.returns[0]))
            if len(returns) < episodes:  # the next frame shows the new start
                if cut:
                    obs, _ = envs.reset()
                    book.restart()
                else:  # NEXT_STEP autoreset: the next step is the reset step
                    obs, rewards, terminated, truncated, _ = envs.step(actions)
                    book.update(rewards, terminated, truncated)
            episode_start = np.ones(envs.num_envs, dtype=bool)
        else:
            episode_start = book.starts
        frames.append(frame())
    return frames, returns


def agent_view(envs: Any, obs: Any) -> np.ndarray | None:
    """What the agent of sub-env 0 sees as an RGB image: its newest pixel observation (through a
    frozen-encoder feature env, the newest raw frame), or ``None`` for non-image observations."""
    if hasattr(envs, "last_frames"):
        obs = envs.last_frames()
    obs = np.asarray(obs)
    if obs.ndim != 4 or obs.dtype != np.uint8:
        return None
    frame = obs[0]
    channels = frame.shape[2]
    frame = frame[:, :, -3:] if channels % 3 == 0 else frame[:, :, -1:]  # the newest frame of a stack
    return np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame


def side_by_side(scene: np.ndarray, view: np.ndarray | None) -> np.ndarray:
    """The scene with the agent's view scaled (nearest pixel) to its height on the right."""
    if view is None:
        return scene
    scale = max(1, scene.shape[0] // view.shape[0])
    view = np.repeat(np.repeat(view, scale, axis=0), scale, axis=1)[: scene.shape[0]]
    pad = np.zeros((scene.shape[0], view.shape[1], 3), np.uint8)
    pad[: view.shape[0]] = view
    gap = np.full((scene.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([scene, gap, pad], axis=1)


def resize(frame: np.ndarray, size: int) -> np.ndarray:
    """``frame`` with its longest side ``size`` pixels, aspect kept, both sides even (H.264 needs
    that): shrunk by area averaging, enlarged by repeating pixels (sharp pixel art)."""
    from PIL import Image

    height, width = frame.shape[:2]
    scale = size / max(height, width)
    shape = (max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2)))
    if shape == (width, height):
        return frame
    method = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(frame).resize(shape, method))
