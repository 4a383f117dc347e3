"""Farama's Minari records our envs' infos (issue 32): ``DataCollector(env, record_infos=True)`` refuses an
env whose reset info differs from its step info. Runs where Minari's collector is installed
(``pip install "minari[create,hdf5]"``: it needs jax, which the test extras do not pull in); the same
schema check runs everywhere in ``test_task_metrics.py``."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlsuite  # noqa: F401  (registers the ids)

minari = pytest.importorskip("minari")
pytest.importorskip("jax")
pytest.importorskip("h5py")

IDS = [
    "rlsuite/Racetrack-v0",
    "rlsuite/Highway-v0",
    "rlsuite/Reacher-v0",
    "rlsuite/Pusher-v0",
    "rlsuite/GridRacetrack-v0",
]


@pytest.mark.parametrize("env_id", IDS)
def test_minari_records_a_dataset_with_infos(env_id, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    env = minari.DataCollector(gym.make(env_id), record_infos=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(120):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    name = env_id.split("/")[1].lower().removesuffix("-v0")
    dataset = env.create_dataset(dataset_id=f"{name}/random-v0", algorithm_name="random")
    assert dataset.total_steps == 120
    episode = next(iter(dataset.iterate_episodes()))
    _, reset_info = gym.make(env_id).reset(seed=0)
    assert set(episode.infos) == set(reset_info)  # every info key recorded, from the reset on
    assert all(len(v) == len(episode.rewards) + 1 for v in episode.infos.values())  # reset + each step
    env.close()
