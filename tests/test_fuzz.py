"""Input fuzzing with hypothesis: whatever a user passes — env kwargs, actions, configs, command-line
overrides — the outcome is a valid run or a clear error raised by rlsuite itself, never a traceback
from deep inside numpy/torch, a numpy warning, an ``Exception ignored in … __del__`` or a hang.

A clear error is: for env kwargs a ``ValueError``/``TypeError`` that starts with the env's name and
names a kwarg that was passed; for actions a ``ValueError`` that starts with the env's name and says
what an action must be; for configs a one-line :class:`~rlsuite.config.ConfigError`; for
``rlsuite train`` exit code 2 and one ``rlsuite train: error: …`` line on stderr.

Every test is derandomized (the same examples on every run, no example database) and each example
runs under a wall-clock alarm. Hand-picked cases live in tests/envs/test_bad_kwargs.py,
tests/test_config.py and tests/test_cli.py; random *valid* env settings stepped for longer in
tests/envs/test_config_fuzz.py.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import math
import os
import signal
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.config import SECTIONS, ConfigError, default_config_data, from_dict, load_config, to_dict
from rlsuite.envs.core import MAX_REWARD_WEIGHT
from rlsuite.envs.driving.highway_core import HighwayConfig
from rlsuite.envs.driving.racetrack_core import DEFAULTS as RACETRACK_DEFAULTS
from rlsuite.envs.robot.arm import ARM_DEFAULTS
from rlsuite.envs.robot.pusher import PusherCore
from rlsuite.envs.robot.reacher import ReacherCore

REPO = Path(__file__).resolve().parents[1]
MAX_FLOAT = sys.float_info.max
WEIGHT = MAX_REWARD_WEIGHT  # reward weights and penalties are at most this in size


SCALE = float(os.environ.get("RLSUITE_FUZZ_SCALE", "1"))  # e.g. 20 for a deeper search, locally


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=max(1, round(examples * SCALE)),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],  # no slow "explain"
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


class Hang(BaseException):  # not an Exception: no `except Exception` in the code under test swallows it
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail with :class:`Hang` when the block runs longer than ``seconds`` of wall-clock time."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def strict(seconds: float = 30.0, collect: bool = True) -> Iterator[None]:
    """Warnings are errors, ``Exception ignored in …`` reports (e.g. from ``__del__`` of a half-built
    env, garbage-collected at the end with ``collect``: ~0.1 s) fail, and the block must end within
    ``seconds``."""
    unraisable: list[Any] = []
    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable.append
    try:
        with time_limit(seconds), warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
            if collect:
                gc.collect()
    finally:
        sys.unraisablehook = previous_hook
    assert not unraisable, [f"{u.exc_type.__name__}: {u.exc_value} ({u.object!r})" for u in unraisable]


# ============================================================================================
# 1. Env kwargs
# ============================================================================================
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=6),
    st.integers(-(10**30), 10**30),
    st.sampled_from([-1, 0, 2**31, 2**63, -(2**63) - 1, 10**9]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(max_magnitude=10),
    st.lists(st.integers(-3, 100), max_size=3),
    st.tuples(st.floats(allow_nan=True), st.floats(allow_nan=True)),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.binary(max_size=3),
    st.builds(object),
    st.sampled_from(
        [np.int64(3), np.float32(0.5), np.bool_(True), np.float64("nan"), np.array(5), np.array([1, 2])]
    ),
)
UNKNOWN_KEYS = ["bogus", "Obs_type", "obs-type", "randomize_colors", "randomize_link_width", "seed", ""]


def real(low: float, high: float = MAX_FLOAT, *, open_low: bool = False) -> st.SearchStrategy:
    """Finite numbers in ``[low, high]`` (``(low, high]``): floats, whole numbers and numpy scalars."""

    def inside(v: float) -> bool:
        v = float(v)
        return (low < v if open_low else low <= v) and v <= high

    floats = st.floats(low, high, exclude_min=open_low, allow_nan=False, allow_infinity=False)
    singles = st.floats(max(low, -1e38), min(high, 1e38), exclude_min=open_low)  # within float32's range
    options = [floats, singles.map(np.float32).filter(inside)]  # numpy scalars are numbers too
    first, last = (
        max(math.floor(low) + 1 if open_low else math.ceil(low), -(10**6)),
        math.floor(min(high, 10**6)),
    )
    if first <= last:
        options.append(st.integers(first, last))
    return st.one_of(options)


def pair(low: float, high: float, gap: float = 0.0) -> st.SearchStrategy:
    """``(a, b)`` (or ``[a, b]``) with ``low <= a``, ``a + gap <= b <= high``."""

    def second(a: float) -> st.SearchStrategy:
        return st.floats(a + gap, high).map(lambda b: (a, b))

    return st.floats(low, high - gap).flatmap(second).flatmap(lambda v: st.sampled_from([v, list(v)]))


PIXEL_SHAPE = st.one_of(
    st.integers(8, 24),
    st.tuples(st.integers(8, 24), st.integers(8, 24)),
    st.lists(st.integers(8, 24), min_size=2, max_size=2),
)
VISUAL = dict(
    obs_type=st.sampled_from(["state", "pixels"]),
    action_type=st.sampled_from(["continuous", "discrete"]),
    pixel_shape=PIXEL_SHAPE,
    grayscale=st.booleans(),
    color_jitter=st.integers(0, 255),
)


@st.composite
def grid_map(draw) -> list[str]:
    """A small custom GridRacetrack map with at least one start and one finish cell."""
    height, width = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    cells = draw(st.lists(st.sampled_from(".oSF"), min_size=height * width, max_size=height * width))
    cells[0], cells[-1] = "F", "S"
    return ["".join(cells[r * width : (r + 1) * width]) for r in range(height)]


@st.composite
def highway_frequencies(draw) -> dict[str, int]:
    policy = draw(st.integers(1, 20))
    multiple = draw(st.integers(math.ceil(5 / policy), 100 // policy))
    return {"policy_frequency": policy, "simulation_frequency": policy * multiple}


@st.composite
def pusher_geometry(draw) -> dict[str, float]:
    tip = draw(real(0.0, 0.5, open_low=True))
    puck = draw(real(0.0, 0.5, open_low=True))
    table = draw(st.floats(0.2 + float(tip) + 2 * float(puck), 10.0, exclude_min=True))
    return {"tip_radius": tip, "puck_radius": puck, "table_half_size": table}


VALID: dict[str, dict[str, st.SearchStrategy]] = {
    "GridRacetrack": dict(
        track=st.one_of(st.sampled_from(["classic", "wide"]), grid_map()),
        noise=real(0.0, 1.0),
    ),
    "Racetrack": dict(
        VISUAL,
        track=st.one_of(st.sampled_from(["kidney", "oval", "hairpin", "random"]), st.integers(0, 2**63 - 1)),
        lidar_rays=st.integers(0, 64),
        lidar_range=real(1.0, 500.0),
        off_track_penalty=real(0.0, WEIGHT),
        crash_penalty=real(0.0, WEIGHT),
        off_track_tolerance=real(0.0, 20.0),
        random_start=st.booleans(),
        width_jitter=real(0.0, 2.0),
    ),
    "Highway": dict(
        VISUAL,
        frequencies=highway_frequencies(),  # policy_frequency and simulation_frequency together
        lanes_count=st.integers(1, 10),
        vehicles_count=st.integers(1, 200),
        vehicles_density=real(0.01, 3.0),
        observed_vehicles=st.integers(1, 201),
        perception_distance=real(0.0, open_low=True),
        lane_width=st.one_of(real(2.5, 6.0), pair(2.5, 6.0)),
        traffic_speed_range=pair(1.0, 40.0),
        collision_reward=real(-WEIGHT, WEIGHT),
        right_lane_reward=real(-WEIGHT, WEIGHT),
        high_speed_reward=real(-WEIGHT, WEIGHT),
        reward_speed_range=pair(0.0, 40.0, gap=0.1),
        normalize_reward=st.booleans(),
        offroad_terminal=st.booleans(),
    ),
    "Reacher": dict(
        VISUAL,
        n_links=st.integers(1, 8),
        width_jitter=real(0.0, 0.9),
        render_size=st.integers(8, 32),
        terminate_on_success=st.booleans(),
        distance_weight=real(0.0, WEIGHT),
        control_weight=real(0.0, WEIGHT),
        success_tolerance=real(0.0, open_low=True),
        target_radius=real(0.0, open_low=True),
    ),
    "Pusher": dict(
        VISUAL,
        n_links=st.integers(1, 8),
        width_jitter=real(0.0, 0.9),
        render_size=st.integers(8, 32),
        terminate_on_success=st.booleans(),
        geometry=pusher_geometry(),  # tip_radius, puck_radius and table_half_size together
        goal_weight=real(0.0, WEIGHT),
        near_weight=real(0.0, WEIGHT),
        control_weight=real(0.0, WEIGHT),
        goal_radius=real(0.0, open_low=True),
        puck_mass=real(0.0, open_low=True),
        puck_friction=real(0.0),
        wall_restitution=real(0.0, 1.0),
        max_puck_speed=real(0.01, 100.0),
    ),
}
KWARGS: dict[str, list[str]] = {  # every kwarg each env takes
    "GridRacetrack": ["track", "noise"],
    "Racetrack": list(RACETRACK_DEFAULTS),
    "Highway": [f.name for f in HighwayConfig.__dataclass_fields__.values()],
    "Reacher": [*ARM_DEFAULTS, *ReacherCore.task_defaults],
    "Pusher": [*ARM_DEFAULTS, *PusherCore.task_defaults],
}
ENV_IDS = {name: f"rlsuite/{name}-v0" for name in VALID}


def valid_kwargs(name: str, drawn: dict[str, Any]) -> dict[str, Any]:
    """The drawn valid settings, grouped ones unpacked and cross-field rules kept."""
    kwargs = {}
    for key, value in drawn.items():
        kwargs.update(value if key in ("frequencies", "geometry") else {key: value})
    if kwargs.get("action_type") == "discrete" and kwargs.get("n_links", 2) > 6:
        kwargs["n_links"] = 6  # 3**n discrete actions: at most 6 links
    if name == "Highway" and kwargs.get("normalize_reward", True):
        rewards = {"collision_reward": -1.0, "right_lane_reward": 0.1, "high_speed_reward": 0.4}
        rewards.update({k: kwargs[k] for k in rewards if k in kwargs})
        if (
            not rewards["high_speed_reward"] + rewards["right_lane_reward"] - rewards["collision_reward"]
            >= 1e-3
        ):
            kwargs["normalize_reward"] = False  # normalising needs best > worst
    return kwargs


def small_int(value: Any, high: int) -> bool:
    return type(value) is int and 1 <= value <= high


def check_observation(env: Any, obs: Any) -> None:
    assert env.observation_space.contains(obs), obs
    assert np.asarray(obs).dtype == np.uint8 or np.isfinite(obs).all(), obs


def assert_clear_kwarg_error(error: BaseException, name: str, given: set[str]) -> None:
    message = str(error)
    assert isinstance(error, ValueError | TypeError), f"{type(error).__name__}: {message}"
    assert message.startswith(f"{name}:"), f"not one of rlsuite's errors: {type(error).__name__}: {message}"
    assert any(key in message for key in given if key) or any(repr(key) in message for key in given), (
        f"names no given kwarg {sorted(given)}: {message}"
    )


@pytest.mark.parametrize("name", list(VALID))
@fuzz(30)
@given(data=st.data())
def test_env_kwargs_build_a_working_env_or_raise_a_clear_error(name: str, data: st.DataObject) -> None:
    valid = VALID[name]
    chosen = data.draw(
        st.lists(st.sampled_from(sorted(valid)), unique=True, max_size=len(valid)), "valid keys"
    )
    kwargs = valid_kwargs(name, {key: data.draw(valid[key], key) for key in chosen})
    junk = data.draw(st.sampled_from([0, 0, 1]), "junk values")  # valid draws must build: test them often
    junk_keys = data.draw(st.lists(st.sampled_from(KWARGS[name]), unique=True, min_size=junk, max_size=junk))
    for key in junk_keys:
        kwargs[key] = data.draw(JUNK, key)
    if data.draw(st.integers(0, 9), "unknown key?") == 0:
        kwargs[data.draw(st.sampled_from(UNKNOWN_KEYS))] = 1
    vector = data.draw(st.booleans(), "vector")
    extra: dict[str, Any] = {}
    if vector:
        extra["num_envs"] = data.draw(st.one_of(*[st.integers(1, 4)] * 4, JUNK), "num_envs")
        if data.draw(st.booleans(), "max_episode_steps?"):
            extra["max_episode_steps"] = data.draw(
                st.one_of(*[st.integers(1, 50)] * 4, JUNK), "max_episode_steps"
            )
        if data.draw(st.booleans(), "render_mode?"):
            render_modes = st.one_of(
                *[st.sampled_from([None, "rgb_array"])] * 4, JUNK.filter(lambda v: v != "human")
            )
            extra["render_mode"] = data.draw(render_modes, "render_mode")
    elif data.draw(st.booleans(), "render_mode?"):  # gymnasium.make checks other values itself first
        extra["render_mode"] = data.draw(st.sampled_from([None, "rgb_array"]), "render_mode")
    all_valid = (
        not junk_keys
        and set(kwargs) <= set(KWARGS[name])
        and small_int(extra.get("num_envs", 1), 4)
        and small_int(extra.get("max_episode_steps", 1), 50)
        and (extra.get("render_mode") is None or extra["render_mode"] == "rgb_array")
    )

    with strict(120.0, collect=False):  # the first example of an env may compile its numba kernels
        try:
            if vector:
                env = gym.make_vec(ENV_IDS[name], vectorization_mode="vector_entry_point", **extra, **kwargs)
            else:
                env = gym.make(ENV_IDS[name], **extra, **kwargs)
        except (ValueError, TypeError) as error:
            event("refused")
            assert not all_valid, f"valid kwargs {kwargs} {extra} refused: {error}"
            assert_clear_kwarg_error(error, name, {*kwargs, *extra})
            del error
            gc.collect()  # the half-built env goes now: its __del__ must not report an error
            return
        except Exception as error:  # anything else is a bug: say which kwargs led to it
            raise AssertionError(f"{kwargs} {extra}: {type(error).__name__}: {error}") from error
        event("built")
        try:
            env.action_space.seed(0)
            obs, _ = env.reset(seed=0)
            check_observation(env, obs)
            for _ in range(3):
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                check_observation(env, obs)
                assert np.isfinite(reward).all(), (kwargs, reward)
                if not vector and (terminated or truncated):
                    obs, _ = env.reset()
            if extra.get("render_mode") == "rgb_array":
                frames = env.render() if not vector else env.render()[0]
                assert frames.dtype == np.uint8 and frames.ndim == 3
        finally:
            env.close()


# ============================================================================================
# 2. Actions
# ============================================================================================
ACTION_CASES = [("GridRacetrack", "discrete")] + [
    (name, action_type)
    for name in ("Racetrack", "Highway", "Reacher", "Pusher")
    for action_type in ("discrete", "continuous")
]
NUM_ENVS = 3
_ENVS: dict[tuple[str, str, bool], Any] = {}


def cached_env(name: str, action_type: str, vector: bool) -> Any:
    """One env per case for all its examples (built once: construction dominates the cost)."""
    key = (name, action_type, vector)
    if key not in _ENVS:
        kwargs = {} if name == "GridRacetrack" else {"action_type": action_type}
        if vector:
            env = gym.make_vec(
                ENV_IDS[name], num_envs=NUM_ENVS, vectorization_mode="vector_entry_point", **kwargs
            )
        else:
            env = gym.make(ENV_IDS[name], **kwargs)
        env.reset(seed=0)
        _ENVS[key] = env
    return _ENVS[key]


@pytest.fixture(scope="module", autouse=True)
def _close_cached_envs() -> Iterator[None]:
    yield
    for env in _ENVS.values():
        env.close()
    _ENVS.clear()


NOT_NUMBERS = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.builds(object),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.complex_numbers(max_magnitude=1),
    st.binary(max_size=2),
)


def box_actions(shape: tuple[int, ...]) -> st.SearchStrategy:
    """``(valid?, action)`` for ``Box(-1, 1, shape)``: in-space actions in many containers and dtypes
    (and within 1e-6 of a bound: clipped, as documented), and every kind of invalid one."""
    size = math.prod(shape)
    in_range = hnp.arrays(
        st.sampled_from([np.float32, np.float64]), shape, elements=st.floats(-1, 1, width=32)
    )
    ints = hnp.arrays(st.sampled_from([np.int8, np.int64, np.uint8]), shape, elements=st.integers(0, 1))
    rounding = hnp.arrays(np.float64, shape, elements=st.sampled_from([1 + 5e-7, -1 - 5e-7, 0.0]))
    valid = st.one_of(
        in_range, in_range.map(np.ndarray.tolist), in_range.map(lambda a: tuple(a.tolist())), ints, rounding
    )

    def poke(values: np.ndarray, bad: float, index: int) -> np.ndarray:
        values = values.astype(np.float64)
        values.reshape(-1)[index % size] = bad
        return values

    bad_value = st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.floats(1.001, MAX_FLOAT),
        st.floats(-MAX_FLOAT, -1.001),
    )
    out_of_space = st.builds(poke, in_range, bad_value, st.integers(0, size - 1))
    wrong_shape = hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4).filter(lambda s: s != shape),
        elements=st.floats(-1, 1),
    )
    wrong_dtype = st.one_of(
        hnp.arrays(
            st.sampled_from([np.complex64, np.complex128]),
            shape,
            elements=st.complex_numbers(max_magnitude=1, width=64),
        ),
        hnp.arrays(np.bool_, shape),
        hnp.arrays("U3", shape, elements=st.sampled_from(["0", "0.5", "-1"])),
        in_range.map(lambda a: a.astype(object)),
        in_range.map(lambda a: np.ma.masked_array(a, mask=np.ones(a.shape, bool))),
        st.lists(st.none(), min_size=shape[0], max_size=shape[0]),
        NOT_NUMBERS,
    )
    invalid = st.one_of(out_of_space, wrong_shape, wrong_dtype, st.floats(allow_nan=True))
    return st.one_of(valid.map(lambda a: (True, a)), invalid.map(lambda a: (False, a)))


def discrete_actions(n: int, batch: int | None) -> st.SearchStrategy:
    """``(valid?, action)`` for ``Discrete(n)`` (``batch=None``) or a batch of them."""
    if batch is None:
        index = st.integers(0, n - 1)
        valid = st.one_of(index, index.map(np.int64), index.map(np.uint16), index.map(np.array))
        invalid = st.one_of(
            st.integers(n, 10**30),
            st.integers(-(10**30), -1),
            index.map(float),
            index.map(np.float64),
            st.booleans(),
            st.sampled_from([np.bool_(True), math.nan, math.inf]),
            index.map(str),
            index.map(lambda i: [i, i]),
            index.map(lambda i: np.array([i, i])),
            NOT_NUMBERS,
        )
    else:
        dtypes = st.sampled_from([np.int8, np.int16, np.int64, np.uint8, np.uint64])
        arrays = hnp.arrays(dtypes, batch, elements=st.integers(0, n - 1))
        valid = st.one_of(arrays, arrays.map(np.ndarray.tolist), arrays.map(tuple))

        def poke(values: np.ndarray, bad: int, index: int) -> np.ndarray:
            values = values.astype(object)
            values[index % batch] = bad
            return np.array(values.tolist())  # int64, or object beyond int64

        invalid = st.one_of(
            st.builds(
                poke, arrays, st.one_of(st.integers(n, 2**70), st.integers(-(2**70), -1)), st.integers()
            ),
            arrays.map(lambda a: a.astype(np.float64)),
            arrays.map(lambda a: a.astype(bool)),
            arrays.map(lambda a: a.astype(str)),
            arrays.map(lambda a: a.astype(object)),
            hnp.arrays(
                np.int64,
                hnp.array_shapes(min_dims=0, max_dims=2, max_side=4).filter(lambda s: s != (batch,)),
                elements=st.integers(0, n - 1),
            ),
            st.integers(0, n - 1),
            st.lists(st.integers(0, n - 1), min_size=batch, max_size=batch).map(lambda v: [*v[:-1], "1"]),
            st.lists(st.integers(0, n - 1), min_size=batch - 1, max_size=batch - 1).map(lambda v: [*v, [0]]),
            NOT_NUMBERS,
        )
    return st.one_of(valid.map(lambda a: (True, a)), invalid.map(lambda a: (False, a)))


def actions_for(env: Any, vector: bool) -> st.SearchStrategy:
    space = env.single_action_space if vector else env.action_space
    if isinstance(space, gym.spaces.Discrete):
        return discrete_actions(int(space.n), NUM_ENVS if vector else None)
    assert isinstance(space, gym.spaces.Box) and (space.low == -1).all() and (space.high == 1).all()
    return box_actions((NUM_ENVS, *space.shape) if vector else space.shape)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and (
                np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
                if a.dtype != object
                else a.tolist() == b.tolist()
            )
        )
    return True


@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
@pytest.mark.parametrize(("name", "action_type"), ACTION_CASES)
@fuzz(40)
@given(data=st.data())
def test_actions_step_or_raise_a_clear_error(
    name: str, action_type: str, vector: bool, data: st.DataObject
) -> None:
    env = cached_env(name, action_type, vector)
    valid, action = data.draw(actions_for(env, vector), "action")
    before = copy.deepcopy(action) if isinstance(action, np.ndarray) else None
    with strict(10.0, collect=False):
        if valid:
            obs, reward, terminated, truncated, _ = env.step(action)
            check_observation(env, obs)
            assert np.isfinite(reward).all()
            if not vector and (terminated or truncated):
                env.reset()
        else:
            with pytest.raises(ValueError) as raised:
                env.step(action)
            message = str(raised.value)
            assert message.startswith(f"{name}: action") and " must " in message, message
            # the env is still usable after a refused call
            obs, *_ = env.step(env.action_space.sample())
            check_observation(env, obs)
    if before is not None:
        assert same(before, action), "the caller's action array was modified"


# ============================================================================================
# 3. Configs
# ============================================================================================
def example_configs() -> list[tuple[str, dict[str, Any]]]:
    """The embedded default and every example config in experiments/ (wherever a study keeps them;
    run directories' copies are left out)."""
    configs = [("default", default_config_data())]
    for path in sorted(REPO.glob("experiments/**/*.yaml")):
        if "runs" in path.relative_to(REPO).parts:
            continue
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):  # moved away meanwhile, or not a config
            continue
        if isinstance(data, dict) and "agent" in data and set(data) <= set(SECTIONS):
            configs.append((str(path.relative_to(REPO)), data))
    return configs


EXAMPLES = example_configs()
CONFIG_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.sampled_from([-1, 0, 1, 2**63, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.sampled_from(["", "abc", "1e6", "auto", "dqn", "cpu", "rlsuite/Racetrack-v0", "none"]),
    st.lists(st.integers(-2, 64), max_size=3),
    st.lists(st.text(max_size=2), max_size=2),
    st.sampled_from([[], [[1]], {}, {"a": 1}, {"algo": "dqn"}, {"obs_type": "pixels"}, [1.5]]),
)


def paths(data: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every key path (and list index) in nested YAML data."""
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def same_type_value(value: Any) -> st.SearchStrategy:
    """Another value of ``value``'s type (its range is not kept: ranges are what is tested)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(st.integers(-2, 100), st.integers(-(2**64), 2**64))
    if isinstance(value, float):
        return st.one_of(st.floats(-2.0, 2.0), st.floats(allow_nan=False, allow_infinity=False))
    if isinstance(value, list):
        return st.lists(st.integers(-1, 64), max_size=3)
    return st.just(value)


@st.composite
def mutated_config(draw) -> dict[str, Any]:
    """An example config with 1–3 random mutations: a key deleted, a value replaced by another of
    its type or by one of another type (or a whole section replaced), an unknown key added."""
    _, data = draw(st.sampled_from(EXAMPLES))
    data = copy.deepcopy(data)  # never the examples themselves: every draw starts from the same data
    for _ in range(draw(st.integers(1, 3))):
        operation = draw(st.sampled_from(["delete", "same type", "same type", "junk", "section", "unknown"]))
        if operation == "section":
            section = draw(st.sampled_from(SECTIONS))
            data[section] = copy.deepcopy(draw(st.one_of(CONFIG_JUNK, st.sampled_from(["dqn", ["dqn"], 1]))))
            continue
        options = list(paths(data))
        if not options:
            break
        path = draw(st.sampled_from(options))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if operation == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif operation == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["lr", "learning_rat", "foo", "num_env", "1", "kwargs", "algo"]))] = 1
        elif operation == "same type":
            parent[path[-1]] = draw(same_type_value(parent[path[-1]]))
        else:
            parent[path[-1]] = copy.deepcopy(draw(CONFIG_JUNK))  # sampled_from hands out shared objects
    return data


def assert_one_line_config_error(error: ConfigError) -> None:
    message = str(error)
    assert message and "\n" not in message, repr(message)
    assert ": " in message, message  # "<key>: <what is wrong; what is allowed>"


def test_every_example_config_is_valid() -> None:
    """The unmutated examples are the fuzzer's seeds: they validate (and there are some)."""
    assert len(EXAMPLES) >= 10
    for source, data in EXAMPLES:
        try:
            from_dict(copy.deepcopy(data))
        except ConfigError as error:
            if "needs the package" not in str(error):  # an optional framework (sb3, ray) is missing
                pytest.fail(f"{source}: {error}")


@fuzz(200)
@given(data=mutated_config())
def test_mutated_configs_validate_or_raise_a_config_error(data: dict[str, Any]) -> None:
    with strict(20.0, collect=False):
        try:
            config = from_dict(copy.deepcopy(data))
        except ConfigError as error:
            event("ConfigError")
            assert_one_line_config_error(error)
            return
        event("valid")
        # a valid config round-trips through plain data (what a run directory's config.yaml holds)
        assert to_dict(from_dict(to_dict(config))) == to_dict(config)


SECTION_KEYS = sorted(
    {".".join(map(str, p)) for _, d in EXAMPLES for p in paths(d) if all(isinstance(k, str) for k in p)}
)
OVERRIDE_KEYS = st.one_of(
    st.sampled_from(SECTION_KEYS),
    st.sampled_from(["agent", "env", "train", "log", "encoder", "a.b.c.d", "agent.algo.x", "env.kwargs.x.y"]),
    st.sampled_from(["", ".", "a..b", "train.", ".train", "env.num_envs.", "Train.total_steps", "é"]),
    st.lists(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), min_size=1, max_size=4).map(".".join),
)
OVERRIDE_VALUES = st.one_of(
    st.sampled_from(
        [
            "dqn",
            "-1",
            "0",
            "abc",
            "1e6",
            "1e400",
            ".nan",
            ".inf",
            "-.inf",
            "null",
            "~",
            "''",
            "true",
            "yes",
            "[]",
            "[1, 2]",
            "[a",
            "{a: 1}",
            "{",
            "}",
            "{algo: dqn}",
            "2020-01-01",
            "0x10",
            "1_000",
            "!!binary aGk=",
            "!!python/object/apply:os.system [ls]",
            "&a [*a]",
            "*b",
            "a: b: c",
            "- 1",
            "'",
            '"',
            "\\",
            "%",
            "@",
            "99999999999999999999999999",
            "1.0e-400",
            "!!set {a, b}",
            "{[1]: 2}",
            "{? [1] : 2}",
        ]
    ),
    st.text(max_size=8),
    CONFIG_JUNK.map(json.dumps),
)
OVERRIDES = st.lists(
    st.one_of(
        st.builds(lambda k, v: f"{k}={v}", OVERRIDE_KEYS, OVERRIDE_VALUES),
        st.sampled_from(
            ["agent=dqn", "train.total_steps=-1", "env.num_envs=abc", "a.b.c.d=1", "=1", "novalue"]
        ),
    ),
    min_size=1,
    max_size=3,
)


@fuzz(200)
@given(overrides=OVERRIDES)
def test_overrides_give_a_valid_config_or_a_config_error(overrides: list[str]) -> None:
    with strict(20.0, collect=False):
        try:
            load_config(None, overrides)
        except ConfigError as error:
            event("ConfigError")
            assert_one_line_config_error(error)
        else:
            event("valid")


# -- the command line ------------------------------------------------------------------------
def run_cli(
    argv: list[str], capsys: pytest.CaptureFixture[str], seconds: float = 60.0, collect: bool = True
) -> tuple[int, str]:
    from rlsuite.cli import main

    capsys.readouterr()
    with strict(seconds, collect=collect):
        code = main(argv)
    err = capsys.readouterr().err
    return code, err


def assert_clear_cli_error(code: int, err: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("rlsuite train: error: "), (code, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err


@fuzz(40)
@given(overrides=OVERRIDES)
def test_bad_overrides_on_the_command_line_are_one_line_and_exit_2(
    overrides: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        load_config(None, overrides)
    except ConfigError:
        pass
    else:
        assume(False)  # a valid config would train the default job: not here
    assume(not overrides[0].startswith("-"))  # argparse's own option errors print usage too
    code, err = run_cli(["train", *overrides], capsys, collect=False)  # refused before any env is built
    assert_clear_cli_error(code, err)


CONFIG_FILES = st.one_of(
    mutated_config().map(lambda data: yaml.safe_dump(data).encode()),
    st.sampled_from(
        [
            b"",
            b"- 1\n- 2\n",
            b"just a string",
            b"agent: [\n",
            b"agent: dqn\n",
            b"\xff\xfe\x00 not utf-8",
            b"!!python/object/apply:os.system [ls]\n",
            b"env: &a [*a]\n",
            b"agent: {algo: dqn}\nagent: {algo: q_learning}\n",
            b"env:\n\tid: x\n",
        ]
    ),
    st.binary(max_size=20),
)


@fuzz(25)
@given(content=CONFIG_FILES, overrides=st.sampled_from([[], ["train.seed=1"], ["agent.algo=dqn"]]))
def test_bad_config_files_on_the_command_line_are_one_line_and_exit_2(
    content: bytes, overrides: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    try:
        load_config(path, overrides)
    except ConfigError as error:
        assert_one_line_config_error(error)
    else:
        assume(False)  # a valid config would train: not here
    code, err = run_cli(["train", str(path), *overrides], capsys, collect=False)
    assert_clear_cli_error(code, err)


def tiny_run(tmp_path: Path) -> list[str]:
    """Overrides that make any DQN or tabular run of the default config a second or two."""
    return [
        "train.total_steps=200",
        "train.eval_every=0",
        "train.eval_episodes=1",
        "train.eval_num_envs=1",
        "train.device=cpu",
        "env.num_envs=2",
        f"log.run_dir={tmp_path}",
        "log.progress=none",
    ]


DQN = ["agent.learning_starts=32", "agent.batch_size=16", "agent.buffer_size=256", "agent.net_arch=[16]"]
DQN += ["agent.target_update_interval=64", "agent.train_freq=1"]
DQN_KEYS = {
    "agent.gamma": st.one_of(real(0.0, 1.0), CONFIG_JUNK),
    "agent.n_steps": st.one_of(st.integers(1, 4), CONFIG_JUNK),
    "agent.double_q": st.booleans(),
    "agent.dueling": st.booleans(),
    "agent.prioritized_replay": st.booleans(),
    "agent.loss": st.sampled_from(["huber", "mse", "l1"]),
    "agent.activation": st.sampled_from(["relu", "tanh", "elu", "gelu"]),
    "agent.net_arch": st.one_of(st.lists(st.integers(1, 16), min_size=1, max_size=2), CONFIG_JUNK),
    "agent.buffer_size": st.one_of(st.integers(1, 300), CONFIG_JUNK),
    "agent.max_grad_norm": st.one_of(real(0.0, 100.0), CONFIG_JUNK),
    "agent.exploration_final_eps": st.one_of(real(0.0, 1.0), CONFIG_JUNK),
    "train.seed": st.one_of(st.integers(0, 2**63 - 1), CONFIG_JUNK),
    "env.kwargs.lidar_rays": st.one_of(st.integers(0, 8), CONFIG_JUNK),
    "env.kwargs.track": st.one_of(st.sampled_from(["oval", "random", 7]), CONFIG_JUNK),
    "env.kwargs.action_type": st.sampled_from(["discrete", "discrete", "continuous"]),
    "env.kwargs.max_episode_steps": st.one_of(st.integers(1, 40), CONFIG_JUNK),
}
TABULAR = [
    "agent={algo: q_learning}",
    "env.id=rlsuite/GridRacetrack-v0",
    "env.kwargs={max_episode_steps: 50}",
]
TABULAR_KEYS = {
    "agent.algo": st.sampled_from(["q_learning", "sarsa", "expected_sarsa", "double_q_learning", "tabular"]),
    "agent.learning_rate": st.one_of(real(0.0, 1.0, open_low=True), CONFIG_JUNK),
    "agent.exploration_schedule": st.sampled_from(["linear", "exponential", "cosine"]),
    "agent.initial_value": st.one_of(real(-1e6, 1e6), CONFIG_JUNK),
    "agent.bins": st.one_of(st.none(), st.integers(1, 4), CONFIG_JUNK),
    "env.kwargs.noise": st.one_of(real(0.0, 1.0), CONFIG_JUNK),
    "env.kwargs.track": st.one_of(st.sampled_from(["classic", "wide", ["SoF"], ["S.F"]]), CONFIG_JUNK),
}


def yaml_value(value: Any) -> str:
    """An override's value as YAML (JSON is YAML; NaN and infinities in YAML's spelling)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    return json.dumps(value)


@st.composite
def run_overrides(draw, base: list[str], keys: dict[str, st.SearchStrategy]) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, min_size=1, max_size=3))
    return [*base, *(f"{key}={yaml_value(draw(keys[key]))}" for key in chosen)]


RUNS = {"dqn": (DQN, DQN_KEYS), "tabular": (TABULAR, TABULAR_KEYS)}


@pytest.mark.parametrize("family", list(RUNS))
@fuzz(5)
@given(data=st.data())
def test_mutated_tiny_runs_train_or_fail_clearly(
    family: str, data: st.DataObject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid settings train (a real, tiny ``rlsuite train``); bad ones are one clear line, exit 2 —
    also those only the env or the agent can judge (env kwargs, spaces), found after validation."""
    overrides = data.draw(run_overrides(*RUNS[family]), "overrides")
    runs_before = set(tmp_path.iterdir())
    code, err = run_cli(["train", *tiny_run(tmp_path), *overrides], capsys)
    event(f"exit {code}")
    if code == 0:
        assert "Traceback" not in err and "Exception ignored" not in err, err
        (run_dir,) = set(tmp_path.iterdir()) - runs_before
        assert (run_dir / "config.yaml").is_file(), "a run that succeeded has its run directory"
    else:
        assert_clear_cli_error(code, err)
        assert set(tmp_path.iterdir()) == runs_before, "a refused config leaves nothing behind"
