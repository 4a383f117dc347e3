"""Agents behind one small protocol (see :mod:`rlsuite.agents.base`).

``ALGOS`` maps every ``agent.algo`` name to the class that implements it, as an import path, so
that choosing a tabular agent never imports torch. Each class carries its hyper-parameter schema as
``Params`` (a dataclass validated by :mod:`rlsuite.config`).
"""

from __future__ import annotations

import importlib
from typing import Any

ALGOS: dict[str, str] = {
    # Tabular family (numpy only): one table implementation, four update rules.
    "q_learning": "rlsuite.agents.tabular:QLearningAgent",
    "sarsa": "rlsuite.agents.tabular:SarsaAgent",
    "expected_sarsa": "rlsuite.agents.tabular:ExpectedSarsaAgent",
    "double_q_learning": "rlsuite.agents.tabular:DoubleQLearningAgent",
    "tabular": "rlsuite.agents.tabular:TabularAgent",
    # Deep agents (torch).
    "dqn": "rlsuite.agents.dqn:DQNAgent",
    "random": "rlsuite.agents.base:RandomAgent",
}


def get_algo(name: str) -> Any:
    """The agent class registered as ``name`` (raises ConfigError naming the allowed algos)."""
    from rlsuite.config import ConfigError

    if name not in ALGOS:
        raise ConfigError(f"agent.algo: unknown algorithm {name!r}; allowed: {', '.join(sorted(ALGOS))}")
    module_name, _, class_name = ALGOS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("rlsuite"):
            raise ConfigError(f"agent.algo: {name!r} is not available in this version of rlsuite") from None
        raise ConfigError(
            f"agent.algo: {name!r} needs the package {error.name!r}; install it with "
            "pip install 'rlsuite[agents]' (or [sb3], [ray], [all])"
        ) from None
    return getattr(module, class_name)


__all__ = ["ALGOS", "get_algo"]
