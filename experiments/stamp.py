"""The header every generated RESULTS.md starts with: commit, date, machine and the exact command.

A study whose report is regenerated from recorded data (``--report-only``) passes the record's
``measured`` entry (written by :func:`measured_here` when the data was measured): the header then
says at which commit, on which date and machine, and by which command the data was measured, apart
from the commit and command that regenerated the report.
"""

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


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def measured_here(command: str | list[str] | None = None) -> dict[str, str]:
    """The ``measured`` entry of a raw record written now: commit, date, machine, command."""
    command = command if command is not None else [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]
    if not isinstance(command, str):
        command = f"python {shlex.join(command)}"
    return {"commit": commit(), "date": _now(), "machine": machine(), "command": command}


def stamp(
    command: list[str] | None = None, measured: dict[str, str] | list[dict[str, str]] | None = None
) -> str:
    """Markdown lines: commit, date (UTC), machine, command. With ``measured`` (a record's entry, see
    :func:`measured_here`, or a list of them for a study of several records, each with a ``label``),
    first one line per record saying when, where and how its data was measured; the commit, date and
    machine that follow are then the report's (regenerated from that data)."""
    command = command if command is not None else [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]
    records = [measured] if isinstance(measured, dict) else list(measured or [])
    if not records:
        return (
            f"- Commit: `{commit()}`; generated {_now()}\n"
            f"- Machine: {machine()}\n"
            f"- Command: `python {shlex.join(command)}`\n"
        )
    lines = []
    for record in records:
        label = f" ({record['label']})" if record.get("label") else ""
        where = f", on {record['machine']}" if record.get("machine") else ""
        how = f", by `{record['command']}`" if record.get("command") else ""
        note = f"; {record['note']}" if record.get("note") else ""
        lines.append(
            f"- Data{label}: measured at commit `{record['commit']}`, {record['date']}{where}{how}{note}\n"
        )
    return "".join(lines) + (
        f"- Report: regenerated from that data at commit `{commit()}`, {_now()}, on {machine()}\n"
        f"- Command: `python {shlex.join(command)}`\n"
    )
