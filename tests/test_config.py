"""Configs: YAML + overrides, validated before anything runs; errors name the key and what is allowed."""

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
