"""``rlsuite pretrain CONFIG``: collect frames, train an encoder, save it, probe it.

Objectives: any registered in :data:`rlsuite.encoders.objectives.OBJECTIVES` — ``atc`` and ``curl``
are self-supervised (contrastive), ``spr`` and ``spr_nce`` self-supervised and action-conditioned (they
read the actions the collection took), ``playback`` and ``atc_playback`` self-supervised on the motion
(how much faster a clip plays; the second with ATC's loss); ``state`` is supervised transfer
pretraining on the frames' state observations (:class:`~rlsuite.encoders.objectives.StateRegression`).
The loop below is the same for each: the objective samples its batch, scores it and names its scalars.

A pretraining config (validated like the training configs; see
``experiments/encoders/configs/pretrain_driving.yaml``)::

    data:                         # one or more frame sources (rlsuite.encoders.data.DataSource)
      - {id: rlsuite/Racetrack-v0, kwargs: {obs_type: pixels, track: random, …}, frames: 60000}
    encoder:   {type: compact, features_dim: 64, frame_stack: 2}
    objective: {name: atc, temporal_shift: 1, clip_length: 8}
    train:     {steps: 3000, batch_size: 256, learning_rate: 1e-3, shift_pad: 2, color_jitter: 0.1}
    probe:     {fit: [sources], test: [sources]}      # optional: rlsuite.encoders.probe
    output:    null               # also copy the encoder here (e.g. the shipped-encoder folder)
    log:       {run_dir: runs, name: null}

The run directory (``runs/pretrain-<name>-<time>/``) gets ``config.yaml``, TensorBoard events and
``metrics.csv`` (``pretrain/loss`` and the objective's scalars: ``pretrain/accuracy`` (contrastive) or
``pretrain/fit`` (``state``: 1 − the standardised squared error, an R² on the batch)), sample frames and
their augmented views as images, ``encoder.safetensors`` + ``encoder.json`` and, with a probe section,
``probe.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlsuite.config import ConfigError, apply_overrides, build, hp, read_yaml, to_dict
from rlsuite.encoders.data import DataSource, FrameData, collect
from rlsuite.encoders.objectives import OBJECTIVES, objective_class

OBJECTIVE_NAMES = tuple(sorted(OBJECTIVES))  # objective.name's allowed values: the registry's

__all__ = ["PretrainConfig", "load_pretrain_config", "pretrain"]


@dataclass
class EncoderSpec:
    type: str = hp("compact", "architecture: compact | nature_cnn | resnet18 | flare")
    features_dim: int = hp(64, "size of the feature vector", ge=1)
    frame_stack: int = hp(2, "frames stacked along channels per input (motion needs ≥ 2)", ge=1)


@dataclass
class ObjectiveConfig:
    name: Literal[OBJECTIVE_NAMES] = hp(
        "atc",
        "the objective (rlsuite.encoders.objectives.OBJECTIVES): "
        + "; ".join(f"{name}: {OBJECTIVES[name].summary}" for name in OBJECTIVE_NAMES),
    )
    temporal_shift: int = hp(1, "ATC: the positive is this many steps after the anchor", ge=1)
    clip_length: int = hp(
        8, "anchors come in clips of this many consecutive frames (ATC; 1: independent frames)", ge=1
    )
    momentum: float | None = hp(
        None, "EMA rate of the target encoder (default: atc 0.01, curl 0.05, spr, spr_nce 0.01)"
    )
    hidden_dim: int = hp(
        256,
        "ATC: width of the residual predictor; spr, spr_nce: of the transition model; playback: of its head",
        ge=1,
    )
    prediction_steps: int = hp(
        5,
        "spr, spr_nce: future latents predicted, 1..K steps ahead (SPR: K = 5); "
        "playback, atc_playback: the largest gap",
        ge=1,
    )
    projection_dim: int = hp(128, "spr, spr_nce: size of the projections the cosine loss compares", ge=1)
    motion_weight: float = hp(1.0, "atc_playback: weight of the playback-rate loss beside ATC's", ge=0)
    reverse: bool = hp(
        False,
        "playback, atc_playback: also play the fast stack backwards, half the time, so the head tells the "
        "direction of the motion too (the arrow of time): signed rates, such as an arm's joint rates",
    )
    inverse_weight: float = hp(
        0.0,
        "spr, spr_nce: weight of an inverse-dynamics loss (predict a_t from z_t and z_t+1; SGI, Schwarzer "
        "et al., 2021b) added to the prediction loss; 0: off",
        ge=0,
    )


@dataclass
class PretrainTrain:
    steps: int = hp(2_000, "gradient steps", ge=1)
    batch_size: int = hp(256, "anchors per step (the other positives are the negatives)", ge=2)
    learning_rate: float = hp(1e-3, "Adam step size", gt=0)
    shift_pad: int = hp(2, "random shift of both views by ±pad pixels (0: off)", ge=0)
    color_jitter: float = hp(0.1, "brightness/contrast jitter strength in [0, 1)", ge=0, lt=1)
    seed: int = hp(0, "torch and sampling seed", ge=0)
    device: Literal["auto", "cpu", "cuda"] = hp("auto", "torch device")
    torch_threads: int = hp(1, "torch CPU threads (0: torch's default)", ge=0)
    log_every: int = hp(50, "steps between logged scalars", ge=1)
    image_every: int = hp(1_000, "steps between logged sample / augmented frames", ge=1)


@dataclass
class ProbeConfig:
    fit: list[DataSource] = hp(default_factory=list, doc="frames the linear probe is fitted on")
    test: list[DataSource] = hp(default_factory=list, doc="held-out frames it is scored on (R² per variable)")
    ridge: float = hp(1e-3, "ridge penalty on standardised features", ge=0)


@dataclass
class PretrainLog:
    run_dir: str = hp("runs", "folder that holds run directories")
    name: str | None = hp(None, "run name (default: pretrain-<objective>)")


@dataclass
class PretrainConfig:
    data: list[DataSource] = hp(default_factory=list, doc="frame sources (at least one)")
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: PretrainTrain = field(default_factory=PretrainTrain)
    probe: ProbeConfig | None = None
    output: str | None = hp(
        None, "also save the encoder to this path stem (…/name → name.safetensors + .json)"
    )
    log: PretrainLog = field(default_factory=PretrainLog)

    def __post_init__(self) -> None:
        if not self.data:
            raise ConfigError(
                "data: give at least one frame source, e.g. [{id: rlsuite/Racetrack-v0, kwargs: {obs_type: pixels}}]"
            )


def load_pretrain_config(path: str | Path, overrides: list[str] | None = None) -> PretrainConfig:
    """Read and validate a pretraining config (``key.sub=value`` overrides as for ``rlsuite train``)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"pretrain config {str(path)!r}: no such file")
    return build(PretrainConfig, apply_overrides(read_yaml(path), list(overrides or [])), "")


def _check_shapes(datasets: list[FrameData]) -> tuple[int, int, int]:
    shapes = {d.frames.shape[2:] for d in datasets}
    if len(shapes) != 1:
        listed = ", ".join(f"{d.source}: {d.frames.shape[2:]}" for d in datasets)
        raise ConfigError(
            f"data: every source must give frames of one shape (set pixel_shape/grayscale); got {listed}"
        )
    return shapes.pop()


def pretrain(config: PretrainConfig, progress: bool = True) -> Path:
    """Run ``config``; return the run directory (which holds ``encoder.safetensors``)."""
    import torch

    from rlsuite.encoders.augment import Augment
    from rlsuite.encoders.checkpoint import save_encoder
    from rlsuite.encoders.networks import build_encoder
    from rlsuite.resources import resolve_device
    from rlsuite.runs import Run

    t = config.train
    spec = config.encoder
    # Everything that can fail on bad input happens before the run directory exists.
    kind = objective_class(config.objective.name)
    frame_probe = [collect(DataSource(**{**vars(s), "frames": s.num_envs})) for s in config.data]
    shape = _check_shapes(frame_probe)
    stacked = (shape[0], shape[1], shape[2] * spec.frame_stack)
    torch.manual_seed(t.seed)  # before the encoder's initial weights: the same seed, the same encoder
    try:
        encoder = build_encoder(spec.type, stacked, spec.features_dim)
    except ValueError as error:
        raise ConfigError(f"encoder: {error}") from None
    device = torch.device(resolve_device(t.device))
    if device.type == "cpu" and t.torch_threads > 0:
        torch.set_num_threads(t.torch_threads)
    torch.manual_seed(t.seed)  # again: the objective's heads start alike whatever the encoder drew
    objective = kind.from_config(encoder, config.objective, frame_probe).to(device)
    augment = Augment(t.shift_pad, t.color_jitter)
    generator = torch.Generator(device=device)
    generator.manual_seed(t.seed)
    rng = np.random.default_rng(t.seed)
    clip, shift = objective.clip_length, objective.temporal_shift
    for i, source in enumerate(config.data):
        per_env = -(-source.frames // source.num_envs)
        if per_env <= clip - 1 + shift:
            raise ConfigError(
                f"data[{i}]: {source.frames} frames over {source.num_envs} sub-envs is {per_env} per sub-env, "
                f"too few for clips of {clip} frames {shift} step(s) apart"
            )

    run = Run.create(
        config.log.run_dir, config.log.name or f"pretrain-{config.objective.name}", to_dict(config)
    )
    try:
        start = time.perf_counter()
        datasets = [collect(s) for s in config.data]
        collect_s = time.perf_counter() - start
        say = print if progress else (lambda *a, **k: None)
        say(
            f"collected {sum(d.num_frames for d in datasets):,} frames in {collect_s:.0f} s "
            f"from {len(datasets)} source(s)",
            flush=True,
        )
        objective.prepare(datasets)
        optimizer = torch.optim.Adam(
            [p for p in objective.parameters() if p.requires_grad], lr=t.learning_rate
        )
        history: dict[str, list[Any]] = {"loss": []}
        start = time.perf_counter()
        for step in range(1, t.steps + 1):
            batch = objective.sample(datasets, t.batch_size, rng, spec.frame_stack, device)
            views = batch.augmented(augment, generator)
            loss, scalars = objective.loss(views)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            objective.update_target()
            for name, value in {"loss": loss.detach(), **scalars}.items():
                history.setdefault(name, []).append(value)
            if step % t.log_every == 0 or step == t.steps:
                means = {name: float(torch.stack(values).mean()) for name, values in history.items()}
                history = {name: [] for name in history}
                run.log(step, {**{f"pretrain/{name}": value for name, value in means.items()},
                               "pretrain/steps_per_s": step / (time.perf_counter() - start)})  # fmt: skip
                shown = "".join(f"  {name} {value:.2f}" for name, value in means.items() if name != "loss")
                say(f"step {step:,}/{t.steps:,}  loss {means['loss']:.3f}{shown}", flush=True)
            if step % t.image_every == 0 or step == 1:
                _log_views(run, step, batch.anchors, views.anchors, shape[2])
        meta = {
            "frame_stack": spec.frame_stack,
            "frame_shape": list(shape),
            "normalisation": "uint8 / 255" + (" then ImageNet mean/std" if spec.type == "resnet18" else ""),
            "objective": {**to_dict(config.objective), "steps": t.steps, "batch_size": t.batch_size,
                          "shift_pad": t.shift_pad, "color_jitter": t.color_jitter},
            "data": [to_dict(s) for s in config.data],
            **{f"final_{name}": value for name, value in means.items()},
            **objective.metadata(datasets),
        }  # fmt: skip
        save_encoder(encoder, run.dir / "encoder", meta)
        if config.output:
            save_encoder(encoder, config.output, meta)
        if config.probe is not None:
            from rlsuite.encoders.probe import probe_encoder

            result = probe_encoder(encoder.cpu(), spec.frame_stack, config.probe, seed=t.seed)
            run.write_json("probe.json", result)
            for which in ("encoder", "random_init"):
                run.log(t.steps, {f"probe/{which}_r2_mean": result[which]["r2_mean"]})
            say(format_probe(result), flush=True)
    finally:
        run.close()
    return run.dir


def _log_views(run: Any, step: int, frames: Any, views: Any, channels: int) -> None:
    """Up to 8 samples: the newest frame of each stack above its augmented view, as one image."""
    newest = slice(frames.shape[-1] - channels, frames.shape[-1])
    top = frames[:8, :, :, newest].cpu().numpy()
    bottom = views[:8, :, :, newest].cpu().numpy()
    grid = np.concatenate([np.concatenate(list(top), axis=1), np.concatenate(list(bottom), axis=1)], axis=0)
    run.log_image("pretrain/frames_and_views", grid, step)


def format_probe(result: dict[str, Any]) -> str:
    """The probe's R² table as text."""
    names = list(result["encoder"]["r2"])
    lines = [
        f"linear probe on {result['test_frames']:,} held-out frames (fit on {result['fit_frames']:,}): R²"
    ]
    lines.append("  " + "  ".join(f"{n:>14}" for n in ["", *names, "mean"]))
    for which in ("encoder", "random_init"):
        r2 = result[which]["r2"]
        cells = [f"{r2[n]:14.3f}" for n in names] + [f"{result[which]['r2_mean']:14.3f}"]
        lines.append(f"  {which:>14}  " + "  ".join(cells))
    return "\n".join(lines)
