"""The vector-env adapter: SB3's ``VecEnv`` over our native vector envs (:class:`SB3VecEnv`) and the
unpacking of a Gymnasium vector ``info`` into SB3's per-env dicts (:func:`unpack_infos`).

**Envs.** For our ids (``rlsuite/…``) SB3 steps the native vector env it is given through
:class:`SB3VecEnv`: one batched env, no per-env Python wrapper, no subprocesses. Other ids (CartPole,
Pendulum, MuJoCo) get SB3's usual ``DummyVecEnv`` of ``gymnasium.make(id, **env.kwargs)``
(``stable_baselines3.common.env_util.make_vec_env``), seeded with ``train.seed``; the agent
(:mod:`rlsuite.agents.sb3.agents`) picks which.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices

__all__ = ["SB3VecEnv", "unpack_infos"]


class SB3VecEnv(VecEnv):
    """SB3's ``VecEnv`` over a Gymnasium ``VectorEnv`` with NEXT_STEP autoreset and
    ``reset(options={"reset_mask": m})`` partial resets (our native vector envs, Gymnasium's
    ``SyncVectorEnv``), in one process and without a Python wrapper per sub-env.

    SB3's semantics (those of its ``DummyVecEnv``): the step that ends an episode returns the reset
    observation, with the terminal one in ``infos[i]["terminal_observation"]`` and
    ``infos[i]["TimeLimit.truncated"] = truncated and not terminated``; the reset's info goes to
    ``self.reset_infos[i]``. The reset is a masked reset of the finished sub-envs on the same step,
    so SB3 never sees NEXT_STEP's dummy reset transition. Rewards are float32, dones bool, infos a
    list of ``num_envs`` dicts (the vector env's ``_key`` masks say which sub-envs have a key).

    Seeding as SB3 expects: ``seed(s)`` then ``reset()`` seeds sub-env ``i`` with ``s + i``, the
    episodes of ``DummyVecEnv`` over the single env seeded the same way.

    Attributes and methods: with ``SyncVectorEnv`` ``get_attr``/``set_attr``/``env_method`` reach the
    sub-envs one by one. A native vector env's sub-envs are rows of one batched core, one Python
    object: ``get_attr`` returns the vector env's attribute once per index (``observation_space`` and
    ``action_space`` are the single-env spaces); ``set_attr`` and ``env_method`` act on that object
    once and only for all indices. The native sub-envs are wrapped in nothing;
    ``env_is_wrapped(TimeLimit)`` is True when the vector env truncates episodes, as a ``TimeLimit``
    would.
    """

    def __init__(self, venv: gym.vector.VectorEnv) -> None:
        mode = venv.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if mode != AutoresetMode.NEXT_STEP:
            raise ValueError(
                f"SB3VecEnv needs a vector env with NEXT_STEP autoreset and reset_mask resets; "
                f"{type(venv).__name__} uses {mode}"
            )
        self.venv = venv  # before VecEnv.__init__, which reads render_mode through get_attr
        self._sub_envs: Sequence[gym.Env] | None = getattr(venv, "envs", None)  # SyncVectorEnv's
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        extra = {k: v for k, v in venv.metadata.items() if k not in ("autoreset_mode", "render_modes")}
        self.metadata = {**extra, **self.metadata}  # SB3's render_modes, the env's render_fps
        self._actions: np.ndarray | None = None

    # ---------------------------------------------------------------- reset and step
    def reset(self) -> Any:
        n = self.num_envs
        seeds = self._seeds
        if all(s is None for s in seeds):
            seed: int | list[int | None] | None = None
        elif all(s is not None for s in seeds) and list(seeds) == [seeds[0] + i for i in range(n)]:
            seed = seeds[0]  # SB3's seed(s): sub-env i gets s + i, as the vector env's reset(seed=s) does
        else:
            seed = list(seeds)
        groups: list[tuple[dict[str, Any], np.ndarray]] = []  # sub-envs that share reset options
        for i, options in enumerate(self._options):
            for group_options, mask in groups:
                if group_options == options:
                    mask[i] = True
                    break
            else:
                groups.append((options, np.arange(n) == i))
        if len(groups) == 1:
            obs, info = self.venv.reset(seed=seed, options=dict(groups[0][0]) or None)
            self.reset_infos = unpack_infos(info, n)
        else:
            for options, mask in groups:
                obs, info = self.venv.reset(seed=seed, options={**options, "reset_mask": mask})
                unpacked = unpack_infos(info, n)
                for i in np.flatnonzero(mask):
                    self.reset_infos[i] = unpacked[i]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool)
        dones = terminated | truncated
        infos = unpack_infos(info, self.num_envs)
        for step_info, time_limit in zip(infos, (truncated & ~terminated).tolist()):
            step_info["TimeLimit.truncated"] = time_limit
        if dones.any():
            rows = np.flatnonzero(dones)
            for i in rows:
                infos[i]["terminal_observation"] = _obs_row(obs, i)
            # Same-step autoreset: the finished sub-envs start over now (their pending NEXT_STEP
            # reset is cancelled), so the next step is a real transition for every sub-env.
            obs, reset_info = self.venv.reset(options={"reset_mask": dones})
            reset_infos = unpack_infos(reset_info, self.num_envs)
            for i in rows:
                self.reset_infos[i] = reset_infos[i]
        return obs, np.asarray(rewards, dtype=np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    # ---------------------------------------------------------------- rendering
    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is `rgb_array` to "
                "obtain images.",
                stacklevel=2,
            )
            return [None] * self.num_envs
        return list(self.venv.render())

    # ---------------------------------------------------------------- attributes and methods
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        rows = list(self._get_indices(indices))
        if self._sub_envs is not None:
            return [self._sub_envs[i].get_wrapper_attr(attr_name) for i in rows]
        if attr_name in ("observation_space", "action_space"):
            attr_name = "single_" + attr_name
        value = getattr(self.venv, attr_name)
        return [value] * len(rows)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        if self._sub_envs is not None:
            for i in self._get_indices(indices):
                setattr(self._sub_envs[i], attr_name, value)
            return
        self._check_all(indices, "set_attr")
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs
    ) -> list:
        if self._sub_envs is not None:
            return [
                self._sub_envs[i].get_wrapper_attr(method_name)(*method_args, **method_kwargs)
                for i in self._get_indices(indices)
            ]
        self._check_all(indices, "env_method")
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * self.num_envs

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        rows = list(self._get_indices(indices))
        if self._sub_envs is not None:
            return [is_wrapped(self._sub_envs[i], wrapper_class) for i in rows]
        time_limit = issubclass(wrapper_class, gym.wrappers.TimeLimit)
        limited = time_limit and getattr(self.venv, "max_episode_steps", None) is not None
        return [limited] * len(rows)

    def _check_all(self, indices: VecEnvIndices, what: str) -> None:
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"SB3VecEnv.{what}: the sub-envs of {type(self.venv).__name__} are rows of one batched env; "
                "it can only act on all of them (indices=None)"
            )


def unpack_infos(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """A Gymnasium vector info (a dict of ``(n,)`` arrays with ``_key`` masks, nested dicts allowed)
    as ``n`` per-env dicts, each with the keys its mask marks, values as the single env gives them."""
    full_keys, full_columns, partial = [], [], []
    for key, value in info.items():
        if key.startswith("_") and key[1:] in info:
            continue  # a mask
        mask = info.get("_" + key)
        every = mask is None or bool(np.all(mask))
        if every and isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype != object:
            full_keys.append(key)
            full_columns.append(value.tolist())  # Python scalars, as the single env reports them
        else:
            partial.append((key, value, range(num_envs) if every else np.flatnonzero(mask).tolist()))
    if full_keys:  # the common case: every sub-env reports the key (one dict per sub-env in one go)
        infos = [dict(zip(full_keys, row)) for row in zip(*full_columns)]
    else:
        infos = [{} for _ in range(num_envs)]
    for key, value, rows in partial:
        if isinstance(value, dict):
            nested = unpack_infos(value, num_envs)
            for i in rows:
                infos[i][key] = nested[i]
        elif isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype != object:
            values = value.tolist()
            for i in rows:
                infos[i][key] = values[i]
        elif isinstance(value, np.ndarray) and value.dtype != object:
            for i in rows:
                infos[i][key] = value[i].copy()
        else:
            for i in rows:
                infos[i][key] = value[i]
    return infos


def _obs_row(obs: Any, i: int) -> Any:
    if isinstance(obs, dict):
        return {key: _obs_row(value, i) for key, value in obs.items()}
    row = obs[i]
    return row.copy() if isinstance(row, (np.ndarray, np.generic)) else row
