"""Agents behind one small protocol (see :mod:`rlsuite.agents.base`).

Each agent family registers its algorithms with the config layer here, by import path, so that
choosing a tabular agent never imports torch (and configs never import an agent module). Each
class carries its hyper-parameter schema as ``Params`` (a dataclass validated by
:mod:`rlsuite.config`).
"""

from __future__ import annotations

from typing import Any

from rlsuite.config import ALGORITHMS, algorithm_class, register_algorithm

_FAMILIES: dict[str, str] = {
    # Tabular family (numpy only): one table implementation, four update rules.
    "q_learning": "rlsuite.agents.tabular:QLearningAgent",
    "sarsa": "rlsuite.agents.tabular:SarsaAgent",
    "expected_sarsa": "rlsuite.agents.tabular:ExpectedSarsaAgent",
    "double_q_learning": "rlsuite.agents.tabular:DoubleQLearningAgent",
    "tabular": "rlsuite.agents.tabular:TabularAgent",
    # Deep agents (torch).
    "dqn": "rlsuite.agents.dqn:DQNAgent",
    "pqn": "rlsuite.agents.pqn:PQNAgent",
    "random": "rlsuite.agents.base:RandomAgent",
    # Stable-Baselines3 baselines (pip install 'rlsuite[sb3]').
    "sb3.ppo": "rlsuite.agents.sb3:SB3PPO",
    "sb3.a2c": "rlsuite.agents.sb3:SB3A2C",
    "sb3.dqn": "rlsuite.agents.sb3:SB3DQN",
    "sb3.sac": "rlsuite.agents.sb3:SB3SAC",
    "sb3.td3": "rlsuite.agents.sb3:SB3TD3",
    # RLlib baselines on Ray, new API stack (pip install 'rlsuite[ray]').
    "rllib.ppo": "rlsuite.agents.rllib:RLlibPPO",
    "rllib.dqn": "rlsuite.agents.rllib:RLlibDQN",
    "rllib.sac": "rlsuite.agents.rllib:RLlibSAC",
    "rllib.appo": "rlsuite.agents.rllib:RLlibAPPO",
}
for _name, _target in _FAMILIES.items():
    register_algorithm(_name, _target)

ALGOS = ALGORITHMS  # every registered agent.algo name → "module:Class"


def get_algo(name: str) -> Any:
    """The agent class registered as ``name`` (raises ConfigError naming the allowed algos)."""
    return algorithm_class(name)


__all__ = ["ALGOS", "get_algo"]
