"""GridRacetrack: tabular Q-learning against the exact value-iteration optimum, per named track (issue 32).

    python experiments/zoo/grid_racetrack.py              # tuning grid, then the held-out seeds
    python experiments/zoo/grid_racetrack.py --held-out   # only the held-out seeds of the shipped configs

The ceiling is :func:`rlsuite.envs.driving.grid_solver.solve` (value iteration over the env's own
transition model, from the uniform start distribution, under the 1000-step limit). A run trains the
agent of a config (``agent.learn``: the learning of ``rlsuite train`` without its run directory), then
judges its greedy policy twice: its exact expected return (:func:`~rlsuite.envs.driving.grid_solver.
evaluate_policy`) and 100 Monte-Carlo episodes through ``rlsuite.training.evaluate`` (what a card or
``rlsuite eval`` reports). Tuning uses seeds 100-102; the shipped configs are judged on seeds
1000-1004, which tuning never used. Runs go one at a time (set OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1);
CPU seconds are the process's own. Writes ``grid_racetrack.json`` next to this file.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.agents import get_algo
from rlsuite.config import load_config
from rlsuite.envs.driving.grid_racetrack import TRACKS
from rlsuite.envs.driving.grid_solver import GridModel, evaluate_policy, solve
from rlsuite.envs.solved import is_solved
from rlsuite.rollout import make_envs
from rlsuite.training import evaluate

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parent / "configs"
RECORD = HERE / "grid_racetrack.json"
TUNING_SEEDS = (100, 101, 102)
HELD_OUT_SEEDS = (1000, 1001, 1002, 1003, 1004)
EPISODES = 100
EVAL_SEED_OFFSET = 50_000  # the evaluation episodes' seed: training seed + this

# (track, noise, overrides of the track's shipped config) tried on the tuning seeds
TUNING_GRID: list[tuple[str, float, list[str]]] = [
    ("classic", 0.0, ["train.total_steps=2000000"]),
    ("classic", 0.0, ["train.total_steps=4000000"]),
    ("wide", 0.0, ["train.total_steps=4000000"]),
    ("wide", 0.0, ["train.total_steps=6000000"]),
    ("wide", 0.0, ["train.total_steps=10000000"]),
    # the book's noise (0.1), same budgets: does the tuned config carry over?
    ("classic", 0.1, ["train.total_steps=4000000"]),
    ("wide", 0.1, ["train.total_steps=10000000"]),
]


def run(track: str, noise: float, overrides: list[str], seed: int) -> dict[str, Any]:
    """Train the track's shipped config (with ``overrides``) on ``seed``; judge its greedy policy."""
    config = load_config(
        CONFIGS / f"zoo_grid_racetrack_{track}.yaml",
        [f"env.kwargs.noise={noise}", f"train.seed={seed}", *overrides],
    )
    envs = make_envs(config.env)
    agent = get_algo(config.agent.algo)(config, envs)
    wall, cpu = time.perf_counter(), time.process_time()
    agent.learn(config.train.total_steps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    envs.close()
    greedy = agent.q.sum(axis=0).argmax(axis=1)  # the agent's greedy action per state (Double Q: the sum)
    exact, finish_probability = evaluate_policy(GridModel(track, noise), greedy)
    eval_envs = make_envs(config.env, 20)
    result = evaluate(lambda obs, starts: agent.act(obs), eval_envs, EPISODES, seed=seed + EVAL_SEED_OFFSET)
    eval_envs.close()
    figures = {key.removeprefix("eval/"): value for key, value in result.items()}
    optimum = solve(track=track, noise=noise).optimal_return
    solved, why = is_solved(config.env.id, config.env.kwargs, {**figures, "episodes": EPISODES})
    return {
        "track": track,
        "noise": noise,
        "overrides": overrides,
        "seed": seed,
        "total_steps": config.train.total_steps,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "optimum": optimum,
        "exact_return": exact,
        "gap_to_optimum": (optimum - exact) / abs(optimum),  # solved: <= 0.05
        "finish_probability": finish_probability,
        "mc_episodes": EPISODES,
        "mc_seed": seed + EVAL_SEED_OFFSET,
        "mc_return_mean": figures["return_mean"],
        "mc_return_std": figures["return_std"],
        "mc_figures": figures,
        "solved": solved,
        "solved_why": why,
    }


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=HERE)
        return out.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--held-out", action="store_true", help="skip the tuning grid")
    args = parser.parse_args()
    record: dict[str, Any] = json.loads(RECORD.read_text()) if RECORD.exists() else {}
    record.update(
        {
            "commit": _commit(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, shared by other jobs",
            "optimum": {
                f"{t}/noise={n}": solve(track=t, noise=n).as_dict() for t in TRACKS for n in (0.0, 0.1)
            },
        }
    )
    if not args.held_out:
        record["tuning"] = []
        for track, noise, overrides in TUNING_GRID:
            for seed in TUNING_SEEDS:
                record["tuning"].append(result := run(track, noise, overrides, seed))
                print(
                    json.dumps(
                        {
                            k: result[k]
                            for k in ("track", "noise", "overrides", "seed", "gap_to_optimum", "cpu_s")
                        }
                    ),
                    flush=True,
                )
                RECORD.write_text(json.dumps(record, indent=1) + "\n")
    record["held_out"] = []
    for track in TRACKS:
        for seed in HELD_OUT_SEEDS:
            record["held_out"].append(result := run(track, 0.0, [], seed))
            print(
                json.dumps(
                    {
                        k: result[k]
                        for k in ("track", "seed", "gap_to_optimum", "mc_return_mean", "solved", "cpu_s")
                    }
                ),
                flush=True,
            )
            RECORD.write_text(json.dumps(record, indent=1) + "\n")
    for track in TRACKS:
        rows = [r for r in record["held_out"] if r["track"] == track]
        gaps = np.array([r["gap_to_optimum"] for r in rows])
        print(
            f"{track}: {sum(r['solved'] for r in rows)}/{len(rows)} solved; gap to the optimum "
            f"max {gaps.max():.4f} mean {gaps.mean():.4f}; CPU s max {max(r['cpu_s'] for r in rows):.1f}"
        )


if __name__ == "__main__":
    main()
