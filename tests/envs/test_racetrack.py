"""rlsuite/Racetrack-v0: physics, reward, observations and rendering of the car on its track.

The Gymnasium contract, native vector env == ``SyncVectorEnv``, masked resets, determinism and
pickling of the single env are checked for every env in ``tests/envs/test_vector_contract.py``."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.driving import racetrack_kernels
from rlsuite.envs.driving.racetrack import DISCRETE_ACTIONS, RacetrackEnv, RacetrackVectorEnv
from rlsuite.envs.driving.racetrack_core import PROGRESS_REWARD, RacetrackCore
from rlsuite.envs.driving.racetrack_kernels import CAR, DT, _progress_kernel, _state_obs_kernel
from rlsuite.envs.driving.vehicle import pedal_to_accel, step_bicycle

ENV_ID = "rlsuite/Racetrack-v0"
STEP_KEYS = (
    "reward_progress", "reward_off_track", "reward_crash", "progress", "laps", "speed", "off_track", "crashed",
    "lap_time",
)  # fmt: skip
STEP_TYPES = [float] * 4 + [int, float, bool, bool, float]


# ---- info, the core, compilation -------------------------------------------------------------
def test_info_keys_types_and_the_autoreset_step():
    env = RacetrackEnv()
    _, info = env.reset(seed=0)
    assert tuple(info) == STEP_KEYS and info["progress"] == 0.0 and info["laps"] == 0  # as a step's
    assert [type(info[key]) for key in STEP_KEYS] == STEP_TYPES
    assert 5.0 <= info["speed"] <= 10.0 and info["off_track"] is False and info["crashed"] is False
    assert info["reward_progress"] == info["reward_crash"] == 0.0 and info["lap_time"] == np.inf  # no lap yet
    info = env.step(np.zeros(2, np.float32))[4]
    assert tuple(info) == STEP_KEYS
    assert [type(info[key]) for key in STEP_KEYS] == STEP_TYPES

    vec = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", max_episode_steps=3)
    vec.reset(seed=0)
    for _ in range(3):
        _, _, term, trunc, info = vec.step(np.zeros((2, 2), np.float32))
    assert trunc.all() and not term.any()
    dtypes = [np.float64] * 4 + [np.int64, np.float64, np.bool_, np.bool_, np.float64]
    for key, dtype in zip(STEP_KEYS, dtypes):
        assert info[key].shape == (2,) and info[key].dtype == dtype and info["_" + key].all()
    _, reward, term, trunc, info = vec.step(np.ones((2, 2), np.float32))  # ignored: autoreset step
    assert (reward == 0).all() and not term.any() and not trunc.any()
    assert sorted(info) == sorted([*STEP_KEYS, *("_" + key for key in STEP_KEYS)])  # the reset info
    assert (info["progress"] == 0).all() and (info["reward_progress"] == 0).all()
    assert (info["lap_time"] == np.inf).all() and not info["crashed"].any()


def test_both_envs_drive_one_racetrack_core():
    env, vec = RacetrackEnv(), RacetrackVectorEnv(num_envs=3)
    assert isinstance(env.core, RacetrackCore) and env.core.batch == 1
    assert isinstance(vec.core, RacetrackCore) and vec.core.batch == 3
    assert env.metadata["render_fps"] == vec.metadata["render_fps"] == 10


@pytest.mark.parametrize(
    "kwargs", [{}, {"obs_type": "pixels", "action_type": "discrete"}], ids=["state", "pixels"]
)
def test_construction_compiles_what_reset_and_step_run(kwargs):
    kernels = (
        racetrack_kernels._step_rows,
        racetrack_kernels._state_obs_kernel,
        racetrack_kernels._colour_tables,
        racetrack_kernels._egocentric_serial,
        racetrack_kernels._egocentric_parallel,
    )
    envs = [RacetrackEnv(**kwargs), RacetrackVectorEnv(num_envs=4, **kwargs)]
    compiled = [len(kernel.signatures) for kernel in kernels]
    for env in envs:
        env.reset(seed=0)
        env.step(env.action_space.sample())
    assert [len(kernel.signatures) for kernel in kernels] == compiled  # nothing new to compile


def test_random_tracks_differ_per_sub_env_and_per_reset():
    vec = RacetrackVectorEnv(num_envs=2, track="random")
    vec.reset(seed=0)
    first = [t.centre.copy() for t in vec.core.table.tracks]
    assert not np.allclose(first[0], first[1])
    vec.reset()
    assert not np.allclose(first[0], vec.core.table.tracks[0].centre)


# ---- physics and reward -----------------------------------------------------------------------
def _follow_centre_line(env: RacetrackEnv, obs: np.ndarray) -> np.ndarray:
    """A simple proportional controller on heading error and lateral offset (state observations)."""
    steer = np.clip(-2.0 * obs[1] * np.pi - 0.8 * obs[2], -1.0, 1.0)
    pedal = 0.3 if obs[0] < 0.45 else -0.2
    return np.array([steer, pedal], np.float32)


def test_controller_laps_the_oval_and_progress_adds_up():
    env = RacetrackEnv(track="oval", random_start=False)
    obs, _ = env.reset(seed=0)
    total_reward, laps = 0.0, 0
    for _ in range(1000):
        obs, reward, terminated, truncated, info = env.step(_follow_centre_line(env, obs))
        total_reward += reward
        laps = info["laps"]
        assert not terminated and not info["off_track"]
    length = env.core.table.length[0]
    assert laps >= 1 and info["progress"] > length
    assert total_reward == pytest.approx(0.1 * info["progress"], rel=1e-6)


def test_circling_in_place_earns_nothing():
    env = RacetrackEnv(track="oval", random_start=False, off_track_tolerance=20.0)
    env.reset(seed=0)
    total = 0.0
    for _ in range(200):  # slow, full lock: circles of ~6 m radius around one spot
        obs, reward, terminated, _, info = env.step(
            np.array([1.0, 0.0 if obs_speed(env) > 3 else 0.2], np.float32)
        )
        total += info["reward_progress"]
        assert not terminated
    assert abs(total) < 0.1 * 15  # at most the diameter of the circle, not the distance driven


def obs_speed(env: RacetrackEnv) -> float:
    return float(env.core.car[0, 3])


def test_leaving_the_track_is_penalised_then_terminates():
    env = RacetrackEnv(track="oval", random_start=False, off_track_tolerance=1.5)
    env.reset(seed=0)
    penalties, terminated = [], False
    while not terminated:
        _, reward, terminated, _, info = env.step(np.array([1.0, 1.0], np.float32))
        penalties.append(info["reward_off_track"])
    assert info["off_track"] and info["reward_crash"] == -10.0 and info["reward_off_track"] == -0.5
    assert penalties[0] == 0.0  # started on the road


def test_grip_limit_makes_fast_cars_understeer():
    env = RacetrackEnv(track="oval", random_start=False, off_track_tolerance=20.0)
    headings = []
    for speed in (5.0, 25.0):
        env.reset(seed=0)
        env.core.car[0, 3] = speed
        before = env.core.car[0, 2]
        env.step(np.array([1.0, 0.0], np.float32))
        headings.append((env.core.car[0, 2] - before) / speed)  # curvature of the path [1/m]
    assert headings[1] < 0.5 * headings[0]


def test_lidar_sees_further_along_the_road_than_across():
    env = RacetrackEnv(track="oval", random_start=False, lidar_rays=5, lidar_range=50.0)
    obs, _ = env.reset(seed=0)
    lidar = obs[-5:]
    assert lidar[2] > 0.9  # straight ahead along the start straight
    assert lidar[0] < 0.25 and lidar[4] < 0.25  # to the sides: the edges, about 7 m away
    half_width = obs[3] * 10
    offset = obs[2] * half_width
    assert lidar[4] * 50 == pytest.approx(half_width - offset, abs=0.6)  # left edge
    assert lidar[0] * 50 == pytest.approx(half_width + offset, abs=0.6)  # right edge


def test_discrete_actions_are_the_documented_table():
    assert DISCRETE_ACTIONS.shape == (9, 2)
    np.testing.assert_array_equal(DISCRETE_ACTIONS[4], [0.0, 0.0])
    np.testing.assert_array_equal(DISCRETE_ACTIONS[8], [1.0, 1.0])  # left + throttle
    a = RacetrackEnv(action_type="discrete")
    b = RacetrackEnv()
    a.reset(seed=3)
    b.reset(seed=3)
    for i in range(9):
        np.testing.assert_array_equal(a.step(i)[0], b.step(DISCRETE_ACTIONS[i].astype(np.float32))[0])


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_the_step_kernel_drives_the_numpy_bicycle_model(action_type):
    """The step kernel's car is ``vehicle.step_bicycle`` with CAR and DT: the same float operations, but
    tan, arctan and arcsin from the C library, not numpy's SIMD loops (at most a few ulp apart)."""
    n, rng = 4096, np.random.default_rng(2)
    core = RacetrackCore(n, action_type=action_type, off_track_tolerance=20.0)
    core.seed_rows(core.all_rows, np.arange(n, dtype=np.uint64))
    core.reset_rows(core.all_rows, {})
    core.car[:, 3] = np.concatenate([rng.uniform(0, 30, n - 4), [0.0, 0.01, 30.0, 29.99]])  # clips, grip
    if action_type == "discrete":
        actions = rng.integers(0, 9, n)
        pairs = DISCRETE_ACTIONS[actions]
    else:
        actions = np.concatenate([rng.uniform(-1, 1, (n - 4, 2)), [[1, -1], [-1, 1], [1, 1], [-0.0, -0.0]]])
        pairs = actions
    expected = core.car.copy()
    step_bicycle(expected, pairs[:, 0] * CAR.max_steer, pedal_to_accel(pairs[:, 1], CAR), CAR, DT)
    core.step(actions, None)
    np.testing.assert_allclose(core.car, expected, rtol=1e-13, atol=1e-13)
    assert (core.car[:, 3] >= 0).all() and (core.car[:, 3] <= CAR.max_speed).all()
    assert (core.car[:, 2] >= -np.pi).all() and (core.car[:, 2] < np.pi).all()


def test_the_observation_a_step_writes_is_the_state_observation_after_autoresets():
    """The step kernel writes the state observation that ``observe`` hands out; rows reset in between
    (autoreset) are rewritten, so it always equals a fresh ``state_observation``."""
    vec = RacetrackVectorEnv(num_envs=16, track="hairpin", off_track_tolerance=0.0)
    vec.reset(seed=0)
    vec.action_space.seed(0)
    resets = 0
    for _ in range(60):
        obs, _, terminated, truncated, _ = vec.step(vec.action_space.sample())
        np.testing.assert_array_equal(_bits(obs), _bits(vec.core.state_observation()))
        resets += int(terminated.sum() + truncated.sum())
        obs[:] = -1.0  # the caller owns it
        assert (vec.core.observe() != -1.0).any()
    assert resets > 0


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x).view(np.uint8)  # -0.0 != 0.0 here


def test_progress_kernel_computes_the_numpy_expressions_bit_for_bit():
    rng = np.random.default_rng(0)
    n = 20_000
    length = np.array([642.74, 1091.11, 559.9])
    row_track = rng.integers(0, 3, n)
    lap = length[row_track]
    previous = rng.uniform(0, 1, n) * lap
    arc = np.where(rng.random(n) < 0.2, rng.uniform(0, 1, n) * lap, (previous + rng.normal(0, 3, n)) % lap)
    lateral, half = rng.normal(0, 8, n), rng.uniform(3, 9, n)
    start = np.where(rng.random(n) < 0.5, rng.integers(-2, 4, n) * lap, rng.normal(0, 2000, n))
    for penalty, crash, tolerance in ((0.5, 10.0, 1.5), (0.0, 0.0, 0.0)):
        progress = start.copy()
        reward, reward_progress, reward_off_track, reward_crash = np.empty((4, n))
        laps, off_track, crashed = np.empty(n, np.int64), np.empty(n, bool), np.empty(n, bool)
        _progress_kernel(
            arc, previous, length, row_track, lateral, half, PROGRESS_REWARD, penalty, crash, tolerance,
            progress, reward, reward_progress, reward_off_track, reward_crash, laps, off_track, crashed,
        )  # fmt: skip
        advance = arc - previous
        advance -= lap * np.rint(advance / lap)
        expected_progress = start + advance
        excess = np.abs(lateral) - half
        terms = (
            PROGRESS_REWARD * advance,
            np.where(excess > 0.0, -penalty, 0.0),
            np.where(excess > tolerance, -crash, 0.0),
        )
        for got, expected in zip(
            (progress, reward_progress, reward_off_track, reward_crash, reward),
            (expected_progress, *terms, terms[0] + terms[1] + terms[2]),
        ):
            np.testing.assert_array_equal(_bits(got), _bits(expected))
        np.testing.assert_array_equal(laps, np.maximum(expected_progress // lap, 0).astype(np.int64))
        np.testing.assert_array_equal(off_track, excess > 0.0)
        np.testing.assert_array_equal(crashed, excess > tolerance)


def test_state_obs_kernel_computes_the_numpy_expressions_bit_for_bit():
    rng = np.random.default_rng(1)
    n, rays = 20_000, 7
    car = rng.uniform(0, 30, (n, 4))
    heading_error = np.concatenate(
        [rng.uniform(-np.pi, np.pi, n - 4), [np.pi, -np.pi, np.nextafter(np.pi, 0), 0.0]]
    )
    lateral, half = rng.normal(0, 10, n), rng.uniform(1, 9, n)
    curvature, lidar = rng.uniform(-2, 2, (n, 5)), rng.uniform(0, 1, (n, rays))
    obs = np.empty((n, 9 + rays), np.float32)
    _state_obs_kernel(car[:, 3], heading_error, lateral, half, curvature, lidar, 1.0 / 30.0, obs)
    expected = np.empty_like(obs)
    expected[:, 0] = car[:, 3] * (1.0 / 30.0)
    expected[:, 1] = heading_error * (1.0 / np.pi)
    expected[:, 2] = np.clip(lateral / half, -3.0, 3.0)
    expected[:, 3] = half * 0.1
    expected[:, 4:9] = curvature
    expected[:, 9:] = lidar
    np.clip(expected[:, 1], -1.0, 1.0, out=expected[:, 1])
    np.testing.assert_array_equal(_bits(obs), _bits(expected))


# ---- properties ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 2**31),
    actions=st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=60),
)
def test_observations_stay_in_space_and_finite(seed, actions):
    env = RacetrackEnv(track="hairpin", lidar_rays=7)
    obs, _ = env.reset(seed=seed)
    for steer, pedal in actions:
        obs, reward, terminated, _, info = env.step(np.array([steer, pedal], np.float32))
        assert env.observation_space.contains(obs) and np.isfinite(obs).all() and np.isfinite(reward)
        assert 0.0 <= info["speed"] <= 30.0
        if terminated:
            obs, _ = env.reset()


def test_pixels_show_the_car_and_the_road():
    env = RacetrackEnv(obs_type="pixels", track="oval", random_start=False)
    obs, _ = env.reset(seed=0)
    car = np.all(obs == [30, 80, 220], axis=-1)
    road = np.all(obs == [105, 105, 110], axis=-1)
    assert 10 < car.sum() < 60 and car[60:66, 40:44].any()
    assert road[:, 42].mean() > 0.8 and not road[:, 0].any()  # the road runs straight up; grass aside


def test_a_pixel_core_can_give_the_state_observation_next_to_its_frames():
    """What the encoders' ``state`` pretraining regresses: equal, bit for bit, to a state env's observation."""
    kw = {
        "num_envs": 4,
        "vectorization_mode": "vector_entry_point",
        "track": "random",
        "action_type": "discrete",
    }
    pixels = gym.make_vec("rlsuite/Racetrack-v0", obs_type="pixels", **kw)
    state = gym.make_vec("rlsuite/Racetrack-v0", obs_type="state", **kw)
    core = pixels.unwrapped.core
    assert core.state_observation().shape == (4, 4)  # without tracking: speed, heading, lateral, width
    core.track_state_features()
    pixels.reset(seed=3), state.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(60):
        actions = rng.integers(0, 9, 4)
        frames, *_ = pixels.step(actions)
        obs, *_ = state.step(actions)
        assert frames.shape == (4, 84, 84, 3)
        np.testing.assert_array_equal(core.state_observation(), obs)


def test_rgb_array_render_shows_the_whole_track():
    env = RacetrackEnv(track="kidney", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (600, 600, 3) and frame.dtype == np.uint8
    assert np.all(frame == [105, 105, 110], axis=-1).mean() > 0.05
    vec = RacetrackVectorEnv(num_envs=2, render_mode="rgb_array")
    vec.reset(seed=0)
    frames = vec.render()
    assert len(frames) == 2 and frames[0].shape == (600, 600, 3)


def test_pickled_vector_env_continues_identically():
    vec = RacetrackVectorEnv(num_envs=3)
    vec.reset(seed=0)
    clone = pickle.loads(pickle.dumps(vec))
    actions = np.full((3, 2), 0.5, np.float32)
    for _ in range(5):
        for x, y in zip(vec.step(actions)[:4], clone.step(actions)[:4]):
            np.testing.assert_array_equal(x, y)


# ---- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"track": "monza"}, r"Racetrack: track must be one of .*'random'.* or an int seed .*, got 'monza'"),
        ({"track": -1}, r"Racetrack: track must be .*, got -1"),
        ({"obs_type": "rgb"}, r"Racetrack: obs_type must be one of \('state', 'pixels'\), got 'rgb'"),
        ({"action_type": "box"}, r"Racetrack: action_type must be one of .*, got 'box'"),
        ({"pixel_shape": (84,)}, r"Racetrack: pixel_shape must be an int or a pair \(height, width\)"),
        ({"pixel_shape": 4}, r"Racetrack: pixel_shape must be .* in \[8, 1024\] pixels, got 4"),
        ({"lidar_rays": -1}, r"Racetrack: lidar_rays must be an integer in \[0, 64\], got -1"),
        ({"lidar_rays": True}, r"Racetrack: lidar_rays must be an integer"),
        (
            {"lidar_range": float("nan")},
            r"Racetrack: lidar_range must be a finite number in \[1.0, 500.0\] m, got nan",
        ),
        (
            {"off_track_tolerance": -1.0},
            r"Racetrack: off_track_tolerance must be a finite number in \[0.0, 20.0\]",
        ),
        (
            {"crash_penalty": -1.0},
            r"Racetrack: crash_penalty must be a finite number in \[0.0, 1000000.0\], got -1.0",
        ),
        (
            {"width_jitter": 5.0},
            r"Racetrack: width_jitter must be a finite number in \[0.0, 2.0\] m, got 5.0",
        ),
        ({"color_jitter": 300}, r"Racetrack: color_jitter must be an integer in \[0, 255\], got 300"),
        ({"color_jitter": 0.5}, r"Racetrack: color_jitter must be an integer"),
        ({"grayscale": "yes"}, r"Racetrack: grayscale must be True or False, got 'yes'"),
        ({"render_mode": "ansi"}, r"Racetrack: render_mode must be one of"),
        ({"colour": "red"}, r"Racetrack: unknown kwarg\(s\) \['colour'\]"),
        ({"max_episode_steps": 10}, r"Racetrack: the single env takes no max_episode_steps"),
    ],
)
def test_bad_kwargs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RacetrackEnv(**kwargs)
    if "max_episode_steps" not in kwargs:
        with pytest.raises(ValueError, match=match):
            RacetrackVectorEnv(num_envs=2, **kwargs)


def test_pixel_shape_is_an_int_or_height_width():
    assert RacetrackEnv(obs_type="pixels", pixel_shape=40).observation_space.shape == (40, 40, 3)
    env = RacetrackEnv(obs_type="pixels", pixel_shape=(32, 48), grayscale=True)
    assert env.observation_space.shape == (32, 48, 1)
    assert env.reset(seed=0)[0].shape == (32, 48, 1)


@pytest.mark.parametrize(
    "action_type, action, match",
    [
        ("continuous", np.array([0.0, 1.5], np.float32), r"\[-1, 1\]"),
        ("continuous", np.array([np.nan, 0.0], np.float32), r"\[-1, 1\]"),
        ("continuous", np.zeros(3, np.float32), "shape"),
        ("discrete", 9, r"\[0, 9\)"),
        ("discrete", 1.0, "int"),
    ],
)
def test_bad_actions_are_named(action_type, action, match):
    env = RacetrackEnv(action_type=action_type)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


def test_bad_vector_actions_are_named():
    vec = RacetrackVectorEnv(num_envs=2)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="reset_mask"):
        vec.reset(options={"reset_mask": np.array([1, 0])})


# ---- learning (slow) -------------------------------------------------------------------------
@pytest.mark.slow
def test_sb3_ppo_makes_progress_on_state_observations():
    torch = pytest.importorskip("torch")
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    kwargs = {"track": "oval", "lidar_rays": 5}
    env = make_vec_env(ENV_ID, n_envs=8, seed=0, env_kwargs=kwargs)
    model = sb3.PPO("MlpPolicy", env, n_steps=128, batch_size=256, seed=0, verbose=0)
    model.learn(total_timesteps=30_000)

    def episode_return(policy) -> float:
        eval_env = gym.make(ENV_ID, max_episode_steps=300, **kwargs)
        returns = []
        for seed in range(5):
            obs, _ = eval_env.reset(seed=100 + seed)
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, _ = eval_env.step(policy(obs))
                total += reward
                done = terminated or truncated
            returns.append(total)
        return float(np.mean(returns))

    rng = np.random.default_rng(0)
    random_return = episode_return(lambda obs: rng.uniform(-1, 1, 2).astype(np.float32))
    trained_return = episode_return(lambda obs: model.predict(obs, deterministic=True)[0])
    assert trained_return > random_return + 5.0, (trained_return, random_return)
