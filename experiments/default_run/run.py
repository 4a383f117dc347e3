"""The README's main job: `rlsuite train` with the embedded default config (DQN on Racetrack state
features, 30k env steps over 32 cars), over several seeds — the wall time of the whole command and
the final greedy return — next to a uniformly random policy on the same evaluation episodes.

    python experiments/default_run/run.py                 # 8 seeds (~2 min on 2 cores)
    python experiments/default_run/run.py --report-only   # RESULTS.md from measurements.json

Each seed is the README's command, `rlsuite train`, plus `train.seed=S` and a run directory under
`runs/default_run/`; the return is the run's final evaluation (`eval/return_mean` at the last step:
10 greedy episodes on evaluation seeds training never used).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import time
from pathlib import Path

from rlsuite import study

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RUNS = REPO / "runs" / "default_run"

RECORD = HERE / "measurements.json"


def final_return(run_dir: Path) -> float:
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["tag"] == "eval/return_mean"]
    return float(max(rows, key=lambda r: int(r["step"]))["value"])


def random_return(episodes: int = 10) -> float:
    """A uniformly random policy on the default config's evaluation envs and seeds."""
    from rlsuite.config import load_config
    from rlsuite.training import EVAL_SEED_OFFSET, evaluate, make_envs

    config = load_config(None)
    envs = make_envs(config.env, min(config.train.eval_num_envs, episodes))
    envs.action_space.seed(0)
    try:
        stats = evaluate(
            lambda obs, starts: envs.action_space.sample(),
            envs,
            episodes,
            config.train.seed + EVAL_SEED_OFFSET,
        )
    finally:
        envs.close()
    return stats["eval/return_mean"]


def measure(args: argparse.Namespace, command: list[str]) -> dict:
    runs = []
    for seed in args.seeds:
        before = set(RUNS.glob("*")) if RUNS.exists() else set()
        command = ["rlsuite", "train", f"train.seed={seed}", f"log.run_dir={RUNS}", "log.progress=none"]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        (run_dir,) = set(RUNS.glob("*")) - before
        runs.append({"seed": seed, "wall_s": round(wall, 2), "final_return": final_return(run_dir)})
        print(f"seed {seed}: {wall:.1f} s, final greedy return {runs[-1]['final_return']:.1f}", flush=True)
    return {"measured": study.measured_here(command), "runs": runs, "random_return": random_return()}


def report(record: dict, command: list[str]) -> None:
    runs = record["runs"]
    returns = [r["final_return"] for r in runs]
    walls = [r["wall_s"] for r in runs]
    out = [
        "# The README's main job: `rlsuite train` with the embedded default config\n\n",
        study.stamp(command, record["measured"]),
        "\nDQN on Racetrack state features (9 discrete actions), 30k env steps over 32 cars, the config "
        "`rlsuite train` embeds; one seed per run, the whole command timed (start-up, training, the "
        "evaluations and the checkpoints). Return: the final greedy evaluation (10 episodes on "
        "evaluation seeds).\n\n",
        "| seed | wall time [s] | final greedy return |\n|---:|---:|---:|\n",
        *(f"| {r['seed']} | {r['wall_s']:.1f} | {r['final_return']:.1f} |\n" for r in runs),
        f"\n**Summary** ({len(runs)} seeds): wall time median {statistics.median(walls):.1f} s "
        f"(range {min(walls):.1f}–{max(walls):.1f} s); final greedy return median "
        f"{statistics.median(returns):.0f}, range {min(returns):.0f}–{max(returns):.0f}; a uniformly "
        f"random policy on the evaluation episodes of seed 0: {record['random_return']:.1f}.\n",
    ]
    (HERE / "RESULTS.md").write_text("".join(out))
    print(f"written: {HERE / 'RESULTS.md'}")


def main() -> None:
    parser = study.parser(__doc__, "RESULTS.md from measurements.json")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    study.main(__file__, parser, RECORD, measure, report)


if __name__ == "__main__":
    main()
