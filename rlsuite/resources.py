"""Machine resources every torch-using layer shares: which device to train on, and turning
"out of memory" into a clear config error. Below encoders and agents (both use it); imports torch
only inside :func:`resolve_device`."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from rlsuite.config import ConfigError

__all__ = ["is_allocation_failure", "memory_checked", "resolve_device"]


def is_allocation_failure(error: BaseException) -> bool:
    """``error`` says that memory ran out: numpy's ``MemoryError``, torch's CPU allocator failure or
    CUDA's out-of-memory error, or a size numpy cannot even represent."""
    if isinstance(error, MemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError | ValueError) and any(
        phrase in text
        for phrase in ("can't allocate memory", "out of memory", "Maximum allowed dimension exceeded")
    )


@contextlib.contextmanager
def memory_checked(sizes: str) -> Iterator[None]:
    """Turn running out of memory in the block into a :class:`ConfigError` that names the
    settings (``sizes``) to reduce, instead of an allocator traceback from deep inside numpy/torch."""
    try:
        yield
    except (MemoryError, RuntimeError, ValueError) as error:
        if not is_allocation_failure(error):
            raise
        text = str(error).strip()
        asked = re.search(r"tried to allocate (\d+) bytes", text)  # torch's allocator
        if asked:
            first_line = f"it asked for {int(asked.group(1)) / 2**30:.1f} GiB"
        else:
            first_line = text.splitlines()[0] if text else type(error).__name__
        raise ConfigError(
            f"{sizes}: too large for this machine's memory ({first_line}); reduce them"
        ) from None


def resolve_device(name: str) -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is present, else ``"cpu"``; ``"cuda"`` without one is an error."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "train.device: 'cuda' was asked for but no CUDA GPU is available; use 'auto' or 'cpu'"
        )
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"train.device: got {name!r}; allowed: auto, cpu, cuda")
    return name
