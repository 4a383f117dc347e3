"""The one contract every rlsuite env meets, parametrised over the registry (a new env is covered as
soon as it is registered: it only needs a line in ``VARIANTS`` and ``ENDINGS`` below, and a test
fails until it has one).

The reference semantics are Gymnasium's own: the native vector env of ``n`` sub-envs equals
``gymnasium.make_vec(id, num_envs=n, vectorization_mode="sync")`` — observations, rewards,
terminations, truncations, every info value and ``_key`` mask, and ``render()`` — after
``reset(seed=int)``, ``reset(seed=[...])``, masked resets with and without a seed, across NEXT_STEP
autoresets, terminations and time-limit truncations. Plus Gymnasium's ``check_env``, determinism,
pickle round trips and the render modes, for every observation and action type.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.registration import ENV_SPECS

IDS = [spec.id for spec in ENV_SPECS]
SPACES = [dict(obs_type=o, action_type=a) for o in ("state", "pixels") for a in ("continuous", "discrete")]
SMALL = dict(pixel_shape=(24, 24))  # pixels stay cheap; the drawing code is the same at any size

# Every observation and action type of each env.
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "rlsuite/Racetrack-v0": [{**s, **SMALL} for s in SPACES]
    + [dict(track="random", color_jitter=40, width_jitter=1.0)],
    "rlsuite/Highway-v0": [{**s, **SMALL} for s in SPACES] + [dict(color_jitter=100, lane_width=(3.0, 5.0))],
    "rlsuite/GridRacetrack-v0": [{}, dict(noise=0.3)],
    "rlsuite/Reacher-v0": [{**s, **SMALL} for s in SPACES]
    + [dict(obs_type="pixels", color_jitter=60, width_jitter=0.5, **SMALL)],
    "rlsuite/Pusher-v0": [{**s, **SMALL} for s in SPACES] + [dict(n_links=3, color_jitter=60)],
}

# Settings under which random actions end episodes both by termination and by truncation.
TINY_TRACK = ["....FF", ".oooFF", ".oo...", ".SS..."]
ENDINGS: dict[str, dict[str, Any]] = {
    "rlsuite/Racetrack-v0": dict(  # random driving leaves a narrow hairpin's road
        max_episode_steps=30, track="hairpin", off_track_tolerance=0.0, width_jitter=2.0
    ),
    "rlsuite/Highway-v0": dict(max_episode_steps=10, vehicles_density=2.5),  # crashes and lane exits
    "rlsuite/GridRacetrack-v0": dict(max_episode_steps=6, track=TINY_TRACK),  # finishes and crashes
    "rlsuite/Reacher-v0": dict(max_episode_steps=40, terminate_on_success=True, success_tolerance=0.06),
    "rlsuite/Pusher-v0": dict(max_episode_steps=40, terminate_on_success=True, goal_radius=0.1),
}

# Envs whose ENDINGS also make a step terminate and hit the time limit at once (both flags set).
BOTH_ENDINGS = {"rlsuite/GridRacetrack-v0"}

CASES = [(env_id, variant) for env_id in IDS for variant in VARIANTS.get(env_id, [{}])]
CASE_IDS = [
    f"{env_id.split('/')[1]}-{'-'.join(f'{k}={v}' for k, v in variant.items()) or 'default'}"
    for env_id, variant in CASES
]


def test_every_registered_env_has_contract_settings() -> None:
    assert sorted(VARIANTS) == sorted(IDS), "add the new env's variants to VARIANTS"
    assert sorted(ENDINGS) == sorted(IDS), "add settings that end episodes both ways to ENDINGS"


# --------------------------------------------------------------------------------------------
# Native vector env == SyncVectorEnv over the single env
# --------------------------------------------------------------------------------------------
def _assert_infos_equal(native: dict, sync: dict, where: str) -> None:
    assert sorted(native) == sorted(sync), f"{where}: info keys {sorted(native)} != {sorted(sync)}"
    for key, expected in sync.items():
        if isinstance(expected, dict):
            _assert_infos_equal(native[key], expected, f"{where} info[{key!r}]")
            continue
        value = native[key]
        assert isinstance(value, np.ndarray), f"{where}: info[{key!r}] is a {type(value).__name__}"
        assert value.dtype == expected.dtype, (
            f"{where}: info[{key!r}] dtype {value.dtype} != {expected.dtype}"
        )
        np.testing.assert_array_equal(value, expected, err_msg=f"{where}: info[{key!r}]")


def _assert_same(native: tuple, sync: tuple, where: str) -> None:
    names = ("observations", "rewards", "terminations", "truncations")
    for name, a, b in zip(names, native[:-1], sync[:-1]):
        assert a.dtype == b.dtype, f"{where}: {name} dtype {a.dtype} != {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=f"{where}: {name}")
    _assert_infos_equal(native[-1], sync[-1], where)


def _random_seed(rng: np.random.Generator, num_envs: int) -> int | list[int | None] | None:
    kind = rng.integers(3)
    if kind == 0:
        return None
    if kind == 1:
        return int(rng.integers(1000))
    return [None if rng.random() < 0.3 else int(rng.integers(1000)) for _ in range(num_envs)]


def drive_both(env_id: str, kwargs: dict, num_envs: int, steps: int, seed: int, render: bool = False) -> dict:
    """Drive the native vector env and SyncVectorEnv with the same seeds, actions and (masked)
    resets; assert they agree after every call; count how episodes ended."""
    mode = "rgb_array" if render else None
    native = gym.make_vec(
        env_id, num_envs, vectorization_mode="vector_entry_point", render_mode=mode, **kwargs
    )
    sync = gym.make_vec(env_id, num_envs, vectorization_mode="sync", render_mode=mode, **kwargs)
    assert native.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert native.single_observation_space == sync.single_observation_space
    assert native.single_action_space == sync.single_action_space
    rng = np.random.default_rng(seed)
    native.action_space.seed(seed)
    _assert_same(native.reset(seed=seed), sync.reset(seed=seed), f"{env_id} reset(seed={seed})")
    ends = dict(terminated=0, truncated=0, both=0, masked_resets=0)
    for t in range(steps):
        where = f"{env_id} {kwargs} step {t}"
        draw = rng.random()
        if draw < 0.04:  # a masked reset, with or without seeds
            mask = rng.random(num_envs) < 0.5
            mask[rng.integers(num_envs)] = True
            reset_seed = _random_seed(rng, num_envs)
            options = {"reset_mask": mask.copy()}
            got = native.reset(seed=reset_seed, options=options)
            assert "reset_mask" in options, "reset must not modify the caller's options"
            expected = sync.reset(seed=reset_seed, options={"reset_mask": mask.copy()})
            _assert_same(got, expected, f"{where}: reset(seed={reset_seed}, mask={mask})")
            ends["masked_resets"] += 1
            continue
        if draw < 0.05:  # a full reset
            reset_seed = _random_seed(rng, num_envs)
            _assert_same(
                native.reset(seed=reset_seed), sync.reset(seed=reset_seed), f"{where}: reset({reset_seed})"
            )
            continue
        actions = native.action_space.sample()
        got, expected = native.step(actions), sync.step(actions)
        _assert_same(got, expected, where)
        terminated, truncated = expected[2], expected[3]
        ends["terminated"] += int(terminated.sum())
        ends["truncated"] += int(truncated.sum())
        ends["both"] += int((terminated & truncated).sum())
        if render and t % 40 == 0:
            frames, sync_frames = native.render(), sync.render()
            assert isinstance(frames, tuple) and len(frames) == num_envs
            for i, (a, b) in enumerate(zip(frames, sync_frames)):
                np.testing.assert_array_equal(a, b, err_msg=f"{where}: render() frame {i}")
    native.close()
    sync.close()
    return ends


@pytest.mark.parametrize(("env_id", "variant"), CASES, ids=CASE_IDS)
def test_native_vector_env_equals_sync_vector_env(env_id: str, variant: dict) -> None:
    pixels = variant.get("obs_type") == "pixels"
    num_envs, steps = (6, 400) if pixels else (8, 500)  # 2,400–4,000 sub-env steps per variant
    ends = drive_both(
        env_id, {**ENDINGS[env_id], **variant}, num_envs, steps, seed=CASES.index((env_id, variant))
    )
    assert ends["terminated"] >= 3, f"{env_id} {variant}: too few terminations to test them: {ends}"
    assert ends["truncated"] >= 3, f"{env_id} {variant}: too few truncations to test them: {ends}"
    assert ends["masked_resets"] >= 3, ends
    if env_id in BOTH_ENDINGS:
        assert ends["both"] >= 1, f"{env_id} {variant}: no step ended both ways: {ends}"


@pytest.mark.parametrize("env_id", IDS)
def test_render_returns_what_sync_vector_env_returns(env_id: str) -> None:
    drive_both(env_id, {**ENDINGS[env_id], **VARIANTS[env_id][0]}, num_envs=3, steps=81, seed=1, render=True)
    for mode in (None, "rgb_array"):
        native = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", render_mode=mode)
        sync = gym.make_vec(env_id, 2, vectorization_mode="sync", render_mode=mode)
        native.reset(seed=0)
        sync.reset(seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # render() without a render_mode warns, in both
            got, expected = native.render(), sync.render()
        assert type(got) is type(expected) is tuple and len(got) == len(expected) == 2
        for a, b in zip(got, expected):
            if b is None:
                assert a is None
            else:
                assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("env_id", IDS)
def test_masked_reset_errors_name_the_problem(env_id: str) -> None:
    envs = gym.make_vec(env_id, 3, vectorization_mode="vector_entry_point")
    envs.reset(seed=0)
    for bad in ([True, False, True], np.zeros(3, bool), np.ones(2, bool), np.ones(3, int)):
        with pytest.raises(ValueError, match="reset_mask"):
            envs.reset(options={"reset_mask": bad})
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="seed"):
        envs.reset(seed=-1)
    with pytest.raises(ValueError, match="reset option"):
        envs.reset(options={"reset_maks": np.ones(3, bool)})


# --------------------------------------------------------------------------------------------
# The single env: check_env, determinism, pickle round trip
# --------------------------------------------------------------------------------------------
def _rollout(env: gym.Env, actions: list, seed: int) -> list[tuple]:
    obs, info = env.reset(seed=seed)
    trace: list[tuple] = [(np.array(obs, copy=True), info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((np.array(obs, copy=True), reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append((np.array(obs, copy=True), info))
    return trace


def _assert_traces_equal(a: list[tuple], b: list[tuple], where: str) -> None:
    assert len(a) == len(b), f"{where}: rollouts differ in length"
    for t, (x, y) in enumerate(zip(a, b)):
        for u, v in zip(x, y):
            if isinstance(u, dict):
                assert u.keys() == v.keys(), f"{where}: info keys differ at entry {t}"
                for key in u:
                    np.testing.assert_array_equal(u[key], v[key], err_msg=f"{where}: info[{key!r}] at {t}")
            else:
                np.testing.assert_array_equal(u, v, err_msg=f"{where}: rollouts differ at entry {t}")


@pytest.mark.parametrize(("env_id", "variant"), CASES, ids=CASE_IDS)
def test_single_env_checks_determinism_and_pickling(env_id: str, variant: dict) -> None:
    kwargs = {**ENDINGS[env_id], **variant}
    env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(150)]
    first = _rollout(gym.make(env_id, **kwargs), actions, seed=3)
    second = _rollout(gym.make(env_id, **kwargs), actions, seed=3)
    _assert_traces_equal(first, second, f"{env_id} {variant}: same seed")
    for step in first[1:]:
        if len(step) == 5:
            obs, reward, *_ = step
            assert env.observation_space.contains(obs) and np.isfinite(reward), (env_id, variant)

    env.reset(seed=5)
    for action in actions[:10]:
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    a = [env.step(action)[:4] for action in actions[10:40]]
    b = [clone.step(action)[:4] for action in actions[10:40]]
    _assert_traces_equal([tuple(x) for x in a], [tuple(y) for y in b], f"{env_id} {variant}: pickled copy")
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    env.close()


@pytest.mark.parametrize(("env_id", "variant"), CASES, ids=CASE_IDS)
def test_single_env_passes_sb3_check_env(env_id: str, variant: dict) -> None:
    """Stable-Baselines3's own env checker, its warnings as errors (SB3 users meet these envs first)."""
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    kwargs = {**ENDINGS[env_id], **variant}
    if kwargs.get("obs_type") == "pixels":
        kwargs["pixel_shape"] = (
            36,
            36,
        )  # the contract's 24×24 is below SB3's CnnPolicy minimum (a policy limit)
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Highway's (vehicles, features) state is highway-env's Kinematics layout; SB3's MlpPolicy flattens it
        warnings.filterwarnings("ignore", message="Your observation  has an unconventional shape")
        sb3_checker.check_env(env.unwrapped, warn=True, skip_render_check=True)
    env.close()
