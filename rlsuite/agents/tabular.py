"""Tabular Q-learning family: Q-learning, SARSA, Expected SARSA and Double Q-learning.

One numpy table implementation and four update rules (Sutton & Barto, *Reinforcement Learning:
An Introduction*, 2nd ed., 2018):

* ``q_learning``       target ``r + γ max_a' Q(s', a')``                       (Watkins 1989; S&B eq. 6.8)
* ``sarsa``            target ``r + γ Q(s', a')`` with ``a'`` the action taken   (Rummery & Niranjan 1994; eq. 6.7)
* ``expected_sarsa``   target ``r + γ Σ_a' π(a'|s') Q(s', a')`` under ε-greedy π (van Seijen et al. 2009; eq. 6.9)
* ``double_q_learning``  two tables; a fair coin per transition picks the one updated, its greedy
  action is valued by the other (van Hasselt 2010; S&B section 6.7); behaviour uses their sum.

Learning from a vector env: every batch step is one numpy update over all sub-envs. Transitions
from the NEXT_STEP reset step are dropped; terminated transitions do not bootstrap, truncated ones
do. **Duplicates**: when several sub-envs hit the same ``(s, a)`` in one batch, their TD errors
(all computed from the table before the update) are *averaged*, so that pair moves by
``α · mean(δ)`` — one update, as if the batch were one larger sample, never ``α · Σδ``, which could
overshoot the target when many sub-envs share a state (e.g. the start line).

``Box`` observations are discretised with uniform bins (:class:`rlsuite.envs.wrappers.Discretizer`,
agent params ``bins``/``low``/``high``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

import gymnasium as gym
import numpy as np

from rlsuite.agents.base import Agent, StepMonitor, is_single_observation, memory_checked, resume_seed
from rlsuite.config import ConfigError, hp, to_dict
from rlsuite.envs.core import core_of
from rlsuite.envs.wrappers import Discretizer

if TYPE_CHECKING:
    from rlsuite.config import Config

__all__ = [
    "DoubleQLearningAgent",
    "ExpectedSarsaAgent",
    "QLearningAgent",
    "SarsaAgent",
    "TabularAgent",
    "TabularParams",
]

UPDATES = ("q_learning", "sarsa", "expected_sarsa", "double_q_learning")


@dataclass
class TabularParams:
    """Hyper-parameters of the tabular agents (S&B = Sutton & Barto 2018)."""

    update: Literal["q_learning", "sarsa", "expected_sarsa", "double_q_learning"] = hp(
        "q_learning", "update rule (only for algo 'tabular'; the other algo names fix it)"
    )
    learning_rate: float = hp(0.1, "step size α (S&B 2.4); initial value when decaying", gt=0, le=1)
    learning_rate_final: float | None = hp(
        None,
        "if set, α decays linearly to this value over learning_rate_decay_fraction of training",
        gt=0,
        le=1,
    )
    learning_rate_decay_fraction: float = hp(1.0, "fraction of total_steps over which α decays", gt=0, le=1)
    gamma: float = hp(0.99, "discount factor γ (S&B 3.3)", ge=0, le=1)
    exploration_initial_eps: float = hp(
        1.0, "ε of the ε-greedy behaviour policy at the start (S&B 2.2; SB3's name)", ge=0, le=1
    )
    exploration_final_eps: float = hp(0.05, "ε at the end of the schedule", ge=0, le=1)
    exploration_schedule: Literal["linear", "exponential"] = hp(
        "linear", "linear: straight line; exponential: geometric decay, both reaching exploration_final_eps"
    )
    exploration_fraction: float = hp(0.5, "fraction of total_steps over which ε decays", gt=0, le=1)
    initial_value: float = hp(0.0, "initial Q values; optimistic values drive exploration (S&B 2.6)")
    bins: list[int] | int | None = hp(None, "uniform bins per Box observation dimension (discretisation)")
    low: list[float] | None = hp(None, "lower bounds of the bins (default: the space's, if finite)")
    high: list[float] | None = hp(None, "upper bounds of the bins (default: the space's, if finite)")

    # Exploration takes the names DQN and Stable-Baselines3 use: a config with an old name is an error
    # that names the new one; a saved run's config.yaml is read with the new names.
    config_renamed_keys: ClassVar[dict[str, str]] = {
        "epsilon_start": "exploration_initial_eps",
        "epsilon_end": "exploration_final_eps",
        "epsilon_schedule": "exploration_schedule",
        "epsilon_decay_fraction": "exploration_fraction",
    }


def _schedule(start: float, end: float, fraction: float, kind: str, progress: float) -> float:
    t = min(progress / fraction, 1.0)
    if kind == "exponential" and start > 0 and end > 0:
        return float(start * (end / start) ** t)
    return float(start + t * (end - start))


class TabularAgent(Agent):
    """A Q table (or two, for Double Q-learning) learned from a batch of envs with ε-greedy actions."""

    Params = TabularParams
    update_rule: ClassVar[str | None] = None  # fixed by the subclasses; None: read params.update

    def __init__(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        super().__init__(config, envs)
        self.update = self.update_rule or self.params.update
        self._loop: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # states, actions, prev_done
        if not isinstance(self.action_space, gym.spaces.Discrete):
            raise ConfigError(
                f"agent.algo: {config.agent.algo!r} needs a Discrete action space; {config.env.id!r} has "
                f"{self.action_space}. Use an env with discrete actions (ours: env.kwargs.action_type=discrete)"
            )
        self.discretizer: Discretizer | None = None
        space = self.observation_space
        if isinstance(space, gym.spaces.Discrete):
            self.n_states = int(space.n)
            self._obs_start = int(space.start)
        elif isinstance(space, gym.spaces.Box):
            if self.params.bins is None:
                raise ConfigError(
                    f"agent.bins: {config.env.id!r} has Box observations {space}; a tabular agent needs them "
                    f"discretised: set agent.bins (e.g. {[6] * space.shape[0] if space.shape else 6}) and, "
                    "for unbounded dimensions, agent.low and agent.high"
                )
            try:
                self.discretizer = Discretizer(space, self.params.bins, self.params.low, self.params.high)
            except ValueError as error:
                raise ConfigError(f"agent.{error}") from None
            self.n_states = self.discretizer.n
            self._obs_start = 0
        else:
            raise ConfigError(
                f"env.id: {config.env.id!r} has observation space {space}; tabular agents take Discrete "
                "observations or a 1-D Box with agent.bins"
            )
        self.n_actions = int(self.action_space.n)
        self._action_start = int(self.action_space.start)
        tables = 2 if self.update == "double_q_learning" else 1
        with memory_checked("agent.bins (the Q table has a row per cell)"):
            self.q = np.full(
                (tables, self.n_states, self.n_actions), self.params.initial_value, dtype=np.float64
            )
            self._td_sum = np.zeros(self.q.size)  # scratch for averaging duplicated (s, a) in a batch
            self._td_count = np.zeros(self.q.size)
        self._ones = np.ones(self.n_actions)
        self.rng = np.random.default_rng(config.train.seed)
        self.epsilon = self.params.exploration_initial_eps
        self.learning_rate = self.params.learning_rate

    # ------------------------------------------------------------------ acting
    def states(self, obs: np.ndarray) -> np.ndarray:
        """Table rows of a batch of observations."""
        if self.discretizer is not None:
            return self.discretizer(obs)
        return np.asarray(obs, dtype=np.int64) - self._obs_start

    def _values(self) -> np.ndarray:
        return self.q[0] if len(self.q) == 1 else self.q[0] + self.q[1]

    def _rows(self, states: np.ndarray) -> np.ndarray:
        """Behaviour values ``Q[states]`` (Double Q: ``QA + QB``), shape ``(len(states), n_actions)``.

        ``take`` along axis 0 is several times faster than fancy indexing for small row gathers."""
        rows = self.q[0].take(states, axis=0)
        if len(self.q) == 2:
            rows += self.q[1].take(states, axis=0)
        return rows

    def _explore(self, greedy: np.ndarray, epsilon: float) -> np.ndarray:
        """ε-greedy: each greedy action is replaced by a uniformly random one with probability ε."""
        if epsilon <= 0.0:
            return greedy
        # One uniform draw decides both: u < ε explores, and then u / ε is uniform on [0, 1).
        u = self.rng.random(len(greedy))
        random_actions = np.minimum((u * (self.n_actions / epsilon)).astype(np.int64), self.n_actions - 1)
        return np.where(u < epsilon, random_actions, greedy)

    def _pick(self, rows: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """``rows[i, actions[i]]`` for every ``i`` (a flat gather: cheaper than ``max`` or 2-D indexing)."""
        return rows.reshape(-1)[np.arange(len(rows)) * self.n_actions + actions]

    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """Greedy (or ε-greedy) actions for a batch of observations; one observation: one action."""
        if is_single_observation(obs, self.observation_space):
            return self.act(np.asarray(obs)[None], deterministic)[0]
        greedy = self._rows(self.states(obs)).argmax(axis=1)
        return self._explore(greedy, 0.0 if deterministic else self.epsilon) + self._action_start

    # ------------------------------------------------------------------ learning
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        p = self.params
        if self._loop is None:
            seed = resume_seed(self.config.train.seed, self.global_step)  # a resume draws new episodes
            obs, _ = self.envs.reset(seed=seed)
            self.envs.action_space.seed(seed)
            states = self.states(obs)
            actions = self._explore(self._rows(states).argmax(axis=1), self.epsilon)
            self._loop = (states, actions, np.zeros(self.num_envs, dtype=bool))
        states, actions, prev_done = self._loop
        next_log = self.global_step
        while self.global_step < total_steps:
            next_obs, rewards, terminated, truncated, infos = self.envs.step(actions + self._action_start)
            self.global_step += self.num_envs
            progress = self.global_step / total_steps
            self.epsilon = _schedule(
                p.exploration_initial_eps,
                p.exploration_final_eps,
                p.exploration_fraction,
                p.exploration_schedule,
                progress,
            )
            if p.learning_rate_final is not None:
                self.learning_rate = _schedule(
                    p.learning_rate, p.learning_rate_final, p.learning_rate_decay_fraction, "linear", progress
                )
            # The behaviour rows and their greedy actions serve both the next actions and the update.
            next_states = self.states(next_obs)
            next_rows = self._rows(next_states)
            next_greedy = next_rows.argmax(axis=1)
            next_actions = self._explore(next_greedy, self.epsilon)
            valid = None if not prev_done.any() else ~prev_done  # NEXT_STEP reset steps: not transitions
            self.update_batch(
                states, actions, rewards, next_states, next_actions, terminated, next_rows, next_greedy, valid
            )
            prev_done = terminated | truncated
            states, actions = next_states, next_actions
            self._loop = (states, actions, prev_done)  # what a checkpoint taken now continues from
            if monitor is not None:
                if self.global_step >= next_log:
                    monitor.log(
                        self.global_step,
                        {"charts/epsilon": self.epsilon, "charts/learning_rate": self.learning_rate},
                    )
                    next_log = self.global_step + max(1000, 100 * self.num_envs)
                if not monitor.on_step(self.global_step, rewards, terminated, truncated, infos):
                    break

    def update_batch(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_states: np.ndarray,
        next_actions: np.ndarray,
        terminated: np.ndarray,
        next_rows: np.ndarray | None = None,
        next_greedy: np.ndarray | None = None,
        valid: np.ndarray | None = None,
    ) -> None:
        """One update from a batch of transitions (duplicated ``(s, a)`` pairs average their TD errors).

        ``next_rows`` / ``next_greedy`` may pass :meth:`_rows` of ``next_states`` and its argmax when
        the caller already has them (the learning loop computes them for its next actions).
        ``valid`` (bool mask) keeps only those transitions; the targets of all rows are computed
        first (cheap), so only the two arrays that reach the table are masked.
        """
        n = len(states)
        if n == 0:
            return
        gamma, n_actions = self.params.gamma, self.n_actions
        q_flat = self.q.reshape(-1)
        table = 0
        if self.update == "double_q_learning":
            # Each transition updates table A or B (fair coin); its greedy action is valued by the other.
            table = self.rng.random(n) < 0.5  # True: table B (bool * int counts as 0 / 1 below)
            own = self.q.reshape(-1, n_actions).take(table * self.n_states + next_states, axis=0)
            other_row = ~table * self.n_states + next_states
            next_value = q_flat[other_row * n_actions + own.argmax(axis=1)]
        elif self.update == "sarsa":
            next_value = q_flat[next_states * n_actions + next_actions]
        else:  # q_learning and expected_sarsa need max_a' Q(s', a'): the value of the greedy action
            if next_rows is None:
                next_rows = self._rows(next_states)
            if next_greedy is None:
                next_greedy = next_rows.argmax(axis=1)
            next_value = self._pick(next_rows, next_greedy)
            if self.update == "expected_sarsa":  # under the current ε-greedy policy
                eps = self.epsilon
                next_value = (1.0 - eps) * next_value + (eps / n_actions) * (next_rows @ self._ones)
        targets = rewards + gamma * np.where(terminated, 0.0, next_value)
        flat = (table * self.n_states + states) * n_actions + actions
        if valid is not None:
            flat, targets = flat[valid], targets[valid]
        td_errors = targets - q_flat[flat]
        # Average the TD errors of duplicated pairs without sorting: accumulate sums and counts in
        # scratch tables, then *assign* (duplicates write the same value), then clear the scratch.
        td_sum, td_count = self._td_sum, self._td_count
        np.add.at(td_sum, flat, td_errors)
        np.add.at(td_count, flat, 1.0)
        q_flat[flat] = q_flat[flat] + self.learning_rate * (td_sum[flat] / td_count[flat])
        td_sum[flat] = 0.0
        td_count[flat] = 0.0

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, np.ndarray] | None:
        if self._loop is None:
            return None
        states, actions, prev_done = self._loop
        return {"states": states, "actions": actions, "prev_done": prev_done}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self._loop = (state["states"], state["actions"], state["prev_done"].astype(bool))

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(directory / "q_table.npz", q=self.q)
        meta = {
            "algo": self.config.agent.algo,
            "update": self.update,
            "global_step": self.global_step,
            "epsilon": self.epsilon,
            "learning_rate": self.learning_rate,
            "observation_space": str(self.observation_space),
            "action_space": str(self.action_space),
            "n_states": self.n_states,
            "n_actions": self.n_actions,
            "discretizer": None if self.discretizer is None else self.discretizer.to_dict(),
            "params": to_dict(self.params),
            "rng": self.rng.bit_generator.state,
        }
        (directory / "agent.json").write_text(json.dumps(meta, indent=2, default=int))

    @classmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> TabularAgent:
        directory = Path(directory)
        meta = json.loads((directory / "agent.json").read_text())
        agent = cls(config, envs)
        with np.load(directory / "q_table.npz", allow_pickle=False) as data:
            q = data["q"]
        if q.shape != agent.q.shape:
            raise ValueError(
                f"{directory}: the saved table has shape {q.shape} but {config.env.id!r} with this config "
                f"needs {agent.q.shape}"
            )
        agent.q[...] = q
        agent.global_step = int(meta["global_step"])
        agent.epsilon = float(meta["epsilon"])
        agent.learning_rate = float(meta["learning_rate"])
        agent.rng.bit_generator.state = meta["rng"]
        return agent

    # ------------------------------------------------------------------ pictures
    def greedy_values(self) -> np.ndarray:
        """``max_a Q(s, a)`` of the behaviour table, per state."""
        return self._values().max(axis=1) / len(self.q)

    def on_train_end(self, run_dir: Path) -> None:
        """``policy.png`` in the run directory, where the env draws a picture of a policy."""
        plot_policy(self, Path(run_dir) / "policy.png")


def plot_policy(agent: TabularAgent, path: Path) -> Path | None:
    """The env's picture of the agent's policy (:meth:`rlsuite.envs.core.BatchCore.plot_policy`, e.g. the
    grid racetrack's heat map of state values with the greedy path from every start cell): the learned
    state values (states never updated left blank) and the greedy action of each observation. ``None``
    where the env draws none (or matplotlib is not installed)."""
    core = core_of(agent.envs)
    if core is None:
        return None
    visited = (agent.q != agent.params.initial_value).any(axis=(0, 2))  # states updated at least once
    values = np.where(visited, agent.greedy_values(), np.nan)
    return core.plot_policy(
        values, lambda obs: int(agent.act(np.array([obs]))[0]), path, title=agent.config.agent.algo
    )


class QLearningAgent(TabularAgent):
    update_rule = "q_learning"


class SarsaAgent(TabularAgent):
    update_rule = "sarsa"


class ExpectedSarsaAgent(TabularAgent):
    update_rule = "expected_sarsa"


class DoubleQLearningAgent(TabularAgent):
    update_rule = "double_q_learning"
