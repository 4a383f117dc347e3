"""Seeds in parallel (issue 31): one `rlsuite train … train.num_seeds=16` command against the 16
single runs it replaces (`train.seed=0` … `15`, one after another), on PQN's shipped CartPole and
Racetrack state configs with the same per-seed budget — the whole command's wall time, env steps/s
summed over the seeds, and where the K-seed run's time goes (a profile of one K-seed run).

    python experiments/parallel_seeds/run.py                 # 3 repetitions (~15 min on 2 cores)
    python experiments/parallel_seeds/run.py --quick         # a smoke run: 4 seeds, 4,096 steps, 1 repetition
    python experiments/parallel_seeds/run.py --report-only   # RESULTS.md from trials.jsonl

Every trial is one subprocess on one thread (torch, BLAS and numba: `rlsuite.study.ONE_THREAD`), one at
a time, interleaved: each repetition runs, per config, the K-seed command and the 16 single commands
(in alternating order from one repetition to the next), so both see the same load. A K-seed run gives
each seed exactly its single run (`tests/test_parallel_seeds.py`); the report checks it again on the
final greedy returns of every measured pair. Resumable: a rerun runs only the trials `trials.jsonl`
lacks (delete it to measure again from nothing).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rlsuite import study

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RUNS = REPO / "runs" / "parallel_seeds"
TRIALS = HERE / "trials.jsonl"

#: config name -> (shipped config, None: the embedded default; per-seed total_steps): PQN's at half
#: their shipped 100k steps, so that a repetition of both (2 x 17 commands) takes ~5 minutes on 2
#: cores; DQN's the README's default job as it is (30k steps over 32 cars).
CONFIGS: dict[str, tuple[str | None, int]] = {
    "cartpole": ("experiments/configs/pqn_cartpole.yaml", 50_000),
    "racetrack": ("experiments/configs/pqn_racetrack_state.yaml", 50_000),
    "dqn_default": (None, 30_000),
}
DESCRIPTIONS = {
    "cartpole": "PQN, `experiments/configs/pqn_cartpole.yaml`",
    "racetrack": "PQN, `experiments/configs/pqn_racetrack_state.yaml`",
    "dqn_default": "DQN, the embedded default config (`rlsuite train` alone: Racetrack state, 32 cars)",
}
NUM_SEEDS = 16
REPETITIONS = 3
QUICK = {"num_seeds": 4, "total_steps": 4_096, "repetitions": 1}

#: The profile's parts: a label and the qualified names of the functions (``module:Class.function``)
#: whose cumulative time (cProfile) it is; the first one found in the profile counts.
PARTS: list[tuple[str, list[str]]] = [
    ("env step (all seeds' rows)", ["rlsuite.training:SeedEnvs.step"]),
    ("acting: greedy forward pass", ["rlsuite.agents.pqn:PQNSeedBatch._greedy"]),
    ("update: Q(lambda) targets (forward pass)", ["rlsuite.agents.pqn:PQNSeedBatch._targets"]),
    ("update: backward pass", ["torch._tensor:Tensor.backward"]),
    (
        "update: every seed's optimiser step (one fused call)",
        ["rlsuite.agents.networks:SeedAdam.step", "rlsuite.agents.networks:Adam.step_together"],
    ),
    (
        "LayerNorm, forward, all seeds batched (inside the forward passes)",
        ["rlsuite.agents.pqn:_SeedLayerNorm.forward"],
    ),
    (
        "LayerNorm, backward, seed by seed (inside the backward pass)",
        ["rlsuite.agents.pqn:_SeedLayerNorm.backward"],
    ),
    ("linear layers, forward (inside the forward passes)", ["rlsuite.agents.pqn:_SeedLinear.forward"]),
    ("linear layers, backward (inside the backward pass)", ["rlsuite.agents.pqn:_SeedLinear.backward"]),
    (
        "monitors: episode bookkeeping, and the evaluations and checkpoints falling due in training",
        ["rlsuite.training:Monitor.on_step"],
    ),
    (
        "evaluations (10 greedy episodes per seed, all seeds side by side)",
        ["rlsuite.training:_SeedsEvaluation._evaluate_all", "rlsuite.training:Monitor.evaluate"],
    ),
    ("update, in all", ["rlsuite.agents.pqn:PQNSeedBatch.update"]),
    ("training loop, in all (PQNSeedBatch.learn)", ["rlsuite.agents.pqn:PQNSeedBatch.learn"]),
    (
        "train_seeds, in all (building agents and envs, the loop, the summary)",
        ["rlsuite.training:train_seeds"],
    ),
]


# --------------------------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------------------------
def plan(num_seeds: int, total_steps: int | None, repetitions: int) -> list[dict[str, Any]]:
    """Every trial in the order they run: per repetition and config, the K-seed command and the
    single commands, the K-seed one first in even repetitions and last in odd ones."""
    trials = []
    for rep in range(repetitions):
        for name, (_, steps) in CONFIGS.items():
            steps = total_steps or steps
            together = [{"config": name, "rep": rep, "mode": "together", "seed": 0, "steps": steps}]
            alone = [
                {"config": name, "rep": rep, "mode": "single", "seed": s, "steps": steps}
                for s in range(num_seeds)
            ]
            trials += together + alone if rep % 2 == 0 else alone + together
    return trials


def trial_key(entry: dict[str, Any]) -> str:
    key = f"{entry['config']}/rep{entry['rep']}/{entry['mode']}"
    return key + (f"/seed{entry['seed']}" if entry["mode"] == "single" else "")


def command_of(spec: dict[str, Any], num_seeds: int, runs: Path) -> list[str]:
    path, _ = CONFIGS[spec["config"]]
    overrides = [
        f"train.total_steps={spec['steps']}",
        f"train.seed={spec['seed']}",
        f"log.run_dir={runs / spec['config']}",
        "log.progress=none",
    ]
    if spec["mode"] == "together":
        overrides.append(f"train.num_seeds={num_seeds}")
    return [sys.executable, "-m", "rlsuite.cli", "train", *([path] if path else []), *overrides]


def final_return(run_dir: Path) -> float:
    """The last ``eval/return_mean`` of a run's ``metrics.csv``."""
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["tag"] == "eval/return_mean"]
    return float(max(rows, key=lambda r: int(r["step"]))["value"])


def trial_entry(spec: dict[str, Any], finished: study.Finished, num_seeds: int) -> dict[str, Any]:
    """The line of ``trials.jsonl``: the spec, the whole command's wall time, the machine's load and
    each seed's final greedy return."""
    text = finished.log_text
    if spec["mode"] == "single":
        run_dir = Path(study.run_dir_of(text) or "")
        returns = [final_return(run_dir)]
    else:
        line = next(x for x in text.splitlines() if x.startswith("run directories:"))
        run_dir = Path(line.split(":", 1)[1].split(" (", 1)[0].strip().rstrip("/"))
        summary = json.loads((run_dir / "summary.json").read_text())
        returns = [f["eval/return_mean"] for f in summary["final_eval"]]
    seeds = num_seeds if spec["mode"] == "together" else 1
    return {
        **spec,
        "key": trial_key(spec),
        "num_seeds": seeds,
        "wall_s": round(finished.wall_s, 3),
        "env_steps_per_s": round(seeds * spec["steps"] / finished.wall_s, 1),
        "final_returns": returns,
        "load_1min": round(os.getloadavg()[0], 2),
        "run_dir": os.path.relpath(run_dir, REPO),
        "commit": study.commit(),
        "date": study.utc_now(),
        "threads": study.ONE_THREAD,
    }


# --------------------------------------------------------------------------------------------
# The profile of one K-seed run (in a trial subprocess: python run.py --profile-trial …)
# --------------------------------------------------------------------------------------------
def _code_keys() -> dict[tuple[str, int, str], str]:
    """cProfile's key (file, first line, name) of every function :data:`PARTS` names."""
    import importlib
    import inspect

    keys = {}
    for _, names in PARTS:
        for name in names:
            module_name, _, attr = name.partition(":")
            target: Any = importlib.import_module(module_name)
            try:
                for part in attr.split("."):
                    target = getattr(target, part)
            except AttributeError:
                continue
            code = inspect.unwrap(getattr(target, "__func__", target)).__code__  # under torch.no_grad too
            keys[(code.co_filename, code.co_firstlineno, code.co_name)] = name
    return keys


def profile_trial(config_name: str, num_seeds: int, steps: int, runs: Path, out: Path) -> None:
    """Train one K-seed run of ``config_name`` under cProfile and write each part's time to ``out``."""
    from rlsuite.config import apply_overrides, default_config_data, from_dict, read_yaml
    from rlsuite.training import train

    path, _ = CONFIGS[config_name]
    overrides = [
        f"train.total_steps={steps}",
        f"train.num_seeds={num_seeds}",
        f"log.run_dir={runs / 'profile'}",
        "log.progress=none",
    ]
    config = from_dict(apply_overrides(read_yaml(REPO / path) if path else default_config_data(), overrides))
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    train(config)
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    keys = _code_keys()
    cumulative = {keys[k]: v[3] for k, v in stats.items() if k in keys}
    calls = {keys[k]: v[1] for k, v in stats.items() if k in keys}
    parts = []
    for label, names in PARTS:
        name = next((n for n in names if n in cumulative), None)
        if name is not None:
            parts.append(
                {"part": label, "function": name, "seconds": round(cumulative[name], 3), "calls": calls[name]}
            )
    out.write_text(json.dumps({"train_s": round(wall, 3), "parts": parts}, indent=1))


def profile_entry(spec: dict[str, Any], finished: study.Finished) -> dict[str, Any]:
    result = json.loads(Path(spec["out"]).read_text())
    return {
        **{k: v for k, v in spec.items() if k != "out"},
        "key": trial_key(spec),
        "wall_s": round(finished.wall_s, 3),
        **result,
        "load_1min": round(os.getloadavg()[0], 2),
        "commit": study.commit(),
        "date": study.utc_now(),
        "threads": study.ONE_THREAD,
    }


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------
def measure(args: argparse.Namespace, record: study.TrialRecord, runs: Path) -> None:
    num_seeds = args.num_seeds
    specs = plan(num_seeds, args.total_steps, args.repetitions)
    profile = {
        "config": "cartpole",
        "rep": 0,
        "mode": "profile",
        "seed": 0,
        "steps": args.total_steps or CONFIGS["cartpole"][1],
        "out": str(runs / "profile.json"),
    }
    by_key = {trial_key(s): s for s in [*specs, profile]}
    trials = [
        study.Trial(
            trial_key(s),
            command_of(s, num_seeds, runs),
            runs / "logs" / f"{trial_key(s).replace('/', '-')}.log",
            cwd=REPO,
        )
        for s in specs
    ]
    trials.append(
        study.Trial(
            trial_key(profile),
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--profile-trial",
                profile["config"],
                str(num_seeds),
                str(profile["steps"]),
                str(runs),
                profile["out"],
            ],
            runs / "logs" / "profile.log",
            cwd=REPO,
        )
    )

    def entry(finished: study.Finished) -> dict[str, Any] | None:
        if finished.returncode != 0:
            return None
        spec = by_key[finished.trial.key]
        if spec["mode"] == "profile":
            return profile_entry(spec, finished)
        return trial_entry(spec, finished, num_seeds)

    failures = study.run_trials(trials, record, entry, parallel=1)
    if failures:
        raise SystemExit(f"{failures} trial(s) failed; see the logs named above")


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
def summarise(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per config: per repetition, the 16 single runs' summed wall time and the K-seed run's, their
    ratio; the ratio's mean ± std over repetitions and its bootstrap interval; whether every seed's
    final return is its single run's."""
    out: dict[str, Any] = {}
    for name in CONFIGS:
        reps: dict[int, dict[str, Any]] = {}
        for e in entries:
            if e["config"] != name or e["mode"] not in ("single", "together"):
                continue
            rep = reps.setdefault(e["rep"], {"single": {}, "together": None})
            if e["mode"] == "single":
                rep["single"][e["seed"]] = e
            else:
                rep["together"] = e
        rows = []
        for rep_index, rep in sorted(reps.items()):
            together = rep["together"]
            if together is None or len(rep["single"]) != together["num_seeds"]:
                continue
            singles = [rep["single"][s] for s in sorted(rep["single"])]
            sequential = sum(s["wall_s"] for s in singles)
            same = [s["final_returns"][0] for s in singles] == together["final_returns"]
            rows.append(
                {
                    "rep": rep_index,
                    "steps": together["steps"],
                    "num_seeds": together["num_seeds"],
                    "sequential_s": sequential,
                    "single_median_s": statistics.median(s["wall_s"] for s in singles),
                    "together_s": together["wall_s"],
                    "sequential_sps": together["num_seeds"] * together["steps"] / sequential,
                    "together_sps": together["env_steps_per_s"],
                    "ratio": sequential / together["wall_s"],
                    "same_returns": same,
                    "loads": [s["load_1min"] for s in [*singles, together]],
                }
            )
        if not rows:
            continue
        ratios = [r["ratio"] for r in rows]
        out[name] = {
            "rows": rows,
            "ratios": ratios,
            "interval": study.bootstrap_interval(ratios) if len(ratios) > 1 else None,
        }
    return out


def report(entries: list[dict[str, Any]], command: list[str], results: Path) -> None:
    if not entries:
        raise SystemExit(f"no finished trials in {TRIALS}; run the study without --report-only first")
    summary = summarise(entries)
    dated = sorted(e["date"] for e in entries)
    commits = list(dict.fromkeys(e["commit"] for e in entries))
    measured = {
        "label": f"{len(entries)} trials",
        "commit": commits[0] if len(commits) == 1 else f"{commits[0]}` … `{commits[-1]}",
        "date": dated[0] if dated[0] == dated[-1] else f"{dated[0]} to {dated[-1]}",
        "machine": study.machine(),
    }
    loads = [e["load_1min"] for e in entries]
    k = next((r["num_seeds"] for s in summary.values() for r in s["rows"]), NUM_SEEDS)
    lines = [
        "# Seeds in parallel: one K-seed command against K single runs\n\n",
        study.stamp(command, measured),
        "\n`rlsuite train CONFIG train.num_seeds=K` trains K seeds (`train.seed` … `train.seed + K - 1`) "
        "as one batched computation in one process, each seed's run directory exactly its single run's "
        "(`tests/test_parallel_seeds.py`). Here K = "
        f"{k}, against the {k} single commands `rlsuite train CONFIG train.seed=S` run one after another "
        "(what a loop over seeds, or a sweep on one core, does), with the same per-seed budget: "
        + "; ".join(
            f"**{n}**: {DESCRIPTIONS[n]}, {s['rows'][0]['steps']:,} steps" for n, s in summary.items()
        )
        + " (PQN's at half their shipped 100k steps), everything else as shipped (the final greedy "
        "evaluation of 10 episodes included). Each "
        "command is a subprocess on one thread (torch, BLAS, numba), timed whole (start-up, training, "
        "evaluation, checkpoints); one trial at a time, the K-seed command and the single ones "
        "interleaved repetition by repetition. **env steps/s** is summed over the seeds: "
        "K × total_steps over the wall time (the single runs' summed). "
        f"The machine was shared with another helper's training trials: the 1-minute load average at the "
        f"end of the trials ranged {min(loads):.1f}–{max(loads):.1f} (2 cores), so absolute times move; "
        "the ratio is measured side by side, but a K-seed command and its 16 single runs take "
        "2–4 minutes together, and the load moved within that time: it is most of the spread between "
        "repetitions.\n\n",
        "| config | repetition | K single runs, summed [s] | single run, median [s] | K-seed run [s] "
        "| env steps/s, sequential | env steps/s, K-seed | speed-up | every seed's final return = its single run's |\n",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    ]
    for name, s in summary.items():
        for r in s["rows"]:
            lines.append(
                f"| {name} | {r['rep']} | {r['sequential_s']:.1f} | {r['single_median_s']:.2f} | "
                f"{r['together_s']:.1f} | {study.thousands(r['sequential_sps'])} | "
                f"{study.thousands(r['together_sps'])} | {r['ratio']:.2f}× | {'yes' if r['same_returns'] else 'NO'} |\n"
            )
    lines.append(
        "\n**Speed-up of one K-seed command over K sequential single commands** (whole command):\n\n"
    )
    for name, s in summary.items():
        ratios = s["ratios"]
        interval = (
            f", 95 % bootstrap interval of the mean {s['interval'][0]:.2f}–{s['interval'][1]:.2f}×"
            if s["interval"]
            else ""
        )
        lines.append(
            f"- {name}: {study.mean_std(ratios, 2)}× over {len(ratios)} repetition"
            f"{'' if len(ratios) == 1 else 's'} (range {min(ratios):.2f}–{max(ratios):.2f}×{interval})\n"
        )
    profiles = [e for e in entries if e["mode"] == "profile"]
    if profiles:
        p = profiles[-1]
        lines += [
            f"\n## Where a K-seed run's time goes\n\nOne {k}-seed run of the {p['config']} config "
            f"({p['steps']:,} steps per seed) under cProfile, in a one-thread subprocess: cumulative "
            f"seconds of the functions that do each part (cProfile's own overhead inflates the many "
            f"small calls; read the shares, not the absolute times). `train()` took {p['train_s']:.1f} s "
            f"under the profiler; the whole command {p['wall_s']:.1f} s. Nested rows are part of the "
            "rows above them (LayerNorm and linear layers are inside the forward and backward passes; "
            "the update's forward passes inside the update row; the monitors' row holds the evaluations "
            "and checkpoints that fall due during training: on CartPole, whose `eval_every` is the "
            "run's length, the final evaluation).\n\n",
            "| part | function | calls | seconds | share of `train()` |\n|---|---|---:|---:|---:|\n",
        ]
        for part in p["parts"]:
            lines.append(
                f"| {part['part']} | `{part['function']}` | {part['calls']:,} | {part['seconds']:.2f} | "
                f"{100 * part['seconds'] / p['train_s']:.0f} % |\n"
            )
    (results / "RESULTS.md").write_text("".join(lines))
    print(f"written: {results / 'RESULTS.md'}")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--profile-trial":  # a trial subprocess of measure()
        name, num_seeds, steps, runs, out = argv[1:6]
        profile_trial(name, int(num_seeds), int(steps), Path(runs), Path(out))
        return
    cli = study.parser(
        __doc__,
        "RESULTS.md from trials.jsonl",
        quick=f"{QUICK['num_seeds']} seeds, {QUICK['total_steps']:,} steps, 1 repetition, recorded under runs/",
    )
    cli.add_argument("--repetitions", type=int, default=REPETITIONS)
    cli.add_argument("--num-seeds", type=int, default=NUM_SEEDS)
    cli.add_argument("--total-steps", type=int, default=None, help="per seed (default: each config's)")
    args = cli.parse_args(argv)
    runs, trials, results = RUNS, TRIALS, HERE
    if args.quick:
        runs = REPO / "runs" / "parallel_seeds_quick"
        trials, results = runs / "trials.jsonl", runs
        args.num_seeds, args.total_steps, args.repetitions = (
            QUICK["num_seeds"],
            QUICK["total_steps"],
            QUICK["repetitions"],
        )
    record = study.TrialRecord(trials)
    if not args.report_only:
        runs.mkdir(parents=True, exist_ok=True)
        measure(args, record, runs)
    report(record.entries(), study.command_of(__file__, argv), results)


if __name__ == "__main__":
    main()
