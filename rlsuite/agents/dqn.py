"""Deep Q-Network: double, dueling, n-step, prioritised replay, device-resident, vector envs.

DQN (Mnih et al., 2015, "Human-level control through deep reinforcement learning", *Nature* 518)
learns ``Q(s, a)`` by regressing on bootstrapped targets from a slowly moving target network,
sampling past transitions from a replay memory and acting epsilon-greedily. The switchable
improvements are those of Rainbow (Hessel et al., 2018) that fit a value-based, non-distributional
agent: Double DQN targets, the dueling head, n-step returns and proportional prioritised replay.

How it reads, top to bottom: hyper-parameters (:class:`DQNParams`, names follow Stable-Baselines3 so an
SB3 / RL Zoo config ports over unchanged), then the agent: construction, the collection loop
(:meth:`DQNAgent.learn`), **the update step** (:meth:`DQNAgent.update`, one screen), acting, and the
checkpoint plumbing.

Speed: the replay buffer, sampling, targets, losses and priorities stay on ``train.device``; per
vector step the observations cross to the device once (pinned, non-blocking on CUDA) and the actions
come back once. Vector envs use NEXT_STEP autoreset (``docs/design.md``, "Vector semantics"): the step after a
done is a fake reset transition and is never stored as a transition; truncated episodes bootstrap
from their last observation, terminated ones do not.

Python use::

    from rlsuite.config import load_config
    from rlsuite.training import train

    run_dir = train(load_config("experiments/configs/dqn_cartpole.yaml"))
"""

from __future__ import annotations

import contextlib
import copy
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from rlsuite.agents.base import (
    ENCODER_MODES,
    Agent,
    NonFiniteError,
    SeedEnvsLike,
    StepMonitor,
    encoder_mode,
    is_single_observation,
    memory_checked,
    resolve_device,
    resume_seed,
)
from rlsuite.agents.networks import (
    Adam,
    MLPEncoder,
    QHead,
    QNetwork,
    RandomShift,
    SeedAdam,
    build_encoder,
    is_image_space,
)
from rlsuite.agents.replay import Batch, ReplayBuffer, stack_frames
from rlsuite.config import ConfigError, hp, to_dict
from rlsuite.encoders.objectives import auxiliary_objective, auxiliary_objectives

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = ["DQNAgent", "DQNParams", "DQNSeedBatch"]

CHECKPOINT_FORMAT = 1
SAMPLE_BYTES = 32 * 2**20  # uniform replay: observation bytes drawn per sampling call (many updates' worth)
AUX_OBJECTIVES = ("none", *auxiliary_objectives())  # the encoder objectives that train on transitions


# ============================================================================================
# Hyper-parameters
# ============================================================================================
@dataclass
class DQNParams:
    """DQN hyper-parameters. Names and units follow Stable-Baselines3's ``DQN`` where the concept is
    the same; the defaults are SB3's except where noted."""

    learning_rate: float = hp(1e-4, "Adam step size (Kingma & Ba, 2015)", gt=0)
    lr_schedule: Literal["constant", "linear"] = hp(
        "constant",
        "learning rate over the run: constant, or linear from learning_rate to 0 at the run's last step "
        "(RL Zoo's lin_ schedules, CleanRL's anneal_lr)",
    )
    buffer_size: int = hp(
        100_000, "replay capacity in transitions (Lin, 1992; Mnih et al., 2015); SB3: 1e6", ge=1
    )
    learning_starts: int = hp(1_000, "env steps of experience before the first update; SB3: 100", ge=0)
    batch_size: int = hp(32, "transitions per gradient step", ge=1)
    tau: float = hp(
        1.0,
        "target update weight: 1 = hard copy (Mnih et al., 2015), < 1 = Polyak (Lillicrap et al., 2016)",
        gt=0,
        le=1,
    )
    gamma: float = hp(0.99, "discount factor", ge=0, le=1)
    train_freq: int = hp(
        4, "vector steps between training phases (SB3's unit: num_envs transitions each)", ge=1
    )
    gradient_steps: int = hp(
        1, "gradient steps per training phase; -1: one per transition collected (SB3's convention)", ge=-1
    )
    target_update_interval: int = hp(10_000, "env steps between target-network updates (SB3's unit)", ge=1)
    exploration_fraction: float = hp(
        0.1, "fraction of the training steps over which epsilon decays", ge=0, le=1
    )
    exploration_initial_eps: float = hp(1.0, "epsilon-greedy: initial exploration rate", ge=0, le=1)
    exploration_final_eps: float = hp(0.05, "epsilon-greedy: final exploration rate", ge=0, le=1)
    max_grad_norm: float = hp(10.0, "clip the gradient's global L2 norm to this (0: no clipping)", ge=0)
    loss: Literal["huber", "mse"] = hp(
        "huber", "TD loss: Huber with delta 1 (Mnih et al., 2015) or squared error"
    )
    net_arch: list[int] = hp(
        default_factory=lambda: [64, 64], doc="hidden layer sizes of the Q head (SB3's net_arch)"
    )
    activation: Literal["relu", "tanh", "elu"] = hp("relu", "activation of the hidden layers")
    double_q: bool = hp(
        True,
        "Double DQN targets: the online net picks a', the target net rates it "
        "(van Hasselt et al., 2016); SB3 has none (false)",
    )
    dueling: bool = hp(False, "dueling head Q = V + A - mean A (Wang et al., 2016)")
    n_steps: int = hp(1, "n-step returns (Sutton, 1988; Hessel et al., 2018 use 3)", ge=1)
    prioritized_replay: bool = hp(False, "proportional prioritised replay (Schaul et al., 2016)")
    prioritized_replay_alpha: float = hp(0.6, "priority exponent alpha (0: uniform)", ge=0, le=1)
    prioritized_replay_beta0: float = hp(
        0.4,
        "importance-sampling exponent beta at the start; annealed linearly to 1 over training",
        ge=0,
        le=1,
    )
    prioritized_replay_eps: float = hp(1e-6, "added to |TD error| so no transition has zero priority", gt=0)
    frame_stack: int = hp(
        1,
        "observations stacked per input (Mnih et al., 2015 use 4 for pixels); stored once, not k times",
        ge=1,
    )
    random_shift_pad: int = hp(
        0,
        "DrQ random-shift augmentation of pixel batches by ±pad pixels "
        "(Kostrikov et al., 2021 use 4; 0: off)",
        ge=0,
    )
    aux_objective: Literal[AUX_OBJECTIVES] = hp(
        "none",
        "self-supervised auxiliary loss on the encoder, next to the TD loss (rlsuite.encoders.objectives): "
        "curl (Laskin et al., 2020) or atc (Stooke et al., 2021; the positive is the n-step successor)",
    )
    aux_weight: float = hp(1.0, "weight of the auxiliary loss", ge=0)
    adam_eps: float = hp(1e-8, "Adam epsilon (Rainbow uses 1.5e-4)", gt=0)
    torch_threads: int = hp(
        1,
        "torch CPU threads when training on CPU (0: torch's default); 1 is fastest for small nets "
        "and fair on shared machines",
        ge=0,
    )
    torch_compile: bool = hp(False, "torch.compile the Q-networks (mainly for CUDA)")
    bf16: bool = hp(False, "bfloat16 autocast of the network passes (mainly for CUDA)")
    save_replay_buffer: bool = hp(False, "include the replay buffer in checkpoints (large for pixels)")
    log_interval: int = hp(100, "gradient steps between logged losses (each log syncs the device)", ge=1)

    def __post_init__(self) -> None:
        if self.gradient_steps == 0:
            raise ConfigError("gradient_steps: got 0; use >= 1, or -1 for one per transition collected")
        if self.exploration_final_eps > self.exploration_initial_eps:
            raise ConfigError(
                f"exploration_final_eps: got {self.exploration_final_eps}; must be <= "
                f"exploration_initial_eps ({self.exploration_initial_eps})"
            )
        if not self.net_arch:
            raise ConfigError("net_arch: got []; give at least one hidden layer, e.g. [64, 64]")
        if any(size < 1 for size in self.net_arch):
            raise ConfigError(f"net_arch: got {self.net_arch}; every hidden layer needs at least 1 unit")


# ============================================================================================
# The agent
# ============================================================================================
MEMORY_SIZES = (
    "agent.buffer_size, agent.batch_size, agent.net_arch, agent.n_steps, agent.frame_stack, "
    "encoder.features_dim or env.num_envs"
)  # what sizes the agent's memory, named when it does not fit


class FrameStackingActor:
    """``act`` of the Q-learning agents (DQN, PQN): greedy or epsilon-greedy actions for one observation
    or a batch, the caller's frame stacks kept per sub-env. The agent provides ``_to_device``,
    ``_push_frames``, ``_greedy``, ``np_rng``, ``exploration_rate``, ``num_actions``, ``frame_stack``,
    ``_action_start``, ``_act_frames`` and ``_warned_stacks``."""

    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """Actions for a batch of observations (one observation: one action): greedy, or
        epsilon-greedy at the current epsilon.

        With ``frame_stack > 1`` the agent keeps the last frames of each caller's sub-env;
        ``episode_start`` marks the sub-envs whose observation begins an episode (default: all of
        them on the first call or when the batch size changes).
        """
        if is_single_observation(obs, self.observation_space):
            start = None if episode_start is None else np.reshape(episode_start, 1)
            return self.act(np.asarray(obs)[None], deterministic, start)[0]
        obs_t = self._to_device(obs)
        if self.frame_stack > 1:
            n = len(obs_t)
            if self._act_frames is None or len(self._act_frames) != n:
                self._act_frames = obs_t.unsqueeze(1).repeat_interleave(self.frame_stack, dim=1)
                starts = np.ones(n, dtype=bool)
            else:
                if episode_start is None and not self._warned_stacks:
                    self._warned_stacks = True
                    warnings.warn(
                        f"{type(self).__name__}.act: frame_stack > 1 but no episode_start given; the stacks of "
                        "sub-envs that start a new episode keep frames of the previous one for frame_stack - 1 steps",
                        stacklevel=2,
                    )
                starts = np.zeros(n, dtype=bool) if episode_start is None else np.asarray(episode_start, bool)
            start_t = self._to_device(np.broadcast_to(starts, (n,)).copy())
            self._act_frames = self._push_frames(self._act_frames, obs_t, start_t)
            greedy = self._greedy(stack_frames(self._act_frames))
        else:
            greedy = self._greedy(obs_t)
        if not deterministic:
            explore = self.np_rng.random(len(greedy)) < self.exploration_rate
            greedy = np.where(explore, self.np_rng.integers(self.num_actions, size=len(greedy)), greedy)
        return greedy + self._action_start


class DQNAgent(FrameStackingActor, Agent):
    """DQN on a batch of envs with discrete actions and vector or channel-last ``uint8`` image observations.

    Build it from a validated config and the vector env it trains on (``rlsuite.training.make_envs``)::

        agent = DQNAgent(config, envs)
        agent.learn(50_000)
        actions = agent.act(observations)       # greedy, a batch in, a batch out
    """

    Params = DQNParams
    encoder_modes = frozenset(ENCODER_MODES)  # a CNN of its own, or a pretrained one in any mode
    learns_seeds_together = True  # train.num_seeds > 1: DQNSeedBatch (vector observations)

    @classmethod
    def seed_batch(cls, agents: Sequence[Agent], envs: SeedEnvsLike) -> DQNSeedBatch:
        """K seeds' agents as one batched learner (see :class:`DQNSeedBatch`)."""
        return DQNSeedBatch(agents, envs)  # type: ignore[arg-type]

    def __init__(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        with memory_checked(MEMORY_SIZES):  # networks and replay buffer
            self._build(config, envs)

    def _build(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        super().__init__(config, envs)
        p: DQNParams = self.params
        self.device = torch.device(resolve_device(config.train.device))
        if self.device.type == "cpu" and p.torch_threads > 0:
            torch.set_num_threads(p.torch_threads)
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ConfigError(
                f"agent.algo: dqn needs a Discrete action space; {config.env.id} has {self.action_space}. "
                "Use the env's discrete variant (e.g. env.kwargs.action_type=discrete) or a continuous-action agent"
            )
        if not isinstance(self.observation_space, gym.spaces.Box):
            raise ConfigError(
                f"env.id: dqn needs a Box observation space; {config.env.id} has {self.observation_space}"
            )
        self.num_actions = int(self.action_space.n)
        self._action_start = int(self.action_space.start)
        image = is_image_space(self.observation_space)
        frame_shape = tuple(self.observation_space.shape)
        # A feature env (frozen pretrained encoder, rlsuite.encoders.transfer) stacked the frames already.
        self.frame_stack = 1 if encoder_mode(config) == "features" else p.frame_stack
        stacked_shape = (*frame_shape[:-1], frame_shape[-1] * self.frame_stack)
        self._observation_bytes = int(np.prod(stacked_shape)) * self.observation_space.dtype.itemsize
        if p.random_shift_pad and not image:
            raise ConfigError("agent.random_shift_pad: random shifts need (H, W, C) uint8 image observations")

        # Networks: encoder (MLP input, CNN, or a pretrained one) + Q head; the target network is a copy.
        encoder_config = config.encoder
        if image and encoder_config is not None and encoder_config.checkpoint:
            from rlsuite.encoders.transfer import load_checked

            encoder, _ = load_checked(encoder_config, self.observation_space, frame_stack=p.frame_stack)
        else:
            try:
                encoder = build_encoder(
                    stacked_shape,
                    image,
                    features_dim=encoder_config.features_dim if encoder_config else 512,
                    encoder_type=encoder_config.type if encoder_config else "nature_cnn",
                )
            except ValueError as error:
                raise ConfigError(str(error)) from None
        if image and encoder_config is not None and encoder_config.freeze:
            encoder.requires_grad_(False)
        head = QHead(encoder.features_dim, self.num_actions, p.net_arch, p.dueling, p.activation)
        self.q_network = QNetwork(encoder, head).to(self.device)
        self.target_network = copy.deepcopy(self.q_network).requires_grad_(False)
        self._online_weights = list(self.q_network.parameters())
        self._target_weights = list(self.target_network.parameters())
        self._trainable = [w for w in self._online_weights if w.requires_grad]
        # Online self-supervised auxiliary loss on the Q-network's own encoder (rlsuite.encoders.objectives).
        self.aux = None
        if p.aux_objective != "none":
            if not image:
                raise ConfigError("agent.aux_objective: needs (H, W, C) uint8 image observations")
            try:
                self.aux = auxiliary_objective(p.aux_objective, self.q_network.encoder).to(self.device)
            except ConfigError as error:
                raise ConfigError(f"agent.aux_objective: {error}") from None
            own = [w for name, w in self.aux.named_parameters() if not name.startswith("encoder.")]
            self._trainable += [w for w in own if w.requires_grad]
        encoder_ids = {id(w) for w in self.q_network.encoder.parameters()}
        scale = encoder_config.lr_scale if encoder_config is not None else 1.0
        groups = [
            {"params": [w for w in self._trainable if id(w) not in encoder_ids], "lr": p.learning_rate},
            {"params": [w for w in self._trainable if id(w) in encoder_ids], "lr": p.learning_rate * scale},
        ]
        groups = [g for g in groups if g["params"]]
        self._base_lrs = [g["lr"] for g in groups]  # lr_schedule scales these
        # torch.optim.Adam's arithmetic, fused, without importing torch._dynamo (networks.Adam)
        self.optimizer = Adam(groups, eps=p.adam_eps)
        self._q = torch.compile(self.q_network) if p.torch_compile else self.q_network
        self._q_target = torch.compile(self.target_network) if p.torch_compile else self.target_network
        self._autocast = (
            torch.autocast(self.device.type, dtype=torch.bfloat16) if p.bf16 else contextlib.nullcontext()
        )
        self.augment = RandomShift(p.random_shift_pad) if p.random_shift_pad else None

        self.replay = ReplayBuffer(
            capacity=p.buffer_size,
            num_envs=self.num_envs,
            frame_shape=frame_shape,
            frame_dtype=torch.from_numpy(np.empty(0, self.observation_space.dtype)).dtype,
            device=self.device,
            gamma=p.gamma,
            n_steps=p.n_steps,
            frame_stack=self.frame_stack,
            alpha=p.prioritized_replay_alpha if p.prioritized_replay else None,
            priority_eps=p.prioritized_replay_eps,
        )

        # Randomness: one torch generator (sampling, augmentation) and one numpy generator (epsilon).
        seed = config.train.seed
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.np_rng = np.random.default_rng(seed)
        self.action_space.seed(seed)

        # Counters and schedule state (all saved in checkpoints).
        self.vector_steps = 0
        self.num_updates = 0
        self.schedule_steps: int | None = None  # the horizon of the epsilon, beta and lr schedules
        self._pin_memory = self.device.type == "cuda"
        self._obs: torch.Tensor | None = None  # current observations of the training envs, on device
        self._frames: torch.Tensor | None = None  # (n, k, *frame) stacks of the training envs
        self._act_frames: torch.Tensor | None = None  # stacks of act()'s callers (evaluation)
        self._warned_stacks = False
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self._replay_restored = False  # set by load() when the checkpoint held the buffer
        self._step_data = np.zeros((5, self.num_envs), dtype=np.float32)
        self._stats: tuple[torch.Tensor, ...] | None = None
        self._float_obs = np.issubdtype(self.observation_space.dtype, np.floating)
        self._skip_nonfinite = config.train.nonfinite == "skip"
        self.skipped_updates = 0
        self._logged_updates = 0

    # ----------------------------------------------------------------------------- schedules
    @property
    def exploration_rate(self) -> float:
        """Epsilon: linear from initial to final over ``exploration_fraction`` of the schedule."""
        p = self.params
        horizon = p.exploration_fraction * (self.schedule_steps or 1)
        progress = 1.0 if horizon <= 0 else min(1.0, self.global_step / horizon)
        return p.exploration_initial_eps + progress * (p.exploration_final_eps - p.exploration_initial_eps)

    @property
    def progress(self) -> float:
        """The share of the schedules' horizon done, from 0 to 1."""
        return min(1.0, self.global_step / max(self.schedule_steps or 1, 1))

    @property
    def learning_rate_factor(self) -> float:
        """The factor ``lr_schedule`` applies to the learning rates now: 1, or linear from 1 to 0."""
        return 1.0 if self.params.lr_schedule == "constant" else 1.0 - self.progress

    @property
    def per_beta(self) -> float:
        """Importance-sampling exponent, annealed linearly from beta0 to 1 (Schaul et al., 2016)."""
        p = self.params
        return p.prioritized_replay_beta0 + self.progress * (1.0 - p.prioritized_replay_beta0)

    # ----------------------------------------------------------------------------- collection loop
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        """Collect and train until ``global_step`` reaches ``total_steps`` (continues after a resume)."""
        with memory_checked(MEMORY_SIZES):  # training batches
            self._learn(total_steps, monitor)

    def _learn(self, total_steps: int, monitor: StepMonitor | None) -> None:
        p = self.params
        if self.schedule_steps is None:
            self.schedule_steps = total_steps
        if self._obs is None:
            self._start_episodes()
        n = self.num_envs
        gradient_steps = p.gradient_steps if p.gradient_steps > 0 else p.train_freq * n
        min_fill = max(1, min(p.learning_starts, self.replay.capacity // 2))
        while self.global_step < total_steps:
            actions = self._epsilon_greedy(self.exploration_rate)
            next_obs, rewards, terminated, truncated, infos = self.envs.step(actions + self._action_start)
            self.global_step += n
            self.vector_steps += 1
            self._store(actions, next_obs, rewards, terminated, truncated)

            if (
                self.global_step >= p.learning_starts
                and len(self.replay) >= min_fill
                and self.vector_steps % p.train_freq == 0
            ):
                self.train_phase(gradient_steps)
            if (
                self.global_step // p.target_update_interval
                > (self.global_step - n) // p.target_update_interval
            ):
                self.update_target()

            if monitor is not None:
                if self.num_updates - self._logged_updates >= p.log_interval:
                    monitor.log(self.global_step, self.training_stats())
                if not monitor.on_step(self.global_step, rewards, terminated, truncated, infos):
                    break
        if monitor is not None and self.num_updates > self._logged_updates:  # the last losses too
            monitor.log(self.global_step, self.training_stats())

    def _start_episodes(self) -> None:
        """Reset the training envs: ``train.seed`` on a fresh start, a derived seed on a resume."""
        seed = resume_seed(self.config.train.seed, self.global_step)
        obs, _ = self.envs.reset(seed=seed)
        self._obs = self._to_device(obs)
        self.replay.start(self._obs)
        self._prev_done[:] = False
        self._frames = self._obs.unsqueeze(1).repeat_interleave(self.frame_stack, dim=1)

    def _store(
        self,
        actions: np.ndarray,
        next_obs: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """Send one vector step to the device (two copies) and write it to the replay buffer."""
        if self._float_obs and not np.isfinite(next_obs).all():
            rows = np.flatnonzero(~np.isfinite(next_obs).reshape(len(next_obs), -1).all(axis=1))
            raise NonFiniteError(
                f"step {self.global_step}: observation of sub-env(s) {rows[:8].tolist()} is not finite; training "
                "stopped (the run directory's checkpoints/last is the state to resume from once the env is fixed)"
            )
        data = self._step_data
        data[0], data[1], data[2], data[3], data[4] = actions, rewards, terminated, truncated, self._prev_done
        data_t = self._to_device(data)
        next_t = self._to_device(next_obs)
        # Under NEXT_STEP autoreset the step after a done is a fake transition into a reset observation.
        episode_start = data_t[4] > 0
        self.replay.add(
            actions=data_t[0].long(),
            rewards=data_t[1],
            terminated=data_t[2] > 0,
            truncated=data_t[3] > 0,
            valid=~episode_start,
            next_observations=next_t,
            next_episode_start=episode_start,
        )
        self._prev_done = terminated | truncated
        self._obs = next_t
        self._frames = self._push_frames(self._frames, next_t, episode_start)

    # ============================================================================================
    # The update step
    # ============================================================================================
    def train_phase(self, gradient_steps: int) -> None:
        """``gradient_steps`` updates. Uniform replay draws the batches of many updates in one call —
        the buffer does not change during a phase, so the batches are distributed exactly as if drawn
        one by one, at a fraction of the per-call overhead. Prioritised replay samples before every
        update, since each update changes the priorities."""
        p = self.params
        if p.lr_schedule != "constant":  # set before each phase, from global_step: exact after a resume
            factor = self.learning_rate_factor
            for group, base in zip(self.optimizer.param_groups, self._base_lrs):
                group["lr"] = base * factor
        if self.replay.tree is not None:
            for _ in range(gradient_steps):
                self.update()
            return
        bytes_per_batch = 2 * p.batch_size * self._observation_bytes
        updates_per_draw = max(1, min(gradient_steps, SAMPLE_BYTES // bytes_per_batch))
        remaining = gradient_steps
        while remaining > 0:
            draws = min(updates_per_draw, remaining)
            batches = self.replay.sample(draws * p.batch_size, generator=self.generator)
            for i in range(draws):
                rows = slice(i * p.batch_size, (i + 1) * p.batch_size)
                self.update(Batch(*(field[rows] for field in batches)))
            remaining -= draws

    def update(self, batch: Batch | None = None) -> None:
        """One gradient step on a replay batch (everything on the device, no host sync)."""
        p = self.params
        if batch is None:
            batch = self.replay.sample(p.batch_size, self.per_beta, self.generator)
        observations, next_observations = batch.observations, batch.next_observations
        if self.augment is not None:  # DrQ: independent random shifts of both observations
            observations = self.augment(observations, self.generator)
            next_observations = self.augment(next_observations, self.generator)

        with torch.no_grad():  # n-step TD target; discounts are 0 after a termination
            td_target = batch.returns + batch.discounts * self.bootstrap_values(next_observations)
        with self._autocast:
            q_values = self._q(observations)
        q_taken = q_values.float().gather(1, batch.actions[:, None]).squeeze(1)
        td_error = td_target - q_taken
        if p.loss == "huber":
            elementwise = F.huber_loss(q_taken, td_target, reduction="none", delta=1.0)
        else:
            elementwise = F.mse_loss(q_taken, td_target, reduction="none")
        loss = (batch.weights * elementwise).mean()  # importance weights (1 without PER)
        if self.aux is not None:  # the objective's own views of (s, s'): CURL s twice, ATC s and s'
            pairs = self.aux.from_transitions(batch.observations, batch.next_observations)
            aux_loss, _ = self.aux.loss(pairs.augmented(self._aux_augment, self.generator))
            loss = loss + p.aux_weight * aux_loss

        self.optimizer.zero_grad()
        loss.backward()
        grads = [w.grad for w in self._trainable]
        grad_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        if self._skip_nonfinite and not bool(torch.isfinite(loss) & torch.isfinite(grad_norm)):
            self.skipped_updates += 1  # train.nonfinite: skip (syncs the device once per update)
            if self.skipped_updates in (1, 10, 100, 1000):
                warnings.warn(
                    f"step {self.global_step}: {self.skipped_updates} update(s) skipped so far: loss "
                    f"{float(loss.detach())} / gradient norm {float(grad_norm)} not finite",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return
        if p.max_grad_norm > 0:  # clip_grad_norm_, without its per-call bookkeeping
            torch._foreach_mul_(grads, (p.max_grad_norm / (grad_norm + 1e-6)).clamp(max=1.0))
        self.optimizer.step()
        if self.aux is not None:
            self.aux.update_target()
        if self.replay.tree is not None:
            self.replay.update_priorities(batch.indices, td_error)
        self.num_updates += 1
        self._stats = (loss.detach(), q_taken.detach(), grad_norm)  # reduced when logged

    def _aux_augment(self, frames: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """The auxiliary objective's views: random shifts of ±max(random_shift_pad, 2) pixels."""
        from rlsuite.encoders.augment import random_shift

        return random_shift(frames, max(self.params.random_shift_pad, 2), generator)

    def bootstrap_values(self, next_observations: torch.Tensor) -> torch.Tensor:
        """``Q_target(s', a*)`` with ``a* = argmax_a Q_online(s', a)`` (Double DQN) or ``argmax Q_target``."""
        with self._autocast:
            next_q_target = self._q_target(next_observations).float()
            selector = self._q(next_observations) if self.params.double_q else next_q_target
        next_actions = selector.argmax(dim=1, keepdim=True)
        return next_q_target.gather(1, next_actions).squeeze(1)

    @torch.no_grad()
    def update_target(self) -> None:
        """Hard copy (tau = 1) or Polyak average of the online weights into the target network."""
        if self.params.tau >= 1.0:
            torch._foreach_copy_(self._target_weights, self._online_weights)
        else:
            torch._foreach_lerp_(self._target_weights, self._online_weights, self.params.tau)

    def training_stats(self) -> dict[str, float]:
        """The latest losses and schedules as scalars (syncs the device once)."""
        self._logged_updates = self.num_updates
        stats = {"charts/epsilon": self.exploration_rate}
        if self._stats is not None:
            loss, q_taken, grad_norm = self._stats
            loss, q_mean, grad_norm = torch.stack([loss.float(), q_taken.mean(), grad_norm.float()]).tolist()
            stats.update({"losses/td_loss": loss, "losses/q_values": q_mean, "losses/grad_norm": grad_norm})
        if self.params.lr_schedule != "constant":
            stats["charts/learning_rate"] = self.params.learning_rate * self.learning_rate_factor
        if self.params.prioritized_replay:
            stats["charts/per_beta"] = self.per_beta
        if self._skip_nonfinite:
            stats["charts/skipped_updates"] = float(self.skipped_updates)
        return stats

    # ============================================================================================
    # Acting
    # ============================================================================================
    def _epsilon_greedy(self, epsilon: float) -> np.ndarray:
        """Training actions (0-based) for the current observations of the training envs."""
        n = self.num_envs
        explore = self.np_rng.random(n) < epsilon
        actions = self.np_rng.integers(self.num_actions, size=n)
        if not explore.all():  # skip the forward pass while every sub-env explores
            observations = stack_frames(self._frames) if self.frame_stack > 1 else self._obs
            actions = np.where(explore, actions, self._greedy(observations))
        return actions

    @torch.no_grad()
    def _greedy(self, observations: torch.Tensor) -> np.ndarray:
        with self._autocast:
            q_values = self._q(observations)
        return q_values.argmax(dim=1).cpu().numpy()

    def _push_frames(
        self, frames: torch.Tensor, new: torch.Tensor, episode_start: torch.Tensor
    ) -> torch.Tensor:
        """Append ``new`` to each stack; stacks of new episodes are filled with their first frame."""
        if self.frame_stack == 1:
            return new.unsqueeze(1)
        new = new.unsqueeze(1).to(frames.dtype)
        shifted = torch.cat([frames[:, 1:], new], dim=1)
        start = episode_start.view(-1, *([1] * (frames.dim() - 1)))
        return torch.where(start, new.expand_as(frames), shifted)

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        """One host→device copy; through pinned memory, asynchronous, on CUDA (no copy on CPU).

        The caching host allocator keeps a pinned block alive until its copy has completed, so the
        asynchronous copy is safe even though the env may overwrite its numpy array on the next step.
        """
        host = torch.from_numpy(np.ascontiguousarray(array))
        if self._pin_memory:
            host = host.pin_memory()
        return host.to(self.device, non_blocking=True)

    # ============================================================================================
    # Checkpoints: safetensors + JSON, never pickle
    # ============================================================================================
    def save(self, directory: str | Path) -> None:
        """Write networks, optimiser, counters, schedules and RNG states (and optionally the buffer)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, torch.Tensor] = {}
        for prefix, module in self._modules_to_save():
            tensors.update({f"{prefix}.{k}": v for k, v in module.state_dict().items()})
        optimizer_state = self.optimizer.state_dict()
        for index, state in optimizer_state["state"].items():
            tensors.update({f"optimizer.{index}.{k}": v for k, v in state.items() if torch.is_tensor(v)})
        tensors["rng.torch"] = self.generator.get_state()
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, directory / "model.safetensors"
        )
        replay_pointers = None
        if self.params.save_replay_buffer:
            replay_tensors, replay_pointers = self.replay.state_dict()
            save_file(
                {k: v.cpu().contiguous() for k, v in replay_tensors.items()}, directory / "replay.safetensors"
            )
        meta = {
            "algo": "dqn",
            "format": CHECKPOINT_FORMAT,
            "global_step": self.global_step,
            "vector_steps": self.vector_steps,
            "num_updates": self.num_updates,
            "schedule_steps": self.schedule_steps,
            "exploration_rate": self.exploration_rate,
            "rng_numpy": self.np_rng.bit_generator.state,
            "optimizer_param_groups": optimizer_state["param_groups"],
            "replay": replay_pointers,
            "observation_shape": list(self.observation_space.shape),
            "num_actions": self.num_actions,
            "params": to_dict(self.params),
        }
        (directory / "agent.json").write_text(json.dumps(meta, indent=2))

    def get_state(self) -> dict[str, np.ndarray] | None:
        if self._obs is None:
            return None
        return {
            "obs": self._obs.cpu().numpy(),
            "frames": self._frames.cpu().numpy(),
            "prev_done": self._prev_done.copy(),
        }

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self._obs = torch.as_tensor(state["obs"], device=self.device)
        self._frames = torch.as_tensor(state["frames"], device=self.device)
        self._prev_done = state["prev_done"].astype(bool)
        if not self._replay_restored:  # the buffer was not saved: it starts from these observations
            self.replay.start(self._obs)

    def _modules_to_save(self) -> list[tuple[str, torch.nn.Module]]:
        modules = [("q_network", self.q_network), ("target_network", self.target_network)]
        if self.aux is not None:  # its encoder is the Q-network's: saved there, skipped here
            modules.append(("aux", _WithoutEncoder(self.aux)))
        return modules

    @classmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> DQNAgent:
        """Rebuild an agent written by :meth:`save`; ``learn`` then continues from its step count."""
        directory = Path(directory)
        meta: dict[str, Any] = json.loads((directory / "agent.json").read_text())
        if meta.get("algo") != "dqn" or meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{directory} is not a dqn checkpoint of format {CHECKPOINT_FORMAT}")
        agent = cls(config, envs)
        tensors = load_file(directory / "model.safetensors", device="cpu")
        try:
            for prefix, module in agent._modules_to_save():
                module.load_state_dict(
                    {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
                )
        except RuntimeError as error:
            raise ConfigError(
                f"the checkpoint in {directory} does not fit this config's network "
                f"(saved with {meta['params'].get('net_arch')}, dueling={meta['params'].get('dueling')}): {error}"
            ) from None
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        agent.optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer_param_groups"]})
        agent.generator.set_state(tensors["rng.torch"])
        agent.np_rng.bit_generator.state = meta["rng_numpy"]
        agent.global_step = int(meta["global_step"])
        agent.vector_steps = int(meta["vector_steps"])
        agent.num_updates = agent._logged_updates = int(meta["num_updates"])
        agent.schedule_steps = meta["schedule_steps"]
        if meta["replay"] is not None and (directory / "replay.safetensors").is_file():
            agent.replay.load_state_dict(
                load_file(directory / "replay.safetensors", device=str(agent.device)), meta["replay"]
            )
            agent._replay_restored = True
        return agent


class _WithoutEncoder(torch.nn.Module):
    """State-dict view of an auxiliary objective without its (shared) online encoder."""

    def __init__(self, objective: torch.nn.Module) -> None:
        super().__init__()
        self.objective = objective

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return {k: v for k, v in self.objective.state_dict().items() if not k.startswith("encoder.")}

    def load_state_dict(self, state: Any, strict: bool = True, assign: bool = False) -> Any:  # type: ignore[override]
        return self.objective.load_state_dict(state, strict=False)


# ============================================================================================
# K seeds as one batched computation (train.num_seeds > 1)
# ============================================================================================
class DQNSeedBatch:
    """K DQN agents — one per seed, each built as its own run builds it — trained as one computation:
    one env batch of ``K * n`` rows, one forward pass for the K seeds' greedy actions, and batched
    gradient steps (online and target weights stacked along a leading axis, as
    :class:`~rlsuite.agents.pqn.PQNSeedBatch` stacks PQN's).

    Each seed gets exactly what its own run gets, bit for bit on the CPU: its own numpy generator
    draws its exploration, its own replay buffer (its agent's) stores its rows' transitions and its own
    torch generator samples its batches, in the order its run does; the batched passes compute each
    seed's slice as the unbatched ones do (:class:`~rlsuite.agents.pqn._SeedLinear`, per-seed loss
    means and gradient norms, :class:`~rlsuite.agents.networks.SeedAdam`, the target update per
    seed's tensors). ``tests/test_parallel_seeds.py`` holds this to the single runs.

    Supported: vector observations (the MLP encoder), ``frame_stack: 1``, uniform replay, the plain
    head (not dueling), no auxiliary objective, shifts, ``torch_compile`` or ``bf16``, and
    ``train.nonfinite: stop``; the rest is refused with a :class:`ConfigError` before the run writes
    anything.
    """

    def __init__(self, agents: Sequence[DQNAgent], envs: SeedEnvsLike) -> None:
        from rlsuite.agents.pqn import _SeedLinear

        lead = agents[0]
        p = lead.params
        refused = {
            "an encoder section or image observations": not isinstance(lead.q_network.encoder, MLPEncoder)
            or lead.config.encoder is not None,
            "agent.frame_stack > 1": lead.frame_stack > 1,
            "agent.prioritized_replay": p.prioritized_replay,
            "agent.dueling": p.dueling,
            "agent.aux_objective": p.aux_objective != "none",
            "agent.random_shift_pad": p.random_shift_pad > 0,
            "agent.torch_compile": p.torch_compile,
            "agent.bf16": p.bf16,
            "train.nonfinite=skip": lead._skip_nonfinite,
        }
        unsupported = [name for name, found in refused.items() if found]
        if unsupported:
            raise ConfigError(
                f"train.num_seeds: dqn trains seeds side by side without {', '.join(unsupported)} "
                "(not supported with train.num_seeds > 1 yet); use train.num_seeds=1 or a sweep over train.seed"
            )
        self._linear = _SeedLinear
        self.agents = list(agents)
        self.envs = envs
        self.num_seeds = len(agents)
        self.envs_per_seed = envs.envs_per_seed
        self.online = self._stack([list(a.q_network.parameters()) for a in agents])
        self.target = self._stack([list(a.target_network.parameters()) for a in agents])
        per_agent = [list(a.q_network.parameters()) for a in agents]
        self._target_views = [w for a in agents for w in a.target_network.parameters()]
        self._online_views = [w for a in agents for w in a.q_network.parameters()]
        self._optimizer = SeedAdam([a.optimizer for a in agents], per_agent, self.online)
        index = {id(w): i for i, w in enumerate(lead.q_network.parameters())}
        target_index = {id(w): i for i, w in enumerate(lead.target_network.parameters())}
        self._layers = self._layout(lead.q_network.head.q, index, self.online)
        self._target_layers = self._layout(lead.target_network.head.q, target_index, self.target)

    @staticmethod
    def _stack(per_agent: list[list[torch.Tensor]]) -> list[torch.Tensor]:
        """Stack each weight over the seeds; every agent's weight becomes a view of its slice."""
        stacked = []
        for i, first in enumerate(per_agent[0]):
            weights = torch.stack([params[i].detach() for params in per_agent]).requires_grad_(
                first.requires_grad
            )
            for k, params in enumerate(per_agent):
                params[i].data = weights.detach()[k]
            stacked.append(weights)
        return stacked

    @staticmethod
    def _layout(head: torch.nn.Sequential, index: dict[int, int], stacked: list[torch.Tensor]) -> list[Any]:
        layers: list[Any] = []
        for module in head:
            if isinstance(module, torch.nn.Linear):
                layers.append((stacked[index[id(module.weight)]], stacked[index[id(module.bias)]]))
            else:
                layers.append(module)
        return layers

    # ----------------------------------------------------------------------------- the network
    def _forward(self, observations: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Q-values of every seed: ``(K, B, *obs)`` -> ``(K, B, num_actions)``."""
        x = observations.flatten(2).float()  # the MLP encoder's
        for layer in self._target_layers if target else self._layers:
            x = self._linear.apply(x, *layer) if isinstance(layer, tuple) else layer(x)
        return x

    @torch.no_grad()
    def _greedy(self, observations: torch.Tensor) -> np.ndarray:
        """Greedy actions (0-based) of ``(K * m, *obs)`` rows, seed-major."""
        x = observations.view(self.num_seeds, -1, *observations.shape[1:])
        return self._forward(x).argmax(dim=2).flatten().cpu().numpy()

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """Every seed's greedy actions for its own observations, ``(K, m, *obs)`` -> ``(K, m)``: seed
        ``k``'s row exactly its agent's ``act(observations[k], deterministic=True)``."""
        obs = self.agents[0]._to_device(observations)
        return self._greedy(obs.flatten(0, 1)).reshape(observations.shape[:2]) + self.agents[0]._action_start

    # ----------------------------------------------------------------------------- collection loop
    def learn(self, total_steps: int, monitors: Sequence[StepMonitor]) -> None:
        """Collect and train every seed until ``global_step`` reaches ``total_steps``; seed ``k``
        reports to ``monitors[k]``."""
        with memory_checked(MEMORY_SIZES):
            self._learn(total_steps, monitors)

    def _learn(self, total_steps: int, monitors: Sequence[StepMonitor]) -> None:
        agents, lead = self.agents, self.agents[0]
        p, n = lead.params, self.envs_per_seed
        for agent in agents:
            if agent.schedule_steps is None:
                agent.schedule_steps = total_steps
        seeds = [resume_seed(agent.config.train.seed, agent.global_step) for agent in agents]
        obs = self.envs.reset_seeds(seeds)
        for k, agent in enumerate(agents):  # DQNAgent._start_episodes, on each seed's rows
            agent._obs = agent._to_device(obs[k * n : (k + 1) * n])
            agent.replay.start(agent._obs)
            agent._prev_done[:] = False
            agent._frames = agent._obs.unsqueeze(1)
        gradient_steps = p.gradient_steps if p.gradient_steps > 0 else p.train_freq * n
        min_fill = max(1, min(p.learning_starts, lead.replay.capacity // 2))
        while lead.global_step < total_steps:
            actions = self._epsilon_greedy(lead.exploration_rate)
            next_obs, rewards, terminated, truncated = self.envs.step(actions + lead._action_start)
            for k, agent in enumerate(agents):
                rows = slice(k * n, (k + 1) * n)
                agent.global_step += n
                agent.vector_steps += 1
                agent._store(actions[rows], next_obs[rows], rewards[rows], terminated[rows], truncated[rows])
            if (
                lead.global_step >= p.learning_starts
                and len(lead.replay) >= min_fill
                and lead.vector_steps % p.train_freq == 0
            ):
                self.train_phase(gradient_steps)
            if (
                lead.global_step // p.target_update_interval
                > (lead.global_step - n) // p.target_update_interval
            ):
                self.update_target()
            going = True
            for k, (agent, monitor) in enumerate(zip(agents, monitors)):
                if agent.num_updates - agent._logged_updates >= p.log_interval:
                    monitor.log(agent.global_step, agent.training_stats())
                rows = slice(k * n, (k + 1) * n)
                going &= monitor.on_step(agent.global_step, rewards[rows], terminated[rows], truncated[rows])
            if not going:
                break
        for agent, monitor in zip(agents, monitors):
            if agent.num_updates > agent._logged_updates:  # the last losses too
                monitor.log(agent.global_step, agent.training_stats())

    def _epsilon_greedy(self, epsilon: float) -> np.ndarray:
        """Every seed's training actions (0-based), each drawn from its own generator as its run draws them."""
        n, num_actions = self.envs_per_seed, self.agents[0].num_actions
        explore = np.empty(self.envs.num_envs, dtype=bool)
        actions = np.empty(self.envs.num_envs, dtype=np.int64)
        for k, agent in enumerate(self.agents):
            explore[k * n : (k + 1) * n] = agent.np_rng.random(n) < epsilon
            actions[k * n : (k + 1) * n] = agent.np_rng.integers(num_actions, size=n)
        if not explore.all():  # skip the forward pass while every sub-env explores
            observations = torch.cat([agent._obs for agent in self.agents])
            actions = np.where(explore, actions, self._greedy(observations))
        return actions

    # ----------------------------------------------------------------------------- the update step
    def train_phase(self, gradient_steps: int) -> None:
        """:meth:`DQNAgent.train_phase` for every seed: each seed's batches drawn from its own buffer
        with its own generator, in the draws its run makes; then batched gradient steps."""
        agents, lead = self.agents, self.agents[0]
        p = lead.params
        if p.lr_schedule != "constant":
            factor = lead.learning_rate_factor  # the same for every seed: they share global_step
            for agent in agents:
                for group, base in zip(agent.optimizer.param_groups, agent._base_lrs):
                    group["lr"] = base * factor
        bytes_per_batch = 2 * p.batch_size * lead._observation_bytes
        updates_per_draw = max(1, min(gradient_steps, SAMPLE_BYTES // bytes_per_batch))
        remaining = gradient_steps
        while remaining > 0:
            draws = min(updates_per_draw, remaining)
            drawn = [agent.replay.sample(draws * p.batch_size, generator=agent.generator) for agent in agents]
            stacked = Batch(*(torch.stack(fields) for fields in zip(*drawn)))
            for i in range(draws):
                rows = slice(i * p.batch_size, (i + 1) * p.batch_size)
                self.update(Batch(*(field[:, rows].contiguous() for field in stacked)))
            remaining -= draws

    def update(self, batch: Batch) -> None:
        """:meth:`DQNAgent.update` for every seed at once on ``(K, B, ...)`` batches."""
        agents, p = self.agents, self.agents[0].params
        with torch.no_grad():
            next_q_target = self._forward(batch.next_observations, target=True)
            selector = self._forward(batch.next_observations) if p.double_q else next_q_target
            next_actions = selector.argmax(dim=2, keepdim=True)
            bootstrap = next_q_target.gather(2, next_actions).squeeze(2)
            td_target = batch.returns + batch.discounts * bootstrap
        q_taken = self._forward(batch.observations).gather(2, batch.actions[..., None]).squeeze(2)
        if p.loss == "huber":
            elementwise = F.huber_loss(q_taken, td_target, reduction="none", delta=1.0)
        else:
            elementwise = F.mse_loss(q_taken, td_target, reduction="none")
        # each seed's own mean, over a fresh row (a reduction may round otherwise off the alignment)
        loss = torch.stack([row.clone().mean() for row in batch.weights * elementwise])

        for w in self.online:
            w.grad = None
        loss.sum().backward()
        grads = [w.grad for w in self.online]
        k_seeds = self.num_seeds
        # each seed's norm as its run computes it: per tensor, then over its tensors
        norms = torch.stack(torch._foreach_norm([g for grad in grads for g in grad.unbind(0)]))
        grad_norm = torch.linalg.vector_norm(norms.view(len(grads), k_seeds).T.contiguous(), dim=1)
        if p.max_grad_norm > 0:
            scale = (p.max_grad_norm / (grad_norm + 1e-6)).clamp(max=1.0)
            torch._foreach_mul_(grads, [scale.view(-1, *[1] * (g.dim() - 1)) for g in grads])
        self._optimizer.step()
        for k, agent in enumerate(agents):
            agent.num_updates += 1
            agent._stats = (loss[k].detach(), q_taken[k].detach().clone(), grad_norm[k])

    @torch.no_grad()
    def update_target(self) -> None:
        """:meth:`DQNAgent.update_target` of every seed, on each seed's own tensors (a Polyak average
        over the stacked ones would round a seed's last elements in other vector lanes)."""
        if self.agents[0].params.tau >= 1.0:
            torch._foreach_copy_(self.target, [w.detach() for w in self.online])
        else:
            torch._foreach_lerp_(self._target_views, self._online_views, self.agents[0].params.tau)
