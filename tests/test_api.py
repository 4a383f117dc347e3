"""The Python API (``rlsuite.train``, ``rlsuite.load`` → ``Policy.predict``, ``rlsuite.evaluate``) for
every agent family, as a user calls it from a script in a clone: relative paths, tiny budgets.

The done-when of issue 29: ``predict`` gives the same actions as ``rlsuite eval`` for a run of each
family (dqn, q_learning, sb3.ppo, rllib.ppo), for one observation and for a batch; an RLlib run's
policy loads and predicts without ``ray.init``. Finding 5: ``agent.act`` on one observation.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rlsuite
from rlsuite.cli import main
from rlsuite.config import ConfigError, algorithm_class

REPO = Path(__file__).parents[1]
TINY = {"train.eval_every": 0, "train.eval_episodes": 2, "train.eval_num_envs": 1, "log.progress": "none"}
CARTPOLE = {"id": "CartPole-v1", "num_envs": 4}
FAMILIES = {  # a config of each family, and its budget
    "dqn": (
        {
            "env": CARTPOLE,
            "agent": {"algo": "dqn", "net_arch": [16], "buffer_size": 500, "learning_starts": 64},
        },
        256,
    ),
    "q_learning": ({"env": {"id": "FrozenLake-v1", "num_envs": 4}, "agent": {"algo": "q_learning"}}, 400),
    "sb3.ppo": (
        {
            "env": CARTPOLE,
            "agent": {
                "algo": "sb3.ppo",
                "n_steps": 16,
                "batch_size": 32,
                "n_epochs": 1,
                "policy_kwargs": {"net_arch": [16]},
            },
        },
        64,
    ),
    "rllib.ppo": (
        {
            "env": CARTPOLE,
            "agent": {
                "algo": "rllib.ppo",
                "train_batch_size": 64,
                "minibatch_size": 32,
                "num_epochs": 1,
                "fcnet_hiddens": [16],
            },
        },
        64,
    ),
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def trained(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """``(home, run)``: a tiny run of the family, trained with ``rlsuite.train`` from ``home``; its run
    directory is the relative path ``runs/<name>`` that the user gets back."""
    family = request.param
    if family.startswith("sb3."):
        pytest.importorskip("stable_baselines3")
    if family.startswith("rllib."):
        request.getfixturevalue("ray_session")  # training needs Ray; loading and predicting must not
    home = tmp_path_factory.mktemp(f"api-{family}")
    config, steps = FAMILIES[family]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        run = rlsuite.train(config, overrides={**TINY, "train.total_steps": steps})
    assert run.run_dir.parent == Path("runs")  # relative, as the CLI prints it
    assert set(run.final_eval) >= {"eval/return_mean", "eval/return_std", "eval/length_mean"}
    return home, run


@pytest.fixture
def run(trained, monkeypatch: pytest.MonkeyPatch) -> rlsuite.TrainedRun:
    """The family's run, with the directory it was trained from as the working directory."""
    home, run = trained
    monkeypatch.chdir(home)
    return run


def _recording_act(agent_cls: type, calls: list) -> object:
    """``agent_cls.act`` that also records each batch it is given and the actions it returns."""
    act = agent_cls.act

    def recording(self, obs, deterministic=True, episode_start=None):
        actions = act(self, obs, deterministic, episode_start)
        calls.append((np.array(obs, copy=True), np.array(actions, copy=True)))
        return actions

    return recording


# --------------------------------------------------------------------------------------------
# predict == rlsuite eval, for every family
# --------------------------------------------------------------------------------------------
def test_predict_gives_the_actions_of_rlsuite_eval(run, monkeypatch, capsys):
    agent_cls = algorithm_class(run.config.agent.algo)
    calls: list[tuple[np.ndarray, np.ndarray]] = []
    with monkeypatch.context() as patch:
        patch.setattr(agent_cls, "act", _recording_act(agent_cls, calls))
        assert main(["eval", str(run.run_dir), "--episodes", "3"]) == 0
    assert "eval/return_mean" in capsys.readouterr().out
    observations = np.concatenate([obs for obs, _ in calls])
    eval_actions = np.concatenate([actions for _, actions in calls])
    assert len(observations) >= 3  # three whole episodes, one observation a step

    policy = rlsuite.load(run.run_dir)  # "best", as `rlsuite eval`
    one_by_one = np.array([policy.predict(obs)[0] for obs in observations])
    batch, state = policy.predict(observations)
    assert state is None
    np.testing.assert_array_equal(one_by_one, eval_actions)
    np.testing.assert_array_equal(batch, eval_actions)
    # one observation gives one action shaped like the env's; a batch gives a batch
    single, _ = policy.predict(observations[0])
    assert np.shape(single) == policy.action_space.shape and policy.action_space.contains(single)
    assert batch.shape == (len(observations), *policy.action_space.shape)
    policy.close()


def test_evaluating_a_policy_gives_the_numbers_of_rlsuite_eval(run):
    from_cli = rlsuite.evaluate(run.run_dir, episodes=3)  # `rlsuite eval RUN_DIR --episodes 3`
    assert len(list((run.run_dir / "eval").glob("eval-best-*.json"))) >= 1  # saved, as the CLI saves it
    with rlsuite.load(run.run_dir) as policy:
        from_policy = rlsuite.evaluate(policy, episodes=3)
    for key in ("eval/return_mean", "eval/return_std", "eval/length_mean", "seed", "checkpoint", "episodes"):
        assert from_policy[key] == from_cli[key], key


def test_agent_act_takes_one_observation_or_a_batch(run):
    """Finding 5: ``agent.act(obs)`` on one observation raised ``IndexError: Dimension out of range``."""
    with rlsuite.load(run.run_dir) as policy:
        agent, space = policy.agent, policy.observation_space
        space.seed(0)
        batch = np.stack([space.sample() for _ in range(5)])
        if np.issubdtype(batch.dtype, np.floating):  # CartPole's bounds reach 3.4e38
            batch = np.clip(batch, -1.0, 1.0)
        actions = agent.act(batch)
        assert actions.shape == (5, *policy.action_space.shape)
        for obs, action in zip(batch, actions, strict=True):
            one = agent.act(obs)
            assert np.shape(one) == policy.action_space.shape
            np.testing.assert_array_equal(one, action)


# --------------------------------------------------------------------------------------------
# RLlib: inference without a Ray cluster
# --------------------------------------------------------------------------------------------
def test_a_policy_loads_and_predicts_in_a_process_that_never_starts_ray(trained, tmp_path):
    """RLlib's above all: its RLModule is restored from the checkpoint, no ``ray.init``, no cluster."""
    home, run = trained
    if not run.config.agent.algo.startswith("rllib."):
        pytest.skip("checked for the RLlib family (the others never import Ray)")
    observations = np.random.default_rng(0).normal(0.0, 0.05, (6, 4)).astype(np.float32)
    np.save(tmp_path / "obs.npy", observations)
    code = (
        "import json, numpy as np, ray, rlsuite\n"
        f"policy = rlsuite.load({str(run.run_dir)!r})\n"
        f"obs = np.load({str(tmp_path / 'obs.npy')!r})\n"
        "batch, _ = policy.predict(obs)\n"
        "one = [int(policy.predict(o)[0]) for o in obs]\n"
        "print(json.dumps({'ray': ray.is_initialized(), 'batch': batch.tolist(), 'one': one}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=home, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["ray"] is False
    with rlsuite.load(home / run.run_dir) as policy:  # in this process (Ray running): the same actions
        expected = policy.predict(observations)[0].tolist()
    assert out["batch"] == expected and out["one"] == expected


# --------------------------------------------------------------------------------------------
# Configs, overrides and mistakes
# --------------------------------------------------------------------------------------------
def test_docstring_examples_run(tmp_path, monkeypatch):
    """The examples in ``rlsuite.api``'s docstrings, run as written from a clone's root."""
    import rlsuite.api

    (tmp_path / "experiments").symlink_to(REPO / "experiments")
    monkeypatch.chdir(tmp_path)
    result = doctest.testmod(rlsuite.api, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted >= 20 and result.failed == 0


def test_a_config_file_with_overrides_a_dict_and_a_config_train_alike(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = {
        **TINY,
        "train.total_steps": 200,
        "agent.learning_rate": 0.5,
        "env.kwargs": {"map_name": "4x4"},
    }
    from_file = rlsuite.train(REPO / "experiments/configs/q_learning_frozenlake.yaml", overrides=overrides)
    assert from_file.config.agent.params.learning_rate == 0.5
    assert from_file.config.env.kwargs == {"map_name": "4x4"}
    again = rlsuite.train(from_file.config, overrides={"log.name": "again"})  # a Config, overridden
    assert again.run_dir.name.startswith("again-")
    assert again.config.agent.params.learning_rate == 0.5
    resumed = rlsuite.train(resume=again.run_dir, overrides={"train.total_steps": 400})
    assert resumed.run_dir == again.run_dir
    assert json.loads((again.run_dir / "checkpoints/last/monitor.json").read_text())["global_step"] >= 400


@pytest.mark.parametrize(
    "config, overrides, message",
    [
        ("experiments/configs/q_learning_frozenlake.yaml", {"agent.lerning_rate": 0.1}, "agent.lerning_rate"),
        (
            "experiments/configs/q_learning_frozenlake.yaml",
            ["train.total_steps=10"],
            "overrides: expected a mapping",
        ),
        ("experiments/configs/no_such.yaml", None, "does not exist"),
        ({"env": {"id": "CartPole-v1"}}, None, "agent.algo: required key is missing"),
        (42, None, "config: expected a Config, a path"),
    ],
)
def test_bad_input_is_a_clear_error_before_anything_is_written(
    tmp_path, monkeypatch, config, overrides, message
):
    (tmp_path / "experiments").symlink_to(REPO / "experiments")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        rlsuite.train(config, overrides=overrides)
    assert not (tmp_path / "runs").exists()


def test_predict_names_the_shape_it_expects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = rlsuite.train(FAMILIES["dqn"][0], overrides={**TINY, "train.total_steps": 128})
    with (
        rlsuite.load(run.run_dir) as policy,
        pytest.raises(ValueError, match=r"shape \(4,\).*got shape \(3,\)"),
    ):
        policy.predict(np.zeros(3))


def test_evaluate_on_an_env_given_as_an_env_or_an_id(tmp_path, monkeypatch):
    import gymnasium as gym

    monkeypatch.chdir(tmp_path)
    config, steps = FAMILIES["q_learning"]
    run = rlsuite.train(config, overrides={**TINY, "train.total_steps": steps})
    with rlsuite.load(run.run_dir) as policy:
        as_env = rlsuite.evaluate(policy, gym.make("FrozenLake-v1"), episodes=3, seed=7)
        as_id = rlsuite.evaluate(policy, "FrozenLake-v1", episodes=3, seed=7)
        assert as_env["eval/return_mean"] == as_id["eval/return_mean"] and as_env["episodes"] == 3
        with pytest.raises(
            ConfigError, match=r"env: its observations Discrete\(500\) are not the policy's Discrete\(16\)"
        ):
            rlsuite.evaluate(policy, "Taxi-v3", episodes=1)


def test_train_refuses_several_seeds_it_could_not_return_as_one_run(tmp_path):
    import rlsuite
    from rlsuite.config import ConfigError

    with pytest.raises(ConfigError, match=r"train.num_seeds: got 3; rlsuite.train returns one run"):
        rlsuite.train(
            Path(__file__).parents[1] / "experiments/configs/pqn_cartpole.yaml",
            overrides={"train.num_seeds": 3, "log.run_dir": str(tmp_path)},
        )
    assert not any(tmp_path.iterdir())
