"""train.num_seeds: K seeds side by side in one process give each seed exactly its own run.

The reference is the single run itself: a K-seed run and K single runs with those seeds must write the
same ``metrics.csv`` rows (returns, lengths, losses, evaluations; not the timings) and the same final
weights and optimiser state, bit for bit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from rlsuite.config import ConfigError, from_dict
from rlsuite.training import SEEDS_SUMMARY, evaluate_run, train

TIMINGS = {"charts/sps", "time/eval_seconds"}  # wall-clock scalars: never equal across two runs


def _config(tmp_path: Path, env: dict, **train: object) -> dict:
    return {
        "env": env,
        "agent": {
            "algo": "pqn",
            "learning_rate": 1e-3,
            "optimizer": "adam",
            "num_steps": 4,
            "num_epochs": 2,
            "num_minibatches": 2,
            "max_grad_norm": 0.5,  # small: the clipping is exercised
            "net_arch": [16, 16],
            "td_lambda": 0.9,
            "exploration_fraction": 0.3,
            "log_interval": 1,
        },
        "train": {
            "total_steps": 1_600,
            "eval_every": 800,
            "eval_episodes": 2,
            "eval_num_envs": 2,
            "seed": 3,
            **train,
        },
        "log": {"run_dir": str(tmp_path), "progress": "none"},
    }


def _rows(run_dir: Path) -> list[tuple[str, str, str]]:
    with (run_dir / "metrics.csv").open() as f:
        return [(r["step"], r["tag"], r["value"]) for r in csv.DictReader(f) if r["tag"] not in TIMINGS]


def _weights(run_dir: Path) -> dict:
    return load_file(run_dir / "checkpoints" / "last" / "model.safetensors")


CARTPOLE = {"id": "CartPole-v1", "num_envs": 8}  # Gymnasium's vector env: one env per seed
RACETRACK = {  # our native vector env: one env of K * n rows
    "id": "rlsuite/Racetrack-v0",
    "num_envs": 5,
    "kwargs": {"obs_type": "state", "action_type": "discrete"},
}


@pytest.mark.parametrize("env", [CARTPOLE, RACETRACK], ids=["cartpole", "racetrack"])
def test_k_seeds_equal_k_single_runs(tmp_path: Path, env: dict) -> None:
    parent = train(from_dict(_config(tmp_path / "together", env, num_seeds=3)))
    summary = json.loads((parent / SEEDS_SUMMARY).read_text())
    assert summary["seeds"] == [3, 4, 5]
    seed_dirs = [parent / name for name in summary["runs"]]
    for seed, together in zip([3, 4, 5], seed_dirs):
        alone = train(from_dict(_config(tmp_path / "alone", env, seed=seed)))
        rows = _rows(alone)
        assert any(tag == "losses/td_loss" for _, tag, _ in rows) and any(
            tag == "charts/episode_return" for _, tag, _ in rows
        )
        assert _rows(together) == rows, f"seed {seed}: metrics differ from its own run"
        mine, theirs = _weights(together), _weights(alone)
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert mine[key].equal(theirs[key]), f"seed {seed}: {key} differs"
        assert (together / "config.yaml").read_text() == (alone / "config.yaml").read_text().replace(
            "alone", "together"
        )
    finals = [f["eval/return_mean"] for f in summary["final_eval"]]
    assert summary["mean"]["eval/return_mean"] == pytest.approx(sum(finals) / 3)
    assert evaluate_run(seed_dirs[1], episodes=1)["episodes"] == 1  # an ordinary run directory


def test_bad_num_seeds_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    config = _config(tmp_path, CARTPOLE)
    with pytest.raises(ConfigError, match="num_seeds"):
        from_dict({**config, "train": {**config["train"], "num_seeds": 0}})
    dqn = {**config, "agent": {"algo": "dqn"}, "train": {**config["train"], "num_seeds": 2}}
    with pytest.raises(ConfigError, match=r"dqn trains one seed per process.*: pqn"):
        train(from_dict(dqn))
    with pytest.raises(ConfigError, match="not supported yet"):
        train(from_dict({**config, "train": {**config["train"], "num_seeds": 2}}), resume=tmp_path)
    skip = {**config, "train": {**config["train"], "num_seeds": 2, "nonfinite": "skip"}}
    with pytest.raises(ConfigError, match="nonfinite"):
        train(from_dict(skip))
    assert not any(tmp_path.iterdir())
