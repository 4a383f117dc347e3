"""One trial of the zoo study: time the whole `rlsuite train CONFIG` command, then score the checkpoint
its training evaluations chose on 100 held-out episodes with the env's task metrics, and write what was
measured as one JSON file.

    python experiments/zoo/trial.py CONFIG OUT.json [--episodes 100] [-- key=value ...]

Measured:

* ``wall_s`` — the whole `rlsuite train` subprocess (start-up, training, its periodic evaluations and
  checkpoints); ``cpu_s`` — the CPU time (user + system) of that command and its children, which
  moves far less with the machine's load;
* ``curve`` — the run's training evaluations (``eval/*`` rows of its ``metrics.csv``: step, seconds
  since the command started, value), on the evaluation seeds that chose ``checkpoints/best``;
* ``held_out`` — :func:`rlsuite.training.evaluate_run` of ``checkpoints/best`` on ``--episodes``
  episodes of ``rlsuite eval``'s seed (``train.seed`` + 2,000,029), which no training evaluation saw:
  the return and every task metric of the env as ``<name>_mean`` / ``<name>_std``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from rlsuite.study import time_train


def curve(run_dir: Path, start_time: float) -> dict[str, list[list[float]]]:
    """``{tag: [[step, seconds since the command started, value], ...]}`` for the run's ``eval/*`` rows."""
    rows: dict[str, list[list[float]]] = {}
    with (run_dir / "metrics.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["tag"].startswith("eval/"):
                point = [
                    int(row["step"]),
                    round(float(row["wall_time"]) - start_time, 2),
                    float(row["value"]),
                ]
                rows.setdefault(row["tag"], []).append(point)
    return rows


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("config", help="the YAML config `rlsuite train` runs")
    cli.add_argument("out", type=Path, help="the JSON file this trial writes")
    cli.add_argument("--episodes", type=int, default=100, help="held-out greedy episodes")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = cli.parse_args(argv[:split])
    overrides = argv[split + 1 :]  # key=value overrides for `rlsuite train`, after --

    timed = time_train(args.config, overrides)
    run_dir = timed.run_dir

    from rlsuite.training import evaluate_run

    held_out = evaluate_run(run_dir, episodes=args.episodes, checkpoint="best")
    result = {
        "run_dir": str(run_dir),
        "wall_s": timed.wall_s,
        "cpu_s": timed.cpu_s,
        "curve": curve(run_dir, timed.start_time),
        "held_out": held_out,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}), flush=True)


if __name__ == "__main__":
    main()
