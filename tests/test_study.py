"""The experiments harness (``rlsuite.study``): bootstrap intervals, the resumable trial record, the
number formats, one thread per trial subprocess, and a study's ``--report-only`` flow."""

import json
import sys
from pathlib import Path

import pytest

from rlsuite import study


# --------------------------------------------------------------------------------------------
# Statistics and numbers
# --------------------------------------------------------------------------------------------
def test_bootstrap_interval_brackets_the_mean_and_repeats_with_its_seed():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    low, high = study.bootstrap_interval(values)
    assert 1.0 <= low < 3.0 < high <= 5.0
    assert study.bootstrap_interval(values) == (low, high)  # seeded: the same interval again
    narrow = study.bootstrap_interval(values, level=50)
    assert low < narrow[0] < narrow[1] < high
    assert study.bootstrap_interval([2.5, 2.5, 2.5]) == (2.5, 2.5)


def test_bootstrap_ratio_brackets_the_ratio_of_means():
    reference = [10.0, 12.0, 8.0, 11.0, 9.0]
    values = [v / 2 for v in reference]
    low, high = study.bootstrap_ratio(values, reference)
    assert low < 0.5 < high
    assert study.bootstrap_ratio(values, reference) == (low, high)
    assert study.bootstrap_ratio([3.0, 3.0], [6.0, 6.0]) == (0.5, 0.5)
    with pytest.raises(ValueError, match="level=100"):
        study.bootstrap_ratio(values, reference, level=100)


def test_number_formats():
    assert study.mean_std([]) == "—"
    assert study.mean_std([3.14159]) == "3.1"
    assert study.mean_std([1.0, 2.0, 3.0]) == "2.0 ± 1.0"  # the sample standard deviation
    assert study.mean_std([1.0, 2.0, 3.0], digits=2) == "2.00 ± 1.00"
    assert study.thousands(1234567.8) == "1,234,568"
    assert study.thousands(1234.56, 1) == "1,234.6"
    assert study.thousands(None) == "—"
    assert [study.times(x) for x in (1234.0, 12.3, 2.46, 0.4234)] == ["1,234×", "12×", "2.5×", "0.42×"]


# --------------------------------------------------------------------------------------------
# The trial record and the trial runner
# --------------------------------------------------------------------------------------------
def test_trial_record_keeps_the_finished_trials_by_key(tmp_path):
    record = study.TrialRecord(tmp_path / "deep" / "trials.jsonl")
    assert record.entries() == [] and record.finished() == {}
    record.append({"key": "a", "rc": 0, "value": 1})
    record.append({"key": "b", "rc": 1})  # failed: recorded, not finished
    record.append({"key": "a", "rc": 0, "value": 2})  # a later line of a key wins
    assert [e["key"] for e in record.entries()] == ["a", "b", "a"]
    assert record.finished() == {"a": {"key": "a", "rc": 0, "value": 2}}
    assert record.missing(["a", "b", "c"]) == ["b", "c"]

    by_cell = study.TrialRecord(tmp_path / "cells.jsonl", key=lambda e: (e["env"], e["seed"]))
    by_cell.append({"env": "cartpole", "seed": 0})
    assert list(by_cell.finished()) == [("cartpole", 0)]


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_run_trials_runs_only_the_trials_the_record_lacks(tmp_path):
    record = study.TrialRecord(tmp_path / "trials.jsonl")
    ran = []

    def entry(finished: study.Finished) -> dict:
        ran.append(finished.trial.key)
        return {"key": finished.trial.key, "rc": finished.returncode, "run_dir": finished.run_dir}

    def trial(key: str, code: str) -> study.Trial:
        return study.Trial(key, _python(code), tmp_path / "logs" / f"{key}.log", cwd=tmp_path)

    trials = [trial("ok", "print('run directory: runs/ok')"), trial("fails", "raise SystemExit(3)")]
    assert study.run_trials(trials, record, entry, parallel=2) == 1
    assert sorted(ran) == ["fails", "ok"]
    assert record.finished() == {"ok": {"key": "ok", "rc": 0, "run_dir": "runs/ok"}}

    # a rerun: the finished trial is skipped, the failed one and a new one run
    ran.clear()
    trials.append(trial("new", "pass"))
    assert study.run_trials(trials, record, entry, parallel=1) == 1
    assert sorted(ran) == ["fails", "new"]
    assert set(record.finished()) == {"ok", "new"}


def test_a_trial_subprocess_runs_torch_and_numba_on_one_thread(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("numba")
    for name in study.ONE_THREAD:
        monkeypatch.delenv(name, raising=False)  # whatever this process has, the trial gets one thread
    code = "import json, numba, torch; print(json.dumps([torch.get_num_threads(), numba.get_num_threads()]))"
    record = study.TrialRecord(tmp_path / "trials.jsonl")
    trial = study.Trial("threads", _python(code), tmp_path / "threads.log")

    def entry(finished: study.Finished) -> dict:
        return {"key": "threads", "rc": finished.returncode, "threads": json.loads(finished.log_text)}

    assert study.run_trials([trial], record, entry) == 0
    assert record.finished()["threads"]["threads"] == [1, 1]


# --------------------------------------------------------------------------------------------
# The command line and the report
# --------------------------------------------------------------------------------------------
def _script(root: Path) -> Path:
    script = root / "experiments" / "tiny" / "run.py"
    script.parent.mkdir(parents=True)
    return script


def test_report_only_reports_from_the_record_without_measuring(tmp_path):
    script = _script(tmp_path)
    record_path = script.parent / "measurements.json"
    fixture = {"measured": {"commit": "abc1234", "date": "2026-12-07 00:00 UTC"}, "value": 41.5}
    record_path.write_text(json.dumps(fixture))
    reports = []

    def measure(args, command):
        raise AssertionError("--report-only measured")

    def report(record, command):
        reports.append((record, command))
        (script.parent / "RESULTS.md").write_text(study.stamp(command, record["measured"]))

    parser = study.parser("A tiny study.", quick="a smoke run")
    args = study.main(script, parser, record_path, measure, report, ["--report-only"])
    assert args.report_only and not args.quick
    assert reports == [(fixture, ["experiments/tiny/run.py", "--report-only"])]
    results = (script.parent / "RESULTS.md").read_text()
    assert "- Data: measured at commit `abc1234`, 2026-12-07 00:00 UTC" in results
    assert "- Command: `python experiments/tiny/run.py --report-only`" in results


def test_a_measuring_run_writes_the_record_it_reports_from(tmp_path):
    script = _script(tmp_path)
    record_path = script.parent / "measurements.json"
    reports = []
    study.main(
        script,
        study.parser("A tiny study."),
        record_path,
        lambda args, command: {"measured": study.measured_here(command), "value": 2.0},
        lambda record, command: reports.append(record["value"]),
        [],
    )
    assert reports == [2.0]
    written = json.loads(record_path.read_text())
    assert written["value"] == 2.0 and written["measured"]["command"] == "python experiments/tiny/run.py"


def test_report_only_without_a_record_says_what_to_run(tmp_path):
    script = _script(tmp_path)
    with pytest.raises(SystemExit, match="no recorded data; run the study without --report-only"):
        study.main(script, study.parser(None), script.parent / "none.json", None, None, ["--report-only"])


def test_time_train_times_the_whole_command_and_finds_its_run_directory(tmp_path, capsys):
    config = tmp_path / "tiny.yaml"
    config.write_text(
        "env: {id: FrozenLake-v1, num_envs: 2}\nagent: {algo: q_learning}\n"
        "train: {total_steps: 200, eval_every: 0, eval_episodes: 2}\n"
    )
    timed = study.time_train(config, [f"log.run_dir={tmp_path / 'runs'}", "log.progress=none"])
    assert timed.run_dir.is_dir() and timed.run_dir.parent == tmp_path / "runs"
    assert (timed.run_dir / "metrics.csv").is_file()
    assert timed.wall_s > 0 and timed.cpu_s > 0 and timed.start_time > 1e9
    assert "run directory:" in capsys.readouterr().out  # the command's output is passed on

    with pytest.raises(SystemExit) as failed:  # a command that fails exits with its status
        study.time_train(config, ["train.total_steps=-1"])
    assert failed.value.code != 0
