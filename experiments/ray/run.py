"""Benchmark: `rlsuite sweep` on a local Ray against the same trials run one after another.

    python experiments/bench_sweep.py                     # 8 DQN CartPole trials, ~20 s each
    python experiments/bench_sweep.py --trials 4 --steps 20000

The trials are seeds 0..N-1 of `experiments/configs/dqn_cartpole.yaml` (one torch thread each).
Sequential: `rlsuite.training.train` on each, one after another, in this process (torch already
imported: the favourable case for sequential). Sweep: the same trials through `run_sweep` on a local
Ray with one CPU per trial (as many at once as the machine has cores), timed from `ray.init` to
`ray.shutdown`. Printed: the ratio sweep / sequential wall time, Ray's start and stop, and Ray's
overhead per trial: each trial's slot (the sweep's time between start and stop × concurrency /
trials) minus the training time the trial measured itself. Writes
``experiments/results/sweep_speed.md``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--steps", type=int, default=60_000, help="env steps per trial")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "dqn_cartpole.yaml")
    parser.add_argument("--output", type=Path, default=ROOT / "results" / "sweep_speed.md")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"

    import ray
    import torch

    from rlsuite.config import apply_overrides, from_dict, read_yaml
    from rlsuite.jobs.cluster import connect
    from rlsuite.jobs.sweep import run_sweep

    torch.set_num_threads(1)
    scratch = Path(tempfile.mkdtemp(prefix="bench_sweep-"))
    overrides = [
        f"train.total_steps={args.steps}",
        f"train.eval_every={args.steps // 4}",
        "log.progress=none",
    ]

    # Sequential: the same trials, one after another.
    from rlsuite.training import train

    sequential = []
    for seed in range(args.trials):
        data = apply_overrides(
            read_yaml(args.config),
            [*overrides, f"train.seed={seed}", f"log.run_dir={scratch / 'sequential'}"],
        )
        start = time.perf_counter()
        train(from_dict(data))
        sequential.append(time.perf_counter() - start)
        print(f"sequential trial {seed}: {sequential[-1]:.1f} s", flush=True)

    # The sweep: one CPU per trial, as many at once as the machine has cores.
    base = apply_overrides(read_yaml(args.config), [*overrides, f"log.run_dir={scratch / 'sweep'}"])
    (scratch / "base.yaml").write_text(yaml.safe_dump(base))
    sweep = {"name": "bench", "base": "base.yaml", "seeds": f"0-{args.trials - 1}", "resources": {"cpus": 1}}
    (scratch / "sweep.yaml").write_text(yaml.safe_dump(sweep))
    start = time.perf_counter()
    connect(None)
    ray_started = time.perf_counter()
    concurrency = int(ray.cluster_resources()["CPU"])
    run_sweep(scratch / "sweep.yaml", echo=lambda *_: None)
    sweep_done = time.perf_counter()
    ray.shutdown()
    end = time.perf_counter()

    import csv

    with (scratch / "sweep" / "bench" / "summary.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    train_times = []
    for row in rows:
        metrics = Path(row["run_dir"]) / "metrics.csv"
        with metrics.open(newline="") as f:
            walls = [float(r["wall_time"]) for r in csv.DictReader(f)]
        train_times.append(max(walls) - min(walls))  # first to last logged scalar of the trial
    startup, between = worker_gaps(scratch / "sweep" / "bench")
    seq_total = sum(sequential)
    sweep_total = end - start
    slot = (sweep_done - ray_started) * min(concurrency, args.trials) / args.trials
    overhead = slot - statistics.fmean(train_times)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    lines = [
        "# `rlsuite sweep` on a local Ray vs the same trials one after another",
        "",
        f"Command: `python experiments/bench_sweep.py {' '.join(sys.argv[1:])}`".rstrip()
        + f" (commit {commit}, "
        f"{time.strftime('%Y-%m-%d')})",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, no GPU; one torch thread per trial. Trials: "
        f"{args.trials} seeds of `{args.config.relative_to(ROOT.parent)}` at {args.steps:,} env steps.",
        "",
        "| | seconds |",
        "|---|---:|",
        f"| sequential, {args.trials} trials in one process (sum) | {seq_total:.1f} |",
        f"| one sequential trial (median) | {statistics.median(sequential):.1f} |",
        f"| sweep, {concurrency} at once, `ray.init` to `ray.shutdown` | {sweep_total:.1f} |",
        f"| of which `ray.init` | {ray_started - start:.1f} |",
        f"| of which `ray.shutdown` | {end - sweep_done:.1f} |",
        f"| training time of a trial in the sweep (median, first to last logged scalar) | "
        f"{statistics.median(train_times):.1f} |",
        f"| slot per trial: (sweep without init/shutdown) × {min(concurrency, args.trials)} / {args.trials} | "
        f"{slot:.1f} |",
        "",
        f"- **sweep / sequential wall time: {sweep_total / seq_total:.2f}** (target ≤ 0.6)",
        f"- **Ray's overhead per trial, between two trials on one worker** (the previous trial's last "
        f"scalar to the next one's run directory: its final checkpoint, Tune's bookkeeping, the next "
        f"start; the worker process is reused): **{statistics.fmean(between):.2f} s** (mean of "
        f"{len(between)}, max {max(between):.2f}; target < 1 s)",
        f"- once per worker process: {statistics.fmean(startup):.1f} s from the trial's start to its run "
        "directory (Ray's worker start, importing torch, Ray Tune and rlsuite)",
        f"- slot per trial − training time, everything included (start-up amortised over "
        f"{args.trials} trials, the unequal last wave): {overhead:.2f} s",
        f"- `ray.init` + `ray.shutdown` are paid once per sweep: {ray_started - start + end - sweep_done:.1f} s",
        "- Two trials share the two cores in the sweep, so each trains slower than alone (memory bandwidth, "
        "the Ray processes): that is in the ratio, not in the overhead.",
    ]
    text = "\n".join(lines) + "\n"
    args.output.write_text(text)
    print(text)


def worker_gaps(sweep_dir: Path) -> tuple[list[float], list[float]]:
    """From Tune's result files (which worker process ran each trial, when it started) and our run
    directories (config.yaml written at the run's start, metrics.csv's last row): the start-up of
    each worker's first trial, and the gaps between consecutive trials on one worker."""
    import csv
    import json

    by_worker: dict[int, list[tuple[float, float, float]]] = {}
    for result in sweep_dir.glob("_tune/*/result.json"):
        last = json.loads(result.read_text().splitlines()[-1])
        run_dir = Path(last["run_dir"])
        with (run_dir / "metrics.csv").open(newline="") as f:
            last_scalar = max(float(r["wall_time"]) for r in csv.DictReader(f))
        started = last["timestamp"] - last["time_total_s"]  # Tune's clock: whole seconds
        by_worker.setdefault(last["pid"], []).append(
            (started, (run_dir / "config.yaml").stat().st_mtime, last_scalar)
        )
    startup, between = [], []
    for trials in by_worker.values():
        trials.sort()
        startup.append(trials[0][1] - trials[0][0])
        between += [nxt[1] - prev[2] for prev, nxt in zip(trials, trials[1:])]
    return startup, between


if __name__ == "__main__":
    main()
