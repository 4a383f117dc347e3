"""Stable-Baselines3 baselines behind rlsuite's agent protocol: ``agent.algo: sb3.ppo`` (and ``sb3.a2c``,
``sb3.dqn``, ``sb3.sac``, ``sb3.td3``) train SB3's own algorithms inside ``rlsuite train``, with the same
run directory, scalar names, evaluation, checkpoints and ``rlsuite eval`` as our agents.

The package, one module per seam (each module's docstring tells its part):

- :mod:`~rlsuite.agents.sb3.params`: hyper-parameters, a ``Params`` dataclass per algorithm generated
  from SB3's constructor signature and validated before anything runs;
- :mod:`~rlsuite.agents.sb3.vec_env`: :class:`SB3VecEnv`, SB3's ``VecEnv`` over our native vector envs;
- :mod:`~rlsuite.agents.sb3.logger`: SB3's ``train/*`` scalars into the run under rlsuite's names;
- :mod:`~rlsuite.agents.sb3.extractor`: a pretrained rlsuite encoder as SB3's features extractor;
- :mod:`~rlsuite.agents.sb3.agents`: :class:`SB3Agent` and the five algorithms (budget, checkpoints).

Python use::

    import rlsuite

    run = rlsuite.train("experiments/configs/sb3_ppo_racetrack.yaml")
    print(rlsuite.evaluate(run.run_dir))
"""

from __future__ import annotations

from rlsuite.agents.sb3.agents import AGENTS, SB3A2C, SB3DQN, SB3PPO, SB3SAC, SB3TD3, SB3Agent
from rlsuite.agents.sb3.extractor import PretrainedEncoder
from rlsuite.agents.sb3.logger import MonitorCallback, MonitorWriter
from rlsuite.agents.sb3.params import A2CParams, DQNParams, PPOParams, SACParams, TD3Params, params_class
from rlsuite.agents.sb3.vec_env import SB3VecEnv, unpack_infos

__all__ = [
    "AGENTS",
    "A2CParams",
    "DQNParams",
    "MonitorCallback",
    "MonitorWriter",
    "PPOParams",
    "PretrainedEncoder",
    "SACParams",
    "SB3A2C",
    "SB3Agent",
    "SB3DQN",
    "SB3PPO",
    "SB3SAC",
    "SB3TD3",
    "SB3VecEnv",
    "TD3Params",
    "params_class",
    "unpack_infos",
]
