"""`batch_seeds: true` in a sweep file: each configuration one Ray Tune trial that trains all the
sweep's seeds side by side (train.num_seeds), with the same per-seed runs and summary as one trial
per seed.

The reference is the same sweep without ``batch_seeds``: a K-seed run is bit-identical per seed, so
every seed's ``metrics.csv`` (timings aside) and the summary's per-configuration figures must be the
same. The sweeps train a tiny PQN on CartPole (a few hundred steps) on the session's local Ray.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from rlsuite.config import ConfigError
from rlsuite.jobs.spec import batches_seeds, describe, load_sweep

ROOT = Path(__file__).resolve().parents[2]

PQN = {
    "env": {"id": "CartPole-v1", "num_envs": 4},
    "agent": {
        "algo": "pqn",
        "learning_rate": 1e-3,
        "optimizer": "adam",
        "num_steps": 4,
        "num_epochs": 1,
        "num_minibatches": 2,
        "net_arch": [16, 16],
        "exploration_fraction": 0.3,
        "log_interval": 1,
    },
    "train": {"total_steps": 400, "eval_every": 200, "eval_episodes": 4, "eval_num_envs": 4},
}
Q_LEARNING = {
    "env": {"id": "FrozenLake-v1", "num_envs": 4, "kwargs": {"is_slippery": False}},
    "agent": {"algo": "q_learning"},
}
TIMINGS = ("charts/sps", "time/")  # wall-clock scalars: never equal across two runs


def write_sweep(tmp_path: Path, base: dict | None = None, **spec) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump({**(base or PQN), "log": {"run_dir": str(tmp_path / "runs")}})
    )
    data = {
        "name": "s",
        "base": "base.yaml",
        "seeds": "0-2",
        "batch_seeds": True,
        "max_concurrent": 2,
        **spec,
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def seed_runs(sweep_dir: Path) -> dict[tuple[float, int], Path]:
    """Every seed's run directory, batched or not, by (learning rate, seed), from its trial.json."""
    runs = {}
    for state in [*sweep_dir.glob("*/trial.json"), *sweep_dir.glob("*/seed*/trial.json")]:
        trial = json.loads(state.read_text())
        runs[(trial["overrides"]["agent.learning_rate"], trial["seed"])] = state.parent
    return runs


def metric_rows(run_dir: Path) -> list[tuple[str, str, str]]:
    with (run_dir / "metrics.csv").open() as f:
        return [
            (r["step"], r["tag"], r["value"]) for r in csv.DictReader(f) if not r["tag"].startswith(TIMINGS)
        ]


def summary_table(sweep_dir: Path) -> list[list[str]]:
    """The summary's rows without what names a run directory or times it (best trial, wall)."""
    lines = (sweep_dir / "summary.md").read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| configuration |"))
    table = []
    for line in lines[header + 2 :]:  # past the header and its |---|
        if not line.startswith("|"):
            break
        config, trials, mean_std, best_trial, best, steps, _wall = (c.strip() for c in line.split("|")[1:-1])
        table.append([config, trials, mean_std, best_trial.split(":")[0], best, steps])  # "seed 1: `dir`"
    return table


# --------------------------------------------------------------------------------------------
# The sweep file (no Ray)
# --------------------------------------------------------------------------------------------
def test_the_example_sweep_file_batches_its_seeds() -> None:
    spec, base = load_sweep(ROOT / "experiments" / "sweeps" / "pqn_cartpole_seeds.yaml")
    assert spec.batch_seeds and batches_seeds(spec) and len(spec.seeds) > 1
    assert base["agent"]["algo"] == "pqn"
    assert describe(spec).endswith("= 8 runs in 2 trials (seeds side by side)")


def test_seeds_in_any_order_batch_when_consecutive_and_one_seed_means_ordinary_trials(tmp_path: Path) -> None:
    spec, _ = load_sweep(write_sweep(tmp_path, seeds=[4, 2, 3], space={"agent.learning_rate": [1e-3, 3e-3]}))
    assert (
        batches_seeds(spec)
        and describe(spec) == "2 configuration(s) × 3 seed(s) = 6 runs in 2 trials (seeds side by side)"
    )
    spec, _ = load_sweep(write_sweep(tmp_path, seeds=[7]))
    assert not batches_seeds(spec) and describe(spec) == "1 configuration(s) × 1 seed(s) = 1 trials"


@pytest.mark.parametrize(
    ("base", "spec", "message"),
    [
        (Q_LEARNING, {}, r"sweep.batch_seeds: agent.algo q_learning trains one seed per process; .*dqn, pqn"),
        (
            PQN,
            {"seeds": [0, 2]},
            r"sweep.seeds: got \[0, 2\]; with batch_seeds: true the seeds must be consecutive",
        ),
        (PQN, {"seeds": "1,2,4"}, "e.g. 1-3"),
        (PQN, {"search": "optuna"}, "sweep.batch_seeds: needs search: grid"),
        (PQN, {"batch_seeds": 2}, r"sweep.batch_seeds: got 2 \(int\); expected true or false"),
        (PQN, {"batch_seeds": "yes"}, "sweep.batch_seeds: got 'yes'"),
        (PQN, {"set": {"train.num_seeds": 3}}, "train.num_seeds: got 3 .* a sweep sets it itself"),
        (PQN, {"batch_seeds": False, "space": {"train.num_seeds": [1, 2]}}, "train.num_seeds: got 2"),
    ],
)
def test_what_cannot_batch_is_a_config_error_before_ray_starts(
    tmp_path: Path, base: dict, spec: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sweep(write_sweep(tmp_path, base=base, **spec))


# --------------------------------------------------------------------------------------------
# Sweeps on the session's local Ray
# --------------------------------------------------------------------------------------------
def test_batched_seeds_give_the_runs_and_summary_of_one_trial_per_seed(tmp_path: Path, ray_session) -> None:
    from rlsuite.jobs.sweep import run_sweep

    space = {"agent.learning_rate": [1e-3, 3e-2]}
    lines: list[str] = []
    batched = run_sweep(write_sweep(tmp_path / "batched", space=space), echo=lines.append)
    single = run_sweep(write_sweep(tmp_path / "single", space=space, batch_seeds=False), echo=None)

    parents = sorted(p for p in batched.iterdir() if (p / "summary.json").is_file())
    assert [p.name.split("-3seeds-")[0] for p in parents] == [
        "v00-learning_rate_0.001",
        "v01-learning_rate_0.03",
    ]
    assert all(len(list(p.glob("seed*/metrics.csv"))) == 3 for p in parents), "a run directory per seed"
    batched_runs, single_runs = seed_runs(batched), seed_runs(single)
    assert sorted(batched_runs) == sorted(single_runs) == [(lr, s) for lr in (1e-3, 3e-2) for s in (0, 1, 2)]
    for key, run_dir in single_runs.items():
        assert metric_rows(batched_runs[key]) == metric_rows(run_dir), key
    assert metric_rows(batched_runs[(3e-2, 0)]) != metric_rows(batched_runs[(1e-3, 0)])

    table = summary_table(batched)
    assert table == summary_table(single) and len(table) == 2 and table[0][1] == "3/3"
    assert "6 runs in 2 trials" in (batched / "summary.md").read_text()
    with (batched / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["config"], r["seed"]) for r in rows} == {
        (f"learning_rate={lr}", str(s)) for lr in ("0.001", "0.03") for s in range(3)
    }
    assert all(Path(r["run_dir"]).parent in parents for r in rows)
    # Tune got one result per evaluation (steps 200 and 400) and configuration: the seeds' mean
    reports = [line for line in lines if line.startswith("  learning_rate=0.001 seeds 0-2: eval/return_mean")]
    assert len(reports) == 2 and all("(mean over the seeds)" in line for line in reports), lines


def test_a_failed_batched_trial_restarts_from_scratch_and_keeps_the_failed_attempt(
    tmp_path: Path, ray_session
) -> None:
    from rlsuite.jobs.sweep import run_sweep

    marker = tmp_path / "failed-once"
    env = {  # a training sub-env's 70th step is env step 280: after the evaluation at step 200
        "id": "tests.jobs.flaky:tests/FlakyCartPole-v0",
        "num_envs": 4,
        "kwargs": {"marker": str(marker), "fail_at": 70},
    }
    lines: list[str] = []
    sweep_dir = run_sweep(write_sweep(tmp_path, base={**PQN, "env": env}, max_failures=1), echo=lines.append)

    assert marker.exists(), "the env raised inside the trial"
    assert any("retrying from scratch in a fresh run directory" in line for line in lines), lines
    attempts = [p for p in sweep_dir.iterdir() if p.name.startswith("v00-")]
    (fresh,) = [p for p in attempts if (p / "summary.json").is_file()]
    (failed,) = [p for p in attempts if p != fresh]
    assert len(list(failed.glob("seed*/metrics.csv"))) == 3, "the failed attempt's runs stay"
    with (sweep_dir / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["seed"] for r in rows) == ["0", "1", "2"]
    assert all(
        r["error"] == "" and float(r["env_steps"]) == 400 and Path(r["run_dir"]).parent == fresh for r in rows
    )


# --------------------------------------------------------------------------------------------
# A Ray of its own: a killed batched sweep resumes
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_killed_batched_sweep_resumes_by_rerunning_unfinished_trials_from_scratch(tmp_path: Path) -> None:
    base = {**PQN, "train": {**PQN["train"], "total_steps": 4_000, "eval_every": 500}}
    path = write_sweep(
        tmp_path, base=base, seeds="0-1", space={"agent.learning_rate": [1e-3, 3e-3]}, max_concurrent=1
    )
    sweep_dir = (tmp_path / "runs" / "s").resolve()
    command = [sys.executable, "-m", "rlsuite.cli", "sweep", str(path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    deadline = time.monotonic() + 240
    started: list[Path] = []
    while time.monotonic() < deadline and process.poll() is None:  # kill it mid-trial, after a report
        started = [
            p.parent
            for p in sweep_dir.glob("v*/seed*/trial.json")
            if json.loads(p.read_text())["step"] >= 1_000
        ]
        if started:
            break
        time.sleep(0.2)
    assert started and process.poll() is None, process.communicate(timeout=60)[0] if process.poll() else ""
    process.send_signal(signal.SIGKILL)  # the driver dies at once: no clean-up
    process.communicate(timeout=120)

    resumed = subprocess.run(
        command + ["--resume"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "unfinished trials start again from scratch in fresh run directories" in resumed.stdout
    assert all(p.is_dir() for p in started), "the interrupted attempt's run directories stay"
    with (sweep_dir / "summary.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and all(r["error"] == "" and float(r["env_steps"]) == 4_000 for r in rows), rows
    assert not {Path(r["run_dir"]) for r in rows} & set(started), "the unfinished trial ran again afresh"
