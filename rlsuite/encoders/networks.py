"""Pixel encoders: channel-last ``uint8`` frames in, a feature vector out.

The contract every encoder here keeps (and :func:`build_encoder` relies on)::

    encoder = CompactCNN((64, 64, 2), features_dim=64)   # (H, W, C): frame stacks along channels
    features = encoder(frames)   # frames: uint8 (B, H, W, C) as the envs emit them -> float (B, 64)
    encoder.observation_shape    # (64, 64, 2): the only input shape it takes
    encoder.features_dim         # 64
    encoder.spec()               # {"type": "compact", "observation_shape": [...], ...}: rebuilds it

Each encoder converts the layout and scales pixels to [0, 1] itself, so replay buffers and
acting code never convert anything.

- :class:`CompactCNN` — sized for a CPU: three strided convs (16×8×8/4, 32×4×4/2, 32×3×3/1), a
  linear layer and LayerNorm (the normalised output of SAC-AE/CURL/DrQ's encoders); half the Nature
  CNN's filters, so a fraction of its cost per frame.
- :class:`NatureCNN` — Mnih et al. (2015): 32×8×8/4, 64×4×4/2, 64×3×3/1, linear + ReLU.
- :class:`ResNet18Stem` — the first two stages of torchvision's ResNet-18 (conv1, bn1, layer1, layer2,
  no max-pool, so 64×64 frames keep an 8×8 map), global average pooling and a linear layer. Its
  parameter names are torchvision's, so ImageNet weights load from a local file the user points at
  (:meth:`ResNet18Stem.load_torchvision`); nothing is downloaded.
- :class:`FlareCNN` — Flare (Shang et al., NeurIPS 2021, "Reinforcement Learning with Latent Flow"):
  CompactCNN's convs applied to each stacked frame *alone* (one channel per frame: grayscale stacks),
  then the newest frame's conv latent and the differences of successive frames' latents (the "latent
  flow"), concatenated, through the linear layer and LayerNorm: motion reaches the features as a
  difference of latents instead of being left to the first conv layer to find.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["ENCODERS", "CompactCNN", "FlareCNN", "NatureCNN", "ResNet18Stem", "build_encoder"]


def _shape(observation_shape: Sequence[int], name: str, min_side: int) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in observation_shape)
    if len(shape) != 3:
        raise ValueError(f"{name} takes channel-last images (H, W, C); got observation shape {shape}")
    if min(shape[:2]) < min_side:
        raise ValueError(
            f"{name} needs images of at least {min_side}×{min_side} pixels, got {shape[0]}×{shape[1]}; "
            "use a larger pixel_shape on the env"
        )
    return shape  # type: ignore[return-value]


def _to_unit_nchw(frames: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1]."""
    return frames.permute(0, 3, 1, 2).float().div_(255.0)


class _Encoder(nn.Module):
    type_name = ""

    def __init__(self, observation_shape: Sequence[int], features_dim: int) -> None:
        super().__init__()
        self.observation_shape = tuple(int(s) for s in observation_shape)
        self.features_dim = int(features_dim)

    def spec(self) -> dict[str, Any]:
        """What :func:`build_encoder` needs to rebuild this architecture (saved in checkpoints)."""
        return {
            "type": self.type_name,
            "observation_shape": list(self.observation_shape),
            "features_dim": self.features_dim,
        }


def _nature_torso(shape: tuple[int, int, int], widths: tuple[int, int, int]) -> tuple[nn.Sequential, int]:
    """Conv 8×8/4, 4×4/2, 3×3/1 with ``widths`` filters and ReLUs, flattened; returns it and its output size."""
    height, width, channels = shape
    convs = nn.Sequential(
        nn.Conv2d(channels, widths[0], kernel_size=8, stride=4),
        nn.ReLU(),
        nn.Conv2d(widths[0], widths[1], kernel_size=4, stride=2),
        nn.ReLU(),
        nn.Conv2d(widths[1], widths[2], kernel_size=3, stride=1),
        nn.ReLU(),
        nn.Flatten(),
    )
    with torch.no_grad():
        flat = convs(torch.zeros(1, channels, height, width)).shape[1]
    return convs, flat


class CompactCNN(_Encoder):
    """A small conv encoder for CPUs: 16×8×8/4, 32×4×4/2, 32×3×3/1, linear, LayerNorm."""

    type_name = "compact"

    def __init__(self, observation_shape: Sequence[int], features_dim: int = 64) -> None:
        height, width, channels = _shape(observation_shape, "CompactCNN", 36)
        super().__init__((height, width, channels), features_dim)
        self.convs, flat = _nature_torso((height, width, channels), (16, 32, 32))
        self.linear = nn.Linear(flat, features_dim)
        self.norm = nn.LayerNorm(features_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.norm(self.linear(self.convs(_to_unit_nchw(frames))))


class FlareCNN(_Encoder):
    """Flare on CompactCNN's torso: each of the ``C`` channels is one grayscale frame (oldest first), encoded
    alone by the shared convs into ``h_1 … h_C``; ``[h_C, h_C − h_{C−1}, …, h_2 − h_1]`` goes through a
    linear layer and LayerNorm (Shang et al., 2021)."""

    type_name = "flare"

    def __init__(self, observation_shape: Sequence[int], features_dim: int = 64) -> None:
        height, width, channels = _shape(observation_shape, "FlareCNN", 36)
        super().__init__((height, width, channels), features_dim)
        self.convs, flat = _nature_torso((height, width, 1), (16, 32, 32))
        self.linear = nn.Linear(flat * channels, features_dim)
        self.norm = nn.LayerNorm(features_dim)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = _to_unit_nchw(frames)
        batch, channels = x.shape[:2]
        latents = self.convs(x.reshape(batch * channels, 1, *x.shape[2:])).view(batch, channels, -1)
        flow = latents[:, 1:] - latents[:, :-1]  # successive frames' latent differences
        fused = torch.cat([latents[:, -1], flow.flatten(1)], dim=1)
        return self.norm(self.linear(fused))


class NatureCNN(_Encoder):
    """The convolutional torso of Mnih et al. (2015, *Nature* 518), on channel-last uint8 images.

    Three conv layers (32×8×8/4, 64×4×4/2, 64×3×3/1) and a linear layer + ReLU to ``features_dim``.
    Images smaller than 36×36 do not fit the strides: use a larger ``pixel_shape`` on the env.
    """

    type_name = "nature_cnn"

    def __init__(self, observation_shape: Sequence[int], features_dim: int = 512) -> None:
        height, width, channels = _shape(observation_shape, "NatureCNN", 36)
        super().__init__((height, width, channels), features_dim)
        self.convs, flat = _nature_torso((height, width, channels), (32, 64, 64))
        self.linear = nn.Sequential(nn.Linear(flat, features_dim), nn.ReLU())

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.linear(self.convs(_to_unit_nchw(frames)))


class _BasicBlock(nn.Module):
    """torchvision's ResNet ``BasicBlock`` (same parameter names)."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


# ImageNet statistics of torchvision's pretrained weights (RGB).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ResNet18Stem(_Encoder):
    """ResNet-18's conv1 + bn1 + layer1 + layer2 (He et al., 2016), adapted to small frames.

    The max-pool is dropped (a 64×64 frame ends as a 128×8×8 map), the map is average-pooled and a
    linear layer + LayerNorm gives ``features_dim``. Frames are normalised with ImageNet statistics:
    RGB channels (stacks of RGB frames) by channel, grayscale ones with the mean of the three.
    """

    type_name = "resnet18"

    def __init__(self, observation_shape: Sequence[int], features_dim: int = 128) -> None:
        height, width, channels = _shape(observation_shape, "ResNet18Stem", 16)
        super().__init__((height, width, channels), features_dim)
        self.conv1 = nn.Conv2d(channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(_BasicBlock(64, 64, 1), _BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(_BasicBlock(64, 128, 2), _BasicBlock(128, 128, 1))
        self.linear = nn.Linear(128, features_dim)
        self.norm = nn.LayerNorm(features_dim)
        if channels % 3 == 0:
            mean, std = IMAGENET_MEAN * (channels // 3), IMAGENET_STD * (channels // 3)
        else:
            mean, std = (sum(IMAGENET_MEAN) / 3,) * channels, (sum(IMAGENET_STD) / 3,) * channels
        self.register_buffer("pixel_mean", torch.tensor(mean).view(1, channels, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(std).view(1, channels, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = (_to_unit_nchw(frames) - self.pixel_mean) / self.pixel_std
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.norm(self.linear(x.mean(dim=(2, 3))))

    def load_torchvision(self, path: str | Path) -> list[str]:
        """Load torchvision ResNet-18 weights from a local file (``.safetensors``, or a ``.pth``/``.pt``
        state dict read with ``weights_only=True``: nothing is unpickled, nothing downloaded).

        conv1 is adapted to this encoder's channels as timm's ``adapt_input_conv`` does: an RGB
        stack repeats the RGB kernel per frame, grayscale channels take its sum over RGB; both are
        scaled so that the summed response keeps its size. Returns the keys that were loaded (the
        stem's); ``fc`` and layers 3–4 are ignored.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ResNet-18 weights: no file {str(path)!r} (nothing is downloaded)")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as error:  # a pickle with code in it, or not a checkpoint at all
                raise ValueError(f"{path}: not a plain tensor state dict ({error})") from None
        if not isinstance(state, dict) or "conv1.weight" not in state:
            raise ValueError(f"{path}: not a torchvision ResNet state dict (no 'conv1.weight')")
        ours = self.state_dict()
        wanted = {k: v for k, v in state.items() if k in ours}
        channels = self.observation_shape[2]
        rgb = state["conv1.weight"]
        if tuple(rgb.shape) != (64, 3, 7, 7):
            raise ValueError(
                f"{path}: conv1.weight has shape {tuple(rgb.shape)}; ResNet-18's is (64, 3, 7, 7)"
            )
        if channels % 3 == 0:
            wanted["conv1.weight"] = rgb.repeat(1, channels // 3, 1, 1) / (channels // 3)
        else:
            wanted["conv1.weight"] = rgb.sum(dim=1, keepdim=True).repeat(1, channels, 1, 1) / channels
        missing = [k for k in ours if k not in wanted and not k.startswith(("linear.", "norm."))]
        if missing:
            raise ValueError(f"{path}: missing ResNet-18 stem weights {missing[:3]}…")
        self.load_state_dict(wanted, strict=False)
        return sorted(wanted)


ENCODERS: dict[str, type[_Encoder]] = {
    cls.type_name: cls for cls in (CompactCNN, NatureCNN, ResNet18Stem, FlareCNN)
}


def build_encoder(type: str, observation_shape: Sequence[int], features_dim: int) -> nn.Module:
    """The encoder ``type`` for ``observation_shape``; a ``ValueError`` names the allowed types."""
    if type not in ENCODERS:
        raise ValueError(f"encoder.type: got {type!r}; allowed: {', '.join(map(repr, ENCODERS))}")
    return ENCODERS[type](observation_shape, features_dim)
