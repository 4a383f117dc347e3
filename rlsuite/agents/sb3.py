"""Stable-Baselines3 baselines behind rlsuite's agent protocol: ``agent.algo: sb3.ppo`` (and ``sb3.a2c``,
``sb3.dqn``, ``sb3.sac``, ``sb3.td3``) train SB3's own algorithms inside ``rlsuite train``, with the same
run directory, scalar names, evaluation, checkpoints and ``rlsuite eval`` as our agents.

**Hyper-parameters** are SB3's constructor arguments under SB3's names and defaults. Each algorithm's
``Params`` dataclass is generated from the constructor's signature (:func:`params_class`), so
``rlsuite.config`` validates it like any other schema before anything runs: an unknown key names the
key, the closest allowed one and all allowed ones; a wrong type names the key, the value and what is
expected; ``policy_kwargs`` is checked against the policy's own signature (``net_arch`` shape,
``activation_fn`` by name: ``relu``, ``tanh``, …). What rlsuite sets itself is refused with where it
comes from: ``seed`` (``train.seed``), ``device`` (``train.device``), ``env`` (the ``env`` section),
``verbose`` and ``tensorboard_log`` (SB3's output goes into the run directory). Values a YAML file
cannot hold are left out: schedules (callables; give a constant) and buffer classes. ``action_noise``
(SAC, TD3) is a mapping ``{type: normal | ornstein_uhlenbeck, sigma: 0.1}``. ``policy: null`` (the
default) picks ``CnnPolicy`` for image observations, ``MultiInputPolicy`` for dict observations and
``MlpPolicy`` otherwise. One key is rlsuite's own, as in DQN's config: ``torch_threads`` (default 1;
0 keeps torch's default of one thread per core, many times slower for small networks on a busy CPU).

**Budget.** SB3 completes every collection it starts (``n_steps`` × ``env.num_envs`` env steps for PPO
and A2C, ``train_freq`` × ``env.num_envs`` off-policy), so a run ends at the first whole collection at
or past ``train.total_steps``; a ``total_steps`` smaller than one collection is a
:class:`~rlsuite.config.ConfigError` before anything runs.

**Envs.** For our ids (``rlsuite/…``) SB3 steps the native vector env it is given through
:class:`SB3VecEnv`: one batched env, no per-env Python wrapper, no subprocesses. Other ids (CartPole,
Pendulum, MuJoCo) get SB3's usual ``DummyVecEnv`` of ``gymnasium.make(id, **env.kwargs)``
(``stable_baselines3.common.env_util.make_vec_env``), seeded with ``train.seed``.

**Logging.** SB3's logger is replaced by one whose only output forwards ``train/*`` scalars into the
run through ``monitor.log``: ``train/learning_rate`` → ``charts/learning_rate``, ``train/n_updates`` →
``charts/n_updates``, DQN's ``rollout/exploration_rate`` → ``charts/epsilon``, ``train/<name>`` →
``losses/<name>`` otherwise (``losses/value_loss``, ``losses/actor_loss``, …). Episode returns, SPS and
evaluations come from rlsuite's monitor like every agent's; nothing is printed and no separate
TensorBoard directory is written.

**Pretrained encoders** (``encoder: {checkpoint: driving, …}``, on our envs): frozen with
``store_features`` (the default) the policy sees the feature env's features, like every agent; otherwise
the encoder is the policy's features extractor (:class:`PretrainedEncoder`, on frames stacked by SB3's
``VecFrameStack``), fine-tuned with the policy at its learning rate (``lr_scale`` must be 1: SB3 has
one optimiser) or kept frozen.

**Checkpoints** are SB3's own ``model.zip`` (plus ``agent.json``: algo, step). SB3's zip files hold
pickled Python objects that are unpickled on load, unlike our agents' safetensors checkpoints: load
only checkpoints you wrote yourself. Off-policy replay buffers are not saved; a resumed SAC/TD3/DQN run
refills its buffer.

Python use::

    from rlsuite.config import load_config
    from rlsuite.training import train, evaluate_run

    run_dir = train(load_config("experiments/configs/sb3_ppo_racetrack.yaml"))
    print(evaluate_run(run_dir))
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import re
import types
import typing
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Union

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common import torch_layers
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import is_wrapped, make_vec_env
from stable_baselines3.common.logger import KVWriter, Logger
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices

from rlsuite.agents.base import Agent, StepMonitor, is_single_observation, memory_checked, resolve_device
from rlsuite.config import ConfigError, hp

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = [
    "A2CParams",
    "DQNParams",
    "PPOParams",
    "SACParams",
    "SB3A2C",
    "SB3Agent",
    "SB3DQN",
    "SB3PPO",
    "SB3SAC",
    "SB3TD3",
    "SB3VecEnv",
    "TD3Params",
    "params_class",
]

CHECKPOINT_FORMAT = 1


# ============================================================================================
# The vector-env adapter
# ============================================================================================
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


# ============================================================================================
# Hyper-parameters: one dataclass per algorithm, generated from SB3's constructor
# ============================================================================================
REJECTED_KEYS = {
    "env": "the env comes from the env section (env.id, env.num_envs, env.kwargs)",
    "seed": "rlsuite seeds SB3, the envs and the evaluation from train.seed; set train.seed",
    "device": "rlsuite picks the device from train.device (auto, cpu, cuda); set train.device",
    "verbose": "SB3's console output is replaced by rlsuite's progress display (log.progress) and run logs",
    "tensorboard_log": (
        "SB3's scalars are written into the run directory (log.run_dir) under rlsuite's names; "
        "no separate TensorBoard directory"
    ),
    "_init_setup_model": "internal to SB3",
    "replay_buffer_class": "a Python class cannot come from a config; replay_buffer_kwargs is supported",
    "rollout_buffer_class": "a Python class cannot come from a config; rollout_buffer_kwargs is supported",
}

POLICIES = ("MlpPolicy", "CnnPolicy", "MultiInputPolicy")

# rlsuite's own keys beside SB3's constructor arguments (not passed to SB3), as DQN's config has them.
RLSUITE_FIELDS = [
    (
        "torch_threads",
        int,
        hp(
            1,
            "torch CPU threads when training on CPU (0: torch's default); 1 is fastest for small nets "
            "and fair on shared machines; SB3: torch's default (one per core)",
            ge=0,
        ),
    ),
]

BOUNDS: dict[str, dict[str, float]] = {
    "learning_rate": {"gt": 0},
    "gamma": {"ge": 0, "le": 1},
    "gae_lambda": {"ge": 0, "le": 1},
    "n_steps": {"ge": 1},
    "batch_size": {"ge": 1},
    "n_epochs": {"ge": 1},
    "buffer_size": {"ge": 1},
    "learning_starts": {"ge": 0},
    "tau": {"gt": 0, "le": 1},
    "clip_range": {"gt": 0},
    "clip_range_vf": {"gt": 0},
    "target_kl": {"gt": 0},
    "ent_coef": {"ge": 0},
    "vf_coef": {"ge": 0},
    "max_grad_norm": {"gt": 0},
    "rms_prop_eps": {"gt": 0},
    "gradient_steps": {"ge": -1},
    "target_update_interval": {"ge": 1},
    "exploration_fraction": {"ge": 0, "le": 1},
    "exploration_initial_eps": {"ge": 0, "le": 1},
    "exploration_final_eps": {"ge": 0, "le": 1},
    "sde_sample_freq": {"ge": -1},
    "stats_window_size": {"ge": 1},
    "policy_delay": {"ge": 1},
    "target_policy_noise": {"ge": 0},
    "target_noise_clip": {"ge": 0},
}

ACTIVATIONS: dict[str, type[torch.nn.Module]] = {
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "elu": torch.nn.ELU,
    "selu": torch.nn.SELU,
    "gelu": torch.nn.GELU,
    "silu": torch.nn.SiLU,
    "leaky_relu": torch.nn.LeakyReLU,
    "sigmoid": torch.nn.Sigmoid,
}
FEATURE_EXTRACTORS = ("FlattenExtractor", "NatureCNN", "CombinedExtractor")
NOISE_TYPES = ("normal", "ornstein_uhlenbeck")


def _config_type(name: str, annotation: Any, default: Any) -> Any:
    """The config type of an SB3 argument: what a YAML value can be (no callables or classes)."""
    if name == "policy":
        return Union[Literal[POLICIES], None]  # noqa: UP007  (a runtime type, built from a tuple)
    if name == "action_noise":
        return Union[dict[str, Any], None]  # noqa: UP007
    if name == "train_freq":
        return Union[int, tuple[int, Literal["step", "episode"]]]  # noqa: UP007
    if isinstance(annotation, str) or annotation is inspect.Parameter.empty:  # unevaluated: the default's
        return type(default) if type(default) in (bool, int, float, str) else Any
    origin = typing.get_origin(annotation)
    options = typing.get_args(annotation) if origin in (Union, types.UnionType) else (annotation,)
    kept = []
    for option in options:
        option_origin = typing.get_origin(option)
        if option_origin is type or option_origin is Callable or option is torch.device:
            continue  # schedules, classes: not expressible in YAML
        kept.append(option)
    kept.sort(key=lambda tp: tp is str)  # numbers first: "1e-3" read as a string by YAML becomes a float
    if not kept:
        return Any
    return kept[0] if len(kept) == 1 else Union[tuple(kept)]  # noqa: UP007


def _param_docs(sb3_class: type) -> dict[str, str]:
    docs = {}
    for match in re.finditer(r":param (\w+): (.*?)(?=\n\s*:param|\Z)", sb3_class.__doc__ or "", re.DOTALL):
        docs[match.group(1)] = " ".join(match.group(2).split())
    return docs


def params_class(sb3_class: type[BaseAlgorithm], name: str) -> type:
    """A dataclass of ``sb3_class``'s constructor arguments (SB3's names and defaults), validated by
    :func:`rlsuite.config.build` (types, ranges) and its ``__post_init__`` (cross-field checks,
    ``policy_kwargs``, ``action_noise``); keys rlsuite sets itself are refused with the reason."""
    docs = _param_docs(sb3_class)
    docs["policy"] = (
        "policy class: null picks CnnPolicy for images, MultiInputPolicy for dicts, else MlpPolicy"
    )
    docs["action_noise"] = "exploration noise {type: normal | ornstein_uhlenbeck, sigma: float}; null: none"
    fields = []
    for arg, parameter in inspect.signature(sb3_class.__init__).parameters.items():
        if arg == "self" or arg in REJECTED_KEYS:
            continue
        default = None if arg == "policy" else parameter.default
        if default is inspect.Parameter.empty:
            raise TypeError(f"{sb3_class.__name__}.{arg} has no default; rlsuite cannot generate its schema")
        field = hp(default, docs.get(arg, ""), **BOUNDS.get(arg, {}))
        fields.append((arg, _config_type(arg, parameter.annotation, default), field))
    fields.extend(RLSUITE_FIELDS)
    rejected = {
        k: v for k, v in REJECTED_KEYS.items() if k in inspect.signature(sb3_class.__init__).parameters
    }
    cls = dataclasses.make_dataclass(
        name,
        fields,
        namespace={
            "__post_init__": _validate_params,
            "__doc__": f"Stable-Baselines3 {sb3_class.__name__} hyper-parameters (SB3's names and defaults).",
            "__module__": __name__,
            "sb3_class": sb3_class,
            "config_rejected_keys": rejected,
        },
    )
    return cls


def _validate_params(self: Any) -> None:
    """Cross-field checks the field types cannot express (messages start with the key)."""
    ent_coef = getattr(self, "ent_coef", None)
    if isinstance(ent_coef, str) and not re.fullmatch(r"auto(_\d*\.?\d+([eE][+-]?\d+)?)?", ent_coef):
        raise ConfigError(f"ent_coef: got {ent_coef!r}; expected a number, 'auto' or 'auto_<initial value>'")
    target_entropy = getattr(self, "target_entropy", None)
    if isinstance(target_entropy, str) and target_entropy != "auto":
        raise ConfigError(f"target_entropy: got {target_entropy!r}; expected a number or 'auto'")
    if getattr(self, "action_noise", None) is not None:
        _check_action_noise(self.action_noise)
    if self.policy_kwargs is not None:
        policy_class = type(self).sb3_class.policy_aliases[self.policy or "MlpPolicy"]
        _check_policy_kwargs(self.policy_kwargs, policy_class)


def _check_action_noise(noise: dict[str, Any]) -> None:
    allowed = {"type", "sigma", "theta", "dt"}
    unknown = sorted(set(noise) - allowed)
    if unknown:
        raise ConfigError(
            f"action_noise.{unknown[0]}: unknown key; allowed keys: {', '.join(sorted(allowed))}"
        )
    if noise.get("type") not in NOISE_TYPES:
        raise ConfigError(f"action_noise.type: got {noise.get('type')!r}; allowed: {', '.join(NOISE_TYPES)}")
    sigma = noise.get("sigma", 0.1)
    values = sigma if isinstance(sigma, list) else [sigma]
    if not values or not all(_is_number(v) and v >= 0 for v in values):
        raise ConfigError(f"action_noise.sigma: got {sigma!r}; expected a number >= 0 (or one per action)")
    for key in ("theta", "dt"):
        if key in noise and not (_is_number(noise[key]) and noise[key] > 0):
            raise ConfigError(f"action_noise.{key}: got {noise[key]!r}; expected a number > 0")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_policy_kwargs(kwargs: dict[str, Any], policy_class: type) -> None:
    signature = inspect.signature(policy_class.__init__).parameters
    set_elsewhere = ("self", "observation_space", "action_space", "lr_schedule", "use_sde")
    allowed = [k for k in signature if k not in set_elsewhere]
    for key, value in kwargs.items():
        where = f"policy_kwargs.{key}"
        if key == "use_sde":
            raise ConfigError(f"{where}: the algorithm sets it; use agent.use_sde")
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{where}: unknown key for {policy_class.__name__}{hint}; allowed keys: {', '.join(allowed)}"
            )
        default = signature[key].default
        if key == "net_arch":
            _check_net_arch(value, policy_class)
        elif key == "activation_fn":
            _activation(value, where)
        elif key == "optimizer_class":
            _optimizer(value, where)
        elif key == "features_extractor_class":
            if value not in FEATURE_EXTRACTORS:
                raise ConfigError(f"{where}: got {value!r}; allowed: {', '.join(FEATURE_EXTRACTORS)}")
        elif key.endswith("_kwargs"):
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"{where}: got {value!r}; expected a mapping")
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: got {value!r} ({type(value).__name__}); expected true or false")
        elif isinstance(default, (int, float)) and not _is_number(value):
            raise ConfigError(f"{where}: got {value!r} ({type(value).__name__}); expected a number")


def _check_net_arch(value: Any, policy_class: type) -> None:
    heads = {"ActorCriticPolicy": ("pi", "vf"), "SACPolicy": ("pi", "qf"), "TD3Policy": ("pi", "qf")}
    keys = next((v for k, v in heads.items() if any(c.__name__ == k for c in policy_class.__mro__)), None)

    def layers(sizes: Any) -> bool:
        return isinstance(sizes, list) and all(_is_number(s) and int(s) == s and s >= 1 for s in sizes)

    shape = "a list of layer sizes, e.g. [64, 64]"
    if keys is not None:
        shape += f", or a mapping {{{keys[0]}: [...], {keys[1]}: [...]}}"
    if isinstance(value, dict) and keys is not None:
        if set(value) <= set(keys) and all(layers(v) for v in value.values()):
            return
    elif layers(value):
        return
    raise ConfigError(f"policy_kwargs.net_arch: got {value!r}; expected {shape}")


def _activation(name: Any, where: str) -> type[torch.nn.Module]:
    key = str(name).removeprefix("nn.").removeprefix("torch.nn.").lower().replace("leakyrelu", "leaky_relu")
    if not isinstance(name, str) or key not in ACTIVATIONS:
        raise ConfigError(f"{where}: got {name!r}; allowed: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]


def _optimizer(name: Any, where: str) -> type[torch.optim.Optimizer]:
    optimizer = getattr(torch.optim, name, None) if isinstance(name, str) else None
    if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
        raise ConfigError(f"{where}: got {name!r}; expected the name of a torch.optim optimizer, e.g. 'Adam'")
    return optimizer


PPOParams = params_class(PPO, "PPOParams")
A2CParams = params_class(A2C, "A2CParams")
DQNParams = params_class(DQN, "DQNParams")
SACParams = params_class(SAC, "SACParams")
TD3Params = params_class(TD3, "TD3Params")


# ============================================================================================
# Logging: SB3's train/* scalars into the run, under rlsuite's names
# ============================================================================================
RENAMED = {
    "train/learning_rate": "charts/learning_rate",
    "train/n_updates": "charts/n_updates",
    "rollout/exploration_rate": "charts/epsilon",
}


class MonitorWriter(KVWriter):
    """SB3's logger output that forwards its ``train/*`` scalars to the monitor (see module docs)."""

    def __init__(self) -> None:
        self.monitor: StepMonitor | None = None

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0
    ) -> None:
        if self.monitor is None:
            return
        scalars = {}
        for key, value in key_values.items():
            name = RENAMED.get(key) or (f"losses/{key[6:]}" if key.startswith("train/") else None)
            if name is None or isinstance(value, (str, bool)):
                continue
            try:
                scalars[name] = float(value)
            except (TypeError, ValueError):
                continue  # images, figures, videos
        if scalars:
            self.monitor.log(step, scalars)

    def close(self) -> None:
        self.monitor = None


class MonitorCallback(BaseCallback):
    """Reports every vector step to the monitor (same-step autoreset) and stops when it says so."""

    def __init__(self, agent: SB3Agent, monitor: StepMonitor | None) -> None:
        super().__init__(verbose=0)
        self.agent = agent
        self.monitor = monitor

    def _on_step(self) -> bool:
        self.agent.global_step = self.num_timesteps
        if self.monitor is None:
            return True
        dones = np.asarray(self.locals["dones"], dtype=bool)
        truncated = np.zeros_like(dones)
        if dones.any():
            infos = self.locals["infos"]
            for i in np.flatnonzero(dones):
                truncated[i] = bool(infos[i].get("TimeLimit.truncated", False))
        return self.monitor.on_step(
            self.num_timesteps, self.locals["rewards"], dones & ~truncated, truncated, None, same_step=True
        )


# ============================================================================================
# The agents
# ============================================================================================
class SB3Agent(Agent):
    """An SB3 algorithm as an rlsuite agent; subclasses name the algorithm and its action spaces."""

    algo: ClassVar[str]
    sb3_class: ClassVar[type[BaseAlgorithm]]
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]

    def __init__(self, config: Config, envs: gym.vector.VectorEnv, *, checkpoint: Path | None = None) -> None:
        super().__init__(config, envs)
        self._check_spaces()
        self._frame_stack = 1
        self._extractor = self._pretrained_extractor()
        self._act_stack: np.ndarray | None = None
        self.device = resolve_device(config.train.device)
        if self.device == "cpu" and self.params.torch_threads > 0:
            torch.set_num_threads(self.params.torch_threads)
        if checkpoint is None:
            self._check_budget()
        self._owns_vec_env = not _is_ours(config.env.id)
        self.vec_env = self._make_vec_env(envs)
        self._writer = MonitorWriter()
        try:
            with memory_checked("agent.buffer_size, agent.batch_size, agent.policy_kwargs or env.num_envs"):
                if checkpoint is None:
                    self.model = self.sb3_class(
                        env=self.vec_env,
                        seed=config.train.seed,
                        device=self.device,
                        verbose=0,
                        **self._sb3_kwargs(),
                    )
                else:
                    self.model = self.sb3_class.load(checkpoint, env=self.vec_env, device=self.device)
        except (AssertionError, ValueError, TypeError) as error:
            if self._owns_vec_env:
                self.vec_env.close()
            raise ConfigError(f"agent: {self.algo} rejects these settings: {error}") from None
        self.model.set_logger(Logger(folder=None, output_formats=[self._writer]))

    # ----------------------------------------------------------------- construction
    def _pretrained_extractor(self) -> dict[str, Any] | None:
        """A pretrained encoder inside SB3's policy (:class:`PretrainedEncoder`) for an ``encoder``
        section whose features the agent does not see through the feature env: frozen with
        ``store_features: false``, or fine-tuned (at the policy's learning rate: SB3 trains the whole
        policy with one optimiser). ``None`` without one."""
        encoder = self.config.encoder
        if encoder is None or (encoder.feeds_features and _is_ours(self.config.env.id)):
            return None
        if encoder.checkpoint is None:
            raise ConfigError(
                f"encoder: {self.algo} takes a pretrained encoder (encoder.checkpoint: driving, arm or a path); "
                "to train a CNN of SB3's own, remove the encoder section (CnnPolicy is the default for "
                "images) or set agent.policy_kwargs.features_extractor_class"
            )
        if not _is_ours(self.config.env.id):
            raise ConfigError(
                f"encoder: {self.algo} takes a pretrained encoder on our envs (rlsuite/…), whose frames it "
                f"was pretrained on; {self.config.env.id!r} is not one"
            )
        if not encoder.freeze and encoder.lr_scale != 1.0:
            raise ConfigError(
                f"encoder.lr_scale: got {encoder.lr_scale}; {self.algo} trains the whole policy with one "
                "optimiser, so a fine-tuned encoder learns at the policy's rate: set encoder.lr_scale: 1 "
                "(or freeze: true)"
            )
        if (self.params.policy_kwargs or {}).get("features_extractor_class") is not None:
            raise ConfigError(
                "agent.policy_kwargs.features_extractor_class: the encoder section already gives the "
                "features extractor (a pretrained encoder); remove one of the two"
            )
        from rlsuite.encoders.transfer import load_checked

        _, meta = load_checked(encoder, self.envs.single_observation_space)  # shapes: a clear error now
        self._frame_stack = int(meta["frame_stack"])
        return {"checkpoint": encoder.checkpoint, "freeze": encoder.freeze}

    def _check_budget(self) -> None:
        """Refuse ``train.total_steps`` below one collection: SB3 always completes the rollout it starts
        (``n_steps`` × ``num_envs`` env steps on-policy, ``train_freq`` × ``num_envs`` off-policy), so
        a smaller budget would silently train a whole rollout, many times the steps asked for."""
        params = self.params
        if issubclass(self.sb3_class, OnPolicyAlgorithm):
            per_env, key = params.n_steps, "agent.n_steps"
        else:
            train_freq = params.train_freq
            if not isinstance(train_freq, int) and train_freq[1] != "step":
                if self.num_envs > 1:  # SB3 asserts this only once learn() has started
                    raise ConfigError(
                        f"agent.train_freq: got {list(train_freq)}; SB3 collects whole episodes with one env "
                        f"only, and env.num_envs is {self.num_envs}: set env.num_envs=1 or count in steps "
                        f"(train_freq: [{train_freq[0]}, step])"
                    )
                return  # collected in whole episodes: their length is not known here
            per_env = train_freq if isinstance(train_freq, int) else train_freq[0]
            key = "agent.train_freq"
        num_envs = self.num_envs
        rollout = per_env * num_envs
        total = self.config.train.total_steps
        if total < rollout:
            raise ConfigError(
                f"train.total_steps: got {total:,}, less than one {self.algo} rollout of {key} × env.num_envs "
                f"= {per_env:,} × {num_envs} = {rollout:,} env steps, which SB3 always completes (it would "
                f"train {rollout:,} steps); raise train.total_steps to at least {rollout:,}, or lower {key} "
                "or env.num_envs"
            )

    def _check_spaces(self) -> None:
        space = self.action_space
        if isinstance(space, self.action_spaces):
            return
        wanted = " or ".join(s.__name__ for s in self.action_spaces)
        raise ConfigError(
            f"agent.algo: {self.algo} needs a {wanted} action space; {self.config.env.id} has {space}: "
            + _action_space_advice(self.config, self.action_spaces, space)
        )

    def _make_vec_env(self, envs: gym.vector.VectorEnv) -> VecEnv:
        config = self.config
        if not self._owns_vec_env:
            vec_env: VecEnv = VecMonitor(SB3VecEnv(envs))
            if self._extractor is not None and self._frame_stack > 1:  # the pretrained encoder's stack
                vec_env = VecFrameStack(vec_env, self._frame_stack, channels_order="last")
            return vec_env
        try:  # SB3's usual env: DummyVecEnv of Monitor-wrapped single envs
            return make_vec_env(
                config.env.id,
                n_envs=config.env.num_envs,
                seed=config.train.seed,
                env_kwargs=dict(config.env.kwargs),
                vec_env_cls=DummyVecEnv,
            )
        except TypeError as error:
            raise ConfigError(
                f"env.kwargs: {config.env.kwargs!r} is not accepted by {config.env.id!r}: {error}"
            ) from None

    def _sb3_kwargs(self) -> dict[str, Any]:
        kwargs = dataclasses.asdict(self.params)
        for name, _, _ in RLSUITE_FIELDS:
            del kwargs[name]
        kwargs["policy"] = kwargs["policy"] or _default_policy(self.observation_space)
        if kwargs.get("policy_kwargs") is not None:
            kwargs["policy_kwargs"] = _policy_kwargs(kwargs["policy_kwargs"])
        if self._extractor is not None:
            kwargs["policy_kwargs"] = {
                **(kwargs.get("policy_kwargs") or {}),
                "features_extractor_class": PretrainedEncoder,
                "features_extractor_kwargs": dict(self._extractor),
                "normalize_images": False,  # the encoder takes the uint8 values (it scales them itself)
            }
        if "train_freq" in kwargs and isinstance(kwargs["train_freq"], list):
            kwargs["train_freq"] = tuple(kwargs["train_freq"])
        if kwargs.get("action_noise") is not None:
            kwargs["action_noise"] = _action_noise(kwargs["action_noise"], self.action_space)
        return kwargs

    # ----------------------------------------------------------------- the protocol
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        """Train until SB3's ``num_timesteps`` reaches ``total_steps`` (SB3 finishes the rollout it is in,
        so a run may end less than one rollout past it); continues after a resume."""
        model = self.model
        remaining = total_steps - model.num_timesteps
        if remaining <= 0:
            return
        self._writer.monitor = monitor
        try:
            model.learn(
                total_timesteps=remaining,
                callback=MonitorCallback(self, monitor),
                reset_num_timesteps=False,
                progress_bar=False,
            )
            if model.logger.name_to_value:  # the last update's losses, not yet dumped by SB3
                model.logger.dump(step=model.num_timesteps)
        finally:
            self._writer.monitor = None
        self.global_step = model.num_timesteps

    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """SB3's ``model.predict`` on a batch of observations; one observation: one action."""
        if is_single_observation(obs, self.observation_space):
            start = None if episode_start is None else np.reshape(episode_start, 1)
            return self.act(np.asarray(obs)[None], deterministic, start)[0]
        if self._extractor is not None and self._frame_stack > 1:
            obs = self._stacked(obs, episode_start)
        actions, _ = self.model.predict(obs, episode_start=episode_start, deterministic=deterministic)
        return actions

    def _stacked(self, obs: np.ndarray, episode_start: np.ndarray | None) -> np.ndarray:
        """The callers' frames stacked as SB3's ``VecFrameStack`` stacks them in training (oldest
        first along channels, zeros before an episode's first frame)."""
        channels = obs.shape[-1]
        shape = (*obs.shape[:-1], channels * self._frame_stack)
        if self._act_stack is None or self._act_stack.shape != shape:
            self._act_stack = np.zeros(shape, dtype=obs.dtype)
            episode_start = np.ones(len(obs), dtype=bool)
        stack = np.roll(self._act_stack, -channels, axis=-1)
        if episode_start is not None:
            stack[np.asarray(episode_start, dtype=bool)] = 0
        stack[..., -channels:] = obs
        self._act_stack = stack
        return stack

    def save(self, directory: str | Path) -> None:
        """SB3's ``model.zip`` (pickled objects inside: trust only your own) and ``agent.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(directory / "model.zip")
        meta = {
            "format": CHECKPOINT_FORMAT,
            "algo": self.algo,
            "global_step": self.global_step,
            "stable_baselines3": stable_baselines3.__version__,
        }
        (directory / "agent.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> SB3Agent:
        """Rebuild an agent written by :meth:`save` on ``envs`` (unpickles SB3's zip: trust only your own)."""
        directory = Path(directory)
        meta: dict[str, Any] = json.loads((directory / "agent.json").read_text())
        if meta.get("algo") != cls.algo:
            raise ConfigError(
                f"agent.algo: {directory} holds a {meta.get('algo')!r} checkpoint, not {cls.algo!r}"
            )
        agent = cls(config, envs, checkpoint=directory / "model.zip")
        agent.global_step = int(meta["global_step"])
        # A resumed run draws new random numbers (as our agents do): derived from the seed and the step.
        seed = int(np.random.SeedSequence([config.train.seed, agent.global_step]).generate_state(1)[0])
        agent.model.set_random_seed(seed)
        return agent

    def on_train_end(self, run_dir: Path) -> None:
        if self._owns_vec_env:  # the DummyVecEnv built here; the envs given to us belong to the caller
            self.vec_env.close()


class SB3PPO(SB3Agent):
    """Proximal Policy Optimization (Schulman et al., 2017), SB3's implementation."""

    Params = PPOParams
    algo = "sb3.ppo"
    sb3_class = PPO
    action_spaces = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class SB3A2C(SB3Agent):
    """Advantage Actor-Critic (Mnih et al., 2016), SB3's synchronous implementation."""

    Params = A2CParams
    algo = "sb3.a2c"
    sb3_class = A2C
    action_spaces = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class SB3DQN(SB3Agent):
    """Deep Q-Network (Mnih et al., 2015), SB3's implementation."""

    Params = DQNParams
    algo = "sb3.dqn"
    sb3_class = DQN
    action_spaces = (spaces.Discrete,)


class SB3SAC(SB3Agent):
    """Soft Actor-Critic (Haarnoja et al., 2018), SB3's implementation."""

    Params = SACParams
    algo = "sb3.sac"
    sb3_class = SAC
    action_spaces = (spaces.Box,)


class SB3TD3(SB3Agent):
    """Twin Delayed DDPG (Fujimoto et al., 2018), SB3's implementation."""

    Params = TD3Params
    algo = "sb3.td3"
    sb3_class = TD3
    action_spaces = (spaces.Box,)


AGENTS: tuple[type[SB3Agent], ...] = (SB3PPO, SB3A2C, SB3DQN, SB3SAC, SB3TD3)


class PretrainedEncoder(BaseFeaturesExtractor):
    """A pretrained rlsuite encoder (:mod:`rlsuite.encoders`) as SB3's features extractor.

    SB3 hands images over channel-first (its ``VecTransposeImage``) and, with ``normalize_images:
    false``, as floats of the uint8 values; the encoder takes them back channel-last as uint8. Each
    instance loads the checkpoint afresh, so SB3's target networks get their own copy."""

    def __init__(self, observation_space: spaces.Box, checkpoint: str, freeze: bool = False) -> None:
        from rlsuite.encoders.checkpoint import load_encoder

        encoder, _ = load_encoder(checkpoint)
        super().__init__(observation_space, encoder.features_dim)
        self.encoder = encoder.requires_grad_(not freeze)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        frames = observations.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8)
        return self.encoder(frames)


# ============================================================================================
# Helpers
# ============================================================================================
def _is_ours(env_id: str) -> bool:
    """Our ids get the native vector env (with reset_mask) and SB3VecEnv; others SB3's DummyVecEnv."""
    import rlsuite  # noqa: F401  (registers our ids)

    try:
        return gym.spec(env_id.split(":")[-1]).namespace == "rlsuite"
    except gym.error.Error:
        return False


def _default_policy(space: spaces.Space) -> str:
    if isinstance(space, spaces.Dict):
        return "MultiInputPolicy"
    if is_image_space(space, check_channels=False):
        return "CnnPolicy"
    return "MlpPolicy"


def _policy_kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    kwargs = dict(raw)
    if "activation_fn" in kwargs:
        kwargs["activation_fn"] = _activation(kwargs["activation_fn"], "agent.policy_kwargs.activation_fn")
    if "optimizer_class" in kwargs:
        kwargs["optimizer_class"] = _optimizer(
            kwargs["optimizer_class"], "agent.policy_kwargs.optimizer_class"
        )
    if "features_extractor_class" in kwargs:
        kwargs["features_extractor_class"] = getattr(torch_layers, kwargs["features_extractor_class"])
    return kwargs


def _action_noise(noise: dict[str, Any], space: spaces.Space) -> ActionNoise:
    size = int(np.prod(space.shape))
    sigma = np.broadcast_to(np.asarray(noise.get("sigma", 0.1), dtype=np.float64), (size,)).copy()
    if noise["type"] == "normal":
        return NormalActionNoise(mean=np.zeros(size), sigma=sigma)
    extra = {key: float(noise[key]) for key in ("theta", "dt") if key in noise}
    return OrnsteinUhlenbeckActionNoise(mean=np.zeros(size), sigma=sigma, **extra)


def _action_space_advice(config: Config, wanted: tuple[type, ...], actual: spaces.Space) -> str:
    """How to get a matching action space: our env's action_type kwarg when it has one, or other algos."""
    algos = [agent.algo for agent in AGENTS if isinstance(actual, agent.action_spaces)]
    other = f"or an algorithm for {type(actual).__name__} actions ({', '.join(algos)})" if algos else ""
    if _is_ours(config.env.id):
        for action_type in ("discrete", "continuous"):
            if config.env.kwargs.get("action_type") == action_type:
                continue
            try:
                probe = gym.make_vec(
                    config.env.id, num_envs=1, **{**config.env.kwargs, "action_type": action_type}
                )
            except (TypeError, ValueError):
                continue
            space = probe.single_action_space
            probe.close()
            if isinstance(space, wanted):
                return f"pass env.kwargs.action_type={action_type}" + (f" ({other})" if other else "")
    return f"use an env with a {' or '.join(w.__name__ for w in wanted)} action space" + (
        f", {other}" if other else ""
    )
