"""Latency of an exported policy: the DQN state policy of the shipped Racetrack config
(`experiments/configs/dqn_racetrack_state.yaml`: 14 observations, a [64, 64] head, 9 actions), one
observation at a time (batch 1), on one CPU thread, from the env's observation to the env's action:

- onnxruntime on `rlsuite export`'s `policy.onnx` (one intra- and one inter-op thread; no torch needed);
- torch eager on the same graph (`rlsuite.export.policy_module`: `torch.from_numpy`, the module under
  `torch.inference_mode`, the action back to numpy);
- the agent's own `act(obs, deterministic=True)` (what `rlsuite eval` calls), for reference.

All three in one process, interleaved in rounds, on the same 10,000 observations drawn from the env;
medians of the rounds. Latency does not depend on the weights, so the policy is trained briefly.

    python experiments/export/run.py                  # ~1 min
    python experiments/export/run.py --report-only    # RESULTS.md from measurements.json
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from rlsuite import study

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
RECORD = HERE / "measurements.json"
CONFIG = REPO / "experiments" / "configs" / "dqn_racetrack_state.yaml"
TARGET_US = 50.0  # issue 33: at most 50 µs per state observation on one core, and no slower than torch
OBSERVATIONS = 10_000


def measure(args: argparse.Namespace, command: list[str]) -> dict:
    study.pin_threads()
    import onnxruntime
    import torch

    import rlsuite
    from rlsuite.export import export_run, policy_module
    from rlsuite.rollout import make_envs
    from rlsuite.training import load_run_config

    with tempfile.TemporaryDirectory(prefix="export-latency-") as scratch:
        overrides = {
            "train.total_steps": 2_000,
            "train.eval_every": 0,
            "train.eval_episodes": 1,
            "train.device": "cpu",
            "log.progress": "none",
            "log.run_dir": scratch,
        }
        run = rlsuite.train(CONFIG, overrides=overrides)
        exported = export_run(run.run_dir, Path(scratch) / "export", "onnx", checkpoint="last")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(exported.policy), options, providers=["CPUExecutionProvider"]
        )
        policy = rlsuite.load(run.run_dir, "last")
        module, _ = policy_module(policy.agent, policy.agent.envs)

        envs = make_envs(load_run_config(run.run_dir).env, 100)  # 10,000 observations of the env
        envs.action_space.seed(0)
        observations = [envs.reset(seed=0)[0]]
        for _ in range(OBSERVATIONS // 100 - 1):
            observations.append(envs.step(envs.action_space.sample())[0])
        envs.close()
        observations = list(np.concatenate(observations))

        def onnx_action(obs: np.ndarray) -> np.ndarray:
            return session.run(["action"], {"observation": obs[None]})[0][0]

        def torch_action(obs: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return module(torch.from_numpy(obs[None]))[0][0].numpy()

        def agent_action(obs: np.ndarray) -> np.ndarray:
            return policy.agent.act(obs, deterministic=True)

        paths = {"onnxruntime": onnx_action, "torch eager": torch_action, "agent.act": agent_action}
        agree = {name: [int(fn(o)) for o in observations[:1000]] for name, fn in paths.items()}
        assert len({tuple(a) for a in agree.values()}) == 1, "the three paths disagree on an action"
        rounds: dict[str, list[float]] = {name: [] for name in paths}
        n = 2_000 if args.quick else OBSERVATIONS
        for _ in range(args.rounds):
            for name, fn in paths.items():
                start = time.perf_counter()
                for obs in observations[:n]:
                    fn(obs)
                rounds[name].append((time.perf_counter() - start) / n * 1e6)
            print({k: round(v[-1], 1) for k, v in rounds.items()}, flush=True)
        policy.close()
    medians = {name: statistics.median(v) for name, v in rounds.items()}
    return {
        "measured": study.measured_here(command),
        "observations_per_round": n,
        "rounds": args.rounds,
        "target_us": TARGET_US,
        "versions": {"onnxruntime": onnxruntime.__version__, "torch": torch.__version__},
        "us_per_observation": rounds,
        "median_us": medians,
        "torch_over_onnx": medians["torch eager"] / medians["onnxruntime"],
    }


def report(record: dict, command: list[str]) -> None:
    medians = record["median_us"]
    onnx = medians["onnxruntime"]
    meets = onnx <= record["target_us"] and onnx <= medians["torch eager"]
    out = [
        "# Latency of an exported policy (ONNX) against torch eager\n",
        study.stamp(command, record["measured"]),
        "\nThe DQN state policy of `experiments/configs/dqn_racetrack_state.yaml` (14 observations, a "
        "[64, 64] head, 9 actions), one observation per call (batch 1), one CPU thread, from the env's "
        "observation to its action, in one process; "
        f"{record['rounds']} interleaved rounds of {record['observations_per_round']:,} observations drawn "
        f"from the env, medians (onnxruntime {record['versions']['onnxruntime']}, torch "
        f"{record['versions']['torch']}). Every path gives the same actions on the first 1,000 "
        "observations (checked before timing).\n\n"
        "| path | µs per observation | rounds [µs] |\n|---|---:|---|\n",
    ]
    for name, median in medians.items():
        rounds = ", ".join(f"{v:.1f}" for v in record["us_per_observation"][name])
        out.append(f"| {name} | {median:.1f} | {rounds} |\n")
    out.append(
        f"\ntorch eager / onnxruntime: {record['torch_over_onnx']:.1f}×. Target (issue 33): onnxruntime at "
        f"most {record['target_us']:.0f} µs per state observation and no slower than torch: "
        f"{'met' if meets else '**not met**'}.\n"
    )
    (HERE / "RESULTS.md").write_text("".join(out))
    print(f"written: {HERE / 'RESULTS.md'}")


def main() -> None:
    parser = study.parser(__doc__, "RESULTS.md from measurements.json", "2,000 observations per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians are reported)")
    study.main(__file__, parser, RECORD, measure, report)


if __name__ == "__main__":
    main()
