"""Learning curves from run directories: reading metrics.csv, seeds averaged, groups, `rlsuite plot`."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rlsuite.cli import main
from rlsuite.config import from_dict
from rlsuite.plots import NO_SHARED_RANGE, group_runs, mean_band, plot_curves, read_curve
from rlsuite.training import train


def tabular_run(tmp_path: Path, seed: int, learning_rate: float) -> Path:
    return train(
        from_dict(
            {
                "env": {"id": "FrozenLake-v1", "num_envs": 4, "kwargs": {"is_slippery": False}},
                "agent": {"algo": "q_learning", "learning_rate": learning_rate},
                "train": {"total_steps": 2000, "eval_every": 500, "eval_episodes": 2, "seed": seed},
                "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
            }
        )
    )


def test_mean_band_averages_seeds_on_the_range_they_share() -> None:
    a = (np.array([0.0, 10.0, 20.0]), np.array([0.0, 10.0, 20.0]))
    b = (np.array([5.0, 15.0, 25.0]), np.array([5.0, 5.0, 5.0]))
    grid, mean, std = mean_band([a, b])
    assert grid.tolist() == [5.0, 10.0, 15.0, 20.0]  # inside [5, 20], the union of their steps
    assert mean.tolist() == [5.0, 7.5, 10.0, 12.5]
    assert std[0] == 0.0 and std[-1] == pytest.approx(np.std([20.0, 5.0], ddof=1))


def test_seeds_of_a_configuration_form_one_group_and_the_cli_draws_them(tmp_path: Path, capsys) -> None:
    runs = [tabular_run(tmp_path, seed, lr) for lr in (0.1, 0.5) for seed in (0, 1)]
    steps, values = read_curve(runs[0])
    assert steps.tolist() == [500, 1000, 1500, 2000] and len(values) == 4

    groups = group_runs(runs)
    assert {k: len(v) for k, v in groups.items()} == {"learning_rate=0.1": 2, "learning_rate=0.5": 2}
    assert len(group_runs(runs, ["agent.algo"])["algo=q_learning"]) == 4

    out = tmp_path / "curves.png"
    assert main(["plot", *map(str, runs), "--output", str(out), "--x", "wall_time"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert "learning_rate=0.5: 2 seeds" in capsys.readouterr().out

    assert main(["plot", str(runs[0]), "--group-by", "agent.learnin_rate"]) == 2
    assert main(["plot", str(runs[0]), "--tag", "eval/nothing"]) == 2
    assert main(["plot", str(tmp_path)]) == 2  # not a run directory
    err = capsys.readouterr().err
    assert "not a config key" in err and "no scalar 'eval/nothing'" in err and "no config.yaml" in err
    assert "Traceback" not in err


def test_plot_runs_star_skips_a_sweep_directory_and_counts_distinct_seeds(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    runs = [tabular_run(tmp_path, seed=0, learning_rate=0.5) for _ in range(3)]  # one seed, three times
    sweep = Path("runs/lr-sweep")  # what `rlsuite sweep` writes beside the runs: trials and a summary
    shutil.copytree(runs[0], sweep / "trial-0")
    (sweep / "summary.md").write_text("# sweep lr-sweep\n")
    Path("runs/notes.txt").write_text("a file among the runs\n")

    run_star = sorted(map(str, Path("runs").iterdir()))
    assert main(["plot", *run_star, "--output", "curves.png"]) == 0
    out = capsys.readouterr().out
    assert "skipped runs/lr-sweep: no config.yaml, not a run directory; it holds 1 run directory: " in out
    assert "rlsuite plot runs/lr-sweep/*" in out and "skipped runs/notes.txt: not a directory" in out
    assert "runs: 3 runs, 1 seed\n" in out and Path("curves.png").stat().st_size > 10_000

    # a group whose runs share no step range keeps its line in the legend and says why it has no mean
    metrics = runs[2] / "metrics.csv"
    header, *rows = metrics.read_text().splitlines()
    later = [f"{int(row.split(',')[0]) + 100_000},{row.split(',', 1)[1]}" for row in rows]
    metrics.write_text("\n".join([header, *later]) + "\n")
    assert main(["plot", *run_star]) == 0
    assert f"runs: 3 runs, 1 seed; {NO_SHARED_RANGE}" in capsys.readouterr().out

    assert main(["plot", "runs/lr-sweep", "runs/notes.txt"]) == 2
    err = capsys.readouterr().err
    assert "no run directory to plot" in err and "runs/notes.txt: not a directory" in err


def test_long_legends_fit_in_the_png_and_a_group_without_a_mean_stays_in_it(tmp_path: Path) -> None:
    from PIL import Image

    steps = np.arange(0.0, 1000.0, 100.0)
    long_label = ",".join(f"hyper_parameter_{k}={k / 10}" for k in range(8))  # --group-by many keys
    groups = {
        long_label: [(steps, steps / 10), (steps, steps / 20)],
        "apart": [(steps, steps / 30), (steps + 5000, steps / 30)],  # no step range in common
    }
    out = tmp_path / "curves.png"
    ax = plot_curves(groups, out)
    fig = ax.figure
    (legend,) = fig.legends or [ax.get_legend()]
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 2 and f"apart (2 runs; {NO_SHARED_RANGE})" in texts
    assert long_label.replace(",", "") in "".join(texts[0].split()).replace(",", "")

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    box = legend.get_window_extent(FigureCanvasAgg(fig).get_renderer())  # [px] at the figure's dpi
    with Image.open(out) as png:
        width, height = png.size
    assert box.width <= width and box.height <= height, "the legend is wider or taller than the PNG"
