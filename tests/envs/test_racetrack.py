"""rlsuite/Racetrack-v0: the Gymnasium contract, vector == single, physics and reward behaviour."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.driving.racetrack import DISCRETE_ACTIONS, RacetrackEnv, RacetrackVectorEnv
from tests.envs.contract import check_env_contract, check_partial_reset, check_vector_matches_single

ENV_ID = "rlsuite/Racetrack-v0"

VARIANTS = [
    {},
    {"action_type": "discrete"},
    {"obs_type": "pixels"},
    {"obs_type": "pixels", "grayscale": True, "action_type": "discrete", "pixel_shape": (48, 64)},
    {"track": "random", "lidar_rays": 0},
    {"track": 7, "color_jitter": 40, "width_jitter": 1.5, "obs_type": "pixels"},
]


def _name(kwargs: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in kwargs.items()) or "default"


# ---- the shared contract ----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", VARIANTS, ids=_name)
def test_contract(kwargs):
    check_env_contract(ENV_ID, steps=150, **kwargs)


@pytest.mark.parametrize("kwargs", VARIANTS, ids=_name)
def test_vector_matches_single(kwargs):
    check_vector_matches_single(ENV_ID, num_envs=3, steps=150, seed=11, **kwargs)


def test_vector_matches_single_across_truncation():
    check_vector_matches_single(ENV_ID, num_envs=3, steps=60, seed=2, max_episode_steps=7)


def test_partial_reset():
    check_partial_reset(ENV_ID, num_envs=3)


# ---- vector env specifics -------------------------------------------------------------------
def test_next_step_autoreset_and_infos():
    vec = gym.make_vec(ENV_ID, num_envs=2, max_episode_steps=3)
    vec.reset(seed=0)
    for _ in range(3):
        _, _, term, trunc, info = vec.step(np.zeros((2, 2), np.float32))
    assert trunc.all() and not term.any()
    for key in (
        "reward_progress",
        "reward_off_track",
        "reward_crash",
        "progress",
        "laps",
        "speed",
        "off_track",
    ):
        assert info[key].shape == (2,) and info["_" + key].all()
    _, reward, term, trunc, info = vec.step(np.ones((2, 2), np.float32))  # ignored: autoreset step
    assert (reward == 0).all() and not term.any() and not trunc.any()
    assert (info["progress"] == 0).all()


def test_reset_mask_cancels_pending_autoreset_and_leaves_options_alone():
    vec = gym.make_vec(ENV_ID, num_envs=2, max_episode_steps=2)
    vec.reset(seed=0)
    vec.step(np.zeros((2, 2), np.float32))
    _, _, _, trunc, _ = vec.step(np.zeros((2, 2), np.float32))
    assert trunc.all()
    options = {"reset_mask": np.array([True, False])}
    vec.reset(options=options)
    assert list(options) == ["reset_mask"]
    _, reward, _, trunc, _ = vec.step(np.zeros((2, 2), np.float32))
    assert reward[0] != 0.0 and reward[1] == 0.0  # row 0 was reset by the mask, row 1 autoresets now


def test_random_tracks_differ_per_sub_env_and_per_reset():
    vec = RacetrackVectorEnv(num_envs=2, track="random")
    vec.reset(seed=0)
    first = [t.centre.copy() for t in vec._core.table.tracks]
    assert not np.allclose(first[0], first[1])
    vec.reset()
    assert not np.allclose(first[0], vec._core.table.tracks[0].centre)


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
    length = env._core.table.length[0]
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
    return float(env._core.car[0, 3])


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
        env._core.car[0, 3] = speed
        before = env._core.car[0, 2]
        env.step(np.array([1.0, 0.0], np.float32))
        headings.append((env._core.car[0, 2] - before) / speed)  # curvature of the path [1/m]
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
        ({"track": "monza"}, "track"),
        ({"track": -1}, "track"),
        ({"obs_type": "rgb"}, "obs_type"),
        ({"action_type": "box"}, "action_type"),
        ({"pixel_shape": (84,)}, "pixel_shape"),
        ({"lidar_rays": -1}, "lidar_rays"),
        ({"lidar_range": float("nan")}, "lidar_range"),
        ({"off_track_tolerance": -1.0}, "off_track_tolerance"),
        ({"width_jitter": 5.0}, "width_jitter"),
        ({"color_jitter": 300}, "color_jitter"),
        ({"grayscale": "yes"}, "grayscale"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"colour": "red"}, "unknown argument"),
    ],
)
def test_bad_kwargs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RacetrackEnv(**kwargs)


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
