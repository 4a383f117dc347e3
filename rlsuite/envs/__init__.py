"""rlsuite environments (numpy + numba only; this package never imports torch, agents or the CLI)."""

from rlsuite.envs.registration import ENV_SPECS, register_envs

__all__ = ["ENV_SPECS", "register_envs"]
