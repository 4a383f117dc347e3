"""Helpers the study scripts share: their raw records (JSON) and a bar chart for RESULTS.md.

A study's raw record is the JSON its measuring mode writes and its ``--report-only`` mode reads: the
measured values (every derived figure the report shows is computed when measuring and kept beside
them, so a report never recomputes from rounded values), ``measured`` (commit, date, machine and
command of the measurement: :func:`stamp.measured_here`) and, for a record converted from an older
markdown result, that file's name in ``measured["note"]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path


def read_record(path: Path) -> dict:
    if not path.is_file():
        raise SystemExit(f"{path}: no recorded data; run the study without --report-only first")
    return json.loads(path.read_text())


def write_record(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"written: {path}")


def bars(
    path: Path,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    ylabel: str,
    log: bool = False,
) -> None:
    """Grouped bars: one group per label, one bar per series (None: no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(min(11.0, max(6.0, 0.8 * len(labels) + 2)), 4.2), dpi=110)
    x = np.arange(len(labels))
    for k, (name, values) in enumerate(series.items()):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x + (k - (len(series) - 1) / 2) * width, heights, width, label=name)
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
