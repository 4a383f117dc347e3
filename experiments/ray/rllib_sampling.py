"""RLlib PPO env-runner sampling on our Racetrack: our native vector env against RLlib's SyncVectorEnv.

The ``rllib`` part of the Ray study, run by ``python experiments/ray/run.py [--parts rllib]`` (which
records ``rllib_sampling.json`` and writes RESULTS.md). Each case builds RLlib's PPO through rlsuite's
adapter from ``experiments/configs/rllib_ppo_racetrack.yaml``
(state observations, 9 discrete actions, [64, 64] MLP) and changes only where sampling happens and how the
sub-envs are batched:

* ``vector_entry_point``: each env runner steps one ``RacetrackVectorEnv`` of N cars (rlsuite's default
  for its ids);
* ``sync``: RLlib's usual ``SyncVectorEnv`` over N single ``RacetrackEnv`` (each in Gymnasium's wrappers).

with 0 env runners (the driver samples) or 1 env runner actor, N sub-envs each. The two Algorithms of a
case are alive at once (env runners reserve half a CPU each so that both fit 2 cores; Ray gives each one
torch thread either way) and their calls alternate, so both see the same machine load. The timed call is
the env runner's own ``sample(num_timesteps=...)`` (exploration on: the RLModule's forward pass, the
connectors, RLlib's episode bookkeeping and the env steps), timed in the process that samples: no
transfer of the episodes to the driver and no learner update. Each figure is the best of ``--rounds``
calls after one warm-up call (first reset, numba/torch warm-up); the machines are shared, so the best
call is the least disturbed one. The env-step share comes from RLlib's own ``env_step_timer``.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from pathlib import Path

from rlsuite.study import measured_here

CONFIG = Path(__file__).resolve().parent.parent / "configs" / "rllib_ppo_racetrack.yaml"
MODES = ("vector_entry_point", "sync")


def warm_up(runner) -> None:
    """First reset, numba and torch warm-up; drops the warm-up's timers."""
    runner.sample(num_timesteps=8 * runner.num_envs, explore=True)
    runner.get_metrics()


def timed_sample(runner, steps: int) -> tuple[float, float]:
    """Runs inside the env runner: env steps/s of one sample() call, and env.step()'s share of it."""
    start = time.perf_counter()
    episodes = runner.sample(num_timesteps=steps, explore=True)
    steps_per_s = sum(len(e) for e in episodes) / (time.perf_counter() - start)
    vector_step_s = float(runner.get_metrics()["env_step_timer"])  # RLlib's mean s per vector env.step()
    return steps_per_s, vector_step_s * steps_per_s / runner.num_envs


def on_runner(algorithm, remote: bool, func):
    """``func(env_runner)`` where the algorithm samples: its local env runner or its one remote one."""
    if not remote:
        return func(algorithm.env_runner)
    return algorithm.env_runner_group.foreach_env_runner(func, local_env_runner=False)[0]


def measure(num_env_runners: int, num_envs: int, steps: int, rounds: int) -> dict[str, tuple[float, float]]:
    """Both vectorisations built side by side and timed alternately; the best call of each."""
    from rlsuite.agents.rllib import RLlibPPO
    from rlsuite.config import load_config
    from rlsuite.training import make_envs

    agents, algorithms = {}, {}
    try:
        for mode in MODES:
            config = load_config(
                CONFIG,
                [
                    f"env.num_envs={num_envs}",
                    f"agent.num_env_runners={num_env_runners}",
                    "agent.num_cpus_per_env_runner=0.5",  # both runners alive at once on 2 cores
                    f"agent.gym_env_vectorize_mode={mode}",
                ],
            )
            envs = make_envs(config.env, 1)
            agents[mode] = RLlibPPO(config, envs)
            envs.close()
            algorithms[mode] = agents[mode].start()
            on_runner(algorithms[mode], num_env_runners > 0, warm_up)
        best = {mode: (0.0, 0.0) for mode in MODES}
        for _ in range(rounds):
            for mode in MODES:
                result = on_runner(algorithms[mode], num_env_runners > 0, lambda r: timed_sample(r, steps))
                best[mode] = max(best[mode], result)
        return best
    finally:
        for agent in agents.values():
            agent.close()


def measure_all(
    env_runners: list[int], num_envs: list[int], steps: int, rounds: int, command: list[str]
) -> dict:
    """Every (env runners, sub-envs) case: the raw record of the ``rllib`` part."""
    import ray

    load_before = os.getloadavg()[0]
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level=logging.ERROR)
    rows = []
    for runners in env_runners:
        for n in num_envs:
            results = measure(runners, n, steps, rounds)
            ratio = results["vector_entry_point"][0] / results["sync"][0]
            for mode in MODES:
                steps_per_s, env_share = results[mode]
                rows.append(
                    {
                        "env_runners": runners,
                        "num_envs": n,
                        "mode": mode,
                        "steps_per_s": steps_per_s,
                        "env_step_share": env_share,
                        "native_over_sync": ratio if mode == "vector_entry_point" else None,
                    }
                )
            print(f"{runners} env runners × {n} envs: native / sync = {ratio:.2f}", flush=True)
    ray.shutdown()
    measured = measured_here(command)
    measured["date"] = datetime.date.today().isoformat()
    measured["machine"] += (
        f"; shared (1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    return {
        "measured": measured,
        "ray_version": ray.__version__,
        "rounds": rounds,
        "steps": steps,
        "rows": rows,
    }


def report_lines(record: dict) -> list[str]:
    """The markdown section of RESULTS.md for one record."""
    lines = [
        "## RLlib PPO env-runner sampling: our native vector env against RLlib's sync wrapper",
        "",
        f"RLlib {record['ray_version']} PPO on rlsuite/Racetrack-v0 (state, discrete; "
        "`experiments/configs/rllib_ppo_racetrack.yaml`); best of "
        f"{record['rounds']} sample() calls of {record['steps']:,} env steps.",
        "",
        "| env runners | sub-envs each | vectorisation | env steps/s | env.step share | native / sync |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for r in record["rows"]:
        where = "0 (driver)" if r["env_runners"] == 0 else str(r["env_runners"])
        cell = f"**{r['native_over_sync']:.2f}×**" if r["native_over_sync"] is not None else ""
        lines.append(
            f"| {where} | {r['num_envs']} | {r['mode']} | {r['steps_per_s']:,.0f} | {r['env_step_share']:.0%} "
            f"| {cell} |"
        )
    lines += [
        "",
        "env steps/s: env steps of one `sample()` call over its wall time, in the process that samples. "
        "env.step share: the part of that time spent inside the vector env's `step()` (RLlib's "
        "`env_step_timer`); the rest (the RLModule's forward pass, the connector pipelines, RLlib's "
        "per-sub-env episode bookkeeping in Python) is RLlib's own and the same for both, which bounds what "
        "a faster env can gain. native / sync: the ratio of the two rows above it, measured side by side.",
        "",
    ]
    return lines
