"""Plots of the recorded DQN benchmarks: evaluation return against env steps, per seed and mean.

    python experiments/plot_results.py            # every experiments/results/dqn_*.csv -> .png beside it
    python experiments/plot_results.py experiments/results/dqn_cartpole.csv

Reads the CSVs written by ``experiments/bench_dqn.py`` (one row per algorithm and seed, the
evaluation curve as ``step:return;step:return;...``). Thin lines are seeds, thick lines the mean
over seeds at the evaluation steps all seeds share (SB3's extra final evaluation is dropped there).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
COLORS = {"ours": "tab:blue", "sb3": "tab:orange", "random": "tab:gray"}


def read_curves(path: Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """algo -> [(steps, returns) per seed]."""
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            points = [p.split(":") for p in row["curve"].split(";") if p]
            steps = np.array([float(s) for s, _ in points])
            returns = np.array([float(r) for _, r in points])
            curves[row["algo"]].append((steps, returns))
    return curves


def plot(path: Path) -> Path:
    curves = read_curves(path)
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for k, (algo, runs) in enumerate(sorted(curves.items())):
        color = COLORS.get(algo, f"C{k + 3}")
        if all(len(steps) == 1 for steps, _ in runs):  # a baseline evaluated once: a level line
            level = float(np.mean([r[0] for _, r in runs]))
            ax.axhline(level, color=color, linestyle="--", linewidth=1.2, label=f"{algo} ({level:.1f})")
            continue
        for steps, returns in runs:
            ax.plot(steps, returns, color=color, alpha=0.25, linewidth=0.8)
        shared = sorted(set.intersection(*(set(steps.tolist()) for steps, _ in runs)))
        mean = [np.mean([r[list(s).index(x)] for s, r in runs]) for x in shared]
        ax.plot(shared, mean, color=color, linewidth=2.2, label=f"{algo} (mean of {len(runs)} seeds)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("greedy evaluation return")
    ax.set_title(path.stem.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    out = path.with_suffix(".png")
    fig.savefig(out)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("csv", nargs="*", type=Path, help="bench_dqn.py CSVs (default: all in results/)")
    args = parser.parse_args()
    for path in args.csv or sorted(RESULTS.glob("dqn_*.csv")):
        print(plot(path))


if __name__ == "__main__":
    main()
