"""How an RLlib iteration reaches rlsuite's monitor: every finished episode, recorded in the env runners
by an RLlib callback (:class:`EpisodeStats`), and the learner statistics under our scalar names
(:data:`LEARNER_SCALARS`), handed over after each ``Algorithm.train()`` call (:func:`report_iteration`).
"""

from __future__ import annotations

from typing import Any

from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, FAULT_TOLERANCE_STATS, LEARNER_RESULTS

from rlsuite.agents.base import StepMonitor

__all__ = ["EPISODES_KEY", "LEARNER_SCALARS", "EpisodeStats", "report_iteration"]

EPISODES_KEY = "rlsuite_episodes"  # (return, length) of each finished episode, in the env runner results

# RLlib learner statistics (``result["learners"]["default_policy"]``) under rlsuite's scalar names.
LEARNER_SCALARS = {
    "policy_loss": "losses/policy_loss",
    "vf_loss": "losses/vf_loss",
    "entropy": "losses/entropy",
    "mean_kl_loss": "losses/approx_kl",
    "vf_explained_var": "losses/explained_variance",
    "total_loss": "losses/total_loss",
    "qf_loss": "losses/qf_loss",
    "qf_twin_loss": "losses/qf_twin_loss",
    "qf_mean": "losses/q_values",
    "td_error_mean": "losses/td_error",
    "alpha_loss": "losses/alpha_loss",
    "alpha_value": "losses/alpha",
    "default_optimizer_learning_rate": "charts/learning_rate",
}


class EpisodeStats(RLlibCallback):
    """Records each finished episode's ``(return, length)`` in the env runner's metrics.

    RLlib's own result carries only windowed means; this callback gives the monitor every episode. An
    episode that spans ``sample()`` calls arrives cut into chunks, its earlier chunks as
    ``prev_episode_chunks``: the return sums the chunks' rewards, the length is the last chunk's ``t``
    (env steps since the reset). Summing the chunks' lengths instead overcounts when the env runner is
    local (``num_env_runners: 0``): the learner connectors of PPO and APPO append a bootstrap step
    (reward 0, RLlib's ``AddOneTsToEpisodesAndTruncate``) to the very chunk objects RLlib keeps for
    these statistics, as RLlib 2.60's own ``episode_len_mean`` shows. ``item_series`` metrics are lists
    that RLlib concatenates over the env runners and clears when it reduces them, once per iteration.
    """

    def on_episode_end(
        self, *, episode: Any, prev_episode_chunks: Any = None, metrics_logger: Any = None, **kwargs: Any
    ) -> None:
        episode_return = float(sum(chunk.get_return() for chunk in [*(prev_episode_chunks or ()), episode]))
        metrics_logger.log_value(EPISODES_KEY, (episode_return, int(episode.t)), reduce="item_series")


def report_iteration(
    result: dict[str, Any], monitor: StepMonitor, global_step: int, *, env_runner_restarts: bool
) -> bool:
    """Hand one ``Algorithm.train()`` result to ``monitor`` at ``global_step``: the learner statistics
    (and, with ``env_runner_restarts``, the count of restarted env runners) as scalars, then the episodes
    that ended in the iteration. Returns the monitor's answer (``False``: stop training)."""
    learner = result.get(LEARNER_RESULTS, {}).get(DEFAULT_MODULE_ID, {})
    scalars = {name: float(learner[key]) for key, name in LEARNER_SCALARS.items() if key in learner}
    if env_runner_restarts:
        restarts = result.get(FAULT_TOLERANCE_STATS, {}).get("num_remote_worker_restarts")
        if restarts is not None:
            scalars["charts/env_runner_restarts"] = float(restarts)
    if scalars:
        monitor.log(global_step, scalars)
    episodes = result.get(ENV_RUNNER_RESULTS, {}).get(EPISODES_KEY, [])
    if isinstance(episodes, tuple):  # RLlib hands a series of one item over as the item itself
        episodes = [episodes]
    elif not isinstance(episodes, list):  # NaN: no episode ended in this iteration
        episodes = []
    return monitor.on_episodes(global_step, [e[0] for e in episodes], [e[1] for e in episodes])
