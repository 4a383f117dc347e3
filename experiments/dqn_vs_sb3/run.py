"""Benchmark: our DQN against Stable-Baselines3 DQN, side by side, same machine, same run.

For each seed the two agents train one after the other (so machine load hits both alike) and are
evaluated greedily every ``--eval-every`` env steps on the same seeded evaluation envs (our
:func:`rlsuite.training.evaluate`). The clock runs only while training: evaluation time is
excluded for both. Reported per run: the training wall-clock and env steps until the mean
evaluation return first reaches ``--threshold``, the evaluation at the end, the total training time.

    python experiments/dqn_vs_sb3/run.py --all           # every recorded run again, from nothing (hours)
    python experiments/dqn_vs_sb3/run.py --report-only   # RESULTS.md and plots from data/*.csv + *.json
    python experiments/dqn_vs_sb3/run.py                 # one run: CartPole-v1, 5 seeds, both
    python experiments/dqn_vs_sb3/run.py --seeds 0 1 --algos ours        # partial runs
    python experiments/dqn_vs_sb3/run.py --ours-set agent.net_arch=[256,256] --tag rlzoo-net
    python experiments/dqn_vs_sb3/run.py --env racetrack --seeds 0 1    # + SB3 on our config, random
    python experiments/dqn_vs_sb3/run.py --per-update                    # one gradient step, same settings
    python experiments/dqn_vs_sb3/run.py --whole-command   # `rlsuite train` to 475, as users run it (5 seeds)
    python experiments/dqn_vs_sb3/run.py --env racetrack --algos ours sb3 sb3-set --sb3-set agent.train_freq=1

On CartPole-v1 SB3 runs at RL Zoo's tuned hyper-parameters (``SB3_ZOO``) on one env, as RL Zoo does;
on our envs (``--env racetrack``, ``--env highway``) it gets our config's hyper-parameters — the
names and meanings are SB3's — on as many envs, and the random (and constant-action) baselines are
evaluated alongside.
Torch runs on one CPU thread for both (``torch.set_num_threads(1)``), the fair and the fastest
setting on our shared 2-core machines.

A run records ``data/dqn_<env>[-tag].csv`` (one row per algorithm and seed, with its evaluation
curve) and ``.json`` (what it measured, its settings, the command to rerun it, and commit, date and
machine), then regenerates ``RESULTS.md`` (every recorded run, the notes written with it in
``notes/``, a plot per run in ``plots/``). ``--all`` reruns every recorded run with its recorded
arguments (``argv`` in its ``.json``; the earlier Racetrack runs with the earlier config kept in
``configs/``).

``--whole-command`` times ``rlsuite train`` itself on CartPole-v1, launch to the first greedy
evaluation >= 475, for SB3 at RL Zoo's settings, our shipped config and ours at identical settings,
interleaved per seed. It records ``data/whole_command.json`` (per-seed seconds, the evaluations each
run logged, medians and ratios; a seed that never reaches 475 counts as never in the median), gives
RESULTS.md its section, and (5 seeds or more, into this directory) publishes the two ratios, SB3's
median / ours, as rows ``dqn_shipped`` and ``dqn_identical`` of ``rlsuite/speed_floors.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import shlex
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import rlsuite  # noqa: F401  (registers our envs)
from rlsuite import study
from rlsuite.config import Config, apply_overrides, from_dict, read_yaml
from rlsuite.study import measured_here, stamp
from rlsuite.training import evaluate, make_envs, seed_everything

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parent / "configs"
EVAL_SEED = 1_000_003

# The recorded runs in the order RESULTS.md shows them (others follow, by name).
ORDER = (
    "dqn_cartpole-identical",
    "dqn_cartpole",
    "dqn_racetrack-adapter-40k",
    "dqn_racetrack-40k",
    "dqn_racetrack-15k-per-step",
    "dqn_racetrack-20k",
    "dqn_racetrack",
    "dqn_racetrack-30k",
    "dqn_racetrack-15k",
    "dqn_racetrack-random-tracks",
    "dqn_racetrack-nodueling",
    "dqn_racetrack-dueling_tf1",
    "dqn_highway",
)

# RL Zoo (hyperparams/dqn.yml) CartPole-v1, as quoted in issue 6. Other envs have no zoo entry:
# SB3 gets our config's hyper-parameters (same names, same meaning) through sb3_params().
SB3_ZOO = {
    "CartPole-v1": dict(
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        gamma=0.99,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
        policy_kwargs=dict(net_arch=[256, 256]),
    ),
}
SB3_SHARED = (
    "learning_rate",
    "buffer_size",
    "learning_starts",
    "batch_size",
    "tau",
    "gamma",
    "train_freq",
    "gradient_steps",
    "target_update_interval",
    "exploration_fraction",
    "exploration_initial_eps",
    "exploration_final_eps",
    "max_grad_norm",
    "n_steps",
)


@dataclass
class BenchEnv:
    config: str  # our shipped config in experiments/configs
    threshold: float = float("inf")  # eval return whose first crossing is timed
    total_steps: int = 50_000
    eval_every: int = 2_000
    baselines: tuple[str, ...] = ()  # "random", or "const:<action>"
    sb3_vec: bool = False  # SB3 on as many envs as our config (else 1, as RL Zoo's CartPole)


ENVS = {
    "cartpole": BenchEnv("dqn_cartpole.yaml", threshold=475.0),
    "racetrack": BenchEnv(
        "dqn_racetrack_state.yaml",
        threshold=250.0,  # the ceiling is ≈ 300 (whole 100 s episodes at the limit); random ≈ -20
        total_steps=40_000,
        eval_every=1_000,
        baselines=("random",),
        sb3_vec=True,
    ),
    "highway": BenchEnv(
        "dqn_highway.yaml",
        total_steps=60_000,
        eval_every=10_000,
        baselines=("random", "const:1"),
        sb3_vec=True,
    ),
}


@dataclass
class Result:
    algo: str
    seed: int
    threshold_time: float | None = None  # training seconds until eval >= threshold
    threshold_step: int | None = None
    final_return: float = float("nan")
    final_length: float = float("nan")
    train_time: float = 0.0
    steps: int = 0
    curve: list[tuple[int, float]] = field(default_factory=list)


class Clock:
    """Training wall-clock that excludes the evaluations."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.excluded = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start - self.excluded


class Evaluator:
    """Greedy evaluation every ``every`` env steps; records the first crossing of ``threshold``."""

    def __init__(self, result: Result, config: Config, args: argparse.Namespace) -> None:
        self.result, self.every, self.episodes, self.threshold = (
            result,
            args.eval_every,
            args.eval_episodes,
            args.threshold,
        )
        self.envs = make_envs(config.env, min(args.eval_episodes, 10))
        self.next_eval = self.every
        self.clock = Clock()

    def evaluate(self, step: int, policy) -> None:
        paused = time.perf_counter()
        train_time = self.clock.elapsed()
        stats = evaluate(policy, self.envs, self.episodes, seed=EVAL_SEED + self.result.seed)
        mean = stats["eval/return_mean"]
        self.result.curve.append((step, mean))
        self.result.final_return, self.result.final_length = mean, stats["eval/length_mean"]
        if mean >= self.threshold and self.result.threshold_time is None:
            self.result.threshold_time, self.result.threshold_step = train_time, step
        self.clock.excluded += time.perf_counter() - paused

    def maybe_evaluate(self, step: int, policy) -> None:
        if step >= self.next_eval:
            self.next_eval = (step // self.every + 1) * self.every
            self.evaluate(step, policy)


def sb3_params(config: Config) -> dict:
    """SB3 DQN keyword arguments: RL Zoo's for CartPole, else our config's (same names)."""
    if config.env.id in SB3_ZOO:
        return dict(SB3_ZOO[config.env.id])
    ours = config.agent.params
    params = {name: getattr(ours, name) for name in SB3_SHARED}
    params["max_grad_norm"] = params["max_grad_norm"] or float("inf")
    return {**params, "policy_kwargs": dict(net_arch=list(ours.net_arch))}


def run_sb3(
    config: Config, seed: int, args: argparse.Namespace, bench: BenchEnv, name: str = "sb3"
) -> Result:
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    result = Result(name, seed)
    seed_everything(seed)
    n_envs = config.env.num_envs if bench.sb3_vec else 1
    if args.sb3_vecenv == "native" and config.env.id.startswith("rlsuite/"):
        # Our native vector env through rlsuite's SB3 adapter: both libraries pay the same env cost,
        # so the ratio measures the agents (SB3's DummyVecEnv steps our cars one by one).
        import gymnasium as gym
        from stable_baselines3.common.vec_env import VecMonitor

        from rlsuite.agents.sb3 import SB3VecEnv

        env = VecMonitor(SB3VecEnv(gym.make_vec(config.env.id, num_envs=n_envs, **config.env.kwargs)))
    else:
        env = make_vec_env(config.env.id, n_envs=n_envs, seed=seed, env_kwargs=config.env.kwargs)
    model = DQN("MlpPolicy", env, seed=seed, device="cpu", **sb3_params(config))
    evaluator = Evaluator(result, config, args)
    policy = lambda obs, starts: model.predict(obs, deterministic=True)[0]  # noqa: E731

    class EvalCallback(BaseCallback):
        def _on_step(self) -> bool:
            evaluator.maybe_evaluate(self.num_timesteps, policy)
            return True

    evaluator.clock = Clock()
    model.learn(args.total_steps, callback=EvalCallback())
    result.train_time, result.steps = evaluator.clock.elapsed(), model.num_timesteps
    if not result.curve or result.curve[-1][0] != result.steps:
        evaluator.evaluate(result.steps, policy)
    return result


class BenchMonitor:
    """The monitor side of our agent protocol, reduced to the benchmark's evaluations."""

    def __init__(self, evaluator: Evaluator, agent) -> None:
        self.evaluator, self.agent = evaluator, agent

    def on_step(self, global_step, rewards, terminated, truncated, infos=None) -> bool:
        self.evaluator.maybe_evaluate(global_step, lambda obs, starts: self.agent.act(obs, True, starts))
        return True

    def log(self, step, scalars) -> None:
        pass


def run_ours(config: Config, seed: int, args: argparse.Namespace) -> Result:
    from rlsuite.agents.dqn import DQNAgent

    result = Result("ours", seed)
    seed_everything(seed)
    envs = make_envs(config.env)
    evaluator = Evaluator(result, config, args)
    agent = DQNAgent(config, envs)
    evaluator.clock = Clock()
    agent.learn(args.total_steps, BenchMonitor(evaluator, agent))
    result.train_time, result.steps = evaluator.clock.elapsed(), agent.global_step
    if not result.curve or result.curve[-1][0] != result.steps:
        evaluator.evaluate(result.steps, lambda obs, starts: agent.act(obs, True, starts))
    envs.close()
    return result


def run_baseline(name: str, config: Config, seed: int, args: argparse.Namespace) -> Result:
    """A random (``random``) or constant-action (``const:<a>``) policy, evaluated like the agents."""
    result = Result(name, seed)
    evaluator = Evaluator(result, config, args)
    space = evaluator.envs.single_action_space
    space.seed(seed)
    if name == "random":
        policy = lambda obs, starts: np.array([space.sample() for _ in range(len(obs))])  # noqa: E731
    else:
        action = int(name.split(":")[1])
        policy = lambda obs, starts: np.full(len(obs), action)  # noqa: E731
    evaluator.evaluate(args.total_steps, policy)
    result.steps = args.total_steps
    return result


# --------------------------------------------------------------------------------------------
def summarize(results: list[Result], meta: dict) -> str:
    """The tables and ratios of one run (``meta``: its ``.json``)."""
    args = argparse.Namespace(
        threshold=math.inf if meta["threshold"] is None else meta["threshold"],
        total_steps=meta["total_steps"],
        eval_every=meta["eval_every"],
    )
    timed = np.isfinite(args.threshold)
    native = meta["sb3_vecenv"] == "native" and meta["env_id"].startswith("rlsuite/")
    lines = [
        "SB3's env: "
        + (
            "our native vector env through rlsuite's `SB3VecEnv` (the same env cost as ours)."
            if native
            else "SB3's `DummyVecEnv` of single envs."
        ),
        "",
        f"| algo | seed | time to eval ≥ {args.threshold:g} [s] | steps to it | eval return at end | "
        f"eval episode length at end | training time for {args.total_steps:,} steps [s] | env steps/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t = "—" if r.threshold_time is None else f"{r.threshold_time:.1f}"
        s = "—" if r.threshold_step is None else f"{r.threshold_step:,}"
        sps = f"{r.steps / r.train_time:,.0f}" if r.train_time > 0 else "—"
        lines.append(
            f"| {r.algo} | {r.seed} | {t} | {s} | {r.final_return:.1f} | {r.final_length:.1f} | "
            f"{r.train_time:.1f} | {sps} |"
        )
    lines.append("")
    algos = list(dict.fromkeys(r.algo for r in results))
    by_algo = {a: [r for r in results if r.algo == a] for a in algos}
    for algo, runs in by_algo.items():
        solved = [r for r in runs if r.threshold_time is not None]
        line = (
            f"- **{algo}**: mean eval return at the end {np.mean([r.final_return for r in runs]):.1f} "
            f"(episode length {np.mean([r.final_length for r in runs]):.1f})"
        )
        if timed:
            median = median_time(runs)
            shown = f"{median:.1f} s" if math.isfinite(median) else "not reached by the median seed"
            line += (
                f"; reached {args.threshold:g} on {len(solved)}/{len(runs)} seeds, median time to it "
                f"over all seeds (an unsolved seed counts as never) {shown}"
            )
        if runs[0].train_time > 0:
            line += f"; median training time {statistics.median(r.train_time for r in runs):.1f} s"
        lines.append(line)
    if "ours" in by_algo:
        for peer in (a for a in algos if a.startswith("sb3")):
            lines += ratio_lines(by_algo["ours"], by_algo[peer], peer, args, timed)
    lines += equal_steps_table(by_algo, args.eval_every)
    return "\n".join(lines) + "\n"


def ratio_lines(
    ours: list[Result], peer: list[Result], name: str, args: argparse.Namespace, timed: bool
) -> list[str]:
    """Ours against one SB3 variant: median times to the threshold (when ``timed``), per seed, and
    training times."""
    lines = []
    if timed:
        m_ours, m_peer = median_time(ours), median_time(peer)
        solved = f"solved: ours {_solved(ours)}, {name} {_solved(peer)}; an unsolved seed counts as never"
        if math.isfinite(m_ours) and math.isfinite(m_peer):
            ratio = m_ours / m_peer
            lines.append(
                f"- **ratio of median times to {args.threshold:g} (ours / {name}): {ratio:.3f}** "
                f"({name} / ours = {1 / ratio:.1f}×; {solved})"
            )
        else:
            lines.append(
                f"- ratio of median times to {args.threshold:g} (ours / {name}): none, the median seed of "
                f"{'ours' if not math.isfinite(m_ours) else name} never reached it ({solved})"
            )
        pairs = [(o.seed, _seed_ratio(o, s)) for o in ours for s in peer if o.seed == s.seed]
        if pairs:
            lines.append(
                f"- per-seed ratios (ours / {name}): " + ", ".join(f"seed {k}: {x}" for k, x in pairs)
            )
    total = statistics.median(r.train_time for r in ours) / statistics.median(r.train_time for r in peer)
    lines.append(
        f"- ratio of median training times for {args.total_steps:,} steps (ours / {name}): {total:.3f}"
    )
    return lines


def median_time(runs: list[Result]) -> float:
    """Median time to the threshold over all seeds; a seed that never reached it counts as infinite
    (the median over solved seeds only would reward an agent that solves fewer)."""
    return statistics.median(math.inf if r.threshold_time is None else r.threshold_time for r in runs)


def _solved(runs: list[Result]) -> str:
    return f"{sum(r.threshold_time is not None for r in runs)}/{len(runs)}"


def _seed_ratio(ours: Result, peer: Result) -> str:
    if ours.threshold_time is None or peer.threshold_time is None:
        return {(True, True): "both unsolved", (True, False): "ours unsolved"}.get(
            (ours.threshold_time is None, peer.threshold_time is None), "peer unsolved"
        )
    return f"{ours.threshold_time / peer.threshold_time:.3f}"


def equal_steps_table(by_algo: dict[str, list[Result]], every: int) -> list[str]:
    """Mean greedy return over the seeds at each evaluation every learning algo made, and the mean
    over those evaluations (the area under the learning curve, normalised); then ours against each
    SB3 variant, paired by seed.

    Evaluations are matched by interval (the first one at or after each multiple of ``every``), so
    algos whose step grids differ (other vector-env sizes) still line up."""
    learners = {a: runs for a, runs in by_algo.items() if any(len(r.curve) > 1 for r in runs)}
    points: dict[tuple[str, int], dict[int, float]] = {}
    for algo, runs in learners.items():
        for r in runs:
            by_interval: dict[int, float] = {}
            for step, value in r.curve:
                by_interval.setdefault(step // every, value)  # the first evaluation in the interval
            points[algo, r.seed] = by_interval
    if not points:
        return []
    keys = sorted(set.intersection(*(set(p) for p in points.values())))
    if len(keys) < 2:
        return ["", "(no two evaluation intervals shared by every run: no equal-steps table)"]
    per_seed = {
        algo: {r.seed: float(np.mean([points[algo, r.seed][k] for k in keys])) for r in runs}
        for algo, runs in learners.items()
    }
    lines = [
        "",
        "Mean greedy return over the seeds at equal env steps (last column: mean over these "
        "evaluations, ± the sample standard deviation of the per-seed means):",
        "",
        "| algo | " + " | ".join(f"{k * every / 1000:g}k" for k in keys) + " | mean |",
        "|---|" + "---:|" * (len(keys) + 1),
    ]
    for algo, runs in learners.items():
        means = [np.mean([points[algo, r.seed][k] for r in runs]) for k in keys]
        seeds = list(per_seed[algo].values())
        spread = float(np.std(seeds, ddof=1)) if len(seeds) > 1 else 0.0
        lines.append(
            f"| {algo} | "
            + " | ".join(f"{m:.0f}" for m in means)
            + f" | {np.mean(seeds):.1f} ± {spread:.1f} |"
        )
    lines.append("")
    for peer in (a for a in learners if a.startswith("sb3") and "ours" in per_seed):
        seeds = sorted(set(per_seed["ours"]) & set(per_seed[peer]))
        diffs = np.array([per_seed["ours"][k] - per_seed[peer][k] for k in seeds])
        if len(diffs) > 1:
            error = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs)))
            lines.append(
                f"- ours − {peer}, mean over the curve paired by seed: {diffs.mean():+.1f} ± {error:.1f} "
                f"(standard error, {len(diffs)} seeds; ours ahead on {int((diffs > 0).sum())})"
            )
    return lines


def per_update_timing(updates: int = 1280) -> str:
    """CPU time per gradient step at identical settings (RL Zoo's CartPole ones, one env, vanilla
    DQN targets): the implementation alone, without any difference in hyper-parameters."""
    from stable_baselines3 import DQN

    from rlsuite.agents.dqn import DQNAgent

    zoo = SB3_ZOO["CartPole-v1"]
    shared = {k: zoo[k] for k in ("learning_rate", "batch_size", "buffer_size", "learning_starts")}
    shared.update({k: zoo[k] for k in ("target_update_interval", "train_freq", "gradient_steps")})
    lines = ["| net_arch | SB3 [µs/update] | ours [µs/update] | SB3 / ours |", "|---|---|---|---|"]
    for arch in ([256, 256], [64, 64]):
        sb3 = DQN(
            "MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=arch), seed=0, device="cpu", **shared
        )
        sb3.learn(3000)
        agent_params = {"algo": "dqn", **shared, "net_arch": arch, "double_q": False, "n_steps": 1}
        config = from_dict(
            {
                "env": {"id": "CartPole-v1", "num_envs": 1},
                "agent": agent_params,
                "train": {"seed": 0, "device": "cpu"},
            }
        )
        ours = DQNAgent(config, make_envs(config.env))
        ours.learn(3000)
        start = time.process_time()
        sb3.train(gradient_steps=updates, batch_size=64)
        sb3_us = (time.process_time() - start) / updates * 1e6
        start = time.process_time()
        ours.train_phase(updates)
        ours_us = (time.process_time() - start) / updates * 1e6
        lines.append(f"| {arch} | {sb3_us:.0f} | {ours_us:.0f} | {sb3_us / ours_us:.2f}× |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Records and the report
# --------------------------------------------------------------------------------------------
def write_csv(path: Path, results: list[Result]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(Result.__dataclass_fields__))
        for r in results:
            curve = ";".join(f"{s}:{m:.1f}" for s, m in r.curve)
            writer.writerow(
                [r.algo, r.seed, r.threshold_time, r.threshold_step, r.final_return, r.final_length,
                 r.train_time, r.steps, curve]
            )  # fmt: skip


def read_csv(path: Path) -> list[Result]:
    """The results a run recorded (``write_csv``'s rows)."""
    results = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            points = [p.split(":") for p in row["curve"].split(";") if p]
            results.append(
                Result(
                    algo=row["algo"],
                    seed=int(row["seed"]),
                    threshold_time=float(row["threshold_time"]) if row["threshold_time"] else None,
                    threshold_step=int(row["threshold_step"]) if row["threshold_step"] else None,
                    final_return=float(row["final_return"]),
                    final_length=float(row["final_length"]),
                    train_time=float(row["train_time"]),
                    steps=int(row["steps"]),
                    curve=[(int(float(s)), float(m)) for s, m in points],
                )
            )
    return results


def recorded_runs(out_dir: Path) -> list[str]:
    """The stems of the runs recorded in ``out_dir/data``, in the report's order."""
    stems = [p.stem for p in (out_dir / "data").glob("*.json") if p.stem != WHOLE_STEM]
    return sorted(stems, key=lambda stem: (ORDER.index(stem) if stem in ORDER else len(ORDER), stem))


COLORS = {"ours": "tab:blue", "sb3": "tab:orange", "random": "tab:gray"}


def plot(results: list[Result], path: Path, title: str) -> None:
    """Evaluation return against env steps: thin lines are seeds, thick lines the mean over seeds at
    the evaluation steps all seeds share (SB3's extra final evaluation is dropped there)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for r in results:
        curves.setdefault(r.algo, []).append(
            (np.array([s for s, _ in r.curve], float), np.array([m for _, m in r.curve], float))
        )
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for k, (algo, runs) in enumerate(sorted(curves.items())):
        color = COLORS.get(algo, f"C{k + 3}")
        if all(len(steps) == 1 for steps, _ in runs):  # a baseline evaluated once: a level line
            level = float(np.mean([r[0] for _, r in runs]))
            ax.axhline(level, color=color, linestyle="--", linewidth=1.2, label=f"{algo} ({level:.1f})")
            continue
        for steps, returns in runs:
            ax.plot(steps, returns, color=color, alpha=0.25, linewidth=0.8)
        shared = sorted(set.intersection(*(set(steps.tolist()) for steps, _ in runs)))
        mean = [np.mean([r[list(s).index(x)] for s, r in runs]) for x in shared]
        ax.plot(shared, mean, color=color, linewidth=2.2, label=f"{algo} (mean of {len(runs)} seeds)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("greedy evaluation return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def _numbers(text: str) -> list[str]:
    return re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)


def run_section(stem: str, meta: dict, results: list[Result], out_dir: Path) -> list[str]:
    measured = meta["measured"]
    rerun = shlex.join(["python", "experiments/dqn_vs_sb3/run.py", *meta["argv"]])
    recorded = f"`{meta['command']}`" + (f" {meta['command_note']}" if meta.get("command_note") else "")
    lines = [
        f"### {stem}",
        "",
        f"{meta['title'][0].upper()}{meta['title'][1:]}.",
        "",
        f"- Measured: commit `{measured['commit']}`, {measured['date']}, on {measured['machine']}"
        + (f" ({measured['note']})" if measured.get("note") else ""),
        f"- Command: {recorded}",
        f"- Rerun: `{rerun}`",
        f"- {meta['env_id']}; {meta['threads']} torch thread(s); both agents on CPU, run alternately in one "
        "process; clock = training wall-clock, evaluations excluded; evaluation: "
        f"{meta['eval_episodes']} greedy episodes every {meta['eval_every']:,} env steps on separate seeded envs.",
        "",
        summarize(results, meta),
    ]
    published = meta.get("published_summary")
    if published and Counter(_numbers(published)) - Counter(_numbers(lines[-1])):
        lines += [
            "<details><summary>The summary as published with the measurement, by the script of that time: "
            "some of its derived figures differ from the ones above (see the paragraph at the top), its data "
            "does not</summary>",
            "",
            published,
            "",
            "</details>",
            "",
        ]
    if any(len(r.curve) > 1 for r in results):
        plot(results, out_dir / "plots" / f"{stem}.png", stem.replace("_", " "))
        lines += [f"![{stem}](plots/{stem}.png)", ""]
    notes = out_dir / "notes" / f"{stem}.md"
    if notes.is_file():
        lines += ["Notes written with the measurement:", "", notes.read_text(), ""]
    return lines


def report(out_dir: Path, command: list[str]) -> None:
    stems = recorded_runs(out_dir)
    metas = {stem: json.loads((out_dir / "data" / f"{stem}.json").read_text()) for stem in stems}
    results = {stem: read_csv(out_dir / "data" / f"{stem}.csv") for stem in stems}
    dated = sorted(stems, key=lambda stem: metas[stem]["measured"]["date"])
    measured = []
    if dated:
        first, last = metas[dated[0]]["measured"], metas[dated[-1]]["measured"]
        measured.append(
            {
                "label": f"{len(stems)} run{'' if len(stems) == 1 else 's'}, each with its own line below",
                "commit": first["commit"] if len(dated) == 1 else f"{first['commit']}` … `{last['commit']}",
                "date": first["date"] if len(dated) == 1 else f"{first['date']} to {last['date']}",
            }
        )
    whole_path = out_dir / "data" / f"{WHOLE_STEM}.json"
    whole = json.loads(whole_path.read_text()) if whole_path.is_file() else None
    if whole is not None:
        m = whole["measured"]
        measured.append({"label": "whole command, its own section", "commit": m["commit"], "date": m["date"]})
    lines = ["# DQN: ours against Stable-Baselines3's, side by side", "", stamp(command, measured)]
    lines += [
        "Regenerated by `python experiments/dqn_vs_sb3/run.py --report-only` from the runs recorded in "
        "`data/` (per run: a `.csv` with every algorithm and seed and its evaluation curve, a `.json` with "
        "the settings, the command and where it was measured) and the notes written with them in "
        "`notes/`; `python experiments/dqn_vs_sb3/run.py --all` reruns every run from nothing with its "
        "recorded arguments, and the `Rerun:` line of each run reruns one (each replaces its own record). "
        "Torch runs on one CPU thread for both agents; ratios measured side by side in one run are the "
        "result, absolute speeds move with the machine's load. In the notes, `<run>.md` names the section "
        "`<run>` below.",
        "",
        "The per-seed tables are the recorded data. The summaries under them are derived from it by "
        "today's script, which differs from the one some runs were first published with: a seed that never "
        "reaches the threshold counts as never in the median time (it was left out), the equal-steps table "
        "matches evaluations by interval and gives the sample standard deviation (it matched exact steps and "
        "gave the population one) and adds the paired difference per SB3 variant, and the curves are read "
        "from the csv at its 0.1 precision (a mean's last digit can move by one). Where that changes a "
        "figure, the summary as first published follows the new one, folded.",
        "",
        "| run | what |",
        "|---|---|",
    ]
    lines += [f"| [{stem}](#{stem}) | {metas[stem]['title']} |" for stem in stems]
    lines.append("")
    if whole is not None:
        lines += whole_section(whole)
    lines += ["## Runs", ""]
    for stem in stems:
        lines += run_section(stem, metas[stem], results[stem], out_dir)
    for name, title in (
        ("where_the_time_goes", "DQN on Racetrack: where the time goes"),
        ("replay_memory", "DQN replay memory: 100k transitions of 84×84 grayscale frames, stack of 4"),
    ):
        path = out_dir / "notes" / f"{name}.md"
        if path.is_file():
            text = path.read_text()
            text = text.split("\n", 1)[1].lstrip() if text.startswith("# ") else text
            lines += [
                f"## {title}",
                "",
                f"(A write-up kept in `notes/{name}.md`, not regenerated by a run.)",
                "",
            ]
            lines += [text.rstrip(), ""]
    (out_dir / "RESULTS.md").write_text("\n".join(lines))
    print(f"written: {out_dir / 'RESULTS.md'}")


# --------------------------------------------------------------------------------------------
# Whole commands: `rlsuite train CONFIG` as a user runs it, start-up and evaluations included
# --------------------------------------------------------------------------------------------
WHOLE_COMMANDS = {  # CartPole-v1: SB3 at RL Zoo's settings, our shipped config, ours at identical settings
    "sb3": CONFIGS / "sb3_dqn_cartpole.yaml",
    "ours": CONFIGS / "dqn_cartpole.yaml",
    "ours-identical": HERE / "configs" / "dqn_cartpole_zoo.yaml",
}


# data/whole_command.json: not one of the runs of the tables (recorded_runs skips it)
WHOLE_STEM = "whole_command"
WHOLE_THRESHOLD = 475.0
# The ratios SB3 median / ours median, published as these rows of rlsuite/speed_floors.json.
FLOORS = HERE.parents[1] / "rlsuite" / "speed_floors.json"
FLOOR_ROWS = {"ours": "dqn_shipped", "ours-identical": "dqn_identical"}
PUBLISH_SEEDS = 5  # the rows say "median of 5 seeds": fewer seeds measure, but do not publish


def _eval_curve(run_root: Path, launched: float) -> list[list[float]]:
    """``[step, seconds since launch, greedy return]`` of every evaluation a run logged so far."""
    curve = []
    for metrics in run_root.glob("*/metrics.csv"):
        with metrics.open(newline="") as f:
            for row in csv.DictReader(f):
                if row["tag"] == "eval/return_mean" and row["value"]:
                    seconds = round(float(row["wall_time"]) - launched, 3)
                    curve.append([int(row["step"]), seconds, float(row["value"])])
    return curve


def _first_at(curve: list[list[float]], threshold: float) -> float | None:
    return next((seconds for _, seconds, value in curve if value >= threshold), None)


def whole_command_times(seeds: list[int], threads: int, threshold: float = WHOLE_THRESHOLD) -> dict:
    """Seconds from launching ``rlsuite train CONFIG train.seed=S`` to the first logged evaluation
    (``train.eval_every``, 10 greedy episodes) at or above ``threshold``: interpreter start,
    imports, training, evaluations and checkpoints, as a user waits for them. The commands run one
    after another for each seed, so machine load hits them alike; a run is stopped once it got
    there (one that never does runs to its end and counts as never). Torch gets ``threads`` CPU
    threads in every command (``OMP_NUM_THREADS``; our DQN sets its own, ``agent.torch_threads``,
    1 by default), as in the rest of this benchmark.

    Returns the measurement: per command the seconds of each seed (None: never reached) and the
    evaluations it logged until stopped (``[step, seconds since launch, return]``)."""
    import os
    import signal
    import subprocess
    import tempfile

    seconds: dict[str, list[float | None]] = {name: [] for name in WHOLE_COMMANDS}
    evals: dict[str, list[list[list[float]]]] = {name: [] for name in WHOLE_COMMANDS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            for name, config in WHOLE_COMMANDS.items():
                run_root = Path(tmp) / f"{name}-{seed}"
                command = [sys.executable, "-m", "rlsuite.cli", "train", str(config), f"train.seed={seed}"]
                command += [f"log.run_dir={run_root}", "log.progress=none"]
                launched = time.time()
                process = subprocess.Popen(
                    command,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                )
                reached = None
                while process.poll() is None and reached is None:
                    time.sleep(0.05)
                    reached = _first_at(_eval_curve(run_root, launched), threshold)
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                process.wait()
                curve = _eval_curve(run_root, launched)
                reached = _first_at(curve, threshold)
                seconds[name].append(reached)
                evals[name].append(curve)
                print(f"seed {seed} {name}: {'never' if reached is None else f'{reached:.1f}'} s", flush=True)
    return {"seconds": seconds, "evals": evals}


def whole_median(times: list[float | None]) -> float | None:
    """Median seconds over all seeds; a seed that never reached the threshold counts as never (an
    infinite time), as :func:`median_time` counts it. None when the median seed never reached it."""
    median = statistics.median(math.inf if t is None else t for t in times)
    return median if math.isfinite(median) else None


def whole_summary(seconds: dict[str, list[float | None]]) -> dict:
    """The medians and the two ratios (SB3's median / ours) of a whole-command measurement."""
    medians = {name: whole_median(times) for name, times in seconds.items()}
    ratios = {}
    for name in FLOOR_ROWS:
        ok = medians["sb3"] is not None and medians[name] is not None
        ratios[f"sb3 / {name}"] = medians["sb3"] / medians[name] if ok else None
    return {"medians": medians, "ratios": ratios}


def whole_command(args: argparse.Namespace, argv: list[str], command: list[str]) -> dict:
    """Measure the whole commands and record them in ``data/whole_command.json``."""
    measured = measured_here(command)
    times = whole_command_times(args.seeds, args.threads)
    shown = {
        name: Path(config).resolve().relative_to(HERE.parents[1]).as_posix()
        for name, config in WHOLE_COMMANDS.items()
    }
    record = {
        "title": "the whole command `rlsuite train CONFIG` on CartPole-v1 to a greedy 475",
        "command": shlex.join(["python", *command]),
        "argv": [a for a in argv if a not in ("--results-dir", str(args.results_dir))],
        "measured": measured,
        "threshold": WHOLE_THRESHOLD,
        "threads": args.threads,
        "seeds": list(args.seeds),
        "commands": {
            name: f"OMP_NUM_THREADS={args.threads} rlsuite train {path} train.seed=S log.progress=none"
            for name, path in shown.items()
        },
        "unsolved": "a seed that never reaches the threshold counts as never (an infinite time) in the median",
        **times,
        **whole_summary(times["seconds"]),
    }
    data = args.results_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / f"{WHOLE_STEM}.json").write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"written: {data / f'{WHOLE_STEM}.json'}")
    return record


def publish_whole(record: dict, path: Path = FLOORS) -> None:
    """The record's two ratios as the published figures of their rows in ``rlsuite/speed_floors.json``
    (only those rows' ``published`` and ``measured``; the rest of the table as it is)."""
    table = json.loads(path.read_text())
    m = record["measured"]
    for name, key in FLOOR_ROWS.items():
        ratio = record["ratios"][f"sb3 / {name}"]
        table["rows"][key]["published"] = None if ratio is None else round(ratio, 3)
        table["rows"][key]["measured"] = {k: m[k] for k in ("commit", "date", "machine", "command")}
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n")
    print(f"written: {path} (rows {', '.join(FLOOR_ROWS.values())})")


def whole_section(record: dict) -> list[str]:
    """RESULTS.md's section of the whole-command record: per seed, medians, ratios, the commands."""
    names = list(record["seconds"])
    threshold = record["threshold"]
    summary = whole_summary(record["seconds"])  # derived from the per-seed data, as the record has them
    measured = record["measured"]

    def cell(name: str, k: int) -> str:
        t = record["seconds"][name][k]
        if t is not None:
            return f"{t:.1f}"
        curve = record["evals"][name][k]
        if not curve:
            return "never (no evaluation logged)"
        best = max(value for _, _, value in curve)
        step, end, _ = curve[-1]
        return f"never (best {best:.1f}; last evaluation at {step:,} steps, {end:.1f} s)"

    def median(name: str) -> str:
        m = summary["medians"][name]
        return "never (the median seed)" if m is None else f"**{m:.1f}**"

    floors = {}
    if FLOORS.is_file():
        rows = json.loads(FLOORS.read_text())["rows"]
        floors = {name: rows[key].get("floor") for name, key in FLOOR_ROWS.items() if key in rows}
    lines = [
        f"## Whole command: `rlsuite train` to a greedy {threshold:g} on CartPole-v1",
        "",
        f"- Measured: commit `{measured['commit']}`, {measured['date']}, on {measured['machine']}",
        f"- Command: `{record['command']}` (records `data/{WHOLE_STEM}.json`; "
        "publishes the two ratios in `rlsuite/speed_floors.json`)",
        f"- Per seed S, one after another (so machine load hits them alike), each a fresh process with "
        f"{record['threads']} torch thread(s):",
    ]
    what = {
        "sb3": "SB3 DQN at RL Zoo's settings",
        "ours": "our DQN, the shipped config",
        "ours-identical": "our DQN at RL Zoo's settings, identical to SB3's",
    }
    lines += [f"  - {name} ({what.get(name, name)}): `{record['commands'][name]}`" for name in names]
    lines += [
        f"- Clock: from launching the command to the wall time logged with its first evaluation (10 greedy "
        f"episodes every 5,000 env steps) whose mean return is ≥ {threshold:g} — start-up, imports, "
        "training, evaluations and checkpoints included, as a user waits for them; the run is stopped there. "
        "A seed that never gets there trains its 50,000 steps and counts as never (an infinite time) in the "
        "median: its whole run's time would credit it with a time it never reached, and leaving it out "
        "would reward the command that fails more often.",
        "",
        "| seed | " + " | ".join(f"{name} [s]" for name in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for k, seed in enumerate(record["seeds"]):
        lines.append(f"| {seed} | " + " | ".join(cell(name, k) for name in names) + " |")
    lines += ["| median | " + " | ".join(median(name) for name in names) + " |", ""]
    for name, key in FLOOR_ROWS.items():
        ratio = summary["ratios"][f"sb3 / {name}"]
        floor = f"; floor {floors[name]:g}×" if floors.get(name) is not None else ""
        shown = f"**{ratio:.2f}×**" if ratio is not None else "none (a median seed never reached it)"
        solved = sum(t is not None for t in record["seconds"][name])
        lines.append(
            f"- sb3 / {name}, medians: {shown} (`{key}` in `rlsuite/speed_floors.json`{floor}; "
            f"{name} reached {threshold:g} on {solved}/{len(record['seeds'])} seeds, sb3 on "
            f"{sum(t is not None for t in record['seconds']['sb3'])}/{len(record['seeds'])})"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None, write_report: bool = True) -> None:
    parser = study.parser(__doc__.splitlines()[0], "RESULTS.md from the recorded runs")
    parser.add_argument("--env", choices=sorted(ENVS), default="cartpole")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--algos", nargs="+", default=None, help="ours, sb3, sb3-set, random, const:<action>")
    parser.add_argument("--total-steps", type=int, default=None)
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--ours-config", type=Path, default=None, help="YAML config of our agent")
    parser.add_argument("--ours-set", nargs="*", default=[], help="key=value overrides of our config")
    parser.add_argument(
        "--sb3-set",
        nargs="*",
        default=[],
        help="key=value overrides for the algo 'sb3-set': SB3 at other settings than ours, in the same "
        "run ('sb3' takes the hyper-parameters it shares with ours from our config, --ours-set included)",
    )
    parser.add_argument(
        "--sb3-vecenv",
        choices=["native", "dummy"],
        default="native",
        help="SB3's env on our ids: our native vector env through rlsuite's SB3VecEnv (the same env cost "
        "as ours; the default) or SB3's DummyVecEnv of single envs (the results recorded before it)",
    )
    parser.add_argument("--tag", default="", help="suffix of the run's name (dqn_<env>[-tag])")
    parser.add_argument("--title", default=None, help="what the run measures, for RESULTS.md")
    parser.add_argument(
        "--results-dir", type=Path, default=HERE, help="where data/, plots/ and RESULTS.md go (default: here)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for both agents")
    parser.add_argument("--per-update", action="store_true", help="only time one gradient step of each")
    parser.add_argument(
        "--whole-command",
        action="store_true",
        help="only time `rlsuite train` to a greedy 475 on CartPole: SB3 (RL Zoo), ours, ours at identical settings",
    )
    parser.add_argument("--all", action="store_true", help="rerun every recorded run, then RESULTS.md")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    command = ["experiments/dqn_vs_sb3/run.py", *argv]
    if args.per_update:
        torch.set_num_threads(args.threads)
        print(per_update_timing())
        return
    if args.whole_command:
        record = whole_command(args, argv, command)
        print("\n".join(whole_section(record)))
        if args.results_dir.resolve() != HERE:
            print(f"not published: {args.results_dir} is not the study's directory")
        elif len(args.seeds) < PUBLISH_SEEDS:
            print(f"not published in {FLOORS}: its rows are medians of {PUBLISH_SEEDS} seeds")
        else:
            publish_whole(record)
        if write_report:
            report(args.results_dir, command)
        return
    if args.report_only:
        report(args.results_dir, command)
        return
    if args.all:
        for stem in recorded_runs(args.results_dir):
            meta = json.loads((args.results_dir / "data" / f"{stem}.json").read_text())
            print(f"== {stem}: {shlex.join(meta['argv'])}", flush=True)
            main([*meta["argv"], "--results-dir", str(args.results_dir)], write_report=False)
        whole = args.results_dir / "data" / f"{WHOLE_STEM}.json"
        if whole.is_file():
            argv_whole = json.loads(whole.read_text())["argv"]
            print(f"== {WHOLE_STEM}: {shlex.join(argv_whole)}", flush=True)
            main([*argv_whole, "--results-dir", str(args.results_dir)], write_report=False)
        report(args.results_dir, command)
        return
    bench = ENVS[args.env]
    args.total_steps = args.total_steps or bench.total_steps
    args.eval_every = args.eval_every or bench.eval_every
    args.threshold = bench.threshold if args.threshold is None else args.threshold
    algos = args.algos or ["sb3", "ours", *bench.baselines]
    if args.sb3_set:
        if "sb3-set" not in algos:
            parser.error("--sb3-set configures the algo 'sb3-set': add it to --algos")
        if args.env == "cartpole":
            parser.error(
                "--sb3-set: on CartPole-v1 SB3 runs at RL Zoo's settings (SB3_ZOO); use it on our envs"
            )
        for override in args.sb3_set:
            key = override.split("=", 1)[0]
            section, _, name = key.partition(".")
            if not (section == "env" or (section == "agent" and name in (*SB3_SHARED, "net_arch"))):
                parser.error(
                    f"--sb3-set {override}: SB3 takes only env.* and agent.{{{', '.join(SB3_SHARED)}, net_arch}}"
                )
    torch.set_num_threads(args.threads)

    config_path = args.ours_config or CONFIGS / bench.config
    results: list[Result] = []
    stem = f"dqn_{args.env}" + (f"-{args.tag}" if args.tag else "")
    data = args.results_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    previous = data / f"{stem}.json"
    title = args.title or (json.loads(previous.read_text())["title"] if previous.is_file() else stem)
    notes = args.results_dir / "notes" / f"{stem}.md"
    if notes.is_file():  # they describe the measurement this run replaces
        old = json.loads(previous.read_text())["measured"]["commit"] if previous.is_file() else "earlier"
        notes.rename(notes.with_name(f"{stem}.superseded-{old}.md"))
        print(f"{notes} described the previous measurement: renamed to {stem}.superseded-{old}.md")
    run_argv = [a for a in argv if a not in ("--results-dir", str(args.results_dir))]
    meta = None
    for seed in args.seeds:
        overrides = [
            *args.ours_set,
            f"agent.torch_threads={args.threads}",
            f"train.seed={seed}",
            "train.device=cpu",
        ]
        config = from_dict(apply_overrides(read_yaml(config_path), overrides))
        sb3_config = from_dict(apply_overrides(read_yaml(config_path), [*overrides, *args.sb3_set]))
        if meta is None:
            meta = {
                "title": title,
                "command": shlex.join(["python", *command]),
                "argv": run_argv,
                "env_id": config.env.id,
                "threshold": args.threshold if math.isfinite(args.threshold) else None,
                "total_steps": args.total_steps,
                "eval_every": args.eval_every,
                "eval_episodes": args.eval_episodes,
                "threads": args.threads,
                "sb3_vecenv": args.sb3_vecenv,
                "measured": measured_here(command),
            }
            previous.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
        for algo in algos:
            if algo == "sb3":
                result = run_sb3(config, seed, args, bench)
            elif algo == "sb3-set":
                result = run_sb3(sb3_config, seed, args, bench, name=algo)
            elif algo == "ours":
                result = run_ours(config, seed, args)
            else:
                result = run_baseline(algo, config, seed, args)
            torch.set_num_threads(args.threads)
            results.append(result)
            reached = (
                "—"
                if result.threshold_time is None
                else f"{result.threshold_time:.1f}s @ {result.threshold_step}"
            )
            print(
                f"{algo:8s} seed {seed}: to {args.threshold:g}: {reached}; end eval {result.final_return:.1f} "
                f"(length {result.final_length:.1f}); train {result.train_time:.1f}s",
                flush=True,
            )
            write_csv(data / f"{stem}.csv", results)
    if meta is not None:
        print(summarize(results, meta))
    if write_report:
        report(args.results_dir, command)


if __name__ == "__main__":
    main()
