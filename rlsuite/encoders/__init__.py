"""Pixel encoders: networks (Flare's latent-difference one among them), batched augmentations,
objectives behind one protocol and one registry (``Objective``, ``OBJECTIVES``: self-supervised CURL
and ATC, motion-aware SPR, its contrastive variant and the playback rate, supervised transfer
pretraining on the simulator's state), pretraining (``rlsuite pretrain``), checkpoints (shipped ones
load by name, offline), transfer into agents (``encoder: {checkpoint, freeze, lr_scale}``) and the linear probe
(``rlsuite probe``).

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
from rlsuite.encoders.networks import ENCODERS, CompactCNN, FlareCNN, NatureCNN, ResNet18Stem, build_encoder
from rlsuite.encoders.objectives import (
    ATC,
    CURL,
    OBJECTIVES,
    SPR,
    FrameBatch,
    Objective,
    SPRContrastive,
    StateRegression,
    auxiliary_objective,
    auxiliary_objectives,
    info_nce,
    register,
)

__all__ = [
    "ATC",
    "CURL",
    "ENCODERS",
    "OBJECTIVES",
    "SPR",
    "Augment",
    "CompactCNN",
    "FlareCNN",
    "FrameBatch",
    "NatureCNN",
    "Objective",
    "RandomShift",
    "ResNet18Stem",
    "SPRContrastive",
    "StateRegression",
    "auxiliary_objective",
    "auxiliary_objectives",
    "build_encoder",
    "center_crop",
    "color_jitter",
    "info_nce",
    "load_encoder",
    "random_crop",
    "random_shift",
    "register",
    "save_encoder",
    "shipped_encoders",
]
