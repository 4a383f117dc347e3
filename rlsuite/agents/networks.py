"""Q-networks for the deep agents: encoders, heads, and pixel augmentation.

A Q-network is an **encoder** (observation → feature vector) followed by a **head** (features →
one value per action), as in Stable-Baselines3's ``BaseFeaturesExtractor`` contract::

    encoder = build_encoder(observation_space, features_dim)   # .features_dim tells the head its input
    head = QHead(encoder.features_dim, num_actions, net_arch, dueling)

Encoders take observations in the env's own layout — ``(n, D)`` vectors, or channel-last ``(n, H, W, C)``
``uint8`` images — and do their own dtype/layout conversion, so the replay buffer and the acting code
never convert anything. Pixel encoders (and the DrQ shift) live in :mod:`rlsuite.encoders`;
:func:`build_encoder` picks one by ``encoder.type``, and pretrained ones come from
:mod:`rlsuite.encoders.transfer`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from rlsuite.agents.base import is_image_space
from rlsuite.encoders.augment import RandomShift
from rlsuite.encoders.networks import NatureCNN
from rlsuite.encoders.networks import build_encoder as build_image_encoder

__all__ = [
    "Adam",
    "MLPEncoder",
    "NatureCNN",
    "QHead",
    "QNetwork",
    "RandomShift",
    "build_encoder",
    "is_image_space",
    "mlp",
]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU}


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int | None, activation: str = "relu") -> nn.Sequential:
    """Linear layers of sizes ``hidden`` with ``activation`` after each; a final linear ``out_dim``."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), ACTIVATIONS[activation]()]
        in_dim = width
    if out_dim is not None:
        layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------------------------
# Encoders: observation -> features (each exposes .features_dim)
# --------------------------------------------------------------------------------------------
class MLPEncoder(nn.Module):
    """Vector observations: flattened and cast to float; the head's MLP does the learning."""

    def __init__(self, observation_shape: Sequence[int]) -> None:
        super().__init__()
        self.features_dim = int(np.prod(observation_shape))

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return observations.flatten(1).float()


def build_encoder(
    observation_shape: Sequence[int],
    is_image: bool,
    features_dim: int = 512,
    encoder_type: str = "nature_cnn",
) -> nn.Module:
    """The encoder for an observation shape: an MLP input for vectors, a CNN of
    :mod:`rlsuite.encoders.networks` (``encoder.type``) for images."""
    if not is_image:
        return MLPEncoder(observation_shape)
    return build_image_encoder(encoder_type, observation_shape, features_dim)


# --------------------------------------------------------------------------------------------
# Heads: features -> Q-values
# --------------------------------------------------------------------------------------------
class QHead(nn.Module):
    """An MLP from features to one Q-value per action; optionally dueling.

    Dueling (Wang et al., 2016, "Dueling Network Architectures for Deep RL"): the last hidden layer
    is split into a value stream V(s) and an advantage stream A(s, a), combined as
    ``Q = V + A - mean_a A`` (the identifiable form of the paper's eq. 9). Earlier hidden layers are
    shared, as the paper shares the convolutional torso.
    """

    def __init__(
        self,
        in_dim: int,
        num_actions: int,
        net_arch: Sequence[int],
        dueling: bool = False,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.dueling = dueling
        if not dueling:
            self.q = mlp(in_dim, net_arch, num_actions, activation)
            return
        shared, stream = list(net_arch[:-1]), list(net_arch[-1:])
        self.shared = mlp(in_dim, shared, None, activation)
        width = shared[-1] if shared else in_dim
        self.value = mlp(width, stream, 1, activation)
        self.advantage = mlp(width, stream, num_actions, activation)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if not self.dueling:
            return self.q(features)
        hidden = self.shared(features)
        advantage = self.advantage(hidden)
        return self.value(hidden) + advantage - advantage.mean(dim=1, keepdim=True)


class QNetwork(nn.Module):
    """Encoder + head: a batch of observations (env layout) → Q-values ``(n, num_actions)``."""

    def __init__(self, encoder: nn.Module, head: QHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(observations))


# --------------------------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------------------------
class Adam:
    """Adam (Kingma & Ba, 2015, "Adam: A Method for Stochastic Optimization") as ``torch.optim.Adam``
    computes it — through its functional form ``torch.optim.adam.adam``, with the fused kernel, so the
    weights come out the same bit for bit — and with its ``state_dict`` layout, but without
    ``torch.optim.Optimizer``: constructing one (and its ``step`` and ``zero_grad``) imports
    ``torch._dynamo``, 1–2 s of a DQN's start-up, and its per-step bookkeeping (hooks, profiler
    ranges, state grouping) costs as much again as the update it wraps on small networks.

    What DQN needs, no more: parameter groups with their own ``lr`` (``param_groups[i]["lr"]`` may be
    changed between steps), ``betas`` and ``eps``; no weight decay, AMSGrad or gradient scaling.
    """

    def __init__(
        self,
        param_groups: Sequence[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.param_groups = [
            {"lr": lr, "betas": tuple(betas), "eps": eps, **group, "params": list(group["params"])}
            for group in param_groups
        ]
        params = [w for group in self.param_groups for w in group["params"]]
        self.fused = all(w.is_floating_point() and _fused_adam_runs_on(w.device) for w in params)
        self.state: dict[torch.Tensor, dict[str, torch.Tensor]] = {}

    def zero_grad(self) -> None:
        """Drop the gradients (``set_to_none``, as ``torch.optim`` does by default)."""
        for group in self.param_groups:
            for w in group["params"]:
                w.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam step of every parameter that has a gradient."""
        from torch.optim.adam import adam

        for group in self.param_groups:
            params = [w for w in group["params"] if w.grad is not None]
            if not params:
                continue
            states = [self.state.get(w) or self._new_state(w) for w in params]
            beta1, beta2 = group["betas"]
            adam(
                params,
                [w.grad for w in params],
                [s["exp_avg"] for s in states],
                [s["exp_avg_sq"] for s in states],
                [],
                [s["step"] for s in states],
                fused=True if self.fused else None,
                amsgrad=False,
                beta1=beta1,
                beta2=beta2,
                lr=group["lr"],
                weight_decay=0.0,
                eps=group["eps"],
                maximize=False,
            )

    def _new_state(self, w: torch.Tensor) -> dict[str, torch.Tensor]:
        state = {  # torch.optim.Adam's: the step count lives beside the weights for the fused kernel
            "step": torch.zeros((), dtype=torch.float32, device=w.device if self.fused else "cpu"),
            "exp_avg": torch.zeros_like(w, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(w, memory_format=torch.preserve_format),
        }
        self.state[w] = state
        return state

    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}`` with parameters numbered in group
        order, as ``torch.optim.Optimizer.state_dict`` writes it."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            numbers = [index.setdefault(id(w), len(index)) for w in group["params"]]
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": numbers})
        state = {index[id(w)]: dict(s) for w, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """The inverse of :meth:`state_dict` (``torch.optim.Adam``'s state dicts load too)."""
        saved_groups = state_dict["param_groups"]
        if [len(g["params"]) for g in saved_groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the saved optimiser state has other parameter groups than this network")
        by_index: dict[int, torch.Tensor] = {}
        for saved, group in zip(saved_groups, self.param_groups):
            group.update(lr=saved["lr"], betas=tuple(saved["betas"]), eps=saved["eps"])
            by_index.update(zip(saved["params"], group["params"]))
        self.state = {}
        for number, saved_state in state_dict["state"].items():
            w = by_index[int(number)]
            state = self._new_state(w)
            for key, value in saved_state.items():
                state[key].copy_(value)


def _fused_adam_runs_on(device: torch.device) -> bool:
    """Whether torch has a fused Adam kernel for ``device`` (on CPU since torch 2.4)."""
    return device.type == "cuda" or (device.type == "cpu" and torch.__version__ >= "2.4")
