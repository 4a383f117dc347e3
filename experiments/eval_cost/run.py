"""What the default periodic evaluation costs: the whole `rlsuite train` command with the config's
own evaluation schedule against the same command with `train.eval_every=0` (only the final
evaluation), on the README's main job (the embedded default config) and on the shipped SB3 PPO
Racetrack config. The two runs of a pair differ only in the periodic evaluations, so the difference
of their medians over that of the default schedule is the share of the run's wall-clock those
evaluations cost.

    python experiments/eval_cost/run.py                  # 3 interleaved rounds (~2 min on 2 cores)
    python experiments/eval_cost/run.py --report-only    # RESULTS.md from measurements.json

Every evaluation, for every agent family, runs on one vector env of `train.eval_num_envs` envs
(`rlsuite.training.Monitor`), so its episodes are stepped as a batch.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from rlsuite import study

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

RECORD = HERE / "measurements.json"
JOBS = {  # label -> the config argument of `rlsuite train` (none: the embedded default)
    "default job (`rlsuite train`)": [],
    "SB3 PPO Racetrack (`experiments/configs/sb3_ppo_racetrack.yaml`)": [
        str(REPO / "experiments" / "configs" / "sb3_ppo_racetrack.yaml")
    ],
}
TARGET = 0.25  # issue 29: the default periodic evaluation costs at most a quarter of the run


def wall_time(config: list[str], overrides: list[str], run_dir: Path) -> float:
    command = ["rlsuite", "train", *config, "log.progress=none", f"log.run_dir={run_dir}", *overrides]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    return time.perf_counter() - start


def measure(args: argparse.Namespace, command: list[str]) -> dict:
    rounds = args.rounds
    jobs = []
    with tempfile.TemporaryDirectory(prefix="eval-cost-") as scratch:
        times: dict[str, dict[str, list[float]]] = {job: {"default": [], "end_only": []} for job in JOBS}
        for _ in range(rounds):  # interleaved, so the machine's load hits both schedules alike
            for job, config in JOBS.items():
                times[job]["default"].append(wall_time(config, [], Path(scratch)))
                times[job]["end_only"].append(wall_time(config, ["train.eval_every=0"], Path(scratch)))
                print(job, {k: round(v[-1], 2) for k, v in times[job].items()}, flush=True)
    for job, t in times.items():
        default, end_only = statistics.median(t["default"]), statistics.median(t["end_only"])
        jobs.append(
            {
                "job": job,
                "default_s": t["default"],
                "end_only_s": t["end_only"],
                "default_median_s": default,
                "end_only_median_s": end_only,
                "eval_share": (default - end_only) / default,
            }
        )
    return {"measured": study.measured_here(command), "rounds": rounds, "target": TARGET, "jobs": jobs}


def report(record: dict, command: list[str]) -> None:
    out = [
        "# What the default periodic evaluation costs\n",
        study.stamp(command, record["measured"]),
        f"\nThe whole `rlsuite train` command with the config's evaluation schedule (default) and with "
        f"`train.eval_every=0` (the final evaluation only), {record['rounds']} interleaved rounds, medians. "
        "The periodic evaluations' share of the run is (default − final only) / default; the issue's "
        f"target is at most {record['target']:.0%}. Evaluations step `train.eval_num_envs` envs as one "
        "batch for every agent family.\n\n"
        "| job | default schedule [s] | final evaluation only [s] | periodic evaluations' share | "
        "≤ target |\n|---|---:|---:|---:|:---:|\n",
    ]
    for job in record["jobs"]:
        runs = ", ".join(f"{t:.1f}" for t in job["default_s"])
        end_runs = ", ".join(f"{t:.1f}" for t in job["end_only_s"])
        share = job["eval_share"]
        out.append(
            f"| {job['job']} | {job['default_median_s']:.1f} ({runs}) | {job['end_only_median_s']:.1f} "
            f"({end_runs}) | {share:.0%} | {'yes' if share <= record['target'] else '**no**'} |\n"
        )
    (HERE / "RESULTS.md").write_text("".join(out))
    print(f"written: {HERE / 'RESULTS.md'}")


def main() -> None:
    parser = study.parser(__doc__, "RESULTS.md from measurements.json")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians are reported)")
    study.main(__file__, parser, RECORD, measure, report)


if __name__ == "__main__":
    main()
