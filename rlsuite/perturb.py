"""The robustness suite: perturbations of an env at four levels, for ``rlsuite eval RUN --perturb NAME[:LEVEL]``.

Each perturbation models one way the world at test time differs from the world of training
(DMC-GB and the Distracting Control Suite showed pixel agents collapse under colour and background
changes). It has four levels — 0 none, 1 mild, 2 strong, 3 severe; each class's docstring gives
each level's numbers — a seed, and :meth:`Perturbation.applies_to` (:meth:`~Perturbation.why_not`
says why not, e.g. "pixel observations only"). There are two kinds:

* **wrappers** (observation noise, colour shift, brightness, background, distractors, action delay,
  actuation noise): :meth:`Perturbation.wrap` puts a ``gymnasium.vector.VectorWrapper`` around any
  vector env with NEXT_STEP autoreset (our native ones and Gymnasium's), :meth:`Perturbation.wrap_env`
  a ``gymnasium.Wrapper`` around a single env. Both shells run one batched transform (the single env
  is a batch of one) with one random stream per sub-env, seeded like the envs (``docs/design.md``,
  "Vector semantics"): ``reset(seed=s)`` restarts sub-env ``i``'s stream as the single env's
  ``reset(seed=s + i)`` does, ``reset_mask`` touches only the masked sub-envs, and a sub-env's reset
  step (NEXT_STEP autoreset: its action is ignored) draws nothing and starts the new episode's
  per-episode draws, so sub-env ``i`` of the vector env sees what the single env sees;
* **env kwargs** (traffic density, friction, link mass, unseen tracks): :meth:`Perturbation.configure`
  rebuilds the :class:`~rlsuite.config.EnvConfig` with changed kwargs, where the env already has
  them. Highway's IDM parameters (how aggressive traffic drives) are constants of its kernels, not
  kwargs, so there is no IDM-aggressiveness perturbation; ``traffic_density`` changes how much
  traffic there is.

**Training under perturbations** (domain randomisation over the batch, ``train.perturb`` in a config):
:func:`training_perturbation` gives a :class:`BatchMixture` of wrapper perturbations, each applied to its
own share of the training sub-envs (sub-env ``i`` under the ``i mod (k + 1)``-th of ``k``, the 0th none);
``rlsuite.training.train`` wraps its training envs in it, never its evaluation envs.

Level 0 runs the same code with neutral numbers (zero noise, factor 1, no delay), so it reproduces
the unperturbed episodes bit for bit (``tests/test_perturb.py``).

This module sits at layer 1 (``docs/design.md``, "Layers"): it imports ``rlsuite.envs`` (the public
``core``), ``rlsuite.config``, Gymnasium and numpy only — never torch, an agent or the training loop.
"""

from __future__ import annotations

import dataclasses
import difflib
from abc import ABC
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.envs.registration import load_env_creator
from gymnasium.vector import AutoresetMode

from rlsuite.config import Config, ConfigError, EnvConfig
from rlsuite.envs.core import CoreEnv, EnvKwargs

__all__ = [
    "LEVELS",
    "LEVEL_NAMES",
    "PERTURBATIONS",
    "BatchMixture",
    "Perturbation",
    "PerturbedEnv",
    "PerturbedVectorEnv",
    "applicable",
    "parse_perturbation",
    "training_perturbation",
]

LEVELS = (0, 1, 2, 3)
LEVEL_NAMES = {0: "none", 1: "mild", 2: "strong", 3: "severe"}
DEFAULT_LEVEL = 1


# --------------------------------------------------------------------------------------------
# What an env offers: spaces and validated kwargs (built once per env config)
# --------------------------------------------------------------------------------------------
_SPACES: dict[str, tuple[gym.Space, gym.Space]] = {}


def env_spaces(env: EnvConfig) -> tuple[gym.Space, gym.Space]:
    """The single observation and action spaces of ``env`` (a single env is built once per config)."""
    key = f"{env.id} {sorted(env.kwargs.items())!r}"
    if key not in _SPACES:
        single = gym.make(env.id, **env.kwargs)
        _SPACES[key] = single.observation_space, single.action_space
        single.close()
    return _SPACES[key]


def env_kwargs(env: EnvConfig) -> EnvKwargs | None:
    """The validated kwargs dataclass of an rlsuite env (its core's ``kwargs_class``), ``None`` for
    other envs. Reads the registered entry point's class; builds nothing."""
    spec = gym.spec(env.id)
    creator = spec.entry_point if callable(spec.entry_point) else load_env_creator(spec.entry_point)
    if not (isinstance(creator, type) and issubclass(creator, CoreEnv)):
        return None
    own = {k: v for k, v in env.kwargs.items() if k not in MAKE_KWARGS}
    return creator.core_class.kwargs_class.from_kwargs(own)


MAKE_KWARGS = ("max_episode_steps", "disable_env_checker")
"""Kwargs of ``gymnasium.make`` itself, which an env config may hold beside the env's own."""


def _is_pixels(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def _is_state(space: gym.Space) -> bool:
    return isinstance(space, gym.spaces.Box) and np.issubdtype(space.dtype, np.floating)


def _upper_bound(kwargs: EnvKwargs, name: str) -> float:
    """The upper bound a kwarg's declared check allows (``kwarg(default, number(low, high))``)."""
    spec = next(f for f in dataclasses.fields(kwargs) if f.name == name)
    check = spec.metadata.get("check")
    return float(getattr(check, "keywords", {}).get("high") or np.inf)


# --------------------------------------------------------------------------------------------
# The perturbation protocol and its registry
# --------------------------------------------------------------------------------------------
class Perturbation(ABC):
    """One perturbation at one level (0-3) with a seed. Subclasses set :attr:`name`, :attr:`kind`,
    :attr:`levels` (level -> its numbers) and override :meth:`why_not` and either
    :meth:`transform` (wrappers) or :meth:`configure` (env kwargs)."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "observation", "action" or "env"
    levels: ClassVar[dict[int, Any]]  # level -> the numbers of that level (level 0: neutral)
    unit: ClassVar[str] = ""  # what the numbers are, for descriptions
    random: ClassVar[bool] = True  # draws from its seed (action delay and kwarg changes do not)

    def __init__(self, level: int = DEFAULT_LEVEL, seed: int = 0) -> None:
        if isinstance(level, bool) or not isinstance(level, int | np.integer) or level not in LEVELS:
            raise ConfigError(f"perturbation {self.name}: level must be one of {LEVELS}, got {level!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError(f"perturbation {self.name}: seed must be an integer >= 0, got {seed!r}")
        self.level = int(level)
        self.seed = int(seed)

    @property
    def value(self) -> Any:
        """This level's numbers."""
        return self.levels[self.level]

    def describe(self) -> str:
        """One line: name, level and its numbers, e.g. ``observation_noise:2 (strong; σ = 0.1 × scale)``."""
        return f"{self.name}:{self.level} ({LEVEL_NAMES[self.level]}; {self.unit} = {self.value})"

    def record(self) -> dict[str, Any]:
        """What an evaluation's JSON records of this perturbation."""
        return {"name": self.name, "level": self.level, "seed": self.seed, "description": self.describe()}

    # ---- applicability -------------------------------------------------------------------------
    def why_not(self, env: EnvConfig) -> str | None:
        """``None`` if this perturbation applies to ``env``, else why not (one phrase)."""
        return None

    def applies_to(self, env: EnvConfig) -> bool:
        return self.why_not(env) is None

    def check(self, env: EnvConfig) -> None:
        """A :class:`ConfigError` naming the env and the perturbations that do apply, if this one does not."""
        reason = self.why_not(env)
        if reason is not None:
            allowed = ", ".join(applicable(env)) or "none"
            raise ConfigError(
                f"--perturb {self.name}: does not apply to {env.id} ({reason}); perturbations that do: {allowed}"
            )

    # ---- the two ways of perturbing --------------------------------------------------------------
    def configure(self, env: EnvConfig) -> EnvConfig:
        """The env config to build (kwarg perturbations change its kwargs; wrappers return ``env``)."""
        return env

    def transform(
        self, num_rows: int, observation_space: gym.Space, action_space: gym.Space
    ) -> Transform | None:
        """The batched transform of a wrapper perturbation (``None``: this one changes kwargs only)."""
        return None

    def wrap(self, envs: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
        """``envs`` perturbed: in a :class:`PerturbedVectorEnv` for wrappers, unchanged otherwise."""
        transform = self.transform(envs.num_envs, envs.single_observation_space, envs.single_action_space)
        return envs if transform is None else PerturbedVectorEnv(envs, transform, self)

    def wrap_env(self, env: gym.Env) -> gym.Env:
        """A single env perturbed (a batch of one: sub-env 0 of :meth:`wrap`)."""
        transform = self.transform(1, env.observation_space, env.action_space)
        return env if transform is None else PerturbedEnv(env, transform, self)


PERTURBATIONS: dict[str, type[Perturbation]] = {}
"""name -> class, in the order ``--perturb all`` runs them."""


def register(cls: type[Perturbation]) -> type[Perturbation]:
    PERTURBATIONS[cls.name] = cls
    return cls


def parse_perturbation(spec: str, seed: int = 0, env: EnvConfig | None = None) -> Perturbation:
    """``"NAME"`` or ``"NAME:LEVEL"`` (level 1 by default) as a perturbation; with ``env``, one that
    applies to it. Errors are :class:`ConfigError` naming what is allowed."""
    name, _, level_text = str(spec).partition(":")
    name = name.strip()
    if name not in PERTURBATIONS:
        close = difflib.get_close_matches(name, PERTURBATIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"--perturb: unknown perturbation {name!r}{hint}; allowed: {', '.join(PERTURBATIONS)}, all"
        )
    level = DEFAULT_LEVEL
    if level_text:
        if level_text.strip() not in {str(k) for k in LEVELS}:
            allowed = ", ".join(f"{k} ({LEVEL_NAMES[k]})" for k in LEVELS)
            raise ConfigError(f"--perturb {name}: level must be one of {allowed}, got {level_text!r}")
        level = int(level_text)
    perturbation = PERTURBATIONS[name](level, seed)
    if env is not None:
        perturbation.check(env)
    return perturbation


def applicable(env: EnvConfig) -> list[str]:
    """The names of the perturbations that apply to ``env``, in registry order."""
    return [name for name, cls in PERTURBATIONS.items() if cls().why_not(env) is None]


# --------------------------------------------------------------------------------------------
# Batched transforms: one random stream per row, per-episode draws at each row's start
# --------------------------------------------------------------------------------------------
class Transform:
    """What a wrapper perturbation does to a batch of ``num_rows`` sub-envs, written once for both
    shells. Row ``i`` draws from its own generator: seeded from ``(seed, i)`` until a reset seeds it,
    then from ``(seed, s)`` for the env seed ``s`` that row was reset with."""

    def __init__(
        self, perturbation: Perturbation, num_rows: int, observation_space: gym.Space, action_space: gym.Space
    ):
        self.level = perturbation.level
        self.value = perturbation.value
        self.seed = perturbation.seed
        self.num_rows = num_rows
        self.observation_space = observation_space
        self.action_space = action_space
        self.rngs = [np.random.default_rng([self.seed, i, 0]) for i in range(num_rows)]

    def reseed(self, rows: np.ndarray, seeds: list[int]) -> None:
        for row, seed in zip(rows, seeds, strict=True):
            self.rngs[int(row)] = np.random.default_rng([self.seed, int(seed), 1])

    def start(self, rows: np.ndarray) -> None:
        """New episodes begin in ``rows`` (their per-episode draws)."""

    def observation(self, obs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The observations ``obs`` of ``rows`` (a fresh array may be returned; never modify ``obs``)."""
        return obs

    def action(self, actions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The actions of ``rows`` as the env receives them (``actions`` is the wrapper's own copy)."""
        return actions


class PerturbedVectorEnv(gym.vector.VectorWrapper):
    """A vector env with NEXT_STEP autoreset, perturbed by a :class:`Transform` (see the module
    docstring for the seeding and autoreset rules). Spaces are those of the wrapped env."""

    def __init__(self, env: gym.vector.VectorEnv, transform: Transform, perturbation: Perturbation) -> None:
        super().__init__(env)
        mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.NEXT_STEP:
            raise ValueError(
                f"{perturbation.name}: wraps vector envs with NEXT_STEP autoreset only, got {mode}"
            )
        self.transform = transform
        self.perturbation = perturbation
        self._autoreset = np.zeros(env.num_envs, dtype=bool)  # rows whose next step is a reset step
        self._last_obs: np.ndarray | None = None

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)  # the env validates seed and mask first
        n = self.num_envs
        mask = None if options is None else options.get("reset_mask")
        rows = np.arange(n) if mask is None else np.flatnonzero(mask)
        if isinstance(seed, list | tuple):
            seeded = [int(r) for r in rows if seed[r] is not None]
            self.transform.reseed(np.array(seeded, dtype=np.int64), [seed[r] for r in seeded])
        elif seed is not None:
            self.transform.reseed(rows, [int(seed) + int(r) for r in rows])
        self.transform.start(rows)
        self._autoreset[rows] = False
        out = np.array(obs, copy=True) if self._last_obs is None else self._last_obs.copy()
        out[rows] = self.transform.observation(obs[rows], rows)
        self._last_obs = out
        return out.copy(), infos

    def step(self, actions: Any):
        resetting = self._autoreset
        active = np.flatnonzero(~resetting)
        perturbed = np.array(actions, copy=True)
        if len(active):
            perturbed[active] = self.transform.action(perturbed[active], active)
        obs, rewards, terminated, truncated, infos = self.env.step(perturbed)
        restarted = np.flatnonzero(resetting)
        if len(restarted):
            self.transform.start(restarted)
        rows = np.arange(self.num_envs)
        out = self.transform.observation(obs, rows)
        self._last_obs = np.array(out, copy=True)
        self._autoreset = np.logical_or(terminated, truncated)
        return out, rewards, terminated, truncated, infos


class PerturbedEnv(gym.Wrapper):
    """A single env perturbed by a :class:`Transform` of one row (sub-env 0 of the vector shell)."""

    def __init__(self, env: gym.Env, transform: Transform, perturbation: Perturbation) -> None:
        super().__init__(env)
        self.transform = transform
        self.perturbation = perturbation
        self._row = np.zeros(1, dtype=np.int64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is not None:
            self.transform.reseed(self._row, [seed])
        self.transform.start(self._row)
        return self.transform.observation(np.asarray(obs)[None], self._row)[0], info

    def step(self, action: Any):
        batch = np.array(action, copy=True)[None]
        obs, reward, terminated, truncated, info = self.env.step(self.transform.action(batch, self._row)[0])
        return (
            self.transform.observation(np.asarray(obs)[None], self._row)[0],
            reward,
            terminated,
            truncated,
            info,
        )


# --------------------------------------------------------------------------------------------
# Observation perturbations
# --------------------------------------------------------------------------------------------
class _PixelsOnly(Perturbation):
    kind = "observation"

    def why_not(self, env: EnvConfig) -> str | None:
        observation_space, _ = env_spaces(env)
        return None if _is_pixels(observation_space) else "pixel observations only (uint8 H×W×C)"


@register
class ObservationNoise(Perturbation):
    """Sensor noise on state observations: Gaussian noise of standard deviation ``σ × scale`` added to
    every dimension at every observation, then clipped to the observation space. ``scale`` is the half
    width of the dimension's bounds, ``(high - low) / 2``, or 1 where a bound is infinite.

    Levels (σ): 0: 0, 1: 0.05, 2: 0.1, 3: 0.2. Float (Box) observations only."""

    name = "observation_noise"
    kind = "observation"
    levels: ClassVar[dict[int, float]] = {0: 0.0, 1: 0.05, 2: 0.1, 3: 0.2}
    unit = "σ / scale"

    def why_not(self, env: EnvConfig) -> str | None:
        observation_space, _ = env_spaces(env)
        return None if _is_state(observation_space) else "state (float Box) observations only"

    def transform(self, num_rows, observation_space, action_space):
        return _NoiseTransform(self, num_rows, observation_space, action_space)


class _NoiseTransform(Transform):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        space = self.observation_space
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        finite = np.isfinite(low) & np.isfinite(high)
        self.scale = np.where(finite, (np.where(finite, high, 0) - np.where(finite, low, 0)) / 2, 1.0)
        self.low, self.high = low, high

    def observation(self, obs, rows):
        noise = np.stack([self.rngs[int(r)].standard_normal(obs.shape[1:]) for r in rows])
        noisy = obs + (self.value * self.scale) * noise
        # clipped to the bounds, or to the clean value where it already lies outside them (level 0: exact)
        return np.clip(noisy, np.minimum(self.low, obs), np.maximum(self.high, obs)).astype(obs.dtype)


@register
class ColorShift(_PixelsOnly):
    """A change of colours, as DMC-GB's colour shifts: at each episode's start every channel of every
    pixel is shifted by ``±m`` levels (each channel's sign drawn per episode), then clipped to 0-255.

    Levels (m, RGB levels): 0: 0, 1: 20, 2: 50, 3: 100."""

    name = "color_shift"
    levels: ClassVar[dict[int, int]] = {0: 0, 1: 20, 2: 50, 3: 100}
    unit = "shift per channel [levels]"

    def transform(self, num_rows, observation_space, action_space):
        return _ColorTransform(self, num_rows, observation_space, action_space)


class _ColorTransform(Transform):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.offset = np.zeros((self.num_rows, self.observation_space.shape[2]), np.int16)

    def start(self, rows):
        for r in rows:
            signs = self.rngs[int(r)].choice(np.array([-1, 1]), size=self.offset.shape[1])
            self.offset[r] = signs * self.value

    def observation(self, obs, rows):
        shifted = obs.astype(np.int16) + self.offset[rows][:, None, None, :]
        return np.clip(shifted, 0, 255).astype(np.uint8)


@register
class Brightness(_PixelsOnly):
    """A change of lighting: at each episode's start a factor ``1 ± b`` (sign drawn per episode)
    multiplies every pixel, rounded and clipped to 0-255.

    Levels (b): 0: 0, 1: 0.2, 2: 0.4, 3: 0.6."""

    name = "brightness"
    levels: ClassVar[dict[int, float]] = {0: 0.0, 1: 0.2, 2: 0.4, 3: 0.6}
    unit = "|factor - 1|"

    def transform(self, num_rows, observation_space, action_space):
        return _BrightnessTransform(self, num_rows, observation_space, action_space)


class _BrightnessTransform(Transform):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.factor = np.ones(self.num_rows)

    def start(self, rows):
        for r in rows:
            self.factor[r] = 1.0 + self.value * self.rngs[int(r)].choice(np.array([-1.0, 1.0]))

    def observation(self, obs, rows):
        scaled = np.rint(obs * self.factor[rows][:, None, None, None])
        return np.clip(scaled, 0, 255).astype(np.uint8)


@register
class Background(_PixelsOnly):
    """A new background, as the Distracting Control Suite's: the pixels of the background colour are
    replaced, everything drawn over it is kept. The background colour is the commonest colour on the
    border of the episode's first frame (the grass on Racetrack, the verge on Highway, the floor
    beyond the table on Reacher and Pusher), found again at each episode's start.

    Levels: 0: kept; 1: one solid colour (uniform RGB, drawn per episode); 2: a static noise texture
    (8×8-pixel blocks of uniform RGB, drawn per episode); 3: a noise texture redrawn at every step
    (uniform RGB per pixel), like a video background."""

    name = "background"
    levels: ClassVar[dict[int, str]] = {
        0: "kept",
        1: "solid colour",
        2: "static texture",
        3: "dynamic texture",
    }
    unit = "background"

    def transform(self, num_rows, observation_space, action_space):
        return _BackgroundTransform(self, num_rows, observation_space, action_space)


BLOCK = 8  # [px] side of a static texture's blocks


class _BackgroundTransform(Transform):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        height, width, channels = self.observation_space.shape
        self.background = np.zeros((self.num_rows, channels), np.uint8)
        self.find = np.zeros(self.num_rows, dtype=bool)  # rows whose background is read off the next frame
        self.texture = np.zeros((self.num_rows, height, width, channels), np.uint8)

    def start(self, rows):
        self.find[rows] = True
        if self.level in (0, 3):
            return
        height, width, channels = self.observation_space.shape
        for r in rows:
            rng = self.rngs[int(r)]
            if self.level == 1:
                self.texture[r] = rng.integers(0, 256, channels, dtype=np.uint8)
            else:
                blocks = rng.integers(
                    0, 256, (-(-height // BLOCK), -(-width // BLOCK), channels), dtype=np.uint8
                )
                self.texture[r] = blocks.repeat(BLOCK, 0).repeat(BLOCK, 1)[:height, :width]

    def observation(self, obs, rows):
        if self.level == 0:
            return obs
        out = obs.copy()
        for k, r in enumerate(rows):
            frame = obs[k]
            if self.find[r]:
                self.background[r] = _border_mode(frame)
                self.find[r] = False
            where = np.all(frame == self.background[r], axis=-1)
            if self.level == 3:
                texture = self.rngs[int(r)].integers(0, 256, frame.shape, dtype=np.uint8)
            else:
                texture = self.texture[r]
            out[k][where] = texture[where]
        return out


def _border_mode(frame: np.ndarray) -> np.ndarray:
    """The commonest colour on the border of ``frame`` (H, W, C)."""
    ring = np.concatenate([frame[0], frame[-1], frame[:, 0], frame[:, -1]])
    colours, counts = np.unique(ring, axis=0, return_counts=True)
    return colours[counts.argmax()]


@register
class Distractors(_PixelsOnly):
    """Moving distractors, as the Distracting Control Suite's: discs of random colour (uniform RGB),
    drawn over the frame, move in straight lines at a constant speed and bounce off its edges; new
    ones (position, direction, colour) at each episode's start.

    Levels (discs, radius and speed as fractions of the frame's shorter side, speed per step):
    0: none; 1: 1 disc, radius 0.06, speed 0.02; 2: 3 discs, 0.08, 0.03; 3: 6 discs, 0.12, 0.04."""

    name = "distractors"
    levels: ClassVar[dict[int, tuple[int, float, float]]] = {
        0: (0, 0.0, 0.0),
        1: (1, 0.06, 0.02),
        2: (3, 0.08, 0.03),
        3: (6, 0.12, 0.04),
    }
    unit = "(discs, radius, speed)"

    def transform(self, num_rows, observation_space, action_space):
        return _DistractorTransform(self, num_rows, observation_space, action_space)


class _DistractorTransform(Transform):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        count, radius, speed = self.value
        height, width, channels = self.observation_space.shape
        side = min(height, width)
        self.radius, self.speed = radius * side, speed * side  # [px], [px/step]
        self.position = np.zeros((self.num_rows, count, 2))  # (row, column) [px]
        self.velocity = np.zeros((self.num_rows, count, 2))
        self.colour = np.zeros((self.num_rows, count, channels), np.uint8)
        self.grid = np.mgrid[0:height, 0:width].astype(np.float64)
        self.size = np.array([height - 1, width - 1], np.float64)

    def start(self, rows):
        count, channels = self.position.shape[1], self.colour.shape[2]
        for r in rows:
            rng = self.rngs[int(r)]
            self.position[r] = rng.uniform(0.0, 1.0, (count, 2)) * self.size
            angle = rng.uniform(0.0, 2 * np.pi, count)
            self.velocity[r] = self.speed * np.stack([np.sin(angle), np.cos(angle)], axis=1)
            self.colour[r] = rng.integers(0, 256, (count, channels), dtype=np.uint8)

    def observation(self, obs, rows):
        if self.position.shape[1] == 0:
            return obs
        out = obs.copy()
        for k, r in enumerate(rows):
            for j in range(self.position.shape[1]):
                dy, dx = self.grid[0] - self.position[r, j, 0], self.grid[1] - self.position[r, j, 1]
                out[k][dy * dy + dx * dx <= self.radius**2] = self.colour[r, j]
            moved = self.position[r] + self.velocity[r]  # bounce off the edges
            bounced = (moved < 0) | (moved > self.size)
            self.velocity[r] = np.where(bounced, -self.velocity[r], self.velocity[r])
            self.position[r] = np.clip(moved, 0.0, self.size)
        return out


# --------------------------------------------------------------------------------------------
# Action perturbations
# --------------------------------------------------------------------------------------------
def _acts(env: EnvConfig) -> str | None:
    _, action_space = env_spaces(env)
    if isinstance(action_space, gym.spaces.Discrete | gym.spaces.Box):
        return None
    return "Discrete or Box action spaces only"


@register
class ActionDelay(Perturbation):
    """Latency between the policy and the actuators: the env receives the action chosen ``k`` steps
    earlier; an episode's first ``k`` steps repeat its first action (a new episode starts with an
    empty buffer: NEXT_STEP autoreset's reset step clears it, its ignored action is not kept).

    Levels (k, env steps): 0: 0, 1: 1, 2: 2, 3: 4."""

    name = "action_delay"
    kind = "action"
    levels: ClassVar[dict[int, int]] = {0: 0, 1: 1, 2: 2, 3: 4}
    unit = "delay [steps]"
    random = False

    def why_not(self, env: EnvConfig) -> str | None:
        return _acts(env)

    def transform(self, num_rows, observation_space, action_space):
        return _DelayTransform(self, num_rows, observation_space, action_space)


class _DelayTransform(Transform):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.history: np.ndarray | None = None  # (k, rows, *action shape), oldest first
        self.fresh = np.ones(self.num_rows, dtype=bool)  # rows whose buffer is empty (episode start)

    def start(self, rows):
        self.fresh[rows] = True

    def action(self, actions, rows):
        k = self.value
        if k == 0:
            return actions
        if self.history is None:
            self.history = np.zeros((k, self.num_rows, *actions.shape[1:]), actions.dtype)
        fresh = self.fresh[rows]
        if fresh.any():  # an empty buffer: the first action stands in for the k before it
            self.history[:, rows[fresh]] = actions[fresh]
            self.fresh[rows[fresh]] = False
        delayed = self.history[0, rows].copy()
        self.history[:-1, rows] = self.history[1:, rows]
        self.history[-1, rows] = actions
        return delayed


@register
class ActuationNoise(Perturbation):
    """Imprecise actuators: Box actions get Gaussian noise of standard deviation ``σ × (high - low) / 2``
    per dimension, then are clipped to the bounds; Discrete actions are replaced, with probability
    ``p``, by a uniformly random action.

    Levels (σ for Box, p for Discrete): 0: 0, 1: 0.1, 2: 0.2, 3: 0.4."""

    name = "actuation_noise"
    kind = "action"
    levels: ClassVar[dict[int, float]] = {0: 0.0, 1: 0.1, 2: 0.2, 3: 0.4}
    unit = "σ (Box) / p (Discrete)"

    def why_not(self, env: EnvConfig) -> str | None:
        return _acts(env)

    def transform(self, num_rows, observation_space, action_space):
        return _ActuationTransform(self, num_rows, observation_space, action_space)


class _ActuationTransform(Transform):
    def action(self, actions, rows):
        space = self.action_space
        if isinstance(space, gym.spaces.Discrete):
            out = actions.copy()
            for k, r in enumerate(rows):
                rng = self.rngs[int(r)]
                if rng.random() < self.value:
                    out[k] = space.start + rng.integers(space.n)
            return out
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        noise = np.stack([self.rngs[int(r)].standard_normal(space.shape) for r in rows])
        noisy = np.clip(actions + self.value * (high - low) / 2 * noise, low, high)
        return noisy.astype(actions.dtype)


# --------------------------------------------------------------------------------------------
# Env-kwarg perturbations (physics, traffic, tracks)
# --------------------------------------------------------------------------------------------
class _KwargPerturbation(Perturbation):
    kind = "env"
    random = False  # the env's own streams draw (e.g. random tracks from the evaluation's seeds)
    needs: ClassVar[str] = ""  # the kwarg the env must have
    needs_what: ClassVar[str] = ""  # which envs have it, for messages

    def why_not(self, env: EnvConfig) -> str | None:
        kwargs = env_kwargs(env)
        if kwargs is None or self.needs not in {f.name for f in dataclasses.fields(kwargs)}:
            return f"envs with a {self.needs!r} kwarg only ({self.needs_what})"
        return None

    def configure(self, env: EnvConfig) -> EnvConfig:
        kwargs = env_kwargs(env)
        assert kwargs is not None  # checked by why_not
        changed = self.changes(kwargs)
        return dataclasses.replace(env, kwargs={**env.kwargs, **changed})

    def changes(self, kwargs: Any) -> dict[str, Any]:
        """The kwargs to set, from the env's validated ones."""
        raise NotImplementedError


@register
class TrafficDensity(_KwargPerturbation):
    """Denser traffic: Highway's ``vehicles_density`` and ``vehicles_count`` multiplied by a factor
    (each clipped to the env's bound: density 3, count 200).

    Levels (factor): 0: 1, 1: 1.5, 2: 2, 3: 3."""

    name = "traffic_density"
    levels: ClassVar[dict[int, float]] = {0: 1.0, 1: 1.5, 2: 2.0, 3: 3.0}
    unit = "× density and count"
    needs, needs_what = "vehicles_density", "Highway"

    def changes(self, kwargs):
        density = min(kwargs.vehicles_density * self.value, _upper_bound(kwargs, "vehicles_density"))
        count = min(round(kwargs.vehicles_count * self.value), _upper_bound(kwargs, "vehicles_count"))
        return {"vehicles_density": density, "vehicles_count": int(count)}


class _ArmPerturbation(_KwargPerturbation):
    needs, needs_what = "params", "Reacher, Pusher"

    def arm(self, kwargs: Any, *scaled: str) -> Any:
        """The arm's constants (``params``, else the default arm) with the named ones multiplied by
        this level's factor."""
        arm = kwargs.arm
        return dataclasses.replace(
            arm, **{name: tuple(float(v) * self.value for v in arm.per_joint(name)) for name in scaled}
        )


@register
class LinkMass(_ArmPerturbation):
    """A heavier arm (a payload, another robot of the same design): every link's mass multiplied by a
    factor; torques unchanged, so the arm accelerates less.

    Levels (factor): 0: 1, 1: 1.5, 2: 2, 3: 3."""

    name = "link_mass"
    levels: ClassVar[dict[int, float]] = {0: 1.0, 1: 1.5, 2: 2.0, 3: 3.0}
    unit = "× link masses"

    def changes(self, kwargs):
        return {"params": self.arm(kwargs, "link_masses")}


@register
class Friction(_ArmPerturbation):
    """More friction (worn joints, another table top): the joints' viscous friction (``joint_damping``)
    and, on Pusher, the puck's Coulomb friction on the table (``puck_friction``) multiplied by a factor.

    Levels (factor): 0: 1, 1: 1.5, 2: 2.5, 3: 4."""

    name = "friction"
    levels: ClassVar[dict[int, float]] = {0: 1.0, 1: 1.5, 2: 2.5, 3: 4.0}
    unit = "× friction"

    def changes(self, kwargs):
        changed: dict[str, Any] = {"params": self.arm(kwargs, "joint_damping")}
        if hasattr(kwargs, "puck_friction"):
            changed["puck_friction"] = kwargs.puck_friction * self.value
        return changed


UNSEEN_TRACK_SEED = 7_919_000_003  # a procedural track no config of ours trains on
MAX_WIDTH_JITTER = 2.0  # [m] Racetrack's largest width_jitter (tracks.MAX_WIDTH_MARGIN)


@register
class UnseenTracks(_KwargPerturbation):
    """Tracks the agent never drove: procedural tracks (Racetrack's ``track`` kwarg) instead of the
    trained layout.

    Levels: 0: the trained track; 1: one fixed procedural track (seed 7919000003, or the next seed if
    the run trained on that one); 2: a new procedural track every episode (``track="random"``, drawn
    from the evaluation's seeds); 3: as 2, with the road's half-width changed by up to ±2 m each
    episode (``width_jitter=2``)."""

    name = "unseen_tracks"
    levels: ClassVar[dict[int, str]] = {
        0: "trained",
        1: "one procedural",
        2: "random",
        3: "random + width ±2 m",
    }
    unit = "tracks"
    needs, needs_what = "track", "Racetrack"

    def why_not(self, env: EnvConfig) -> str | None:
        reason = super().why_not(env)
        if reason is None:
            try:
                env_kwargs(dataclasses.replace(env, kwargs={**env.kwargs, "track": "random"}))
            except ValueError:
                return "envs whose track kwarg takes procedural tracks only (Racetrack)"
        return reason

    def changes(self, kwargs):
        if self.level == 0:
            return {"track": kwargs.track}
        if self.level == 1:
            seed = UNSEEN_TRACK_SEED + (kwargs.track == UNSEEN_TRACK_SEED)
            return {"track": seed}
        if self.level == 2:
            return {"track": "random"}
        return {"track": "random", "width_jitter": MAX_WIDTH_JITTER}


# --------------------------------------------------------------------------------------------
# Training under perturbations: domain randomisation over the batch
# --------------------------------------------------------------------------------------------
class _RowsTransform(Transform):
    """``inner`` on the rows of ``mask`` only: the other rows pass through untouched and draw nothing."""

    def __init__(self, inner: Transform, mask: np.ndarray) -> None:  # no streams of its own: inner's
        self.inner = inner
        self.mask = mask

    def reseed(self, rows: np.ndarray, seeds: list[int]) -> None:
        chosen = self.mask[rows]
        self.inner.reseed(rows[chosen], [s for s, c in zip(seeds, chosen, strict=True) if c])

    def start(self, rows: np.ndarray) -> None:
        self.inner.start(rows[self.mask[rows]])

    def observation(self, obs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        chosen = self.mask[rows]
        if not chosen.any():
            return obs
        out = np.array(obs, copy=True)
        out[chosen] = self.inner.observation(obs[chosen], rows[chosen])
        return out

    def action(self, actions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        chosen = self.mask[rows]
        if chosen.any():
            actions[chosen] = self.inner.action(actions[chosen], rows[chosen])
        return actions


class BatchMixture(Perturbation):
    """Domain randomisation over a batch: ``k`` wrapper perturbations, sub-env ``i`` of a vector env
    under the ``(i mod (k + 1))``-th (the 0th: none), so a share of the batch always sees the
    unperturbed env. Each one keeps its own seeded streams on its rows (as :meth:`Perturbation.wrap`).
    Env-kwarg perturbations are refused: the sub-envs of one vector env share their kwargs. Not in
    :data:`PERTURBATIONS` (an evaluation perturbs with one perturbation at a time)."""

    name = "batch_mixture"
    kind = "mixture"
    levels: ClassVar[dict[int, Any]] = {level: None for level in LEVELS}
    unit = "perturbations, one share of the batch each"

    def __init__(self, perturbations: list[Perturbation]) -> None:
        if not perturbations:
            raise ConfigError("batch mixture: at least one perturbation is needed")
        for perturbation in perturbations:
            if perturbation.kind not in ("observation", "action"):
                raise ConfigError(
                    f"{perturbation.name}: changes the env's kwargs, which every sub-env of a batch shares, "
                    "so it cannot perturb a share of the batch; only observation and action perturbations "
                    f"can ({', '.join(n for n, c in PERTURBATIONS.items() if c.kind != 'env')}). "
                    "Change env.kwargs instead"
                )
        self.perturbations = list(perturbations)
        super().__init__(max(p.level for p in perturbations), perturbations[0].seed)

    def describe(self) -> str:
        slots = len(self.perturbations) + 1
        shares = "; ".join(
            f"{p.describe()} on sub-envs i % {slots} == {k}" for k, p in enumerate(self.perturbations, 1)
        )
        return f"batch mixture: {shares}; none on the others"

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "describe": self.describe(),
            "perturbations": [p.record() for p in self.perturbations],
        }

    def wrap(self, envs: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
        slots = len(self.perturbations) + 1
        rows = np.arange(envs.num_envs)
        for k, perturbation in enumerate(self.perturbations, 1):
            mask = rows % slots == k
            if not mask.any():  # fewer sub-envs than perturbations: this one has no share
                continue
            transform = perturbation.transform(
                envs.num_envs, envs.single_observation_space, envs.single_action_space
            )
            assert transform is not None  # wrappers only (checked in __init__)
            envs = PerturbedVectorEnv(envs, _RowsTransform(transform, mask), perturbation)
        return envs

    def wrap_env(self, env: gym.Env) -> gym.Env:
        return env  # a single env is sub-env 0, the unperturbed share


def training_perturbation(config: Config) -> BatchMixture | None:
    """The :class:`BatchMixture` of ``config.train.perturb`` (``None`` when it is empty), seeded with
    ``train.seed``; a :class:`ConfigError` naming ``train.perturb`` for an unknown name or level, one
    that does not apply to the env, one given twice, or an env-kwarg perturbation."""
    specs = list(config.train.perturb)
    if not specs:
        return None
    try:
        perturbations = [parse_perturbation(spec, config.train.seed, config.env) for spec in specs]
        names = [p.name for p in perturbations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(
                f"{', '.join(twice)} given twice; each perturbation takes one share of the batch"
            )
        return BatchMixture(perturbations)
    except ConfigError as error:
        reason = str(error).removeprefix("--perturb: ").removeprefix("--perturb ").removesuffix(", all")
        raise ConfigError(f"train.perturb: got {specs}; {reason}") from None
