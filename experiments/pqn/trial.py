"""One trial of the PQN study: time the whole `rlsuite train CONFIG` command, then evaluate the run's final
policy on held-out episodes and write what was measured as one JSON file.

    python experiments/pqn/trial.py CONFIG OUT.json [--episodes 100] [-- key=value ...]

Measured:

* ``wall_s`` — the whole `rlsuite train` subprocess (start-up, training, its periodic evaluations and
  checkpoints), and ``start_time`` (the epoch second it started), so the evaluation rows of the run's
  ``metrics.csv`` (stamped with epoch seconds) place the learning curve on the command's own clock;
* ``cpu_s`` — the CPU time (user + system) of that command and its children: on a machine shared with
  other jobs it moves much less with the load than ``wall_s`` does;
* ``final_return`` — the run's last training evaluation (``eval/return_mean`` at the last step: the final
  policy on the evaluation seeds, no checkpoint picked);
* the held-out evaluation — the final policy (``checkpoints/last``, not ``best``: nothing is selected)
  greedy for ``--episodes`` episodes on ``train.seed + TEST_SEED_OFFSET``, the seeds of ``rlsuite eval``
  that no training evaluation saw: ``test_return``, and ``crash_rate``, the fraction of those episodes
  that ended before the env's time limit (on Highway every such end is a collision or leaving the road;
  on CartPole and Racetrack a fall or a crash as well).

The evaluation runs after the timed command, in this process, on one thread as the trial itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rlsuite.study import time_train


def held_out(run_dir: Path, episodes: int) -> dict:
    """Greedy episodes of the run's final policy on the seeds of `rlsuite eval`: returns, lengths, crash rate."""
    import gymnasium as gym
    import numpy as np

    from rlsuite.api import load
    from rlsuite.rollout import run_episodes
    from rlsuite.training import TEST_SEED_OFFSET, make_agent_envs, seed_everything

    with load(run_dir, checkpoint="last") as policy:
        config = policy.config
        limit = gym.spec(config.env.id).max_episode_steps
        seed = config.train.seed + TEST_SEED_OFFSET
        seed_everything(seed)
        envs = make_agent_envs(config, min(config.train.eval_num_envs, episodes))
        try:
            result = run_episodes(
                lambda obs, starts: policy.predict(obs, episode_start=starts)[0], envs, episodes, seed
            )
        finally:
            envs.close()
    lengths = np.asarray(result.lengths)
    return {
        "test_seed": seed,
        "test_episodes": episodes,
        "test_return": float(np.mean(result.returns)),
        "test_length": float(np.mean(lengths)),
        "time_limit": limit,
        "crash_rate": float(np.mean(lengths < limit)) if limit else None,
    }


def final_return(run_dir: Path) -> tuple[int, float]:
    """(step, eval/return_mean) of the run's last training evaluation."""
    import csv

    with (run_dir / "metrics.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["tag"] == "eval/return_mean"]
    last = max(rows, key=lambda r: int(r["step"]))
    return int(last["step"]), float(last["value"])


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("config", help="the YAML config `rlsuite train` runs")
    cli.add_argument("out", type=Path, help="the JSON file this trial writes")
    cli.add_argument("--episodes", type=int, default=100, help="held-out greedy episodes (0: none)")
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = cli.parse_args(argv[:split])
    args.overrides = argv[split + 1 :]  # key=value overrides for `rlsuite train`, after --

    timed = time_train(args.config, args.overrides)
    run_dir = timed.run_dir
    steps, final = final_return(run_dir)
    result = {
        "run_dir": str(run_dir),
        "start_time": timed.start_time,
        "wall_s": timed.wall_s,
        "cpu_s": timed.cpu_s,
        "steps": steps,
        "final_return": final,
    }
    if args.episodes > 0:
        result.update(held_out(run_dir, args.episodes))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
