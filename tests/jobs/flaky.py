"""A FrozenLake and a CartPole that raise once: the sweep tests' injected trial failures.

Importing this module registers ``tests/FlakyFrozenLake-v0`` and ``tests/FlakyCartPole-v0``; a config
names one as ``tests.jobs.flaky:tests/FlakyFrozenLake-v0`` so that Ray's worker processes import it
too. The first sub-env to reach ``fail_at`` of its own steps raises, unless ``marker`` exists; it
creates ``marker`` first, so the failure happens once per marker file, in any process.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv


class _FailsOnce:
    """Mixed into an env: its ``fail_at``-th step raises, unless ``marker`` exists (created first)."""

    def __init__(self, marker: str, fail_at: int = 2500, **kwargs) -> None:
        super().__init__(**kwargs)
        self.marker, self.fail_at, self.steps = Path(marker), fail_at, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.fail_at and not self.marker.exists():
            self.marker.touch()
            raise RuntimeError("injected failure (tests/jobs/flaky.py)")
        return super().step(action)


class FlakyFrozenLake(_FailsOnce, FrozenLakeEnv):
    pass


class FlakyCartPole(_FailsOnce, CartPoleEnv):
    pass


if "tests/FlakyFrozenLake-v0" not in gym.registry:
    gym.register("tests/FlakyFrozenLake-v0", entry_point=FlakyFrozenLake, max_episode_steps=100)
if "tests/FlakyCartPole-v0" not in gym.registry:
    gym.register("tests/FlakyCartPole-v0", entry_point=FlakyCartPole, max_episode_steps=500)
