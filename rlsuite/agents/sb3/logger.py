"""Logging: SB3's logger output into the run (:class:`MonitorWriter`) and the callback that reports every
vector step to rlsuite's monitor (:class:`MonitorCallback`).

**Logging.** SB3's logger is replaced by one whose only output forwards ``train/*`` scalars into the
run through ``monitor.log``: ``train/learning_rate`` → ``charts/learning_rate``, ``train/n_updates`` →
``charts/n_updates``, DQN's ``rollout/exploration_rate`` → ``charts/epsilon``, ``train/<name>`` →
``losses/<name>`` otherwise (``losses/value_loss``, ``losses/actor_loss``, …). Episode returns, SPS and
evaluations come from rlsuite's monitor like every agent's; nothing is printed and no separate
TensorBoard directory is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import KVWriter

from rlsuite.agents.base import StepMonitor

if TYPE_CHECKING:
    from rlsuite.agents.sb3.agents import SB3Agent

__all__ = ["RENAMED", "MonitorCallback", "MonitorWriter"]

RENAMED = {
    "train/learning_rate": "charts/learning_rate",
    "train/n_updates": "charts/n_updates",
    "rollout/exploration_rate": "charts/epsilon",
}


class MonitorWriter(KVWriter):
    """SB3's logger output that forwards its ``train/*`` scalars to the monitor (see module docs)."""

    def __init__(self) -> None:
        self.monitor: StepMonitor | None = None

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, tuple[str, ...]], step: int = 0
    ) -> None:
        if self.monitor is None:
            return
        scalars = {}
        for key, value in key_values.items():
            name = RENAMED.get(key) or (f"losses/{key[6:]}" if key.startswith("train/") else None)
            if name is None or isinstance(value, (str, bool)):
                continue
            try:
                scalars[name] = float(value)
            except (TypeError, ValueError):
                continue  # images, figures, videos
        if scalars:
            self.monitor.log(step, scalars)

    def close(self) -> None:
        self.monitor = None


class MonitorCallback(BaseCallback):
    """Reports every vector step to the monitor (same-step autoreset) and stops when it says so."""

    def __init__(self, agent: SB3Agent, monitor: StepMonitor | None) -> None:
        super().__init__(verbose=0)
        self.agent = agent
        self.monitor = monitor

    def _on_step(self) -> bool:
        self.agent.global_step = self.num_timesteps
        if self.monitor is None:
            return True
        dones = np.asarray(self.locals["dones"], dtype=bool)
        truncated = np.zeros_like(dones)
        if dones.any():
            infos = self.locals["infos"]
            for i in np.flatnonzero(dones):
                truncated[i] = bool(infos[i].get("TimeLimit.truncated", False))
        return self.monitor.on_step(
            self.num_timesteps, self.locals["rewards"], dones & ~truncated, truncated, None, same_step=True
        )
