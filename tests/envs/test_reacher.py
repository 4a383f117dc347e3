"""rlsuite/Reacher-v0: the task itself, its errors, and learning (the env contract: test_vector_contract.py)."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.robot.reacher import ReacherEnv, ReacherVectorEnv

ENV_ID = "rlsuite/Reacher-v0"

# check_env, determinism, pickling and equality with SyncVectorEnv: tests/envs/test_vector_contract.py


def test_make_vec_builds_the_native_vector_env_with_the_registered_horizon():
    vec = gym.make_vec(ENV_ID, num_envs=2)
    assert isinstance(vec, ReacherVectorEnv)
    assert vec.max_episode_steps == gym.spec(ENV_ID).max_episode_steps == 100
    vec.reset(seed=0)
    for _ in range(100):
        _, rewards, terminated, truncated, infos = vec.step(vec.action_space.sample())
    assert truncated.all() and not terminated.any()
    _, rewards, terminated, truncated, infos = vec.step(vec.action_space.sample())  # autoreset step
    assert np.all(rewards == 0) and not (terminated | truncated).any()
    assert infos["_reward_dist"].all() and infos["_is_success"].all()  # the reset info, as SyncVectorEnv's
    assert (infos["reward_dist"] == 0).all() and (infos["distance"] > 0).all()


def test_terminate_on_success_ends_the_episode_on_the_target():
    env = ReacherEnv(terminate_on_success=True)
    env.reset(seed=0)
    env.core.target[0] = env.core.points[0, -1]  # the fingertip is on the target
    _, _, terminated, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert terminated and info["is_success"]


def test_single_env_constructed_directly_never_truncates():
    env = ReacherEnv()
    env.reset(seed=0)
    for _ in range(150):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert not terminated and not truncated


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(
        st.lists(st.floats(-1.0, 1.0, allow_nan=False, width=32), min_size=2, max_size=2),
        min_size=1,
        max_size=60,
    ),
)
def test_observations_stay_in_space_under_any_action_sequence(seed, actions):
    env = ReacherEnv()
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    for action in actions:
        obs, reward, _, _, info = env.step(np.array(action, dtype=np.float32))
        assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
        assert np.isfinite(reward)
        assert reward == pytest.approx(info["reward_dist"] + info["reward_ctrl"])


# --------------------------------------------------------------------------------------------
# Task
# --------------------------------------------------------------------------------------------
def test_targets_are_reachable_and_reward_is_minus_distance_minus_control_cost():
    env = ReacherEnv(control_weight=0.1)
    reach = env.core.params.reach
    for seed in range(50):
        obs, _ = env.reset(seed=seed)
        assert 0.1 * reach - 1e-6 <= np.linalg.norm(obs[6:8]) <= 0.95 * reach + 1e-6
    action = np.array([0.5, -1.0], dtype=np.float32)
    obs, reward, _, _, info = env.step(action)
    distance = float(np.linalg.norm(obs[8:10].astype(np.float64)))
    assert info["reward_dist"] == pytest.approx(-distance, abs=1e-6)
    assert info["reward_ctrl"] == pytest.approx(-0.1 * (0.25 + 1.0))
    assert reward == pytest.approx(info["reward_dist"] + info["reward_ctrl"])


def test_success_when_the_fingertip_is_on_the_target():
    env = ReacherEnv(success_tolerance=0.02)
    env.reset(seed=1)
    task = env.core
    task.target[0] = task.points[0, -1] + [0.015, 0.0]  # 15 mm from the fingertip, which is at rest…
    task.qd[:] = 0.0
    _, _, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert info["is_success"]
    task.target[0] = task.points[0, -1] + [0.03, 0.0]
    _, _, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    assert not info["is_success"]


def test_discrete_actions_map_to_per_joint_torque_signs():
    env = ReacherEnv(action_type="discrete")
    assert env.action_space == gym.spaces.Discrete(9)
    table = env.core.discrete_torques
    np.testing.assert_array_equal(table[0], [-1, -1])
    np.testing.assert_array_equal(table[4], [0, 0])
    np.testing.assert_array_equal(table[5], [1, 0])  # joint 0 is the least significant digit
    np.testing.assert_array_equal(table[8], [1, 1])
    env.reset(seed=0)
    for action in range(9):  # the kernel computes the digits itself: the same torques as the table
        env.step(action)
        np.testing.assert_array_equal(env.core.control[0], table[action])


def test_a_pickled_env_keeps_its_state_arrays_linked():
    """``q``, ``target``, … are views of one array the kernel writes; a copy must keep them so."""
    env = ReacherEnv()
    env.reset(seed=0)
    copy = pickle.loads(pickle.dumps(env))
    copy.step(np.ones(2, dtype=np.float32))
    env.step(np.ones(2, dtype=np.float32))
    for name in ("q", "qd", "control", "points", "target", "distance"):
        np.testing.assert_array_equal(getattr(copy.core, name), getattr(env.core, name), err_msg=name)
        assert np.shares_memory(getattr(copy.core, name), copy.core.rows)
    assert not np.shares_memory(copy.core.rows, env.core.rows)


def test_visual_randomisation_changes_pixels_but_not_the_episode():
    plain = gym.make(ENV_ID, obs_type="pixels")
    varied = gym.make(ENV_ID, obs_type="pixels", color_jitter=60, width_jitter=0.5)
    a, _ = plain.reset(seed=4)
    b, _ = varied.reset(seed=4)
    assert a.shape == b.shape == (84, 84, 3) and not np.array_equal(a, b)
    for _ in range(20):
        action = np.array([0.3, -0.7], dtype=np.float32)
        *_, info_a = plain.step(action)
        *_, info_b = varied.step(action)
        assert info_a == info_b
    np.testing.assert_array_equal(plain.unwrapped.core.q, varied.unwrapped.core.q)


def test_pixels_show_the_arm_and_target():
    env = ReacherEnv(obs_type="pixels")
    obs, _ = env.reset(seed=0)
    colors = {tuple(c) for c in obs.reshape(-1, 3)}
    palette = env.core.palette[0]
    for slot in (1, 2, 4, 5):  # table, links, fingertip, target
        assert tuple(palette[slot]) in colors


def test_rgb_array_render_and_human_without_pygame():
    env = gym.make(ENV_ID, render_mode="rgb_array", render_size=128)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (128, 128, 3) and frame.dtype == np.uint8
    vec = gym.make_vec(ENV_ID, num_envs=2, render_mode="rgb_array")
    vec.reset(seed=0)
    frames = vec.render()
    assert len(frames) == 2 and frames[0].shape == (256, 256, 3)
    try:
        import pygame  # noqa: F401
    except ImportError:
        with pytest.raises(gym.error.DependencyNotInstalled, match="pip install pygame"):
            ReacherEnv(render_mode="human")


# --------------------------------------------------------------------------------------------
# Errors a user can act on
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"obs_type": "rgb"}, "obs_type"),
        ({"action_type": "binary"}, "action_type"),
        ({"n_links": 0}, "n_links"),
        ({"n_links": 2.5}, "n_links"),
        ({"n_links": 7, "action_type": "discrete"}, "n_links <= 6"),
        ({"pixel_shape": 4}, "pixel_shape"),
        ({"pixel_shape": "big"}, "pixel_shape"),
        ({"grayscale": "yes"}, "grayscale"),
        ({"randomize_colors": True}, "renamed: use color_jitter"),
        ({"randomize_link_width": True}, "renamed: use width_jitter"),
        ({"color_jitter": 300}, "color_jitter"),
        ({"width_jitter": 1.0}, "width_jitter"),
        ({"terminate_on_success": 1}, "terminate_on_success"),
        ({"target_radious": 0.01}, "unknown kwarg"),
        ({"max_episode_steps": 10}, "gymnasium.make"),
        ({"control_weight": -1.0}, "control_weight"),
        ({"success_tolerance": 0.0}, "success_tolerance"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"params": "fast"}, "params"),
    ],
)
def test_bad_kwargs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ReacherEnv(**kwargs)


def test_bad_arm_params_are_named():
    from rlsuite.envs.robot.arm_dynamics import ArmParams

    with pytest.raises(ValueError, match="link_lengths"):
        ArmParams(link_lengths=(0.1, -0.1))
    with pytest.raises(ValueError, match="max_torque"):
        ArmParams(max_torque=(0.1, 0.1, 0.1))
    with pytest.raises(ValueError, match="integrator"):
        ArmParams(integrator="leapfrog")


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.zeros(3, dtype=np.float32), "shape"),
        (np.array([2.0, 0.0], dtype=np.float32), r"\[-1, 1\]"),
        (np.array([np.nan, 0.0], dtype=np.float32), r"\[-1, 1\]"),
        ("left", "numbers"),
    ],
)
def test_bad_continuous_actions_are_named(action, match):
    env = ReacherEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(action)


@pytest.mark.parametrize("action", [9, -1, 1.5, np.array([1, 2])])
def test_bad_discrete_actions_are_named(action):
    env = ReacherEnv(action_type="discrete")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"integer in \[0, 9\)"):
        env.step(action)


def test_bad_vector_actions_are_named():
    vec = ReacherVectorEnv(num_envs=2)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        vec.step(np.zeros(2))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        vec.step(np.full((2, 2), 1.5))
    with pytest.raises(ValueError, match="reset_mask"):
        vec.reset(options={"reset_mask": np.array([1, 0])})


# --------------------------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sac_learns_to_reach_better_than_random():
    """15k steps of SAC (~40 s on 2 cores) beat both a random policy (≈ −26) and holding still (≈ −19)."""
    torch = pytest.importorskip("torch")
    sb3 = pytest.importorskip("stable_baselines3")
    torch.set_num_threads(1)

    def mean_return(policy, episodes=10):
        env = gym.make(ENV_ID)
        total = 0.0
        for episode in range(episodes):
            obs, _ = env.reset(seed=10_000 + episode)
            done = False
            while not done:
                obs, reward, terminated, truncated, _ = env.step(policy(obs))
                total += reward
                done = terminated or truncated
        return total / episodes

    space = gym.make(ENV_ID).action_space
    space.seed(0)
    random_return = mean_return(lambda obs: space.sample())
    still_return = mean_return(lambda obs: np.zeros(2, dtype=np.float32))
    model = sb3.SAC(
        "MlpPolicy",
        gym.make(ENV_ID),
        learning_rate=1e-3,
        gamma=0.95,
        learning_starts=500,
        train_freq=2,
        gradient_steps=1,
        policy_kwargs={"net_arch": [64, 64]},
        seed=0,
        verbose=0,
    )
    model.learn(15_000)
    trained_return = mean_return(lambda obs: model.predict(obs, deterministic=True)[0])
    assert trained_return > 0.7 * random_return, (trained_return, random_return)
    assert trained_return > 0.75 * still_return, (trained_return, still_return)
