"""The DQN benchmark script runs end to end (tiny budget, no SB3) and writes its report where told."""

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "bench_dqn.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_dqn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_dqn_writes_report_with_equal_steps_table(tmp_path):
    bench = load_bench()
    bench.main(
        [
            "--algos", "ours", "random",
            "--seeds", "0", "1",
            "--total-steps", "1200",
            "--eval-every", "400",
            "--eval-episodes", "2",
            "--threshold", "-1",
            "--ours-set", "agent.learning_starts=200",
            "--results-dir", str(tmp_path),
        ]
    )  # fmt: skip
    report = (tmp_path / "dqn_cartpole.md").read_text()
    assert "Mean greedy return over the seeds at equal env steps" in report
    assert "| ours | " in report
    # every seed crossed the (trivial) threshold at its first evaluation
    assert "reached -1 on 2/2 seeds" in report
    with open(tmp_path / "dqn_cartpole.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["algo"] for r in rows] == ["ours", "random", "ours", "random"]
    ours = [r for r in rows if r["algo"] == "ours"]
    assert all(int(r["steps"]) >= 1200 for r in ours)
    assert all(len(r["curve"].split(";")) >= 3 for r in ours)
