"""Frames for pretraining and probing, collected through the native vector envs.

:func:`collect` steps one env id with a batch of sub-envs under a behaviour policy and keeps every
frame in time order, with the episode boundaries and the env's true state variables (read from
its batched core), so that one collection serves contrastive pretraining (anchors, later
positives in the same episode, frame stacks) and the linear probe (frames → state).

What an env knows about itself comes from its batched core's optional methods
(:class:`rlsuite.envs.core.BatchCore`): the probe's variables (``probe_variables``), the ``state``
objective's targets (``privileged_state``) and a scripted driver (``scripted_policy``); an env whose
core offers none of them gets empty ones, and random actions.

Behaviour policies (``policy``):
- ``random``: uniform random actions.
- ``scripted``: the env's scripted policy where its core has one (Racetrack: a noisy lane-keeping
  driver, each car with a target speed of its own, so frames cover real driving at all speeds instead
  of a car spinning on the grass); other envs: *sticky* random actions (each held for 1–8 steps),
  which sweep arms and lanes much further than independent ones.
- ``mixed`` (default): each step, each sub-env follows ``scripted`` with probability 0.7, else random.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlsuite.config import ConfigError, EnvConfig, hp
from rlsuite.envs.core import core_of
from rlsuite.rollout import make_envs

__all__ = [
    "DataSource",
    "FrameData",
    "action_features",
    "action_width",
    "collect",
    "state_targets",
    "state_variables",
]


@dataclass
class DataSource:
    id: str = hp("rlsuite/Racetrack-v0", "env id; its kwargs must give pixel observations")
    kwargs: dict[str, Any] = hp(default_factory=dict, doc="env constructor kwargs")
    frames: int = hp(20_000, "frames to collect (summed over the sub-envs)", ge=1)
    num_envs: int = hp(16, "sub-envs stepped in one batch", ge=1)
    policy: Literal["random", "scripted", "mixed"] = hp(
        "mixed", "behaviour policy (see rlsuite.encoders.data)"
    )
    seed: int = hp(0, "reset seed of the collection", ge=0)


@dataclass
class FrameData:
    """``frames`` (T, N, H, W, C) uint8 in time order per sub-env; ``first`` (T, N): the time index of
    each frame's episode start; ``states`` (T, N, V) float32 named ``state_names`` (the probe's
    variables; may be V = 0); ``targets`` (T, N, U) float32 named ``target_names``: the env's state
    observation, what the ``state`` pretraining objective regresses on (may be U = 0); ``actions``
    (T, N, A) float32: the action taken at each frame (one-hot for a discrete action space, the values
    for a box; what the action-conditioned objectives, ``spr`` and ``spr_nce``, read; may be A = 0)."""

    frames: np.ndarray
    first: np.ndarray
    states: np.ndarray
    state_names: list[str]
    source: str
    targets: np.ndarray | None = None
    target_names: list[str] = field(default_factory=list)
    actions: np.ndarray | None = None

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0] * self.frames.shape[1]

    def stacked(self, t: np.ndarray, n: np.ndarray, k: int) -> np.ndarray:
        """Frames ``t`` of sub-envs ``n`` stacked with their ``k - 1`` predecessors along channels
        (oldest first; the episode's first frame repeats before its start, as the agents stack)."""
        parts = [self.frames[np.maximum(t - j, self.first[t, n]), n] for j in range(k - 1, -1, -1)]
        return np.concatenate(parts, axis=-1)

    def sample_pairs(
        self, batch: int, shift: int, rng: np.random.Generator, clip: int = 1
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``batch`` anchors ``(t, n)`` and their positives ``t + shift`` in the same episode.

        Anchors come in clips of ``clip`` consecutive frames of one episode (ATC samples batches of
        subsequences): the other frames of a clip are the hardest negatives, and telling a frame's
        successor from its neighbours' needs the motion (speed, joint rates), not just the scene.
        """
        T, N = self.first.shape
        clip = max(1, min(clip, batch))
        span = clip - 1 + shift
        if T <= span:
            raise ConfigError(
                f"data: {self.source} has {T} frames per sub-env, fewer than a clip and its positive need "
                f"({span + 1}); collect more frames, use fewer num_envs, or a shorter objective.clip_length"
            )
        starts_t, starts_n = [], []
        count = 0
        clips = -(-batch // clip)
        rounds = 0
        while count < clips:
            rounds += 1
            if rounds == 100 and not (self.first[span:] == self.first[: T - span]).any():
                raise ConfigError(
                    f"data: no episode of {self.source} is long enough for a clip and its positive "
                    f"({span + 1} frames: clip_length {clip} + shift {shift}); use a shorter "
                    "objective.clip_length or temporal_shift, or longer episodes"
                )
            t = rng.integers(0, T - span, size=2 * clips)
            n = rng.integers(0, N, size=2 * clips)
            ok = (
                self.first[t + span, n] == self.first[t, n]
            )  # the whole clip and its positives in one episode
            starts_t.append(t[ok]), starts_n.append(n[ok])
            count += int(ok.sum())
        t0 = np.concatenate(starts_t)[:clips]
        n0 = np.concatenate(starts_n)[:clips]
        t = (t0[:, None] + np.arange(clip)).ravel()[:batch]
        n = np.repeat(n0, clip)[:batch]
        return t, n, t + shift


# --------------------------------------------------------------------------------------------
# True state variables, read from the env's batched core
# --------------------------------------------------------------------------------------------
def _no_variables(envs: gym.vector.VectorEnv) -> tuple[list[str], np.ndarray]:
    return [], np.zeros((envs.num_envs, 0), np.float32)


def state_variables(envs: gym.vector.VectorEnv) -> tuple[list[str], np.ndarray]:
    """The state variables the probe regresses on, ``(names, values (N, V))``: the core's
    ``probe_variables()`` (none for an env whose core names none)."""
    core = core_of(envs)
    variables = None if core is None else core.probe_variables()
    return _no_variables(envs) if variables is None else variables


def state_targets(envs: gym.vector.VectorEnv) -> tuple[list[str], np.ndarray]:
    """What the ``state`` pretraining objective regresses on, ``(names, values (N, U))``: the core's
    ``privileged_state()``, the env's state observation whatever its ``obs_type`` (none for an env
    whose core exposes none)."""
    core = core_of(envs)
    state = None if core is None else core.privileged_state()
    return _no_variables(envs) if state is None else state


def action_width(space: gym.Space) -> int:
    """Columns of :func:`action_features` for ``space`` (drawing no action: collections stay as they were)."""
    if isinstance(space, gym.spaces.Discrete):
        return int(space.n)
    return int(np.prod(space.shape)) if isinstance(space, gym.spaces.Box) else 0


def action_features(space: gym.Space, actions: np.ndarray) -> np.ndarray:
    """A batch of actions ``(N, …)`` of ``space`` as float32 rows ``(N, A)``: one-hot for ``Discrete``,
    the flattened values for ``Box``; ``A = 0`` for other spaces."""
    if isinstance(space, gym.spaces.Discrete):
        return np.eye(int(space.n), dtype=np.float32)[np.asarray(actions) - space.start]
    if isinstance(space, gym.spaces.Box):
        return np.asarray(actions, np.float32).reshape(len(actions), -1)
    return np.zeros((len(actions), 0), np.float32)


# --------------------------------------------------------------------------------------------
# Behaviour policies
# --------------------------------------------------------------------------------------------
class _Policy:
    def __init__(self, envs: gym.vector.VectorEnv, kind: str, rng: np.random.Generator) -> None:
        self.envs, self.kind, self.rng = envs, kind, rng
        n = envs.num_envs
        self.held = envs.action_space.sample()
        self.hold = np.zeros(n, np.int64)
        core = core_of(envs)
        self.scripted_policy = None if core is None else core.scripted_policy(rng)
        if self.scripted_policy is None:
            # Racetrack's driver draws n target speeds from rng as it starts; other envs have always drawn
            # (and dropped) n numbers here too, which keeps their collections the same bit for bit.
            rng.random(n)

    def random(self) -> np.ndarray:
        return self.envs.action_space.sample()

    def scripted(self) -> np.ndarray:
        if self.scripted_policy is not None:
            return self.scripted_policy()
        renew = self.hold <= 0  # sticky random actions
        if renew.any():
            fresh = self.random()
            self.held[renew] = fresh[renew]
            self.hold[renew] = self.rng.integers(1, 9, int(renew.sum()))
        self.hold -= 1
        return self.held.copy()

    def __call__(self) -> np.ndarray:
        if self.kind == "random":
            return self.random()
        actions = self.scripted()
        if self.kind == "mixed":
            explore = self.rng.random(len(actions)) < 0.3
            if explore.any():
                actions[explore] = self.random()[explore]
        return actions


def collect(source: DataSource) -> FrameData:
    """Step ``source`` for ``source.frames`` frames and keep them all (see the module docstring)."""
    envs = make_envs(EnvConfig(id=source.id, num_envs=source.num_envs, kwargs=dict(source.kwargs)))
    try:
        space = envs.single_observation_space
        if not (isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3):
            raise ConfigError(
                f"data: {source.id} with kwargs {source.kwargs} gives {space} observations; encoders take "
                "uint8 (H, W, C) frames, e.g. kwargs: {obs_type: pixels}"
            )
        rng = np.random.default_rng(source.seed)
        envs.action_space.seed(source.seed)
        policy = _Policy(envs, source.policy, rng)
        n = source.num_envs
        steps = -(-source.frames // n)
        frames = np.empty((steps, n, *space.shape), np.uint8)
        first = np.zeros((steps, n), np.int64)
        names, values = state_variables(envs)
        states = np.empty((steps, n, values.shape[1]), np.float32)
        target_names, values = state_targets(envs)  # before the reset: see BatchCore.privileged_state
        targets = np.empty((steps, n, values.shape[1]), np.float32)
        action_space = envs.single_action_space
        actions = np.empty((steps, n, action_width(action_space)), np.float32)
        obs, _ = envs.reset(seed=source.seed)
        episode_first = np.zeros(n, np.int64)
        previous_done = np.zeros(n, bool)
        for t in range(steps):
            frames[t], first[t] = obs, episode_first
            states[t] = state_variables(envs)[1]
            targets[t] = state_targets(envs)[1]
            action = policy()
            actions[t] = action_features(action_space, action)
            obs, _, terminated, truncated, _ = envs.step(action)
            # NEXT_STEP autoreset: frame t + 1 is a reset observation iff the step before ended an episode
            episode_first[previous_done] = t + 1
            previous_done = terminated | truncated
    finally:
        envs.close()
    return FrameData(frames, first, states, names, source.id, targets, target_names, actions)
