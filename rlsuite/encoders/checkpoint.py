"""Encoder checkpoints: weights in safetensors, metadata in JSON, nothing pickled.

An encoder checkpoint is a pair of files, ``<stem>.safetensors`` and ``<stem>.json``. The JSON holds
the architecture (:meth:`spec`: type, observation shape, features_dim), the frame stack and frame
shape it was trained on, the normalisation, the objective, the data it saw, the rlsuite version and
git commit, and the SHA-256 of the weights file, which :func:`load_encoder` checks. Both files are
written to temporary names and renamed into place, so a crash never leaves half a checkpoint.

Shipped encoders live in ``rlsuite/encoders/pretrained/`` and load by name, offline::

    encoder, meta = load_encoder("driving")          # or a path: "runs/pre-…/encoder"
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from rlsuite.checkpoints import sha256_file
from rlsuite.encoders.networks import build_encoder

__all__ = [
    "PRETRAINED_DIR",
    "encoder_metadata",
    "load_encoder",
    "resolve_checkpoint",
    "save_encoder",
    "shipped_encoders",
]

PRETRAINED_DIR = Path(__file__).parent / "pretrained"
FORMAT = 1


def shipped_encoders() -> list[str]:
    """Names of the encoders shipped inside the package."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.json"))


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """The ``.safetensors`` file of a shipped name or a path (with or without the suffix)."""
    text = str(name_or_path)
    if text in shipped_encoders():
        return PRETRAINED_DIR / f"{text}.safetensors"
    path = Path(text)
    if path.suffix in (".safetensors", ".json"):
        path = path.with_suffix("")
    weights = Path(f"{path}.safetensors")
    if not weights.is_file() or not Path(f"{path}.json").is_file():
        raise FileNotFoundError(
            f"encoder checkpoint {text!r}: no {weights} with its .json next to it; shipped encoders: "
            f"{', '.join(shipped_encoders()) or 'none'}"
        )
    return weights


def _git_commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def save_encoder(encoder: nn.Module, stem: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``stem.safetensors`` + ``stem.json`` atomically; returns the weights path."""
    import rlsuite

    stem = Path(stem)
    if stem.suffix in (".safetensors", ".json"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = Path(f"{stem}.safetensors")
    meta_path = Path(f"{stem}.json")
    tmp = weights.with_name(weights.name + ".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    save_file(state, str(tmp))
    os.chmod(tmp, 0o644)  # safetensors writes 0600; a checkpoint is meant to be shared (and packaged)
    meta = {
        "format": FORMAT,
        **encoder.spec(),
        "rlsuite_version": rlsuite.__version__,
        "commit": _git_commit(),
        **(metadata or {}),
        "sha256": sha256_file(tmp),
    }
    meta_tmp = meta_path.with_name(meta_path.name + ".tmp")
    meta_tmp.write_text(json.dumps(meta, indent=2))
    os.replace(tmp, weights)
    os.replace(meta_tmp, meta_path)
    return weights


def _meta_path(weights: Path) -> Path:
    return Path(str(weights)[: -len(".safetensors")] + ".json")


def encoder_metadata(name_or_path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint (a shipped name or a path), without loading its weights; a
    ``ValueError`` names a file that is not an encoder checkpoint's."""
    meta_path = _meta_path(resolve_checkpoint(name_or_path))
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{meta_path}: not valid JSON ({error})") from None
    if not isinstance(meta, dict) or "type" not in meta or "observation_shape" not in meta:
        raise ValueError(f"{meta_path}: not an rlsuite encoder checkpoint (no type / observation_shape)")
    return meta


def load_encoder(
    name_or_path: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild an encoder from its checkpoint (a shipped name or a path) and return it with its metadata.

    The weights' checksum is verified first; a mismatch, a missing key or an unknown architecture is
    a ``ValueError`` that names the file.
    """
    weights = resolve_checkpoint(name_or_path)
    meta = encoder_metadata(name_or_path)
    meta_path = _meta_path(weights)
    if meta.get("sha256") and sha256_file(weights) != meta["sha256"]:
        raise ValueError(
            f"{weights}: checksum mismatch with {meta_path.name}; the file is corrupt or was changed"
        )
    encoder = build_encoder(meta["type"], meta["observation_shape"], meta["features_dim"])
    try:
        state = load_file(str(weights))
    except Exception as error:  # safetensors' own errors on a malformed file
        raise ValueError(f"{weights}: not a readable safetensors file ({error})") from None
    try:
        encoder.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(f"{weights}: weights do not match a {meta['type']} encoder: {error}") from None
    return encoder.to(device), meta
