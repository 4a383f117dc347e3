"""Learning curves from run directories: read ``metrics.csv``, average over seeds, draw PNGs.

Every run directory holds ``metrics.csv`` (``step,wall_time,tag,value`` rows, see
:mod:`rlsuite.runs`), so curves of any agent — ours, SB3's or RLlib's — are read the same way.
Seeds of one configuration are averaged on a shared grid: each seed's curve is interpolated
linearly at the union of their x values inside the range all seeds cover, and the band is the
standard deviation over seeds (SB3's and RLlib's evaluations land on slightly different steps).

    curves = [read_curve(d) for d in run_dirs]
    plot_curves({"dqn": curves}, "curves.png", title="CartPole-v1")
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["Curve", "mean_band", "plot_curves", "read_curve", "read_scalars"]

Curve = tuple[np.ndarray, np.ndarray]  # (x, y), x increasing
X_AXES = ("step", "wall_time")


def read_scalars(run_dir: str | Path) -> dict[str, np.ndarray]:
    """Every scalar of a run as ``tag -> array of (step, seconds since the first row, value)``."""
    path = Path(run_dir) / "metrics.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no metrics.csv (is it an rlsuite run directory?)")
    rows: dict[str, list[tuple[float, float, float]]] = {}
    start = math.inf
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            wall = float(row["wall_time"])
            start = min(start, wall)
            rows.setdefault(row["tag"], []).append((float(row["step"]), wall, float(row["value"])))
    return {tag: np.array([(s, w - start, v) for s, w, v in values]) for tag, values in rows.items()}


def read_curve(run_dir: str | Path, tag: str = "eval/return_mean", x: str = "step") -> Curve:
    """One scalar of a run against env steps (``x="step"``) or seconds since the run started."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {X_AXES}, got {x!r}")
    scalars = read_scalars(run_dir)
    if tag not in scalars:
        raise KeyError(f"{run_dir}: no scalar {tag!r} in metrics.csv (has: {', '.join(sorted(scalars))})")
    data = scalars[tag]
    xs = data[:, 0] if x == "step" else data[:, 1]
    order = np.argsort(xs, kind="stable")
    return xs[order], data[order, 2]


def mean_band(curves: Sequence[Curve]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(grid, mean, std)`` over seeds on the x values inside the range every curve covers."""
    curves = [(x, y) for x, y in curves if len(x)]
    if not curves:
        return np.empty(0), np.empty(0), np.empty(0)
    low = max(x[0] for x, _ in curves)
    high = min(x[-1] for x, _ in curves)
    grid = np.unique(np.concatenate([x for x, _ in curves]))
    grid = grid[(grid >= low) & (grid <= high)]
    values = np.stack([np.interp(grid, x, y) for x, y in curves])
    std = values.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(len(grid))
    return grid, values.mean(axis=0), std


def plot_curves(
    groups: Mapping[str, Sequence[Curve]],
    out: str | Path | None = None,
    *,
    title: str = "",
    xlabel: str = "env steps",
    ylabel: str = "greedy evaluation return",
    ax=None,
):
    """Draw each group's mean over seeds with a ± std band and thin per-seed lines.

    With ``ax`` it draws into that matplotlib axis (for figures of several panels); otherwise it
    makes a figure and, when ``out`` is given, saves it as a PNG and closes it. Returns the axis.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for k, (label, curves) in enumerate(groups.items()):
        color = f"C{k % 10}"
        for x, y in curves:
            ax.plot(x, y, color=color, alpha=0.2, linewidth=0.7)
        grid, mean, std = mean_band(curves)
        if len(grid):
            ax.plot(grid, mean, color=color, linewidth=2.0, label=f"{label} ({len(curves)} seeds)")
            ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.15, linewidth=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    if fig is not None:
        fig.tight_layout()
        if out is not None:
            fig.savefig(out)
            plt.close(fig)
    return ax
