"""A pretrained rlsuite encoder as SB3's features extractor (:class:`PretrainedEncoder`).

**Pretrained encoders** (``encoder: {checkpoint: driving, …}``, on our envs): frozen with
``store_features`` (the default) the policy sees the feature env's features, like every agent; otherwise
the encoder is the policy's features extractor (:class:`PretrainedEncoder`, on frames stacked by SB3's
``VecFrameStack``), fine-tuned with the policy at its learning rate (``lr_scale`` must be 1: SB3 has
one optimiser) or kept frozen. The agent (:meth:`rlsuite.agents.sb3.agents.SB3Agent._pretrained_extractor`)
checks the ``encoder`` section and chooses between the two.
"""

from __future__ import annotations

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

__all__ = ["PretrainedEncoder"]


class PretrainedEncoder(BaseFeaturesExtractor):
    """A pretrained rlsuite encoder (:mod:`rlsuite.encoders`) as SB3's features extractor.

    SB3 hands images over channel-first (its ``VecTransposeImage``) and, with ``normalize_images:
    false``, as floats of the uint8 values; the encoder takes them back channel-last as uint8. Each
    instance loads the checkpoint afresh, so SB3's target networks get their own copy."""

    def __init__(self, observation_space: spaces.Box, checkpoint: str, freeze: bool = False) -> None:
        from rlsuite.encoders.checkpoint import load_encoder

        encoder, _ = load_encoder(checkpoint)
        super().__init__(observation_space, encoder.features_dim)
        self.encoder = encoder.requires_grad_(not freeze)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        frames = observations.permute(0, 2, 3, 1).round().clamp(0, 255).to(torch.uint8)
        return self.encoder(frames)
