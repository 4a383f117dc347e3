"""Pixel encoders: networks, batched augmentations, self-supervised objectives (CURL, ATC) and
supervised transfer pretraining on the simulator's state (StateRegression),
pretraining (``rlsuite pretrain``), checkpoints (shipped ones load by name, offline), transfer into
agents (``encoder: {checkpoint, freeze, lr_scale}``) and the linear probe (``rlsuite probe``).

Imports torch: ``import rlsuite`` does not import this package.
"""

from rlsuite.encoders.augment import (
    Augment,
    RandomShift,
    center_crop,
    color_jitter,
    random_crop,
    random_shift,
)
from rlsuite.encoders.checkpoint import load_encoder, save_encoder, shipped_encoders
from rlsuite.encoders.networks import ENCODERS, CompactCNN, NatureCNN, ResNet18Stem, build_encoder
from rlsuite.encoders.objectives import ATC, CURL, StateRegression, info_nce

__all__ = [
    "ATC",
    "CURL",
    "ENCODERS",
    "Augment",
    "CompactCNN",
    "NatureCNN",
    "RandomShift",
    "ResNet18Stem",
    "StateRegression",
    "build_encoder",
    "center_crop",
    "color_jitter",
    "info_nce",
    "load_encoder",
    "random_crop",
    "random_shift",
    "save_encoder",
    "shipped_encoders",
]
