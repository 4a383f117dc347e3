"""rlsuite/Pusher-v0: the task itself and its errors (the env contract: test_vector_contract.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs.robot import arm_dynamics as arm
from rlsuite.envs.robot.pusher import PusherEnv, PusherVectorEnv

ENV_ID = "rlsuite/Pusher-v0"

# check_env, determinism, pickling and equality with SyncVectorEnv: tests/envs/test_vector_contract.py


def test_make_vec_builds_the_native_vector_env():
    vec = gym.make_vec(ENV_ID, num_envs=2)
    assert isinstance(vec, PusherVectorEnv) and vec.max_episode_steps == 200
    obs, infos = vec.reset(seed=0)
    _, _, _, _, infos = vec.step(vec.action_space.sample())
    assert obs.shape == (2, 14) and set(infos) == {
        "reward_goal",
        "reward_near",
        "reward_ctrl",
        "is_success",
        "distance",
        "_reward_goal",
        "_reward_near",
        "_reward_ctrl",
        "_is_success",
        "_distance",
    }


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    actions=st.lists(st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0]), min_size=2, max_size=160),
)
def test_observations_stay_in_space_under_any_action_sequence(seed, actions):
    env = PusherEnv()
    obs, _ = env.reset(seed=seed)
    pairs = np.array(actions[: len(actions) // 2 * 2], dtype=np.float32).reshape(-1, 2)
    for action in pairs:
        obs, reward, _, _, info = env.step(action)
        assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
        assert reward == pytest.approx(info["reward_goal"] + info["reward_near"] + info["reward_ctrl"])


def test_start_states_separate_arm_puck_and_goal():
    env = PusherEnv()
    task = env.core
    for seed in range(50):
        env.reset(seed=seed)
        tip, puck, goal = task.points[0, -1], task.puck[0, :2], task.goal[0]
        assert np.linalg.norm(puck - tip) > 0.1
        assert np.linalg.norm(goal - puck) > task.goal_radius
        assert np.all(task.puck[0, 2:] == 0)


def _push_towards(task, point):
    """Jacobian-transpose PD controller: a normalised torque moving the fingertip towards ``point``."""
    jacobian = arm.fingertip_jacobian(task.q, task.params)[0]  # (2, n) [m/rad]
    force = (np.asarray(point) - task.points[0, -1]) / 0.005 - (jacobian @ task.qd[0]) / 0.1
    return np.clip(jacobian.T @ force, -1.0, 1.0).astype(np.float32)


def test_a_scripted_push_moves_the_puck_into_the_goal():
    """Aim behind the puck (on the goal line), then drive through it: the puck reaches the goal."""
    env = PusherEnv()
    env.reset(seed=3)
    task = env.core
    successes = []
    for _ in range(200):
        puck, goal = task.puck[0, :2], task.goal[0]
        direction = (goal - puck) / np.linalg.norm(goal - puck)
        behind = puck - direction * (task.puck_radius + task.tip_radius + 0.01)
        tip = task.points[0, -1]
        on_line = np.linalg.norm(tip - behind) < 0.015
        target = puck + direction * 0.05 if on_line else behind
        *_, info = env.step(_push_towards(task, target))
        successes.append(info["is_success"])
        overlap = task.puck_radius + task.tip_radius - np.linalg.norm(task.puck[0, :2] - task.points[0, -1])
        assert overlap < 0.002  # [m]
    assert any(successes), f"puck ended {np.linalg.norm(task.puck[0, :2] - task.goal[0]):.3f} m from the goal"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"table_half_size": 0.2}, "table_half_size"),
        ({"puck_mass": 0.0}, "puck_mass"),
        ({"puck_friction": -0.1}, "puck_friction"),
        ({"wall_restitution": 1.5}, "wall_restitution"),
        ({"goal_radius": "wide"}, "goal_radius"),
        ({"obs_type": "image"}, "obs_type"),
    ],
)
def test_bad_kwargs_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PusherEnv(**kwargs)


def test_bad_actions_are_named():
    env = PusherEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((1, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        env.step(np.array([0.0, -3.0], dtype=np.float32))
