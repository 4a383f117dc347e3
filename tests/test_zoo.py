"""The zoo (rlsuite/zoo): every shipped entry loads, weighs at most 1 MB, has a full card and replays its
card's check exactly; and packing a run into an entry (`rlsuite zoo add`), refreshing cards (`rlsuite zoo
cards`), listing them and watching one (`rlsuite enjoy`) work as a user types them.

The runs packed here are tiny real runs trained in the test (DQN on Racetrack's state, Q-learning on
GridRacetrack); their entries live in temporary zoo folders, never in the package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

import rlsuite
from rlsuite import zoo
from rlsuite.cli import main
from rlsuite.config import ConfigError
from rlsuite.zoo.pack import add_entry, check_returns, refresh_cards

REPO = Path(__file__).parents[1]
QUICK = {"log.progress": "none", "train.eval_every": 0, "train.eval_episodes": 2, "train.device": "cpu"}
EPISODES = 4  # evaluation episodes of the entries packed here (the shipped ones have 100)

SECTIONS = {
    "train": ("total_steps", "seeds", "wall_s", "cpu_s", "machine"),
    "eval": ("episodes", "seed", "return_mean", "return_std"),
    "solved": ("value", "definition"),
    "check": ("seed", "episodes", "returns"),
}


def assert_entry_holds_its_card(name: str, root: Path | None = None) -> None:
    """What every zoo entry promises: it loads, its weights are small, its card is whole, and its
    check episodes give the card's returns."""
    folder = zoo.entry_dir(name, root)
    assert (folder / zoo.WEIGHTS).stat().st_size <= zoo.MAX_WEIGHTS_BYTES
    card = zoo.card(name, root)
    assert [key for key in zoo.REQUIRED_CARD_KEYS if key not in card] == []
    for section, keys in SECTIONS.items():
        assert [key for key in keys if key not in card[section]] == [], section
    assert card["name"] == name and (folder / card["config"]).is_file()
    check = card["check"]
    with rlsuite.load_pretrained(name, root=root) as policy:
        assert isinstance(policy, rlsuite.Policy)
        returns = check_returns(policy, check["seed"], check["episodes"])
    assert returns == pytest.approx(check["returns"], abs=1e-6)


@pytest.mark.parametrize("name", zoo.names(zoo.PACKAGE_ZOO))
def test_shipped_entry_loads_and_replays_its_card(name):
    assert_entry_holds_its_card(name, zoo.PACKAGE_ZOO)


# --------------------------------------------------------------------------------------------
# Runs to pack
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def dqn_run(runs) -> Path:
    """A few hundred steps of DQN on Racetrack's state (50-step episodes, to keep evaluations short)."""
    env = {"obs_type": "state", "action_type": "discrete", "max_episode_steps": 50}
    config = {
        "env": {"id": "rlsuite/Racetrack-v0", "num_envs": 4, "kwargs": env},
        "agent": {"algo": "dqn", "learning_starts": 64, "batch_size": 32, "net_arch": [32, 32]},
    }
    overrides = {**QUICK, "train.total_steps": 256, "log.run_dir": str(runs)}
    return rlsuite.train(config, overrides=overrides).run_dir


@pytest.fixture(scope="module")
def q_run(runs) -> Path:
    config = REPO / "experiments" / "configs" / "q_learning_grid_racetrack.yaml"
    return rlsuite.train(
        config, overrides={**QUICK, "train.total_steps": 400, "log.run_dir": str(runs)}
    ).run_dir


@pytest.fixture(scope="module")
def packed(tmp_path_factory, dqn_run, q_run) -> Path:
    """A zoo of two entries: race-dqn and grid-q."""
    root = tmp_path_factory.mktemp("zoo")
    add_entry(dqn_run, "race-dqn", episodes=EPISODES, root=root)
    add_entry(q_run, "grid-q", episodes=EPISODES, root=root)
    return root


# --------------------------------------------------------------------------------------------
# zoo add
# --------------------------------------------------------------------------------------------
def test_an_entry_holds_the_greedy_q_network_only(packed, dqn_run):
    folder = packed / "race-dqn"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "config.yaml", "model.safetensors"]
    tensors = load_file(folder / "model.safetensors")
    assert tensors and all(key.startswith("q_network.") for key in tensors)  # no target, optimiser, replay
    assert yaml.safe_load((folder / "config.yaml").read_text()) == yaml.safe_load(
        (dqn_run / "config.yaml").read_text()
    )
    assert_entry_holds_its_card("race-dqn", packed)


def test_an_entry_acts_as_the_run_it_was_packed_from(packed, dqn_run):
    observations = np.random.default_rng(0).normal(size=(64, 14)).astype(np.float32)
    with rlsuite.load(dqn_run) as run_policy, rlsuite.load_pretrained("race-dqn", root=packed) as policy:
        assert policy.observation_space == run_policy.observation_space
        np.testing.assert_array_equal(policy.predict(observations)[0], run_policy.predict(observations)[0])


def test_the_card_holds_rlsuite_evals_figures(packed, dqn_run):
    """100 (here 4) episodes on `rlsuite eval`'s held-out seed: the numbers `rlsuite eval` prints."""
    card = zoo.card("race-dqn", packed)
    result = rlsuite.evaluate(dqn_run, episodes=EPISODES)
    assert card["eval"]["seed"] == result["seed"] and card["eval"]["episodes"] == EPISODES
    assert card["eval"]["return_mean"] == pytest.approx(result["eval/return_mean"], abs=1e-9)
    assert card["algo"] == "dqn" and card["env_id"] == "rlsuite/Racetrack-v0"
    assert card["train"]["total_steps"] == 256 and card["train"]["wall_s"] > 0
    assert card["source"]["checkpoint"] in ("best", "last")
    assert card["solved"]["value"] is False and "290" in card["solved"]["definition"]


def test_a_tabular_entry_holds_its_q_table(packed, q_run):
    tensors = load_file(packed / "grid-q" / "model.safetensors")
    assert list(tensors) == ["q"]
    states = np.arange(64)
    with rlsuite.load(q_run) as run_policy, rlsuite.load_pretrained("grid-q", root=packed) as policy:
        np.testing.assert_array_equal(policy.predict(states)[0], run_policy.predict(states)[0])
    assert_entry_holds_its_card("grid-q", packed)


def test_add_refuses_an_existing_entry_unless_forced(packed, q_run):
    with pytest.raises(ConfigError, match="exists.*--force"):
        add_entry(q_run, "grid-q", episodes=EPISODES, root=packed)
    before = zoo.card("grid-q", packed)
    add_entry(q_run, "grid-q", episodes=EPISODES, root=packed, force=True)
    assert zoo.card("grid-q", packed)["eval"] == before["eval"]


def test_add_refuses_an_rllib_run_before_loading_it(tmp_path, q_run):
    run = tmp_path / "rllib-run"
    run.mkdir()
    config = yaml.safe_load((q_run / "config.yaml").read_text())
    config["agent"] = {"algo": "rllib.ppo"}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError, match=r"rllib\.ppo cannot be packed.*dqn, pqn"):
        add_entry(run, "rllib-agent", root=tmp_path / "zoo")
    assert not (tmp_path / "zoo" / "rllib-agent").exists()


def test_add_refuses_weights_over_the_limit_naming_their_size(tmp_path, q_run, monkeypatch):
    monkeypatch.setattr("rlsuite.zoo.pack.MAX_WEIGHTS_BYTES", 1_000)
    with pytest.raises(ConfigError, match=r"weighs [\d,]+ bytes.*at most 1,000"):
        add_entry(q_run, "grid-q", root=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_add_refuses_a_name_that_is_no_folder_name(tmp_path, q_run):
    for name in ("Grid Q", "_private", "weights"):
        with pytest.raises(ConfigError, match="--name"):
            add_entry(q_run, name, root=tmp_path)


# --------------------------------------------------------------------------------------------
# Reading the zoo
# --------------------------------------------------------------------------------------------
def test_an_unknown_name_lists_the_known_ones(packed):
    with pytest.raises(
        ConfigError, match=r"no entry named 'grid-qq'; did you mean 'grid-q'\? Known names: grid-q, race-dqn"
    ):
        rlsuite.load_pretrained("grid-qq", root=packed)


def test_names_entries_for_env_and_the_zoo_folder_from_the_environment(packed, monkeypatch):
    assert zoo.names(packed) == ["grid-q", "race-dqn"]
    assert zoo.entries_for_env("rlsuite/Racetrack-v0", packed) == ["race-dqn"]
    assert zoo.entries_for_env("rlsuite:rlsuite/GridRacetrack-v0", packed) == ["grid-q"]
    assert zoo.entries_for_env("CartPole-v1", packed) == []
    monkeypatch.setenv(zoo.ZOO_ENV_VAR, str(packed))
    assert rlsuite.zoo.names() == ["grid-q", "race-dqn"]


def test_animation_is_the_docs_gif_when_there_is_one(packed, tmp_path, monkeypatch):
    monkeypatch.setattr(zoo, "ANIMATIONS", tmp_path)
    assert zoo.animation("grid-q", packed) is None
    (tmp_path / "grid-q.gif").write_bytes(b"GIF89a")
    assert zoo.animation("grid-q", packed) == tmp_path / "grid-q.gif"


# --------------------------------------------------------------------------------------------
# The commands, as a user types them
# --------------------------------------------------------------------------------------------
@pytest.fixture
def headless(monkeypatch, tmp_path) -> Path:
    """A terminal with no display, in an empty working directory."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_enjoy_writes_a_gif_without_a_display(packed, headless, capsys):
    assert main(["enjoy", "grid-q", "--zoo", str(packed), "--out", "clips/grid.gif"]) == 0
    out = capsys.readouterr().out
    assert "animation: clips/grid.gif" in out
    assert (headless / "clips" / "grid.gif").read_bytes()[:6] == b"GIF89a"
    assert main(["enjoy", "grid-q", "--zoo", str(packed)]) == 0  # the default file, here
    assert "animation: grid-q.gif" in capsys.readouterr().out and (headless / "grid-q.gif").is_file()


def test_enjoy_takes_a_run_directory(q_run, headless, capsys):
    local = headless / "runs" / q_run.name
    shutil.copytree(q_run, local)
    assert main(["enjoy", f"runs/{q_run.name}", "--out", "run.gif"]) == 0
    assert "animation: run.gif" in capsys.readouterr().out
    assert main(["enjoy", "no-such-agent", "--zoo", str(headless)]) == 2
    assert "Or give a run directory" in capsys.readouterr().err


def test_zoo_commands_print_paths_relative_to_the_working_directory(q_run, headless, capsys):
    shutil.copytree(q_run, headless / "runs" / q_run.name)
    run = f"runs/{q_run.name}"
    assert main(["zoo", "add", run, "--name", "grid-q", "--zoo", "my-zoo", "--episodes", str(EPISODES)]) == 0
    out = capsys.readouterr().out
    assert "entry: my-zoo/grid-q" in out
    before = json.loads((headless / "my-zoo" / "grid-q" / "card.json").read_text())

    assert main(["zoo", "list", "--zoo", "my-zoo"]) == 0
    listed = capsys.readouterr().out
    assert "grid-q" in listed and "rlsuite/GridRacetrack-v0" in listed and "q_learning" in listed

    assert main(["zoo", "cards", "--zoo", "my-zoo", "--animations", "docs/assets/zoo"]) == 0
    out = capsys.readouterr().out
    assert "my-zoo/grid-q/card.json" in out and "docs/assets/zoo/grid-q.gif" in out
    assert (headless / "docs" / "assets" / "zoo" / "grid-q.gif").is_file()
    after = json.loads((headless / "my-zoo" / "grid-q" / "card.json").read_text())
    assert after["eval"] == before["eval"] and after["check"] == before["check"]  # the figures reproduce
    assert after["train"] == before["train"] and after["source"] == before["source"]


def test_zoo_cards_with_an_empty_zoo_rewrites_nothing(headless, capsys):
    (headless / "empty").mkdir()
    assert main(["zoo", "cards", "--zoo", "empty"]) == 0
    assert "no entries" in capsys.readouterr().out
    assert refresh_cards(root=headless / "empty") == []
