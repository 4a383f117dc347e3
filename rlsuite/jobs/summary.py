"""A sweep's summary: per configuration the metric's mean ± std over seeds, the best trial and wall
time, the failures with their errors — as ``summary.md``, ``summary.csv`` and ``curves.png``.

A row is one seed's run: a trial of one seed, or one seed of a trial that trained a configuration's
seeds side by side (``batch_seeds``), read from the ``seed<S>/…`` figures it reported (its metric and
run directory). So both give the same per-configuration figures; only the wall time differs, a
batched trial's being that of all its seeds together."""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path
from typing import Any

from rlsuite.jobs.spec import SweepSpec, label, seed_key, seeds_text, variants

__all__ = ["summarize"]


def _trial_rows(spec: SweepSpec, results: Any) -> list[dict[str, Any]]:
    configs = variants(spec)
    rows = []
    for result in results:
        params = result.config or {}
        overrides = params.get("overrides")
        if overrides is None and "variant" in params:
            overrides = configs[params["variant"]]
        metrics = result.metrics or {}
        error = result.error
        row = {
            "config": label(overrides or {}),
            "seed": params.get("seed"),
            "metric": metrics.get(spec.metric, math.nan),
            "env_steps": metrics.get("env_steps", 0),
            "wall_s": metrics.get("time_total_s", math.nan),
            "run_dir": metrics.get("run_dir", ""),
            "error": "" if error is None else _first_line(error),
            "trial": Path(result.path).name if result.path else "",
        }
        if "seeds" not in params:
            rows.append(row)
            continue
        for seed in sorted(params["seeds"]):  # a batched trial: a row per seed's run
            rows.append(
                {
                    **row,
                    "seed": seed,
                    "metric": metrics.get(seed_key(seed, spec.metric), math.nan),
                    "run_dir": metrics.get(seed_key(seed, "run_dir"), ""),
                }
            )
    return rows


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    cause = next((line for line in reversed(text) if line.strip()), type(error).__name__)
    return cause.strip()[:300]


def summarize(sweep_dir: Path, spec: SweepSpec, results: Any) -> str:
    """Write the summary files into ``sweep_dir`` and return the markdown text."""
    results = list(results)
    rows = _trial_rows(spec, results)
    better = max if spec.mode == "max" else min
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row["config"], []).append(row)
    lines = [
        f"# Sweep {spec.name}",
        "",
        _counts(rows, results) + f"; metric `{spec.metric}` ({spec.mode}) at each trial's last evaluation.",
        "",
        f"| configuration | trials | {spec.metric} mean ± std over seeds | best trial | best | env steps | "
        "wall per trial [s] |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    table = []
    for config, members in groups.items():
        done = [m for m in members if not math.isnan(m["metric"]) and not m["error"]]
        done.sort(key=lambda m: (m["seed"] is None, m["seed"] or 0))  # ties: the lowest seed is best
        values = [m["metric"] for m in done]
        mean = statistics.fmean(values) if values else math.nan
        std = statistics.stdev(values) if len(values) > 1 else 0.0 if values else math.nan
        best = better(done, key=lambda m: m["metric"]) if done else None
        wall = statistics.fmean(m["wall_s"] for m in done) if done else math.nan
        table.append(
            {
                "configuration": config,
                "trials": len(members),
                "finished": len(done),
                "mean": mean,
                "std": std,
                "best_seed": best["seed"] if best else "",
                "best": best["metric"] if best else math.nan,
                "best_run_dir": best["run_dir"] if best else "",
                "wall_s_mean": wall,
                "steps": sorted({int(m["env_steps"]) for m in done}),
            }
        )
    table.sort(key=lambda t: (math.isnan(t["mean"]), -t["mean"] if spec.mode == "max" else t["mean"]))
    for t in table:
        best = f"seed {t['best_seed']}: `{Path(t['best_run_dir']).name}`" if t["best_run_dir"] else "—"
        lines.append(
            f"| {t['configuration']} | {t['finished']}/{t['trials']} | {t['mean']:.3f} ± {t['std']:.3f} | "
            f"{best} | {t['best']:.3f} | {_steps(t['steps'])} | {t['wall_s_mean']:.1f} |"
        )
    failures: dict[tuple[str, str, str], list] = {}  # a batched trial's seeds fail together: one line
    for r in rows:
        if r["error"]:
            failures.setdefault((r["trial"], r["config"], r["error"]), []).append(r["seed"])
    lines += ["", f"Failures: {len(failures)}" + (" (after their retries)" if failures else "")]
    for (trial, config, error), seeds in failures.items():
        which = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds_text(seeds)}"
        lines.append(f"- `{trial}` ({config}, {which}): {error}")
    lines += [
        "",
        f"Learning curves by configuration: `curves.png`; every run: `tensorboard --logdir {sweep_dir}`.",
    ]
    text = "\n".join(lines) + "\n"
    (sweep_dir / "summary.md").write_text(text)
    with (sweep_dir / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["config"])
        writer.writeheader()
        writer.writerows(rows)
    _plot(sweep_dir, spec, groups)
    return text


def _counts(rows: list[dict[str, Any]], results: list[Any]) -> str:
    """``4 trials``, or ``6 runs in 2 trials`` when trials trained several seeds side by side."""
    if len(rows) == len(results):
        return f"{len(rows)} trials"
    return f"{len(rows)} runs in {len(results)} trials (each trial one configuration's seeds side by side)"


def _steps(steps: list[int]) -> str:
    """One figure when every trial ran as long (ASHA stops some early: then the range)."""
    if not steps:
        return "—"
    return f"{steps[0]:,}" if len(steps) == 1 else f"{steps[0]:,}–{steps[-1]:,}"


def _plot(sweep_dir: Path, spec: SweepSpec, groups: dict[str, list[dict]]) -> None:
    from rlsuite.plots import plot_curves, read_curve

    curves = {}
    for config, members in groups.items():
        found = []
        for m in members:
            if m["run_dir"] and (Path(m["run_dir"]) / "metrics.csv").is_file():
                try:
                    found.append(read_curve(m["run_dir"], spec.metric))
                except KeyError:
                    continue
        if found:
            curves[config] = found
    if curves:
        plot_curves(curves, sweep_dir / "curves.png", title=f"sweep {spec.name}", ylabel=spec.metric)
