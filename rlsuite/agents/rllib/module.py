"""The RLModule for pixel observations: PPO's actor-critic over channel-last ``uint8`` images, and the
encoder factories it takes (our Nature-CNN by default, a pretrained encoder from a checkpoint).

RLlib pickles the module's class and ``model_config`` (the factory included) into its checkpoints by
their module paths; :mod:`rlsuite.agents.rllib` re-exports these names, under which checkpoints written
before the package split name them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module import RLModuleSpec
from ray.rllib.core.rl_module.apis import ValueFunctionAPI
from ray.rllib.core.rl_module.torch import TorchRLModule
from torch import nn

from rlsuite.agents.networks import build_encoder

__all__ = ["ImageActorCriticModule", "default_image_encoder", "image_module_spec", "pretrained_encoder"]


def default_image_encoder(observation_space: spaces.Box, model_config: dict[str, Any]) -> nn.Module:
    """Our Nature-CNN over channel-last uint8 images (``encoder_type``, ``features_dim`` from ``model_config``)."""
    return build_encoder(
        observation_space.shape,
        True,
        features_dim=model_config.get("features_dim", 256),
        encoder_type=model_config.get("encoder_type", "nature_cnn"),
    )


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
