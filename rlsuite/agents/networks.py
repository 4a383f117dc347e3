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

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlsuite.encoders.augment import RandomShift
from rlsuite.encoders.networks import NatureCNN
from rlsuite.encoders.networks import build_encoder as build_image_encoder

__all__ = [
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


def is_image_space(space: gym.Space) -> bool:
    """A channel-last ``uint8`` image ``(H, W, C)``: what the CNN encoders take."""
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


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
