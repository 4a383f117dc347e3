"""Crash-safe checkpoint directories: written aside, checksummed, swapped in by rename.

Every agent saves a checkpoint as a directory of files (safetensors, JSON, SB3's zip, RLlib's tree).
:func:`write_checkpoint` makes that safe for any of them:

1. the agent writes into ``.NAME.tmp/`` next to the final directory;
2. ``MANIFEST.json`` (the SHA-256 and size of every file) is written last and fsynced;
3. the current ``NAME/`` is renamed to ``.NAME.prev/`` and ``.NAME.tmp/`` to ``NAME/``.

A process killed at any point leaves a complete ``NAME/``, a complete ``.NAME.prev/``, or a
complete ``.NAME.tmp/`` (its manifest is its last file). :func:`find_checkpoint` returns the first
of those three whose files match their manifest, and warns when it is not ``NAME/`` itself — so a
truncated or corrupted checkpoint is detected and the previous good one is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

__all__ = ["CheckpointError", "find_checkpoint", "sha256_file", "verify_checkpoint", "write_checkpoint"]

MANIFEST = "MANIFEST.json"


class CheckpointError(RuntimeError):
    """No intact checkpoint of that name exists."""


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_checkpoint(final: str | Path, save: Callable[[Path], None]) -> Path:
    """Run ``save(directory)`` into a temporary directory, checksum it, swap it in; returns ``final``."""
    final = Path(final)
    tmp = final.with_name(f".{final.name}.tmp")
    prev = final.with_name(f".{final.name}.prev")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save(tmp)
    files = _files(tmp)
    for path in files:
        _fsync(path)
    manifest = {str(p.relative_to(tmp)): {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    _fsync(tmp / MANIFEST)
    if final.exists():
        shutil.rmtree(prev, ignore_errors=True)
        os.replace(final, prev)
    os.replace(tmp, final)
    return final


def verify_checkpoint(directory: str | Path, require_manifest: bool = False) -> str | None:
    """``None`` when every file matches the manifest, else what is wrong. A checkpoint written before
    manifests existed (none in it) passes unless ``require_manifest``."""
    directory = Path(directory)
    if not directory.is_dir():
        return "missing"
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        if require_manifest:
            return f"no {MANIFEST} (unfinished)"
        return None if any(directory.iterdir()) else "empty"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"{MANIFEST} is unreadable"
    for name, entry in manifest.items():
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != entry["bytes"]:
            return f"{name} is truncated ({path.stat().st_size} of {entry['bytes']} bytes)"
        if sha256_file(path) != entry["sha256"]:
            return f"{name} does not match its checksum"
    return None


def find_checkpoint(checkpoints_dir: str | Path, name: str) -> Path:
    """The intact checkpoint ``name`` (or its previous / pending copy, with a warning)."""
    checkpoints_dir = Path(checkpoints_dir)
    final = checkpoints_dir / name
    problems = []
    for candidate in (final, checkpoints_dir / f".{name}.tmp", checkpoints_dir / f".{name}.prev"):
        problem = verify_checkpoint(candidate, require_manifest=candidate != final)
        if problem is None:
            if candidate != final:
                warnings.warn(
                    f"checkpoint {final}: {problems[0]}; using {candidate.name} instead",
                    RuntimeWarning,
                    stacklevel=2,
                )
            return candidate
        problems.append(problem if candidate == final else f"{candidate.name}: {problem}")
    raise CheckpointError(f"no intact checkpoint {name!r} in {checkpoints_dir}: " + "; ".join(problems))
