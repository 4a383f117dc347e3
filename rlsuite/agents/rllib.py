"""RLlib baselines behind rlsuite's agent protocol: ``agent.algo: rllib.ppo`` (and ``rllib.dqn``,
``rllib.sac``, ``rllib.appo``) train Ray RLlib's own algorithms on its new API stack (RLModule, Learner,
EnvRunner, ConnectorV2) inside ``rlsuite train``, with the same run directory, scalar names, evaluation,
checkpoints and ``rlsuite eval`` as our agents.

**Hyper-parameters** keep RLlib's names and, except for resources (env runners, torch threads),
RLlib's defaults (each field says which); ``train_batch_size`` is RLlib's ``train_batch_size_per_learner``.
``model`` passes further keys of RLlib's ``DefaultModelConfig`` (``vf_share_layers``,
``head_fcnet_hiddens``, …) through, checked against that dataclass. Every ``Algorithm.train()``
iteration is completed, so a run ends less than one iteration past ``train.total_steps``; a budget
below one iteration (``min_sample_timesteps_per_iteration``, PPO's ``train_batch_size`` per learner)
is a :class:`~rlsuite.config.ConfigError` before anything runs.

**Envs.** Every env is registered with Ray (``ray.tune.register_env``) under its id, with
``env.kwargs`` as the env config. Env runners step our ids' **native** vector env
(``gym_env_vectorize_mode="vector_entry_point"``: one batched env of ``num_envs_per_env_runner``
sub-envs per runner); other ids (CartPole, Pendulum) get RLlib's usual ``SyncVectorEnv`` over
``gymnasium.make(id, **env.kwargs)``. The env's :class:`gymnasium.envs.registration.EnvSpec` travels
with the creator, so an env registered only in the driver process works in the runners too.

**Ray.** Without ``address``, a Ray already running in the process is reused (a session fixture, a
notebook); else a local one is started with ``os.cpu_count()`` CPUs and no dashboard, and lives until
the process ends, so later runs reuse it. ``address: auto`` or ``ray://host:port`` joins a cluster. The
CPUs and GPUs the config asks Ray for (RLlib's own bundle list: the driver with its local learner, the
env runners, any remote learners) are checked against what the cluster has before anything starts: a
request that can never be met is a :class:`~rlsuite.config.ConfigError`, not a run that waits forever.
``learn`` builds the Algorithm (:meth:`RLlibAgent.start`) and stops it, env runners and learners
included, when it returns or fails; :meth:`RLlibAgent.close` also shuts down a Ray the agent started.

**Reporting.** After each ``Algorithm.train()`` call the episodes that ended in it reach the monitor
one by one (``monitor.on_episodes``): an RLlib callback (:class:`EpisodeStats`) records each finished
episode's return (summed over the chunks RLlib cut it into) and length in the env runners, and RLlib
gathers them into the iteration's result. ``global_step`` is RLlib's
``num_env_steps_sampled_lifetime`` (env steps, NEXT_STEP reset steps not counted). Learner statistics
are logged under our names (:data:`LEARNER_SCALARS`: ``losses/policy_loss``, ``losses/vf_loss``,
``losses/entropy``, ``losses/qf_loss``, …); ``charts/sps`` comes from the monitor.

**Pixels.** Channel-last ``uint8`` images get :class:`ImageActorCriticModule` (PPO only): a CNN encoder
(our Nature-CNN, :func:`rlsuite.agents.networks.build_encoder`, sized by the ``encoder`` section) with
a linear policy head and a linear value head. Its ``model_config["encoder_factory"]`` is where a
pretrained encoder plugs in: any ``factory(observation_space, model_config) -> nn.Module`` with a
``features_dim`` attribute (see :func:`image_module_spec`). A pretrained encoder from the config:

- ``encoder: {checkpoint: driving, freeze: true}``: it runs inside the env runners; their native
  vector envs are wrapped in the feature env (``FeatureObservations``), so the algorithm (any of them,
  DQN and SAC included) trains its default MLP module on the encoder's features.
- ``encoder: {checkpoint: driving}`` (PPO): :func:`pretrained_encoder` puts it in the pixel RLModule,
  fine-tuned at ``agent.lr`` with the heads (``store_features: false`` with ``freeze: true`` keeps it
  fixed there); the env runners' native vector envs stack its frames (``StackedFrames``), and so do the
  driver's evaluation envs.

**Acting** (``act``, used by evaluation) runs the RLModule's ``forward_inference`` on the batch in the
driver process (torch, CPU), takes the greedy action of its distribution and maps continuous actions
to the action space as RLlib's module-to-env connector does (``unsquash_action``).

**Checkpoints** are RLlib's own (``Algorithm.save_to_path`` → ``<dir>/rllib``) plus ``agent.json``
(algo, global step). RLlib checkpoints hold pickled Python objects that are unpickled on load, unlike
our agents' safetensors checkpoints: load only checkpoints you wrote yourself. ``load`` restores just
the RLModule (no Ray needed to evaluate); a resumed run rebuilds the Algorithm and restores all of it.

Python use::

    from rlsuite.config import load_config
    from rlsuite.training import train, evaluate_run

    run_dir = train(load_config("experiments/configs/rllib_ppo_cartpole.yaml"))
    print(evaluate_run(run_dir))
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import json
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import gymnasium as gym
import numpy as np
import ray
import torch
from gymnasium import spaces
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.algorithms.appo import APPOConfig
from ray.rllib.algorithms.dqn import DQNConfig
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.algorithms.sac import SACConfig
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE, DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.core.rl_module.torch import TorchRLModule
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    FAULT_TOLERANCE_STATS,
    LEARNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
)
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action
from ray.tune.registry import register_env
from torch import nn

from rlsuite.agents.base import Agent, StepMonitor, is_single_observation
from rlsuite.agents.networks import build_encoder, is_image_space
from rlsuite.config import ConfigError, hp

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = [
    "EpisodeStats",
    "ImageActorCriticModule",
    "RLlibAPPO",
    "RLlibAgent",
    "RLlibDQN",
    "RLlibPPO",
    "RLlibSAC",
    "image_module_spec",
]

CHECKPOINT_FORMAT = 1
RLLIB_CHECKPOINT = "rllib"  # the RLlib checkpoint's folder inside an rlsuite checkpoint
EPISODES_KEY = "rlsuite_episodes"  # (return, length) of each finished episode, in the env runner results
MODULE_STATE = f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}/{DEFAULT_MODULE_ID}"

# RLlib learner statistics (``result["learners"]["default_policy"]``) under rlsuite's scalar names.
LEARNER_SCALARS = {
    "policy_loss": "losses/policy_loss",
    "vf_loss": "losses/vf_loss",
    "entropy": "losses/entropy",
    "mean_kl_loss": "losses/approx_kl",
    "vf_explained_var": "losses/explained_variance",
    "total_loss": "losses/total_loss",
    "qf_loss": "losses/qf_loss",
    "qf_twin_loss": "losses/qf_twin_loss",
    "qf_mean": "losses/q_values",
    "td_error_mean": "losses/td_error",
    "alpha_loss": "losses/alpha_loss",
    "alpha_value": "losses/alpha",
    "default_optimizer_learning_rate": "charts/learning_rate",
}


# ============================================================================================
# Hyper-parameters
# ============================================================================================
@dataclass
class RLlibParams:
    """Settings every RLlib algorithm shares: the network, the batch, the iteration, Ray's resources."""

    gamma: float = hp(0.99, "discount factor; RLlib: 0.99", ge=0, le=1)
    train_batch_size: int = hp(
        4000, "env steps per learner update (RLlib's train_batch_size_per_learner)", ge=1
    )
    fcnet_hiddens: list[int] = hp(
        default_factory=lambda: [256, 256],
        doc="hidden layer sizes of the MLPs on vector observations; RLlib: [256, 256]",
    )
    fcnet_activation: Literal["tanh", "relu", "swish", "linear"] = hp(
        "tanh", "activation of those hidden layers; RLlib: tanh"
    )
    model: dict[str, Any] = hp(
        default_factory=dict,
        doc="further RLlib DefaultModelConfig keys (vf_share_layers, head_fcnet_hiddens, …); RLlib's defaults",
    )
    rollout_fragment_length: int | Literal["auto"] = hp(
        "auto", "env steps per sub-env in one sample() call; auto: derived from train_batch_size", ge=1
    )
    min_sample_timesteps_per_iteration: int = hp(
        0, "an iteration (one train() call, one report) samples at least this many env steps; RLlib: 0", ge=0
    )
    min_time_s_per_iteration: float = hp(0.0, "an iteration lasts at least this long [s]; RLlib: 0", ge=0)
    # Ray resources and fault tolerance.
    num_env_runners: int = hp(
        0,
        "env runner actors sampling in parallel (0: sample in the driver process); RLlib: 2 for PPO/APPO",
        ge=0,
    )
    num_envs_per_env_runner: int | None = hp(
        None, "sub-envs each env runner steps as one vector env (null: env.num_envs); RLlib: 1", ge=1
    )
    num_cpus_per_env_runner: float = hp(
        1.0, "CPUs Ray reserves per env runner; fractions (0.5) share a core; RLlib: 1", ge=0
    )
    num_learners: int = hp(0, "remote learner actors (0: one learner in the driver process); RLlib: 0", ge=0)
    num_gpus: float = hp(0.0, "GPUs per learner (RLlib's num_gpus_per_learner); RLlib: 0", ge=0)
    gym_env_vectorize_mode: Literal["auto", "vector_entry_point", "sync", "async"] = hp(
        "auto",
        "how env runners batch sub-envs: auto = our native vector env for rlsuite ids, RLlib's sync "
        "vector env of single envs otherwise; RLlib: sync",
    )
    restart_failed_env_runners: bool = hp(True, "restart an env runner actor that failed; RLlib: true")
    max_num_env_runner_restarts: int = hp(
        1000, "env runner restarts allowed in the whole run; RLlib: 1000", ge=0
    )
    delay_between_env_runner_restarts_s: float = hp(
        60.0, "seconds to wait before restarting a failed env runner; RLlib: 60", ge=0
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


@dataclass
class _ActorCriticParams(RLlibParams):
    """PPO's and APPO's shared settings (clipped surrogate objective, value loss, entropy bonus)."""

    lr: float = hp(5e-5, "Adam step size; RLlib: 5e-5", gt=0)
    minibatch_size: int | None = hp(128, "env steps per SGD minibatch; RLlib: 128", ge=1)
    num_epochs: int = hp(30, "passes over each train batch; RLlib: 30", ge=1)
    lambda_: float = hp(1.0, "GAE lambda (Schulman et al., 2016); RLlib: 1.0", ge=0, le=1)
    clip_param: float = hp(0.3, "surrogate clipping epsilon (Schulman et al., 2017); RLlib: 0.3", gt=0)
    vf_loss_coeff: float = hp(1.0, "weight of the value-function loss; RLlib: 1.0", ge=0)
    entropy_coeff: float = hp(0.0, "weight of the entropy bonus; RLlib: 0.0", ge=0)
    use_kl_loss: bool = hp(True, "add an adaptive KL penalty to the loss; RLlib: true")
    kl_coeff: float = hp(0.2, "initial KL penalty coefficient; RLlib: 0.2", ge=0)
    grad_clip: float | None = hp(
        None, "clip the gradient's global norm to this (null: no clipping); RLlib: null", gt=0
    )


@dataclass
class RLlibPPOParams(_ActorCriticParams):
    """Proximal Policy Optimization (Schulman et al., 2017), RLlib's defaults."""

    vf_clip_param: float = hp(10.0, "clip the value-function loss at this; RLlib: 10.0", gt=0)
    kl_target: float = hp(0.01, "KL divergence the adaptive penalty aims at; RLlib: 0.01", gt=0)


@dataclass
class RLlibAPPOParams(_ActorCriticParams):
    """Asynchronous PPO (IMPALA's V-trace actor-learner with PPO's surrogate; Espeholt et al., 2018)."""

    train_batch_size: int = hp(500, "env steps per learner update; RLlib: 500", ge=1)
    rollout_fragment_length: int | Literal["auto"] = hp(
        50, "env steps per sub-env per sample() call; RLlib: 50", ge=1
    )
    min_time_s_per_iteration: float = hp(10.0, "an iteration lasts at least this long [s]; RLlib: 10", ge=0)
    lr: float = hp(5e-4, "Adam step size; RLlib: 5e-4", gt=0)
    minibatch_size: int | None = hp(
        None, "env steps per SGD minibatch (null: the whole batch); RLlib: null", ge=1
    )
    num_epochs: int = hp(1, "passes over each train batch; RLlib: 1", ge=1)
    clip_param: float = hp(0.4, "surrogate clipping epsilon; RLlib: 0.4", gt=0)
    vf_loss_coeff: float = hp(0.5, "weight of the value-function loss; RLlib: 0.5", ge=0)
    entropy_coeff: float = hp(0.01, "weight of the entropy bonus; RLlib: 0.01", ge=0)
    use_kl_loss: bool = hp(False, "add a KL penalty to the loss; RLlib: false")
    kl_coeff: float = hp(1.0, "KL penalty coefficient; RLlib: 1.0", ge=0)
    grad_clip: float | None = hp(40.0, "clip the gradient's global norm to this; RLlib: 40", gt=0)


@dataclass
class _ReplayParams(RLlibParams):
    """DQN's and SAC's shared settings: an episode replay buffer and soft or hard target updates."""

    buffer_size: int = hp(50_000, "replay capacity in env steps; RLlib: 50000 (DQN)", ge=1)
    prioritized_replay: bool = hp(
        True, "proportional prioritised replay (Schaul et al., 2016), else uniform; RLlib: true"
    )
    n_step: int = hp(1, "n-step returns; RLlib: 1", ge=1)
    num_steps_sampled_before_learning_starts: int = hp(
        1000, "env steps of experience before the first update; RLlib: 1000 (DQN)", ge=0
    )
    training_intensity: float | None = hp(
        None, "env steps trained per env step sampled (null: one update per sample() call); RLlib: null", gt=0
    )


@dataclass
class RLlibDQNParams(_ReplayParams):
    """Deep Q-Network (Mnih et al., 2015) with RLlib's Rainbow options, RLlib's defaults."""

    train_batch_size: int = hp(32, "transitions per gradient step; RLlib: 32", ge=1)
    min_sample_timesteps_per_iteration: int = hp(
        1000, "an iteration samples at least this many env steps; RLlib: 1000", ge=0
    )
    lr: float = hp(5e-4, "Adam step size; RLlib: 5e-4", gt=0)
    double_q: bool = hp(True, "Double DQN targets (van Hasselt et al., 2016); RLlib: true")
    dueling: bool = hp(True, "dueling head (Wang et al., 2016); RLlib: true")
    target_network_update_freq: int = hp(500, "env steps between target-network updates; RLlib: 500", ge=1)
    tau: float = hp(1.0, "target update weight (1: hard copy); RLlib: 1.0", gt=0, le=1)
    epsilon_initial: float = hp(1.0, "epsilon-greedy: initial exploration rate; RLlib: 1.0", ge=0, le=1)
    epsilon_final: float = hp(0.05, "epsilon-greedy: final exploration rate; RLlib: 0.05", ge=0, le=1)
    epsilon_timesteps: int = hp(10_000, "env steps over which epsilon decays linearly; RLlib: 10000", ge=1)
    grad_clip: float | None = hp(40.0, "clip the gradient's global norm to this; RLlib: 40", gt=0)


@dataclass
class RLlibSACParams(_ReplayParams):
    """Soft Actor-Critic (Haarnoja et al., 2018), RLlib's defaults."""

    train_batch_size: int = hp(256, "transitions per gradient step; RLlib: 256", ge=1)
    min_sample_timesteps_per_iteration: int = hp(
        100, "an iteration samples at least this many env steps; RLlib: 100", ge=0
    )
    buffer_size: int = hp(1_000_000, "replay capacity in env steps; RLlib: 1000000", ge=1)
    num_steps_sampled_before_learning_starts: int = hp(
        1500, "env steps of experience before the first update; RLlib: 1500", ge=0
    )
    actor_lr: float = hp(3e-5, "policy Adam step size; RLlib: 3e-5", gt=0)
    critic_lr: float = hp(3e-4, "Q-network Adam step size; RLlib: 3e-4", gt=0)
    alpha_lr: float = hp(3e-4, "entropy-temperature Adam step size; RLlib: 3e-4", gt=0)
    tau: float = hp(0.005, "Polyak weight of the target Q-networks; RLlib: 0.005", gt=0, le=1)
    initial_alpha: float = hp(1.0, "initial entropy temperature; RLlib: 1.0", gt=0)
    target_entropy: float | Literal["auto"] = hp("auto", "entropy target (auto: -dim(actions)); RLlib: auto")
    twin_q: bool = hp(True, "two Q-networks, the minimum as target (Fujimoto et al., 2018); RLlib: true")


# ============================================================================================
# Episode statistics, gathered in the env runners
# ============================================================================================
class EpisodeStats(RLlibCallback):
    """Records each finished episode's ``(return, length)`` in the env runner's metrics.

    RLlib's own result carries only windowed means; this callback gives the monitor every episode. An
    episode that spans ``sample()`` calls arrives cut into chunks, its earlier chunks as
    ``prev_episode_chunks``: the return sums the chunks' rewards, the length is the last chunk's ``t``
    (env steps since the reset). Summing the chunks' lengths instead overcounts when the env runner is
    local (``num_env_runners: 0``): the learner connectors of PPO and APPO append a bootstrap step
    (reward 0, RLlib's ``AddOneTsToEpisodesAndTruncate``) to the very chunk objects RLlib keeps for
    these statistics, as RLlib 2.60's own ``episode_len_mean`` shows. ``item_series`` metrics are lists
    that RLlib concatenates over the env runners and clears when it reduces them, once per iteration.
    """

    def on_episode_end(
        self, *, episode: Any, prev_episode_chunks: Any = None, metrics_logger: Any = None, **kwargs: Any
    ) -> None:
        episode_return = float(sum(chunk.get_return() for chunk in [*(prev_episode_chunks or ()), episode]))
        metrics_logger.log_value(EPISODES_KEY, (episode_return, int(episode.t)), reduce="item_series")


# ============================================================================================
# The RLModule for pixel observations
# ============================================================================================
def default_image_encoder(observation_space: spaces.Box, model_config: dict[str, Any]) -> nn.Module:
    """Our Nature-CNN over channel-last uint8 images (``encoder_type``, ``features_dim`` from ``model_config``)."""
    return build_encoder(
        observation_space.shape,
        True,
        features_dim=model_config.get("features_dim", 256),
        encoder_type=model_config.get("encoder_type", "nature_cnn"),
    )


class ImageActorCriticModule(TorchRLModule, ValueFunctionAPI):
    """PPO's RLModule for channel-last ``uint8`` images ``(B, H, W, C)``: one encoder shared by a linear
    policy head (logits, or mean and log-std for ``Box`` actions) and a linear value head.

    ``model_config`` keys: ``encoder_factory`` (``factory(observation_space, model_config) -> nn.Module``
    with ``features_dim``; default :func:`default_image_encoder`), ``encoder_type``, ``features_dim``
    and ``freeze_encoder`` (keep the encoder's weights fixed, e.g. a pretrained one). The encoder does its
    own dtype and layout conversion, so the observations reach it exactly as the env produced them.
    """

    def setup(self) -> None:
        factory = self.model_config.get("encoder_factory") or default_image_encoder
        self.encoder = factory(self.observation_space, self.model_config)
        if self.model_config.get("freeze_encoder", False):
            self.encoder.requires_grad_(False)
        if isinstance(self.action_space, spaces.Discrete):
            outputs = int(self.action_space.n)
        else:
            outputs = 2 * int(np.prod(self.action_space.shape))  # TorchDiagGaussian: mean and log-std
        self.pi = nn.Linear(self.encoder.features_dim, outputs)
        self.vf = nn.Linear(self.encoder.features_dim, 1)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {Columns.ACTION_DIST_INPUTS: self.pi(self.encoder(batch[Columns.OBS]))}

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features = self.encoder(batch[Columns.OBS])
        return {Columns.ACTION_DIST_INPUTS: self.pi(features), Columns.EMBEDDINGS: features}

    def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> torch.Tensor:
        if embeddings is None:
            embeddings = self.encoder(batch[Columns.OBS])
        return self.vf(embeddings).squeeze(-1)


def image_module_spec(encoder_factory: Any = None, **model_config: Any) -> RLModuleSpec:
    """The :class:`ImageActorCriticModule` spec; ``encoder_factory`` hands it an encoder (e.g. pretrained)."""
    return RLModuleSpec(
        module_class=ImageActorCriticModule, model_config={"encoder_factory": encoder_factory, **model_config}
    )


# ============================================================================================
# Envs and Ray
# ============================================================================================
def pretrained_encoder(
    checkpoint: str, observation_space: spaces.Box, model_config: dict[str, Any]
) -> nn.Module:
    """An ``encoder_factory`` for :class:`ImageActorCriticModule`: the pretrained encoder ``checkpoint``
    (a shipped name or a path), which must take ``observation_space``'s (stacked) frames."""
    from rlsuite.encoders.checkpoint import load_encoder

    encoder, _ = load_encoder(checkpoint)
    if tuple(encoder.observation_shape) != tuple(observation_space.shape):
        raise ValueError(
            f"encoder {checkpoint!r} takes frames of shape {tuple(encoder.observation_shape)}; the module "
            f"gets {tuple(observation_space.shape)}"
        )
    return encoder


def _make_env(
    spec: gym.envs.registration.EnvSpec,
    env_config: dict[str, Any],
    encoder: str | None = None,
    frame_stack: int = 1,
) -> Any:
    """The Ray env creator: RLlib adds ``num_envs`` when it wants our native vector env; without it, one
    single env (RLlib batches those in a ``SyncVectorEnv``). With ``encoder`` (a frozen pretrained
    encoder's checkpoint) the native vector env is wrapped in the feature env, inside the env runner;
    with ``frame_stack`` > 1 (a pretrained encoder trained in the module) it stacks frames."""
    kwargs = dict(env_config)
    num_envs = kwargs.pop("num_envs", None)
    if num_envs is None:
        env = gym.make(spec, **kwargs)
        return gym.wrappers.FlattenObservation(env) if _flattened(env.observation_space) else env
    env = gym.make_vec(spec, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    if encoder is not None:
        from rlsuite.encoders.checkpoint import load_encoder
        from rlsuite.encoders.transfer import FeatureObservations

        network, meta = load_encoder(encoder)
        return FeatureObservations(env, network, meta["frame_stack"], "cpu")
    if frame_stack > 1:
        from rlsuite.encoders.transfer import StackedFrames

        return StackedFrames(env, frame_stack)
    return gym.wrappers.vector.FlattenObservation(env) if _flattened(env.single_observation_space) else env


def _flattened(space: gym.Space) -> bool:
    """RLlib's default encoders take 1-D vectors and images only: other Box observations (Highway's
    vehicles × features) reach it flattened, as SB3's MlpPolicy flattens them itself."""
    return isinstance(space, spaces.Box) and len(space.shape) > 1 and not is_image_space(space)


def _env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    import rlsuite  # noqa: F401  (registers our ids)

    if ":" in env_id:  # "module:Name-v0", as gymnasium.make reads it
        module, _, env_id = env_id.partition(":")
        importlib.import_module(module)
    return gym.spec(env_id)


def _connect_ray(address: str | None) -> bool:
    """Reuse a running Ray, join ``address``, or start a local Ray; True when this call started one."""
    from rlsuite.cluster import connect

    return connect(address)


# ============================================================================================
# The agents
# ============================================================================================
class RLlibAgent(Agent):
    """An RLlib algorithm as an rlsuite agent; subclasses name the algorithm and map its settings.

    ``self.algorithm`` is the live RLlib ``Algorithm`` while :meth:`learn` runs (None otherwise).
    """

    algo: ClassVar[str]
    rllib_config_class: ClassVar[type[AlgorithmConfig]]
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]

    def __init__(self, config: Config, envs: gym.vector.VectorEnv, *, checkpoint: Path | None = None) -> None:
        super().__init__(config, envs)
        self._check_spaces()
        if self.params.torch_threads > 0:  # the driver's learner and act(): training, eval and record
            torch.set_num_threads(self.params.torch_threads)
        self.algorithm: Algorithm | None = None
        # The RLlib checkpoint to restore when the Algorithm is built. Absolute: RLlib reads paths as
        # URIs (pyarrow), and a relative one, as `rlsuite eval runs/…` gives it, has no scheme.
        self._checkpoint = None if checkpoint is None else Path(checkpoint).resolve()
        self._module: RLModule | None = None  # the RLModule act() uses (in this process, on the CPU)
        self._weights_stale = False
        self._owns_ray = False
        self._workdir = Path(tempfile.mkdtemp(prefix="rlsuite-rllib-"))  # the final state of learn()
        weakref.finalize(self, shutil.rmtree, self._workdir, True)
        self._env_spec = _env_spec(config.env.id)
        self.rllib_config = self._rllib_config()
        if checkpoint is None:  # evaluating a checkpoint needs no Ray and no resources
            self._check_budget()
            if self.params.address is None:
                self._check_resources()
        else:
            self._module = RLModule.from_checkpoint(
                self._checkpoint / "learner_group/learner/rl_module" / DEFAULT_MODULE_ID
            )

    # ----------------------------------------------------------------- construction
    def _check_spaces(self) -> None:
        if not isinstance(self.action_space, self.action_spaces):
            wanted = " or ".join(s.__name__ for s in self.action_spaces)
            raise ConfigError(
                f"agent.algo: {self.algo} needs a {wanted} action space; {self.config.env.id} has "
                f"{self.action_space}"
            )
        if not isinstance(self.observation_space, spaces.Box):
            raise ConfigError(
                f"env.id: {self.algo} needs a Box observation space; {self.config.env.id} has "
                f"{self.observation_space}"
            )
        encoder = self.config.encoder
        if encoder is not None and encoder.checkpoint is not None and not encoder.feeds_features:
            if not self.trains_encoder_on_stacked_envs:
                raise ConfigError(
                    f"encoder: {self.algo} takes a pretrained encoder frozen, its features computed in the env "
                    "runners (encoder: {checkpoint: driving, freeze: true}); rllib.ppo also trains one in its "
                    "pixel RLModule"
                )
            if encoder.lr_scale != 1.0:
                raise ConfigError(
                    f"encoder.lr_scale: {self.algo} trains the encoder with the policy's one optimizer, at "
                    f"agent.lr; got {encoder.lr_scale:g}, allowed: 1 (or freeze: true)"
                )

    @property
    def _module_encoder(self) -> tuple[str, int] | None:
        """``(checkpoint, frame_stack)`` of the pretrained encoder inside the pixel RLModule (fine-tuned, or
        frozen there with ``store_features: false``); None without one."""
        encoder = self.config.encoder
        if encoder is None or encoder.checkpoint is None or encoder.feeds_features:
            return None
        from rlsuite.encoders.checkpoint import encoder_metadata

        checkpoint = self._encoder_checkpoint()
        return checkpoint, int(encoder_metadata(checkpoint)["frame_stack"])

    @property
    def _feature_encoder(self) -> str | None:
        """The frozen encoder whose features the env runners compute (a shipped name or a path)."""
        encoder = self.config.encoder
        if encoder is None or not encoder.feeds_features:
            return None
        return self._encoder_checkpoint()

    def _encoder_checkpoint(self) -> str:
        """The config's encoder checkpoint as the env runners and learners find it."""
        from rlsuite.encoders.checkpoint import resolve_checkpoint, shipped_encoders

        checkpoint = str(self.config.encoder.checkpoint)
        if checkpoint in shipped_encoders():  # each env runner finds it in its own install
            return checkpoint
        return str(resolve_checkpoint(checkpoint).resolve())  # a path: absolute, for runners elsewhere

    def _vectorize_mode(self) -> str:
        from rlsuite.envs.registration import registered_ids

        mode = self.params.gym_env_vectorize_mode
        if self.config.encoder is not None and self.config.encoder.checkpoint is not None and mode == "sync":
            raise ConfigError(
                "agent.gym_env_vectorize_mode: a pretrained encoder's frames are stacked (and, frozen, encoded) "
                "around our native vector env; use auto or vector_entry_point"
            )
        if mode == "auto":
            return "vector_entry_point" if self._env_spec.id in registered_ids() else "sync"
        if mode == "vector_entry_point" and self._env_spec.vector_entry_point is None:
            raise ConfigError(
                f"agent.gym_env_vectorize_mode: {self.config.env.id} has no native vector env "
                "(no vector_entry_point); use sync or auto"
            )
        return mode

    def _model_config(self) -> dict[str, Any]:
        p = self.params
        return {"fcnet_hiddens": list(p.fcnet_hiddens), "fcnet_activation": p.fcnet_activation, **p.model}

    def _rl_module_spec(self) -> RLModuleSpec | None:
        """None: RLlib's default RLModule for the algorithm (MLPs on vector observations)."""
        if not is_image_space(self.observation_space):
            return None
        raise ConfigError(
            f"env.kwargs: {self.algo} has no image RLModule here; use rllib.ppo for pixel observations or "
            "obs_type: state"
        )

    training_keys: ClassVar[tuple[str, ...]] = ()  # Params fields passed as they are to .training()

    def _training_kwargs(self) -> dict[str, Any]:
        """The algorithm's own ``AlgorithmConfig.training()`` arguments."""
        return {key: getattr(self.params, key) for key in self.training_keys}

    def _rllib_config(self) -> AlgorithmConfig:
        p = self.params
        seed = self.config.train.seed
        if self.global_step:  # a resumed run draws new random numbers (as our agents do)
            seed = int(np.random.SeedSequence([seed, self.global_step]).generate_state(1)[0])
        rllib_config = (
            self.rllib_config_class()
            .environment(self.config.env.id, env_config=dict(self.config.env.kwargs))
            .env_runners(
                num_env_runners=p.num_env_runners,
                num_envs_per_env_runner=p.num_envs_per_env_runner or self.config.env.num_envs,
                num_cpus_per_env_runner=p.num_cpus_per_env_runner,
                gym_env_vectorize_mode=self._vectorize_mode(),
                rollout_fragment_length=p.rollout_fragment_length,
            )
            .learners(num_learners=p.num_learners, num_gpus_per_learner=p.num_gpus)
            .fault_tolerance(
                restart_failed_env_runners=p.restart_failed_env_runners,
                max_num_env_runner_restarts=p.max_num_env_runner_restarts,
                delay_between_env_runner_restarts_s=p.delay_between_env_runner_restarts_s,
            )
            .training(
                gamma=p.gamma, train_batch_size_per_learner=p.train_batch_size, **self._training_kwargs()
            )
            .rl_module(model_config=self._model_config())
            .reporting(
                min_sample_timesteps_per_iteration=p.min_sample_timesteps_per_iteration,
                min_time_s_per_iteration=p.min_time_s_per_iteration,
            )
            .callbacks(EpisodeStats)
            .debugging(seed=seed)
        )
        spec = self._rl_module_spec()
        if spec is not None:
            rllib_config.rl_module(rl_module_spec=spec)
        return rllib_config

    def _check_budget(self) -> None:
        """Refuse ``train.total_steps`` below one iteration: each ``Algorithm.train()`` call samples at
        least ``min_sample_timesteps_per_iteration`` env steps, and PPO's a whole train batch per
        learner, so a smaller budget would silently train a whole iteration."""
        p = self.params
        sizes = [(p.min_sample_timesteps_per_iteration, "agent.min_sample_timesteps_per_iteration")]
        if self.rllib_config_class is PPOConfig:
            learners = max(p.num_learners, 1)
            key = "agent.train_batch_size" + (" × agent.num_learners" if learners > 1 else "")
            sizes.append((p.train_batch_size * learners, key))
        iteration, key = max(sizes, key=lambda size: size[0])
        total = self.config.train.total_steps
        if total < iteration:
            raise ConfigError(
                f"train.total_steps: got {total:,}, less than one {self.algo} iteration of {iteration:,} env "
                f"steps ({key}), which RLlib always completes; raise train.total_steps to at least "
                f"{iteration:,}, or lower {key.split(' × ')[0]}"
            )

    def _check_resources(self) -> None:
        """Refuse a config whose Ray resource request the cluster can never meet (Ray would wait forever)."""
        try:
            bundles = self.rllib_config.algo_class.default_resource_request(self.rllib_config).bundles
        except ValueError as error:  # RLlib's own config validation
            raise ConfigError(f"agent: {self.algo} rejects these settings: {error}") from None
        if ray.is_initialized():
            cluster = ray.cluster_resources()
        else:  # what _connect_ray will start
            cluster = {"CPU": os.cpu_count() or 1, "GPU": torch.cuda.device_count()}
        p = self.params
        where = "the Ray cluster has" if ray.is_initialized() else "this machine has"
        asked = {r: sum(bundle.get(r, 0.0) for bundle in bundles) for r in ("CPU", "GPU")}
        if asked["CPU"] > cluster.get("CPU", 0.0) + 1e-9:
            driver = bundles[0].get("CPU", 0.0)
            parts = [
                f"{driver:g} for the driver and its learner"
                if p.num_learners == 0
                else f"{driver:g} for the driver"
            ]
            parts.append(f"{p.num_env_runners} env runners × {p.num_cpus_per_env_runner:g}")
            learners = asked["CPU"] - driver - p.num_env_runners * p.num_cpus_per_env_runner
            if learners > 0:
                parts.append(f"{learners:g} for {p.num_learners} remote learners")
            raise ConfigError(
                f"agent: {self.algo} asks Ray for {asked['CPU']:g} CPUs ({' + '.join(parts)}) but {where} "
                f"{cluster.get('CPU', 0.0):g}; lower agent.num_env_runners or agent.num_cpus_per_env_runner "
                "(fractions such as 0.5 share a core), or join a bigger cluster with agent.address"
            )
        if asked["GPU"] > cluster.get("GPU", 0.0) + 1e-9:
            raise ConfigError(
                f"agent: {self.algo} asks Ray for {asked['GPU']:g} GPUs but {where} "
                f"{cluster.get('GPU', 0.0):g}; lower agent.num_gpus, or join a cluster with GPUs via agent.address"
            )

    # ----------------------------------------------------------------- the RLlib Algorithm
    def start(self) -> Algorithm:
        """Connect to Ray, register the env and build the RLlib Algorithm as ``self.algorithm``
        (restoring this agent's checkpoint, if any); :meth:`learn` calls it, :meth:`close` stops it."""
        self._owns_ray |= _connect_ray(self.params.address)
        self._check_resources()
        module_encoder = self._module_encoder
        register_env(
            self.config.env.id,
            functools.partial(
                _make_env,
                self._env_spec,
                encoder=self._feature_encoder,
                frame_stack=module_encoder[1] if module_encoder else 1,
            ),
        )
        try:
            algorithm = self.rllib_config.build_algo()
        except ValueError as error:
            raise ConfigError(f"agent: {self.algo} rejects these settings: {error}") from None
        self.algorithm = algorithm
        if self._checkpoint is not None:
            algorithm.restore_from_path(str(self._checkpoint))
        self._module = algorithm.get_module()
        self._weights_stale = True
        return algorithm

    def _stop(self) -> None:
        algorithm, self.algorithm = self.algorithm, None
        if algorithm is None:
            return
        logdir = algorithm.logdir
        algorithm.stop()
        with contextlib.suppress(OSError):  # RLlib's empty ~/ray_results/<date> folder: ours writes nothing
            os.rmdir(logdir)

    def _inference_module(self) -> RLModule:
        if self._module is None:
            raise RuntimeError(
                f"{self.algo}: the agent has neither trained nor been loaded; nothing to act with"
            )
        if self.algorithm is not None and self._weights_stale:  # the learner's latest weights
            state = self.algorithm.learner_group.get_state(components=MODULE_STATE, inference_only=True)
            self._module.set_state(state[COMPONENT_LEARNER][COMPONENT_RL_MODULE][DEFAULT_MODULE_ID])
            self._weights_stale = False
        return self._module

    def close(self) -> None:
        """Stop the Algorithm if it runs, and shut down a Ray that this agent started."""
        self._stop()
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    # ----------------------------------------------------------------- the protocol
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        """Call ``Algorithm.train()`` until ``num_env_steps_sampled_lifetime`` reaches ``total_steps``
        (the last iteration may run past it); each iteration's episodes and learner statistics go to the
        monitor. The Algorithm is stopped when this returns or raises; its final state is kept for
        :meth:`save` and :meth:`act`."""
        if self.global_step >= total_steps:
            return
        algorithm = self.start()
        try:
            while self.global_step < total_steps:
                result = algorithm.train()
                self.global_step = int(result.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, self.global_step))
                self._weights_stale = True
                if monitor is not None and not self._report(result, monitor):
                    break
            self._inference_module()  # the final weights, for act() after the stop
            final = self._workdir / "final"
            shutil.rmtree(final, ignore_errors=True)
            algorithm.save_to_path(str(final))
            self._checkpoint = final
        finally:
            self._stop()

    def _report(self, result: dict[str, Any], monitor: StepMonitor) -> bool:
        learner = result.get(LEARNER_RESULTS, {}).get(DEFAULT_MODULE_ID, {})
        scalars = {name: float(learner[key]) for key, name in LEARNER_SCALARS.items() if key in learner}
        if self.params.num_env_runners > 0:
            restarts = result.get(FAULT_TOLERANCE_STATS, {}).get("num_remote_worker_restarts")
            if restarts is not None:
                scalars["charts/env_runner_restarts"] = float(restarts)
        if scalars:
            monitor.log(self.global_step, scalars)
        episodes = result.get(ENV_RUNNER_RESULTS, {}).get(EPISODES_KEY, [])
        if isinstance(episodes, tuple):  # RLlib hands a series of one item over as the item itself
            episodes = [episodes]
        elif not isinstance(episodes, list):  # NaN: no episode ended in this iteration
            episodes = []
        return monitor.on_episodes(self.global_step, [e[0] for e in episodes], [e[1] for e in episodes])

    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """The RLModule's actions for a batch of observations (greedy when ``deterministic``); one
        observation: one action."""
        if is_single_observation(obs, self.observation_space):
            return self.act(np.asarray(obs)[None], deterministic, episode_start)[0]
        module = self._inference_module()
        obs = np.asarray(obs, dtype=self.observation_space.dtype)
        if _flattened(self.observation_space):  # as the env creator hands them to RLlib
            obs = obs.reshape(len(obs), -1)
        batch = {Columns.OBS: torch.from_numpy(obs)}
        with torch.no_grad():
            if deterministic:
                out = module.forward_inference(batch)
            else:
                out = module.forward_exploration(batch, t=self.global_step)
            if Columns.ACTIONS in out:  # DQN picks its actions itself
                actions = out[Columns.ACTIONS]
            else:
                dist_class = (
                    module.get_inference_action_dist_cls()
                    if deterministic
                    else module.get_exploration_action_dist_cls()
                )
                dist = dist_class.from_logits(out[Columns.ACTION_DIST_INPUTS])
                actions = (dist.to_deterministic() if deterministic else dist).sample()
        actions = actions.cpu().numpy()
        if isinstance(self.action_space, spaces.Box):  # as RLlib's module-to-env connector does
            if self.rllib_config.normalize_actions:
                return unsquash_action(actions, self.action_space)
            return clip_action(actions, self.action_space)
        return actions

    def save(self, directory: str | Path) -> None:
        """RLlib's checkpoint in ``<directory>/rllib`` (pickles inside: trust only your own) + ``agent.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / RLLIB_CHECKPOINT
        if self.algorithm is not None:
            shutil.rmtree(target, ignore_errors=True)
            self.algorithm.save_to_path(str(target.resolve()))
        elif self._checkpoint is None:
            raise RuntimeError(f"{self.algo}: the agent has neither trained nor been loaded; nothing to save")
        elif self._checkpoint.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(self._checkpoint, target)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "algo": self.algo,
            "global_step": self.global_step,
            "ray": ray.__version__,
        }
        (directory / "agent.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> RLlibAgent:
        """Rebuild an agent written by :meth:`save` (unpickles RLlib's checkpoint: trust only your own).

        Only the RLModule is restored here, which is all :meth:`act` needs; :meth:`learn` restores the
        whole Algorithm (optimizer, connectors, counters) from the same checkpoint."""
        directory = Path(directory)
        meta: dict[str, Any] = json.loads((directory / "agent.json").read_text())
        if meta.get("algo") != cls.algo:
            raise ConfigError(
                f"agent.algo: {directory} holds a {meta.get('algo')!r} checkpoint, not {cls.algo!r}"
            )
        agent = cls(config, envs, checkpoint=directory / RLLIB_CHECKPOINT)
        agent.global_step = int(meta["global_step"])
        agent.rllib_config = agent._rllib_config()  # its seed depends on the step
        return agent


class RLlibPPO(RLlibAgent):
    """Proximal Policy Optimization (Schulman et al., 2017), RLlib's implementation."""

    Params = RLlibPPOParams
    algo = "rllib.ppo"
    rllib_config_class = PPOConfig
    action_spaces = (spaces.Box, spaces.Discrete)

    training_keys = (
        "lr", "minibatch_size", "num_epochs", "lambda_", "clip_param", "vf_clip_param", "vf_loss_coeff",
        "entropy_coeff", "use_kl_loss", "kl_coeff", "kl_target", "grad_clip",
    )  # fmt: skip

    trains_encoder_on_stacked_envs = True  # in its pixel RLModule

    def _rl_module_spec(self) -> RLModuleSpec | None:
        if not is_image_space(self.observation_space):
            return None
        encoder = self.config.encoder
        module_encoder = self._module_encoder
        if module_encoder is not None:  # pretrained: trained here, or frozen here (store_features: false)
            return image_module_spec(
                encoder_factory=functools.partial(pretrained_encoder, module_encoder[0]),
                freeze_encoder=encoder.freeze,
            )
        return image_module_spec(
            encoder_type=encoder.type if encoder else "nature_cnn",
            features_dim=encoder.features_dim if encoder else 256,
            freeze_encoder=encoder.freeze if encoder else False,
        )


class RLlibAPPO(RLlibAgent):
    """Asynchronous PPO (IMPALA's actor-learner architecture with V-trace, Espeholt et al., 2018, and
    PPO's clipped objective), RLlib's implementation. Its learner runs in the driver process
    (``num_learners: 0``) unless ``num_learners`` says otherwise (RLlib's APPO default is 1)."""

    Params = RLlibAPPOParams
    algo = "rllib.appo"
    rllib_config_class = APPOConfig
    action_spaces = (spaces.Box, spaces.Discrete)

    training_keys = (
        "lr", "minibatch_size", "num_epochs", "lambda_", "clip_param", "vf_loss_coeff", "entropy_coeff",
        "use_kl_loss", "kl_coeff", "grad_clip",
    )  # fmt: skip

    def _rllib_config(self) -> AlgorithmConfig:
        # Weights reach the env runners by broadcast: with RLlib 2.60's default pull-based state server,
        # a remote env runner sampled nothing for the first ~18 s on our 2-core machines.
        return super()._rllib_config().env_runners(use_env_runner_state_server=False)


class _ReplayAgent(RLlibAgent):
    """DQN and SAC: the replay buffer settings they share."""

    def _training_kwargs(self) -> dict[str, Any]:
        p = self.params
        buffer = "PrioritizedEpisodeReplayBuffer" if p.prioritized_replay else "EpisodeReplayBuffer"
        return {
            **super()._training_kwargs(),
            "replay_buffer_config": {"type": buffer, "capacity": p.buffer_size},
            "n_step": p.n_step,
            "num_steps_sampled_before_learning_starts": p.num_steps_sampled_before_learning_starts,
            "training_intensity": p.training_intensity,
        }


class RLlibDQN(_ReplayAgent):
    """Deep Q-Network (Mnih et al., 2015) with double-Q, dueling, n-step and prioritised replay,
    RLlib's implementation."""

    Params = RLlibDQNParams
    algo = "rllib.dqn"
    rllib_config_class = DQNConfig
    action_spaces = (spaces.Discrete,)

    training_keys = ("lr", "double_q", "dueling", "target_network_update_freq", "tau", "grad_clip")

    def _training_kwargs(self) -> dict[str, Any]:
        p = self.params
        epsilon = [(0, p.epsilon_initial), (p.epsilon_timesteps, p.epsilon_final)]  # a linear schedule
        return {**super()._training_kwargs(), "epsilon": epsilon}


class RLlibSAC(_ReplayAgent):
    """Soft Actor-Critic (Haarnoja et al., 2018), RLlib's implementation."""

    Params = RLlibSACParams
    algo = "rllib.sac"
    rllib_config_class = SACConfig
    action_spaces = (spaces.Box,)

    training_keys = ("actor_lr", "critic_lr", "alpha_lr", "tau", "initial_alpha", "target_entropy", "twin_q")


AGENTS: tuple[type[RLlibAgent], ...] = (RLlibPPO, RLlibDQN, RLlibSAC, RLlibAPPO)
