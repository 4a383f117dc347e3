"""Long-run memory stability: does resident memory stay flat over long DQN runs and long env rollouts?

    python experiments/reliability/memory.py                 # every run (7-13 min on 2 shared cores), then the report
    python experiments/reliability/memory.py --runs dqn_state vec_highway   # some runs (merged into memory.json)
    python experiments/reliability/memory.py --report-only   # RESULTS.md and memory.png from memory.json
    python experiments/reliability/memory.py --quick         # a smoke run of everything (< 1 min), kept apart

Runs (each one a fresh ``python`` subprocess of this script, so every RSS curve starts from a clean
interpreter; RSS is sampled from inside the run, from ``/proc/self/statm``):

* **dqn_state** — 1,000,000 env steps of DQN on Racetrack's 14 state features through the real training
  path, :func:`rlsuite.training.train` (evaluations, ``checkpoints/last`` every 100k steps, TensorBoard
  and CSV logging), with the shipped ``dqn_racetrack_state.yaml`` settings (its 200k replay buffer fills at
  20 % of the run). The sampling is a subclass of :class:`rlsuite.training.Monitor` that ``train`` is
  given in place of the original: every step still goes through ``Monitor.on_step`` unchanged.
* **dqn_pixels** — 200,000 env steps of DQN on Racetrack pixels (48×48 grayscale, 4 stacked, the compact
  CNN), from the shipped ``dqn_racetrack_pixels.yaml`` (prioritised replay, dueling, DrQ shifts) with a
  50k buffer and 32 envs making one batch of 64 per 128 transitions (0.5 samples per transition instead
  of the shipped 16), so that it takes minutes: it measures memory, not learning.
* **vec_racetrack / vec_highway / vec_reacher** — 10,000,000 steps of our native vector envs (1,024
  sub-envs, state observations) under uniformly random actions drawn beforehand (a pool of 256 batches
  used in turn, so the actions allocate nothing during the run).

The claim checked: after the replay buffer has filled (DQN) or after a warm-up of 10 % of the steps
(envs: every sub-env has been through several resets by then), RSS grows by at most 2 % to the end.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rlsuite import study

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RUNS_DIR = REPO / "runs" / "reliability"

TOLERANCE = 0.02  # "flat": RSS at the end at most 2 % above the reference (fill / warm-up)
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20

# name -> what the worker runs; ``quick`` replaces ``steps`` (and shrinks the buffer) under --quick.
RUNS: dict[str, dict[str, Any]] = {
    "dqn_state": {
        "kind": "dqn",
        "label": "DQN, Racetrack state",
        "config": "dqn_racetrack_state.yaml",
        "steps": 1_000_000,
        "sample_every": 5_000,
        "overrides": [
            "train.device=cpu",
            "train.eval_every=50000",
            "train.checkpoint_every=100000",
        ],
        "quick": {
            "steps": 20_000,
            "sample_every": 500,
            "overrides": ["agent.buffer_size=5000", "train.eval_every=0"],
        },
    },
    "dqn_pixels": {
        "kind": "dqn",
        "label": "DQN, Racetrack pixels 48×48×1, 4 stacked",
        "config": "dqn_racetrack_pixels.yaml",
        "steps": 200_000,
        "sample_every": 1_000,
        "overrides": [
            "env.num_envs=32",
            "env.kwargs.pixel_shape=48",
            "encoder.type=compact",
            "encoder.features_dim=64",
            "agent.buffer_size=50000",
            "agent.learning_starts=5000",
            "agent.train_freq=4",
            "agent.gradient_steps=1",
            "agent.batch_size=64",
            "train.device=cpu",
            "train.eval_every=25000",
            "train.eval_episodes=4",
            "train.eval_num_envs=4",
            "train.checkpoint_every=50000",
        ],
        "quick": {
            "steps": 3_200,
            "sample_every": 128,
            "overrides": [
                "agent.buffer_size=1280",
                "agent.learning_starts=640",
                "train.eval_every=0",
                "train.eval_episodes=1",
                "train.eval_num_envs=1",
            ],
        },
    },
    "vec_racetrack": {
        "kind": "vec",
        "label": "Racetrack state",
        "env": "rlsuite/Racetrack-v0",
        "kwargs": {"obs_type": "state"},
        "num_envs": 1024,
        "steps": 10_000_000,
        "sample_every": 51_200,  # 50 vector steps
        "quick": {"steps": 200_000, "sample_every": 10_240},
    },
    "vec_highway": {
        "kind": "vec",
        "label": "Highway state",
        "env": "rlsuite/Highway-v0",
        "kwargs": {"obs_type": "state"},
        "num_envs": 1024,
        "steps": 10_000_000,
        "sample_every": 51_200,
        "quick": {"steps": 200_000, "sample_every": 10_240},
    },
    "vec_reacher": {
        "kind": "vec",
        "label": "Reacher state",
        "env": "rlsuite/Reacher-v0",
        "kwargs": {"obs_type": "state"},
        "num_envs": 1024,
        "steps": 10_000_000,
        "sample_every": 51_200,
        "quick": {"steps": 200_000, "sample_every": 10_240},
    },
}


def spec(name: str, quick: bool) -> dict[str, Any]:
    """The run's settings, with its ``quick`` ones applied under --quick."""
    run = {k: v for k, v in RUNS[name].items() if k != "quick"}
    if quick:
        small = RUNS[name]["quick"]
        run.update({k: v for k, v in small.items() if k != "overrides"})
        run["overrides"] = [*run.get("overrides", []), *small.get("overrides", [])]
    return run


# --------------------------------------------------------------------------------------------
# Measuring (inside the worker)
# --------------------------------------------------------------------------------------------
def rss_mb() -> float:
    """Resident set size of this process in MiB (``/proc/self/statm``: cheap enough for every sample)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_MB


def peak_rss_mb() -> float:
    """The process's high-water mark of RSS (``VmHWM``), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Recorder:
    """The samples of one run: ``[env steps, seconds since start, RSS MiB, Python objects]``."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.samples: list[list[float]] = []
        self.events: dict[str, int] = {}

    def sample(self, step: int) -> None:
        objects = len(gc.get_objects())  # Python-level growth would show here as well as in RSS
        self.samples.append(
            [int(step), round(time.perf_counter() - self.start, 3), round(rss_mb(), 2), objects]
        )


def find_config(name: str) -> Path:
    """A shipped config by file name, wherever under experiments/ it lives (configs move into studies)."""
    found = sorted((REPO / "experiments").glob(f"**/{name}"))
    if not found:
        raise SystemExit(f"{name} not found under experiments/: the DQN runs start from the shipped config")
    return found[0]


def worker_dqn(run: dict[str, Any], quick: bool, out: dict[str, Any]) -> None:
    """DQN through :func:`rlsuite.training.train`, with a Monitor subclass that samples RSS."""
    from rlsuite import training
    from rlsuite.config import load_config, to_dict

    path = find_config(run["config"])
    run_dir = RUNS_DIR / ("quick" if quick else "runs")
    overrides = [
        *run["overrides"],
        f"train.total_steps={run['steps']}",
        f"log.run_dir={run_dir}",
        f"log.name={run['name']}",
        "log.progress=lines",
        "log.log_every_s=30",
    ]
    config = load_config(path, overrides)
    recorder = Recorder()
    every = run["sample_every"]
    state: dict[str, Any] = {"next": 0, "agent": None}

    class RSSMonitor(training.Monitor):
        """The training Monitor, unchanged, plus an RSS sample every ``sample_every`` env steps and one
        at the step the replay buffer is first full."""

        def __init__(self, run_: Any, agent: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(run_, agent, *args, **kwargs)
            state["agent"] = agent
            out["replay_capacity"] = agent.replay.capacity
            out["replay_mb"] = round(agent.replay.nbytes / 2**20, 1)
            recorder.sample(0)

        def on_step(self, global_step: int, *args: Any, **kwargs: Any) -> bool:
            keep_going = super().on_step(global_step, *args, **kwargs)
            if "fill" not in recorder.events and len(self.agent.replay) >= self.agent.replay.capacity:
                recorder.events["fill"] = global_step
                recorder.sample(global_step)
                state["next"] = (global_step // every + 1) * every
            elif global_step >= state["next"]:
                recorder.sample(global_step)
                state["next"] = (global_step // every + 1) * every
            return keep_going

    training.Monitor = RSSMonitor  # train() builds its monitor by this module-level name
    out["config_file"] = str(path.relative_to(REPO))
    out["overrides"] = overrides
    out["config"] = to_dict(config)
    out["shipped"] = to_dict(load_config(path))  # the shipped settings, before the overrides
    run_path = training.train(config)
    agent = state["agent"]
    out["end_step"] = agent.global_step
    recorder.sample(agent.global_step)  # after the final evaluation, the last checkpoint and envs.close()
    out["after_train_returned"] = True
    out["num_updates"] = agent.num_updates
    out["run_dir"] = str(Path(run_path).relative_to(REPO))
    last_eval = json.loads((Path(run_path) / "checkpoints" / "last" / "monitor.json").read_text())
    out["best_eval"] = last_eval.get("best_eval")
    out["samples"] = recorder.samples
    out["events"] = recorder.events


def worker_vec(run: dict[str, Any], quick: bool, out: dict[str, Any]) -> None:
    """``steps`` env steps of a native vector env under pre-drawn random actions."""
    import gymnasium as gym
    import numpy as np

    import rlsuite  # noqa: F401  (registers the envs)

    n = run["num_envs"]
    envs = gym.make_vec(run["env"], num_envs=n, **run["kwargs"])
    envs.action_space.seed(0)
    pool = [envs.action_space.sample() for _ in range(256)]
    envs.reset(seed=0)
    recorder = Recorder()
    recorder.sample(0)
    vector_steps = -(-run["steps"] // n)
    every = max(1, run["sample_every"] // n)
    episodes = 0
    for k in range(1, vector_steps + 1):
        _, _, terminated, truncated, _ = envs.step(pool[k % len(pool)])
        episodes += int(np.count_nonzero(terminated | truncated))
        if k % every == 0 or k == vector_steps:
            recorder.sample(k * n)
    recorder.events["warmup"] = int(0.1 * vector_steps) * n
    envs.close()
    out["end_step"] = vector_steps * n
    out["episodes"] = episodes
    out["samples"] = recorder.samples
    out["events"] = recorder.events
    out["observation_shape"] = list(envs.single_observation_space.shape)


def worker(name: str, quick: bool, path: Path) -> None:
    run = {**spec(name, quick), "name": name}
    out: dict[str, Any] = {"name": name, "label": run["label"], "kind": run["kind"], "steps": run["steps"]}
    if run["kind"] == "vec":
        out.update({k: run[k] for k in ("env", "kwargs", "num_envs")})
    start = time.perf_counter()
    (worker_dqn if run["kind"] == "dqn" else worker_vec)(run, quick, out)
    out["wall_s"] = round(time.perf_counter() - start, 1)
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    path.write_text(json.dumps(out))


# --------------------------------------------------------------------------------------------
# Driving the runs
# --------------------------------------------------------------------------------------------
def data_path(quick: bool) -> Path:
    return RUNS_DIR / "quick" / "memory.json" if quick else HERE / "memory.json"


def run_one(name: str, quick: bool, invocation: str) -> dict[str, Any]:
    out = RUNS_DIR / ("quick" if quick else "runs") / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    log = out.with_suffix(".log")
    env = study.one_thread_env()  # torch, BLAS and numba on one thread
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--out", str(out)]
    if quick:
        command.append("--quick")
    print(f"{name}: running ({spec(name, quick)['steps']:,} steps; log {log.relative_to(REPO)})", flush=True)
    start = time.perf_counter()
    with open(log, "w") as f:
        code = subprocess.run(command, stdout=f, stderr=subprocess.STDOUT, cwd=REPO, env=env).returncode
    if code != 0:
        raise SystemExit(f"{name}: failed (rc {code}); see {log}:\n{log.read_text()[-3000:]}")
    record = json.loads(out.read_text())
    record["process_wall_s"] = round(time.perf_counter() - start, 1)
    record["measured"] = f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python {invocation}`"
    record["commit"] = study.commit()
    summary = summarise(record)
    print(
        f"{name}: {summary['growth_mb']:+.1f} MiB ({summary['growth_pct']:+.2f} %) after the reference, "
        f"{record['process_wall_s']:.0f} s",
        flush=True,
    )
    return record


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def summarise(record: dict[str, Any]) -> dict[str, Any]:
    """Reference (fill / warm-up), end, growth, slope and verdict of one run's samples."""
    samples = record["samples"]
    returned = None
    if record.get("after_train_returned"):
        samples, returned = samples[:-1], samples[-1]  # the last sample follows train()'s cleanup
    key = "fill" if record["kind"] == "dqn" else "warmup"
    ref_step = record["events"].get(key)
    i_ref = 0 if ref_step is None else next(i for i, s in enumerate(samples) if s[0] >= ref_step)
    ref, end = samples[i_ref], samples[-1]
    after = samples[i_ref:]
    halfway = [s for s in samples if s[0] <= ref[0] // 2]
    middle = next(s for s in after if s[0] >= (ref[0] + end[0]) / 2)  # the last half of the window
    growth = end[2] - ref[2]
    span = max(end[0] - ref[0], 1)
    # The Recorder itself adds one tracked list per sample: taken out of the object count.
    objects = (end[3] - ref[3]) - (len(samples) - 1 - i_ref)
    return {
        "reference": key,
        "ref_step": ref[0],
        "start_mb": samples[0][2],
        "halfway_mb": halfway[-1][2] if halfway else None,
        "halfway_step": halfway[-1][0] if halfway else None,
        "ref_mb": ref[2],
        "end_mb": end[2],
        "end_step": end[0],
        "max_after_mb": max(s[2] for s in after),
        "returned_mb": returned[2] if returned else None,
        "growth_mb": growth,
        "growth_pct": 100 * growth / ref[2],
        "last_half_mb": end[2] - middle[2],
        "slope_bytes": _slope([s[0] for s in after], [s[2] for s in after]) * 2**20,  # bytes per env step
        "caught_bytes": TOLERANCE * ref[2] * 2**20 / span,  # the smallest steady leak the verdict fails
        "objects_growth": objects,
        "flat": ref_step is not None and growth <= TOLERANCE * ref[2],
    }


def title(name: str, record: dict[str, Any]) -> str:
    """The run's label with its sizes (those of the recorded run: --quick shrinks the buffers)."""
    if record["kind"] == "dqn":
        envs = record["config"]["env"]["num_envs"]
        return f"{RUNS[name]['label']} ({envs} envs, {record['replay_capacity']:,}-transition buffer)"
    return f"{RUNS[name]['label']} ({record['num_envs']:,} envs, random actions)"


def _slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y on x (0 for fewer than two points)."""
    if len(x) < 2:
        return 0.0
    mx, my = sum(x) / len(x), sum(y) / len(y)
    var = sum((a - mx) ** 2 for a in x)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / var if var else 0.0


def _samples_per_transition(config: dict[str, Any]) -> float:
    """Replay samples drawn per transition collected (the replay ratio) of a DQN config as a dict."""
    agent, n = config["agent"], config["env"]["num_envs"]
    gradient_steps = agent["gradient_steps"] if agent["gradient_steps"] > 0 else agent["train_freq"] * n
    return gradient_steps * agent["batch_size"] / (agent["train_freq"] * n)


def plot(records: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in RUNS if n in records]
    cols = 2 if len(names) > 1 else 1
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(6.2 * cols, 3.6 * rows), dpi=110, squeeze=False)
    for ax, name in zip(axes.flat, names):
        record = records[name]
        summary = summarise(record)
        samples = record["samples"][:-1] if record.get("after_train_returned") else record["samples"]
        steps = [s[0] / 1e6 for s in samples]
        ax.plot(steps, [s[2] for s in samples], lw=1.4, color="C0", label="RSS")
        ref_label = "buffer full" if summary["reference"] == "fill" else "end of warm-up (10 %)"
        ax.axvline(summary["ref_step"] / 1e6, color="C1", ls="--", lw=1, label=ref_label)
        ax.axhline(summary["ref_mb"], color="C1", ls=":", lw=1)
        ax.axhline(summary["ref_mb"] * (1 + TOLERANCE), color="C3", ls=":", lw=1, label="+2 % tolerance")
        ax.set_title(
            f"{title(name, record)}\n{summary['growth_mb']:+.1f} MiB ({summary['growth_pct']:+.2f} %) "
            "from the dashed line to the end",
            fontsize=9,
        )
        ax.set_xlabel("env steps (millions)")
        ax.set_ylabel("RSS (MiB)")
        values = [s[2] for s in samples]
        pad = 0.03 * summary["ref_mb"]  # zoomed: a 2 % rise is visible; the axis does not start at 0
        ax.set_ylim(min(values) - pad, max(max(values), summary["ref_mb"] * (1 + TOLERANCE)) + pad)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(records: dict[str, dict[str, Any]], folder: Path, command: list[str]) -> None:
    out = ["# Long-run memory stability: DQN and vector envs\n\n", study.stamp(command)]
    batches: dict[tuple[str, str], list[str]] = {}  # (command, commit) -> when its runs were measured
    for r in records.values():
        if "measured" in r:
            when, _, how = r["measured"].partition(" by ")
            batches.setdefault((how, r["commit"]), []).append(when)
    for (how, at), times in sorted(batches.items(), key=lambda item: min(item[1])):
        span = min(times) if min(times) == max(times) else f"{min(times)} – {max(times)}"
        out.append(f"- Measured: {len(times)} run(s) finished {span}, by {how} at commit `{at}`\n")
    out.append(
        "\nEverything below is regenerated by `python experiments/reliability/memory.py --report-only` from the "
        "samples recorded in `experiments/reliability/memory.json`; `python experiments/reliability/memory.py` "
        "reruns every measurement from nothing (each run in a fresh interpreter, one after the other, one torch "
        "thread). RSS is the process's resident set (`/proc/self/statm`), sampled from inside the run; 1 MiB = "
        "2^20 bytes.\n"
        "\n**The claim.** After the replay buffer has filled (DQN), or after the first 10 % of the steps (envs, "
        "whose every sub-env has reset many times by then), resident memory stays flat: the verdict is *flat* "
        f"when RSS at the end is at most {TOLERANCE:.0%} above RSS at that reference point.\n"
    )
    out.append(
        "\n| run | env steps | RSS at step 0 | RSS half-way to the reference | RSS at the reference "
        "| max after it | RSS at the end | growth after the reference | growth over its last half "
        "| slope after it | smallest steady leak the verdict catches | Python objects after it | wall | verdict |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
    )
    for name in RUNS:
        if name not in records:
            continue
        r, s = records[name], summarise(records[name])
        where = "full" if s["reference"] == "fill" else "warm"
        halfway = (
            f"{s['halfway_mb']:.1f} MiB (at {s['halfway_step']:,})" if s["halfway_mb"] is not None else "—"
        )
        verdict = "**flat**" if s["flat"] else ("**grows**" if s["ref_step"] else "buffer never filled")
        out.append(
            f"| {title(name, r)} | {s['end_step']:,} | {s['start_mb']:.1f} MiB | {halfway} "
            f"| {s['ref_mb']:.1f} MiB ({where} at {s['ref_step']:,}) | {s['max_after_mb']:.1f} MiB "
            f"| {s['end_mb']:.1f} MiB | **{s['growth_mb']:+.1f} MiB ({s['growth_pct']:+.2f} %)** "
            f"| {s['last_half_mb']:+.2f} MiB | {s['slope_bytes']:+.2f} B / step | {s['caught_bytes']:.1f} B / step "
            f"| {s['objects_growth']:+,} | {r['process_wall_s']:.0f} s | {verdict} |\n"
        )
    out.append(
        "\n*Reference*: the step the replay buffer was first full (DQN) or the end of the 10 % warm-up (envs). "
        "*Slope*: least-squares fit of RSS against env steps over the samples from the reference on, in bytes "
        "per env step. *Smallest steady leak the verdict catches*: the per-step leak that would put RSS at the "
        f"end {TOLERANCE:.0%} above the reference (the resolution of this benchmark). *Python objects*: the "
        "change of `len(gc.get_objects())` (the objects the garbage collector tracks; a leak of Python objects "
        "shows there), net of the sample list the measurement itself keeps. *Wall*: the whole subprocess, "
        "interpreter start-up included, on a 2-core machine shared with other jobs.\n"
    )
    flat = [n for n in RUNS if n in records and summarise(records[n])["flat"]]
    grows = [title(n, records[n]) for n in RUNS if n in records and n not in flat]
    if not grows:
        summaries = [summarise(records[n]) for n in flat]
        objects = [s["objects_growth"] for s in summaries]
        dqn = [n for n in flat if records[n]["kind"] == "dqn"]
        buffers = ", ".join(
            f"+{summarise(records[n])['ref_mb'] - summarise(records[n])['start_mb']:.0f} MiB with a "
            f"{records[n]['replay_mb']:.0f} MiB buffer in the {RUNS[n]['label'].removeprefix('DQN, ')} run"
            for n in dqn
        )
        out.append(
            f"\n**Result: all {len(flat)} runs are flat; no leak was found.** RSS ends within "
            f"{max(abs(s['growth_mb']) for s in summaries):.1f} MiB of its value at the reference point in every "
            f"run, the change over the last half of each run is at most "
            f"{max(abs(s['last_half_mb']) for s in summaries):.2f} MiB, and the Python object count moves by "
            f"{min(objects):+,} to {max(objects):+,} after the reference (of some 115k objects in the env runs "
            "and 380k with torch loaded; it rises and falls with the collector's cycles rather than trending). "
            + (
                f"What RSS gains before the reference ({buffers}) is mostly the replay buffer: it is "
                "preallocated with `torch.empty`, whose pages are committed when they are first written; the "
                "rest is the evaluation envs, the first checkpoint and the allocator's caches.\n"
                if dqn
                else "\n"
            )
        )
    else:
        out.append(
            f"\n**Result: RSS grows in {', '.join(grows)}** (see the plot and the Python object counts).\n"
        )
    out.append("\n![RSS against env steps](memory.png)\n")
    out.append("\n## The runs\n")
    for name in RUNS:
        if name not in records:
            continue
        r, s = records[name], summarise(records[name])
        if r["kind"] == "dqn":
            agent = r["config"]["agent"]
            env = r["config"]["env"]
            train = r["config"]["train"]
            transitions = env["num_envs"] * agent["train_freq"]
            out.append(
                f"\n**{title(name, r)}** — `rlsuite.training.train` on `{r['config_file']}` with "
                f"`{' '.join(o for o in r['overrides'] if not o.startswith('log.'))}`: "
                f"{env['num_envs']} envs `{env['kwargs']}`, replay {r['replay_capacity']:,} transitions "
                f"({r['replay_mb']:.0f} MiB preallocated, pages committed as they are first written), "
                f"{agent['gradient_steps']} update(s) of batch {agent['batch_size']} per {transitions} transitions "
                f"({r['num_updates']:,} updates), evaluation every {train['eval_every']:,} steps "
                f"({train['eval_episodes']} episodes), `checkpoints/last` every {train['checkpoint_every']:,}. "
                f"The buffer was full at step {r['events'].get('fill', 0):,}; peak RSS {r['peak_rss_mb']:.0f} "
                f"MiB; {s['returned_mb']:.0f} MiB after `train` returned (final evaluation, checkpoint, envs "
                f"closed). Best greedy evaluation {r['best_eval']:.1f}.\n"
            )
        else:
            out.append(
                f"\n**{title(name, r)}** — `gymnasium.make_vec({r['env']!r}, num_envs={r['num_envs']}, "
                f"**{r['kwargs']})`, observation shape {tuple(r['observation_shape'])}, {r['end_step']:,} env "
                f"steps, {r['episodes']:,} episodes ended (and auto-reset) on the way; peak RSS "
                f"{r['peak_rss_mb']:.0f} MiB.\n"
            )
    if "dqn_pixels" in records:
        r = records["dqn_pixels"]
        ours, shipped = _samples_per_transition(r["config"]), _samples_per_transition(r["shipped"])
        out.append(
            f"\nThe pixel run measures memory, not learning: it draws {ours:g} replay samples per transition "
            f"collected where the shipped pixel config draws {shipped:g} ({shipped / ours:g}× fewer updates), on "
            "48×48 frames and the compact CNN, so that 200k steps take minutes on a CPU; its return is not a "
            "result.\n"
        )
    (folder / "RESULTS.md").write_text("".join(out))
    plot(records, folder / "memory.png")
    print(f"written: {folder / 'RESULTS.md'} and {folder / 'memory.png'}")


# --------------------------------------------------------------------------------------------
def main() -> None:
    parser = study.parser(
        __doc__,
        "RESULTS.md and memory.png from memory.json",
        quick="small step counts (< 1 min); kept in runs/",
    )
    parser.add_argument("--runs", nargs="+", choices=list(RUNS), default=list(RUNS))
    parser.add_argument("--worker", choices=list(RUNS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.quick, args.out)
        return
    path = data_path(args.quick)
    command = study.command_of(__file__)
    records = json.loads(path.read_text()) if path.is_file() and not args.quick else {}
    if not args.report_only:
        for name in args.runs:
            records[name] = run_one(name, args.quick, shlex.join(command))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(records, indent=0))
    if not records:
        raise SystemExit(f"{path} has no recorded runs: run the benchmark first")
    report(records, path.parent, command)


if __name__ == "__main__":
    main()
