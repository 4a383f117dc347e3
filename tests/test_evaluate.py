import gymnasium as gym
import numpy as np

from rlsuite.training import evaluate


def test_evaluate_counts_episodes_per_env_and_marks_episode_starts():
    envs = gym.make_vec("CartPole-v1", num_envs=3)
    calls: list[tuple[np.ndarray, np.ndarray]] = []

    def policy(obs: np.ndarray, episode_start: np.ndarray) -> np.ndarray:
        calls.append((obs.copy(), episode_start.copy()))
        return np.zeros(len(obs), dtype=np.int64)  # always push left: short episodes

    result = evaluate(policy, envs, episodes=7, seed=0)
    envs.close()
    assert calls[0][1].all()  # the first observations come from reset
    # Replay the same episodes with a plain loop and check each episode_start flag against it.
    envs = gym.make_vec("CartPole-v1", num_envs=3)
    obs, _ = envs.reset(seed=0)
    expected_start = np.ones(3, dtype=bool)
    for recorded_obs, recorded_start in calls:
        np.testing.assert_array_equal(recorded_obs, obs)
        np.testing.assert_array_equal(recorded_start, expected_start)
        obs, _, terminated, truncated, _ = envs.step(np.zeros(3, dtype=np.int64))
        expected_start = terminated | truncated
    envs.close()
    assert sum(start.sum() for _, start in calls[1:]) >= 7 - 3  # episodes ended and restarted
    assert 8 <= result["eval/length_mean"] <= 12  # always-left CartPole falls after ~9-10 steps
