"""The one batched-env core under every rlsuite env: the single env and the native vector env are
written here once, over a small :class:`BatchCore` that each env family implements.

**The contract** (``docs/design.md``, "Vector semantics"): the native vector env of ``n`` sub-envs
equals ``gymnasium.make_vec(id, num_envs=n, vectorization_mode="sync")`` — Gymnasium's
``SyncVectorEnv`` over ``n`` single envs, each wrapped in the registered ``TimeLimit`` — in every
observation, reward, termination, truncation, info value and ``_key`` mask:

* ``reset(seed=s)`` seeds sub-env ``i`` like the single env's ``reset(seed=s + i)``;
  ``reset(seed=[s0, s1, …])`` seeds sub-env ``i`` with ``s_i`` (``None`` entries continue);
  ``reset()`` continues each sub-env's own random stream, like the single env's ``reset()``.
* ``reset(options={"reset_mask": m})`` resets only the sub-envs where ``m`` is True (seeded as above
  when a seed is given) and cancels their pending autoreset; the others keep their state, their
  observation and their pending autoreset. The caller's ``options`` is never modified.
* ``NEXT_STEP`` autoreset: the step that ends an episode returns its terminal observation; the next
  ``step`` resets that sub-env, ignores its action and returns reward 0, ``terminated = truncated
  = False`` and the single env's ``reset()`` info for it.
* ``truncated`` is set when the sub-env's ``max_episode_steps``-th step is taken, whether or not
  that step also terminates (Gymnasium's ``TimeLimit``).
* ``info`` is a dict of ``(n,)`` arrays with ``_key`` masks; a value is 0 where its mask is False.
* ``render()`` returns a tuple with one entry per sub-env (RGB frames for ``"rgb_array"``).

Every env's ``reset()`` info has exactly the keys, shapes and dtypes of its ``step()`` info (reward
terms 0, flags False, the state as it is), so tools that record infos (Minari's ``DataCollector``)
and the ``_key`` masks see one schema. A core also declares its **task metrics**
(:class:`TaskMetric`, :attr:`BatchCore.task_metrics`, read through any wrapper with
:func:`task_metrics`): the scalars besides the return that say how an episode went (crash rate,
mean speed, success rate …), each a reduction of one info key over an episode's steps.

Every sub-env ``i`` is row ``i`` of one :class:`BatchCore`; the single env is a core of one row.
Each row draws from its own random stream (:class:`rlsuite.envs.rng.BatchRNG`), so a row's episode
does not depend on how many other rows there are.

This module also holds what every env shares besides that: one way to declare and validate an env's
kwargs (:class:`EnvKwargs`, a frozen dataclass per env; errors name the env, the kwarg, the value
and what is allowed), action validation for ``Discrete`` and ``Box`` spaces, the optional knowledge a
core offers code outside ``envs/`` (probe variables, privileged state, a scripted behaviour policy, a
policy picture: :class:`BatchCore`), and the pygame window of ``render_mode="human"``.
"""

from __future__ import annotations

import math
import operator
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from numba import njit

from rlsuite.envs.rng import BatchRNG, row_seeds

__all__ = [
    "ActionParser",
    "BatchCore",
    "Check",
    "CoreEnv",
    "CoreVectorEnv",
    "EnvKwargs",
    "HumanWindow",
    "MAX_NUM_ENVS",
    "MAX_REWARD_WEIGHT",
    "METRIC_REDUCTIONS",
    "TaskMetric",
    "boolean",
    "check_bool",
    "check_choice",
    "check_image_shape",
    "check_int",
    "check_kwargs",
    "check_number",
    "check_range",
    "core_of",
    "image_shape",
    "integer",
    "kwarg",
    "number",
    "number_pair",
    "one_of",
    "task_metrics",
]

RENDER_MODES = ("rgb_array", "human")
MAX_HUMAN_TILES = 16  # render_mode="human" on a vector env shows up to this many sub-envs in a grid
MAX_NUM_ENVS = 2**20  # sub-envs of one native vector env (more is a typo, not a batch)
MAX_REWARD_WEIGHT = 1e6  # |reward weights and penalties|: beyond, sums of reward terms may overflow


# --------------------------------------------------------------------------------------------
# Kwarg validation: one vocabulary of errors for every env
# --------------------------------------------------------------------------------------------
def _fail(env: str, name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{env}: {name} must be {allowed}, got {value!r}")


def check_kwargs(
    env: str, kwargs: dict[str, Any], defaults: dict[str, Any], renamed: dict[str, str] | None = None
) -> dict[str, Any]:
    """``defaults`` updated with ``kwargs``; an unknown or renamed kwarg is a ``ValueError``.

    ``renamed`` maps an old kwarg name to a sentence that names its replacement."""
    for old, advice in (renamed or {}).items():
        if old in kwargs:
            raise ValueError(f"{env}: the kwarg {old!r} was renamed: {advice}")
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise ValueError(f"{env}: unknown kwarg(s) {unknown}; allowed: {sorted(defaults)} (and render_mode)")
    return {**defaults, **kwargs}


def check_choice(env: str, name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``allowed``."""
    if isinstance(value, str | int | float | bool | np.generic | type(None)) and value in allowed:
        return value
    _fail(env, name, value, f"one of {allowed}")


def check_bool(env: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        _fail(env, name, value, "True or False")
    return bool(value)


def check_int(env: str, name: str, value: Any, low: int, high: int | None = None) -> int:
    """An integer (not a bool) in ``[low, high]``."""
    allowed = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        _fail(env, name, value, allowed)
    if value < low or (high is not None and value > high):
        _fail(env, name, value, allowed)
    return int(value)


def check_number(
    env: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    unit: str = "",
) -> float:
    """A finite real number in ``[low, high]`` (``(low, high]`` with ``open_low``)."""
    left = "(" if open_low else "["
    unit = f" {unit}" if unit else ""
    if low == -math.inf and high == math.inf:
        allowed = f"a finite number{unit}"
    elif high == math.inf:
        allowed = f"a finite number {'>' if open_low else '>='} {low}{unit}"
    else:
        allowed = f"a finite number in {left}{low}, {high}]{unit}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        _fail(env, name, value, allowed)
    number = float(value)
    if not (math.isfinite(number) and (number > low if open_low else number >= low) and number <= high):
        _fail(env, name, value, allowed)
    return number


def check_range(
    env: str, name: str, value: Any, low: float, high: float, unit: str = ""
) -> tuple[float, float]:
    """A pair ``(a, b)`` of finite numbers with ``low <= a <= b <= high``."""
    allowed = f"a pair (low, high) of numbers with {low} <= low <= high <= {high}" + (
        f" {unit}" if unit else ""
    )
    if not isinstance(value, tuple | list | np.ndarray) or len(value) != 2:
        _fail(env, name, value, allowed)
    a, b = (check_number(env, name, v, low, high, unit=unit) for v in value)
    if a > b:
        _fail(env, name, value, allowed)
    return a, b


def check_image_shape(env: str, name: str, value: Any, low: int = 8, high: int = 1024) -> tuple[int, int]:
    """An image size: one int (square) or ``(height, width)``, each in ``[low, high]`` pixels."""
    allowed = f"an int or a pair (height, width) of ints in [{low}, {high}] pixels"
    size = (value, value) if isinstance(value, int | np.integer) and not isinstance(value, bool) else value
    if not isinstance(size, tuple | list) or len(size) != 2:
        _fail(env, name, value, allowed)
    for side in size:
        if isinstance(side, bool) or not isinstance(side, int | np.integer) or not low <= side <= high:
            _fail(env, name, value, allowed)
    return int(size[0]), int(size[1])


# --------------------------------------------------------------------------------------------
# An env's kwargs: one frozen dataclass per env, every field declared with its default and its check
# --------------------------------------------------------------------------------------------
Check = Callable[[str, str, Any], Any]  # (env, kwarg, value) -> the value, normalised; ValueError if bad


def kwarg(default: Any, check: Check | None = None) -> Any:
    """A field of an :class:`EnvKwargs` dataclass: the kwarg's default and the check that validates (and
    normalises) a given value, e.g. ``lidar_rays: int = kwarg(5, integer(0, 64))``."""
    return field(default=default, metadata={"check": check})


def integer(low: int, high: int | None = None) -> Check:
    """Check: an integer (not a bool) in ``[low, high]`` (:func:`check_int`)."""
    return partial(check_int, low=low, high=high)


def number(
    low: float = -math.inf, high: float = math.inf, *, open_low: bool = False, unit: str = ""
) -> Check:
    """Check: a finite number in ``[low, high]``, ``(low, high]`` with ``open_low`` (:func:`check_number`)."""
    return partial(check_number, low=low, high=high, open_low=open_low, unit=unit)


def one_of(*allowed: Any) -> Check:
    """Check: one of ``allowed`` (:func:`check_choice`)."""
    return partial(check_choice, allowed=allowed)


def number_pair(low: float, high: float, unit: str = "") -> Check:
    """Check: a pair ``(a, b)`` with ``low <= a <= b <= high`` (:func:`check_range`)."""
    return partial(check_range, low=low, high=high, unit=unit)


boolean: Check = check_bool  # Check: True or False
image_shape: Check = check_image_shape  # Check: an int (square) or (height, width), 8-1024 px each

_K = TypeVar("_K", bound="EnvKwargs")


@dataclass(frozen=True)
class EnvKwargs:
    """The validated constructor kwargs of one env (a subclass per env; its fields are the kwargs).

    Each field is declared once, with its default and its check (:func:`kwarg`). :meth:`from_kwargs`
    refuses unknown kwargs and the renamed ones (:attr:`renamed`: old name -> what to use now), then
    construction runs every field's check in declaration order, keeping the normalised value (e.g.
    ``pixel_shape=84`` becomes ``(84, 84)``), then :meth:`check_together`, the rules that tie kwargs
    together. Every error is a ``ValueError`` naming the env, the kwarg, the value and what is allowed.
    Frozen: a core's kwargs are configuration, never part of its snapshot."""

    env_name: ClassVar[str] = "env"  # what errors call the env, e.g. "Racetrack"
    renamed: ClassVar[dict[str, str]] = {}  # old kwarg -> a sentence naming its replacement

    def __post_init__(self) -> None:
        for spec in fields(self):
            check = spec.metadata.get("check")
            if check is not None:
                object.__setattr__(self, spec.name, check(self.env_name, spec.name, getattr(self, spec.name)))
        self.check_together()

    def check_together(self) -> None:
        """Rules across kwargs (a subclass overrides it); runs after every field's own check."""

    @classmethod
    def from_kwargs(cls: type[_K], kwargs: dict[str, Any]) -> _K:
        """The validated kwargs: the defaults updated with ``kwargs``."""
        return cls(**check_kwargs(cls.env_name, kwargs, cls.defaults(), cls.renamed))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every kwarg with its default."""
        return {spec.name: spec.default for spec in fields(cls)}


def check_render_mode(env: str, render_mode: Any) -> str | None:
    """``render_mode`` if allowed; ``"human"`` also needs pygame, and says how to install it."""
    if render_mode is None:
        return None
    check_choice(env, "render_mode", render_mode, (None, *RENDER_MODES))
    if render_mode == "human":
        try:
            import pygame  # noqa: F401
        except ImportError:
            raise gym.error.DependencyNotInstalled(
                f'{env}: render_mode="human" opens a pygame window, but pygame is not installed: '
                'run `pip install pygame` (or use render_mode="rgb_array")'
            ) from None
    return render_mode


# --------------------------------------------------------------------------------------------
# Actions: validated against the single action space (Discrete or Box)
# --------------------------------------------------------------------------------------------
def _bounds(space: gym.spaces.Box) -> str:
    return f"in [{space.low.min():g}, {space.high.max():g}]"


@njit(cache=True)
def _box_within(values, low, high):  # pragma: no cover - compiled
    """Every ``values[b, j]`` (float64) in ``[low[j], high[j]]``; NaN is not."""
    for b in range(values.shape[0]):
        for j in range(values.shape[1]):
            x = values[b, j]
            if not (x >= low[j] and x <= high[j]):
                return False
    return True


@njit(cache=True)
def _discrete_within(index, low, high):  # pragma: no cover - compiled
    """Every ``index[b]`` (int64) in ``[low, high)``."""
    for b in range(index.shape[0]):
        if index[b] < low or index[b] >= high:
            return False
    return True


class ActionParser:
    """Validates actions against one ``Discrete`` or ``Box`` space (see :func:`parse_actions`).

    Built once per env: the bounds are converted once, the valid common cases (a Python or numpy
    integer; a numpy array of the right shape) take a few microseconds, and the error messages,
    which print the offending action, are formatted only when raising. (Slots: a parser is
    configuration, never part of an env's snapshot.)"""

    __slots__ = ("env", "space", "discrete", "low", "high", "box_low", "box_high", "shape")

    def __init__(self, env: str, space: gym.Space) -> None:
        self.env, self.space = env, space
        if isinstance(space, gym.spaces.Discrete):
            self.low, self.high = int(space.start), int(space.start + space.n)
        elif isinstance(space, gym.spaces.Box):
            self.box_low = np.ascontiguousarray(space.low, dtype=np.float64).reshape(-1)
            self.box_high = np.ascontiguousarray(space.high, dtype=np.float64).reshape(-1)
            self.shape = space.shape
        else:  # pragma: no cover - our envs use the two above
            raise TypeError(f"{env}: no action parser for {space}")
        self.discrete = isinstance(space, gym.spaces.Discrete)

    def __call__(self, actions: Any, batch: int | None) -> np.ndarray:
        if self.discrete:
            return self._discrete(actions, batch)
        return self._box(actions, batch)

    def one(self, action: Any) -> np.ndarray:
        """One action (the single env's step) as a batch of one."""
        if self.discrete:
            if type(action) is int and self.low <= action < self.high:  # the commonest case, inline
                return np.array([action], dtype=np.int64)
            return self._discrete(action, None)
        return self._box(action, None)

    def _fail(self, actions: Any, batch: int | None, detail: str = "", got_shape: tuple = ()) -> None:
        raise ValueError(self._message(actions, batch, detail, got_shape))

    def _message(self, actions: Any, batch: int | None, detail: str, got_shape: tuple) -> str:
        env, space = self.env, self.space
        what = "action" if batch is None else f"actions (a batch of {batch})"
        if self.discrete:
            allowed = f"{'an integer' if batch is None else 'integers'} in [{self.low}, {self.high})"
            if batch is None or detail != "shape":
                return f"{env}: {what} must be {allowed}, got {actions!r}"
            return f"{env}: {what} must have shape ({batch},) and hold {allowed}, got {actions!r}"
        shape = self.shape if batch is None else (batch, *self.shape)
        if detail == "shape":
            return f"{env}: {what} must have shape {shape}, got shape {got_shape}: {actions!r}"
        if detail == "bounds":
            return f"{env}: {what} must be finite numbers {_bounds(space)}, got {actions!r}"
        numbers = f"{env}: {what} must be real numbers {_bounds(space)} of shape {shape}, got {actions!r}"
        return f"{numbers} ({detail})" if detail else numbers

    def _discrete(self, actions: Any, batch: int | None) -> np.ndarray:
        low, high = self.low, self.high
        if batch is None:
            kind = type(actions)
            if kind is int or (isinstance(actions, np.integer) and kind is not np.bool_):
                index = int(actions)
            else:
                if isinstance(actions, bool | np.bool_):
                    self._fail(actions, batch)
                try:
                    index = operator.index(actions if not isinstance(actions, np.ndarray) else actions.item())
                except (TypeError, ValueError):
                    self._fail(actions, batch)
            if not low <= index < high:
                self._fail(actions, batch)
            return np.array([index], dtype=np.int64)
        try:
            raw = np.asarray(actions)
        except ValueError:  # ragged nested sequences
            raw = np.zeros(0)
        if raw.shape != (batch,) or not np.issubdtype(raw.dtype, np.integer):
            self._fail(actions, batch, "shape")
        if raw.dtype == np.uint64:  # values >= 2**63 would wrap in int64: compare as given
            if raw.min() < low or raw.max() >= high:
                self._fail(actions, batch)
            return raw.astype(np.int64)
        index = raw.astype(np.int64)  # a copy: never the caller's array
        if not _discrete_within(index, low, high):
            self._fail(actions, batch)
        return index

    def _box(self, actions: Any, batch: int | None) -> np.ndarray:
        shape = self.shape if batch is None else (batch, *self.shape)
        if type(actions) is np.ndarray and actions.dtype.kind in "iuf":  # the common case
            raw = actions
        else:
            if isinstance(actions, np.ma.MaskedArray) and np.ma.getmaskarray(actions).any():
                self._fail(actions, batch, "masked values")
            try:
                with warnings.catch_warnings():  # e.g. numpy's ComplexWarning: complex is refused below
                    warnings.simplefilter("ignore")
                    raw = np.asarray(actions)
            except (TypeError, ValueError):  # ragged nested sequences
                self._fail(actions, batch)
            if raw.dtype.kind not in "iuf":  # not str, bool, complex, object, datetime …: no silent cast
                self._fail(actions, batch, f"dtype {raw.dtype}")
        if raw.shape != shape:
            self._fail(actions, batch, "shape", raw.shape)
        values = raw.astype(np.float64).reshape(-1, len(self.box_low))  # a copy: never the caller's array
        low, high = self.box_low, self.box_high
        if not _box_within(values, low, high):  # NaN fails too
            slack = 1e-6  # float32 rounding of the bounds
            if not (np.all(values >= low - slack) and np.all(values <= high + slack)):
                self._fail(actions, batch, "bounds")
            values = np.clip(values, low, high)
        return values.reshape(-1, *self.shape)


def parse_actions(env: str, space: gym.Space, actions: Any, batch: int | None) -> np.ndarray:
    """Actions as a batch: ``(B,)`` int64 for ``Discrete``, ``(B, *shape)`` float64 for ``Box``.

    ``batch=None`` reads one action of ``space`` (the single env); otherwise ``batch`` of them.
    Anything outside the space (wrong shape or type, out of bounds, NaN) is a ``ValueError``: a
    ``Discrete`` action is an integer (not a bool or a float), a ``Box`` holds int or float values
    (not bools, strings, complex numbers, objects or masked values); ``Box`` values within 1e-6 of
    a bound (float32 rounding) are clipped to it. Envs keep one :class:`ActionParser` instead."""
    return ActionParser(env, space)(actions, batch)


# --------------------------------------------------------------------------------------------
# Task metrics: what an episode achieved besides its return
# --------------------------------------------------------------------------------------------
METRIC_REDUCTIONS = ("any", "mean", "last")


@dataclass(frozen=True)
class TaskMetric:
    """One scalar per episode, reduced from the info key ``key`` over the episode's steps (the
    ``step()`` infos from its first step to the one that ends it; a reset's info is no step):

    * ``"any"``: 1.0 if the value was ever true, else 0.0 (so its mean over episodes is a rate);
    * ``"mean"``: the mean of the values;
    * ``"last"``: the value at the episode's last step.

    A value that is not finite is reported as NaN, "not defined": infos say "not reached yet" with
    inf (e.g. a lap time before the first lap; not NaN, because Gymnasium's ``check_env`` compares
    infos with ``==`` and NaN is not equal to itself), and an episode that never reached it has no
    value (its ``lap_time`` metric is NaN).

    Each env core declares its own (:attr:`BatchCore.task_metrics`); :func:`task_metrics` finds them
    for any env, and :func:`rlsuite.rollout.run_episodes` computes them.
    """

    name: str  # the scalar's name, e.g. "crash_rate" (logged as eval/<name>)
    key: str  # the info key it is computed from, e.g. "crashed"
    reduce: str  # "any", "mean" or "last" (METRIC_REDUCTIONS)
    doc: str  # one line: what it measures, with its unit

    def __post_init__(self) -> None:
        if self.reduce not in METRIC_REDUCTIONS:
            raise ValueError(
                f"TaskMetric {self.name!r}: reduce must be one of {METRIC_REDUCTIONS}, got {self.reduce!r}"
            )


def task_metrics(env: Any) -> tuple[TaskMetric, ...]:
    """The task metrics an env declares: those of the :class:`BatchCore` under an rlsuite env, single
    or vector, through any Gymnasium wrappers (``gymnasium.make``'s, ``rlsuite.perturb``'s) and
    Gymnasium's ``SyncVectorEnv`` / ``AsyncVectorEnv`` over our single envs (found from the
    registered entry point); ``()`` for every other env (e.g. ``CartPole-v1``)."""
    core = core_of(env) if isinstance(env, gym.Env | gym.vector.VectorEnv) else None
    if core is not None:
        return type(core).task_metrics
    inner = getattr(env, "unwrapped", env)
    if isinstance(inner, gym.vector.SyncVectorEnv) and inner.envs:
        return task_metrics(inner.envs[0])
    spec = getattr(inner, "spec", None)
    entry_point = getattr(spec, "entry_point", None)
    if entry_point is None:
        return ()
    try:
        creator = (
            gym.envs.registration.load_env_creator(entry_point)
            if isinstance(entry_point, str)
            else entry_point
        )
    except (ImportError, AttributeError, ValueError):
        return ()
    if isinstance(creator, type) and issubclass(creator, CoreEnv | CoreVectorEnv):
        return creator.core_class.task_metrics
    return ()


# --------------------------------------------------------------------------------------------
# The batched core protocol
# --------------------------------------------------------------------------------------------
class BatchCore(ABC):
    """``batch`` rows of one env's state, stepped together. Each env family implements one.

    A subclass sets in ``__init__``: ``single_observation_space``, ``single_action_space`` and
    (optionally) ``render_fps``; the base class gives it ``self.rng`` (one random stream per row,
    the only source of randomness) and ``self.seeded``. It implements:

    * :meth:`reset_rows` — new episodes in ``rows``, drawing from those rows' streams only;
    * :meth:`step` — advance the ``active`` rows; return rewards, terminations and per-row info;
    * :meth:`observe` — a fresh ``(batch, *obs_shape)`` array of observations;
    * :meth:`frames` — whole-scene RGB frames of some rows (``render_mode="rgb_array"``);
    * :meth:`reset_info` — the info of a reset: the step info's keys, shapes and dtypes, with
      neutral values (reward terms 0, flags False, the state as it is);
    * optionally :attr:`reset_options`, and :attr:`task_metrics` (what its episodes achieved,
      reduced from info keys; see :class:`TaskMetric`).

    Its kwargs are an :class:`EnvKwargs` dataclass, :attr:`kwargs_class` (validated in ``__init__``
    with ``kwargs_class.from_kwargs(kwargs)``).

    What code outside ``envs/`` may know about an env, it asks the core through optional methods, so
    nothing there branches on an env's name: :meth:`probe_variables` (the state a linear probe of
    pixel features should recover), :meth:`privileged_state` (what the encoders' ``state`` objective
    regresses), :meth:`scripted_policy` (a behaviour policy for collecting frames) and
    :meth:`plot_policy` (a picture of a tabular policy). Each returns ``None`` here: the env offers
    nothing of the kind, and the caller says so or falls back (e.g. to random actions).

    Info arrays hold one value per row in ``bool``, ``int64`` or ``float64`` (the single env hands
    them out as Python ``bool``/``int``/``float``, as Gymnasium's ``SyncVectorEnv`` expects), or a
    fixed-shape array per row.
    """

    name: ClassVar[str] = "env"  # what error messages call the env, e.g. "Racetrack"
    kwargs_class: ClassVar[type[EnvKwargs]] = EnvKwargs  # the env's kwargs, their defaults and checks
    render_fps: int = 30
    reset_options: ClassVar[tuple[str, ...]] = ()  # keys of reset(options=…) besides reset_mask
    task_metrics: ClassVar[tuple[TaskMetric, ...]] = ()  # per-episode scalars from info keys

    single_observation_space: gym.Space
    single_action_space: gym.Space

    def __init__(self, batch: int) -> None:
        self.batch = int(batch)
        self.rng = BatchRNG(self.batch)
        self.seeded = np.zeros(self.batch, dtype=bool)

    def seed_rows(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        """Restart the random streams of ``rows`` from ``seeds`` (uint64, one per row)."""
        self.rng.seed(rows, seeds)
        self.seeded[rows] = True

    @abstractmethod
    def reset_rows(self, rows: np.ndarray, options: dict[str, Any]) -> None:
        """Start new episodes in ``rows`` (int array) from their own streams; ``options`` holds the
        validated :attr:`reset_options` given to ``reset`` (usually empty)."""

    def reset_info(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Info of a reset, one value per row of ``rows`` (``len(rows)`` long): the same keys, per-row
        shapes and dtypes as :meth:`step`'s info, with neutral values (reward terms 0, flags False,
        the state of the new episode's start, NaN for what is not known yet)."""
        return {}

    @abstractmethod
    def step(
        self, actions: np.ndarray, active: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Advance the rows where ``active`` (B,) is True (every row when ``None``) by one env step
        under ``actions`` (what :func:`parse_actions` returns). Inactive rows are about to be reset:
        they must not draw from their random stream; whether they move does not matter. Returns
        fresh arrays (the caller may modify them): ``rewards`` (B,) float64, ``terminated`` (B,)
        bool and the step's info, ``{key: (B,) array}``."""

    def step_one(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """The single env's step (a core of one row, every row active): its reward, whether it
        terminated, and its info as Python scalars (or per-row arrays), as :class:`CoreEnv` returns
        them. A core may override it with a faster path of the same results (tested against
        :meth:`step` in ``tests/envs``)."""
        rewards, terminated, info = self.step(actions, None)
        return float(rewards[0]), bool(terminated[0]), _scalar_info(info)

    @abstractmethod
    def observe(self) -> np.ndarray:
        """A fresh ``(batch, *single_observation_space.shape)`` array of the current observations."""

    @abstractmethod
    def frames(self, rows: np.ndarray) -> np.ndarray:
        """Whole-scene RGB frames ``(len(rows), H, W, 3)`` uint8 of ``rows``, for people."""

    def upgrade_snapshot(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A vector env's snapshot (:meth:`CoreVectorEnv.get_state`) taken by an earlier version of this
        core, with what this version added filled in (keys ``"core.<name>"``; ``"env._elapsed"`` holds
        each row's steps since its reset), so that checkpoints saved before stay resumable. Default: as
        given."""
        return arrays

    # ---- optional knowledge of the env (None: not provided by this env) -----------------------
    def probe_variables(self) -> tuple[list[str], np.ndarray] | None:
        """The true state variables a linear probe should read off pixel features: ``(names, values)``,
        ``values`` a fresh ``(batch, k)`` float32 array of the current state, each variable scaled to
        about [-1, 1] (e.g. speed, heading error, lateral offset; joint angles as cos and sin).
        ``None``: this env names none."""
        return None

    def privileged_state(self) -> tuple[list[str], np.ndarray] | None:
        """What the encoders' ``state`` objective regresses from pixels: ``(names, values)``, ``values``
        a fresh ``(batch, u)`` float32 array, usually the env's state observation, whatever
        ``obs_type`` the core was built with. ``None``: this env exposes none."""
        return None

    def scripted_policy(self, rng: np.random.Generator) -> Callable[[], np.ndarray] | None:
        """A scripted behaviour policy for collecting frames (e.g. a driver that keeps to the road): a
        callable that returns one valid action per row for the current state, as the vector env's
        ``step`` takes them. Its randomness comes from ``rng`` only, never from the rows' streams, so
        it does not change the episodes' own draws. ``None``: this env has none (callers use random
        actions)."""
        return None

    def plot_policy(
        self,
        state_values: np.ndarray,
        policy: Callable[[Any], Any],
        path: str | Path,
        title: str = "",
    ) -> Path | None:
        """A PNG picture of a tabular policy on this env at ``path``: ``state_values`` holds one value
        per observation (NaN: unknown), ``policy`` maps one observation to one action. ``None``:
        this env draws no such picture, or matplotlib is not installed (nothing is written)."""
        return None

    @property
    def action_parser(self) -> ActionParser:
        """The :class:`ActionParser` of this core's action space (built on first use)."""
        parser = self.__dict__.get("_action_parser")
        if parser is None or parser.space is not self.single_action_space:
            parser = self._action_parser = ActionParser(self.name, self.single_action_space)
        return parser

    def parse_actions(self, actions: Any, batch: int | None) -> np.ndarray:
        """:func:`parse_actions` with this core's action space."""
        return self.action_parser(actions, batch)


def _check_reset_options(core: BatchCore, options: Any, allow_mask: bool) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValueError(f"{core.name}: reset options must be a dict or None, got {options!r}")
    allowed = (*core.reset_options, *(("reset_mask",) if allow_mask else ()))
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"{core.name}: unknown reset option(s) {unknown}; allowed: {list(allowed)}")
    return {key: value for key, value in options.items() if key != "reset_mask"}


def _scalar_info(info: dict[str, np.ndarray]) -> dict[str, Any]:
    """Row 0 of a core's info as Python scalars (or per-row arrays), as a single env returns it."""
    return {key: value.item(0) if value.ndim == 1 else value[0].copy() for key, value in info.items()}


def _check_seed(core: BatchCore, seed: Any, name: str = "seed") -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0):
        raise ValueError(f"{core.name}: {name} must be None or an integer >= 0, got {seed!r}")


# --------------------------------------------------------------------------------------------
# The single env
# --------------------------------------------------------------------------------------------
class CoreEnv(gym.Env):
    """A ``gymnasium.Env`` that is a :class:`BatchCore` of one row (subclasses set ``core_class``).

    Constructed directly it never truncates; ``gymnasium.make`` adds the registered ``TimeLimit``.
    """

    core_class: ClassVar[type[BatchCore]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 30}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        name = self.core_class.name
        if "max_episode_steps" in kwargs:
            raise ValueError(
                f"{name}: the single env takes no max_episode_steps; use "
                "gymnasium.make(id, max_episode_steps=N) (or gymnasium.wrappers.TimeLimit)"
            )
        self.render_mode = check_render_mode(name, render_mode)
        self.core = self.core_class(1, **kwargs)
        self.metadata = {**type(self).metadata, "render_fps": self.core.render_fps}
        self.observation_space = self.core.single_observation_space
        self.action_space = self.core.single_action_space
        self._row = np.zeros(1, dtype=np.intp)
        self._parse_action = self.core.action_parser.one
        self._window: HumanWindow | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        core = self.core
        _check_seed(core, seed)
        reset_options = _check_reset_options(core, options, allow_mask=False)
        super().reset(seed=seed)
        if seed is not None or not core.seeded[0]:  # row 0 of a vector env reset with this seed
            core.seed_rows(self._row, row_seeds(seed, 1, self.np_random))
        core.reset_rows(self._row, reset_options)
        if self.render_mode == "human":
            self.render()
        return core.observe()[0], _scalar_info(core.reset_info(self._row))

    def step(self, action: Any):
        core = self.core
        reward, terminated, info = core.step_one(self._parse_action(action))
        obs = core.observe()[0]
        if self.render_mode == "human":
            self.render()
        return obs, reward, terminated, False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn(
                f"{self.core.name}: render() without a render_mode; pass render_mode='rgb_array' or 'human'"
            )
            return None
        frame = self.core.frames(self._row)[0]
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = HumanWindow(f"rlsuite {self.core.name}", self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self) -> None:
        if getattr(self, "_window", None) is not None:  # also when __init__ failed early
            self._window.close()
            self._window = None


# --------------------------------------------------------------------------------------------
# The native vector env
# --------------------------------------------------------------------------------------------
class CoreVectorEnv(gym.vector.VectorEnv):
    """A native ``gymnasium.vector.VectorEnv`` over one :class:`BatchCore` of ``num_envs`` rows,
    with the semantics of ``SyncVectorEnv`` over the single env (see the module docstring).

    ``max_episode_steps`` truncates each sub-env's episodes (``gymnasium.make_vec`` passes the
    registered limit); ``None`` (the default when constructed directly) never truncates.
    """

    core_class: ClassVar[type[BatchCore]]
    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": list(RENDER_MODES),
        "render_fps": 30,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        name = self.core_class.name
        self.num_envs = check_int(name, "num_envs", num_envs, 1, MAX_NUM_ENVS)
        if max_episode_steps is not None:
            max_episode_steps = check_int(name, "max_episode_steps", max_episode_steps, 1)
        self.max_episode_steps = max_episode_steps
        self.render_mode = check_render_mode(name, render_mode)
        try:
            self.core = self.core_class(self.num_envs, **kwargs)
        except MemoryError:
            raise ValueError(
                f"{name}: num_envs={self.num_envs} sub-envs (with these kwargs) do not fit in memory; "
                "use fewer"
            ) from None
        self.metadata = {**type(self).metadata, "render_fps": self.core.render_fps}
        self.single_observation_space = self.core.single_observation_space
        self.single_action_space = self.core.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._all_rows = np.arange(self.num_envs)
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)  # steps since each row's reset
        self._autoreset = np.zeros(self.num_envs, dtype=bool)  # rows that reset on the next step
        self._window: HumanWindow | None = None

    # ---------------------------------------------------------------- snapshots (exact resume)
    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything that evolves: the core's arrays and numbers (its random streams included, and
        those of the rlsuite objects it holds), the time-limit and autoreset counters, and the
        seeding generator: ``(arrays, json_able)`` for a checkpoint (safetensors + JSON, no pickle).
        :meth:`set_state` on an env made with the same arguments continues exactly from here."""
        arrays: dict[str, np.ndarray] = {"env._elapsed": self._elapsed, "env._autoreset": self._autoreset}
        numbers: dict[str, Any] = {}
        _collect_state(self.core, "core", arrays, numbers)
        generator = self.np_random.bit_generator.state
        return {k: np.array(v, copy=True) for k, v in arrays.items()}, {
            "numbers": numbers,
            "np_random": generator,
        }

    def set_state(self, arrays: dict[str, np.ndarray], json_able: dict[str, Any]) -> None:
        """Restore a :meth:`get_state` snapshot (a ``ValueError`` if it is not one of this env's)."""
        mine, _ = self.get_state()
        arrays = self.core.upgrade_snapshot(dict(arrays))
        if set(mine) != set(arrays):
            missing, extra = sorted(set(mine) - set(arrays)), sorted(set(arrays) - set(mine))
            raise ValueError(
                f"{self.core.name}: not a snapshot of this env (missing {missing[:4]}, extra {extra[:4]})"
            )
        for key, value in arrays.items():
            owner, name = self._owner(key)
            current = getattr(owner, name)
            if current.shape == value.shape and current.dtype == value.dtype:
                np.copyto(current, value)  # in place: other references to the array see it too
            else:
                setattr(owner, name, np.array(value, dtype=current.dtype, copy=True))
        for key, value in json_able["numbers"].items():
            owner, name = self._owner(key)
            setattr(owner, name, type(getattr(owner, name))(value))
        self.np_random.bit_generator.state = json_able["np_random"]

    def _owner(self, key: str) -> tuple[Any, str]:
        *path, name = key.split(".")
        owner: Any = self if path[0] == "env" else self.core
        for part in path[1:]:
            owner = getattr(owner, part)
        return owner, name

    def _reset_mask(self, options: dict[str, Any] | None) -> np.ndarray:
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            return self._all_rows
        if not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (self.num_envs,)):
            raise ValueError(
                f"{self.core.name}: options['reset_mask'] must be a numpy bool array of shape "
                f"({self.num_envs},), got {mask!r}"
            )
        if not mask.any():
            raise ValueError(f"{self.core.name}: options['reset_mask'] selects no sub-env: {mask!r}")
        return np.flatnonzero(mask)

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        core = self.core
        reset_options = _check_reset_options(core, options, allow_mask=True)
        rows = self._reset_mask(options)
        if isinstance(seed, list | tuple):
            if len(seed) != self.num_envs:
                raise ValueError(
                    f"{core.name}: a list of seeds must have one per sub-env ({self.num_envs}), got {seed!r}"
                )
            for s in seed:
                _check_seed(core, s, "every seed in the list")
            super().reset(seed=None)
            given = [i for i in rows if seed[i] is not None]
            if given:
                core.seed_rows(np.array(given), np.concatenate([row_seeds(seed[i], 1, None) for i in given]))
        else:
            _check_seed(core, seed)
            super().reset(seed=seed)
            if seed is not None:  # row i as the single env reset with seed + i
                core.seed_rows(rows, row_seeds(seed, self.num_envs, self.np_random)[rows])
        fresh = rows[~core.seeded[rows]]  # never seeded: a seed from np_random, like a fresh single env
        if len(fresh):
            core.seed_rows(fresh, row_seeds(None, len(fresh), self.np_random))
        core.reset_rows(rows, reset_options)
        self._elapsed[rows] = 0
        self._autoreset[rows] = False
        infos = self._infos({}, core.reset_info(rows), rows)
        if self.render_mode == "human":
            self.render()
        return core.observe(), infos

    def step(self, actions: Any):
        core = self.core
        actions = core.parse_actions(actions, self.num_envs)
        resetting = self._autoreset
        any_resetting = bool(resetting.any())
        rewards, terminated, step_info = core.step(actions, ~resetting if any_resetting else None)
        rewards = np.asarray(rewards, dtype=np.float64)
        self._elapsed += 1
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=bool)
        else:
            truncated = self._elapsed >= self.max_episode_steps
        if any_resetting:  # NEXT_STEP autoreset: these rows start over; their actions were ignored
            rows = np.flatnonzero(resetting)
            core.reset_rows(rows, {})
            self._elapsed[rows] = 0
            rewards[rows] = 0.0
            terminated[rows] = False
            truncated[rows] = False
            infos = self._infos(step_info, core.reset_info(rows), rows, ~resetting)
        else:
            infos = self._infos(step_info, {}, rows=None)
        self._autoreset = terminated | truncated
        if self.render_mode == "human":
            self.render()
        return core.observe(), rewards, terminated, truncated, infos

    def _infos(
        self,
        step_info: dict[str, np.ndarray],
        reset_info: dict[str, np.ndarray],
        rows: np.ndarray | None,
        stepped: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """``SyncVectorEnv``'s info dict: step info of the ``stepped`` rows (all when None), reset
        info of ``rows``; each value 0 where its ``_key`` mask is False."""
        infos: dict[str, np.ndarray] = {}
        if stepped is not None and not stepped.any():
            step_info = {}  # no sub-env stepped: SyncVectorEnv has none of the step's keys
        for key, value in step_info.items():
            if stepped is None:
                infos[key] = value
                infos["_" + key] = np.ones(self.num_envs, dtype=bool)
            else:
                rows_shape = stepped.reshape(-1, *(1,) * (value.ndim - 1))
                infos[key] = np.where(rows_shape, value, 0).astype(value.dtype)
                infos["_" + key] = stepped.copy()
        for key, value in reset_info.items():
            if key not in infos:
                infos[key] = np.zeros((self.num_envs, *value.shape[1:]), dtype=value.dtype)
                infos["_" + key] = np.zeros(self.num_envs, dtype=bool)
            infos[key][rows] = value
            infos["_" + key][rows] = True
        return infos

    def render(self) -> tuple[np.ndarray | None, ...]:
        """One entry per sub-env, as ``SyncVectorEnv`` returns: RGB frames for ``"rgb_array"``,
        ``None`` otherwise (``"human"`` shows up to 16 sub-envs tiled in one window)."""
        if self.render_mode is None:
            gym.logger.warn(
                f"{self.core.name}: render() without a render_mode; pass render_mode='rgb_array' or 'human'"
            )
            return (None,) * self.num_envs
        if self.render_mode == "rgb_array":
            return tuple(self.core.frames(self._all_rows))
        if self._window is None:
            self._window = HumanWindow(f"rlsuite {self.core.name}", self.metadata["render_fps"])
        self._window.show(tile_frames(self.core.frames(self._all_rows[:MAX_HUMAN_TILES])))
        return (None,) * self.num_envs

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "_window", None) is not None:  # also when __init__ failed early
            self._window.close()
            self._window = None


def core_of(env: gym.Env | gym.vector.VectorEnv) -> BatchCore | None:
    """The :class:`BatchCore` under an rlsuite env, single or vector, through any wrappers (its
    optional knowledge: :meth:`BatchCore.probe_variables` …); ``None`` for any other env."""
    inner = env.unwrapped
    return inner.core if isinstance(inner, CoreEnv | CoreVectorEnv) else None


def _collect_state(obj: Any, prefix: str, arrays: dict[str, np.ndarray], numbers: dict[str, Any]) -> None:
    """Arrays and plain numbers of ``obj`` and of the rlsuite objects it holds (spaces, configs and
    other libraries' objects are not state)."""
    for name, value in vars(obj).items():
        key = f"{prefix}.{name}"
        if isinstance(value, np.ndarray):
            arrays[key] = value
        elif isinstance(value, bool | int | float | np.number) and not isinstance(value, np.bool_):
            numbers[key] = value.item() if isinstance(value, np.number) else value
        elif type(value).__module__.startswith("rlsuite.") and hasattr(value, "__dict__"):
            params = getattr(value, "__dataclass_params__", None)
            if params is None or not params.frozen:  # a frozen dataclass is configuration
                _collect_state(value, key, arrays, numbers)


# --------------------------------------------------------------------------------------------
# render_mode="human"
# --------------------------------------------------------------------------------------------
def tile_frames(frames: np.ndarray) -> np.ndarray:
    """Frames ``(N, H, W, 3)`` in a square grid ``(c·H, c·W, 3)``, ``c = ceil(sqrt(N))``, black-padded."""
    count, height, width = frames.shape[:3]
    columns = math.ceil(math.sqrt(count))
    if columns == 1:
        return frames[0]
    padded = np.zeros((columns * columns, height, width, 3), dtype=np.uint8)
    padded[:count] = frames
    grid = padded.reshape(columns, columns, height, width, 3).transpose(0, 2, 1, 3, 4)
    return grid.reshape(columns * height, columns * width, 3)


class HumanWindow:
    """The pygame window of ``render_mode="human"`` (opened on the first frame)."""

    def __init__(self, title: str, fps: int) -> None:
        import pygame  # checked by check_render_mode

        self.pygame, self.title, self.fps = pygame, title, fps
        self.screen = None
        self.clock = None

    def show(self, frame: np.ndarray) -> None:
        pygame = self.pygame
        if self.screen is None or self.screen.get_size() != (frame.shape[1], frame.shape[0]):
            pygame.init()
            pygame.display.set_caption(self.title)
            self.screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            self.clock = pygame.time.Clock()
        pygame.event.pump()
        self.screen.blit(pygame.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        if self.screen is not None:
            self.pygame.display.quit()
            self.screen = None

    def __getstate__(self) -> dict[str, Any]:  # a pickled env reopens its window on the next frame
        return {"title": self.title, "fps": self.fps}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["title"], state["fps"])
