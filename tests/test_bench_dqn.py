"""The DQN-vs-SB3 study script runs end to end (tiny budget, no SB3) and writes its record and report where
told; its report regenerates from the recorded runs alone."""

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "dqn_vs_sb3" / "run.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_dqn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_dqn_writes_report_with_equal_steps_table(tmp_path):
    bench = load_bench()
    committed = [SCRIPT.parent / "RESULTS.md", *sorted((SCRIPT.parent / "data").glob("dqn_cartpole.*"))]
    before = [path.read_bytes() for path in committed]
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
    after = [path.read_bytes() for path in committed]
    assert after == before, "the benchmark wrote into experiments/dqn_vs_sb3 instead of --results-dir"
    report = (tmp_path / "RESULTS.md").read_text()
    assert "Mean greedy return over the seeds at equal env steps" in report
    assert "| ours | " in report
    # every seed crossed the (trivial) threshold at its first evaluation
    assert "reached -1 on 2/2 seeds" in report
    assert "- Data (1 run, each with its own line below): measured at commit" in report
    assert (tmp_path / "plots" / "dqn_cartpole.png").is_file()
    meta = json.loads((tmp_path / "data" / "dqn_cartpole.json").read_text())
    assert meta["argv"][:2] == ["--algos", "ours"] and "--results-dir" not in meta["argv"]
    assert meta["threshold"] == -1 and meta["total_steps"] == 1200
    with open(tmp_path / "data" / "dqn_cartpole.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["algo"] for r in rows] == ["ours", "random", "ours", "random"]
    ours = [r for r in rows if r["algo"] == "ours"]
    assert all(int(r["steps"]) >= 1200 for r in ours)
    assert all(len(r["curve"].split(";")) >= 3 for r in ours)

    # the report again, from the record alone: the same tables
    (tmp_path / "RESULTS.md").unlink()
    bench.main(["--report-only", "--results-dir", str(tmp_path)])
    again = (tmp_path / "RESULTS.md").read_text()
    assert [line for line in again.splitlines() if line.startswith("|")] == [
        line for line in report.splitlines() if line.startswith("|")
    ]


def test_equal_steps_table_matches_intervals_across_step_grids_and_pairs_seeds():
    bench = load_bench()
    R = bench.Result
    # ours on 32 envs evaluates at 1024, 2016, 3008; SB3 on 1 env at 1000, 2000, 3000 (+ a final 3001)
    ours = [R("ours", 0, curve=[(1024, 10.0), (2016, 30.0), (3008, 50.0)]),
            R("ours", 1, curve=[(1024, 20.0), (2016, 40.0), (3008, 60.0)])]  # fmt: skip
    sb3 = [R("sb3", 0, curve=[(1000, 0.0), (2000, 10.0), (3000, 20.0), (3001, 99.0)]),
           R("sb3", 1, curve=[(1000, 30.0), (2000, 40.0), (3000, 50.0)])]  # fmt: skip
    lines = bench.equal_steps_table({"ours": ours, "sb3": sb3, "random": [R("random", 0)]}, every=1000)
    text = "\n".join(lines)
    assert "| 1k | 2k | 3k | mean |" in text
    assert "| ours | 15 | 35 | 55 | 35.0 ± 7.1 |" in text  # per-seed means 30 and 40
    assert "| sb3 | 15 | 25 | 35 | 25.0 ± 21.2 |" in text  # 3001 is not a second 3k evaluation
    assert "random" not in text
    # per-seed differences 30 - 10 = 20 and 40 - 40 = 0: mean 10, standard error 10
    paired = "ours − sb3, mean over the curve paired by seed: +10.0 ± 10.0 (standard error, 2 seeds; ours ahead on 1)"
    assert paired in text


def test_sb3_set_is_checked_before_anything_runs(tmp_path, capsys):
    bench = load_bench()
    for argv in (
        ["--env", "racetrack", "--sb3-set", "agent.train_freq=1"],  # no sb3-set algo
        ["--env", "racetrack", "--algos", "sb3-set", "--sb3-set", "agent.dueling=true"],  # not SB3's
        ["--algos", "sb3-set", "--sb3-set", "agent.train_freq=1"],  # CartPole: RL Zoo's settings
    ):
        with pytest.raises(SystemExit):
            bench.main([*argv, "--results-dir", str(tmp_path)])
        assert "--sb3-set" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_an_unsolved_seed_counts_as_never_reaching_the_threshold():
    bench = load_bench()
    runs = [bench.Result("ours", k, threshold_time=t) for k, t in enumerate([1.0, 2.0, None])]
    assert bench.median_time(runs) == 2.0  # 1, 2, never -> 2 (solved seeds only would say 1.5)
    runs.append(bench.Result("ours", 3))
    assert bench.median_time(runs) == float("inf")  # half never reached it
    assert bench._solved(runs) == "2/4"
    assert bench._seed_ratio(runs[0], runs[2]) == "peer unsolved"


def test_whole_command_record_renders_in_the_report(tmp_path):
    """A (fake) whole-command record gets its section: per seed, medians, ratios, the commands; it is
    not taken for a run of the tables, and an unsolved seed counts as never in the median."""
    bench = load_bench()
    (tmp_path / "data").mkdir()
    seconds = {"sb3": [30.0, 40.0, 20.0], "ours": [6.0, 5.0, 8.0], "ours-identical": [20.0, None, 10.0]}
    evals = {
        name: [[[5000, t or 90.0, 500.0 if t else 100.0]] for t in times] for name, times in seconds.items()
    }
    record = {
        "title": "fake",
        "command": "python experiments/dqn_vs_sb3/run.py --whole-command --seeds 0 1 2",
        "argv": ["--whole-command", "--seeds", "0", "1", "2"],
        "measured": {"commit": "abc1234", "date": "2026-12-07 00:00 UTC", "machine": "fake", "command": "x"},
        "threshold": 475.0,
        "threads": 1,
        "seeds": [0, 1, 2],
        "commands": {name: f"rlsuite train {name}.yaml train.seed=S" for name in seconds},
        "seconds": seconds,
        "evals": evals,
    }
    (tmp_path / "data" / "whole_command.json").write_text(json.dumps(record))
    summary = bench.whole_summary(seconds)
    # identical: 10, 20, never -> 20 (leaving the unsolved seed out would say 15)
    assert summary["medians"] == {"sb3": 30.0, "ours": 6.0, "ours-identical": 20.0}
    assert summary["ratios"] == {"sb3 / ours": 5.0, "sb3 / ours-identical": 1.5}
    assert bench.whole_median([1.0, None, None]) is None
    bench.main(["--report-only", "--results-dir", str(tmp_path)])
    report = (tmp_path / "RESULTS.md").read_text()
    assert "## Whole command: `rlsuite train` to a greedy 475 on CartPole-v1" in report
    assert "- Data (whole command, its own section): measured at commit `abc1234`" in report
    assert "| 1 | 40.0 | 5.0 | never (best 100.0; last evaluation at 5,000 steps, 90.0 s) |" in report
    assert "| median | **30.0** | **6.0** | **20.0** |" in report
    assert "- sb3 / ours, medians: **5.00×**" in report
    assert "- sb3 / ours-identical, medians: **1.50×**" in report
    assert "`rlsuite train ours.yaml train.seed=S`" in report
    assert "whole_command" not in bench.recorded_runs(tmp_path)
