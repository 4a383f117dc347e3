"""render_mode="human" really opens and draws a pygame window (SDL's dummy video driver: no screen
needed), for the single and the native vector env, and close() shuts it down."""

import os

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.envs.registration import ENV_SPECS

pygame = pytest.importorskip("pygame")

IDS = [spec.id for spec in ENV_SPECS]  # every registered env


@pytest.fixture(autouse=True)
def dummy_display(monkeypatch):
    monkeypatch.setitem(os.environ, "SDL_VIDEODRIVER", "dummy")
    monkeypatch.setitem(os.environ, "SDL_AUDIODRIVER", "dummy")
    yield
    pygame.quit()


@pytest.mark.parametrize("env_id", IDS)
def test_human_render_draws_a_window_and_closes(env_id: str) -> None:
    env = gym.make(env_id, render_mode="human")
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(3):
        env.step(env.action_space.sample())
    surface = pygame.display.get_surface()
    assert surface is not None and surface.get_width() > 0
    pixels = pygame.surfarray.array3d(surface)
    assert pixels.std() > 0  # something was drawn, not a blank window
    env.close()
    assert not pygame.display.get_init() or pygame.display.get_surface() is None


@pytest.mark.parametrize("env_id", IDS)
def test_vector_env_human_render_tiles_the_sub_envs_in_one_window(env_id: str) -> None:
    envs = gym.make_vec(env_id, num_envs=2, render_mode="human")
    envs.reset(seed=0)
    envs.step(np.stack([envs.single_action_space.sample() for _ in range(2)]))
    surface = pygame.display.get_surface()
    single = gym.make(env_id, render_mode="rgb_array")
    single.reset(seed=0)
    height, width = single.render().shape[:2]
    assert surface.get_size() == (2 * width, 2 * height)  # 2 sub-envs in a 2 x 2 grid
    assert envs.render() == (None, None)  # what SyncVectorEnv returns in "human" mode
    envs.close()
