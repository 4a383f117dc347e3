"""Cross-framework baselines: our DQN, SB3 (DQN, PPO, SAC, TD3) and RLlib (PPO, DQN, SAC) on the
same envs, the same env-step budget and the same evaluation, through one `rlsuite train` each.

    python experiments/cross_framework/run.py                  # everything, 3 seeds (~1.5 h two at a time)
    python experiments/cross_framework/run.py --envs cartpole --seeds 0 --jobs 1
    python experiments/cross_framework/run.py --quick          # a smoke run of every cell (~5 min)
    python experiments/cross_framework/run.py --report-only    # RESULTS.md and plots from trials.jsonl

Every cell is a normal training run: the script writes its config to
``runs/cross_framework/<env>/<algo>-s<seed>.yaml`` and runs
``rlsuite train CONFIG`` in a subprocess on one thread for torch, BLAS and numba alike
(:func:`rlsuite.study.run_trials`; ``--jobs`` of them at once: 2 on a 2-core machine, so both cores
are busy and every run gets one). RLlib samples in the driver process (``num_env_runners: 0``), so
every run is one process on one core. A finished run is recorded in ``trials.jsonl`` beside this
script (with its final return, wall time and evaluation curve, the commit and the date: committed, so
the report needs no run directory) and skipped when the script runs again, so an interrupted study
continues where it stopped. ``--note`` lines (the
machine's load, a cell left out) are kept in ``notes.json`` with the runs they describe.

Reported per (env, algorithm): the greedy evaluation return of the *final* policy (train.seed +
its evaluation offset: seeds no selection saw; no best-checkpoint picking) as mean ± std over seeds;
the wall time of the whole `rlsuite train` command (start-up, Ray's included) and env steps per
second of wall time. Learning curves: mean ± std over seeds of the periodic evaluations.

Settings: each library runs the settings its users would take — for SB3, RL Zoo's tuned
hyper-parameters where RL Zoo has the env (CartPole); for RLlib, its tuned example where one
exists (CartPole DQN); for our DQN, our shipped configs; elsewhere the algorithm family shares one
set (all three DQNs the same hyper-parameters, both PPOs the same). Each cell's ``settings`` says which.
Results: ``RESULTS.md``, ``summary.csv`` and ``curves.png`` beside this script.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import statistics
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rlsuite.study import (
    ONE_THREAD,
    Finished,
    Trial,
    TrialRecord,
    commit,
    mean_std,
    run_dir_of,
    run_trials,
    stamp,
    utc_now,
)
from rlsuite.study import parser as study_parser

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CONFIGS = HERE.parent / "configs"
RUNS = REPO / "runs" / "cross_framework"
RESULTS = HERE
NOTES = HERE / "notes.json"
TRIALS = HERE / "trials.jsonl"


def _sb3_zoo() -> dict:
    """RL Zoo's CartPole DQN, one definition: the DQN-vs-SB3 study's ``SB3_ZOO``."""
    spec = importlib.util.spec_from_file_location("dqn_vs_sb3_run", HERE.parent / "dqn_vs_sb3" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.SB3_ZOO


SB3_ZOO = _sb3_zoo()


def shipped(name: str) -> tuple[int, dict]:
    """(num_envs, agent section) of one of our shipped configs."""
    config = yaml.safe_load((CONFIGS / name).read_text())
    return config["env"]["num_envs"], dict(config["agent"])


def sb3_dqn_from(agent: dict) -> dict:
    """SB3 DQN with our DQN config's hyper-parameters (the same names mean the same in SB3)."""
    shared = (
        "learning_rate buffer_size learning_starts batch_size tau gamma train_freq gradient_steps "
        "target_update_interval exploration_fraction exploration_initial_eps exploration_final_eps "
        "max_grad_norm"
    ).split()
    params = {k: agent[k] for k in shared if k in agent}
    params["policy_kwargs"] = {"net_arch": list(agent["net_arch"])}
    params["n_steps"] = agent.get("n_steps", 1)
    return {"algo": "sb3.dqn", **params}


def rllib_dqn_from(agent: dict, num_envs: int, total_steps: int) -> dict:
    """RLlib DQN with our DQN config's hyper-parameters, in RLlib's names."""
    samples_per_transition = agent["batch_size"] * agent["gradient_steps"] / (agent["train_freq"] * num_envs)
    return {
        "algo": "rllib.dqn",
        "lr": agent["learning_rate"],
        "train_batch_size": agent["batch_size"],
        "buffer_size": agent["buffer_size"],
        "num_steps_sampled_before_learning_starts": agent["learning_starts"],
        "gamma": agent["gamma"],
        "target_network_update_freq": agent["target_update_interval"],
        "epsilon_initial": agent.get("exploration_initial_eps", 1.0),
        "epsilon_final": agent["exploration_final_eps"],
        "epsilon_timesteps": int(agent["exploration_fraction"] * total_steps),
        "grad_clip": agent.get("max_grad_norm") or None,
        "fcnet_hiddens": list(agent["net_arch"]),
        "fcnet_activation": "relu",
        "model": {"head_fcnet_hiddens": []},
        "double_q": agent.get("double_q", True),
        "dueling": agent.get("dueling", False),
        "n_step": agent.get("n_steps", 1),
        "prioritized_replay": agent.get("prioritized_replay", False),
        "training_intensity": samples_per_transition,
        "num_env_runners": 0,
    }


def ppo_pair(
    num_envs: int,
    n_steps: int,
    batch: int,
    epochs: int,
    lr: float,
    gamma: float,
    lam: float,
    net: list[int],
    activation: str = "tanh",
) -> dict[str, dict]:
    """One PPO setting in SB3's and in RLlib's names (RLlib's KL penalty off, as in SB3)."""
    sb3 = {
        "algo": "sb3.ppo",
        "learning_rate": lr,
        "n_steps": n_steps,
        "batch_size": batch,
        "n_epochs": epochs,
        "gamma": gamma,
        "gae_lambda": lam,
        "clip_range": 0.2,
        "ent_coef": 0.0,
        "policy_kwargs": {"net_arch": list(net), "activation_fn": activation},
    }
    rllib = {
        "algo": "rllib.ppo",
        "lr": lr,
        "train_batch_size": n_steps * num_envs,
        "minibatch_size": batch,
        "num_epochs": epochs,
        "gamma": gamma,
        "lambda_": lam,
        "clip_param": 0.2,
        "entropy_coeff": 0.0,
        "use_kl_loss": False,
        "fcnet_hiddens": list(net),
        "fcnet_activation": activation,
        "num_env_runners": 0,
    }
    return {"sb3.ppo": sb3, "rllib.ppo": rllib}


@dataclass
class Cell:
    num_envs: int
    agent: dict
    settings: str  # where the hyper-parameters come from
    kwargs: dict = field(default_factory=dict)  # env kwargs beyond the study's (action type)


@dataclass
class Study:
    env_id: str
    kwargs: dict
    total_steps: int
    eval_every: int
    cells: dict[str, Cell]


def build_studies() -> dict[str, Study]:
    studies: dict[str, Study] = {}

    # CartPole-v1: every library at its own published settings.
    n, ours = shipped("dqn_cartpole.yaml")
    n_rl, rl_ppo = shipped("rllib_ppo_cartpole.yaml")
    zoo_ppo = ppo_pair(8, 32, 256, 20, 1e-3, 0.98, 0.8, [64, 64])["sb3.ppo"]  # RL Zoo ppo.yml CartPole-v1
    studies["cartpole"] = Study(
        "CartPole-v1",
        {},
        25_000,
        2_500,
        {
            "dqn": Cell(n, ours, "ours: experiments/configs/dqn_cartpole.yaml"),
            "sb3.dqn": Cell(1, {"algo": "sb3.dqn", **SB3_ZOO["CartPole-v1"]}, "RL Zoo dqn.yml (1 env)"),
            "sb3.ppo": Cell(8, zoo_ppo, "RL Zoo ppo.yml (8 envs; linear schedules as constants)"),
            "rllib.ppo": Cell(n_rl, rl_ppo, "ours for RLlib: experiments/configs/rllib_ppo_cartpole.yaml"),
            "rllib.dqn": Cell(
                1,
                {
                    "algo": "rllib.dqn",
                    "lr": 5e-4,
                    "train_batch_size": 32,
                    "buffer_size": 50_000,
                    "prioritized_replay": True,
                    "n_step": 3,
                    "double_q": True,
                    "dueling": True,
                    "epsilon_initial": 1.0,
                    "epsilon_final": 0.02,
                    "epsilon_timesteps": 10_000,
                    "fcnet_hiddens": [256],
                    "fcnet_activation": "tanh",
                    "model": {"head_fcnet_hiddens": [256]},
                    "num_env_runners": 0,
                },
                "RLlib tuned_examples/dqn/cartpole_dqn.py (n_step 3 for its random 2-5)",
            ),
        },
    )

    # Racetrack, state features, 9 discrete actions: the DQNs share our shipped config.
    n, ours = shipped("dqn_racetrack_state.yaml")
    n_ppo, sb3_ppo = shipped("sb3_ppo_racetrack.yaml")
    n_rl, rl_ppo = shipped("rllib_ppo_racetrack.yaml")
    total = 100_000
    studies["racetrack"] = Study(
        "rlsuite/Racetrack-v0",
        {"obs_type": "state", "action_type": "discrete"},
        total,
        10_000,
        {
            "dqn": Cell(n, ours, "ours: experiments/configs/dqn_racetrack_state.yaml"),
            "sb3.dqn": Cell(n, sb3_dqn_from(ours), "our DQN config in SB3's names"),
            "rllib.dqn": Cell(n, rllib_dqn_from(ours, n, total), "our DQN config in RLlib's names"),
            "sb3.ppo": Cell(n_ppo, sb3_ppo, "ours for SB3: experiments/configs/sb3_ppo_racetrack.yaml"),
            "rllib.ppo": Cell(
                n_rl,
                {**rl_ppo, "num_env_runners": 0},
                "ours for RLlib: experiments/configs/rllib_ppo_racetrack.yaml, sampling in the driver",
            ),
        },
    )

    # Highway, state (5 vehicles × 5 features), 5 meta-actions.
    n, ours = shipped("dqn_highway.yaml")
    total = 50_000
    ppo = ppo_pair(8, 128, 64, 10, 5e-4, 0.8, 0.95, [256, 256])  # highway-env's SB3 PPO example
    studies["highway"] = Study(
        "rlsuite/Highway-v0",
        {"obs_type": "state", "action_type": "discrete"},
        total,
        5_000,
        {
            "dqn": Cell(n, ours, "ours: experiments/configs/dqn_highway.yaml"),
            "sb3.dqn": Cell(n, sb3_dqn_from(ours), "our DQN config in SB3's names"),
            "rllib.dqn": Cell(n, rllib_dqn_from(ours, n, total), "our DQN config in RLlib's names"),
            "sb3.ppo": Cell(8, ppo["sb3.ppo"], "highway-env's SB3 PPO example (gamma 0.8, [256, 256])"),
            "rllib.ppo": Cell(8, ppo["rllib.ppo"], "the same PPO settings in RLlib's names"),
        },
    )

    # Reacher, state: DQNs on 9 discrete torques, the rest on continuous torques.
    n, ours = shipped("dqn_reacher.yaml")
    n_sac, sac = shipped("sb3_sac_reacher.yaml")
    total = 30_000
    ppo = ppo_pair(8, 256, 256, 10, 3e-4, 0.98, 0.95, [64, 64])
    continuous = {"action_type": "continuous"}
    discrete = {"action_type": "discrete"}
    studies["reacher"] = Study(
        "rlsuite/Reacher-v0",
        {"obs_type": "state"},
        total,
        5_000,
        {
            "dqn": Cell(n, ours, "ours: experiments/configs/dqn_reacher.yaml; discrete torques", discrete),
            "sb3.dqn": Cell(
                n, sb3_dqn_from(ours), "our DQN config in SB3's names; discrete torques", discrete
            ),
            "rllib.dqn": Cell(
                n, rllib_dqn_from(ours, n, total), "our DQN config in RLlib's names; discrete", discrete
            ),
            "sb3.ppo": Cell(
                8, ppo["sb3.ppo"], "SB3's PPO defaults, 8 envs × 256 steps, gamma 0.98", continuous
            ),
            "rllib.ppo": Cell(8, ppo["rllib.ppo"], "the same PPO settings in RLlib's names", continuous),
            "sb3.sac": Cell(n_sac, sac, "ours for SB3: experiments/configs/sb3_sac_reacher.yaml", continuous),
            "sb3.td3": Cell(
                n_sac,
                {
                    "algo": "sb3.td3",
                    "learning_rate": 1e-3,
                    "buffer_size": 100_000,
                    "learning_starts": 1000,
                    "batch_size": 256,
                    "gamma": 0.98,
                    "train_freq": 1,
                    "gradient_steps": 1,
                    "action_noise": {"type": "normal", "sigma": 0.1},
                    "policy_kwargs": {"net_arch": [128, 128]},
                },
                "the SAC config's settings for TD3, Gaussian action noise 0.1",
                continuous,
            ),
            "rllib.sac": Cell(
                n_sac,
                {
                    "algo": "rllib.sac",
                    "actor_lr": 1e-3,
                    "critic_lr": 1e-3,
                    "alpha_lr": 1e-3,
                    "train_batch_size": 256,
                    "buffer_size": 100_000,
                    "num_steps_sampled_before_learning_starts": 1000,
                    "gamma": 0.98,
                    "tau": 0.005,
                    "fcnet_hiddens": [128, 128],
                    "fcnet_activation": "relu",
                    "prioritized_replay": False,
                    "training_intensity": 256 / n_sac,
                    "num_env_runners": 0,
                },
                "the SAC config's settings in RLlib's names (one update per vector step)",
                continuous,
            ),
        },
    )
    return studies


# --------------------------------------------------------------------------------------------
# Running the cells
# --------------------------------------------------------------------------------------------
def trial_config(
    study: Study, cell: Cell, seed: int, name: str, total_steps: int, eval_every: int, runs: Path
) -> dict:
    return {
        "env": {"id": study.env_id, "num_envs": cell.num_envs, "kwargs": {**study.kwargs, **cell.kwargs}},
        "agent": dict(cell.agent),
        "train": {
            "total_steps": total_steps,
            "eval_every": eval_every,
            "eval_episodes": 10,
            "eval_num_envs": 10,
            "seed": seed,
            "device": "cpu",
        },
        "log": {"run_dir": str(runs), "name": name, "progress": "lines"},
    }


def final_eval(run_dir: Path) -> tuple[int, float, list[tuple[int, float]]]:
    from rlsuite.plots import read_scalars

    scalars = read_scalars(run_dir)
    curve = [(int(s), float(v)) for s, _, v in scalars["eval/return_mean"]]
    return curve[-1][0], curve[-1][1], curve


def trial_key(entry: Mapping) -> tuple[str, str, int]:
    """A run's key in ``trials.jsonl``: (env, algorithm, seed)."""
    return entry["env"], entry["algo"], entry["seed"]


def trial_record() -> TrialRecord:
    """``trials.jsonl``: every finished run with its final return, wall time and evaluation curve."""
    return TrialRecord(TRIALS, key=trial_key)


def trial_entry(studies: dict[str, Study], key: tuple[str, str, int], log: Path, wall: float) -> dict:
    """The line of ``trials.jsonl`` of a finished run (``log``: its output, naming its run directory)."""
    printed = run_dir_of(log.read_text())
    if printed is None:
        raise RuntimeError(f"{log}: no 'run directory:' line")
    run_dir = Path(printed)
    env_key, algo, seed = key
    steps, final, curve = final_eval(run_dir)
    entry = {
        "env": env_key,
        "algo": algo,
        "seed": seed,
        "steps": steps,
        "wall_s": round(wall, 2),
        "final_return": final,
        "curve": curve,
        "run_dir": _relative(run_dir),
        "settings": studies[env_key].cells[algo].settings,
        "commit": commit(),
        "date": utc_now(),
        "threads": ONE_THREAD,
    }
    print(
        f"{env_key:9s} {algo:10s} seed {seed}: eval {final:8.2f} after {steps:,} steps, {wall:6.1f} s",
        flush=True,
    )
    return entry


def _relative(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def adopt(studies: dict[str, Study]) -> None:
    """Record runs that finished after the script that started them was stopped: the wall time is
    from the config file (written just before the start) to the log's last write."""
    done = trial_record().finished()
    for env_key, study in studies.items():
        for algo in study.cells:
            for log in sorted((RUNS / env_key).glob(f"{algo}-s*.log")):
                seed = int(log.stem.rpartition("-s")[2])
                if (env_key, algo, seed) in done or "final evaluation:" not in log.read_text():
                    continue
                wall = log.stat().st_mtime - log.with_suffix(".yaml").stat().st_mtime
                trial_record().append(trial_entry(studies, (env_key, algo, seed), log, wall))


def cell_trial(studies: dict[str, Study], key: tuple[str, str, int], quick_steps: int | None) -> Trial:
    """``rlsuite train RUNS/<env>/<algo>-s<seed>.yaml``, its config written just before it starts (the
    file's time is the run's start for :func:`adopt`), its output in the ``.log`` beside it."""
    env_key, algo, seed = key
    study, cell = studies[env_key], studies[env_key].cells[algo]
    total = quick_steps or study.total_steps
    stem = RUNS / env_key / f"{algo}-s{seed}"
    config = trial_config(study, cell, seed, stem.name, total, min(study.eval_every, total), stem.parent)
    config_path = stem.parent / f"{stem.name}.yaml"

    def write_config() -> None:
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    command = [sys.executable, "-m", "rlsuite.cli", "train", str(config_path)]
    return Trial(key, command, stem.parent / f"{stem.name}.log", cwd=REPO, setup=write_config)


def run_study(studies: dict[str, Study], args: argparse.Namespace) -> None:
    """Every (env, algorithm, seed) cell that ``trials.jsonl`` lacks, ``--jobs`` at a time."""
    RUNS.mkdir(parents=True, exist_ok=True)
    cells = [
        cell_trial(studies, (env_key, algo, seed), args.quick_steps)
        for env_key, study in studies.items()
        for algo in study.cells
        if not args.algos or algo in args.algos
        for seed in args.seeds
    ]

    def entry(finished: Finished) -> dict | None:
        if finished.returncode != 0:  # not recorded: the next run of the script tries it again
            return None
        return trial_entry(studies, finished.trial.key, finished.trial.log, finished.wall_s)

    failures = run_trials(cells, trial_record(), entry, parallel=args.jobs)
    if failures:
        raise SystemExit(f"{failures} run(s) failed; see the logs named above")


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def read_notes() -> dict:
    """``notes.json``: the ``--note`` lines, and where the runs recorded without a commit were measured."""
    return json.loads(NOTES.read_text()) if NOTES.is_file() else {"notes": []}


def measured_of(trials: list[dict], notes: dict) -> list[dict]:
    """The stamp's data lines: runs recorded with their commit (a span), and older runs without one."""
    entries = []
    if any("commit" not in t for t in trials):
        entries.append({**notes["measured"], "label": "runs recorded without a commit"})
    dated = [t for t in trials if "commit" in t]
    if dated:
        commits = list(dict.fromkeys(t["commit"] for t in dated))
        dates = sorted(t["date"] for t in dated)
        entries.append(
            {
                "label": f"{len(dated)} run{'' if len(dated) == 1 else 's'}",
                "commit": commits[0] if len(commits) == 1 else f"{commits[0]}` … `{commits[-1]}",
                "date": dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}",
            }
        )
    return entries


def report(studies: dict[str, Study], command: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from rlsuite.plots import plot_curves

    trials = trial_record().entries()
    if not trials:
        raise SystemExit(f"no finished runs in {TRIALS}")
    groups: dict[tuple[str, str], list[dict]] = {}
    for t in trials:
        groups.setdefault((t["env"], t["algo"]), []).append(t)
    recorded = read_notes()
    notes = recorded["notes"]
    lines = [
        "# Cross-framework baselines: our DQN, Stable-Baselines3 and RLlib on the same envs",
        "",
        stamp(command, measured_of(trials, recorded)),
        "Regenerated by `python experiments/cross_framework/run.py --report-only` from the runs recorded in "
        "`trials.jsonl` (each with its evaluation curve) and the notes in `notes.json`; "
        "`python experiments/cross_framework/run.py` runs every cell not recorded yet (delete `trials.jsonl` "
        "to rerun the study from nothing). Runs two at a time, each one process on one thread "
        "(`OMP_NUM_THREADS=1`; RLlib samples in its driver process).",
        "",
        "Each row is one algorithm trained for the same env-step budget on 3 seeds by `rlsuite train`; "
        "**return** is the greedy evaluation of the final policy (10 episodes on evaluation seeds no "
        "selection saw) as mean ± std over seeds; **wall** is the whole command (imports, Ray start-up, "
        "periodic evaluations included), median over seeds; **steps/s** is the budget over that wall time. "
        "Settings say where each algorithm's hyper-parameters come from: these compare libraries as "
        "their users would run them, not implementations at identical settings (for that, see "
        "`dqn_cartpole-identical` and `dqn_racetrack-adapter-40k` in `experiments/dqn_vs_sb3/RESULTS.md`).",
        "",
        *[f"Note: {note}" for note in notes],
        *([""] if notes else []),
    ]
    csv_rows = []
    for env_key, study in studies.items():
        rows = [(algo, groups.get((env_key, algo), [])) for algo in study.cells]
        rows = [(a, ts) for a, ts in rows if ts]
        if not rows:
            continue
        kwargs = ", ".join(f"{k}={v}" for k, v in study.kwargs.items())
        lines += [
            f"## {study.env_id}" + (f" ({kwargs})" if kwargs else ""),
            "",
            f"Budget: {study.total_steps:,} env steps; evaluation every {study.eval_every:,}.",
            "",
            "| algorithm | seeds | return (final policy) | wall [s] | env steps/s | settings |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for algo, ts in rows:
            finals = [t["final_return"] for t in ts]
            wall = statistics.median(t["wall_s"] for t in ts)
            steps = statistics.median(t["steps"] for t in ts)
            lines.append(
                f"| {algo} | {len(ts)} | {mean_std(finals)} | {wall:.0f} | {steps / wall:,.0f} | "
                f"{ts[0]['settings']} |"
            )
            csv_rows.append(
                {
                    "env": study.env_id,
                    "algo": algo,
                    "seeds": len(ts),
                    "return_mean": statistics.fmean(finals),
                    "return_std": statistics.stdev(finals) if len(finals) > 1 else 0.0,
                    "wall_s_median": wall,
                    "steps": int(steps),
                    "steps_per_s": steps / wall,
                }
            )
        lines.append("")
    lines += [
        "Learning curves (mean ± std over seeds, thin lines: seeds):",
        "",
        "![learning curves](curves.png)",
        "",
    ]
    lines += [
        "Per run:",
        "",
        "| env | algorithm | seed | env steps | return | wall [s] | run |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for t in sorted(trials, key=lambda t: (list(studies).index(t["env"]), t["algo"], t["seed"])):
        lines.append(
            f"| {t['env']} | {t['algo']} | {t['seed']} | {t['steps']:,} | {t['final_return']:.1f} | "
            f"{t['wall_s']:.1f} | `{t['run_dir']}` |"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "RESULTS.md").write_text("\n".join(lines) + "\n")
    with (RESULTS / "summary.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(csv_rows[0]))
        writer.writeheader()
        writer.writerows(csv_rows)

    envs = [e for e in studies if any(k[0] == e for k in groups)]
    algos = list(dict.fromkeys(a for study in studies.values() for a in study.cells))
    colors = {algo: f"C{k % 10}" for k, algo in enumerate(algos)}  # one colour per algorithm
    fig, axes = plt.subplots(1, len(envs), figsize=(5.2 * len(envs), 4.2), dpi=110, squeeze=False)
    for ax, env_key in zip(axes[0], envs):
        curves = {}
        for algo in studies[env_key].cells:
            ts = groups.get((env_key, algo), [])
            if ts:
                curves[algo] = [
                    (np.array([s for s, _ in t["curve"]], float), np.array([r for _, r in t["curve"]], float))
                    for t in ts
                ]
        plot_curves(curves, title=studies[env_key].env_id, ax=ax, colors=colors)
    fig.tight_layout()
    fig.savefig(RESULTS / "curves.png")
    plt.close(fig)
    print(f"written: {RESULTS / 'RESULTS.md'}")


def main() -> None:
    parser = study_parser(
        __doc__,
        "RESULTS.md and plots from trials.jsonl",
        quick="2,000 steps per cell into a scratch directory",
    )
    parser.add_argument(
        "--envs", nargs="+", default=None, help="subset of: cartpole racetrack highway reacher"
    )
    parser.add_argument("--algos", nargs="+", default=None, help="subset of the algorithms")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one core each)")
    parser.add_argument("--adopt", action="store_true", help="record finished runs the script did not record")
    parser.add_argument(
        "--note", action="append", default=[], help="a line for the report (e.g. load), kept in notes.json"
    )
    args = parser.parse_args()
    studies = build_studies()
    if args.envs:
        unknown = sorted(set(args.envs) - set(studies))
        if unknown:
            parser.error(f"unknown env {unknown[0]!r}; choose from {', '.join(studies)}")
        studies = {k: v for k, v in studies.items() if k in args.envs}
    args.quick_steps = 2_000 if args.quick else None
    if args.quick:
        global RUNS, TRIALS, RESULTS, NOTES
        RUNS = REPO / "runs" / "cross_framework_quick"
        TRIALS = RUNS / "trials.jsonl"
        RESULTS = RUNS
        NOTES = RUNS / "notes.json"
    if args.note:
        recorded = read_notes()
        recorded["notes"] += args.note
        NOTES.parent.mkdir(parents=True, exist_ok=True)
        NOTES.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    if args.adopt:
        adopt(studies)
    elif not args.report_only:
        run_study(studies, args)
    command = ["experiments/cross_framework/run.py"]
    skip = False
    for a in sys.argv[1:]:  # the notes are in notes.json, not in the command
        if skip or a.startswith("--note"):
            skip = a == "--note"
            continue
        command.append(a)
    report(build_studies(), command)


if __name__ == "__main__":
    main()
