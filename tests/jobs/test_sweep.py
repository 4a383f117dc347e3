"""`rlsuite sweep`: sweep files, Ray Tune trials of real training runs, retries, resume, clusters.

The sweeps here run tabular Q-learning on FrozenLake (a trial takes a few seconds) on a real Ray:
the session's local Ray (2 CPUs) in-process, and a fresh Ray in a subprocess where the test needs
one of its own (interrupting a sweep, a simulated two-node cluster from Ray's own cluster_utils).
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
from rlsuite.jobs.spec import label, load_sweep, parse_seeds, variants

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "env": {"id": "FrozenLake-v1", "num_envs": 4, "kwargs": {"is_slippery": False}},
    "agent": {"algo": "q_learning", "learning_rate": 0.5, "gamma": 0.95, "exploration_fraction": 0.5},
    "train": {"total_steps": 4000, "eval_every": 1000, "eval_episodes": 4, "eval_num_envs": 2},
}


def write_sweep(tmp_path: Path, base: dict | None = None, **spec) -> Path:
    (tmp_path / "base.yaml").write_text(
        yaml.safe_dump({**(base or BASE), "log": {"run_dir": str(tmp_path / "runs")}})
    )
    data = {"name": "s", "base": "base.yaml", "seeds": [0, 1], "max_concurrent": 2, **spec}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def read_summary(sweep_dir: Path) -> list[dict]:
    with (sweep_dir / "summary.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def run_dirs(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.iterdir() if (p / "metrics.csv").is_file())


# --------------------------------------------------------------------------------------------
# The sweep file (no Ray)
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seeds", "expected"),
    [(3, [0, 1, 2]), ("0-4", [0, 1, 2, 3, 4]), ("2-3", [2, 3]), ([5, 1], [5, 1]), ("1,7", [1, 7])],
)
def test_seeds_take_a_count_a_range_or_a_list(seeds, expected) -> None:
    assert parse_seeds(seeds) == expected


@pytest.mark.parametrize("seeds", [0, "4-1", [], [1, 1], [-1], "a-b", True, 1.5])
def test_impossible_seeds_are_config_errors(seeds) -> None:
    with pytest.raises(ConfigError, match="sweep.seeds"):
        parse_seeds(seeds)


def test_grid_points_times_samples_are_drawn_once_and_reproducibly(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        space={"agent.learning_rate": [0.1, 0.5], "agent.gamma": {"uniform": [0.9, 0.99]}},
        num_samples=3,
    )
    spec, _ = load_sweep(path)
    first, again = variants(spec), variants(spec)
    assert first == again and len(first) == 6
    assert sorted({v["agent.learning_rate"] for v in first}) == [0.1, 0.5]
    assert all(0.9 <= v["agent.gamma"] < 0.99 for v in first)
    assert len({v["agent.gamma"] for v in first}) == 6
    assert label(first[0]).startswith("learning_rate=0.1,gamma=0.9")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"spaces": {}}, "sweep.spaces: unknown key"),
        ({"space": {"agent.learning_rate": {"normal": [0, 1]}}}, r"sweep.space.agent.learning_rate: got"),
        ({"space": {"agent.learning_rate": {"uniform": [1, 0]}}}, "low < high"),
        ({"space": {"agent.learning_rate": {"loguniform": [0, 1]}}}, "bounds must be > 0"),
        ({"space": {"agent.learning_rate": []}}, "empty list"),
        ({"space": {"learning_rate": [0.1]}}, "dotted config keys"),
        ({"space": {"agent.learning_rat": [0.1]}}, "agent.learning_rat: unknown key"),
        ({"space": {"agent.learning_rate": [0.1, -1.0]}}, "agent.learning_rate"),
        ({"set": {"train.total_steps": 0}}, "train.total_steps"),
        ({"mode": "maximum"}, "sweep.mode"),
        ({"resources": {"cpus": -1}}, "sweep.resources.cpus"),
        ({"name": "a b"}, "sweep.name"),
    ],
)
def test_a_bad_sweep_file_is_a_config_error_before_ray_starts(
    tmp_path: Path, spec: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sweep(write_sweep(tmp_path, **spec))


def test_a_missing_base_config_is_named(tmp_path: Path) -> None:
    path = write_sweep(tmp_path)
    path.write_text(path.read_text().replace("base.yaml", "nowhere.yaml"))
    with pytest.raises(ConfigError, match="nowhere.yaml"):
        load_sweep(path)


def test_bad_address_and_existing_sweep_are_clear_errors_from_the_command_line(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, space={"agent.learning_rate": [0.5]})
    command = [sys.executable, "-m", "rlsuite.cli", "sweep", str(path)]
    start = time.perf_counter()
    out = subprocess.run(command + ["--address", "127.0.0.1:9"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "cannot reach a Ray cluster" in out.stderr and "Traceback" not in out.stderr
    assert time.perf_counter() - start < 60  # Ray alone retries an unreachable head for minutes

    (tmp_path / "runs" / "s").mkdir(parents=True)
    (tmp_path / "runs" / "s" / "keep.txt").write_text("a user's file")
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--resume" in out.stderr, out.stderr
    assert (tmp_path / "runs" / "s" / "keep.txt").read_text() == "a user's file"


def test_an_rllib_trial_reserves_its_env_runners_too(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from rlsuite.jobs.sweep import trial_resources

    base = {
        "env": {"id": "CartPole-v1", "num_envs": 2},
        "agent": {"algo": "rllib.ppo", "num_env_runners": 2, "num_cpus_per_env_runner": 0.5},
        "log": {"run_dir": str(tmp_path / "runs")},
    }
    spec, base = load_sweep(write_sweep(tmp_path, base=base, resources={"cpus": 1, "gpus": 0.5}))
    assert trial_resources(spec, base) == [{"CPU": 1.0, "GPU": 0.5}, {"CPU": 0.5}, {"CPU": 0.5}]


# --------------------------------------------------------------------------------------------
# Sweeps on the session's local Ray
# --------------------------------------------------------------------------------------------
@pytest.fixture
def ray_local(ray_session):
    return ray_session


def test_four_trials_complete_and_are_summarised(tmp_path: Path, ray_local) -> None:
    from rlsuite.jobs.sweep import run_sweep

    path = write_sweep(tmp_path, space={"agent.learning_rate": [0.05, 0.5]})
    sweep_dir = run_sweep(path, echo=lambda *_: None)

    assert sweep_dir == (tmp_path / "runs" / "s").resolve()
    dirs = run_dirs(sweep_dir)
    assert len(dirs) == 4, "one ordinary run directory per trial, inside the sweep directory"
    for run_dir in dirs:
        assert (run_dir / "config.yaml").is_file() and list(run_dir.glob("events.out.tfevents.*"))
        trial = json.loads((run_dir / "trial.json").read_text())
        assert trial["step"] == 4000
    rows = read_summary(sweep_dir)
    assert sorted((r["config"], r["seed"]) for r in rows) == [
        ("learning_rate=0.05", "0"),
        ("learning_rate=0.05", "1"),
        ("learning_rate=0.5", "0"),
        ("learning_rate=0.5", "1"),
    ]
    assert all(r["error"] == "" and float(r["env_steps"]) == 4000 for r in rows)
    summary = (sweep_dir / "summary.md").read_text()
    assert "| learning_rate=0.5 | 2/2 |" in summary and "| 4,000 |" in summary and "Failures: 0" in summary
    assert (sweep_dir / "curves.png").stat().st_size > 10_000
    with pytest.raises(ConfigError, match="exists"):  # the finished sweep is never overwritten
        run_sweep(path, echo=lambda *_: None)


def test_a_trial_that_fails_is_retried_from_its_last_checkpoint(tmp_path: Path, ray_local) -> None:
    from rlsuite.jobs.sweep import run_sweep

    marker = tmp_path / "failed-once"
    base = {
        **BASE,
        "env": {
            "id": "tests.jobs.flaky:tests/FlakyFrozenLake-v0",
            "num_envs": 2,
            "kwargs": {"marker": str(marker), "fail_at": 1500, "is_slippery": False},
        },
    }
    path = write_sweep(tmp_path, base=base, seeds=[0], max_failures=1)
    lines: list[str] = []
    sweep_dir = run_sweep(path, echo=lines.append)

    assert marker.exists(), "the env raised inside the trial"
    assert any("retrying from its last checkpoint" in line for line in lines), lines
    (run_dir,) = run_dirs(sweep_dir)  # resumed in the same run directory, not started afresh
    steps = [
        int(r["step"])
        for r in csv.DictReader((run_dir / "metrics.csv").open())
        if r["tag"] == "eval/return_mean"
    ]
    assert steps[0] == 1000 and steps[-1] == 4000
    (row,) = read_summary(sweep_dir)
    assert row["error"] == "" and float(row["env_steps"]) == 4000


CARTPOLE = {
    "env": {"id": "CartPole-v1", "num_envs": 8},
    "agent": {
        "algo": "q_learning",
        "learning_rate": 0.1,
        "gamma": 0.99,
        "bins": [1, 1, 6, 12],
        "low": [-4.8, -4.0, -0.21, -0.87],
        "high": [4.8, 4.0, 0.21, 0.87],
    },
    "train": {"total_steps": 8000, "eval_every": 1000, "eval_episodes": 4, "eval_num_envs": 4},
}


@pytest.mark.slow
def test_asha_stops_trials_only_at_its_rungs(tmp_path: Path, ray_local) -> None:
    from rlsuite.jobs.sweep import run_sweep

    path = write_sweep(
        tmp_path,
        base=CARTPOLE,
        seeds=[0],
        space={"agent.learning_rate": [0.01, 0.05, 0.2, 0.5]},
        scheduler={"type": "asha", "grace_period": 2000, "reduction_factor": 2},
        max_concurrent=1,
    )
    sweep_dir = run_sweep(path, echo=lambda *_: None)
    rows = read_summary(sweep_dir)
    assert len(rows) == 4 and all(r["error"] == "" for r in rows)
    # A trial ends at max_t, or is stopped right after a rung (grace × 2^k), never elsewhere.
    rungs = {2000, 4000, 8000}
    assert all(int(float(r["env_steps"])) in rungs for r in rows), [r["env_steps"] for r in rows]


@pytest.mark.slow
def test_optuna_proposes_the_configurations(tmp_path: Path, ray_local) -> None:
    pytest.importorskip("optuna")
    from rlsuite.jobs.sweep import run_sweep

    path = write_sweep(
        tmp_path,
        base=CARTPOLE,
        seeds=[3],
        search="optuna",
        num_samples=3,
        space={"agent.learning_rate": {"loguniform": [0.01, 0.5]}, "agent.gamma": [0.9, 0.99]},
    )
    sweep_dir = run_sweep(path, echo=lambda *_: None)
    rows = read_summary(sweep_dir)
    assert len(rows) == 3 and all(r["error"] == "" and r["seed"] == "3" for r in rows)
    rates = {
        json.loads(p.read_text())["overrides"]["agent.learning_rate"] for p in sweep_dir.glob("*/trial.json")
    }
    assert len(rates) == 3 and all(0.01 <= r <= 0.5 for r in rates)


def test_a_trial_asking_for_more_cpus_than_any_node_has_is_a_clear_error(tmp_path: Path, ray_local) -> None:
    from rlsuite.jobs.sweep import run_sweep

    path = write_sweep(tmp_path, resources={"cpus": 64})
    with pytest.raises(ConfigError, match="asks for 64 CPUs on one node, but the largest node"):
        run_sweep(path, echo=lambda *_: None)
    assert not (tmp_path / "runs" / "s").exists()


# --------------------------------------------------------------------------------------------
# A Ray of its own: interrupt and resume; a simulated two-node cluster
# --------------------------------------------------------------------------------------------
def sweep_process(path: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rlsuite.cli", "sweep", str(path), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_rerunning_finished_trials(tmp_path: Path) -> None:
    base = {**BASE, "train": {**BASE["train"], "total_steps": 40_000, "eval_every": 5_000}}
    path = write_sweep(tmp_path, base=base, seeds=[0, 1, 2], max_concurrent=1)
    sweep_dir = tmp_path / "runs" / "s"
    process = sweep_process(path)
    deadline = time.monotonic() + 240
    finished: list[Path] = []
    # Stop it once a trial is done *for Tune*: its last report (step 40k) comes before its run's wrap-up
    # (closing rows, the last checkpoint), and Tune records it terminated only after that. With one trial
    # at a time, the next trial's reports (each snapshots Tune's state) mean the first is done: wait for
    # its second, so that the snapshot after its first has surely been written.
    while time.monotonic() < deadline:
        states = [(p, json.loads(p.read_text())["step"]) for p in sweep_dir.glob("*/trial.json")]
        finished = [p for p, step in states if step == 40_000]
        if (finished and any(10_000 <= step < 40_000 for _, step in states)) or process.poll() is not None:
            break
        time.sleep(0.2)
    assert finished and process.poll() is None, process.communicate(timeout=60)[0] if process.poll() else ""
    process.send_signal(signal.SIGKILL)  # the driver dies at once: no clean-up
    output = process.communicate(timeout=120)[0]
    done_before = {p.parent.name: p.parent.joinpath("metrics.csv").stat().st_mtime for p in finished}

    process = sweep_process(path, "--resume")
    output = process.communicate(timeout=300)[0]
    assert process.returncode == 0, output
    # Every seed finished once; a trial interrupted before its first checkpoint restarts afresh
    # (Tune has nothing to resume it from) and its partial run directory stays, untouched.
    finals = [
        json.loads((d / "trial.json").read_text())
        for d in run_dirs(sweep_dir.resolve())
        if (d / "trial.json").is_file()
    ]
    assert sorted(t["seed"] for t in finals if t["step"] == 40_000) == [0, 1, 2], finals
    for name, mtime in done_before.items():
        assert (sweep_dir / name / "metrics.csv").stat().st_mtime == mtime, f"{name} was rerun"
    rows = read_summary(sweep_dir)
    assert len(rows) == 3 and all(r["error"] == "" and float(r["env_steps"]) == 40_000 for r in rows), rows


@pytest.mark.slow
def test_a_two_node_cluster_runs_trials_on_both_nodes(tmp_path: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True, connect=False, head_node_args={"num_cpus": 1, "include_dashboard": False}
    )
    try:
        cluster.add_node(num_cpus=1)
        path = write_sweep(tmp_path, space={"agent.learning_rate": [0.5]})
        process = sweep_process(path, "--address", cluster.address)
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, output
    finally:
        cluster.shutdown()
    nodes = {json.loads(p.read_text())["node_id"] for p in (tmp_path / "runs" / "s").glob("*/trial.json")}
    assert len(nodes) == 2, "one trial on each 1-CPU node"
