"""Parallelised Q-Network (PQN): Q(lambda) on short rollouts of many envs; LayerNorm; no replay, no target.

PQN (Gallici et al., 2025, "Simplifying Deep Temporal Difference Learning", ICLR) is DQN without its
two stabilisers: no replay buffer and no target network. Many envs are stepped in parallel for a few
steps each (``num_steps``), the rollout gets lambda-returns computed backwards from the *current*
network's ``max_a Q(s', a)``, and a few epochs of minibatch regression on those returns follow; then
the rollout is thrown away. LayerNorm in the Q-network is what keeps the bootstrapping stable without
a target network (the paper's analysis). Acting is epsilon-greedy, as in DQN.

How it reads, top to bottom: hyper-parameters (:class:`PQNParams`: CleanRL's ``pqn.py`` names where
the concept is the same, our DQN's names for the shared ones), the Q-network (:func:`layer_norm_mlp`),
the returns (:func:`lambda_returns`), then the agent: construction, the collection loop
(:meth:`PQNAgent.learn`), **the update step** (:meth:`PQNAgent.update`, one screen), acting, and the
checkpoint plumbing. References: CleanRL's ``cleanrl/pqn.py`` and the authors' JAX code
(``purejaxql``, ``pqn_gymnax.py`` and ``config/alg/pqn_cartpole.yaml``).

Speed: the rollout (observations, returns, minibatches) lives on ``train.device``; per vector step
the observations cross to the device once and the actions come back once, and the greedy forward pass
is skipped while every sub-env explores. ``max_a Q(s_t, a)`` is not kept from acting: the network does
not change during a rollout, so the values of all ``num_steps + 1`` observations come from one
batched forward pass at update time. Vector envs use NEXT_STEP autoreset (``docs/design.md``, "Vector
semantics"): the step after a done is a reset transition, kept out of the loss; an episode that ends
cuts the lambda-return there; a truncated one bootstraps from its last observation (which NEXT_STEP
returns on the done step itself), a terminated one does not.

Python use::

    from rlsuite.config import load_config
    from rlsuite.training import train

    run_dir = train(load_config("experiments/configs/pqn_cartpole.yaml"))
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import gymnasium as gym
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F  # noqa: N812

from rlsuite.agents.base import (
    ENCODER_MODES,
    Agent,
    NonFiniteError,
    SeedEnvsLike,
    StepMonitor,
    encoder_mode,
    memory_checked,
    resolve_device,
    resume_seed,
)
from rlsuite.agents.dqn import FrameStackingActor
from rlsuite.agents.networks import (
    ACTIVATIONS,
    Adam,
    MLPEncoder,
    QNetwork,
    SeedAdam,
    build_encoder,
    is_image_space,
)
from rlsuite.agents.replay import stack_frames
from rlsuite.config import ConfigError, hp, to_dict

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = ["PQNAgent", "PQNParams", "PQNSeedBatch", "lambda_returns", "layer_norm_mlp"]

CHECKPOINT_FORMAT = 1


# ============================================================================================
# Hyper-parameters
# ============================================================================================
@dataclass
class PQNParams:
    """PQN hyper-parameters. Names follow CleanRL's ``pqn.py`` where the concept is the same, and our
    DQN's for what both agents share (exploration, ``net_arch``, ``lr_schedule``, ``frame_stack``); the
    defaults are CleanRL's except where noted ("purejaxql": the authors' CartPole config)."""

    learning_rate: float = hp(2.5e-4, "optimiser step size; purejaxql (CartPole): 1e-4", gt=0)
    lr_schedule: Literal["constant", "linear"] = hp(
        "linear",
        "learning rate over the run: linear from learning_rate to 0 at the run's last step (CleanRL's "
        "anneal_lr, purejaxql's LR_LINEAR_DECAY), or constant",
    )
    num_steps: int = hp(
        128, "rollout length: vector steps per update, num_envs transitions each; purejaxql: 64", ge=1
    )
    gamma: float = hp(0.99, "discount factor", ge=0, le=1)
    td_lambda: float = hp(
        0.65,
        "lambda of the Q(lambda) returns (Peng & Williams, 1996), the paper's lambda: 0 = one-step TD, "
        "1 = Monte Carlo; CleanRL's q_lambda, purejaxql's LAMBDA (0.95 on CartPole)",
        ge=0,
        le=1,
    )
    num_epochs: int = hp(
        4, "passes over each rollout (CleanRL's update_epochs, purejaxql's NUM_EPOCHS)", ge=1
    )
    num_minibatches: int = hp(
        4,
        "minibatches per epoch: gradient steps per rollout = num_epochs * num_minibatches; purejaxql: 16",
        ge=1,
    )
    max_grad_norm: float = hp(10.0, "clip the gradient's global L2 norm to this (0: no clipping)", ge=0)
    exploration_initial_eps: float = hp(
        1.0, "epsilon-greedy: initial exploration rate (CleanRL's start_e)", ge=0, le=1
    )
    exploration_final_eps: float = hp(
        0.05, "epsilon-greedy: final exploration rate (CleanRL's end_e; purejaxql: 0.2)", ge=0, le=1
    )
    exploration_fraction: float = hp(
        0.5, "fraction of the training steps over which epsilon decays; purejaxql: 0.2", ge=0, le=1
    )
    net_arch: list[int] = hp(
        default_factory=lambda: [120, 84],
        doc="hidden layer sizes of the Q head; purejaxql: [256, 256] (CartPole), [128, 128] by default",
    )
    layer_norm: bool = hp(
        True,
        "LayerNorm (Ba et al., 2016) after each hidden linear layer of the head: the paper's replacement for "
        "the target network; false only to study its absence",
    )
    activation: Literal["relu", "tanh", "elu"] = hp("relu", "activation of the hidden layers")
    reward_scale: float = hp(
        1.0, "rewards are multiplied by this (purejaxql's REW_SCALE: 0.1 on CartPole)", gt=0
    )
    optimizer: Literal["radam", "adam"] = hp(
        "radam", "RAdam (Liu et al., 2020), as CleanRL and purejaxql use, or Adam (Kingma & Ba, 2015)"
    )
    adam_eps: float = hp(1e-8, "the optimiser's epsilon", gt=0)
    frame_stack: int = hp(1, "observations stacked per input (4 for pixels, as DQN on Atari)", ge=1)
    torch_threads: int = hp(
        1,
        "torch CPU threads when training on CPU (0: torch's default); 1 is fastest for small nets "
        "and fair on shared machines",
        ge=0,
    )
    log_interval: int = hp(1, "updates (rollouts) between logged losses (each log syncs the device)", ge=1)

    def __post_init__(self) -> None:
        if self.exploration_final_eps > self.exploration_initial_eps:
            raise ConfigError(
                f"exploration_final_eps: got {self.exploration_final_eps}; must be <= "
                f"exploration_initial_eps ({self.exploration_initial_eps})"
            )
        if not self.net_arch:
            raise ConfigError("net_arch: got []; give at least one hidden layer, e.g. [120, 84]")
        if any(size < 1 for size in self.net_arch):
            raise ConfigError(f"net_arch: got {self.net_arch}; every hidden layer needs at least 1 unit")


# ============================================================================================
# Q-network head and lambda-returns
# ============================================================================================
def layer_norm_mlp(
    in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu", layer_norm: bool = True
) -> nn.Sequential:
    """``Linear -> LayerNorm -> activation`` per hidden layer, then a linear layer to ``out_dim``: the
    normalised Q-network of CleanRL's ``pqn.py`` and purejaxql (``norm_type: layer_norm``)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers.append(nn.Linear(in_dim, width))
        if layer_norm:
            layers.append(nn.LayerNorm(width))
        layers.append(ACTIVATIONS[activation]())
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def lambda_returns(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    next_values: torch.Tensor,
    gamma: float,
    td_lambda: float,
) -> torch.Tensor:
    """Q(lambda) returns of a rollout, computed backwards over its ``T`` steps (all ``(T, n)``).

    ``next_values[t] = max_a Q(s_{t+1}, a)`` from the current network (no target network)::

        G_t = r_t + gamma * (1 - terminated_t) * ((1 - lambda_t) * next_values[t] + lambda_t * G_{t+1})

    with ``lambda_t = td_lambda``, except ``0`` where the episode ends at ``t`` (terminated or truncated:
    nothing of the next episode leaks back) and at the rollout's last step (nothing beyond it): there
    ``G_t`` bootstraps from ``next_values[t]`` alone — from the terminal observation after a truncation
    (NEXT_STEP autoreset returns it on the done step), not at all after a termination. The returns of
    NEXT_STEP's reset steps are meaningless and must be masked out of the loss by the caller.
    """
    ended = terminated | truncated
    discounts = gamma * (~terminated).to(rewards.dtype)
    lambdas = td_lambda * (~ended).to(rewards.dtype)
    lambdas[-1] = 0.0
    # G_t = base_t + coef_t * G_{t+1}: everything but the recursion, vectorised over the rollout
    base = rewards + discounts * (1.0 - lambdas) * next_values
    coef = discounts * lambdas
    returns = torch.empty_like(rewards)
    next_return = next_values[-1]  # unused: coef[-1] is 0
    for t in range(len(rewards) - 1, -1, -1):
        next_return = torch.addcmul(base[t], coef[t], next_return)
        returns[t] = next_return
    return returns


class RAdam(Adam):
    """RAdam (Liu et al., 2020, "On the Variance of the Adaptive Learning Rate and Beyond") as
    ``torch.optim.RAdam`` computes it — its functional form ``torch.optim.radam.radam`` — with
    :class:`~rlsuite.agents.networks.Adam`'s state layout and ``state_dict``, and without importing
    ``torch._dynamo`` (see there). The step counts stay on the CPU, as ``torch.optim.RAdam`` keeps them."""

    def __init__(self, param_groups: Sequence[dict], eps: float = 1e-8) -> None:
        super().__init__(param_groups, eps=eps)
        self.fused = False  # no fused RAdam kernel; step counts on the CPU (see Adam._new_state)

    def _update(self, params: list[torch.Tensor], states: list[dict[str, torch.Tensor]], group: dict) -> None:
        """One RAdam step of ``params`` (each with a gradient) and their ``states``."""
        from torch.optim.radam import radam

        beta1, beta2 = group["betas"]
        radam(
            params,
            [w.grad for w in params],
            [s["exp_avg"] for s in states],
            [s["exp_avg_sq"] for s in states],
            [s["step"] for s in states],
            foreach=True,  # one call per group on CPU too (torch defaults to a loop over tensors there)
            beta1=beta1,
            beta2=beta2,
            lr=group["lr"],
            weight_decay=0.0,
            eps=group["eps"],
        )


# ============================================================================================
# The agent
# ============================================================================================
MEMORY_SIZES = (
    "agent.num_steps, agent.net_arch, agent.frame_stack, agent.num_minibatches, "
    "encoder.features_dim or env.num_envs"
)  # what sizes the agent's memory, named when it does not fit
ROLLOUT_FIELDS = ("actions", "rewards", "terminated", "truncated", "episode_start")  # rows of the host table


class PQNAgent(FrameStackingActor, Agent):
    """PQN on a batch of envs with discrete actions and vector or channel-last ``uint8`` image observations.

    Build it from a validated config and the vector env it trains on (``rlsuite.training.make_agent_envs``)::

        agent = PQNAgent(config, envs)
        agent.learn(100_000)
        actions = agent.act(observations)       # greedy, a batch in, a batch out
    """

    Params = PQNParams
    encoder_modes = frozenset(ENCODER_MODES)  # a CNN of its own, or a pretrained one in any mode
    learns_seeds_together = True  # train.num_seeds > 1: PQNSeedBatch (vector observations)

    @classmethod
    def seed_batch(cls, agents: Sequence[Agent], envs: SeedEnvsLike) -> PQNSeedBatch:
        """K seeds' agents as one batched learner (see :class:`PQNSeedBatch`)."""
        return PQNSeedBatch(agents, envs)  # type: ignore[arg-type]

    def __init__(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        with memory_checked(MEMORY_SIZES):  # network and rollout storage
            self._build(config, envs)

    def _build(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        super().__init__(config, envs)
        p: PQNParams = self.params
        self.device = torch.device(resolve_device(config.train.device))
        if self.device.type == "cpu" and p.torch_threads > 0:
            torch.set_num_threads(p.torch_threads)
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ConfigError(
                f"agent.algo: pqn needs a Discrete action space; {config.env.id} has {self.action_space}. "
                "Use the env's discrete variant (e.g. env.kwargs.action_type=discrete) or a continuous-action agent"
            )
        if not isinstance(self.observation_space, gym.spaces.Box):
            raise ConfigError(
                f"env.id: pqn needs a Box observation space; {config.env.id} has {self.observation_space}"
            )
        batch = p.num_steps * self.num_envs
        if p.num_minibatches > batch:
            raise ConfigError(
                f"agent.num_minibatches: got {p.num_minibatches}, more than the {batch} transitions of a "
                f"rollout (agent.num_steps {p.num_steps} x env.num_envs {self.num_envs}); use at most {batch}"
            )
        self.num_actions = int(self.action_space.n)
        self._action_start = int(self.action_space.start)
        image = is_image_space(self.observation_space)
        frame_shape = tuple(self.observation_space.shape)
        # Features of a frozen pretrained encoder (rlsuite.encoders.transfer) come stacked already.
        self.frame_stack = 1 if encoder_mode(config) == "features" else p.frame_stack
        stacked_shape = (*frame_shape[:-1], frame_shape[-1] * self.frame_stack)

        # Network: encoder (MLP input, CNN, or a pretrained one) + LayerNorm head; nothing else.
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
        head = layer_norm_mlp(encoder.features_dim, p.net_arch, self.num_actions, p.activation, p.layer_norm)
        self.q_network = QNetwork(encoder, head).to(self.device)  # type: ignore[arg-type]
        self._q = self.q_network
        trainable = [w for w in self.q_network.parameters() if w.requires_grad]
        encoder_ids = {id(w) for w in self.q_network.encoder.parameters()}
        scale = encoder_config.lr_scale if encoder_config is not None else 1.0
        groups = [
            {"params": [w for w in trainable if id(w) not in encoder_ids], "lr": p.learning_rate},
            {"params": [w for w in trainable if id(w) in encoder_ids], "lr": p.learning_rate * scale},
        ]
        groups = [g for g in groups if g["params"]]
        self._trainable = [w for g in groups for w in g["params"]]
        self._base_lrs = [g["lr"] for g in groups]  # lr_schedule scales these
        self.optimizer = (
            RAdam(groups, eps=p.adam_eps) if p.optimizer == "radam" else Adam(groups, eps=p.adam_eps)
        )

        # The rollout: num_steps + 1 observations on the device (slot t holds s_t; the last slot is the
        # observation after the rollout and becomes slot 0 of the next), the rest as one host table
        # sent to the device once per update.
        obs_dtype = torch.from_numpy(np.empty(0, self.observation_space.dtype)).dtype
        self._rollout_obs = torch.zeros(
            (p.num_steps + 1, self.num_envs, *stacked_shape), dtype=obs_dtype, device=self.device
        )
        self._rollout = np.zeros((len(ROLLOUT_FIELDS), p.num_steps, self.num_envs), dtype=np.float32)
        self._t = 0  # the rollout's next step; _rollout_obs[_t] holds the current observations

        # Randomness: one torch generator (minibatches) and one numpy generator (epsilon-greedy).
        seed = config.train.seed
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self.np_rng = np.random.default_rng(seed)
        self.action_space.seed(seed)

        # Counters and schedule state (all saved in checkpoints).
        self.vector_steps = 0
        self.num_updates = 0
        self.schedule_steps: int | None = None  # the horizon of the epsilon and learning-rate schedules
        self._started = False  # the training envs were reset (or restored by set_state)
        self._frames: torch.Tensor | None = None  # (n, k, *frame) stacks of the training envs
        self._act_frames: torch.Tensor | None = None  # stacks of act()'s callers (evaluation)
        self._warned_stacks = False
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self._pin_memory = self.device.type == "cuda"
        self._float_obs = np.issubdtype(self.observation_space.dtype, np.floating)
        self._stats: tuple[torch.Tensor, ...] | None = None
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
    def learning_rate_factor(self) -> float:
        """The factor ``lr_schedule`` applies to the learning rates now: 1, or linear from 1 to 0."""
        if self.params.lr_schedule == "constant":
            return 1.0
        return 1.0 - min(1.0, self.global_step / max(self.schedule_steps or 1, 1))

    # ----------------------------------------------------------------------------- collection loop
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        """Collect rollouts and train until ``global_step`` reaches ``total_steps`` (continues after a
        resume, mid-rollout when the loop state was restored)."""
        with memory_checked(MEMORY_SIZES):  # update batches
            self._learn(total_steps, monitor)

    def _learn(self, total_steps: int, monitor: StepMonitor | None) -> None:
        p = self.params
        if self.schedule_steps is None:
            self.schedule_steps = total_steps
        if not self._started:
            self._start_episodes()
        n = self.num_envs
        rollout = self._rollout
        while self.global_step < total_steps:
            t = self._t
            actions = self._explore(self.exploration_rate)
            next_obs, rewards, terminated, truncated, infos = self.envs.step(actions + self._action_start)
            self.global_step += n
            self.vector_steps += 1
            rollout[0, t], rollout[1, t] = actions, rewards
            rollout[2, t], rollout[3, t] = terminated, truncated
            rollout[4, t] = self._prev_done  # NEXT_STEP: this step only reset those sub-envs
            self._store_observation(next_obs)
            self._t = t + 1
            if self._t == p.num_steps:
                self.update()
                self._t = 0
                self._rollout_obs[0] = self._rollout_obs[-1]
            if monitor is not None:
                if self.num_updates - self._logged_updates >= p.log_interval:
                    monitor.log(self.global_step, self.training_stats())
                if not monitor.on_step(self.global_step, rewards, terminated, truncated, infos):
                    break
        if monitor is not None and self.num_updates > self._logged_updates:  # the last losses too
            monitor.log(self.global_step, self.training_stats())

    def _start_episodes(self) -> None:
        """Reset the training envs: ``train.seed`` on a fresh start, a derived seed on a resume; the
        rollout starts anew from their observations."""
        seed = resume_seed(self.config.train.seed, self.global_step)
        obs, _ = self.envs.reset(seed=seed)
        self._t = 0
        self._prev_done[:] = False
        first = self._to_device(obs)
        if self.frame_stack > 1:
            self._frames = first.unsqueeze(1).repeat_interleave(self.frame_stack, dim=1)
            first = stack_frames(self._frames)
        self._rollout_obs[0] = first
        self._started = True

    def _store_observation(self, next_obs: np.ndarray) -> None:
        """Put the envs' new observations (stacked, when frame_stack > 1) in the rollout's next slot."""
        if self._float_obs and not np.isfinite(next_obs).all():
            rows = np.flatnonzero(~np.isfinite(next_obs).reshape(len(next_obs), -1).all(axis=1))
            raise NonFiniteError(
                f"step {self.global_step}: observation of sub-env(s) {rows[:8].tolist()} is not finite; training "
                "stopped (the run directory's checkpoints/last is the state to resume from once the env is fixed)"
            )
        slot = self._rollout_obs[self._t + 1]
        if self.frame_stack > 1:
            # The reset step's observation begins an episode: its stack is filled with it.
            start = self._to_device(self._prev_done)
            self._frames = self._push_frames(self._frames, self._to_device(next_obs), start)
            slot.copy_(stack_frames(self._frames))
        else:
            slot.copy_(self._to_device(next_obs), non_blocking=True)
        self._prev_done = self._rollout[2, self._t] + self._rollout[3, self._t] > 0

    # ============================================================================================
    # The update step
    # ============================================================================================
    def update(self) -> None:
        """Learn from the full rollout: Q(lambda) targets, then ``num_epochs`` passes of
        ``num_minibatches`` gradient steps each on the squared TD error (no host sync)."""
        p = self.params
        factor = self.learning_rate_factor  # from global_step: exact after a resume
        for group, base in zip(self.optimizer.param_groups, self._base_lrs):
            group["lr"] = base * factor
        table = self._to_device(self._rollout)
        actions = table[0].long().flatten()
        returns, weights = self.rollout_targets(table)
        observations = self._rollout_obs[:-1].flatten(0, 1)

        for _ in range(p.num_epochs):
            order = torch.randperm(len(actions), device=self.device, generator=self.generator)
            for rows in order.tensor_split(p.num_minibatches):
                q_taken = self._q(observations[rows]).gather(1, actions[rows, None]).squeeze(1)
                mask = weights[rows]
                loss = (mask * (q_taken - returns[rows]).square()).sum() / mask.sum().clamp(min=1.0)

                self.optimizer.zero_grad()
                loss.backward()
                grads = [w.grad for w in self._trainable]
                grad_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
                if self._skip_nonfinite and not bool(torch.isfinite(loss) & torch.isfinite(grad_norm)):
                    self._skip_update(loss, grad_norm)
                    continue
                if p.max_grad_norm > 0:  # clip_grad_norm_, without its per-call bookkeeping
                    torch._foreach_mul_(grads, (p.max_grad_norm / (grad_norm + 1e-6)).clamp(max=1.0))
                self.optimizer.step()
        self.num_updates += 1
        self._stats = (loss.detach(), q_taken.detach().mean(), grad_norm)  # reduced when logged

    @torch.no_grad()
    def rollout_targets(self, table: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The full rollout's Q(lambda) returns and loss weights (0 at NEXT_STEP's reset steps, which are
        not transitions), both flattened to ``(num_steps * num_envs,)`` in step-major order.
        ``table``: the rollout's host table already on the device."""
        p = self.params
        table = self._to_device(self._rollout) if table is None else table
        rewards = table[1] * p.reward_scale
        terminated, truncated, episode_start = table[2] > 0, table[3] > 0, table[4] > 0
        # max_a Q(s_{t+1}, a) of the current network (there is no target network), for all t at once
        values = self._q(self._rollout_obs.flatten(0, 1)).amax(dim=1).view(p.num_steps + 1, self.num_envs)
        returns = lambda_returns(rewards, terminated, truncated, values[1:], p.gamma, p.td_lambda)
        return returns.flatten(), (~episode_start).flatten().float()

    def _skip_update(self, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        """``train.nonfinite: skip``: count (and now and then report) a gradient step left out."""
        self.skipped_updates += 1
        if self.skipped_updates in (1, 10, 100, 1000):
            warnings.warn(
                f"step {self.global_step}: {self.skipped_updates} gradient step(s) skipped so far: loss "
                f"{float(loss.detach())} / gradient norm {float(grad_norm)} not finite",
                RuntimeWarning,
                stacklevel=3,
            )

    def training_stats(self) -> dict[str, float]:
        """The latest losses and schedules as scalars (syncs the device once)."""
        self._logged_updates = self.num_updates
        stats = {"charts/epsilon": self.exploration_rate}
        if self._stats is not None:
            loss, q_mean, grad_norm = torch.stack([s.float() for s in self._stats]).tolist()
            stats.update({"losses/td_loss": loss, "losses/q_values": q_mean, "losses/grad_norm": grad_norm})
        if self.params.lr_schedule != "constant":
            stats["charts/learning_rate"] = self.params.learning_rate * self.learning_rate_factor
        if self._skip_nonfinite:
            stats["charts/skipped_updates"] = float(self.skipped_updates)
        return stats

    # ============================================================================================
    # Acting
    # ============================================================================================
    def _explore(self, epsilon: float) -> np.ndarray:
        """Training actions (0-based) for the current observations of the training envs."""
        n = self.num_envs
        explore = self.np_rng.random(n) < epsilon
        actions = self.np_rng.integers(self.num_actions, size=n)
        if not explore.all():  # skip the forward pass while every sub-env explores
            actions = np.where(explore, actions, self._greedy(self._rollout_obs[self._t]))
        return actions

    @torch.no_grad()
    def _greedy(self, observations: torch.Tensor) -> np.ndarray:
        return self._q(observations).argmax(dim=1).cpu().numpy()

    def _push_frames(
        self, frames: torch.Tensor, new: torch.Tensor, episode_start: torch.Tensor
    ) -> torch.Tensor:
        """Append ``new`` to each stack; stacks of new episodes are filled with their first frame."""
        new = new.unsqueeze(1).to(frames.dtype)
        shifted = torch.cat([frames[:, 1:], new], dim=1)
        start = episode_start.view(-1, *([1] * (frames.dim() - 1)))
        return torch.where(start, new.expand_as(frames), shifted)

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        """One host→device copy; through pinned memory, asynchronous, on CUDA (no copy on CPU)."""
        host = torch.from_numpy(np.ascontiguousarray(array))
        if self._pin_memory:
            host = host.pin_memory()
        return host.to(self.device, non_blocking=True)

    # ============================================================================================
    # Checkpoints: safetensors + JSON, never pickle
    # ============================================================================================
    def save(self, directory: str | Path) -> None:
        """Write the network, optimiser, counters, schedules and RNG states."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tensors = {f"q_network.{k}": v for k, v in self.q_network.state_dict().items()}
        optimizer_state = self.optimizer.state_dict()
        for index, state in optimizer_state["state"].items():
            tensors.update({f"optimizer.{index}.{k}": v for k, v in state.items() if torch.is_tensor(v)})
        tensors["rng.torch"] = self.generator.get_state()
        save_file(
            {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, directory / "model.safetensors"
        )
        meta = {
            "algo": "pqn",
            "format": CHECKPOINT_FORMAT,
            "global_step": self.global_step,
            "vector_steps": self.vector_steps,
            "num_updates": self.num_updates,
            "schedule_steps": self.schedule_steps,
            "exploration_rate": self.exploration_rate,
            "rng_numpy": self.np_rng.bit_generator.state,
            "optimizer_param_groups": optimizer_state["param_groups"],
            "observation_shape": list(self.observation_space.shape),
            "num_actions": self.num_actions,
            "params": to_dict(self.params),
        }
        (directory / "agent.json").write_text(json.dumps(meta, indent=2))

    def get_state(self) -> dict[str, np.ndarray] | None:
        """The rollout so far (observations and the host table), the frame stacks and the done flags."""
        if not self._started:
            return None
        state = {
            "rollout_obs": self._rollout_obs[: self._t + 1].cpu().numpy(),
            "rollout": self._rollout[:, : self._t].copy(),
            "prev_done": self._prev_done.copy(),
        }
        if self._frames is not None:
            state["frames"] = self._frames.cpu().numpy()
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        t = len(state["rollout_obs"]) - 1
        self._rollout_obs[: t + 1] = torch.as_tensor(state["rollout_obs"], device=self.device)
        self._rollout[:, :t] = state["rollout"]
        self._t = t
        self._prev_done = state["prev_done"].astype(bool)
        if "frames" in state:
            self._frames = torch.as_tensor(state["frames"], device=self.device)
        self._started = True

    @classmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> PQNAgent:
        """Rebuild an agent written by :meth:`save`; ``learn`` then continues from its step count."""
        directory = Path(directory)
        meta: dict[str, Any] = json.loads((directory / "agent.json").read_text())
        if meta.get("algo") != "pqn" or meta.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{directory} is not a pqn checkpoint of format {CHECKPOINT_FORMAT}")
        agent = cls(config, envs)
        tensors = load_file(directory / "model.safetensors", device="cpu")
        try:
            agent.q_network.load_state_dict(
                {k[len("q_network.") :]: v for k, v in tensors.items() if k.startswith("q_network.")}
            )
        except RuntimeError as error:
            saved = meta["params"]
            raise ConfigError(
                f"the checkpoint in {directory} does not fit this config's network (saved with net_arch "
                f"{saved.get('net_arch')}, layer_norm={saved.get('layer_norm')}): {error}"
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
        return agent


# ============================================================================================
# K seeds as one batched computation (train.num_seeds > 1)
# ============================================================================================
SMALL_BATCH_ROWS = 4  # fewer rows per seed: addmm and bmm take different BLAS paths (gemv-like)
SMALL_PRODUCT = 400  # rows x inputs x outputs below this: torch's bmm multiplies in its own loops, not BLAS


def _seed_by_seed(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether a batched product of these shapes would round otherwise than a single seed's ``F.linear``
    (so it is computed seed by seed): too few rows, or a product small enough for bmm's own loops."""
    rows = x.shape[1]
    return rows < SMALL_BATCH_ROWS or rows * weight.shape[1] * weight.shape[2] < SMALL_PRODUCT


class _SeedLinear(torch.autograd.Function):
    """``F.linear`` of K seeds at once — ``x`` (K, B, in), ``weight`` (K, out, in), ``bias`` (K, out) —
    computing each seed's slice bit for bit as that seed's own ``F.linear`` and its autograd do. The
    backward is written out because it must be the single seed's: addmm's backward gives a transposed
    weight the gradient ``grad.T @ x``, where bmm's own backward would compute ``(x.T @ grad).T``,
    which rounds differently."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight, bias)
        if _seed_by_seed(x, weight):
            return torch.stack([F.linear(x[k].clone(), weight[k], bias[k]) for k in range(len(x))])
        return torch.matmul(x, weight.mT) + bias[:, None]

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, bias = ctx.saved_tensors
        if _seed_by_seed(x, weight):  # F.linear's own autograd, seed by seed
            needs_x = ctx.needs_input_grad[0]
            grads = []
            with torch.enable_grad():
                for k in range(len(x)):
                    inputs = [t[k].detach().requires_grad_(True) for t in (x, weight, bias)]
                    output = F.linear(*inputs)
                    grads.append(torch.autograd.grad(output, inputs if needs_x else inputs[1:], grad[k]))
            stacked = [torch.stack(g) for g in zip(*grads)]
            return (*([] if needs_x else [None]), *stacked)
        else:
            grad_weight = torch.bmm(grad.mT, x)
            grad_x = torch.bmm(grad, weight) if ctx.needs_input_grad[0] else None
        return grad_x, grad_weight, grad.sum(1)


class _SeedLayerNorm(torch.autograd.Function):
    """``LayerNorm`` of K seeds, each with its own weight and bias, computing each seed's slice bit for
    bit as that seed's ``nn.LayerNorm`` and its autograd do. Forward: one normalisation of every row
    with weight 1 and bias 0, then ``addcmul(bias, normalised, weight)`` over the K seeds — the
    rounding of the kernel's own affine step (``normalised * weight + bias`` in one fused
    multiply-add); each row's mean and 1/std do not depend on the weight. Backward: seed by seed through
    the kernel a single seed's autograd calls (its reductions round otherwise when rewritten)."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float
    ) -> torch.Tensor:
        k, rows, width = x.shape
        # weight 1 and bias 0 (exact) rather than none: the kernel's affine path is the vectorised one
        normalised, means, rstds = torch.native_layer_norm(
            x.reshape(k * rows, width), (width,), weight.new_ones(width), weight.new_zeros(width), eps
        )
        ctx.save_for_backward(x, weight, bias, means.view(k, rows, 1), rstds.view(k, rows, 1))
        return torch.addcmul(bias[:, None], normalised.view(k, rows, width), weight[:, None])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, bias, means, rstds = ctx.saved_tensors
        shape, mask = [x.shape[-1]], [True, True, True]
        grads = [
            torch.ops.aten.native_layer_norm_backward(
                grad[k], x[k], shape, means[k], rstds[k], weight[k], bias[k], mask
            )
            for k in range(len(x))
        ]
        return (*(torch.stack(g) for g in zip(*grads)), None)


class PQNSeedBatch:
    """K PQN agents — one per seed, each built as its own run builds it — trained as one computation:
    one env batch of ``K * n`` rows, one forward pass for the K seeds' greedy actions, one batched
    update (K weight sets stacked along a leading axis; every seed's optimiser steps its own slice,
    all in one fused call: :class:`~rlsuite.agents.networks.SeedAdam`), and all seeds' evaluations
    side by side (:meth:`greedy_actions`).

    Each seed gets exactly what its own run gets, bit for bit on the CPU: its own numpy generator draws
    its exploration and its own torch generator its minibatches, in the order its run draws them; its
    rows of the envs see its episodes; and every batched operation computes each seed's slice as the
    unbatched one does (:class:`_SeedLinear`, :class:`_SeedLayerNorm`, per-seed gradient norms; the
    elementwise rest is exact by nature). ``tests/test_parallel_seeds.py`` holds this to the single runs.

    The agents' own weights become views of the stacked tensors, so each agent's ``act``, ``save``,
    optimiser and evaluation see the live weights with no copying. Supported: vector observations
    (the MLP encoder), ``frame_stack: 1``, ``train.nonfinite: stop``; the rest is refused with a
    :class:`ConfigError` before the run writes anything.
    """

    def __init__(self, agents: Sequence[PQNAgent], envs: SeedEnvsLike) -> None:
        lead = agents[0]
        if not isinstance(lead.q_network.encoder, MLPEncoder) or lead.config.encoder is not None:
            raise ConfigError(
                f"train.num_seeds: pqn trains seeds side by side for vector observations only; "
                f"{lead.config.env.id} has {lead.observation_space} (or an encoder section is set). "
                "Use train.num_seeds=1 (pixel networks gain little from batching seeds on a CPU)"
            )
        if lead.frame_stack > 1:
            raise ConfigError(
                f"train.num_seeds: pqn trains seeds side by side with agent.frame_stack 1; got {lead.frame_stack}"
            )
        if lead._skip_nonfinite:
            raise ConfigError(
                "train.num_seeds: train.nonfinite=skip is not supported with train.num_seeds > 1 yet; use stop"
            )
        self.agents = list(agents)
        self.envs = envs
        self.num_seeds = len(agents)
        self.envs_per_seed = envs.envs_per_seed
        self.device = lead.device
        p = lead.params
        # Stack each parameter over the seeds; every agent's parameter becomes a view of its slice.
        per_agent = [list(agent.q_network.parameters()) for agent in agents]
        self.parameters: list[torch.Tensor] = []
        for i in range(len(per_agent[0])):
            stacked = torch.stack([params[i].detach() for params in per_agent]).requires_grad_(True)
            for k, params in enumerate(per_agent):
                params[i].data = stacked.detach()[k]
            self.parameters.append(stacked)
        self._per_agent = per_agent
        self._optimizer = SeedAdam([agent.optimizer for agent in agents], per_agent, self.parameters)
        index = {id(w): i for i, w in enumerate(per_agent[0])}
        self._layers: list[tuple[str, Any]] = []
        for module in lead.q_network.head:
            if isinstance(module, nn.Linear):
                self._layers.append(
                    (
                        "linear",
                        (self.parameters[index[id(module.weight)]], self.parameters[index[id(module.bias)]]),
                    )
                )
            elif isinstance(module, nn.LayerNorm):
                weight, bias = (
                    self.parameters[index[id(module.weight)]],
                    self.parameters[index[id(module.bias)]],
                )
                self._layers.append(("norm", (weight, bias, module.eps)))
            else:
                self._layers.append(("activation", module))

        obs_dtype = torch.from_numpy(np.empty(0, lead.observation_space.dtype)).dtype
        n_all = envs.num_envs
        self._rollout_obs = torch.zeros(
            (p.num_steps + 1, n_all, *lead.observation_space.shape), dtype=obs_dtype, device=self.device
        )
        self._rollout = np.zeros((len(ROLLOUT_FIELDS), p.num_steps, n_all), dtype=np.float32)
        self._prev_done = np.zeros(n_all, dtype=bool)
        self._t = 0

    # ----------------------------------------------------------------------------- the network
    def _forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Q-values of every seed: ``(K, B, *obs)`` -> ``(K, B, num_actions)``."""
        x = observations.flatten(2).float()  # the MLP encoder's
        for kind, layer in self._layers:
            if kind == "linear":
                x = _SeedLinear.apply(x, *layer)
            elif kind == "norm":
                x = _SeedLayerNorm.apply(x, *layer)
            else:
                x = layer(x)
        return x

    def _per_seed(self, rows: torch.Tensor) -> torch.Tensor:
        """``(T, K * n, ...)`` step-major rows -> ``(K, T * n, ...)``: each seed's rollout flattened as its
        own run flattens it."""
        steps, k, n = rows.shape[0], self.num_seeds, self.envs_per_seed
        return (
            rows.reshape(steps, k, n, *rows.shape[2:]).transpose(0, 1).reshape(k, steps * n, *rows.shape[2:])
        )

    # ----------------------------------------------------------------------------- collection loop
    def learn(self, total_steps: int, monitors: Sequence[StepMonitor]) -> None:
        """Collect rollouts and train every seed until ``global_step`` reaches ``total_steps``;
        seed ``k`` reports to ``monitors[k]``."""
        with memory_checked(MEMORY_SIZES):
            self._learn(total_steps, monitors)

    def _learn(self, total_steps: int, monitors: Sequence[StepMonitor]) -> None:
        agents, lead = self.agents, self.agents[0]
        p, n = lead.params, self.envs_per_seed
        for agent in agents:
            if agent.schedule_steps is None:
                agent.schedule_steps = total_steps
        self._start_episodes()
        rollout = self._rollout
        while lead.global_step < total_steps:
            t = self._t
            actions = self._explore(lead.exploration_rate)
            next_obs, rewards, terminated, truncated = self.envs.step(actions + lead._action_start)
            for agent in agents:
                agent.global_step += n
                agent.vector_steps += 1
            rollout[0, t], rollout[1, t] = actions, rewards
            rollout[2, t], rollout[3, t] = terminated, truncated
            rollout[4, t] = self._prev_done  # NEXT_STEP: this step only reset those sub-envs
            self._store_observation(next_obs)
            self._t = t + 1
            if self._t == p.num_steps:
                self.update()
                self._t = 0
                self._rollout_obs[0] = self._rollout_obs[-1]
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

    def _start_episodes(self) -> None:
        """Reset every seed's envs with the seed its own run resets them with."""
        seeds = [resume_seed(agent.config.train.seed, agent.global_step) for agent in self.agents]
        obs = self.envs.reset_seeds(seeds)
        self._t = 0
        self._prev_done[:] = False
        self._rollout_obs[0] = self.agents[0]._to_device(obs)
        for agent in self.agents:
            agent._started = True

    def _explore(self, epsilon: float) -> np.ndarray:
        """Every seed's training actions (0-based), each drawn from its own generator as its run draws them."""
        n, num_actions = self.envs_per_seed, self.agents[0].num_actions
        explore = np.empty(self.envs.num_envs, dtype=bool)
        actions = np.empty(self.envs.num_envs, dtype=np.int64)
        for k, agent in enumerate(self.agents):
            explore[k * n : (k + 1) * n] = agent.np_rng.random(n) < epsilon
            actions[k * n : (k + 1) * n] = agent.np_rng.integers(num_actions, size=n)
        if not explore.all():  # skip the forward pass while every sub-env explores
            actions = np.where(explore, actions, self._greedy(self._rollout_obs[self._t]))
        return actions

    @torch.no_grad()
    def _greedy(self, observations: torch.Tensor) -> np.ndarray:
        """Greedy actions (0-based) of ``(K * m, *obs)`` rows, seed-major."""
        x = observations.view(self.num_seeds, -1, *observations.shape[1:])
        return self._forward(x).argmax(dim=2).flatten().cpu().numpy()

    def greedy_actions(self, observations: np.ndarray) -> np.ndarray:
        """Every seed's greedy actions for its own observations, ``(K, m, *obs)`` -> ``(K, m)``: seed
        ``k``'s row exactly its agent's ``act(observations[k], deterministic=True)``, in one batched
        forward pass (the K-seed run's evaluations, all seeds at once)."""
        obs = self.agents[0]._to_device(observations)
        return self._greedy(obs.flatten(0, 1)).reshape(observations.shape[:2]) + self.agents[0]._action_start

    def _store_observation(self, next_obs: np.ndarray) -> None:
        lead = self.agents[0]
        if lead._float_obs and not np.isfinite(next_obs).all():
            rows = np.flatnonzero(~np.isfinite(next_obs).reshape(len(next_obs), -1).all(axis=1))
            seed = self.agents[rows[0] // self.envs_per_seed].config.train.seed
            raise NonFiniteError(
                f"step {lead.global_step}: observation of sub-env {rows[0] % self.envs_per_seed} of seed {seed} "
                "is not finite; training stopped (each seed's checkpoints/last is the state to restart from)"
            )
        self._rollout_obs[self._t + 1].copy_(lead._to_device(next_obs), non_blocking=True)
        self._prev_done = self._rollout[2, self._t] + self._rollout[3, self._t] > 0

    # ----------------------------------------------------------------------------- the update step
    def update(self) -> None:
        """:meth:`PQNAgent.update` for every seed at once: Q(lambda) targets, then ``num_epochs`` passes of
        ``num_minibatches`` gradient steps, each seed's minibatches drawn from its own generator."""
        agents, lead = self.agents, self.agents[0]
        p, k_seeds = lead.params, self.num_seeds
        factor = lead.learning_rate_factor  # the same for every seed: they share global_step
        for agent in agents:
            for group, base in zip(agent.optimizer.param_groups, agent._base_lrs):
                group["lr"] = base * factor
        table = lead._to_device(self._rollout)
        actions = self._per_seed(table[0].long())
        returns, weights = self._targets(table)
        observations = self._per_seed(self._rollout_obs[:-1])
        seeds = torch.arange(k_seeds, device=self.device)[:, None]
        size = actions.shape[1]
        for _ in range(p.num_epochs):
            order = torch.stack(
                [torch.randperm(size, device=self.device, generator=agent.generator) for agent in agents]
            )
            for rows in order.tensor_split(p.num_minibatches, dim=1):
                q_taken = (
                    self._forward(observations[seeds, rows])
                    .gather(2, actions[seeds, rows][..., None])
                    .squeeze(2)
                )
                mask = weights[seeds, rows]
                loss = (mask * (q_taken - returns[seeds, rows]).square()).sum(1) / mask.sum(1).clamp(min=1.0)

                for w in self.parameters:
                    w.grad = None
                loss.sum().backward()
                grads = [w.grad for w in self.parameters]
                # each seed's norm as its run computes it: per tensor, then over its tensors
                norms = torch.stack(torch._foreach_norm([g for grad in grads for g in grad.unbind(0)]))
                grad_norm = torch.linalg.vector_norm(norms.view(len(grads), k_seeds).T.contiguous(), dim=1)
                if p.max_grad_norm > 0:
                    scale = (p.max_grad_norm / (grad_norm + 1e-6)).clamp(max=1.0)
                    torch._foreach_mul_(grads, [scale.view(-1, *[1] * (g.dim() - 1)) for g in grads])
                # Each seed's own optimiser on its views, in one call (SeedAdam): a fused Adam step
                # over one stacked tensor would put a seed's last elements in vector lanes where its
                # run computes them one by one.
                self._optimizer.step()
        for k, agent in enumerate(agents):
            agent.num_updates += 1
            # a fresh copy: a vectorised mean may round otherwise where a row starts off the alignment
            agent._stats = (loss[k].detach(), q_taken[k].detach().clone().mean(), grad_norm[k])

    @torch.no_grad()
    def _targets(self, table: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Every seed's Q(lambda) returns and loss weights, ``(K, num_steps * n)`` (see
        :meth:`PQNAgent.rollout_targets`)."""
        p = self.agents[0].params
        rewards = table[1] * p.reward_scale
        terminated, truncated, episode_start = table[2] > 0, table[3] > 0, table[4] > 0
        values = self._forward(self._per_seed(self._rollout_obs)).amax(dim=2)
        steps, k_seeds, n = p.num_steps + 1, self.num_seeds, self.envs_per_seed
        values = values.view(k_seeds, steps, n).transpose(0, 1).reshape(steps, k_seeds * n)
        returns = lambda_returns(rewards, terminated, truncated, values[1:], p.gamma, p.td_lambda)
        return self._per_seed(returns), self._per_seed((~episode_start).float())
