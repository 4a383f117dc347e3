"""The RLlib algorithms as rlsuite agents: :class:`RLlibAgent` builds an RLlib ``Algorithm`` from the
validated config (checking the budget and Ray's resources first), trains it iteration by iteration,
acts with its RLModule in the driver process and checkpoints it; one subclass per algorithm maps its
settings (:class:`RLlibPPO`, :class:`RLlibAPPO`, :class:`RLlibDQN`, :class:`RLlibSAC`).

Longer than 500 lines because :class:`RLlibAgent` is one object's lifecycle (config → Algorithm →
learn → act/save/load → close) that reads best whole; the four subclasses after it are short.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

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
from ray.rllib.core import COMPONENT_LEARNER, COMPONENT_RL_MODULE, DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModule
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME
from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action
from ray.tune.registry import register_env

from rlsuite import cluster
from rlsuite.agents.base import Agent, StepMonitor, is_image_space, is_single_observation, resume_seed
from rlsuite.agents.rllib.envs import env_spec, flattens_observations, make_env
from rlsuite.agents.rllib.module import image_module_spec, pretrained_encoder
from rlsuite.agents.rllib.params import RLlibAPPOParams, RLlibDQNParams, RLlibPPOParams, RLlibSACParams
from rlsuite.agents.rllib.reporting import EpisodeStats, report_iteration
from rlsuite.config import ConfigError

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = ["AGENTS", "RLlibAPPO", "RLlibAgent", "RLlibDQN", "RLlibPPO", "RLlibSAC"]

CHECKPOINT_FORMAT = 1
RLLIB_CHECKPOINT = "rllib"  # the RLlib checkpoint's folder inside an rlsuite checkpoint
MODULE_STATE = f"{COMPONENT_LEARNER}/{COMPONENT_RL_MODULE}/{DEFAULT_MODULE_ID}"


class RLlibAgent(Agent):
    """An RLlib algorithm as an rlsuite agent; subclasses name the algorithm and map its settings.

    ``self.algorithm`` is the live RLlib ``Algorithm`` while :meth:`learn` runs (None otherwise).
    """

    algo: ClassVar[str]
    rllib_config_class: ClassVar[type[AlgorithmConfig]]
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]
    # A frozen pretrained encoder runs in the env runners for every algorithm (its features are the
    # observations); a scratch encoder section is the pixel RLModule's CNN (PPO's; the others have no
    # pixel RLModule and say so) and is not used on vector observations.
    encoder_modes = frozenset({"scratch", "features"})
    encoder_advice = (
        "freeze it with its features computed in the env runners (encoder: {checkpoint: driving, "
        "freeze: true}); rllib.ppo also takes one inside its pixel RLModule"
    )
    checkpoint_unpickles = True  # RLlib's checkpoint tree holds pickles

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
        self._owns_ray = False  # True once start() has started (or joined) Ray: close() shuts it down
        self._closed = False
        self._workdir = Path(tempfile.mkdtemp(prefix="rlsuite-rllib-"))  # the final state of learn()
        self._remove_workdir = weakref.finalize(self, shutil.rmtree, self._workdir, True)
        self._env_spec = env_spec(config.env.id)
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
        in_module = encoder is not None and encoder.checkpoint is not None and not encoder.feeds_features
        if in_module and encoder.lr_scale != 1.0:  # Agent.check_encoder let only rllib.ppo get here
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
        seed = resume_seed(self.config.train.seed, self.global_step)  # a resumed run draws new numbers
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
        else:  # what cluster.connect will start
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
        self._check_open("start")
        self._owns_ray |= cluster.connect(self.params.address)
        self._check_resources()
        module_encoder = self._module_encoder
        register_env(
            self.config.env.id,
            functools.partial(
                make_env,
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
        """Stop the Algorithm if it runs (its env runners and learners too), shut down Ray if this agent
        started it (a Ray it found running is left running), remove the agent's scratch folder (the
        final state of :meth:`learn`, which :meth:`save` copies) and close its envs. A second call does
        nothing.

        :meth:`act` still works afterwards (the RLModule stays in memory); :meth:`learn` and :meth:`save`
        raise: save before closing."""
        try:
            self._stop()
        finally:
            self._closed = True
            if self._owns_ray:
                self._owns_ray = False
                ray.shutdown()
            if self._checkpoint is not None and self._checkpoint.is_relative_to(self._workdir):
                self._checkpoint = None
            self._remove_workdir()
            super().close()

    def _check_open(self, what: str) -> None:
        if self._closed:
            raise RuntimeError(
                f"{self.algo}: {what}() on a closed agent, which can only act; {what} before close()"
            )

    # ----------------------------------------------------------------- the protocol
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        """Call ``Algorithm.train()`` until ``num_env_steps_sampled_lifetime`` reaches ``total_steps``
        (the last iteration may run past it); each iteration's episodes and learner statistics go to the
        monitor. The Algorithm is stopped when this returns or raises; its final state is kept for
        :meth:`save` and :meth:`act`."""
        self._check_open("learn")
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
        return report_iteration(
            result, monitor, self.global_step, env_runner_restarts=self.params.num_env_runners > 0
        )

    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """The RLModule's actions for a batch of observations (greedy when ``deterministic``); one
        observation: one action."""
        if is_single_observation(obs, self.observation_space):
            return self.act(np.asarray(obs)[None], deterministic, episode_start)[0]
        module = self._inference_module()
        obs = np.asarray(obs, dtype=self.observation_space.dtype)
        if flattens_observations(self.observation_space):  # as the env creator hands them to RLlib
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
        self._check_open("save")
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

    # A pretrained encoder in its pixel RLModule (frozen or fine-tuned) sees frames the envs stack.
    encoder_modes = frozenset({"scratch", "features", "frozen", "finetune"})
    encoder_frames_stacked_by_envs = True

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
