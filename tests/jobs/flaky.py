"""A FrozenLake that raises once: the sweep tests' injected trial failure.

Importing this module registers ``tests/FlakyFrozenLake-v0``; a config names it as
``tests.jobs.flaky:tests/FlakyFrozenLake-v0`` so that Ray's worker processes import it too.
The first sub-env to reach ``fail_at`` of its own steps raises, unless ``marker`` exists; it
creates ``marker`` first, so the failure happens once per marker file, in any process.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
from gymnasium.envs.toy_text.frozen_lake import FrozenLakeEnv


class FlakyFrozenLake(FrozenLakeEnv):
    def __init__(self, marker: str, fail_at: int = 2500, **kwargs) -> None:
        super().__init__(**kwargs)
        self.marker, self.fail_at, self.steps = Path(marker), fail_at, 0

    def step(self, action):
        self.steps += 1
        if self.steps == self.fail_at and not self.marker.exists():
            self.marker.touch()
            raise RuntimeError("injected failure (tests/jobs/flaky.py)")
        return super().step(action)


if "tests/FlakyFrozenLake-v0" not in gym.registry:
    gym.register("tests/FlakyFrozenLake-v0", entry_point=FlakyFrozenLake, max_episode_steps=100)
