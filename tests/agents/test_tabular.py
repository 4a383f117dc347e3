"""Tabular agents: hand-computed updates on a 2-state MDP, then the results issue 5 asks for."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlsuite.agents import get_algo
from rlsuite.agents.tabular import TabularAgent
from rlsuite.config import ConfigError, from_dict, load_config
from rlsuite.envs.driving.grid_racetrack import greedy_paths
from rlsuite.training import evaluate_run, make_envs, train

CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"


class TwoStateMDP(gym.Env):
    """Two states, two actions; only used to build agents whose tables we set by hand."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return 0, {}

    def step(self, action):
        return 1, 1.0, True, False, {}


gym.register("tests/TwoStateMDP-v0", entry_point=TwoStateMDP, max_episode_steps=10)


def make_agent(algo, **params):
    config = from_dict(
        {
            "env": {"id": "tests/TwoStateMDP-v0", "num_envs": 1},
            "agent": {"algo": algo, "learning_rate": 0.5, "gamma": 0.9, **params},
        }
    )
    agent = get_algo(algo)(config, make_envs(config.env))
    agent.q[0] = [[1.0, 2.0], [3.0, 5.0]]
    return agent


def update(agent, s=0, a=0, r=1.0, s2=1, a2=0, terminated=False):
    agent.update_batch(
        np.array([s]), np.array([a]), np.array([r]), np.array([s2]), np.array([a2]), np.array([terminated])
    )


def test_q_learning_update_by_hand():
    agent = make_agent("q_learning")
    update(agent)  # target 1 + 0.9 * max(3, 5) = 5.5
    assert agent.q[0, 0, 0] == pytest.approx(1 + 0.5 * (5.5 - 1))


def test_sarsa_update_uses_the_next_action_taken():
    agent = make_agent("sarsa")
    update(agent, a2=0)  # target 1 + 0.9 * Q(1, 0) = 3.7
    assert agent.q[0, 0, 0] == pytest.approx(1 + 0.5 * (3.7 - 1))


def test_expected_sarsa_update_uses_the_epsilon_greedy_expectation():
    agent = make_agent("expected_sarsa")
    agent.epsilon = 0.2
    expected = 0.8 * 5 + 0.2 * (3 + 5) / 2  # greedy with 1 - ε, uniform with ε
    update(agent)
    assert agent.q[0, 0, 0] == pytest.approx(1 + 0.5 * (1 + 0.9 * expected - 1))


def test_double_q_learning_values_the_greedy_action_with_the_other_table():
    agent = make_agent("double_q_learning")
    agent.q[0] = [[2.0, 0.0], [3.0, 5.0]]  # table A: greedy action in state 1 is 1
    agent.q[1] = [[0.0, 0.0], [4.0, 0.0]]  # table B: greedy action in state 1 is 0
    before = agent.q.copy()
    update(agent)
    changed = np.argwhere(agent.q != before)
    assert len(changed) == 1
    table = changed[0][0]
    if table == 0:  # A updated: a* = argmax A(1) = 1, valued by B(1, 1) = 0 -> target 1
        assert agent.q[0, 0, 0] == pytest.approx(2 + 0.5 * (1 - 2))
    else:  # B updated: a* = argmax B(1) = 0, valued by A(1, 0) = 3 -> target 3.7
        assert agent.q[1, 0, 0] == pytest.approx(0 + 0.5 * 3.7)
    seen = set()
    for _ in range(40):  # the coin is fair: both tables get updated
        before = agent.q.copy()
        update(agent)
        seen.add(int(np.argwhere(agent.q != before)[0][0]))
    assert seen == {0, 1}


@pytest.mark.parametrize("algo", ["q_learning", "sarsa", "expected_sarsa"])
def test_terminal_transitions_do_not_bootstrap(algo):
    agent = make_agent(algo)
    update(agent, r=2.0, terminated=True)
    assert agent.q[0, 0, 0] == pytest.approx(1 + 0.5 * (2 - 1))


def test_duplicate_state_actions_in_one_batch_average_their_td_errors():
    agent = make_agent("q_learning")
    states, actions = np.array([0, 0, 1]), np.array([0, 0, 1])
    rewards = np.array([0.0, 2.0, 1.0])
    agent.update_batch(
        states, actions, rewards, np.array([1, 1, 0]), np.zeros(3, int), np.array([False, False, True])
    )
    # targets 0 + 4.5 and 2 + 4.5 from Q(0, 0) = 1: mean TD error 4.5, one step of α
    assert agent.q[0, 0, 0] == pytest.approx(1 + 0.5 * 4.5)
    assert agent.q[0, 1, 1] == pytest.approx(5 + 0.5 * (1 - 5))


def test_bad_configs_are_clear():
    pendulum = from_dict({"env": {"id": "Pendulum-v1", "num_envs": 1}, "agent": {"algo": "q_learning"}})
    with pytest.raises(ConfigError, match="Discrete action space"):
        TabularAgent(pendulum, make_envs(pendulum.env))
    cartpole = from_dict({"env": {"id": "CartPole-v1", "num_envs": 1}, "agent": {"algo": "q_learning"}})
    with pytest.raises(ConfigError, match="agent.bins"):
        TabularAgent(cartpole, make_envs(cartpole.env))
    unbounded = from_dict(
        {"env": {"id": "CartPole-v1", "num_envs": 1}, "agent": {"algo": "q_learning", "bins": 4}}
    )
    with pytest.raises(ConfigError, match="agent.low"):
        TabularAgent(unbounded, make_envs(unbounded.env))
    with pytest.raises(ConfigError, match="agent.gamma"):
        from_dict({"env": {"id": "Taxi-v3"}, "agent": {"algo": "sarsa", "gamma": -0.1}})


def test_save_load_round_trip_gives_identical_actions(tmp_path):
    config = load_config(CONFIGS / "q_learning_taxi.yaml", ["train.total_steps=20000"])
    envs = make_envs(config.env)
    agent = TabularAgent(config, envs)
    agent.learn(config.train.total_steps)
    agent.save(tmp_path)
    clone = TabularAgent.load(tmp_path, config, envs)
    obs = np.arange(500)
    np.testing.assert_array_equal(agent.act(obs), clone.act(obs))
    assert clone.global_step == agent.global_step


def run_config(name, tmp_path, episodes, *overrides):
    config = load_config(CONFIGS / name, [f"log.run_dir={tmp_path}", "log.progress=none", *overrides])
    run_dir = train(config)
    return run_dir, evaluate_run(run_dir, episodes=episodes)


def test_frozenlake_greedy_success_rate(tmp_path):
    _, result = run_config("q_learning_frozenlake.yaml", tmp_path, 1000)
    assert result["eval/return_mean"] >= 0.70  # success rate: the reward is 1 on success only


def test_taxi_greedy_return(tmp_path):
    _, result = run_config("q_learning_taxi.yaml", tmp_path, 200)
    assert result["eval/return_mean"] >= 7.5


def test_discretised_cartpole(tmp_path):
    _, result = run_config("q_learning_cartpole.yaml", tmp_path, 20)
    assert result["eval/return_mean"] >= 195


@pytest.mark.parametrize("algo", ["q_learning", "sarsa", "expected_sarsa", "double_q_learning"])
def test_grid_racetrack_greedy_policy_finishes_from_every_start(tmp_path, algo):
    config = load_config(
        CONFIGS / "q_learning_grid_racetrack.yaml",
        [f"log.run_dir={tmp_path}", "log.progress=none", f"agent.algo={algo}", "train.eval_every=0"],
    )
    run_dir = train(config)
    agent = get_algo(algo).load(run_dir / "checkpoints" / "last", config, make_envs(config.env, 1))
    paths = greedy_paths(lambda obs: int(agent.act(np.array([obs]))[0]), "classic")
    assert len(paths) == 6 and all(p["finished"] for p in paths), [(p["steps"], p["crashes"]) for p in paths]
    assert (run_dir / "policy.png").stat().st_size > 10_000


def test_discretised_racetrack_drives_laps_a_random_policy_cannot(tmp_path):
    """Our continuous Racetrack (state obs, discrete actions) through bins: a random policy scores < 0."""
    _, result = run_config(
        "q_learning_racetrack.yaml", tmp_path, 4, "train.total_steps=300000", "train.eval_every=0"
    )
    assert result["eval/return_mean"] > 20.0


def test_old_exploration_names_are_errors_in_configs_and_read_in_saved_runs(tmp_path):
    """The tabular family takes SB3's exploration names: ``epsilon_start`` in a config is an error that
    names ``exploration_initial_eps``; a run saved before the rename still evaluates."""
    import yaml

    from rlsuite.config import ConfigError, from_dict
    from rlsuite.training import evaluate_run, train

    old = {
        "epsilon_start": 0.9,
        "epsilon_end": 0.1,
        "epsilon_decay_fraction": 0.4,
        "epsilon_schedule": "linear",
    }
    data = {
        "env": {"id": "FrozenLake-v1", "num_envs": 2},
        "agent": {"algo": "q_learning", **old},
        "train": {"total_steps": 400, "eval_every": 0, "eval_episodes": 2},
        "log": {"run_dir": str(tmp_path), "progress": "none"},
    }
    with pytest.raises(ConfigError, match=r"agent\.epsilon_start: renamed to agent\.exploration_initial_eps"):
        from_dict(data)

    new = {"exploration_initial_eps": 0.9, "exploration_final_eps": 0.1, "exploration_fraction": 0.4}
    run_dir = train(from_dict({**data, "agent": {"algo": "q_learning", **new}}))
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    for name in (
        "exploration_initial_eps",
        "exploration_final_eps",
        "exploration_fraction",
        "exploration_schedule",
    ):
        saved["agent"].pop(name)
    saved["agent"].update(old)  # as a run made before the rename wrote it
    (run_dir / "config.yaml").write_text(yaml.safe_dump(saved))
    assert evaluate_run(run_dir, episodes=2)["episodes"] == 2
