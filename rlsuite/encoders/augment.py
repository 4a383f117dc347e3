"""Batched image augmentations on channel-last ``uint8`` tensors, on the tensor's device.

Each op draws independent parameters for every image of the batch (one op per sample, as DrQ and
CURL augment), takes an optional ``torch.Generator`` for reproducibility, and returns a ``uint8``
batch of the encoder's input layout, so it fits inside any agent's update and inside pretraining:

- :func:`random_shift` — DrQ's shift (Kostrikov et al., 2021): ±``pad`` pixels, border replicated;
  same size out as in.
- :func:`random_crop` — CURL's crop (Laskin et al., 2020): a ``size``×``size`` window at a random
  position; :func:`center_crop` is its evaluation-time counterpart.
- :func:`color_jitter` — brightness and contrast scaled by factors in ``[1 - s, 1 + s]``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Augment", "RandomShift", "center_crop", "color_jitter", "random_crop", "random_shift"]


def _check(images: torch.Tensor, name: str) -> None:
    if images.ndim != 4:
        raise ValueError(
            f"{name} takes a batch of channel-last images (B, H, W, C); got {tuple(images.shape)}"
        )


def _gather(images: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``out[i, r, c] = images[i, rows[i, r], cols[i, c]]`` for (B, h) rows and (B, w) cols."""
    batch = torch.arange(images.shape[0], device=images.device)[:, None, None]
    return images[batch, rows[:, :, None], cols[:, None, :]]


def random_shift(images: torch.Tensor, pad: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by its own integer offset in ``[-pad, pad]`` on both axes, edges replicated
    (DrQ's replicate-pad + random crop, done by clamped indexing)."""
    _check(images, "random_shift")
    if pad <= 0:
        return images
    n, height, width, _ = images.shape
    shifts = torch.randint(-pad, pad + 1, (2, n, 1), device=images.device, generator=generator)
    rows = (torch.arange(height, device=images.device) + shifts[0]).clamp_(0, height - 1)
    cols = (torch.arange(width, device=images.device) + shifts[1]).clamp_(0, width - 1)
    return _gather(images, rows, cols)


def random_crop(images: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A ``size``×``size`` window of each image at its own random position."""
    _check(images, "random_crop")
    n, height, width, _ = images.shape
    if not 0 < size <= min(height, width):
        raise ValueError(f"random_crop: size must be in [1, {min(height, width)}], got {size}")
    top = torch.randint(0, height - size + 1, (n, 1), device=images.device, generator=generator)
    left = torch.randint(0, width - size + 1, (n, 1), device=images.device, generator=generator)
    offsets = torch.arange(size, device=images.device)
    return _gather(images, top + offsets, left + offsets)


def center_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """The central ``size``×``size`` window of every image."""
    _check(images, "center_crop")
    height, width = images.shape[1:3]
    if not 0 < size <= min(height, width):
        raise ValueError(f"center_crop: size must be in [1, {min(height, width)}], got {size}")
    top, left = (height - size) // 2, (width - size) // 2
    return images[:, top : top + size, left : left + size]


def color_jitter(
    images: torch.Tensor, strength: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per image: brightness × ``b`` and contrast (about the image mean) × ``c``, with ``b`` and ``c``
    uniform in ``[1 - strength, 1 + strength]``; rounded and clipped back to uint8."""
    _check(images, "color_jitter")
    if strength <= 0:
        return images
    if strength >= 1:
        raise ValueError(f"color_jitter: strength must be in [0, 1), got {strength}")
    n = images.shape[0]
    factors = 1.0 + strength * (
        2.0 * torch.rand(2, n, 1, 1, 1, device=images.device, generator=generator) - 1.0
    )
    x = images.float()
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * factors[1] + mean * factors[0]
    return x.round_().clamp_(0, 255).to(torch.uint8)


class Augment(nn.Module):
    """Random shift then colour jitter, the pipeline pretraining and the agents use."""

    def __init__(self, shift_pad: int = 0, jitter: float = 0.0) -> None:
        super().__init__()
        self.shift_pad, self.jitter = int(shift_pad), float(jitter)

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return color_jitter(random_shift(images, self.shift_pad, generator), self.jitter, generator)


class RandomShift(nn.Module):
    """:func:`random_shift` as a module (DrQ's augmentation inside the DQN update)."""

    def __init__(self, pad: int = 4) -> None:
        super().__init__()
        self.pad = pad

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return random_shift(images, self.pad, generator)
