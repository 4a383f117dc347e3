"""Ray study: `rlsuite sweep` on a local Ray against the same trials run one after another, and
RLlib's env-runner sampling on our native vector env against its sync wrapper.

    python experiments/ray/run.py                         # both parts (sweep alone ~10 min), then RESULTS.md
    python experiments/ray/run.py --parts sweep --trials 4 --steps 20000
    python experiments/ray/run.py --parts rllib --num-envs 64
    python experiments/ray/run.py --report-only           # RESULTS.md and plots from the recorded data

**sweep** (``sweep_speed.json``): the trials are seeds 0..N-1 of `experiments/configs/dqn_cartpole.yaml`
(one torch thread each).
Sequential: `rlsuite.training.train` on each, one after another, in this process (torch already
imported: the favourable case for sequential). Sweep: the same trials through `run_sweep` on a local
Ray with one CPU per trial (as many at once as the machine has cores), timed from `ray.init` to
`ray.shutdown`. Printed: the ratio sweep / sequential wall time, Ray's start and stop, and Ray's
overhead per trial: each trial's slot (the sweep's time between start and stop × concurrency /
trials) minus the training time the trial measured itself.

**rllib** (``rllib_sampling.json``): see :mod:`rllib_sampling` beside this script.

``sweep_scale.md`` beside it is a write-up (a 1,000-trial sweep on 100 nodes, on paper, from the
sweep figures and Ray Tune's published benchmarks), not a measurement.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rlsuite import study

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SWEEP = HERE / "sweep_speed.json"
RLLIB = HERE / "rllib_sampling.json"


def measure_sweep(args: argparse.Namespace, command: list[str]) -> dict:
    study.pin_threads()  # this process (the sequential trials) and Ray's workers: one thread each

    import ray
    import yaml

    from rlsuite.cluster import connect
    from rlsuite.config import apply_overrides, from_dict, read_yaml
    from rlsuite.jobs.sweep import run_sweep

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
    try:
        config = args.config.resolve().relative_to(REPO).as_posix()
    except ValueError:
        config = str(args.config)
    return {
        "measured": study.measured_here(command),
        "trials": args.trials,
        "steps": args.steps,
        "config": config,
        "concurrency": concurrency,
        "sequential_total_s": seq_total,
        "sequential_median_s": statistics.median(sequential),
        "sweep_total_s": sweep_total,
        "ray_init_s": ray_started - start,
        "ray_shutdown_s": end - sweep_done,
        "train_median_s": statistics.median(train_times),
        "slot_s": slot,
        "sweep_over_sequential": sweep_total / seq_total,
        "between_mean_s": statistics.fmean(between),
        "between_n": len(between),
        "between_max_s": max(between),
        "startup_mean_s": statistics.fmean(startup),
        "overhead_s": overhead,
        "init_shutdown_s": ray_started - start + end - sweep_done,
    }


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


def sweep_section(r: dict) -> list[str]:
    waves = min(r["concurrency"], r["trials"])
    return [
        "## `rlsuite sweep` on a local Ray vs the same trials one after another",
        "",
        f"Trials: {r['trials']} seeds of `{r['config']}` at {r['steps']:,} env steps, one torch thread per trial.",
        "",
        "| | seconds |",
        "|---|---:|",
        f"| sequential, {r['trials']} trials in one process (sum) | {r['sequential_total_s']:.1f} |",
        f"| one sequential trial (median) | {r['sequential_median_s']:.1f} |",
        f"| sweep, {r['concurrency']} at once, `ray.init` to `ray.shutdown` | {r['sweep_total_s']:.1f} |",
        f"| of which `ray.init` | {r['ray_init_s']:.1f} |",
        f"| of which `ray.shutdown` | {r['ray_shutdown_s']:.1f} |",
        "| training time of a trial in the sweep (median, first to last logged scalar) | "
        f"{r['train_median_s']:.1f} |",
        f"| slot per trial: (sweep without init/shutdown) × {waves} / {r['trials']} | {r['slot_s']:.1f} |",
        "",
        f"- **sweep / sequential wall time: {r['sweep_over_sequential']:.2f}** (target ≤ 0.6)",
        "- **Ray's overhead per trial, between two trials on one worker** (the previous trial's last "
        "scalar to the next one's run directory: its final checkpoint, Tune's bookkeeping, the next "
        f"start; the worker process is reused): **{r['between_mean_s']:.2f} s** (mean of "
        f"{r['between_n']}, max {r['between_max_s']:.2f}; target < 1 s)",
        f"- once per worker process: {r['startup_mean_s']:.1f} s from the trial's start to its run "
        "directory (Ray's worker start, importing torch, Ray Tune and rlsuite)",
        "- slot per trial − training time, everything included (start-up amortised over "
        f"{r['trials']} trials, the unequal last wave): {r['overhead_s']:.2f} s",
        f"- `ray.init` + `ray.shutdown` are paid once per sweep: {r['init_shutdown_s']:.1f} s",
        "- Two trials share the two cores in the sweep, so each trains slower than alone (memory bandwidth, "
        "the Ray processes): that is in the ratio, not in the overhead.",
        "",
    ]


def report(command: list[str]) -> None:
    from rllib_sampling import report_lines  # beside this script, whose folder Python puts on sys.path

    sweep = study.read_record(SWEEP) if SWEEP.is_file() else None
    rllib = study.read_record(RLLIB) if RLLIB.is_file() else None
    measured = [{**r["measured"], "label": name} for name, r in (("sweep", sweep), ("rllib", rllib)) if r]
    lines = [
        "# Ray: sweeps against sequential trials, RLlib sampling on our vector envs",
        "",
        study.stamp(command, measured),
    ]
    lines += [
        "Regenerated by `python experiments/ray/run.py --report-only` from `sweep_speed.json` and "
        "`rllib_sampling.json` (the measured values); `python experiments/ray/run.py` measures both again "
        "and replaces them. At scale, on paper: [`sweep_scale.md`](sweep_scale.md) (a 1,000-trial sweep on "
        "100 nodes, from the sweep figures below and Ray Tune's published benchmarks; a write-up, not a "
        "measurement).",
        "",
    ]
    if sweep:
        lines += sweep_section(sweep)
        study.bars(
            HERE / "sweep_speed.png",
            [f"{sweep['trials']} trials"],
            {
                "sequential (sum)": [sweep["sequential_total_s"]],
                f"sweep, {sweep['concurrency']} at once": [sweep["sweep_total_s"]],
            },
            "rlsuite sweep vs sequential: wall time",
            "seconds",
        )
        lines += ["![sweep vs sequential](sweep_speed.png)", ""]
    if rllib:
        lines += report_lines(rllib)
        rows = [r for r in rllib["rows"] if r["mode"] == "vector_entry_point"]
        labels = [f"{r['env_runners']} runners × {r['num_envs']} envs" for r in rows]
        sync = {
            (r["env_runners"], r["num_envs"]): r["steps_per_s"] for r in rllib["rows"] if r["mode"] == "sync"
        }
        study.bars(
            HERE / "rllib_sampling.png",
            labels,
            {
                "vector_entry_point (ours)": [r["steps_per_s"] for r in rows],
                "sync (RLlib's wrapper)": [sync.get((r["env_runners"], r["num_envs"])) for r in rows],
            },
            "RLlib PPO sampling on Racetrack",
            "env steps/s",
        )
        lines += ["![RLlib sampling](rllib_sampling.png)", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))
    print(f"written: {HERE / 'RESULTS.md'}")


def main() -> None:
    parser = study.parser(__doc__, "RESULTS.md and plots from the recorded data")
    parser.add_argument("--parts", nargs="+", default=["sweep", "rllib"], choices=["sweep", "rllib"])
    parser.add_argument("--trials", type=int, default=8, help="sweep: trials")
    parser.add_argument("--steps", type=int, default=60_000, help="sweep: env steps per trial")
    parser.add_argument(
        "--config", type=Path, default=HERE.parent / "configs" / "dqn_cartpole.yaml", help="sweep: config"
    )
    parser.add_argument(
        "--num-envs", type=int, nargs="+", default=[16, 64], help="rllib: sub-envs per runner"
    )
    parser.add_argument("--env-runners", type=int, nargs="+", default=[0, 1], help="rllib: env runner actors")
    parser.add_argument("--sample-steps", type=int, default=16_384, help="rllib: env steps per sample() call")
    parser.add_argument("--rounds", type=int, default=5, help="rllib: timed calls per case (best is kept)")
    args = parser.parse_args()
    command = study.command_of(__file__)
    if not args.report_only:
        if "sweep" in args.parts:
            study.write_record(SWEEP, measure_sweep(args, command))
        if "rllib" in args.parts:
            from rllib_sampling import measure_all

            study.write_record(
                RLLIB, measure_all(args.env_runners, args.num_envs, args.sample_steps, args.rounds, command)
            )
    report(command)


if __name__ == "__main__":
    main()
