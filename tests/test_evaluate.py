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
    done = np.zeros(3, dtype=bool)
    for recorded_obs, recorded_start in calls:
        np.testing.assert_array_equal(recorded_obs, obs)
        np.testing.assert_array_equal(recorded_start, expected_start)
        obs, _, terminated, truncated, _ = envs.step(np.zeros(3, dtype=np.int64))
        # NEXT_STEP autoreset: the step after a done is the reset step; its observation starts an episode
        expected_start = done
        done = terminated | truncated
    envs.close()
    assert sum(start.sum() for _, start in calls[1:]) >= 7 - 3  # episodes ended and restarted
    assert 8 <= result["eval/length_mean"] <= 12  # always-left CartPole falls after ~9-10 steps


def test_eval_of_best_uses_seeds_the_selection_never_saw(tmp_path):
    """`best` was chosen by the training evaluations on seed + EVAL_SEED_OFFSET; re-evaluating it on
    those episodes would replay the selection. `rlsuite eval` defaults to a held-out seed and records
    both figures."""
    import json

    from rlsuite.config import from_dict
    from rlsuite.training import EVAL_SEED_OFFSET, evaluate_run, train

    config = {
        "env": {"id": "FrozenLake-v1", "num_envs": 4},  # slippery: episodes depend on the seed
        "agent": {"algo": "q_learning", "learning_rate": 0.3},
        "train": {"total_steps": 4000, "eval_every": 1000, "eval_episodes": 20, "seed": 5},
        "log": {"run_dir": str(tmp_path), "progress": "none"},
    }
    run_dir = train(from_dict(config))
    best = json.loads((run_dir / "checkpoints" / "best" / "monitor.json").read_text())["best_eval"]

    result = evaluate_run(run_dir)
    assert result["held_out"] is True
    assert result["selection_seed"] == 5 + EVAL_SEED_OFFSET != result["seed"]
    assert result["selection_eval/return_mean"] == best
    replay = evaluate_run(run_dir, seed=5 + EVAL_SEED_OFFSET)  # the selection's own episodes
    assert replay["held_out"] is False and replay["eval/return_mean"] == best
    saved = sorted((run_dir / "eval").glob("eval-best-*.json"))
    assert len(saved) == 2 and json.loads(saved[0].read_text())["held_out"] in (True, False)
