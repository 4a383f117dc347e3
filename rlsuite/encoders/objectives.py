"""Self-supervised objectives for pixel encoders, usable offline (pretraining) and online (an
auxiliary loss next to an agent's own).

Both are InfoNCE (van den Oord et al., 2018) over a batch: each anchor must pick its own positive
among the batch's positives, scored by a learned bilinear similarity ``z_a^T W z_p``; the positives
come from a momentum (EMA) copy of the encoder, which :meth:`~Contrastive.update_target` moves.

- :class:`CURL` (Laskin et al., 2020): anchor and positive are two augmentations of the *same*
  observation.
- :class:`ATC` (Stooke et al., 2021, "Decoupling Representation Learning from RL"): the positive is
  the observation ``k`` steps *later* in the same episode, and the anchor passes a residual MLP
  predictor first. ATC's encoders, pretrained then frozen, matched end-to-end RL in the paper.

::

    objective = ATC(encoder)
    loss, accuracy = objective(anchor_frames, positive_frames)   # both already augmented
    loss.backward(); optimizer.step(); objective.update_target()

Next to them, :class:`StateRegression` is the *transfer-pretrained* kind: supervised on a source
task, here reading the simulator's state observation from pixels (privileged supervision, as in
"Learning by Cheating", Chen et al., 2019), then transferred to the agent's task. It needs the
state, which simulators have and cameras do not.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ATC", "CURL", "OBJECTIVES", "StateRegression", "info_nce"]


def info_nce(
    anchors: torch.Tensor, positives: torch.Tensor, weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of ``logits[i, j] = anchors[i] W positives[j]`` with target ``j = i``; returns
    ``(loss, accuracy)`` (accuracy: the share of anchors whose own positive scores highest)."""
    logits = anchors @ weight @ positives.T
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()  # CURL's stabilisation
    labels = torch.arange(len(anchors), device=anchors.device)
    loss = F.cross_entropy(logits, labels)
    accuracy = (logits.argmax(dim=1) == labels).float().mean()
    return loss, accuracy.detach()


class Contrastive(nn.Module):
    """An online encoder, its EMA target copy and the bilinear ``W``."""

    name = ""

    def __init__(self, encoder: nn.Module, momentum: float) -> None:
        super().__init__()
        if not 0 < momentum <= 1:
            raise ValueError(f"objective.momentum: must be in (0, 1], got {momentum}")
        self.encoder = encoder
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.momentum = momentum
        dim = encoder.features_dim
        self.weight = nn.Parameter(torch.eye(dim) + 0.01 * torch.randn(dim, dim))

    @torch.no_grad()
    def update_target(self) -> None:
        """``target <- (1 - m) target + m online`` (CURL: m = 0.05; ATC: 0.01)."""
        online = list(self.encoder.parameters()) + list(self.encoder.buffers())
        target = list(self.target_encoder.parameters()) + list(self.target_encoder.buffers())
        for t, o in zip(target, online):
            if t.dtype.is_floating_point:
                t.lerp_(o, self.momentum)
            else:
                t.copy_(o)

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return features

    def forward(self, anchors: torch.Tensor, positives: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """InfoNCE of uint8 frame batches (already augmented): ``(loss, accuracy)``."""
        z_anchor = self.project(self.encoder(anchors))
        with torch.no_grad():
            z_positive = self.target_encoder(positives)
        return info_nce(z_anchor, z_positive, self.weight)


class CURL(Contrastive):
    """CURL: two augmentations of one observation are the positive pair."""

    name = "curl"

    def __init__(self, encoder: nn.Module, momentum: float = 0.05, hidden_dim: int = 0) -> None:
        super().__init__(encoder, momentum)


class ATC(Contrastive):
    """ATC: the observation ``k`` steps later is the positive; the anchor goes through a residual MLP."""

    name = "atc"

    def __init__(self, encoder: nn.Module, momentum: float = 0.01, hidden_dim: int = 256) -> None:
        super().__init__(encoder, momentum)
        dim = encoder.features_dim
        self.predictor = nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, dim))

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return features + self.predictor(features)


OBJECTIVES: dict[str, type[Contrastive]] = {"curl": CURL, "atc": ATC}
"""The self-supervised objectives by name; ``state`` (:class:`StateRegression`) is built by ``pretrain``."""


class StateRegression(nn.Module):
    """Supervised transfer pretraining: one linear head per frame source regresses that source's state
    observation, each value standardised by its mean and std over the source's frames (a constant
    value, such as the ego's own presence flag, is left out of the loss)."""

    name = "state"

    def __init__(self, encoder: nn.Module, means: list[torch.Tensor], stds: list[torch.Tensor]) -> None:
        super().__init__()
        self.encoder = encoder
        dim = encoder.features_dim
        self.heads = nn.ModuleList(nn.Linear(dim, len(m)) for m in means)
        for i, (mean, std) in enumerate(zip(means, stds)):
            varies = std > 1e-6
            self.register_buffer(f"mean{i}", mean.float())
            self.register_buffer(f"scale{i}", torch.where(varies, 1.0 / std.clamp_min(1e-6), 0.0).float())

    def update_target(self) -> None:
        """Nothing to move (the contrastive objectives' EMA step; kept for one training loop)."""

    def forward(
        self, frames: torch.Tensor, targets: list[torch.Tensor], counts: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``frames``: the batch's uint8 frames, source by source (``counts[i]`` of source ``i``);
        ``targets[i]``: source ``i``'s state observations. Returns ``(loss, fit)``: the mean squared
        error of the standardised values and ``1 - loss`` over the values that vary (an R² on the
        batch)."""
        features = self.encoder(frames)
        errors, values = frames.new_zeros((), dtype=torch.float32), 0
        for i, (chunk, target) in enumerate(zip(features.split(counts), targets)):
            if len(chunk) == 0:
                continue
            scale = getattr(self, f"scale{i}")
            standardised = (target - getattr(self, f"mean{i}")) * scale
            residual = (self.heads[i](chunk) - standardised) * (scale > 0)
            errors = errors + (residual**2).sum()
            values += len(chunk) * int((scale > 0).sum())
        loss = errors / max(values, 1)
        return loss, (1.0 - loss).detach()
