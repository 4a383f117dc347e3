"""Configs: YAML + overrides, validated before anything runs; errors name the key and what is allowed."""

from pathlib import Path

import pytest

from rlsuite.config import ConfigError, apply_overrides, default_config_data, from_dict, load_config, to_dict


def base(**sections):
    data = {"env": {"id": "rlsuite/GridRacetrack-v0", "num_envs": 2}, "agent": {"algo": "q_learning"}}
    for name, value in sections.items():
        data[name] = {**data.get(name, {}), **value}
    return data


def test_embedded_default_is_valid_and_round_trips():
    config = load_config()
    assert from_dict(to_dict(config)) == config


def test_overrides_parse_yaml_values():
    data = apply_overrides(base(), ["train.total_steps=1e4", "agent.gamma=0.9", "env.kwargs={track: wide}"])
    config = from_dict(data)
    assert config.train.total_steps == 10_000
    assert config.agent.params.gamma == 0.9
    assert config.env.kwargs == {"track": "wide"}


@pytest.mark.parametrize(
    "data, names",
    [
        (base(train={"total_step": 10}), ["train.total_step", "did you mean 'total_steps'"]),
        (base(train={"total_steps": "many"}), ["train.total_steps", "'many'", "integer"]),
        (base(train={"total_steps": -5}), ["train.total_steps", "-5", ">= 1"]),
        (base(train={"device": "tpu"}), ["train.device", "'tpu'", "'cuda'"]),
        (base(env={"id": "rlsuite/GridRacetrak-v0"}), ["env.id", "GridRacetrak", "did you mean"]),
        (base(agent={"algo": "ppo2"}), ["agent.algo", "ppo2", "q_learning"]),
        (base(agent={"gamma": 1.5}), ["agent.gamma", "1.5", "<= 1"]),
        (base(agent={"learning_rat": 0.1}), ["agent.learning_rat", "learning_rate"]),
        (base(trian={}), ["trian", "did you mean 'train'"]),
        (base(log={"progress": "fancy"}), ["log.progress", "'fancy'"]),
    ],
)
def test_bad_configs_name_the_key_the_value_and_what_is_allowed(data, names):
    with pytest.raises(ConfigError) as error:
        from_dict(data)
    for name in names:
        assert name in str(error.value)


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides(default_config_data(), ["train.total_steps"])


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("switch, mode", [("off", "none"), ("false", "none"), ("no", "none"), ("on", "auto")])
def test_log_progress_takes_a_yaml_boolean_as_a_switch(switch, mode, tmp_path):
    """`log.progress=off` is YAML's false: it means no progress display, as `on` means the default."""
    assert load_config(None, [f"log.progress={switch}"]).log.progress == mode
    config_file = tmp_path / "quiet.yaml"
    config_file.write_text(
        f"env: {{id: rlsuite/GridRacetrack-v0}}\nagent: {{algo: q_learning}}\nlog: {{progress: {switch}}}\n"
    )
    config = load_config(config_file)
    assert config.log.progress == mode and to_dict(config)["log"]["progress"] == mode  # saved as the word


# --------------------------------------------------------------------------------------------
# Switching algorithm or env (issue 29, finding 4): RL Zoo-style, by --algo/--env or by override
# --------------------------------------------------------------------------------------------
def test_overriding_agent_algo_replaces_the_agent_section():
    """The embedded default's DQN keys do not linger: `train agent.algo=sb3.ppo env.id=CartPole-v1`."""
    config = load_config(None, ["agent.algo=sb3.ppo", "env.id=CartPole-v1"])
    assert config.agent.algo == "sb3.ppo" and config.env.id == "CartPole-v1"
    assert config.agent.params.learning_rate == 3e-4  # SB3's default, not the default job's DQN 5e-3
    assert config.env.kwargs == {}  # Racetrack's constructor kwargs went with its id
    assert config.log.name is None  # named <algo>-<env>, not after the default job ("dqn-racetrack")
    assert config.env.num_envs == 32 and config.train.total_steps == 30_000  # the rest stays


def test_overrides_next_to_agent_algo_apply_on_top_whatever_their_order():
    config = load_config(None, ["agent.n_steps=64", "agent.algo=sb3.ppo", "log.name=mine", "agent.gamma=0.9"])
    assert (config.agent.params.n_steps, config.agent.params.gamma, config.log.name) == (64, 0.9, "mine")


def test_overriding_agent_algo_with_an_algorithm_of_the_same_schema_keeps_the_section():
    """The tabular update rules take one schema: `agent.algo=sarsa` on a tuned q_learning config keeps
    its settings (experiments/tabular compares the rules this way)."""
    shipped = "experiments/configs/q_learning_grid_racetrack.yaml"
    config = load_config(Path(__file__).parents[1] / shipped, ["agent.algo=sarsa"])
    assert config.agent.algo == "sarsa" and config.agent.params.learning_rate == 0.2


def test_overriding_agent_algo_with_the_same_algo_keeps_the_section():
    config = load_config(None, ["agent.algo=dqn"])
    assert config == load_config()


def test_algo_and_env_give_the_algorithms_defaults_plus_the_preset():
    config = load_config(algo="dqn", env="CartPole-v1")  # experiments/configs/dqn_cartpole.yaml's settings
    assert (config.env.num_envs, config.agent.params.net_arch, config.agent.params.double_q) == (
        4,
        [64, 64],
        True,
    )
    assert config.log.name is None and config.train.total_steps == 50_000
    no_preset = load_config(None, ["agent.gamma=0.9"], algo="sb3.ppo", env="CartPole-v1")
    assert (no_preset.agent.params.n_steps, no_preset.env.num_envs) == (2048, 8)  # the defaults
    assert no_preset.agent.params.gamma == 0.9  # overrides on top
    assert load_config(env="CartPole-v1").agent.algo == "dqn"  # the one not given: the default job's
    assert load_config(algo="sb3.ppo").env.id == "rlsuite/Racetrack-v0"


@pytest.mark.parametrize(
    "kwargs, names",
    [
        ({"algo": "ppo2", "env": "CartPole-v1"}, ["agent.algo", "'ppo2'", "sb3.ppo"]),
        ({"algo": "dqn", "env": "CartPol-v1"}, ["env.id", "did you mean 'CartPole-v1'"]),
        ({"path": "x.yaml", "algo": "dqn"}, ["--algo/--env", "'x.yaml'", "agent.algo=…"]),
    ],
)
def test_bad_algo_or_env_is_a_clear_error(kwargs, names):
    with pytest.raises(ConfigError) as error:
        load_config(**kwargs)
    for name in names:
        assert name in str(error.value)


def test_a_key_the_algorithm_does_not_take_names_where_it_was_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError,
        match=r"agent\.buffer_size: unknown key for agent\.algo 'sb3\.ppo'.*"
        r"set by the command line \(agent\.buffer_size=1000\); allowed keys: batch_size",
    ):
        load_config(algo="sb3.ppo", env="CartPole-v1", overrides=["agent.buffer_size=1000"])
    with pytest.raises(ConfigError, match=r"agent\.buffer_size: .*set by the command line"):
        load_config(None, ["agent.algo=sb3.ppo", "agent.buffer_size=1000"])
    with pytest.raises(ConfigError, match=r"agent\.buffer_size: .*set by the config file 'ppo\.yaml'"):
        (tmp_path / "ppo.yaml").write_text(
            "env: {id: CartPole-v1}\nagent: {algo: sb3.ppo, buffer_size: 1000}\n"
        )
        load_config("ppo.yaml")
    monkeypatch.setattr("rlsuite.presets.find_preset", lambda algo, env: {"agent": {"buffer_size": 1}})
    with pytest.raises(
        ConfigError, match=r"set by the preset for sb3\.ppo on CartPole-v1 \(rlsuite/presets/sb3"
    ):
        load_config(algo="sb3.ppo", env="CartPole-v1")
