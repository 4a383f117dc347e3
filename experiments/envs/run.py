"""Env speed of this checkout against an earlier one, measured in one run: did a refactor cost speed?

Usage (the env-core port of issue 12 was measured against the commit before it)::

    git worktree add /tmp/baseline 196e2e7
    python experiments/bench_env_port.py --baseline /tmp/baseline --rounds 3 \\
        --output experiments/results/env_core_port.md

Each timing runs in a fresh subprocess that imports rlsuite from one of the two trees (PYTHONPATH),
so both are timed by the same code below, alternately (baseline, current, baseline, …), and each
figure is the best of ``--rounds`` (the machines are shared: the best run is the least disturbed).
Random actions drawn before the clock starts; the single env through ``gymnasium.make`` (with its
wrappers, as users get it), the vector env through ``gymnasium.make_vec`` (the native one).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CASES = [  # (label, env id, kwargs valid in both trees, vector batch)
    ("GridRacetrack", "rlsuite/GridRacetrack-v0", {}, 1024),
    ("Racetrack state", "rlsuite/Racetrack-v0", {}, 1024),
    ("Racetrack pixels 84x84", "rlsuite/Racetrack-v0", {"obs_type": "pixels"}, 256),
    ("Highway state", "rlsuite/Highway-v0", {}, 1024),
    ("Highway pixels 84x84", "rlsuite/Highway-v0", {"obs_type": "pixels"}, 256),
    ("Reacher state", "rlsuite/Reacher-v0", {}, 1024),
    ("Reacher pixels 84x84", "rlsuite/Reacher-v0", {"obs_type": "pixels"}, 256),
    ("Pusher state", "rlsuite/Pusher-v0", {}, 1024),
    ("Pusher pixels 84x84", "rlsuite/Pusher-v0", {"obs_type": "pixels"}, 256),
]

TIMER = r"""
import json, sys, time
import gymnasium as gym
import rlsuite
env_id, kwargs, batch, seconds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
env = gym.make(env_id, **kwargs)
env.action_space.seed(0)
actions = [env.action_space.sample() for _ in range(4096)]
env.reset(seed=0)
steps, start = 0, None
for i in range(10**9):
    if i == 100:
        steps, start = 0, time.perf_counter()
    if start is not None and i % 16 == 0 and time.perf_counter() - start >= seconds:
        break
    _, _, terminated, truncated, _ = env.step(actions[i % 4096])
    steps += 1
    if terminated or truncated:
        env.reset()
single = steps / (time.perf_counter() - start)
envs = gym.make_vec(env_id, num_envs=batch, **kwargs)
envs.action_space.seed(0)
batch_actions = [envs.action_space.sample() for _ in range(16)]
envs.reset(seed=0)
for a in batch_actions:
    envs.step(a)
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    for a in batch_actions:
        envs.step(a)
    steps += len(batch_actions) * batch
print(json.dumps({"single": single, "vector": steps / (time.perf_counter() - start)}))
"""


def time_tree(tree: Path, env_id: str, kwargs: dict, batch: int, seconds: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", TIMER, env_id, json.dumps(kwargs), str(batch), str(seconds)],
        capture_output=True, text=True, env=env, check=True, cwd=tree,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="checkout of the earlier commit")
    parser.add_argument("--current", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()

    def commit(tree: Path) -> str:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=tree
        ).stdout.strip()

    lines = [
        f"Env speed, current tree (commit {commit(args.current)}, with uncommitted changes if any) against "
        f"baseline (commit {commit(args.baseline)}), best of {args.rounds} alternating rounds × "
        f"{args.seconds:g} s each; {os.cpu_count()} CPUs.",
        "",
        f"`python experiments/bench_env_port.py --baseline <checkout of {commit(args.baseline)}> "
        f"--rounds {args.rounds} --seconds {args.seconds:g}`",
        "",
        "| env | single: baseline | current | current / baseline | vector (batch): baseline | current | "
        "current / baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    for label, env_id, kwargs, batch in CASES:
        best = {"baseline": {"single": 0.0, "vector": 0.0}, "current": {"single": 0.0, "vector": 0.0}}
        for _ in range(args.rounds):
            for name, tree in (("baseline", args.baseline), ("current", args.current)):
                result = time_tree(tree, env_id, kwargs, batch, args.seconds)
                for key in ("single", "vector"):
                    best[name][key] = max(best[name][key], result[key])
        b, c = best["baseline"], best["current"]
        lines.append(
            f"| {label} | {b['single']:,.0f} | {c['single']:,.0f} | {c['single'] / b['single']:.2f} "
            f"| {b['vector']:,.0f} ({batch}) | {c['vector']:,.0f} | {c['vector'] / b['vector']:.2f} |"
        )
        print(lines[-1], flush=True)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
