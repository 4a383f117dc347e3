"""rlsuite: fast Gymnasium environments, readable agents, baselines and Ray jobs.

Importing the package registers every environment with Gymnasium, so
``gymnasium.make("rlsuite/Racetrack-v0")`` works after ``import rlsuite`` and
``gymnasium.make("rlsuite:rlsuite/Racetrack-v0")`` works with no import at all.
This import stays light: it never imports torch or ray.
"""

__version__ = "0.1.0"

from rlsuite.envs.registration import register_envs

register_envs()

__all__ = ["__version__", "register_envs"]
