"""Learning curves from run directories: reading metrics.csv, seeds averaged, groups, `rlsuite plot`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rlsuite.cli import main
from rlsuite.config import from_dict
from rlsuite.plots import group_runs, mean_band, read_curve
from rlsuite.training import train


def tabular_run(tmp_path: Path, seed: int, learning_rate: float) -> Path:
    return train(
        from_dict(
            {
                "env": {"id": "FrozenLake-v1", "num_envs": 4, "kwargs": {"is_slippery": False}},
                "agent": {"algo": "q_learning", "learning_rate": learning_rate},
                "train": {"total_steps": 2000, "eval_every": 500, "eval_episodes": 2, "seed": seed},
                "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
            }
        )
    )


def test_mean_band_averages_seeds_on_the_range_they_share() -> None:
    a = (np.array([0.0, 10.0, 20.0]), np.array([0.0, 10.0, 20.0]))
    b = (np.array([5.0, 15.0, 25.0]), np.array([5.0, 5.0, 5.0]))
    grid, mean, std = mean_band([a, b])
    assert grid.tolist() == [5.0, 10.0, 15.0, 20.0]  # inside [5, 20], the union of their steps
    assert mean.tolist() == [5.0, 7.5, 10.0, 12.5]
    assert std[0] == 0.0 and std[-1] == pytest.approx(np.std([20.0, 5.0], ddof=1))


def test_seeds_of_a_configuration_form_one_group_and_the_cli_draws_them(tmp_path: Path, capsys) -> None:
    runs = [tabular_run(tmp_path, seed, lr) for lr in (0.1, 0.5) for seed in (0, 1)]
    steps, values = read_curve(runs[0])
    assert steps.tolist() == [500, 1000, 1500, 2000] and len(values) == 4

    groups = group_runs(runs)
    assert {k: len(v) for k, v in groups.items()} == {"learning_rate=0.1": 2, "learning_rate=0.5": 2}
    assert len(group_runs(runs, ["agent.algo"])["algo=q_learning"]) == 4

    out = tmp_path / "curves.png"
    assert main(["plot", *map(str, runs), "--output", str(out), "--x", "wall_time"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert "learning_rate=0.5: 2 run(s)" in capsys.readouterr().out

    assert main(["plot", str(runs[0]), "--group-by", "agent.learnin_rate"]) == 2
    assert main(["plot", str(runs[0]), "--tag", "eval/nothing"]) == 2
    assert main(["plot", str(tmp_path)]) == 2  # not a run directory
    err = capsys.readouterr().err
    assert "not a config key" in err and "no scalar 'eval/nothing'" in err and "no config.yaml" in err
    assert "Traceback" not in err
