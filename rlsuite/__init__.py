"""rlsuite: fast Gymnasium environments, readable agents, baselines and Ray jobs.

Importing the package registers every environment with Gymnasium, so
``gymnasium.make("rlsuite/Racetrack-v0")`` works after ``import rlsuite`` and
``gymnasium.make("rlsuite:rlsuite/Racetrack-v0")`` works with no import at all.
This import stays light: it never imports torch or ray (agents register by import path only).

The Python API (:mod:`rlsuite.api`), the same for every agent family, is re-exported here and
imported on first use::

    run = rlsuite.train("experiments/configs/dqn_cartpole.yaml", overrides={"train.total_steps": 20_000})
    policy = rlsuite.load(run.run_dir)               # checkpoints/best
    policy = rlsuite.load_pretrained("NAME")         # a zoo agent shipped in the package (rlsuite.zoo)
    action, _ = policy.predict(obs)                  # one observation, or a batch
    print(rlsuite.evaluate(run.run_dir))             # as `rlsuite eval RUN_DIR`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from rlsuite.envs.registration import register_envs

register_envs()

import rlsuite.agents  # noqa: E402, F401  (registers the algorithms by name; imports no torch)

if TYPE_CHECKING:
    from rlsuite import zoo
    from rlsuite.api import Policy, TrainedRun, evaluate, load, load_pretrained, train

_API = ("Policy", "TrainedRun", "evaluate", "load", "load_pretrained", "train")

__all__ = [
    "Policy",
    "TrainedRun",
    "__version__",
    "evaluate",
    "load",
    "load_pretrained",
    "register_envs",
    "train",
    "zoo",
]


def __getattr__(name: str) -> Any:
    """The API's names, imported from :mod:`rlsuite.api` when first used (keeps ``import rlsuite`` light)."""
    if name in _API:
        from rlsuite import api

        return getattr(api, name)
    if name == "zoo":  # the trained agents shipped in the package (imports no torch)
        import importlib

        return importlib.import_module("rlsuite.zoo")
    raise AttributeError(f"module 'rlsuite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API, "zoo"})
