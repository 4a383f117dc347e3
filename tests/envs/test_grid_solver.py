"""The exact optimum of rlsuite/GridRacetrack-v0 (value iteration over the env's own transition model)."""

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.envs.core import core_of
from rlsuite.envs.driving.grid_racetrack import N_ACTIONS, GridRacetrackVectorEnv
from rlsuite.envs.driving.grid_solver import GridModel, evaluate_policy, solve

ENV_ID = "rlsuite/GridRacetrack-v0"


def _env_outcomes(track, noise, states, actions, repeats, seed=0):
    """Step the env ``repeats`` times from each ``(state, action)`` (one vector-env row each) and count
    the outcomes as the model names them: ("move", next) / ("crash", start) / ("finish", state)."""
    rows = len(states) * repeats
    envs = GridRacetrackVectorEnv(num_envs=rows, track=track, noise=noise)
    envs.reset(seed=seed)
    core_of(envs).state[:] = np.repeat(states, repeats)
    obs, rewards, terminated, truncated, info = envs.step(np.repeat(actions, repeats))
    envs.close()
    assert (rewards == -1.0).all() and not truncated.any()
    kinds = np.where(terminated, "finish", np.where(info["crashed"], "crash", "move"))
    counts = []
    for i in range(len(states)):
        block = slice(i * repeats, (i + 1) * repeats)
        pair = {}
        for kind, next_obs in zip(kinds[block], obs[block]):
            pair[(str(kind), int(next_obs))] = pair.get((str(kind), int(next_obs)), 0) + 1
        counts.append(pair)
    return counts


@pytest.mark.parametrize("track", ["classic", "wide"])
@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_the_model_is_the_env_step_on_random_state_action_pairs(track, noise):
    """Every outcome env.step gives is one the model gives, at the model's frequency (noise outcomes
    and crash resets to each start cell included); crashes, finishes and moves are all sampled."""
    model = GridModel(track, noise)
    rng = np.random.default_rng(1)
    states = rng.integers(0, model.n_states, 300)
    actions = rng.integers(0, N_ACTIONS, 300)
    # add pairs that finish, so all three outcomes are covered whatever the random draw
    finishing = np.argwhere(model.finishes)[rng.permutation(int(model.finishes.sum()))[:40]]
    states, actions = np.concatenate([states, finishing[:, 0]]), np.concatenate([actions, finishing[:, 1]])
    repeats = 400 if noise > 0 else 1
    counts = _env_outcomes(track, noise, states, actions, repeats)
    seen = set()
    for state, action, observed in zip(states, actions, counts):
        expected = model.outcomes(int(state), int(action))
        assert abs(sum(expected.values()) - 1.0) < 1e-12
        assert set(observed) <= set(expected), (state, action, observed, expected)
        for key, p in expected.items():
            frequency = observed.get(key, 0) / repeats
            assert abs(frequency - p) <= 6 * np.sqrt(p * (1 - p) / repeats) + 1e-12, (state, action, key)
        seen |= {kind for kind, _ in observed}
    assert seen == {"move", "crash", "finish"}


def test_the_start_distribution_is_the_env_reset():
    model = GridModel("wide", 0.0)
    envs = gym.make_vec(ENV_ID, num_envs=4000, track="wide")
    obs, _ = envs.reset(seed=3)
    envs.close()
    assert set(np.unique(obs)) == set(model.start_states.tolist())
    frequencies = np.bincount(obs, minlength=model.n_states)[model.start_states] / len(obs)
    p = 1 / len(model.start_states)
    assert np.all(np.abs(frequencies - p) <= 6 * np.sqrt(p * (1 - p) / len(obs)))


@pytest.mark.parametrize("noise", [0.0, 0.1, 0.5])
def test_hand_solved_tracks(noise):
    """One row, start 'S', finish 'F'. Each attempt to move right succeeds with 1 - noise.

    * ``SF``: E[steps] = 1 / (1 - noise).
    * ``SoF``: that, then one more step from the road cell (the car keeps moving even when the
      increment fails): 1 / (1 - noise) + 1.
    * ``S.SF``: from the right start cell as ``SF``; from the left one every move crashes, so the best
      is to crash at once and be put on a random start cell: V0 = -1 + (1 - noise) (V0 + V2) / 2 +
      noise V0, so V0 = -3 / (1 - noise) and the mean over the two start cells is -2 / (1 - noise).
    """
    q = 1.0 - noise
    assert solve(["SF"], noise).optimal_return == pytest.approx(-1 / q, rel=1e-9)
    assert solve(["SoF"], noise).optimal_return == pytest.approx(-1 / q - 1, rel=1e-9)
    gamble = solve(["S.SF"], noise)
    assert gamble.optimal_return == pytest.approx(-2 / q, rel=1e-9)
    assert gamble.values[gamble.start_states] == pytest.approx([-3 / q, -1 / q], rel=1e-9)
    assert gamble.expected_return == pytest.approx(gamble.optimal_return, rel=1e-9)
    assert gamble.expected_steps == pytest.approx(2 / q, rel=1e-9)


def test_the_time_limit_is_solved_exactly_where_it_binds():
    """``SF`` with noise 0.9: the steps to finish are geometric with p = 0.1, so under a limit of H
    steps the return is -E[min(T, H)] = -(1 - 0.9^H) / 0.1; without one it is -10."""
    for limit in (1, 5, 30):
        solution = solve(["SF"], 0.9, max_episode_steps=limit)
        exact = -(1 - 0.9**limit) / 0.1
        assert solution.optimal_return == pytest.approx(exact, rel=1e-9)
        assert solution.expected_return == pytest.approx(exact, rel=1e-9)
        assert solution.finish_probability == pytest.approx(1 - 0.9**limit, rel=1e-9)
        assert solution.optimal_return_unlimited == pytest.approx(-10.0, rel=1e-9)


def test_the_shipped_tracks_limit_does_not_bind():
    """With the registered limit (1000 steps) the optimum equals the unlimited one, and the greedy
    policy reaches it and always finishes."""
    for track in ("classic", "wide"):
        solution = solve(track, 0.1)
        assert solution.optimal_return == pytest.approx(solution.optimal_return_unlimited, abs=1e-9)
        assert solution.expected_return == pytest.approx(solution.optimal_return, abs=1e-9)
        assert solution.finish_probability == pytest.approx(1.0, abs=1e-12)
        assert solution.optimal_return == pytest.approx(-solution.expected_steps, abs=1e-9)


def _simulate(track, noise, policy, episodes, seed):
    """Monte-Carlo returns of ``policy`` (a table, or None for uniformly random actions) on the env."""
    envs = gym.make_vec(ENV_ID, num_envs=episodes, track=track, noise=noise)
    obs, _ = envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    returns, done = np.zeros(episodes), np.zeros(episodes, dtype=bool)
    while not done.all():
        actions = rng.integers(0, N_ACTIONS, episodes) if policy is None else policy[obs]
        obs, rewards, terminated, truncated, _ = envs.step(actions)
        returns += np.where(done, 0.0, rewards)
        done |= terminated | truncated
    envs.close()
    return returns


@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_no_simulated_policy_beats_the_optimum(noise):
    """The optimal policy's simulated return is its exact expected return; a trained Q-learning policy,
    random tables and uniformly random driving all do no better (within Monte-Carlo error), and the
    exact evaluation of each table agrees with its simulation."""
    from rlsuite.agents import get_algo
    from rlsuite.config import load_config
    from rlsuite.rollout import make_envs

    track = "classic"
    solution = solve(track, noise)
    model = GridModel(track, noise)
    config = load_config(
        "experiments/configs/q_learning_grid_racetrack.yaml",
        [f"env.kwargs.noise={noise}", "train.total_steps=400000", "env.num_envs=32"],
    )
    learner_envs = make_envs(config.env)
    agent = get_algo(config.agent.algo)(config, learner_envs)
    agent.learn(config.train.total_steps)
    learner_envs.close()
    rng = np.random.default_rng(0)
    tables = {
        "optimal": solution.policy,
        "q_learning": agent.q[0].argmax(axis=1),
        **{f"random table {i}": rng.integers(0, N_ACTIONS, model.n_states) for i in range(2)},
    }
    for name, table in tables.items():
        returns = _simulate(track, noise, table, 400, seed=7)
        exact, _ = evaluate_policy(model, table)
        margin = 4 * returns.std() / np.sqrt(len(returns)) + 1e-9
        if (
            returns == -1000
        ).any():  # a table that rarely finishes: add one episode's range for the rare finishes
            margin += 1000 / len(returns)
        assert abs(returns.mean() - exact) <= margin, name
        assert exact <= solution.optimal_return + 1e-9, name
        assert returns.mean() <= solution.optimal_return + margin, name
    random_driving = _simulate(track, noise, None, 200, seed=8)
    assert random_driving.mean() <= solution.optimal_return + 4 * random_driving.std() / np.sqrt(200)


def test_evaluate_policy_refuses_a_wrong_table():
    with pytest.raises(ValueError, match="one action in 0..8 per state"):
        evaluate_policy(GridModel("classic"), np.zeros(3, dtype=int))
