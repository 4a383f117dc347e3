"""Objectives that train pixel encoders: one protocol (:class:`Objective`), one registry
(:data:`OBJECTIVES`), used offline by ``rlsuite pretrain`` and online as an agent's auxiliary loss.

- :class:`CURL` (Laskin et al., 2020): InfoNCE where anchor and positive are two augmentations of
  the *same* observation.
- :class:`ATC` (Stooke et al., 2021, "Decoupling Representation Learning from RL"): InfoNCE where
  the positive is the observation ``k`` steps *later* in the same episode, and the anchor passes a
  residual MLP predictor first. ATC's encoders, pretrained then frozen, matched end-to-end RL in
  the paper.
- :class:`StateRegression` (``state``): the *transfer-pretrained* kind, supervised on a source task,
  here reading the simulator's state observation from pixels (privileged supervision, as in
  "Learning by Cheating", Chen et al., 2019), then transferred to the agent's task. It needs the
  state, which simulators have and cameras do not, so it pretrains only.

Both contrastive objectives are InfoNCE (van den Oord et al., 2018) over a batch: each anchor must
pick its own positive among the batch's positives, scored by a learned bilinear similarity
``z_a^T W z_p``; the positives come from a momentum (EMA) copy of the encoder, which
:meth:`~Objective.update_target` moves.

One training step, offline (``rlsuite pretrain``) or online (DQN's ``aux_objective``), is the same
whatever the objective::

    batch = objective.sample(frame_data, batch_size, rng, frame_stack)      # pretraining, or
    batch = objective.from_transitions(observations, next_observations)     # an agent's replay batch
    loss, scalars = objective.loss(batch.augmented(augment, generator))     # scalars: {"accuracy": …}
    loss.backward(); optimizer.step(); objective.update_target()

A new objective is one class here (a subclass of :class:`Objective` decorated with
:func:`register`) and its test; ``rlsuite pretrain`` and the agents pick it up by name.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rlsuite.config import ConfigError

if TYPE_CHECKING:
    from rlsuite.encoders.data import FrameData
    from rlsuite.encoders.pretrain import ObjectiveConfig

__all__ = [
    "ATC",
    "CURL",
    "OBJECTIVES",
    "FrameBatch",
    "Objective",
    "StateRegression",
    "auxiliary_objective",
    "auxiliary_objectives",
    "info_nce",
    "objective_class",
    "register",
]


# ============================================================================================
# The protocol and the registry
# ============================================================================================
@dataclass
class FrameBatch:
    """One batch for :meth:`Objective.loss`.

    ``frames``: ``uint8`` frame batches ``(B, H, W, C·k)`` by role (``anchors`` first, e.g.
    ``positives`` next), the inputs :meth:`augmented` passes through the augmentation; ``extras``:
    whatever else the loss reads (regression targets, per-source counts), never augmented.
    """

    frames: dict[str, torch.Tensor]
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def anchors(self) -> torch.Tensor:
        """The first frame batch (what ``rlsuite pretrain`` shows beside its augmented view)."""
        return next(iter(self.frames.values()))

    def augmented(
        self,
        augment: Callable[[torch.Tensor, torch.Generator | None], torch.Tensor],
        generator: torch.Generator | None = None,
    ) -> FrameBatch:
        """Every frame batch through ``augment(frames, generator)``, role by role in order (each
        draws its own random parameters), the extras unchanged."""
        return FrameBatch({role: augment(x, generator) for role, x in self.frames.items()}, self.extras)


class Objective(nn.Module):
    """The protocol of an encoder objective: a module that holds the ``encoder`` it trains (and any
    heads, predictors or target copies of its own) and

    - builds from pretraining's ``objective`` config section (:meth:`from_config`),
    - samples its batch from collected frames (:meth:`sample`; anchors come in clips of
      ``clip_length`` consecutive frames, positives ``temporal_shift`` steps after them),
    - optionally builds its batch from an agent's replay transitions (:meth:`from_transitions`);
      an objective that defines it can be an auxiliary loss (:func:`auxiliary_objectives`),
    - scores a batch (:meth:`loss` → ``(loss, scalars)``; the scalars are logged by name),
    - and moves its slow copies after each optimiser step (:meth:`update_target`).

    Register a subclass with :func:`register` under its ``name``.
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""  # one line for the config reference: what it learns, and from whom
    clip_length: int = 1
    temporal_shift: int = 0

    @classmethod
    def from_config(cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]) -> Objective:
        """Build for pretraining ``encoder``. ``data``: a first look at each frame source (a few
        frames), to check it gives what the objective needs (a :class:`ConfigError` names the
        source) and to size heads; it runs before anything is written."""
        raise NotImplementedError

    def prepare(self, data: Sequence[FrameData]) -> None:
        """Called once on the collected frames before the first step (e.g. target statistics)."""

    def sample(
        self,
        data: Sequence[FrameData],
        batch_size: int,
        rng: np.random.Generator,
        frame_stack: int,
        device: torch.device | str = "cpu",
    ) -> FrameBatch:
        """``batch_size`` samples of ``frame_stack``-stacked frames from ``data`` (sources drawn in
        proportion to their frames), on ``device``, not yet augmented."""
        raise NotImplementedError

    def from_transitions(self, observations: torch.Tensor, next_observations: torch.Tensor) -> FrameBatch:
        """The batch of an agent's replay transitions ``(s, s')`` (``s'``: the n-step successor),
        not yet augmented. Only objectives that can train online define it."""
        raise NotImplementedError(f"objective {self.name!r} does not train on an agent's transitions")

    def loss(self, batch: FrameBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(loss, scalars)`` of an augmented batch; the scalars are detached, logged by name."""
        raise NotImplementedError

    @torch.no_grad()
    def update_target(self) -> None:
        """After each optimiser step: move slow (EMA) copies; nothing by default."""

    def metadata(self, data: Sequence[FrameData]) -> dict[str, Any]:
        """What ``encoder.json`` records beside the objective's config (e.g. the target names)."""
        return {}

    def sample_indices(
        self, data: Sequence[FrameData], batch_size: int, rng: np.random.Generator
    ) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], list[int]]:
        """Per source: anchors ``(t, n)`` and positives ``t + temporal_shift`` (the sources drawn in
        proportion to their frames, a multinomial over the batch); and the per-source counts."""
        weights = np.array([d.num_frames for d in data], float)
        weights /= weights.sum()
        counts = [int(c) for c in rng.multinomial(batch_size, weights)]
        empty = (np.zeros(0, int),) * 3
        picks = [
            d.sample_pairs(count, self.temporal_shift, rng, self.clip_length) if count else empty
            for d, count in zip(data, counts)
        ]
        return picks, counts


OBJECTIVES: dict[str, type[Objective]] = {}
"""The encoder objectives by name (``rlsuite pretrain``'s ``objective.name``, DQN's ``aux_objective``)."""


def register(cls: type[Objective]) -> type[Objective]:
    """Class decorator: enter ``cls`` into :data:`OBJECTIVES` under ``cls.name``."""
    if not cls.name or cls.name in OBJECTIVES:
        raise ValueError(f"objective {cls.__name__}: needs a name not yet registered; got {cls.name!r}")
    OBJECTIVES[cls.name] = cls
    return cls


def objective_class(name: str) -> type[Objective]:
    """The objective registered as ``name`` (a :class:`ConfigError` names the registered ones)."""
    if name not in OBJECTIVES:
        raise ConfigError(f"unknown objective {name!r}; registered: {', '.join(sorted(OBJECTIVES))}")
    return OBJECTIVES[name]


def auxiliary_objectives() -> list[str]:
    """The registered objectives an agent can train online as an auxiliary loss: those that define
    :meth:`Objective.from_transitions`."""
    return sorted(n for n, c in OBJECTIVES.items() if c.from_transitions is not Objective.from_transitions)


def auxiliary_objective(name: str, encoder: nn.Module) -> Objective:
    """Objective ``name`` with its default settings as an online auxiliary loss on ``encoder``; a
    :class:`ConfigError` names the objectives that can be one."""
    usable = auxiliary_objectives()
    if name not in usable:
        reason = "is pretraining-only" if name in OBJECTIVES else "is not a registered objective"
        raise ConfigError(f"{name!r} {reason}; objectives usable as an auxiliary loss: {', '.join(usable)}")
    return OBJECTIVES[name](encoder)


# ============================================================================================
# Contrastive objectives: CURL and ATC
# ============================================================================================
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


class Contrastive(Objective):
    """An online encoder, its EMA target copy and the bilinear ``W``; batches of ``anchors`` and
    ``positives``, scored by InfoNCE (the scalar: ``accuracy``)."""

    def __init__(self, encoder: nn.Module, momentum: float, clip_length: int = 1) -> None:
        super().__init__()
        if not 0 < momentum <= 1:
            raise ValueError(f"objective.momentum: must be in (0, 1], got {momentum}")
        self.encoder = encoder
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.momentum = momentum
        self.clip_length = clip_length
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

    def sample(
        self,
        data: Sequence[FrameData],
        batch_size: int,
        rng: np.random.Generator,
        frame_stack: int,
        device: torch.device | str = "cpu",
    ) -> FrameBatch:
        picks, _ = self.sample_indices(data, batch_size, rng)
        anchors = np.concatenate([d.stacked(t, n, frame_stack) for d, (t, n, _) in zip(data, picks)])
        positives = np.concatenate([d.stacked(p, n, frame_stack) for d, (_, n, p) in zip(data, picks)])
        return FrameBatch(
            {
                "anchors": torch.from_numpy(anchors).to(device),
                "positives": torch.from_numpy(positives).to(device),
            }
        )

    def loss(self, batch: FrameBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, accuracy = self(batch.frames["anchors"], batch.frames["positives"])
        return loss, {"accuracy": accuracy}


@register
class CURL(Contrastive):
    """CURL: two augmentations of one observation are the positive pair."""

    name = "curl"
    summary = "two augmentations of one frame are the positive pair (Laskin et al., 2020)"

    def __init__(
        self, encoder: nn.Module, momentum: float = 0.05, hidden_dim: int = 0, clip_length: int = 1
    ) -> None:
        super().__init__(encoder, momentum, clip_length)

    @classmethod
    def from_config(cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]) -> CURL:
        momentum = {} if config.momentum is None else {"momentum": config.momentum}
        return cls(encoder, clip_length=config.clip_length, **momentum)

    def from_transitions(self, observations: torch.Tensor, next_observations: torch.Tensor) -> FrameBatch:
        return FrameBatch({"anchors": observations, "positives": observations})


@register
class ATC(Contrastive):
    """ATC: the observation ``k`` steps later is the positive; the anchor goes through a residual MLP."""

    name = "atc"
    summary = "temporal contrast: the frame k steps later is the positive (Stooke et al., 2021)"

    def __init__(
        self,
        encoder: nn.Module,
        momentum: float = 0.01,
        hidden_dim: int = 256,
        temporal_shift: int = 1,
        clip_length: int = 1,
    ) -> None:
        super().__init__(encoder, momentum, clip_length)
        self.temporal_shift = temporal_shift
        dim = encoder.features_dim
        self.predictor = nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, dim))

    @classmethod
    def from_config(cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]) -> ATC:
        momentum = {} if config.momentum is None else {"momentum": config.momentum}
        return cls(
            encoder,
            hidden_dim=config.hidden_dim,
            temporal_shift=config.temporal_shift,
            clip_length=config.clip_length,
            **momentum,
        )

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return features + self.predictor(features)

    def from_transitions(self, observations: torch.Tensor, next_observations: torch.Tensor) -> FrameBatch:
        return FrameBatch({"anchors": observations, "positives": next_observations})


# ============================================================================================
# Supervised transfer pretraining: the simulator's state
# ============================================================================================
@register
class StateRegression(Objective):
    """Supervised transfer pretraining: one linear head per frame source regresses that source's state
    observation, each value standardised by its mean and std over the source's frames (a constant
    value, such as the ego's own presence flag, is left out of the loss). Batches: ``anchors`` and
    the extras ``targets`` (per source) and ``counts`` (anchors per source, in order); the scalar:
    ``fit``."""

    name = "state"
    summary = (
        "supervised regression of each source's state observation "
        "(transfer pretraining with privileged state)"
    )

    def __init__(self, encoder: nn.Module, means: list[torch.Tensor], stds: list[torch.Tensor]) -> None:
        super().__init__()
        self.encoder = encoder
        dim = encoder.features_dim
        self.heads = nn.ModuleList(nn.Linear(dim, len(m)) for m in means)
        for i, (mean, std) in enumerate(zip(means, stds)):
            mean, scale = self._standardisation(mean, std)
            self.register_buffer(f"mean{i}", mean)
            self.register_buffer(f"scale{i}", scale)

    @staticmethod
    def _standardisation(mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        varies = std > 1e-6
        return mean.float(), torch.where(varies, 1.0 / std.clamp_min(1e-6), 0.0).float()

    @classmethod
    def from_config(
        cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]
    ) -> StateRegression:
        """One head per source, sized by its state observation (standardised in :meth:`prepare`)."""
        for i, source in enumerate(data):
            if not source.target_names:
                raise ConfigError(
                    f"data[{i}]: objective 'state' regresses the env's state observation, which "
                    f"{source.source} does not expose (its core has no privileged_state); use an env whose core "
                    "has one (Racetrack, Highway, Reacher, Pusher), or objective atc"
                )
        sizes = [len(source.target_names) for source in data]
        return cls(encoder, [torch.zeros(u) for u in sizes], [torch.ones(u) for u in sizes])

    @torch.no_grad()
    def prepare(self, data: Sequence[FrameData]) -> None:
        """Standardise each head's targets by their mean and std over the collected frames."""
        for i, source in enumerate(data):
            flat = source.targets.reshape(-1, source.targets.shape[-1])
            mean, scale = self._standardisation(torch.from_numpy(flat.mean(0)), torch.from_numpy(flat.std(0)))
            getattr(self, f"mean{i}").copy_(mean)
            getattr(self, f"scale{i}").copy_(scale)

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

    def sample(
        self,
        data: Sequence[FrameData],
        batch_size: int,
        rng: np.random.Generator,
        frame_stack: int,
        device: torch.device | str = "cpu",
    ) -> FrameBatch:
        picks, counts = self.sample_indices(data, batch_size, rng)
        anchors = np.concatenate([d.stacked(t, n, frame_stack) for d, (t, n, _) in zip(data, picks)])
        targets = [torch.from_numpy(d.targets[t, n]).to(device) for d, (t, n, _) in zip(data, picks)]
        return FrameBatch(
            {"anchors": torch.from_numpy(anchors).to(device)}, {"targets": targets, "counts": counts}
        )

    def loss(self, batch: FrameBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, fit = self(batch.frames["anchors"], batch.extras["targets"], batch.extras["counts"])
        return loss, {"fit": fit}

    def metadata(self, data: Sequence[FrameData]) -> dict[str, Any]:
        return {"targets": [d.target_names for d in data]}  # per data source, in order
