"""A card's ``solved`` section, judged by the env's definition of solved (:mod:`rlsuite.envs.solved`,
where each definition is written once with its anchor and shown on the env's docs page)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["solved"]


def solved(env_id: str, env_kwargs: Mapping[str, Any], evaluation: Mapping[str, Any]) -> dict[str, Any]:
    """``{"value": True | False | None, "definition": text | None, "why": the verdict per criterion}``
    (``None``: the env has no definition of solved, e.g. a Gymnasium env)."""
    from rlsuite.envs.solved import definition, is_solved

    try:
        text = definition(env_id).text
    except KeyError:
        return {"value": None, "definition": None, "why": None}
    value, why = is_solved(env_id, env_kwargs, evaluation)
    return {"value": value, "definition": text, "why": why}
