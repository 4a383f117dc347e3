"""DQN (and PQN) speed by device: env steps/s and gradient updates/s of the same config on CPU and on CUDA.

    python experiments/dqn_device/run.py                   # every available device, then RESULTS.md
    python experiments/dqn_device/run.py --devices cpu --steps 3000 --pixels-steps 1500   # a quick CPU check
    python experiments/dqn_device/run.py --bf16 --compile  # the optional CUDA switches too
    python experiments/dqn_device/run.py --report-only     # RESULTS.md from measurements.json
    python experiments/dqn_device/run.py --workloads pqn-cartpole pqn-racetrack-pixels   # some rows

A measuring run replaces ``measurements.json`` (the rows of every device it timed) and RESULTS.md;
with ``--workloads`` it replaces only those workloads' rows, each then stamped with its own
measurement (commit, date, machine, command) under the table.

Two workloads, each timed after a warm-up that fills the replay buffer past ``learning_starts``
(so the timed part is the steady state: acting, storing, sampling and updating):

* ``racetrack-pixels``: ``experiments/configs/dqn_racetrack_pixels.yaml`` (84×84 grayscale, stack 4,
  Nature CNN, dueling, 3-step, prioritised replay, DrQ shifts; 8 envs, 2 updates of batch 64 per
  vector step);
* ``cartpole``: ``experiments/configs/dqn_cartpole.yaml`` (a small MLP: bound by per-call overhead);
* ``pqn-cartpole``: PQN's shipped ``experiments/configs/pqn_cartpole.yaml`` (128 envs, no replay;
  its updates/s are gradient steps: each rollout is num_epochs × num_minibatches of them);
* ``pqn-racetrack-pixels``: PQN on the same pixel observations as ``racetrack-pixels`` (84×84
  grayscale, stack 4, Nature CNN), its other settings from ``pqn_racetrack_state.yaml``.

On a machine with a GPU this is the device check of issue 6 ("fast on CUDA"). On the lent GPU
machines gymnasium is not installed: carry its wheels (see the device tool's README), e.g.
``pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl gymnasium==1.2.2
farama-notifications`` here, then there ``pip install --no-index --no-deps --target /tmp/site
.whl/*.whl && PYTHONPATH=/tmp/site:. python3 experiments/dqn_device/run.py``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rlsuite import study

HERE = Path(__file__).resolve().parent
CONFIGS = HERE.parent / "configs"
RECORD = HERE / "measurements.json"

WORKLOADS = {
    "racetrack-pixels": (
        "dqn_racetrack_pixels.yaml",
        ["agent.learning_starts=1000", "agent.buffer_size=20000"],
    ),
    "cartpole": ("dqn_cartpole.yaml", []),
    "pqn-cartpole": ("pqn_cartpole.yaml", []),
    "pqn-racetrack-pixels": (
        "pqn_racetrack_state.yaml",
        [
            "env.num_envs=16",
            "env.kwargs={obs_type: pixels, action_type: discrete, grayscale: true}",
            "agent.frame_stack=4",
            "encoder={type: nature_cnn, features_dim: 512}",
        ],
    ),
}
PIXELS = ("racetrack-pixels", "pqn-racetrack-pixels")


def measure(workload: str, device: str, steps: int, bf16: bool, compile_: bool) -> dict[str, float]:
    import torch

    from rlsuite.config import algorithm_class, load_config
    from rlsuite.training import make_agent_envs, seed_everything

    name, overrides = WORKLOADS[workload]
    overrides = [
        *overrides,
        f"train.device={device}",
        *([f"agent.bf16={bf16}", f"agent.torch_compile={compile_}"] if bf16 or compile_ else []),
    ]
    config = load_config(CONFIGS / name, overrides)
    seed_everything(config.train.seed)
    envs = make_agent_envs(config)
    agent = algorithm_class(config.agent.algo)(config, envs)
    p = config.agent.params
    if config.agent.algo == "pqn":  # two rollouts: the first update allocates and warms up
        warmup = 2 * p.num_steps * envs.num_envs
        gradient_steps = p.num_epochs * p.num_minibatches  # per update (one rollout)
    else:  # DQN: fills the buffer past learning_starts
        warmup = p.learning_starts + 20 * envs.num_envs
        gradient_steps = 1  # DQN counts gradient steps
    agent.learn(warmup)  # fills the buffer, compiles, warms the allocator
    if agent.device.type == "cuda":
        torch.cuda.synchronize()
    steps0, updates0 = agent.global_step, agent.num_updates
    start = time.perf_counter()
    agent.learn(warmup + steps)
    if agent.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    envs.close()
    return {
        "env_steps_per_s": (agent.global_step - steps0) / seconds,
        "updates_per_s": (agent.num_updates - updates0) * gradient_steps / seconds,
        "seconds": seconds,
    }


def measure_all(args: argparse.Namespace, command: list[str]) -> dict:
    import torch

    import rlsuite

    available = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    args.devices = args.devices or available
    if "cuda" in args.devices and not torch.cuda.is_available():
        raise SystemExit("--devices cuda: no CUDA GPU is available here")

    variants = [(False, False)]
    variants += [(True, False)] if args.bf16 else []
    variants += [(False, True)] if args.compile else []
    rows = []
    for workload in args.workloads or [w for w in WORKLOADS if not w.startswith("pqn-")]:
        steps = args.pixels_steps if workload in PIXELS else args.steps
        for device in args.devices:
            for bf16, compile_ in variants if device == "cuda" else [(False, False)]:
                r = measure(workload, device, steps, bf16, compile_)
                rows.append(
                    {
                        "workload": workload,
                        "device": device,
                        "bf16": bf16,
                        "compile": compile_,
                        "env_steps_per_s": r["env_steps_per_s"],
                        "updates_per_s": r["updates_per_s"],
                    }
                )
                print(rows[-1], flush=True)
    if args.workloads and RECORD.is_file():  # some workloads again: the others' rows stay as measured
        record = study.read_record(RECORD)
        for row in rows:
            row["measured"] = {**study.measured_here(command), "steps": steps_of(row["workload"], args)}
        kept = [r for r in record["rows"] if r["workload"] not in args.workloads]
        order = list(WORKLOADS)
        record["rows"] = sorted(kept + rows, key=lambda r: (order.index(r["workload"]), r["device"]))
        return record
    notes = "" if torch.cuda.is_available() else "CPU only: no GPU on the machine that measured this."
    return {
        "measured": study.measured_here(command),
        "rlsuite_version": rlsuite.__version__,
        "steps": args.steps,
        "pixels_steps": args.pixels_steps,
        "rows": rows,
        "notes": notes,
    }


def steps_of(workload: str, args: argparse.Namespace) -> int:
    return args.pixels_steps if workload in PIXELS else args.steps


def report(record: dict, command: list[str]) -> None:
    out = ["# DQN speed by device\n", study.stamp(command, record["measured"])]
    out.append(
        "\nRegenerated by `python experiments/dqn_device/run.py --report-only` from `measurements.json`; "
        "`python experiments/dqn_device/run.py` measures every available device again and replaces it. "
        f"rlsuite {record['rlsuite_version']}; timed after a warm-up that fills the replay buffer: "
        f"{record['pixels_steps']:,} env steps of Racetrack pixels (`experiments/configs/dqn_racetrack_pixels.yaml`, "
        f"Nature CNN) and {record['steps']:,} of CartPole (`experiments/configs/dqn_cartpole.yaml`); "
        "on CPU, `agent.torch_threads` = 1 torch thread.\n\n"
        "| workload | device | bf16 | compile | env steps/s | updates/s |\n|---|---|---|---|---:|---:|\n"
    )
    for r in record["rows"]:
        out.append(
            f"| {r['workload']} | {r['device']} | {r['bf16']} | {r['compile']} | {r['env_steps_per_s']:,.0f} | "
            f"{r['updates_per_s']:,.0f} |\n"
        )
    later = [r for r in record["rows"] if "measured" in r]
    if later:
        out.append("\nRows measured later, each alone:\n\n")
        for r in later:
            m = r["measured"]
            out.append(
                f"- {r['workload']} ({r['device']}): {m['steps']:,} timed env steps; commit `{m['commit']}`, "
                f"{m['date']}, on {m['machine']}, by `{m['command']}`\n"
            )
    if record.get("notes"):
        out.append(f"\n{record['notes']}\n")
    rows = record["rows"]
    labels = [
        f"{r['workload']} {r['device']}"
        + (" bf16" if r["bf16"] else "")
        + (" compile" if r["compile"] else "")
        for r in rows
    ]
    study.bars(
        HERE / "dqn_device.png",
        labels,
        {
            "env steps/s": [r["env_steps_per_s"] for r in rows],
            "updates/s": [r["updates_per_s"] for r in rows],
        },
        "DQN by device",
        "per second (log scale)",
        log=True,
    )
    out.append("\n![DQN by device](dqn_device.png)\n")
    (HERE / "RESULTS.md").write_text("".join(out))
    print(f"written: {HERE / 'RESULTS.md'}")


def main() -> None:
    parser = study.parser(__doc__, "RESULTS.md from measurements.json")
    parser.add_argument(
        "--devices", nargs="+", default=None, choices=["cpu", "cuda"], help="default: all here"
    )
    parser.add_argument("--steps", type=int, default=20_000, help="timed env steps (CartPole)")
    parser.add_argument("--pixels-steps", type=int, default=4_000, help="timed env steps (Racetrack pixels)")
    parser.add_argument("--bf16", action="store_true", help="also time agent.bf16=true (CUDA)")
    parser.add_argument("--compile", action="store_true", help="also time agent.torch_compile=true (CUDA)")
    parser.add_argument(
        "--workloads",
        nargs="+",
        default=None,
        choices=list(WORKLOADS),
        help="time only these (their rows replace theirs in measurements.json); default: the DQN ones",
    )
    study.main(__file__, parser, RECORD, measure_all, report)


if __name__ == "__main__":
    main()
