"""The RLlib agents' hyper-parameters, with RLlib's own defaults read from RLlib.

A field backed by an RLlib setting is declared with :func:`rllib_hp`, which reads its default from the
algorithm's ``AlgorithmConfig`` (``PPOConfig()``, ``APPOConfig()``, ``DQNConfig()``, ``SACConfig()``)
when this module is imported and writes RLlib's value into the field's doc. Where our default differs
on purpose (``ours=``: resources and vectorisation, so that a run fits a laptop and steps our native
vector envs) the doc says ``ours: X, RLlib: Y``. Nothing is typed in by hand, so the docs cannot drift
from the installed RLlib; ``tests/agents/test_rllib.py`` checks that every field states RLlib's value for
each algorithm that uses it, and takes it unless it says ``ours``.

Importing this module imports RLlib's algorithm configs (and with them torch), as the agents do; the
config layer imports an agent's ``Params`` only when a config names that agent.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.appo import APPOConfig
from ray.rllib.algorithms.dqn import DQNConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.sac import SACConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

from rlsuite.config import ConfigError, hp

__all__ = [
    "RLlibAPPOParams",
    "RLlibDQNParams",
    "RLlibPPOParams",
    "RLlibParams",
    "RLlibSACParams",
    "as_yaml",
    "rllib_default",
    "rllib_hp",
    "rllib_setting",
]

ALL_ALGORITHMS: tuple[type[AlgorithmConfig], ...] = (PPOConfig, APPOConfig, DQNConfig, SACConfig)


def _model_setting(config: AlgorithmConfig, key: str) -> Any:
    """A ``DefaultModelConfig`` key as the algorithm's RLModule gets it (its own overrides first)."""
    return config.model_config.get(key, getattr(DefaultModelConfig(), key))


# Our field name → its value in an AlgorithmConfig, where that is not the attribute of the same name
# (or needs our field's type: RLlib writes some float settings as ints).
_SETTINGS: dict[str, Callable[[AlgorithmConfig], Any]] = {
    "train_batch_size": lambda c: c.train_batch_size_per_learner,
    "fcnet_hiddens": lambda c: list(_model_setting(c, "fcnet_hiddens")),
    "fcnet_activation": lambda c: _model_setting(c, "fcnet_activation"),
    "min_time_s_per_iteration": lambda c: float(c.min_time_s_per_iteration or 0),  # None: no minimum
    "num_cpus_per_env_runner": lambda c: float(c.num_cpus_per_env_runner),
    "num_gpus": lambda c: float(c.num_gpus_per_learner),
    "delay_between_env_runner_restarts_s": lambda c: float(c.delay_between_env_runner_restarts_s),
    "buffer_size": lambda c: c.replay_buffer_config["capacity"],
    "prioritized_replay": lambda c: c.replay_buffer_config["type"] == "PrioritizedEpisodeReplayBuffer",
    "epsilon_initial": lambda c: c.epsilon[0][1],  # RLlib's schedule: [(0, initial), (timesteps, final)]
    "epsilon_final": lambda c: c.epsilon[-1][1],
    "epsilon_timesteps": lambda c: c.epsilon[-1][0],
}


def rllib_setting(name: str, config: AlgorithmConfig) -> Any:
    """The value in ``config`` of the RLlib setting behind our field ``name``."""
    setting = _SETTINGS.get(name)
    return setting(config) if setting is not None else getattr(config, name)


@functools.cache
def _default_config(config_class: type[AlgorithmConfig]) -> AlgorithmConfig:
    return config_class()


def rllib_default(name: str, config_class: type[AlgorithmConfig]) -> Any:
    """RLlib's default for our field ``name`` in algorithm ``config_class`` (e.g. ``PPOConfig``)."""
    return rllib_setting(name, _default_config(config_class))


def as_yaml(value: Any) -> str:
    """A value as a config file writes it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_RLLIB = object()  # rllib_hp's marker for "our default is RLlib's"


def rllib_hp(
    config_classes: type[AlgorithmConfig] | tuple[type[AlgorithmConfig], ...],
    name: str,
    doc: str,
    *,
    ours: Any = _RLLIB,
    **bounds: float,
) -> Any:
    """A config field (:func:`rlsuite.config.hp`) for RLlib's setting behind our field ``name``, in the
    algorithms ``config_classes`` that use this declaration (subclasses redeclare a field whose RLlib
    default differs).

    Its default is RLlib's (that of the first class), or ``ours``; its doc ends in RLlib's value, per
    algorithm where they differ (``RLlib: 2 (PPO, APPO), 0 (DQN, SAC)``), after ``ours: X`` when ours
    is given. ``bounds`` are :func:`~rlsuite.config.hp`'s ``ge``, ``gt``, ``le``, ``lt``."""
    if not isinstance(config_classes, tuple):
        config_classes = (config_classes,)
    values = [rllib_default(name, config_class) for config_class in config_classes]
    if all(value == values[0] for value in values):
        stated = as_yaml(values[0])
    else:
        algorithms: dict[str, list[str]] = {}
        for config_class, value in zip(config_classes, values, strict=True):
            algorithms.setdefault(as_yaml(value), []).append(config_class.__name__.removesuffix("Config"))
        stated = ", ".join(f"{value} ({', '.join(names)})" for value, names in algorithms.items())
    if ours is _RLLIB:
        default, doc = values[0], f"{doc}; RLlib: {stated}"
    else:
        default, doc = ours, f"{doc}; ours: {as_yaml(ours)}, RLlib: {stated}"
    if isinstance(default, (list, dict)):
        spec = hp(default_factory=functools.partial(type(default), default), doc=doc, **bounds)
    else:
        spec = hp(default, doc, **bounds)
    metadata = {
        **spec.metadata,
        "rllib": name,
        "rllib_algorithms": config_classes,
        "ours": ours is not _RLLIB,
    }
    return dataclasses.field(default=spec.default, default_factory=spec.default_factory, metadata=metadata)


# ============================================================================================
# The settings every algorithm shares
# ============================================================================================
@dataclass
class RLlibParams:
    """Settings every RLlib algorithm shares: the network, the batch, the iteration, Ray's resources."""

    gamma: float = rllib_hp(ALL_ALGORITHMS, "gamma", "discount factor", ge=0, le=1)
    train_batch_size: int = rllib_hp(
        PPOConfig,
        "train_batch_size",
        "env steps per learner update (RLlib's train_batch_size_per_learner)",
        ge=1,
    )
    fcnet_hiddens: list[int] = rllib_hp(
        ALL_ALGORITHMS, "fcnet_hiddens", "hidden layer sizes of the MLPs on vector observations"
    )
    fcnet_activation: Literal["tanh", "relu", "swish", "linear"] = rllib_hp(
        ALL_ALGORITHMS, "fcnet_activation", "activation of those hidden layers"
    )
    model: dict[str, Any] = hp(
        default_factory=dict,
        doc="further RLlib DefaultModelConfig keys (vf_share_layers, head_fcnet_hiddens, …); RLlib's defaults",
    )
    rollout_fragment_length: int | Literal["auto"] = rllib_hp(
        (PPOConfig, DQNConfig, SACConfig),
        "rollout_fragment_length",
        "env steps per sub-env in one sample() call; auto: derived from train_batch_size",
        ge=1,
    )
    min_sample_timesteps_per_iteration: int = rllib_hp(
        (PPOConfig, APPOConfig),
        "min_sample_timesteps_per_iteration",
        "an iteration (one train() call, one report) samples at least this many env steps",
        ge=0,
    )
    min_time_s_per_iteration: float = rllib_hp(
        (PPOConfig, DQNConfig, SACConfig),
        "min_time_s_per_iteration",
        "an iteration lasts at least this long [s]",
        ours=0.0,
        ge=0,
    )
    # Ray resources and fault tolerance.
    num_env_runners: int = rllib_hp(
        ALL_ALGORITHMS,
        "num_env_runners",
        "env runner actors sampling in parallel (0: sample in the driver process)",
        ours=0,
        ge=0,
    )
    num_envs_per_env_runner: int | None = rllib_hp(
        ALL_ALGORITHMS,
        "num_envs_per_env_runner",
        "sub-envs each env runner steps as one vector env (null: env.num_envs)",
        ours=None,
        ge=1,
    )
    num_cpus_per_env_runner: float = rllib_hp(
        ALL_ALGORITHMS,
        "num_cpus_per_env_runner",
        "CPUs Ray reserves per env runner; fractions (0.5) share a core",
        ge=0,
    )
    num_learners: int = rllib_hp(
        ALL_ALGORITHMS,
        "num_learners",
        "remote learner actors (0: one learner in the driver process)",
        ours=0,
        ge=0,
    )
    num_gpus: float = rllib_hp(
        ALL_ALGORITHMS, "num_gpus", "GPUs per learner (RLlib's num_gpus_per_learner)", ge=0
    )
    gym_env_vectorize_mode: Literal["auto", "vector_entry_point", "sync", "async"] = rllib_hp(
        ALL_ALGORITHMS,
        "gym_env_vectorize_mode",
        "how env runners batch sub-envs: auto = our native vector env for rlsuite ids, RLlib's sync "
        "vector env of single envs otherwise",
        ours="auto",
    )
    restart_failed_env_runners: bool = rllib_hp(
        ALL_ALGORITHMS, "restart_failed_env_runners", "restart an env runner actor that failed"
    )
    max_num_env_runner_restarts: int = rllib_hp(
        ALL_ALGORITHMS, "max_num_env_runner_restarts", "env runner restarts allowed in the whole run", ge=0
    )
    delay_between_env_runner_restarts_s: float = rllib_hp(
        ALL_ALGORITHMS,
        "delay_between_env_runner_restarts_s",
        "seconds to wait before restarting a failed env runner",
        ge=0,
    )
    torch_threads: int = hp(
        1,
        "torch CPU threads of the driver process (its learner, act()); 0: torch's default; 1 is fastest "
        "for small nets and fair on shared machines (Ray gives env runners 1 per CPU they reserve)",
        ge=0,
    )
    address: str | None = hp(
        None,
        "Ray cluster to join: null = reuse the running Ray or start a local one sized to the machine; "
        "'auto' or 'ray://host:port' joins a cluster",
    )

    def __post_init__(self) -> None:
        if not self.fcnet_hiddens:
            raise ConfigError("fcnet_hiddens: got []; give at least one hidden layer, e.g. [256, 256]")
        if any(size < 1 for size in self.fcnet_hiddens):
            raise ConfigError(
                f"fcnet_hiddens: got {self.fcnet_hiddens}; every hidden layer needs at least 1 unit"
            )
        known = {f.name for f in dataclasses.fields(DefaultModelConfig)}
        for key in self.model:
            if key in ("fcnet_hiddens", "fcnet_activation"):
                raise ConfigError(f"model.{key}: set agent.{key} instead")
            if key not in known:
                raise ConfigError(
                    f"model.{key}: unknown RLlib DefaultModelConfig key; allowed: {', '.join(sorted(known))}"
                )


# ============================================================================================
# PPO and APPO
# ============================================================================================
@dataclass
class _ActorCriticParams(RLlibParams):
    """PPO's and APPO's shared settings (clipped surrogate objective, value loss, entropy bonus)."""

    lr: float = rllib_hp(PPOConfig, "lr", "Adam step size", gt=0)
    minibatch_size: int | None = rllib_hp(PPOConfig, "minibatch_size", "env steps per SGD minibatch", ge=1)
    num_epochs: int = rllib_hp(PPOConfig, "num_epochs", "passes over each train batch", ge=1)
    lambda_: float = rllib_hp(
        (PPOConfig, APPOConfig), "lambda_", "GAE lambda (Schulman et al., 2016)", ge=0, le=1
    )
    clip_param: float = rllib_hp(
        PPOConfig, "clip_param", "surrogate clipping epsilon (Schulman et al., 2017)", gt=0
    )
    vf_loss_coeff: float = rllib_hp(PPOConfig, "vf_loss_coeff", "weight of the value-function loss", ge=0)
    entropy_coeff: float = rllib_hp(PPOConfig, "entropy_coeff", "weight of the entropy bonus", ge=0)
    use_kl_loss: bool = rllib_hp(PPOConfig, "use_kl_loss", "add an adaptive KL penalty to the loss")
    kl_coeff: float = rllib_hp(PPOConfig, "kl_coeff", "initial KL penalty coefficient", ge=0)
    grad_clip: float | None = rllib_hp(
        PPOConfig, "grad_clip", "clip the gradient's global norm to this (null: no clipping)", gt=0
    )


@dataclass
class RLlibPPOParams(_ActorCriticParams):
    """Proximal Policy Optimization (Schulman et al., 2017), RLlib's defaults."""

    vf_clip_param: float = rllib_hp(PPOConfig, "vf_clip_param", "clip the value-function loss at this", gt=0)
    kl_target: float = rllib_hp(PPOConfig, "kl_target", "KL divergence the adaptive penalty aims at", gt=0)


@dataclass
class RLlibAPPOParams(_ActorCriticParams):
    """Asynchronous PPO (IMPALA's V-trace actor-learner with PPO's surrogate; Espeholt et al., 2018)."""

    train_batch_size: int = rllib_hp(APPOConfig, "train_batch_size", "env steps per learner update", ge=1)
    rollout_fragment_length: int | Literal["auto"] = rllib_hp(
        APPOConfig, "rollout_fragment_length", "env steps per sub-env per sample() call", ge=1
    )
    min_time_s_per_iteration: float = rllib_hp(
        APPOConfig, "min_time_s_per_iteration", "an iteration lasts at least this long [s]", ge=0
    )
    lr: float = rllib_hp(APPOConfig, "lr", "Adam step size", gt=0)
    minibatch_size: int | None = rllib_hp(
        APPOConfig, "minibatch_size", "env steps per SGD minibatch (null: the whole batch)", ge=1
    )
    num_epochs: int = rllib_hp(APPOConfig, "num_epochs", "passes over each train batch", ge=1)
    clip_param: float = rllib_hp(APPOConfig, "clip_param", "surrogate clipping epsilon", gt=0)
    vf_loss_coeff: float = rllib_hp(APPOConfig, "vf_loss_coeff", "weight of the value-function loss", ge=0)
    entropy_coeff: float = rllib_hp(APPOConfig, "entropy_coeff", "weight of the entropy bonus", ge=0)
    use_kl_loss: bool = rllib_hp(APPOConfig, "use_kl_loss", "add a KL penalty to the loss")
    kl_coeff: float = rllib_hp(APPOConfig, "kl_coeff", "KL penalty coefficient", ge=0)
    grad_clip: float | None = rllib_hp(
        APPOConfig, "grad_clip", "clip the gradient's global norm to this", gt=0
    )


# ============================================================================================
# DQN and SAC
# ============================================================================================
@dataclass
class _ReplayParams(RLlibParams):
    """DQN's and SAC's shared settings: an episode replay buffer and soft or hard target updates."""

    buffer_size: int = rllib_hp(DQNConfig, "buffer_size", "replay capacity in env steps", ge=1)
    prioritized_replay: bool = rllib_hp(
        (DQNConfig, SACConfig),
        "prioritized_replay",
        "proportional prioritised replay (Schaul et al., 2016), else uniform",
    )
    n_step: int = rllib_hp((DQNConfig, SACConfig), "n_step", "n-step returns", ge=1)
    num_steps_sampled_before_learning_starts: int = rllib_hp(
        DQNConfig,
        "num_steps_sampled_before_learning_starts",
        "env steps of experience before the first update",
        ge=0,
    )
    training_intensity: float | None = rllib_hp(
        (DQNConfig, SACConfig),
        "training_intensity",
        "env steps trained per env step sampled (null: one update per sample() call)",
        gt=0,
    )


@dataclass
class RLlibDQNParams(_ReplayParams):
    """Deep Q-Network (Mnih et al., 2015) with RLlib's Rainbow options, RLlib's defaults."""

    train_batch_size: int = rllib_hp(DQNConfig, "train_batch_size", "transitions per gradient step", ge=1)
    min_sample_timesteps_per_iteration: int = rllib_hp(
        DQNConfig,
        "min_sample_timesteps_per_iteration",
        "an iteration samples at least this many env steps",
        ge=0,
    )
    lr: float = rllib_hp(DQNConfig, "lr", "Adam step size", gt=0)
    double_q: bool = rllib_hp(DQNConfig, "double_q", "Double DQN targets (van Hasselt et al., 2016)")
    dueling: bool = rllib_hp(DQNConfig, "dueling", "dueling head (Wang et al., 2016)")
    target_network_update_freq: int = rllib_hp(
        DQNConfig, "target_network_update_freq", "env steps between target-network updates", ge=1
    )
    tau: float = rllib_hp(DQNConfig, "tau", "target update weight (1: hard copy)", gt=0, le=1)
    epsilon_initial: float = rllib_hp(
        DQNConfig, "epsilon_initial", "epsilon-greedy: initial exploration rate", ge=0, le=1
    )
    epsilon_final: float = rllib_hp(
        DQNConfig, "epsilon_final", "epsilon-greedy: final exploration rate", ge=0, le=1
    )
    epsilon_timesteps: int = rllib_hp(
        DQNConfig, "epsilon_timesteps", "env steps over which epsilon decays linearly", ge=1
    )
    grad_clip: float | None = rllib_hp(
        DQNConfig, "grad_clip", "clip the gradient's global norm to this", gt=0
    )


@dataclass
class RLlibSACParams(_ReplayParams):
    """Soft Actor-Critic (Haarnoja et al., 2018), RLlib's defaults."""

    train_batch_size: int = rllib_hp(SACConfig, "train_batch_size", "transitions per gradient step", ge=1)
    min_sample_timesteps_per_iteration: int = rllib_hp(
        SACConfig,
        "min_sample_timesteps_per_iteration",
        "an iteration samples at least this many env steps",
        ge=0,
    )
    buffer_size: int = rllib_hp(SACConfig, "buffer_size", "replay capacity in env steps", ge=1)
    num_steps_sampled_before_learning_starts: int = rllib_hp(
        SACConfig,
        "num_steps_sampled_before_learning_starts",
        "env steps of experience before the first update",
        ge=0,
    )
    actor_lr: float = rllib_hp(SACConfig, "actor_lr", "policy Adam step size", gt=0)
    critic_lr: float = rllib_hp(SACConfig, "critic_lr", "Q-network Adam step size", gt=0)
    alpha_lr: float = rllib_hp(SACConfig, "alpha_lr", "entropy-temperature Adam step size", gt=0)
    tau: float = rllib_hp(SACConfig, "tau", "Polyak weight of the target Q-networks", gt=0, le=1)
    initial_alpha: float = rllib_hp(SACConfig, "initial_alpha", "initial entropy temperature", gt=0)
    target_entropy: float | Literal["auto"] = rllib_hp(
        SACConfig, "target_entropy", "entropy target (auto: -dim(actions))"
    )
    twin_q: bool = rllib_hp(
        SACConfig, "twin_q", "two Q-networks, the minimum as target (Fujimoto et al., 2018)"
    )
