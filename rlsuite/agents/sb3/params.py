"""Hyper-parameters of the SB3 algorithms: one ``Params`` dataclass per algorithm, generated from SB3's
constructor (:func:`params_class`), its validation, and the translation of a validated config into SB3's
own arguments (policy name, ``policy_kwargs``, action noise).

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
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Union

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common import torch_layers
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.noise import ActionNoise, NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.preprocessing import is_image_space

from rlsuite.config import ConfigError, hp

__all__ = [
    "A2CParams",
    "DQNParams",
    "PPOParams",
    "RLSUITE_FIELDS",
    "SACParams",
    "TD3Params",
    "default_policy",
    "params_class",
    "sb3_action_noise",
    "sb3_policy_kwargs",
]

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


# ============================================================================================
# From a validated config to SB3's arguments
# ============================================================================================
def default_policy(space: spaces.Space) -> str:
    """The policy ``policy: null`` picks: ``MultiInputPolicy`` for dicts, ``CnnPolicy`` for images,
    else ``MlpPolicy``."""
    if isinstance(space, spaces.Dict):
        return "MultiInputPolicy"
    if is_image_space(space, check_channels=False):
        return "CnnPolicy"
    return "MlpPolicy"


def sb3_policy_kwargs(raw: dict[str, Any]) -> dict[str, Any]:
    """Validated ``policy_kwargs`` as SB3 takes them: activations, optimisers and features extractors
    named in the config become the classes."""
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


def sb3_action_noise(noise: dict[str, Any], space: spaces.Space) -> ActionNoise:
    """SB3's action noise from a validated ``action_noise`` mapping, one ``sigma`` per action dimension."""
    size = int(np.prod(space.shape))
    sigma = np.broadcast_to(np.asarray(noise.get("sigma", 0.1), dtype=np.float64), (size,)).copy()
    if noise["type"] == "normal":
        return NormalActionNoise(mean=np.zeros(size), sigma=sigma)
    extra = {key: float(noise[key]) for key in ("theta", "dt") if key in noise}
    return OrnsteinUhlenbeckActionNoise(mean=np.zeros(size), sigma=sigma, **extra)


PPOParams = params_class(PPO, "PPOParams")
A2CParams = params_class(A2C, "A2CParams")
DQNParams = params_class(DQN, "DQNParams")
SACParams = params_class(SAC, "SACParams")
TD3Params = params_class(TD3, "TD3Params")
