"""SB3 PPO on 64 Racetracks through our SB3VecEnv vs SB3's SubprocVecEnv and DummyVecEnv.

The same PPO (same settings, seed and number of timesteps) learns on three ``VecEnv`` backends of
``rlsuite/Racetrack-v0`` (state observations, discrete actions):

* ``SB3VecEnv``: our native vector env (one batched core) behind :class:`rlsuite.agents.sb3.SB3VecEnv`,
  with ``VecMonitor``;
* ``SubprocVecEnv``: SB3's subprocess vector env of 64 single envs, each in SB3's ``Monitor``
  (``make_vec_env``), started with ``fork`` (``--start-method``): SB3's default, ``forkserver``,
  imports torch, SB3 and rlsuite afresh in every worker, which took ~8 s per worker here and is
  only the start-up cost, reported apart from the learning time anyway;
* ``DummyVecEnv``: SB3's in-process loop over 64 single envs, each in ``Monitor`` (``make_vec_env``).

For each, the wall-clock of ``model.learn`` and the env steps per second it implies; then the
env-only throughput (random actions, no policy, no learning). torch runs on one thread (steadier on
a shared machine and fastest for these small networks). Records every timing, the ratios and the
setup in ``measurements.json`` and writes RESULTS.md from it::

    python experiments/sb3_vecenv/run.py                      # 64 envs, 100k steps, seeds 0 1 2
    python experiments/sb3_vecenv/run.py --timesteps 20000 --seeds 0   # a quick run (replaces the record)
    python experiments/sb3_vecenv/run.py --report-only        # RESULTS.md from measurements.json
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from rlsuite import study
from rlsuite.study import thousands

HERE = Path(__file__).resolve().parent
RECORD = HERE / "measurements.json"

ENV_ID = "rlsuite/Racetrack-v0"
ENV_KWARGS = {"obs_type": "state", "action_type": "discrete"}
BACKENDS = ("SB3VecEnv", "SubprocVecEnv", "DummyVecEnv")
TARGETS = {"SubprocVecEnv": 3.0, "DummyVecEnv": 2.0}


def make(backend: str, num_envs: int, seed: int, start_method: str | None = None):
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecMonitor

    import rlsuite  # noqa: F401  (registers our ids)
    from rlsuite.agents.sb3 import SB3VecEnv

    if backend == "SB3VecEnv":
        venv = VecMonitor(SB3VecEnv(gym.make_vec(ENV_ID, num_envs=num_envs, **ENV_KWARGS)))
        venv.seed(seed)
        return venv
    if backend == "SubprocVecEnv":
        return make_vec_env(
            ENV_ID,
            n_envs=num_envs,
            seed=seed,
            env_kwargs=ENV_KWARGS,
            vec_env_cls=SubprocVecEnv,
            vec_env_kwargs={"start_method": start_method},
        )
    return make_vec_env(ENV_ID, n_envs=num_envs, seed=seed, env_kwargs=ENV_KWARGS, vec_env_cls=DummyVecEnv)


def bench_ppo(backend: str, args: argparse.Namespace, seed: int) -> dict[str, float]:
    from stable_baselines3 import PPO

    start = time.perf_counter()
    venv = make(backend, args.num_envs, seed, args.start_method)
    build = time.perf_counter() - start
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.learning_rate,
        policy_kwargs={"net_arch": [64, 64]},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    start = time.perf_counter()
    model.learn(total_timesteps=args.timesteps)
    wall = time.perf_counter() - start
    returns = [info["r"] for info in model.ep_info_buffer]
    steps = model.num_timesteps
    venv.close()
    return {
        "build_s": build,
        "wall_s": wall,
        "steps": steps,
        "sps": steps / wall,
        "return": float(np.mean(returns)) if returns else float("nan"),
    }


def bench_env_only(backend: str, args: argparse.Namespace, seed: int) -> dict[str, float]:
    """Steps per second of the env alone: the best of ``--env-repeats`` timings (a shared machine's
    interruptions only ever slow a timing down)."""
    venv = make(backend, args.num_envs, seed, args.start_method)
    venv.reset()
    rng = np.random.default_rng(seed)
    actions = rng.integers(9, size=(args.env_vector_steps, args.num_envs))
    for a in actions[:10]:  # warm-up
        venv.step(a)
    best = float("inf")
    for _ in range(args.env_repeats):
        start = time.perf_counter()
        for a in actions:
            venv.step(a)
        best = min(best, time.perf_counter() - start)
    venv.close()
    steps = args.env_vector_steps * args.num_envs
    return {"wall_s": best, "steps": steps, "sps": steps / best}


def measure(args: argparse.Namespace, command: list[str]) -> dict:
    import gymnasium as gym
    import stable_baselines3
    import torch

    torch.set_num_threads(1)
    date = datetime.now().strftime("%Y-%m-%d %H:%M")
    machine = (
        f"cores: {os.cpu_count()} (usable: {len(os.sched_getaffinity(0))}), load average at start: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; python {platform.python_version()}, torch {torch.__version__} (1 thread), "
        f"stable-baselines3 {stable_baselines3.__version__}, gymnasium {gym.__version__}, numpy {np.__version__}"
    )
    setup = (
        f"{ENV_ID} {ENV_KWARGS}, {args.num_envs} envs; PPO MlpPolicy [64, 64], n_steps={args.n_steps}, "
        f"batch_size={args.batch_size}, n_epochs={args.n_epochs}, learning_rate={args.learning_rate}, "
        f"{args.timesteps:,} timesteps; seeds {args.seeds}; SubprocVecEnv start method {args.start_method}"
    )
    print(f"{date}; {machine}\n{setup}", flush=True)
    ppo: dict[str, list[dict[str, float]]] = {b: [] for b in args.backends}
    env_only: dict[str, list[dict[str, float]]] = {b: [] for b in args.backends}
    for seed in args.seeds:
        for backend in args.backends:
            result = bench_ppo(backend, args, seed)
            ppo[backend].append(result)
            print(
                f"PPO  seed {seed} {backend:13s} learn {result['wall_s']:7.1f} s  {result['sps']:9,.0f} steps/s  "
                f"(env build {result['build_s']:.1f} s, last-100-episode return {result['return']:.1f})",
                flush=True,
            )
        for backend in args.backends:
            result = bench_env_only(backend, args, seed)
            env_only[backend].append(result)
            print(
                f"env  seed {seed} {backend:13s} {result['sps']:11,.0f} steps/s (random actions)", flush=True
            )
    ratios = []
    if "SB3VecEnv" in args.backends:
        ours = ppo["SB3VecEnv"]
        for backend in args.backends:
            if backend == "SB3VecEnv":
                continue
            per_seed = [o["sps"] / t["sps"] for o, t in zip(ours, ppo[backend])]
            ratio = statistics.median(per_seed)
            env_ratio = statistics.median(r["sps"] for r in env_only["SB3VecEnv"]) / statistics.median(
                r["sps"] for r in env_only[backend]
            )
            target = TARGETS[backend]
            ratios.append(
                {
                    "vs": backend,
                    "ppo": ratio,
                    "target": target,
                    "met": ratio >= target,
                    "per_seed": per_seed,
                    "env_only": env_ratio,
                }
            )
    returns = np.array([[r["return"] for r in ppo[b]] for b in args.backends])  # (backend, seed)
    same = bool(np.allclose(returns, returns[:1], rtol=1e-4, atol=1e-4))
    notes = "\n".join(
        [
            "- Same episodes on every backend: per seed, the last-100-episode returns are "
            + ("equal across backends" if same else "**not** equal across backends")
            + " (to float32 rounding: VecMonitor sums float32 rewards, Monitor float64). Same PPO, same "
            "seeds; SB3VecEnv reproduces DummyVecEnv's episodes exactly (tests/agents/test_sb3.py), so the "
            "backends differ only in speed.",
            "- `learn` time includes PPO's own work (policy forward per vector step, 4 epochs of updates per "
            "4096-step rollout), the same for every backend; the env-only rows show the envs alone.",
            "- Measured on a shared 2-core machine with other jobs running (see the load average above): "
            "absolute figures vary by tens of percent between runs; the ratios are steadier.",
        ]
    )
    measured = {**study.measured_here(command), "date": date, "machine": machine}
    return {
        "measured": measured,
        "setup": setup,
        "env_repeats": args.env_repeats,
        "ppo": [{"backend": b, "seed": s, **r} for b in args.backends for s, r in zip(args.seeds, ppo[b])],
        "env_only": [
            {"backend": b, "seed": s, **r} for b in args.backends for s, r in zip(args.seeds, env_only[b])
        ],
        "ratios": ratios,
        "notes": notes,
    }


def report(record: dict, command: list[str]) -> None:
    lines = [
        "# SB3 PPO through SB3VecEnv vs SubprocVecEnv vs DummyVecEnv",
        "",
        study.stamp(command, record["measured"]),
    ]
    lines += [
        "Regenerated by `python experiments/sb3_vecenv/run.py --report-only` from `measurements.json`; "
        "`python experiments/sb3_vecenv/run.py` measures again and replaces it.",
        "",
        f"Setup: {record['setup']}.",
        "",
        "## PPO learning (`model.learn`, wall-clock)",
        "",
        "| backend | seed | learn wall (s) | env steps/s | env build (s) | return (last 100 episodes) |",
        "|---|---|---|---|---|---|",
    ]
    for r in record["ppo"]:
        lines.append(
            f"| {r['backend']} | {r['seed']} | {thousands(r['wall_s'], 1)} | {thousands(r['sps'])} "
            f"| {thousands(r['build_s'], 1)} | "
            f"{thousands(r['return'], 1)} |"
        )
    lines += ["", f"## Env only (random actions, no policy; best of {record['env_repeats']} timings)", ""]
    lines += ["| backend | seed | env steps/s |", "|---|---|---|"]
    for r in record["env_only"]:
        lines.append(f"| {r['backend']} | {r['seed']} | {thousands(r['sps'])} |")
    lines += ["", "## Ratios (SB3VecEnv speed / other; median over seeds)", ""]
    lines += ["| vs | PPO learn (target) | per seed | env only |", "|---|---|---|---|"]
    for r in record["ratios"]:
        verdict = "met" if r["met"] else "missed"
        lines.append(
            f"| {r['vs']} | {r['ppo']:.2f}× (≥{r['target']:.0f}×: {verdict}) | "
            f"{', '.join(f'{x:.2f}×' for x in r['per_seed'])} | {r['env_only']:.1f}× |"
        )
    backends = list(dict.fromkeys(r["backend"] for r in record["ppo"]))

    def median(rows: list[dict], backend: str) -> float:
        return statistics.median(r["sps"] for r in rows if r["backend"] == backend)

    study.bars(
        HERE / "sb3_vecenv.png",
        backends,
        {
            "PPO learn (median over seeds)": [median(record["ppo"], b) for b in backends],
            "env only (median over seeds)": [median(record["env_only"], b) for b in backends],
        },
        "env steps/s, 64 Racetracks (log scale)",
        "env steps/s",
        log=True,
    )
    lines += ["", "![steps/s by backend](sb3_vecenv.png)", "", "## Notes", "", record["notes"]]
    (HERE / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print(f"written: {HERE / 'RESULTS.md'}")


def main(argv: list[str] | None = None) -> int:
    parser = study.parser(__doc__, "RESULTS.md from measurements.json")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--timesteps", type=int, default=100_000, help="PPO timesteps per run")
    parser.add_argument("--n-steps", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--n-epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--env-vector-steps", type=int, default=500, help="vector steps of the env-only runs")
    parser.add_argument("--env-repeats", type=int, default=3, help="env-only timings per run (best kept)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument(
        "--start-method", default="fork", help="SubprocVecEnv start method (SB3's default: forkserver)"
    )
    study.main(__file__, parser, RECORD, measure, report, argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
