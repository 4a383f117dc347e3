"""Tabular speed (issue 5): table updates/s on 1,024 GridRacetracks, and Taxi-v3 trained to >= 7.5.

    python experiments/bench_tabular.py [--output experiments/results/tabular.md]

Updates/s counts real transitions learned from (the NEXT_STEP reset steps are not transitions),
end to end: env step + ε-greedy action selection + one numpy update per batch step. The update
alone is also timed on recorded batches. Taxi: wall-clock of `agent.learn` with the shipped config,
then the greedy mean return over 1,000 episodes. Best of --repeats runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from rlsuite.agents import get_algo
from rlsuite.config import load_config
from rlsuite.training import evaluate, make_envs

CONFIGS = Path(__file__).resolve().parent / "configs"


class CountingUpdates:
    def __init__(self, agent):
        self.agent, self.count, self.batches = agent, 0, []
        self._update = agent.update_batch
        agent.update_batch = self

    def __call__(self, *batch):
        valid = batch[8] if len(batch) > 8 else None  # update_batch's `valid` mask
        self.count += len(batch[0]) if valid is None else int(valid.sum())
        if len(self.batches) < 200:
            self.batches.append([None if x is None else np.copy(x) for x in batch])
        return self._update(*batch)


def grid_racetrack_updates(algo: str, steps: int) -> tuple[float, float]:
    config = load_config(
        CONFIGS / "q_learning_grid_racetrack.yaml", ["env.num_envs=1024", f"agent.algo={algo}"]
    )
    envs = make_envs(config.env)
    agent = get_algo(algo)(config, envs)
    counter = CountingUpdates(agent)
    start = time.perf_counter()
    agent.learn(steps)
    end_to_end = counter.count / (time.perf_counter() - start)
    batches = counter.batches
    start = time.perf_counter()
    for batch in batches:
        counter._update(*batch)
    transitions = sum(len(b[0]) if b[8] is None else int(b[8].sum()) for b in batches)
    update_only = transitions / (time.perf_counter() - start)
    return end_to_end, update_only


def taxi(seed: int) -> tuple[float, float]:
    config = load_config(CONFIGS / "q_learning_taxi.yaml", [f"train.seed={seed}"])
    envs = make_envs(config.env)
    agent = get_algo(config.agent.algo)(config, envs)
    start = time.perf_counter()
    agent.learn(config.train.total_steps)
    wall = time.perf_counter() - start
    result = evaluate(lambda obs, starts: agent.act(obs), make_envs(config.env, 50), 1000, seed=10_000 + seed)
    return wall, result["eval/return_mean"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=5_000_000, help="GridRacetrack env steps per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    lines = [
        f"Tabular benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}; best of {args.repeats}.",
        "",
        "| algorithm (1,024 GridRacetracks) | updates/s end to end | updates/s, update only | target |",
        "|---|---:|---:|---:|",
    ]
    for algo in ("q_learning", "sarsa", "expected_sarsa", "double_q_learning"):
        runs = [grid_racetrack_updates(algo, args.steps) for _ in range(args.repeats)]
        e2e, upd = max(r[0] for r in runs), max(r[1] for r in runs)
        lines.append(f"| {algo} | {e2e:,.0f} | {upd:,.0f} | 5,000,000 |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "| Taxi-v3 (q_learning_taxi.yaml), seed | learn wall [s] | greedy mean return (1,000 episodes) | target |",
        "|---|---:|---:|---|",
    ]
    for seed in range(args.repeats):
        wall, ret = taxi(seed)
        lines.append(f"| {seed} | {wall:.2f} | {ret:.2f} | < 5 s and >= 7.5 |")
        print(lines[-1], flush=True)
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        Path(args.output).write_text(report)


if __name__ == "__main__":
    main()
