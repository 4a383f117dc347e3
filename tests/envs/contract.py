"""Checks every rlsuite env must pass; the env test files call them for each variant.

Seeding semantics they enforce (shared by all our envs):

* ``single.reset(seed=s)`` and sub-env ``i`` of ``vec.reset(seed=s)`` (with ``s + i`` for row ``i``,
  the ``SyncVectorEnv`` convention) start identical episodes;
* later resets without a seed (the single env's ``reset()``, the vector env's NEXT_STEP autoreset)
  continue that row's own random stream, so the vector env stays equal to N single envs across
  episode boundaries, not just for the first episode.
"""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

import rlsuite  # noqa: F401  (registers the ids)


def _extreme_actions(space: gym.Space, rng: np.random.Generator, count: int) -> list[Any]:
    if isinstance(space, gym.spaces.Discrete):
        return [int(space.start + i % space.n) for i in range(count)]
    if isinstance(space, gym.spaces.Box):
        corners = []
        for _ in range(count):
            pick = rng.integers(0, 2, size=space.shape).astype(bool)
            corners.append(np.where(pick, space.high, space.low).astype(space.dtype))
        return corners
    return [space.sample() for _ in range(count)]


def _assert_obs_ok(space: gym.Space, obs: Any, where: str) -> None:
    assert space.contains(obs), f"{where}: observation outside {space}: {obs!r}"
    if isinstance(obs, np.ndarray) and np.issubdtype(obs.dtype, np.floating):
        assert np.all(np.isfinite(obs)), f"{where}: non-finite observation {obs!r}"


def rollout(env: gym.Env, actions: list[Any], seed: int) -> list[tuple]:
    """Step ``env`` through ``actions`` from ``reset(seed)``, resetting (unseeded) after each done."""
    obs, _ = env.reset(seed=seed)
    trace = [(np.array(obs, copy=True),)]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        trace.append((np.array(obs, copy=True), float(reward), bool(terminated), bool(truncated)))
        if terminated or truncated:
            obs, _ = env.reset()
            trace.append((np.array(obs, copy=True),))
    return trace


def assert_traces_equal(a: list[tuple], b: list[tuple], what: str) -> None:
    assert len(a) == len(b), f"{what}: rollouts differ in length"
    for t, (x, y) in enumerate(zip(a, b)):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v, err_msg=f"{what}: rollouts differ at entry {t}")


def check_env_contract(env_id: str, steps: int = 300, seed: int = 0, **kwargs: Any) -> None:
    """check_env without warnings, determinism, pickle round-trip, obs in space under any action."""
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
    rng = np.random.default_rng(seed)
    space = env.action_space
    space.seed(seed)
    random_actions = [space.sample() for _ in range(steps)]
    extreme_actions = _extreme_actions(space, rng, steps)

    # Same seed => identical rollouts, across episode boundaries.
    for actions in (random_actions, extreme_actions):
        first = rollout(gym.make(env_id, **kwargs), actions, seed)
        second = rollout(gym.make(env_id, **kwargs), actions, seed)
        assert_traces_equal(first, second, f"{env_id} {kwargs} same seed")

    # Observations stay in their space and finite, under random and extreme actions.
    for name, actions in (("random", random_actions), ("extreme", extreme_actions)):
        obs, _ = env.reset(seed=seed + 1)
        _assert_obs_ok(env.observation_space, obs, f"{env_id} {kwargs} reset")
        for t, action in enumerate(actions):
            obs, reward, terminated, truncated, info = env.step(action)
            _assert_obs_ok(env.observation_space, obs, f"{env_id} {kwargs} {name} step {t}")
            assert np.isfinite(reward), f"{env_id} {kwargs}: non-finite reward at {name} step {t}"
            assert isinstance(info, dict)
            if terminated or truncated:
                obs, _ = env.reset()
                _assert_obs_ok(env.observation_space, obs, f"{env_id} {kwargs} reset after {name} {t}")

    # Pickle round-trip mid-episode: the copy continues exactly like the original.
    env.reset(seed=seed)
    for action in random_actions[:10]:
        env.step(action)
    clone = pickle.loads(pickle.dumps(env))
    a = [env.step(action)[:4] for action in random_actions[10:30]]
    b = [clone.step(action)[:4] for action in random_actions[10:30]]
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            np.testing.assert_array_equal(u, v, err_msg=f"{env_id} {kwargs}: pickled copy diverged")
    env.close()


def check_vector_matches_single(
    env_id: str, num_envs: int = 4, steps: int = 300, seed: int = 0, **kwargs: Any
) -> None:
    """Native vector env of ``num_envs`` == that many single envs, step for step, across resets."""
    vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    singles = [gym.make(env_id, **kwargs) for _ in range(num_envs)]
    assert vec.metadata.get("autoreset_mode") == gym.vector.AutoresetMode.NEXT_STEP
    vec_obs, _ = vec.reset(seed=seed)
    for i, env in enumerate(singles):
        obs, _ = env.reset(seed=seed + i)
        np.testing.assert_array_equal(vec_obs[i], obs, err_msg=f"{env_id}: reset obs of env {i}")
    vec.action_space.seed(seed)
    needs_reset = np.zeros(num_envs, dtype=bool)
    episodes_ended = 0
    for t in range(steps):
        actions = vec.action_space.sample()
        vec_obs, rewards, terms, truncs, _ = vec.step(actions)
        for i, env in enumerate(singles):
            where = f"{env_id} {kwargs}: env {i}, step {t}"
            if needs_reset[i]:  # NEXT_STEP autoreset: action ignored, reward 0, not done
                obs, _ = env.reset()
                np.testing.assert_array_equal(vec_obs[i], obs, err_msg=f"{where} (autoreset obs)")
                assert rewards[i] == 0 and not terms[i] and not truncs[i], where
                continue
            obs, reward, terminated, truncated, _ = env.step(actions[i])
            np.testing.assert_array_equal(vec_obs[i], obs, err_msg=where)
            np.testing.assert_allclose(rewards[i], reward, rtol=1e-6, atol=1e-6, err_msg=where)
            assert terms[i] == terminated and truncs[i] == truncated, where
        needs_reset = terms | truncs
        episodes_ended += int(needs_reset.sum())
    vec.close()
    for env in singles:
        env.close()


def check_partial_reset(env_id: str, num_envs: int = 3, seed: int = 0, **kwargs: Any) -> None:
    """``reset(options={"reset_mask": m})`` resets only the masked rows and cancels their autoreset."""
    vec = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    obs0, _ = vec.reset(seed=seed)
    for _ in range(3):
        obs1, *_ = vec.step(vec.action_space.sample())
    mask = np.zeros(num_envs, dtype=bool)
    mask[0] = True
    options = {"reset_mask": mask}
    obs2, _ = vec.reset(options=options)
    assert "reset_mask" in options, "reset must not mutate the caller's options"
    np.testing.assert_array_equal(obs2[1:], obs1[1:])
    assert obs2.shape == obs0.shape
    vec.close()
