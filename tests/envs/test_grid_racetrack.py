"""rlsuite/GridRacetrack-v0: the Sutton & Barto racetrack (exercise 5.12)."""

import gymnasium as gym
import numpy as np
import pytest

from rlsuite.envs.driving.grid_racetrack import CRASH, FINISH, GridRacetrackEnv, GridRacetrackVectorEnv

ENV_ID = "rlsuite/GridRacetrack-v0"
# check_env, determinism, pickling and equality with SyncVectorEnv: tests/envs/test_vector_contract.py


def test_starts_on_start_line_standing_still():
    env = GridRacetrackEnv()
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        (row, col), velocity = env.decode(obs)
        assert row == 31 and 3 <= col <= 8 and velocity == (0, 0)


def test_driving_straight_up_crashes_and_returns_to_start():
    env = GridRacetrackEnv()
    env.reset(seed=0)
    crashed_at = None
    for t in range(40):
        obs, reward, terminated, truncated, info = env.step(7)  # vy += 1, vx unchanged: straight up
        assert reward == -1.0 and not terminated
        if info["crashed"]:
            crashed_at = t
            break
    assert crashed_at is not None, "a car driving straight up must hit the top wall"
    (row, _), velocity = env.decode(obs)
    assert row == 31 and velocity == (0, 0)


def test_a_hand_written_policy_finishes():
    """Go up 3 rows per step until the top rows, then right: the finish line ends the episode."""
    env = GridRacetrackEnv()
    obs, _ = env.reset(seed=1)
    for _ in range(100):
        (row, col), (vy, vx) = env.decode(obs)
        if row > 4:  # climb at speed <= 2, then stop climbing
            dy = 1 if vy < 2 else 0
            dy = -1 if row < 12 and vy > 1 else dy
            action = (dy + 1) * 3 + 1
        else:
            dy = -1 if vy > 0 else 0
            action = (dy + 1) * 3 + (2 if vx < 3 else 1)
        obs, reward, terminated, truncated, info = env.step(action)
        if terminated:
            return
    pytest.fail("the hand-written policy never reached the finish line")


def test_tables_are_consistent():
    dyn = GridRacetrackEnv().core.dynamics
    moving = dyn.outcome == 0
    assert (dyn.next_state[moving] >= 0).all() and (dyn.next_state[moving] < dyn.n_states).all()
    assert (dyn.outcome == CRASH).any() and (dyn.outcome == FINISH).any()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"track": "oval"}, "track"),
        ({"noise": 1.5}, "noise"),
        ({"track": ["oS", "o"]}, "equal length"),
        ({"nosie": 0.1}, "unknown kwarg"),
    ],
)
def test_bad_kwargs_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GridRacetrackEnv(**kwargs)


@pytest.mark.parametrize("action", [9, -1, 1.5, "left"])
def test_bad_action_is_named(action):
    env = GridRacetrackEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


def test_bad_vector_actions_are_named():
    env = GridRacetrackVectorEnv(num_envs=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        env.step(np.array([0, 9, 1]))


def test_rgb_render():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3


def test_the_single_env_fast_step_is_the_batch_step():
    """GridRacetrackCore.step_one (the single env's path) gives exactly what step() gives for row 0:
    rewards, termination, every info value and type, the state and the random stream, with noise and
    crashes."""
    from rlsuite.envs.core import BatchCore
    from rlsuite.envs.driving.grid_racetrack import GridRacetrackCore

    fast, slow = GridRacetrackCore(1, noise=0.3), GridRacetrackCore(1, noise=0.3)
    rows = np.zeros(1, dtype=np.intp)
    from rlsuite.envs.driving.grid_solver import solve

    policy, rng, seen = solve("classic").policy, np.random.default_rng(0), set()
    for core in (fast, slow):
        core.seed_rows(rows, np.array([7], dtype=np.uint64))
        core.reset_rows(rows, {})
    for _ in range(400):  # the optimal policy, a random action a third of the time: crashes and finishes
        action = policy[fast.observe()[0]] if rng.random() < 0.67 else rng.integers(0, 9)
        batch = np.array([action], dtype=np.int64)
        got = fast.step_one(batch)
        want = BatchCore.step_one(slow, batch)
        assert got == want and [type(v) for v in got[2].values()] == [type(v) for v in want[2].values()]
        assert np.array_equal(fast.observe(), slow.observe())
        seen.update(k for k in ("crashed", "finished") if got[2][k])
        if got[1]:
            for core in (fast, slow):
                core.reset_rows(rows, {})
    assert seen == {"crashed", "finished"}  # both branches ran
