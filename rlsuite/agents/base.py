"""The agent protocol every rlsuite agent implements, and the random baseline.

An agent is built from a validated :class:`~rlsuite.config.Config` and the vector env it trains
on, and offers four things (``docs/design.md``, "Agent protocol")::

    learn(total_steps, monitor=None)   train; report every vector step to the monitor
    act(obs, deterministic=True, episode_start=None)
                                       a batch of observations -> a batch of actions
                                       (one observation -> one action)
    save(directory)                    tensors (npz / safetensors) + JSON metadata; never pickle
    load(directory, config, envs)      classmethod: the inverse of save

``learn`` calls ``monitor.on_step(...)`` after every vector step; the monitor does the bookkeeping
shared by all agents: episode statistics, SPS, periodic evaluation, checkpoints, the progress
display. Agents log their own extra scalars (losses, epsilon) with ``monitor.log(step, {...})``.
Agents see the training loop only through :class:`StepMonitor`, defined here; the loop
(:mod:`rlsuite.training`) implements it, so agents never import it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from rlsuite.resources import is_allocation_failure, memory_checked, resolve_device

if TYPE_CHECKING:
    import gymnasium as gym

    from rlsuite.config import Config

__all__ = [
    "Agent",
    "NonFiniteError",
    "RandomAgent",
    "StepMonitor",
    "is_allocation_failure",
    "is_image_space",
    "is_single_observation",
    "memory_checked",
    "resolve_device",
]


def is_image_space(space: gym.Space) -> bool:
    """A channel-last ``uint8`` image ``(H, W, C)``: what the CNN encoders take."""
    import gymnasium as gym

    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def is_single_observation(obs: Any, space: gym.Space) -> bool:
    """``obs`` is one observation of ``space`` (shaped like the space), not a batch of them.

    ``act`` takes either: one observation gives one action, a batch ``(n, *obs_shape)`` a batch.
    Spaces without a shape (``Dict``, ``Tuple``) count as a batch. For example, with CartPole's
    ``Box`` of shape ``(4,)``, ``np.zeros(4)`` is one observation and ``np.zeros((8, 4))`` a batch;
    with a ``Discrete`` space, ``3`` is one observation and ``np.array([3, 1])`` a batch.
    """
    shape = space.shape
    if shape is None:
        return False
    # `act` runs on every evaluation step: an array's own ndim is ~10x cheaper than np.ndim's dispatch
    return (obs.ndim if isinstance(obs, np.ndarray) else np.ndim(obs)) == len(shape)


class NonFiniteError(RuntimeError):
    """NaN or infinity in observations, rewards, losses or gradients: training stops (the message
    names the step, the quantity and the last checkpoint)."""


class StepMonitor(Protocol):
    """What an agent reports to while it learns (``rlsuite.training.Monitor`` implements it)."""

    def on_step(
        self,
        global_step: int,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        infos: dict[str, Any] | None = None,
        *,
        same_step: bool = False,
    ) -> bool:
        """Record one vector step (``global_step`` env steps so far); ``False`` asks the agent to stop.

        By default the steps follow NEXT_STEP autoreset: the step after a done is a reset step and
        belongs to no episode. ``same_step=True`` says the envs reset on the done step itself
        (Stable-Baselines3's ``VecEnv``), so every reported step belongs to an episode."""
        ...

    def on_episodes(self, global_step: int, returns: Any, lengths: Any) -> bool:
        """Record whole episodes that ended by ``global_step`` (for agents that do not see every
        vector step, e.g. RLlib's); ``False`` asks the agent to stop."""
        ...

    def log(self, step: int, scalars: dict[str, float]) -> None:
        """Log the agent's own scalars (``losses/*``, ``charts/epsilon``, …) at ``step``."""
        ...


class Agent(ABC):
    """Base class of rlsuite agents: holds the config and the training envs' spaces."""

    Params: ClassVar[type]  # the dataclass of this agent's hyper-parameters (validated config)
    # True: a pretrained encoder that does not feed features (config.encoder) trains inside the agent's
    # model on frames its envs stack (make_agent_envs wraps them in StackedFrames), as RLlib PPO's does.
    trains_encoder_on_stacked_envs: ClassVar[bool] = False

    def __init__(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        self.config = config
        self.params = config.agent.params
        self.envs = envs
        self.observation_space = envs.single_observation_space
        self.action_space = envs.single_action_space
        self.num_envs = envs.num_envs
        self.global_step = 0

    @abstractmethod
    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        """Train until ``total_steps`` env steps (summed over the batch) have been taken."""

    @abstractmethod
    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        """Actions for a batch of observations (shape ``(n, *obs_shape)``), or the action for one
        observation (shaped like the observation space; see :func:`is_single_observation`).

        ``episode_start`` (bool, shape ``(n,)``; one bool for one observation) marks the sub-envs whose
        observation is the first of an episode; agents with memory across steps (frame stacks,
        recurrent state) reset it there, the others ignore it. ``None`` means "unknown".
        """

    @abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write the agent to ``directory`` (created if needed)."""

    def loop_state(self) -> dict[str, np.ndarray] | None:
        """The training loop's state between two vector steps (current observations, done flags…),
        for an exact resume together with the envs' own state; ``None`` when the agent has none to
        give (a resume then starts new episodes)."""
        return None

    def restore_loop_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: B027 (optional)
        """Continue from :meth:`loop_state` (after the envs were restored to the same moment)."""

    def on_train_end(self, run_dir: Path) -> None:  # noqa: B027 (an optional hook, not abstract)
        """Called once when training ends; agents may write pictures or reports into ``run_dir``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> Agent:
        """Rebuild an agent written by :meth:`save`."""


@dataclass
class RandomParams:
    """The random agent has no hyper-parameters."""


class RandomAgent(Agent):
    """Uniformly random actions: the floor every learning curve is compared with."""

    Params = RandomParams

    def __init__(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        super().__init__(config, envs)
        self._action_space = envs.action_space
        self._action_space.seed(config.train.seed)
        self._single_space = envs.single_action_space
        self._single_space.seed(config.train.seed + 1)

    def learn(self, total_steps: int, monitor: StepMonitor | None = None) -> None:
        self.envs.reset(seed=self.config.train.seed)
        while self.global_step < total_steps:
            actions = self._action_space.sample()
            _, rewards, terminated, truncated, infos = self.envs.step(actions)
            self.global_step += self.num_envs
            if monitor is not None and not monitor.on_step(
                self.global_step, rewards, terminated, truncated, infos
            ):
                break

    def act(
        self, obs: np.ndarray, deterministic: bool = True, episode_start: np.ndarray | None = None
    ) -> np.ndarray:
        if is_single_observation(obs, self.observation_space):
            return np.asarray(self._single_space.sample())
        return np.stack([self._single_space.sample() for _ in range(len(obs))])

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "agent.json").write_text(json.dumps({"algo": "random", "global_step": self.global_step}))

    @classmethod
    def load(cls, directory: str | Path, config: Config, envs: gym.vector.VectorEnv) -> RandomAgent:
        meta: dict[str, Any] = json.loads((Path(directory) / "agent.json").read_text())
        agent = cls(config, envs)
        agent.global_step = int(meta["global_step"])
        return agent
