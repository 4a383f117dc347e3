"""Env snapshots for exact resume: ``get_state`` / ``set_state`` of every native vector env, over the
registry and every variant of the contract tests (episodes ending mid-way, so autoreset is inside).
The snapshot is numpy arrays plus JSON-able numbers: a checkpoint stores it without pickle."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

from tests.envs.test_vector_contract import CASE_IDS, CASES, ENDINGS


def rollout(envs: gym.vector.VectorEnv, actions: list) -> list:
    return [tuple(np.copy(x) for x in envs.step(a)[:4]) for a in actions]


@pytest.mark.parametrize(("env_id", "variant"), CASES, ids=CASE_IDS)
def test_a_restored_snapshot_continues_exactly(env_id: str, variant: dict) -> None:
    def make() -> gym.vector.VectorEnv:
        kwargs = {**ENDINGS.get(env_id, {}), **variant}
        return gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", **kwargs)

    envs = make()
    envs.reset(seed=1)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(50)]
    rollout(envs, actions[:17])
    arrays, numbers = envs.get_state()
    json.dumps(numbers)  # JSON-able
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    expected = rollout(envs, actions[17:])

    other = make()  # another history: other seed, other steps
    other.reset(seed=99)
    rollout(other, actions[:5])
    other.set_state(arrays, numbers)
    got = rollout(other, actions[17:])
    for step, (a, b) in enumerate(zip(expected, got, strict=True)):
        for name, x, y in zip(("obs", "reward", "terminated", "truncated"), a, b, strict=True):
            assert np.array_equal(x, y), f"{name} differs {step} steps after the restore"
    assert any(t.any() or u.any() for _, _, t, u in expected), "no episode ended: autoreset untested"
    envs.close()
    other.close()


def test_a_snapshot_of_another_env_is_refused() -> None:
    racetrack = gym.make_vec("rlsuite/Racetrack-v0", num_envs=2, vectorization_mode="vector_entry_point")
    grid = gym.make_vec("rlsuite/GridRacetrack-v0", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="not a snapshot of this env"):
        grid.set_state(*racetrack.get_state())
