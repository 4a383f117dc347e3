"""Learning check for the robot envs: SB3 SAC vs a random and a still policy on Reacher or Pusher.

    python experiments/robot_learning.py                      # Reacher, 15k SAC steps (~40 s, 1 thread)
    python experiments/robot_learning.py --env rlsuite/Pusher-v0 --steps 50000

The same setting is asserted by ``tests/envs/test_reacher.py::test_sac_learns_to_reach_better_than_random``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import rlsuite  # noqa: F401  (registers the ids)


def mean_return(env_id: str, policy: Callable[[np.ndarray], np.ndarray], episodes: int = 10) -> float:
    """Mean undiscounted return over ``episodes`` evaluation episodes (seeds 10_000, 10_001, …)."""
    env = gym.make(env_id)
    total = 0.0
    for episode in range(episodes):
        obs, _ = env.reset(seed=10_000 + episode)
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += float(reward)
            done = terminated or truncated
    return total / episodes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--env", default="rlsuite/Reacher-v0")
    parser.add_argument("--steps", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import stable_baselines3 as sb3
    import torch

    torch.set_num_threads(1)
    space = gym.make(args.env).action_space
    space.seed(args.seed)
    random_return = mean_return(args.env, lambda obs: space.sample())
    still_return = mean_return(args.env, lambda obs: np.zeros(space.shape, dtype=np.float32))
    start = time.perf_counter()
    model = sb3.SAC(
        "MlpPolicy",
        gym.make(args.env),
        learning_rate=1e-3,
        gamma=0.95,
        learning_starts=500,
        train_freq=2,
        gradient_steps=1,
        policy_kwargs={"net_arch": [64, 64]},
        seed=args.seed,
        verbose=0,
    )
    model.learn(args.steps)
    seconds = time.perf_counter() - start
    trained_return = mean_return(args.env, lambda obs: model.predict(obs, deterministic=True)[0])
    print(f"{args.env}: SAC {args.steps} steps in {seconds:.0f} s")
    print(
        f"  mean return  random {random_return:.2f}  still {still_return:.2f}  trained {trained_return:.2f}"
    )


if __name__ == "__main__":
    main()
