"""The SB3 algorithms as rlsuite agents: :class:`SB3Agent` and its five algorithms (``sb3.ppo``,
``sb3.a2c``, ``sb3.dqn``, ``sb3.sac``, ``sb3.td3``), built from the validated config and the vector env
they train on (the schemas: :mod:`~rlsuite.agents.sb3.params`; the env adapter:
:mod:`~rlsuite.agents.sb3.vec_env`; logging: :mod:`~rlsuite.agents.sb3.logger`; pretrained encoders:
:mod:`~rlsuite.agents.sb3.extractor`).

**Budget.** SB3 completes every collection it starts (``n_steps`` × ``env.num_envs`` env steps for PPO
and A2C, ``train_freq`` × ``env.num_envs`` off-policy), so a run ends at the first whole collection at
or past ``train.total_steps``; a ``total_steps`` smaller than one collection is a
:class:`~rlsuite.config.ConfigError` before anything runs.

**Checkpoints** are SB3's own ``model.zip`` (plus ``agent.json``: algo, step). SB3's zip files hold
pickled Python objects that are unpickled on load, unlike our agents' safetensors checkpoints: load
only checkpoints you wrote yourself. Off-policy replay buffers are not saved; a resumed SAC/TD3/DQN run
refills its buffer.

**Releasing envs.** For other ids than ours the agent builds SB3's ``DummyVecEnv`` itself and releases it
in :meth:`SB3Agent.close` (``on_train_end`` calls it); our ids' vector env belongs to the caller, who
closes it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np
import stable_baselines3
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecFrameStack, VecMonitor

from rlsuite.agents.base import (
    Agent,
    StepMonitor,
    is_single_observation,
    memory_checked,
    resolve_device,
    resume_seed,
)
from rlsuite.agents.sb3.extractor import PretrainedEncoder
from rlsuite.agents.sb3.logger import MonitorCallback, MonitorWriter
from rlsuite.agents.sb3.params import (
    RLSUITE_FIELDS,
    A2CParams,
    DQNParams,
    PPOParams,
    SACParams,
    TD3Params,
    default_policy,
    sb3_action_noise,
    sb3_policy_kwargs,
)
from rlsuite.agents.sb3.vec_env import SB3VecEnv
from rlsuite.config import ConfigError

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = ["AGENTS", "SB3A2C", "SB3Agent", "SB3DQN", "SB3PPO", "SB3SAC", "SB3TD3"]

CHECKPOINT_FORMAT = 1


class SB3Agent(Agent):
    """An SB3 algorithm as an rlsuite agent; subclasses name the algorithm and its action spaces."""

    algo: ClassVar[str]
    # A pretrained encoder only (SB3 trains a CNN of its own with CnnPolicy, without an encoder section).
    encoder_modes = frozenset({"features", "frozen", "finetune"})
    encoder_advice = (
        "to train a CNN of SB3's own, remove the encoder section (CnnPolicy is the default for images) or "
        "set agent.policy_kwargs.features_extractor_class"
    )
    checkpoint_unpickles = True  # SB3's model.zip
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
        self._vec_env_closed = False
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
        kwargs["policy"] = kwargs["policy"] or default_policy(self.observation_space)
        if kwargs.get("policy_kwargs") is not None:
            kwargs["policy_kwargs"] = sb3_policy_kwargs(kwargs["policy_kwargs"])
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
            kwargs["action_noise"] = sb3_action_noise(kwargs["action_noise"], self.action_space)
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
        agent.model.set_random_seed(resume_seed(config.train.seed, agent.global_step))
        return agent

    def on_train_end(self, run_dir: Path) -> None:
        self._release_own_vec_env()

    def _release_own_vec_env(self) -> None:
        """Close the ``DummyVecEnv`` of single envs this agent built for other ids than ours (once)."""
        if self._owns_vec_env and not self._vec_env_closed:
            self._vec_env_closed = True
            self.vec_env.close()

    def close(self) -> None:
        """Release the envs: the ``DummyVecEnv`` this agent built for other ids than ours and the vector
        env it was given. Safe to call twice, and after :meth:`on_train_end`."""
        self._release_own_vec_env()
        super().close()


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
