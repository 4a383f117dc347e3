"""A bad constructor kwarg is a clear ValueError naming it, for single and vector envs alike, and the
half-built env is collected without errors (no AttributeError from close() at garbage collection).
render_mode="human" without pygame says how to install it."""

import gc
import sys

import gymnasium as gym
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.envs.registration import ENV_SPECS

IDS = [spec.id for spec in ENV_SPECS]  # every registered env


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
def test_bad_obs_type_is_a_value_error_naming_the_kwarg(env_id: str, vector: bool) -> None:
    with pytest.raises(ValueError, match="obs_type"):
        if vector:
            gym.make_vec(env_id, num_envs=2, obs_type="sonar")
        else:
            gym.make(env_id, obs_type="sonar")
    gc.collect()


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("vector", [False, True], ids=["single", "vector"])
def test_human_render_without_pygame_names_the_install(env_id: str, vector: bool, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pygame", None)  # `import pygame` now fails, installed or not
    with pytest.raises(gym.error.DependencyNotInstalled, match="pip install pygame"):
        if vector:
            gym.make_vec(env_id, num_envs=2, render_mode="human")
        else:
            gym.make(env_id, render_mode="human")
    gc.collect()
