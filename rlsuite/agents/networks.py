"""Q-networks for the deep agents: encoders, heads, and pixel augmentation.

A Q-network is an **encoder** (observation → feature vector) followed by a **head** (features →
one value per action), as in Stable-Baselines3's ``BaseFeaturesExtractor`` contract::

    encoder = build_encoder(observation_space, features_dim)   # .features_dim tells the head its input
    head = QHead(encoder.features_dim, num_actions, net_arch, dueling)

Encoders take observations in the env's own layout — ``(n, D)`` vectors, or channel-last ``(n, H, W, C)``
``uint8`` images (``docs/design.md``, "Pixel observations") — and do their own dtype/layout conversion, so
the replay buffer and the acting code never convert anything. The pixel encoder is a Nature-CNN
until the encoders package provides pretrained ones; :func:`build_encoder` is the single place where
those plug in (``config.encoder``).
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn

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


class NatureCNN(nn.Module):
    """The convolutional torso of Mnih et al. (2015, *Nature* 518), on channel-last uint8 images.

    Three conv layers (32×8×8/4, 64×4×4/2, 64×3×3/1) and a linear layer to ``features_dim``; pixels
    are scaled to [0, 1] here. Images smaller than 36×36 do not fit the strides: use a larger
    ``obs_size`` on the env.
    """

    def __init__(self, observation_shape: Sequence[int], features_dim: int = 512) -> None:
        super().__init__()
        height, width, channels = observation_shape
        if min(height, width) < 36:
            raise ValueError(f"NatureCNN needs images of at least 36×36 pixels, got {height}×{width}")
        self.convs = nn.Sequential(
            nn.Conv2d(channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, channels, height, width)).shape[1]
        self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())
        self.features_dim = features_dim

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        pixels = observations.permute(0, 3, 1, 2).float().div_(255.0)  # NHWC uint8 -> NCHW in [0, 1]
        return self.linear(self.convs(pixels))


def build_encoder(
    observation_shape: Sequence[int],
    is_image: bool,
    features_dim: int = 512,
    encoder_type: str = "nature_cnn",
) -> nn.Module:
    """The encoder for an observation shape: an MLP input for vectors, a CNN for images.

    This is where the encoders package will plug in pretrained encoders (``config.encoder``).
    """
    if not is_image:
        return MLPEncoder(observation_shape)
    if encoder_type != "nature_cnn":
        raise ValueError(f"encoder.type: got {encoder_type!r}; allowed: 'nature_cnn'")
    return NatureCNN(observation_shape, features_dim)


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
# Augmentation
# --------------------------------------------------------------------------------------------
class RandomShift(nn.Module):
    """DrQ's random shift (Kostrikov et al., 2021, "Image Augmentation Is All You Need"; Yarats et al., 2022).

    Each image of the batch is shifted by an independent integer offset in ``[-pad, pad]`` pixels
    on both axes, with the border pixels replicated — the same as DrQ's replicate-pad + random crop,
    done by clamped indexing so that it works on channel-last ``uint8`` batches on any device.
    """

    def __init__(self, pad: int = 4) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n, height, width, _ = images.shape
        shifts = torch.randint(-self.pad, self.pad + 1, (2, n, 1), device=images.device, generator=generator)
        rows = (torch.arange(height, device=images.device) + shifts[0]).clamp_(0, height - 1)  # (n, H)
        cols = (torch.arange(width, device=images.device) + shifts[1]).clamp_(0, width - 1)  # (n, W)
        batch = torch.arange(n, device=images.device)[:, None, None]
        return images[batch, rows[:, :, None], cols[:, None, :]]
