"""rlsuite: fast Gymnasium environments, readable agents, baselines and Ray jobs.

Importing the package registers every environment with Gymnasium, so
``gymnasium.make("rlsuite/Racetrack-v0")`` works after ``import rlsuite`` and
``gymnasium.make("rlsuite:rlsuite/Racetrack-v0")`` works with no import at all.
This import stays light: it never imports torch or ray (agents register by import path only).
"""

__version__ = "0.1.0"

from rlsuite.envs.registration import register_envs

register_envs()

import rlsuite.agents  # noqa: E402, F401  (registers the algorithms by name; imports no torch)

__all__ = ["__version__", "register_envs"]
