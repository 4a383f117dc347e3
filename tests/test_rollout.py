"""rlsuite.rollout: the one account of episodes under NEXT_STEP autoreset, running a policy for whole
episodes, and frame collection — held to a plain loop over Gymnasium's own vector env."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from rlsuite.config import ConfigError, EnvConfig
from rlsuite.rollout import NONE_FINISHED, Episodes, collect_frames, make_envs, run_episodes


def flags(*values: int) -> np.ndarray:
    return np.array(values, dtype=bool)


def test_episodes_drop_the_reset_step_after_a_done() -> None:
    episodes = Episodes(2)
    assert episodes.update(np.array([1.0, 2.0]), flags(0, 0), flags(0, 0)) is NONE_FINISHED
    finished = episodes.update(np.array([1.0, 2.0]), flags(1, 0), flags(0, 0))  # sub-env 0 ends
    assert (
        finished.rows.tolist() == [0]
        and finished.returns.tolist() == [2.0]
        and finished.lengths.tolist() == [2]
    )
    assert episodes.done.tolist() == [True, False] and not episodes.starts.any()
    # Sub-env 0's reset step: its reward and flags are not part of any episode; sub-env 1 truncates.
    finished = episodes.update(np.array([9.0, 2.0]), flags(0, 0), flags(0, 1))
    assert (
        finished.rows.tolist() == [1]
        and finished.returns.tolist() == [6.0]
        and finished.lengths.tolist() == [3]
    )
    assert episodes.starts.tolist() == [
        True,
        False,
    ]  # sub-env 0 now holds its new episode's first observation
    assert episodes.returns.tolist() == [0.0, 0.0] and episodes.lengths.tolist() == [0, 0]
    episodes.update(np.array([1.0, 5.0]), flags(0, 0), flags(0, 0))  # sub-env 1's reset step
    assert episodes.returns.tolist() == [1.0, 0.0] and episodes.lengths.tolist() == [1, 0]


def test_same_step_episodes_count_every_step() -> None:
    """SB3's VecEnv resets in the step that ends an episode: no step is dropped."""
    episodes = Episodes(1)
    episodes.update(np.array([1.0]), flags(1), flags(0), same_step=True)
    finished = episodes.update(np.array([3.0]), flags(1), flags(0), same_step=True)
    assert finished.returns.tolist() == [3.0] and finished.lengths.tolist() == [1]
    assert episodes.starts.tolist() == [True]


def test_advance_tracks_only_which_steps_are_reset_steps() -> None:
    episodes = Episodes(2)
    assert not episodes.advance(flags(1, 0), flags(0, 0)).any()
    assert episodes.advance(flags(0, 0), flags(0, 1)).tolist() == [True, False]
    assert episodes.advance(flags(0, 0), flags(0, 0)).tolist() == [False, True]
    assert episodes.returns.tolist() == [0.0, 0.0]


def test_restart_forgets_the_episodes_in_progress() -> None:
    episodes = Episodes(2)
    episodes.update(np.array([1.0, 1.0]), flags(1, 0), flags(0, 0))
    episodes.restart()
    assert not episodes.done.any() and episodes.starts.all() and not episodes.lengths.any()


def test_the_shared_empty_result_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="read-only"):
        NONE_FINISHED.returns[...] = 1.0


def _plain_loop(env_id: str, n: int, episodes: int, seed: int) -> tuple[list[float], list[int]]:
    """The reference: Gymnasium's SyncVectorEnv, every sub-env's episodes counted by hand."""
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync")
    targets = [(episodes + i) // n for i in range(n)]
    per_env: list[list[tuple[float, int]]] = [[] for _ in range(n)]
    totals, steps, reset_step = [0.0] * n, [0] * n, [False] * n
    order: list[tuple[int, int]] = []
    envs.reset(seed=seed)
    while any(len(per_env[i]) < targets[i] for i in range(n)):
        _, rewards, terminated, truncated, _ = envs.step(np.zeros(n, dtype=np.int64))
        for i in range(n):
            if reset_step[i]:
                reset_step[i] = False
                continue
            totals[i] += float(rewards[i])
            steps[i] += 1
            if terminated[i] or truncated[i]:
                if len(per_env[i]) < targets[i]:
                    per_env[i].append((totals[i], steps[i]))
                    order.append((i, len(per_env[i]) - 1))
                totals[i], steps[i], reset_step[i] = 0.0, 0, True
    envs.close()
    return [per_env[i][k][0] for i, k in order], [per_env[i][k][1] for i, k in order]


def test_run_episodes_equals_a_plain_loop_and_spreads_episodes_like_sb3() -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync")
    results = run_episodes(lambda obs, starts: np.zeros(len(obs), dtype=np.int64), envs, 7, seed=4)
    envs.close()
    returns, lengths = _plain_loop("CartPole-v1", 3, 7, seed=4)
    assert results.returns == returns and results.lengths == lengths and len(returns) == 7
    assert results.successes == []  # CartPole reports no is_success


def test_run_episodes_collects_successes_where_the_env_reports_them() -> None:
    envs = make_envs(EnvConfig(id="rlsuite/Reacher-v0", num_envs=2, kwargs={"max_episode_steps": 5}))
    space = envs.action_space
    results = run_episodes(lambda obs, starts: np.zeros(space.shape, space.dtype), envs, 3, seed=0)
    envs.close()
    assert len(results.successes) == 3 and set(results.successes) <= {0.0, 1.0}
    assert results.lengths == [5, 5, 5]


def test_collect_frames_shows_each_episode_and_cuts_long_ones() -> None:
    config = EnvConfig(id="CartPole-v1", num_envs=1, kwargs={"render_mode": "rgb_array"})
    envs = make_envs(config)
    push_left = lambda obs, starts: np.zeros(len(obs), dtype=np.int64)  # noqa: E731
    frames, returns = collect_frames(push_left, envs, 2, seed=0)
    reference, _ = _plain_loop("CartPole-v1", 1, 2, seed=0)
    assert returns == reference
    # the first frame, one per step; a finished episode's last frame is the next one's first
    assert len(frames) == 1 + int(sum(returns)) and frames[0].ndim == 3
    frames, returns = collect_frames(push_left, envs, 3, seed=0, max_steps=4, size=64)
    envs.close()
    assert returns == [4.0, 4.0, 4.0] and len(frames) == 13 and max(frames[0].shape[:2]) == 64


def test_make_envs_names_a_kwarg_the_env_refuses() -> None:
    with pytest.raises(ConfigError, match="env.kwargs"):
        make_envs(EnvConfig(id="rlsuite/Racetrack-v0", num_envs=1, kwargs={"no_such_kwarg": 1}))


def test_rollout_imports_no_torch() -> None:
    code = "import sys, rlsuite.rollout; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
