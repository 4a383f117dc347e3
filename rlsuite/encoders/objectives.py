"""Objectives that train pixel encoders: one protocol (:class:`Objective`), one registry
(:data:`OBJECTIVES`), used offline by ``rlsuite pretrain`` and online as an agent's auxiliary loss.

- :class:`CURL` (Laskin et al., 2020): InfoNCE where anchor and positive are two augmentations of
  the *same* observation.
- :class:`ATC` (Stooke et al., 2021, "Decoupling Representation Learning from RL"): InfoNCE where
  the positive is the observation ``k`` steps *later* in the same episode, and the anchor passes a
  residual MLP predictor first. ATC's encoders, pretrained then frozen, matched end-to-end RL in
  the paper.
- :class:`SPR` (``spr``; Schwarzer et al., 2021): from a frame stack's latent, an action-conditioned
  transition model predicts the EMA target's latents of the next K frame stacks (cosine loss on
  projections); optionally with SGI's inverse-dynamics loss. Motion-aware: where the scene will be
  depends on how fast it moves.
- :class:`SPRContrastive` (``spr_nce``): the same prediction scored by InfoNCE, the anchor's own other
  future steps among the negatives, so that telling the steps apart takes the speed.
- :class:`PlaybackRate` (``playback``; SpeedNet's pretext task, Benaim et al., 2020, made relative):
  a moment stacked at the agents' rate and ``g`` times faster; a head tells ``g`` from both stacks'
  features, which must then hold how far the scene moves per step. :class:`ATCPlayback`
  (``atc_playback``): ATC's loss plus the playback loss on one encoder.
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
    "ATCPlayback",
    "CURL",
    "OBJECTIVES",
    "PlaybackRate",
    "SPR",
    "SPRContrastive",
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


# ============================================================================================
# Motion-aware objectives: SPR and Flare
# ============================================================================================
def _cosine_error(predicted: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean of 1 − cos, mean cos)`` row by row (SPR's loss: the negative cosine, shifted to ≥ 0)."""
    cosine = F.cosine_similarity(predicted, target, dim=-1)
    return (1.0 - cosine).mean(), cosine.mean().detach()


@register
class SPR(Objective):
    """SPR (Schwarzer et al., ICLR 2021, "Data-Efficient RL with Self-Predictive Representations"): from
    the latent of the anchor frames ``z_t``, a learned action-conditioned transition model rolls the
    latent ``K`` steps ahead, ``ẑ_{k+1} = LN(ẑ_k + T([ẑ_k, e_s(a_{t+k})]))``; each ``ẑ_k`` goes through the
    projection ``g`` and the predictor ``q`` and must match, by cosine, the projection of the frames
    ``k`` steps later by an EMA copy of the encoder and projection (no gradient; no negatives). To
    predict where the car or arm will be, the latent has to hold how fast it moves, which a contrast
    against other episodes' frames does not ask for.

    The actions are the behaviour policy's, as collected (:attr:`FrameData.actions`); each frame source
    has its own action embedding ``e_s`` (their action spaces differ). ``inverse_weight > 0`` adds
    SGI's inverse-dynamics loss (Schwarzer et al., NeurIPS 2021): a per-source head reads ``a_t`` from
    ``[z_t, z_{t+1}]`` (squared error on the one-hot or box values). Batches: ``anchors`` and
    ``future1`` … ``futureK``, extras ``actions`` (per source, ``(count, K, A)``) and ``counts``;
    scalars: ``cosine`` (the mean over the K steps) and, when on, ``inverse``. Pretraining only.
    """

    name = "spr"
    summary = (
        "predicts its own latents 1..K steps ahead through an action-conditioned transition model, "
        "against an EMA target (Schwarzer et al., 2021)"
    )

    def __init__(
        self,
        encoder: nn.Module,
        action_dims: Sequence[int],
        prediction_steps: int = 5,
        hidden_dim: int = 256,
        projection_dim: int = 128,
        momentum: float = 0.01,
        inverse_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0 < momentum <= 1:
            raise ValueError(f"objective.momentum: must be in (0, 1], got {momentum}")
        self.encoder = encoder
        self.prediction_steps = prediction_steps
        self.temporal_shift = prediction_steps  # the anchor and its K successors lie in one episode
        self.momentum = momentum
        self.inverse_weight = inverse_weight
        self.action_dims = [int(a) for a in action_dims]
        dim = self.latent_dim
        self.action_embeddings = nn.ModuleList(nn.Linear(max(a, 1), dim) for a in self.action_dims)
        self.transition = nn.Sequential(
            nn.Linear(2 * dim, hidden_dim), nn.LayerNorm(hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, dim)
        )
        self.projection = nn.Sequential(
            nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, projection_dim)
        )
        self.predictor = nn.Linear(projection_dim, projection_dim)
        self.inverse_heads = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, max(a, 1)))
            for a in (self.action_dims if inverse_weight > 0 else [])
        )
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.target_projection = copy.deepcopy(self.projection).requires_grad_(False)

    # The latent the transition model rolls forward: the encoder's features (Flare: one frame's part).
    @property
    def latent_dim(self) -> int:
        return self.encoder.features_dim

    def latent(self, encoder: nn.Module, frames: torch.Tensor) -> torch.Tensor:
        return encoder(frames)

    @classmethod
    def from_config(cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]) -> SPR:
        for i, source in enumerate(data):
            if source.actions is None:
                raise ConfigError(
                    f"data[{i}]: objective {cls.name!r} reads the actions taken, which {source.source}'s "
                    "frames do not carry; collect them with rlsuite.encoders.data.collect"
                )
        momentum = {} if config.momentum is None else {"momentum": config.momentum}
        return cls(
            encoder,
            [source.actions.shape[-1] for source in data],
            prediction_steps=config.prediction_steps,
            hidden_dim=config.hidden_dim,
            projection_dim=config.projection_dim,
            inverse_weight=config.inverse_weight,
            **momentum,
        )

    @torch.no_grad()
    def update_target(self) -> None:
        """``target <- (1 - m) target + m online`` for the encoder and the projection (SPR: m = 0.01)."""
        for online, target in (
            (self.encoder, self.target_encoder),
            (self.projection, self.target_projection),
        ):
            for t, o in zip(
                [*target.parameters(), *target.buffers()], [*online.parameters(), *online.buffers()]
            ):
                if t.dtype.is_floating_point:
                    t.lerp_(o, self.momentum)
                else:
                    t.copy_(o)

    def sample(
        self,
        data: Sequence[FrameData],
        batch_size: int,
        rng: np.random.Generator,
        frame_stack: int,
        device: torch.device | str = "cpu",
    ) -> FrameBatch:
        picks, counts = self.sample_indices(data, batch_size, rng)
        frames = {
            ("anchors" if k == 0 else f"future{k}"): torch.from_numpy(
                np.concatenate([d.stacked(t + k, n, frame_stack) for d, (t, n, _) in zip(data, picks)])
            ).to(device)
            for k in range(self.prediction_steps + 1)
        }
        steps = np.arange(self.prediction_steps)
        actions = [
            torch.from_numpy(d.actions[t[:, None] + steps, n[:, None]]).to(device)
            for d, (t, n, _) in zip(data, picks)
        ]
        return FrameBatch(frames, {"actions": actions, "counts": counts, "frame_stack": frame_stack})

    def _embedded_actions(self, actions: list[torch.Tensor], counts: list[int]) -> torch.Tensor:
        """``(B, K, latent)``: each source's actions through its own embedding, sources in order."""
        parts = []
        for embedding, action, count in zip(self.action_embeddings, actions, counts):
            if action.shape[-1] == 0:
                action = action.new_zeros((count, self.prediction_steps, 1))
            parts.append(embedding(action))
        return torch.cat(parts)

    def loss(self, batch: FrameBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        frames, counts, actions = batch.frames, batch.extras["counts"], batch.extras["actions"]
        K = self.prediction_steps
        anchor = self.latent(self.encoder, frames["anchors"])
        embedded = self._embedded_actions(actions, counts)
        latent, predicted = anchor, []
        for k in range(K):
            step = self.transition(torch.cat([latent, embedded[:, k]], dim=1))
            latent = F.layer_norm(latent + step, latent.shape[-1:])
            predicted.append(latent)
        with torch.no_grad():
            future = torch.cat([frames[f"future{k}"] for k in range(1, K + 1)])  # k-major
            targets = self.latent(self.target_encoder, future).view(K, len(anchor), -1)
        loss, scalars = self.score(torch.stack(predicted), targets, batch.extras["frame_stack"])
        if self.inverse_heads:
            inverse = self._inverse_loss(
                anchor, self.latent(self.encoder, frames["future1"]), actions, counts
            )
            loss = loss + self.inverse_weight * inverse
            scalars["inverse"] = inverse.detach()
        return loss, scalars

    def score(
        self, predicted: torch.Tensor, targets: torch.Tensor, frame_stack: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The prediction loss of the rolled latents ``(K, B, latent)`` against the target encoder's latents
        of the frames 1..K steps later: SPR's, the cosine of the online projection + predictor against the
        target projection, every step."""
        with torch.no_grad():
            wanted = self.target_projection(targets)
        loss, cosine = _cosine_error(self.predictor(self.projection(predicted)), wanted)
        return loss, {"cosine": cosine}

    def _inverse_loss(
        self, latent: torch.Tensor, next_latent: torch.Tensor, actions: list[torch.Tensor], counts: list[int]
    ) -> torch.Tensor:
        """Mean squared error of each source's head reading ``a_t`` from ``[z_t, z_t+1]``."""
        pairs = torch.cat([latent, next_latent], dim=1)
        errors, values = pairs.new_zeros(()), 0
        for head, chunk, action in zip(self.inverse_heads, pairs.split(counts), actions):
            if len(chunk) == 0 or action.shape[-1] == 0:
                continue
            errors = errors + ((head(chunk) - action[:, 0]) ** 2).sum()
            values += action[:, 0].numel()
        return errors / max(values, 1)

    def metadata(self, data: Sequence[FrameData]) -> dict[str, Any]:
        return {"action_dims": self.action_dims}  # per data source, in order


@register
class SPRContrastive(SPR):
    """SPR's action-conditioned K-step prediction scored by InfoNCE instead of the cosine: each rolled
    latent ``ẑ_k`` must pick its own target latent among every target of the batch, the anchor's *other
    future steps* among them. Telling the frames 2, 3 and 4 steps ahead of one anchor apart takes how far
    the scene moves per step, the speed, which contrasting against other episodes' frames (ATC) never
    asks for; and the negatives keep the latents from collapsing, which the cosine alone allows. Steps
    whose target stack shares a frame with the anchor's (``k < frame_stack``) are rolled through but not
    scored: matching that shared frame would tell the step without the motion. Similarity: ATC's learned
    bilinear form ``ẑ W z̄`` (as :func:`info_nce`). Scalars: ``accuracy`` (the share of scored predictions
    whose own target scores highest) and ``step_accuracy`` (the share that pick the right step among
    their own anchor's futures)."""

    name = "spr_nce"
    summary = (
        "SPR's action-conditioned prediction scored by InfoNCE, the anchor's other future steps among the "
        "negatives (motion-aware)"
    )

    def __init__(self, encoder: nn.Module, action_dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(encoder, action_dims, **kwargs)
        dim = self.latent_dim
        self.weight = nn.Parameter(torch.eye(dim) + 0.01 * torch.randn(dim, dim))

    @classmethod
    def from_config(cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]) -> SPR:
        objective = super().from_config(encoder, config, data)
        if objective.prediction_steps < 2:
            raise ConfigError(
                f"objective.prediction_steps: {cls.name} contrasts future steps, needs at least 2, "
                f"got {objective.prediction_steps}"
            )
        return objective

    def score(
        self, predicted: torch.Tensor, targets: torch.Tensor, frame_stack: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        first = min(frame_stack - 1, len(predicted) - 2)  # at least two scored steps
        K, B = predicted[first:].shape[:2]
        logits = predicted[first:].reshape(K * B, -1) @ self.weight @ targets[first:].reshape(K * B, -1).T
        logits = logits - logits.max(dim=1, keepdim=True).values.detach()
        labels = torch.arange(K * B, device=logits.device)
        loss = F.cross_entropy(logits, labels)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == labels).float().mean()
            own = logits.view(K, B, K, B).diagonal(
                dim1=1, dim2=3
            )  # (K, K, B): step k's prediction vs step k'
            step_accuracy = (own.argmax(dim=1) == torch.arange(K, device=own.device)[:, None]).float().mean()
        return loss, {"accuracy": accuracy, "step_accuracy": step_accuracy}


@register
class PlaybackRate(Objective):
    """Playback rate (SpeedNet's pretext task, Benaim et al., CVPR 2020, made relative): the same moment
    ``t`` is stacked twice, once at the agents' rate (frames ``t − 1, t``) and once ``g`` times faster (frames
    ``t − g, t``, ``g`` drawn from 1 … ``max_gap``); a head on ``[z_1, z_g, z_1 − z_g]`` must tell ``g``. The
    scene moves ``g`` times further between the fast stack's frames than between the normal one's, so the
    features must hold how far it moves per step: the speed (and the turn rate), which pose-only features
    lack. Telling the ratio rather than the rate alone keeps the task well posed at every speed. The scene's
    speed has no sign, though: an arm's joint can turn either way. With ``reverse`` the fast stack also
    plays backwards half the time (frames ``t, t − g``; the arrow of time, Wei et al., CVPR 2018) and the
    head tells which of ``2 × max_gap`` cases it sees, so the features must hold the direction of the
    motion too. Batches: ``anchors`` (the normal stacks) and ``fast`` (the gapped ones), the extra ``gaps``
    (the head's class: ``g − 1``, plus ``max_gap`` when backwards); scalar: ``accuracy``. Pretraining
    only."""

    name = "playback"
    summary = (
        "tells how many steps apart a stack's frames are, against the same moment at the agents' rate "
        "(SpeedNet-style, Benaim et al., 2020)"
    )

    def __init__(
        self, encoder: nn.Module, max_gap: int = 4, hidden_dim: int = 256, reverse: bool = False
    ) -> None:
        super().__init__()
        if max_gap < 2:
            raise ValueError(f"objective.prediction_steps: playback's largest gap must be ≥ 2, got {max_gap}")
        self.encoder = encoder
        self.max_gap = max_gap
        self.reverse = reverse
        self.temporal_shift = max_gap  # the fast stack reaches max_gap steps back, in the same episode
        self.head = _playback_head(encoder.features_dim, hidden_dim, max_gap * (2 if reverse else 1))

    @classmethod
    def from_config(
        cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]
    ) -> PlaybackRate:
        return cls(
            encoder, max_gap=config.prediction_steps, hidden_dim=config.hidden_dim, reverse=config.reverse
        )

    def sample(
        self,
        data: Sequence[FrameData],
        batch_size: int,
        rng: np.random.Generator,
        frame_stack: int,
        device: torch.device | str = "cpu",
    ) -> FrameBatch:
        picks, _ = self.sample_indices(data, batch_size, rng)
        return _playback_batch(data, picks, rng, self.max_gap, self.reverse, frame_stack, device)

    def loss(self, batch: FrameBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self.encoder(torch.cat([batch.frames["anchors"], batch.frames["fast"]]))
        normal, fast = features.chunk(2)
        loss, accuracy = _playback_loss(self.head, normal, fast, batch.extras["gaps"])
        return loss, {"accuracy": accuracy}


def _playback_head(dim: int, hidden_dim: int, max_gap: int) -> nn.Module:
    """The playback classifier: (normal, fast, normal − fast) features → which of ``max_gap`` gaps."""
    return nn.Sequential(nn.Linear(3 * dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, max_gap))


def _playback_loss(
    head: nn.Module, normal: torch.Tensor, fast: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the gap ``head`` tells from a stack's normal and fast features, and its accuracy."""
    logits = head(torch.cat([normal, fast, normal - fast], dim=1))
    accuracy = (logits.argmax(dim=1) == labels).float().mean().detach()
    return F.cross_entropy(logits, labels), accuracy


def _playback_batch(
    data: Sequence[FrameData],
    picks: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    rng: np.random.Generator,
    max_gap: int,
    reverse: bool,
    frame_stack: int,
    device: torch.device | str,
    positive_shift: int | None = None,
) -> FrameBatch:
    """The playback objectives' batch from ``sample_indices``' picks (anchor ``t``; the moment stacked is
    ``t + max_gap``, so the fast stack reaches back into the same episode): ``anchors`` (that moment at the
    agents' rate), ``positives`` (``positive_shift`` steps later, for ATC's loss; only when given) and
    ``fast`` (``g`` times faster, backwards half the time with ``reverse``); the extra ``gaps``, the head's
    class (``g − 1``, plus ``max_gap`` when backwards). The gaps, then the directions (only with
    ``reverse``: without it the random stream is what it always was), are drawn after the picks."""
    size = sum(len(t) for t, _, _ in picks)
    gaps = rng.integers(1, max_gap + 1, size=size)
    backwards = rng.integers(0, 2, size=size).astype(bool) if reverse else np.zeros(size, bool)
    roles: dict[str, list[np.ndarray]] = {"anchors": [], **({} if positive_shift is None else {"positives": []}),
                                          "fast": []}  # fmt: skip
    start = 0
    for d, (t, n, _) in zip(data, picks):
        now, rows = t + max_gap, slice(start, start + len(t))
        start += len(t)
        roles["anchors"].append(d.stacked(now, n, frame_stack))
        if positive_shift is not None:
            roles["positives"].append(d.stacked(now + positive_shift, n, frame_stack))
        roles["fast"].append(_fast_stacks(d, now, n, gaps[rows], frame_stack, backwards[rows]))
    frames = {role: torch.from_numpy(np.concatenate(parts)).to(device) for role, parts in roles.items()}
    return FrameBatch(frames, {"gaps": torch.from_numpy(gaps - 1 + max_gap * backwards).to(device)})


def _fast_stacks(
    data: FrameData,
    now: np.ndarray,
    n: np.ndarray,
    gaps: np.ndarray,
    frame_stack: int,
    backwards: np.ndarray | None = None,
) -> np.ndarray:
    """Frames ``now − (k−1)·gap … now`` of sub-envs ``n`` stacked (the episode's first frame repeats before
    its start, as :meth:`FrameData.stacked` does); the rows of ``backwards`` in the opposite order (newest
    first: the same frames played backwards)."""
    first = data.first[now, n]
    parts = [data.frames[np.maximum(now - j * gaps, first), n] for j in range(frame_stack - 1, -1, -1)]
    stacked = np.concatenate(parts, axis=-1)
    if backwards is not None and backwards.any():
        stacked[backwards] = np.concatenate([part[backwards] for part in parts[::-1]], axis=-1)
    return stacked


@register
class ATCPlayback(ATC):
    """ATC and the playback rate on one encoder: ATC's temporal InfoNCE (the pose: which scene comes
    ``temporal_shift`` steps later) plus ``motion_weight`` × :class:`PlaybackRate`'s loss on the same anchors
    (the motion: how far the scene moves per step). Batches: ATC's ``anchors`` and ``positives`` and the
    anchors' ``fast`` stacks, the extra ``gaps``; scalars: ``accuracy`` (ATC's) and ``playback_accuracy``.
    Pretraining only."""

    name = "atc_playback"
    summary = "ATC's temporal contrast plus the playback-rate loss: the pose and the motion"

    def __init__(
        self,
        encoder: nn.Module,
        momentum: float = 0.01,
        hidden_dim: int = 256,
        temporal_shift: int = 1,
        clip_length: int = 1,
        max_gap: int = 4,
        motion_weight: float = 1.0,
        reverse: bool = False,
    ) -> None:
        super().__init__(encoder, momentum, hidden_dim, temporal_shift, clip_length)
        self.max_gap = max_gap
        self.reverse = reverse
        self.positive_shift = temporal_shift
        self.temporal_shift = temporal_shift + max_gap  # the fast stack's oldest frame to the positive
        self.motion_weight = motion_weight
        self.playback_head = _playback_head(encoder.features_dim, hidden_dim, max_gap * (2 if reverse else 1))

    @classmethod
    def from_config(
        cls, encoder: nn.Module, config: ObjectiveConfig, data: Sequence[FrameData]
    ) -> ATCPlayback:
        momentum = {} if config.momentum is None else {"momentum": config.momentum}
        return cls(
            encoder,
            hidden_dim=config.hidden_dim,
            temporal_shift=config.temporal_shift,
            clip_length=config.clip_length,
            max_gap=config.prediction_steps,
            motion_weight=config.motion_weight,
            reverse=config.reverse,
            **momentum,
        )

    from_transitions = Objective.from_transitions  # pretraining only: an agent's batch has no fast stacks

    def sample(
        self,
        data: Sequence[FrameData],
        batch_size: int,
        rng: np.random.Generator,
        frame_stack: int,
        device: torch.device | str = "cpu",
    ) -> FrameBatch:
        picks, _ = self.sample_indices(data, batch_size, rng)
        return _playback_batch(
            data, picks, rng, self.max_gap, self.reverse, frame_stack, device, self.positive_shift
        )

    def loss(self, batch: FrameBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        anchors, fast = batch.frames["anchors"], batch.frames["fast"]
        features = self.encoder(torch.cat([anchors, fast]))
        normal, quick = features.chunk(2)
        with torch.no_grad():
            positives = self.target_encoder(batch.frames["positives"])
        contrast, accuracy = info_nce(self.project(normal), positives, self.weight)
        motion, playback_accuracy = _playback_loss(self.playback_head, normal, quick, batch.extras["gaps"])
        return contrast + self.motion_weight * motion, {
            "accuracy": accuracy,
            "playback_accuracy": playback_accuracy,
        }
