"""Learning curves from run directories: read ``metrics.csv``, average over seeds, draw PNGs.

Every run directory holds ``metrics.csv`` (``step,wall_time,tag,value`` rows, see
:mod:`rlsuite.runs`), so curves of any agent — ours, SB3's or RLlib's — are read the same way.
Seeds of one configuration are averaged on a shared grid: each seed's curve is interpolated
linearly at the union of their x values inside the range all seeds cover, and the band is the
standard deviation over seeds (SB3's and RLlib's evaluations land on slightly different steps).

    curves = [read_curve(d) for d in run_dirs]
    plot_curves({"dqn": curves}, "curves.png", title="CartPole-v1")

or, from a shell, ``rlsuite plot runs/* --group-by agent.learning_rate --output curves.png`` (what is
not a run directory there, such as a sweep's directory, is skipped with a line naming it).
"""

from __future__ import annotations

import csv
import math
import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Curve",
    "PlotGroup",
    "find_run_dirs",
    "group_runs",
    "mean_band",
    "plot_curves",
    "plot_runs",
    "read_curve",
    "read_scalars",
]

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
    colors: Mapping[str, str] | None = None,
    notes: Mapping[str, str] | None = None,
):
    """Draw each group's mean over seeds with a ± std band and thin per-seed lines (``colors``:
    a fixed colour per group label, e.g. one per algorithm across several panels; ``notes``: the
    legend's words after a label, default its number of runs). A group whose curves share no x range
    has no mean: its legend entry says so.

    With ``ax`` it draws into that matplotlib axis (for figures of several panels); otherwise it
    makes a figure with the legend under the axes, long labels wrapped, and, when ``out`` is given,
    saves it as a PNG grown to fit the legend and closes it. Returns the axis.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120, layout="constrained")
    for k, (label, curves) in enumerate(groups.items()):
        color = (colors or {}).get(label, f"C{k % 10}")
        for x, y in curves:
            ax.plot(x, y, color=color, alpha=0.2, linewidth=0.7)
        grid, mean, std = mean_band(curves)
        note = (notes or {}).get(label) or f"{len(curves)} run{'s' if len(curves) != 1 else ''}"
        if len(grid):
            ax.plot(grid, mean, color=color, linewidth=2.0, label=_legend_label(f"{label} ({note})"))
            ax.fill_between(grid, mean - std, mean + std, color=color, alpha=0.15, linewidth=0)
        else:  # a legend entry all the same: a group must not vanish without a word
            text = f"{label} ({note}; {NO_SHARED_RANGE})"
            ax.plot([], [], color=color, linestyle=":", linewidth=1.5, label=_legend_label(text))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    if fig is None:
        ax.legend(fontsize=7, loc="best")
        return ax
    longest = max((len(t) for t in ax.get_legend_handles_labels()[1]), default=0)
    fig.legend(loc="outside lower center", fontsize=7, frameon=False, ncols=1 if longest > 40 else 3)
    if out is not None:
        fig.savefig(out, bbox_inches="tight")
        plt.close(fig)
    return ax


NO_SHARED_RANGE = "no x range shared by all its runs: no mean"


def _legend_label(text: str, width: int = 90) -> str:
    """``text`` wrapped at ``width`` characters, ``k=v,k=v`` labels broken after their commas."""
    return textwrap.fill(re.sub(r",(?! )", ", ", text), width)


# --------------------------------------------------------------------------------------------
# Grouping run directories: seeds of one configuration together
# --------------------------------------------------------------------------------------------
IGNORED = ("train.seed", "log.")  # keys that never make two runs different configurations


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flat(value, f"{prefix}{key}." if isinstance(value, dict) and value else f"{prefix}{key}"))
    return {k.rstrip("."): v for k, v in out.items()}


def find_run_dirs(paths: Sequence[str | Path]) -> tuple[list[Path], list[str]]:
    """The run directories among ``paths`` (a ``config.yaml`` and a ``metrics.csv``), and for each
    other path a line naming it and why it is not one, e.g. for ``runs/*`` once a sweep wrote there."""
    run_dirs, skipped = [], []
    for path in map(Path, paths):
        if (path / "config.yaml").is_file() and (path / "metrics.csv").is_file():
            run_dirs.append(path)
            continue
        if not path.exists():
            reason = "does not exist"
        elif not path.is_dir():
            reason = "not a directory"
        elif (path / "config.yaml").is_file():
            reason = "no metrics.csv (a run that stopped before logging?)"
        else:
            inner = [p for p in path.iterdir() if (p / "config.yaml").is_file()]
            count = f"{len(inner)} run director{'y' if len(inner) == 1 else 'ies'}"
            hint = f"; it holds {count}: rlsuite plot {path}/*" if inner else ""
            reason = f"no config.yaml, not a run directory{hint}"
        skipped.append(f"{path}: {reason}")
    return run_dirs, skipped


def _read_configs(run_dirs: Sequence[str | Path]) -> dict[Path, dict[str, Any]]:
    """Each run's config.yaml as flat ``dotted.key -> value``."""
    import yaml

    configs = {}
    for run_dir in map(Path, run_dirs):
        path = run_dir / "config.yaml"
        if not path.is_file():
            raise FileNotFoundError(f"{run_dir}: no config.yaml (is it an rlsuite run directory?)")
        configs[run_dir] = _flat(yaml.safe_load(path.read_text()) or {})
    return configs


def group_runs(
    run_dirs: Sequence[str | Path], group_by: Sequence[str] | None = None
) -> dict[str, list[Path]]:
    """Group run directories by configuration: by the dotted config keys in ``group_by``, or (None)
    by every key that differs between the runs except the seed, so that seeds of one configuration
    form one group. The group labels are ``key=value`` pairs of those keys."""
    return _group(_read_configs(run_dirs), group_by)


def _group(flat_configs: dict[Path, dict[str, Any]], group_by: Sequence[str] | None) -> dict[str, list[Path]]:
    configs = {
        run_dir: {k: v for k, v in flat.items() if not k.startswith(IGNORED)}
        for run_dir, flat in flat_configs.items()
    }
    if group_by is not None:
        known = {k for c in configs.values() for k in c}
        for key in group_by:
            if key not in known:
                close = sorted(known, key=lambda k: (key.split(".")[-1] not in k, k))[:5]
                raise KeyError(f"--group-by {key}: not a config key of these runs; e.g. {', '.join(close)}")
    groups: dict[str, list[Path]] = {}
    for run_dir, config in configs.items():
        keys = group_by if group_by is not None else _differing(configs, config)
        name = ",".join(f"{k.split('.')[-1]}={config.get(k)}" for k in keys) or "runs"
        groups.setdefault(name, []).append(run_dir)
    return groups


def _differing(configs: dict[Path, dict[str, Any]], config: dict[str, Any]) -> list[str]:
    """The keys that tell ``config`` apart: the algorithm (when runs differ in it), then the agent's
    hyper-parameters that differ among runs of the same algorithm, then env/train keys that differ."""

    def varying(members: list[dict[str, Any]], prefix: str | None) -> list[str]:
        keys = sorted({k for c in members for k in c if prefix is None or k.startswith(prefix)})
        return [k for k in keys if len({repr(c.get(k)) for c in members}) > 1]

    everything = list(configs.values())
    algo = config.get("agent.algo")
    same_algo = [c for c in everything if c.get("agent.algo") == algo]
    keys = ["agent.algo"] if "agent.algo" in varying(everything, "agent.") else []
    keys += [k for k in varying(same_algo, "agent.") if k != "agent.algo"]
    return keys + [k for k in varying(everything, None) if not k.startswith("agent.")]


class PlotGroup(NamedTuple):
    """One configuration's runs in a plot of :func:`plot_runs`."""

    run_dirs: list[Path]
    seeds: int  # distinct ``train.seed`` values among them
    has_mean: bool  # whether they share a range of x values (else drawn without a mean)

    def counts(self) -> str:
        """``2 seeds``, or ``3 runs, 1 seed`` when runs repeat a seed."""
        seeds = f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"
        return seeds if len(self.run_dirs) == self.seeds else f"{len(self.run_dirs)} runs, {seeds}"

    def describe(self) -> str:
        """The counts, and why there is no mean where there is none."""
        return self.counts() if self.has_mean else f"{self.counts()}; {NO_SHARED_RANGE}"


def plot_runs(
    run_dirs: Sequence[str | Path],
    out: str | Path,
    *,
    tag: str = "eval/return_mean",
    x: str = "step",
    group_by: Sequence[str] | None = None,
    title: str = "",
) -> dict[str, PlotGroup]:
    """Learning curves of run directories, seeds of a configuration averaged (mean ± std), as a PNG;
    returns the groups by legend label."""
    configs = _read_configs(run_dirs)
    groups = _group(configs, group_by)
    curves = {name: [read_curve(d, tag, x) for d in dirs] for name, dirs in groups.items()}
    summary = {
        name: PlotGroup(
            dirs,
            seeds=len({repr(configs[d].get("train.seed")) for d in dirs}),
            has_mean=len(mean_band(curves[name])[0]) > 0,
        )
        for name, dirs in groups.items()
    }
    notes = {name: group.counts() for name, group in summary.items()}
    xlabel = "env steps" if x == "step" else "seconds since the run started"
    plot_curves(curves, out, title=title, xlabel=xlabel, ylabel=tag, notes=notes)
    return summary
