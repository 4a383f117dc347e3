"""The header every generated RESULTS.md starts with: commit, date, machine and the exact command."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path


def machine() -> str:
    """Cores, CPU, GPU (or none), Python and torch versions."""
    gpu = "none"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), GPU {gpu}, Python {platform.python_version()}, torch {torch_version}"


def commit() -> str:
    root = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=root)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


def stamp(command: list[str] | None = None) -> str:
    """Markdown lines: commit, date (UTC), machine, command."""
    command = command if command is not None else [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"- Commit: `{commit()}`; generated {now}\n"
        f"- Machine: {machine()}\n"
        f"- Command: `python {shlex.join(command)}`\n"
    )
