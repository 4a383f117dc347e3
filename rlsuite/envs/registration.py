"""The one table of rlsuite environment ids and their entry points.

Every id gets a single-env ``entry_point`` and a native ``vector_entry_point`` so that
``gymnasium.make_vec(id, num_envs=N)`` builds our batched vector env instead of N copies.
Variants (observation type, action type, sizes, traffic, randomisation) are constructor kwargs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym


@dataclass(frozen=True)
class EnvSpec:
    id: str
    entry_point: str
    vector_entry_point: str
    max_episode_steps: int | None
    kwargs: dict[str, Any] = field(default_factory=dict)


ENV_SPECS: tuple[EnvSpec, ...] = (
    EnvSpec(
        "rlsuite/GridRacetrack-v0",
        "rlsuite.envs.driving.grid_racetrack:GridRacetrackEnv",
        "rlsuite.envs.driving.grid_racetrack:GridRacetrackVectorEnv",
        max_episode_steps=1000,
    ),
    EnvSpec(
        "rlsuite/Racetrack-v0",
        "rlsuite.envs.driving.racetrack:RacetrackEnv",
        "rlsuite.envs.driving.racetrack:RacetrackVectorEnv",
        max_episode_steps=1000,
    ),
    EnvSpec(
        "rlsuite/Highway-v0",
        "rlsuite.envs.driving.highway:HighwayEnv",
        "rlsuite.envs.driving.highway:HighwayVectorEnv",
        max_episode_steps=40 * 5,
    ),
    EnvSpec(
        "rlsuite/Reacher-v0",
        "rlsuite.envs.robot.reacher:ReacherEnv",
        "rlsuite.envs.robot.reacher:ReacherVectorEnv",
        max_episode_steps=100,
    ),
    EnvSpec(
        "rlsuite/Pusher-v0",
        "rlsuite.envs.robot.pusher:PusherEnv",
        "rlsuite.envs.robot.pusher:PusherVectorEnv",
        max_episode_steps=200,
    ),
)


def register_envs() -> None:
    """Register every rlsuite env with Gymnasium (idempotent; modules are imported lazily)."""
    for spec in ENV_SPECS:
        if spec.id in gym.registry:
            continue
        gym.register(
            id=spec.id,
            entry_point=spec.entry_point,
            vector_entry_point=spec.vector_entry_point,
            max_episode_steps=spec.max_episode_steps,
            kwargs=dict(spec.kwargs),
        )


def registered_ids() -> list[str]:
    """Ids of the rlsuite envs that are registered with Gymnasium."""
    return [spec.id for spec in ENV_SPECS if spec.id in gym.registry]
