"""``rlsuite bench envs``: steps/s of our envs (single and native vector) and of the peers users know.

Random actions, drawn before the clock starts; the single env is stepped through ``gymnasium.make``
(with its wrappers, as users get it) and reset on done; the vector env through
``gymnasium.make_vec``. Every figure, ours and the peers' alike, is the best of ``repeats`` (3)
timings of at least ``seconds`` each, the clock read every 16 steps — the machines are shared, so
the best run is the least disturbed one, and both sides get the same chance. Peers (highway-env,
Gymnasium's CarRacing and MuJoCo Reacher/Pusher) are timed in the same run when they are installed
(``pip install -e ".[bench]"``), and each of our rows prints its ratio to the peer a user would
otherwise pick.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import rlsuite  # noqa: F401  (registers our ids)

__all__ = ["CASES", "PEERS", "main", "time_single", "time_vector"]


@dataclass(frozen=True)
class Case:
    label: str
    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int = 1024
    single_target: float = 0.0  # [steps/s] from the issues, on the 2-core machine
    vector_target: float = 0.0
    peer: str | None = None  # label of the peer row this case is compared with


PIXELS = {"obs_type": "pixels"}
CASES: tuple[Case, ...] = (
    Case("GridRacetrack", "rlsuite/GridRacetrack-v0", {}, 1024, 50_000, 5_000_000),
    Case(
        "Racetrack state",
        "rlsuite/Racetrack-v0",
        {"obs_type": "state"},
        1024,
        10_000,
        1_000_000,
        "highway-env racetrack-v0",
    ),
    Case(
        "Racetrack pixels 84x84",
        "rlsuite/Racetrack-v0",
        PIXELS,
        256,
        5_000,
        50_000,
        "CarRacing-v3 (96x96 pixels)",
    ),
    Case(
        "Highway state",
        "rlsuite/Highway-v0",
        {"obs_type": "state"},
        1024,
        5_000,
        300_000,
        "highway-env highway-fast-v0",
    ),
    Case(
        "Highway pixels 84x84",
        "rlsuite/Highway-v0",
        PIXELS,
        256,
        3_000,
        30_000,
        "highway-env highway-fast-v0",
    ),
    Case(
        "Reacher state",
        "rlsuite/Reacher-v0",
        {"obs_type": "state"},
        1024,
        15_000,
        2_000_000,
        "MuJoCo Reacher-v5",
    ),
    Case("Reacher pixels 84x84", "rlsuite/Reacher-v0", PIXELS, 256, 5_000, 50_000, "MuJoCo Reacher-v5"),
    Case(
        "Pusher state",
        "rlsuite/Pusher-v0",
        {"obs_type": "state"},
        1024,
        10_000,
        1_000_000,
        "MuJoCo Pusher-v5",
    ),
    Case("Pusher pixels 84x84", "rlsuite/Pusher-v0", PIXELS, 256, 5_000, 50_000, "MuJoCo Pusher-v5"),
)

# label -> (module to import, env id, kwargs); timed only when the module imports.
PEERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "highway-env highway-fast-v0": ("highway_env", "highway-fast-v0", {}),
    "highway-env racetrack-v0": ("highway_env", "racetrack-v0", {}),
    "CarRacing-v3 (96x96 pixels)": ("Box2D", "CarRacing-v3", {}),
    "MuJoCo Reacher-v5": ("mujoco", "Reacher-v5", {}),
    "MuJoCo Pusher-v5": ("mujoco", "Pusher-v5", {}),
}


CHUNK = 16  # single-env steps between clock reads (a slow peer overshoots `seconds` by at most this)


def time_single(
    env_id: str, kwargs: dict[str, Any], seconds: float, repeats: int = 3, seed: int = 0
) -> float:
    """Best steps/s of ``gymnasium.make(env_id, **kwargs)`` under random actions."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(4096)]
    env.reset(seed=seed)
    for action in actions[:100]:  # warm up (numba kernels, caches)
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    best = 0.0
    for _ in range(repeats):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for action in actions[:CHUNK]:
                _, _, terminated, truncated, _ = env.step(action)
                if terminated or truncated:
                    env.reset()
            steps += CHUNK
            actions = actions[CHUNK:] + actions[:CHUNK]
        best = max(best, steps / (time.perf_counter() - start))
    env.close()
    return best


def time_vector(
    env_id: str, kwargs: dict[str, Any], batch: int, seconds: float, repeats: int = 3, seed: int = 0
) -> float:
    """Best steps/s (summed over the batch) of ``gymnasium.make_vec(env_id, batch, **kwargs)``."""
    envs = gym.make_vec(env_id, num_envs=batch, **kwargs)
    envs.action_space.seed(seed)
    actions = [envs.action_space.sample() for _ in range(16)]
    envs.reset(seed=seed)
    for action in actions:
        envs.step(action)
    best = 0.0
    for _ in range(repeats):
        steps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for action in actions:
                envs.step(action)
            steps += len(actions) * batch
        best = max(best, steps / (time.perf_counter() - start))
    envs.close()
    return best


def _peer_available(module: str) -> bool:
    import importlib

    try:
        importlib.import_module(module)
    except Exception:  # a peer that fails to import is simply not there
        return False
    return True


def _ratio(value: float) -> str:
    return f"{value:,.0f}×" if value >= 10 else f"{value:.1f}×"


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def run(ids: list[str] | None, seconds: float, peers: bool) -> str:
    """Time every case (and peer) and return the markdown report."""
    registered = set(gym.registry)
    lines = [
        "| env | single steps/s | target | vector steps/s (batch) | target | vector / single | targets met |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    results: dict[str, float] = {}
    for case in CASES:
        if ids and case.env_id not in ids:
            continue
        if case.env_id not in registered:
            lines.append(
                f"| {case.label} | not available | {_fmt(case.single_target)} | — | {_fmt(case.vector_target)} "
                "| — | — |"
            )
            continue
        single = time_single(case.env_id, case.kwargs, seconds)
        vector = time_vector(case.env_id, case.kwargs, case.batch, seconds)
        results[case.label] = single
        met = "yes" if single >= case.single_target and vector >= case.vector_target else "**no**"
        lines.append(
            f"| {case.label} | {_fmt(single)} | {_fmt(case.single_target)} | {_fmt(vector)} ({case.batch}) "
            f"| {_fmt(case.vector_target)} | {_ratio(vector / single)} | {met} |"
        )
        print(lines[-1], flush=True)
    report = "\n".join(lines)
    if peers:
        peer_lines = ["", "| peer (single env) | steps/s | our env | ours / peer |", "|---|---:|---|---:|"]
        for label, (module, env_id, kwargs) in PEERS.items():
            ours = [c for c in CASES if c.peer == label and c.label in results]
            if not ours or not _peer_available(module):
                peer_lines.append(f"| {label} | not installed | | |")
                continue
            try:
                speed = time_single(env_id, kwargs, seconds)  # timed exactly as ours
            except Exception as error:  # report, never crash the whole table
                peer_lines.append(f"| {label} | failed: {type(error).__name__} | | |")
                continue
            for case in ours:
                peer_lines.append(
                    f"| {label} | {_fmt(speed)} | {case.label} | {_ratio(results[case.label] / speed)} |"
                )
                print(peer_lines[-1], flush=True)
        report += "\n" + "\n".join(peer_lines)
    return report


def main(args: argparse.Namespace) -> int:
    import datetime
    import os
    import platform
    import subprocess
    import sys

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
            cwd=os.path.dirname(__file__),
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    header = (
        f"rlsuite {rlsuite.__version__} (commit {commit}) env speed, random actions, best of 3 × "
        f"{args.seconds:g} s for ours and the peers alike; {datetime.date.today()}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, no GPU used, "
        f"numpy {np.__version__}, gymnasium {gym.__version__}\n\n"
        f"`{' '.join(['rlsuite', *sys.argv[1:]])}`\n"
    )
    print(header, flush=True)
    report = header + "\n" + run(args.ids, args.seconds, args.peers) + "\n"
    print(report)
    if args.output:
        from pathlib import Path

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(report)
    return 0
