"""Presets (rlsuite/presets/<algo>.yaml): the tuned settings `rlsuite train --algo A --env ID` applies.

Each preset is a shipped config's settings, so the two cannot drift apart: the test below holds every
preset equal to its config's env (without the id), agent (without the algo) and train (without the
seed) sections.
"""

from pathlib import Path

import pytest
import yaml

from rlsuite.config import default_config_data, load_config, to_dict
from rlsuite.presets import PRESET_SECTIONS, presets

CONFIGS = Path(__file__).parents[1] / "experiments" / "configs"
EMBEDDED_DEFAULT = "the embedded default"

SHIPPED = {  # (algo, env id) → the config its preset equals
    ("dqn", "CartPole-v1"): "dqn_cartpole.yaml",
    ("dqn", "rlsuite/Racetrack-v0"): EMBEDDED_DEFAULT,
    ("dqn", "rlsuite/Highway-v0"): "dqn_highway.yaml",
    ("dqn", "rlsuite/Reacher-v0"): "dqn_reacher.yaml",
    ("pqn", "CartPole-v1"): "pqn_cartpole.yaml",
    ("pqn", "rlsuite/Racetrack-v0"): "pqn_racetrack_state.yaml",
    ("pqn", "rlsuite/Highway-v0"): "pqn_highway.yaml",
    ("q_learning", "CartPole-v1"): "q_learning_cartpole.yaml",
    ("q_learning", "FrozenLake-v1"): "q_learning_frozenlake.yaml",
    ("q_learning", "Taxi-v3"): "q_learning_taxi.yaml",
    ("q_learning", "rlsuite/GridRacetrack-v0"): "q_learning_grid_racetrack.yaml",
    ("q_learning", "rlsuite/Racetrack-v0"): "q_learning_racetrack.yaml",
    ("rllib.ppo", "CartPole-v1"): "rllib_ppo_cartpole.yaml",
    ("rllib.ppo", "rlsuite/Racetrack-v0"): "rllib_ppo_racetrack.yaml",
    ("sb3.dqn", "CartPole-v1"): "sb3_dqn_cartpole.yaml",
    ("sb3.ppo", "rlsuite/Racetrack-v0"): "sb3_ppo_racetrack.yaml",
    ("sb3.sac", "rlsuite/Reacher-v0"): "sb3_sac_reacher.yaml",
}
NOT_PRESET = {"env": "id", "agent": "algo", "train": "seed"}  # a preset's key, or the same everywhere


def shipped_sections(name: str) -> dict:
    data = default_config_data() if name == EMBEDDED_DEFAULT else yaml.safe_load((CONFIGS / name).read_text())
    return {
        section: {k: v for k, v in data[section].items() if k != NOT_PRESET[section]}
        for section in PRESET_SECTIONS
        if section in data
    }


def test_every_preset_names_the_shipped_config_it_comes_from():
    assert sorted(presets()) == sorted(SHIPPED)


@pytest.mark.parametrize("pair", sorted(SHIPPED), ids="-".join)
def test_each_preset_equals_its_shipped_config(pair):
    algo, env_id = pair
    shipped = SHIPPED[pair]
    sections = shipped_sections(shipped)
    if shipped != EMBEDDED_DEFAULT:
        data = yaml.safe_load((CONFIGS / shipped).read_text())
        assert (data["agent"]["algo"], data["env"]["id"]) == pair
    assert presets()[pair] == sections, f"rlsuite/presets/{algo}.yaml, {env_id} differs from {shipped}"


@pytest.mark.parametrize("pair", [p for p in sorted(SHIPPED) if not p[0].startswith("rllib.")], ids="-".join)
def test_algo_and_env_build_the_shipped_config(pair):
    """`--algo A --env ID` gives the shipped config's settings, validated (RLlib's: its import costs
    seconds; their equality above suffices)."""
    algo, env_id = pair
    built = to_dict(load_config(algo=algo, env=env_id))
    if SHIPPED[pair] == EMBEDDED_DEFAULT:
        shipped = to_dict(load_config())
    else:
        shipped = to_dict(load_config(CONFIGS / SHIPPED[pair]))
    for section in PRESET_SECTIONS:
        assert built[section] == shipped[section], section
