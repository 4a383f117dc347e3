"""Tuned settings per algorithm and env id, shipped inside the package like RL Zoo's hyperparams files.

``rlsuite/presets/<algo>.yaml`` maps env ids to a partial config: the ``env`` (``num_envs``, ``kwargs``),
``agent`` (hyper-parameters, without ``algo``) and ``train`` keys tuned for that pair. ``rlsuite train
--algo ALGO --env ENV_ID`` (:func:`rlsuite.config.load_config` with ``algo=``/``env=``) starts from the
algorithm's defaults and applies the preset of the pair when one ships; ``rlsuite presets`` lists them.
Each preset equals one of the shipped configs in ``experiments/configs/`` (``tests/test_presets.py``).
"""

from __future__ import annotations

import importlib.resources
from typing import Any

__all__ = ["PRESET_SECTIONS", "find_preset", "preset_file", "presets"]

PRESET_SECTIONS = ("env", "agent", "train")
"""The sections a preset may set; ``env.id`` and ``agent.algo`` are its keys, never its values."""


def preset_file(algo: str) -> str:
    """The preset file of ``algo`` as a path inside the package, for messages."""
    return f"rlsuite/presets/{algo}.yaml"


def presets() -> dict[tuple[str, str], dict[str, Any]]:
    """Every shipped preset: ``(algo, env id)`` → its sections, sorted by algo, then env id."""
    import yaml

    from rlsuite.config import ConfigError

    found = {}
    for resource in sorted(importlib.resources.files(__name__).iterdir(), key=lambda r: r.name):
        if not resource.name.endswith(".yaml"):
            continue
        algo = resource.name.removesuffix(".yaml")
        table = yaml.safe_load(resource.read_text(encoding="utf-8")) or {}
        if not isinstance(table, dict):
            raise ConfigError(f"{preset_file(algo)}: expected a mapping of env ids to presets")
        for env_id, sections in sorted(table.items()):
            unknown = set(sections or {}) - set(PRESET_SECTIONS)
            if not isinstance(sections, dict) or unknown:
                raise ConfigError(
                    f"{preset_file(algo)}: {env_id}: a preset holds the sections "
                    f"{', '.join(PRESET_SECTIONS)}; got {sorted(unknown) or sections!r}"
                )
            found[(algo, env_id)] = sections
    return found


def find_preset(algo: str, env_id: str) -> dict[str, Any] | None:
    """The preset shipped for ``algo`` on ``env_id``, or ``None``."""
    return presets().get((algo, env_id))
