"""DQN speed by device: env steps/s and gradient updates/s of the same config on CPU and on CUDA.

    python experiments/bench_dqn_device.py                         # every available device
    python experiments/bench_dqn_device.py --devices cpu --steps 3000 --pixels-steps 1500   # a quick CPU check
    python experiments/bench_dqn_device.py --bf16 --compile        # the optional CUDA switches too

Two workloads, each timed after a warm-up that fills the replay buffer past ``learning_starts``
(so the timed part is the steady state: acting, storing, sampling and updating):

* ``racetrack-pixels``: ``experiments/configs/dqn_racetrack_pixels.yaml`` (84×84 grayscale, stack 4,
  Nature CNN, dueling, 3-step, prioritised replay, DrQ shifts; 8 envs, 2 updates of batch 64 per
  vector step);
* ``cartpole``: ``experiments/configs/dqn_cartpole.yaml`` (a small MLP: bound by per-call overhead).

On a machine with a GPU this is the device check of issue 6 ("fast on CUDA"). On the lent GPU
machines gymnasium is not installed: carry its wheels (see the device tool's README), e.g.
``pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl gymnasium==1.2.2
farama-notifications`` here, then there ``pip install --no-index --no-deps --target /tmp/site
.whl/*.whl && PYTHONPATH=/tmp/site:. python3 experiments/bench_dqn_device.py``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

import rlsuite
from rlsuite.agents.dqn import DQNAgent
from rlsuite.config import load_config
from rlsuite.training import make_envs, seed_everything

CONFIGS = Path(__file__).resolve().parent / "configs"
WORKLOADS = {
    "racetrack-pixels": (
        "dqn_racetrack_pixels.yaml",
        ["agent.learning_starts=1000", "agent.buffer_size=20000"],
    ),
    "cartpole": ("dqn_cartpole.yaml", []),
}


def measure(workload: str, device: str, steps: int, bf16: bool, compile_: bool) -> dict[str, float]:
    name, overrides = WORKLOADS[workload]
    overrides = [
        *overrides,
        f"train.device={device}",
        f"agent.bf16={bf16}",
        f"agent.torch_compile={compile_}",
    ]
    config = load_config(CONFIGS / name, overrides)
    seed_everything(config.train.seed)
    envs = make_envs(config.env)
    agent = DQNAgent(config, envs)
    warmup = config.agent.params.learning_starts + 20 * envs.num_envs
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
        "updates_per_s": (agent.num_updates - updates0) / seconds,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    available = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    parser.add_argument("--devices", nargs="+", default=available, choices=["cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=20_000, help="timed env steps (CartPole)")
    parser.add_argument("--pixels-steps", type=int, default=4_000, help="timed env steps (Racetrack pixels)")
    parser.add_argument("--bf16", action="store_true", help="also time agent.bf16=true (CUDA)")
    parser.add_argument("--compile", action="store_true", help="also time agent.torch_compile=true (CUDA)")
    args = parser.parse_args()
    if "cuda" in args.devices and not torch.cuda.is_available():
        parser.error("--devices cuda: no CUDA GPU is available here")

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    print(
        f"rlsuite {rlsuite.__version__} DQN by device: {platform.machine()}, torch {torch.__version__}, "
        f"GPU {gpu} (CPU: agent.torch_threads = 1 torch thread)\n"
    )
    print("| workload | device | bf16 | compile | env steps/s | updates/s |")
    print("|---|---|---|---|---:|---:|")
    variants = [(False, False)]
    variants += [(True, False)] if args.bf16 else []
    variants += [(False, True)] if args.compile else []
    for workload in WORKLOADS:
        steps = args.pixels_steps if workload == "racetrack-pixels" else args.steps
        for device in args.devices:
            for bf16, compile_ in variants if device == "cuda" else [(False, False)]:
                r = measure(workload, device, steps, bf16, compile_)
                print(
                    f"| {workload} | {device} | {bf16} | {compile_} | {r['env_steps_per_s']:,.0f} | "
                    f"{r['updates_per_s']:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
