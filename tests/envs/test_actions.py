"""Action validation (``rlsuite.envs.core.ActionParser``) under every env: a valid action is never
formatted into a message (that cost was 78 % of a Reacher step once), and a bad one raises an error
that shows it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers our ids)
from rlsuite.envs.registration import ENV_SPECS
from rlsuite.envs.rng import BatchRNG, next_integer, next_unit

VARIANTS = [(spec.id, {}) for spec in ENV_SPECS] + [
    (spec.id, {"action_type": "continuous"}) for spec in ENV_SPECS if "Grid" not in spec.id
]


class Unprintable(list):
    """A valid action that fails the test if anything formats it."""

    def __repr__(self) -> str:
        raise AssertionError("a valid action was formatted on the hot path")

    __str__ = __repr__


class UnprintableInt(int):
    def __repr__(self) -> str:
        raise AssertionError("a valid action was formatted on the hot path")

    __str__ = __repr__


def _valid(space: gym.Space, seed: int):
    space.seed(seed)
    action = space.sample()
    if isinstance(space, gym.spaces.Discrete):
        return UnprintableInt(int(action))
    return Unprintable(action.tolist())


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_valid_actions_are_never_formatted(env_id: str, kwargs: dict) -> None:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    for seed in range(5):
        env.step(_valid(env.action_space, seed))
    vec = gym.make_vec(env_id, num_envs=3, **kwargs)
    vec.reset(seed=0)
    space = vec.single_action_space
    if isinstance(space, gym.spaces.Discrete):
        vec.step(Unprintable([int(_valid(space, s)) for s in range(3)]))
    else:
        vec.step(Unprintable([list(_valid(space, s)) for s in range(3)]))
    env.close()
    vec.close()


@pytest.mark.parametrize(("env_id", "kwargs"), VARIANTS)
def test_a_bad_action_error_shows_the_action(env_id: str, kwargs: dict) -> None:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    space = env.action_space
    bad = 10**6 if isinstance(space, gym.spaces.Discrete) else np.full(space.shape, 7.25)
    with pytest.raises(ValueError, match="must be") as error:
        env.step(bad)
    assert repr(bad) in str(error.value)
    vec = gym.make_vec(env_id, num_envs=2, **kwargs)
    vec.reset(seed=0)
    bad_batch = (
        np.array([0, 10**6]) if isinstance(space, gym.spaces.Discrete) else np.full((2, *space.shape), np.nan)
    )
    with pytest.raises(ValueError, match="must be") as error:
        vec.step(bad_batch)
    assert repr(bad_batch) in str(error.value)


def test_kernel_draws_are_the_batch_rng_draws() -> None:
    """``next_unit`` / ``next_integer`` (for kernels that draw while they step a row) give a row the
    very numbers ``BatchRNG.uniform`` / ``integers`` give it."""
    from numba import njit

    @njit
    def draw(state, rows, integer, high, out):
        for i in range(rows.shape[0]):
            out[i] = next_integer(state, rows[i], 0, high) if integer else next_unit(state, rows[i])

    batch, kernel = BatchRNG(9), BatchRNG(9)
    seeds = np.arange(9, dtype=np.uint64) * 977 + 3
    batch.seed(np.arange(9), seeds)
    kernel.seed(np.arange(9), seeds)
    rows = np.array([0, 4, 8])
    for high in (2, 7, 1000, 2**62):
        got = np.empty(3)
        draw(kernel.state, rows, False, high, got)
        np.testing.assert_array_equal(got, batch.uniform(rows))
        got_int = np.empty(3, np.int64)
        draw(kernel.state, rows, True, high, got_int)
        np.testing.assert_array_equal(got_int, batch.integers(rows, 0, high))
    np.testing.assert_array_equal(kernel.state, batch.state)
