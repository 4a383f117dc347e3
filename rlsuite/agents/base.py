"""The agent protocol every rlsuite agent implements, and the random baseline.

An agent is built from a validated :class:`~rlsuite.config.Config` and the vector env it trains
on (``docs/design.md``, "Agent protocol")::

    learn(total_steps, monitor=None)   train; report every vector step to the monitor
    act(obs, deterministic=True, episode_start=None)
                                       a batch of observations -> a batch of actions
                                       (one observation -> one action)
    save(directory)                    write the agent (ours: tensors + JSON, never pickle)
    load(directory, config, envs)      classmethod: the inverse of save
    get_state() / set_state(state)     the training loop's state between two vector steps (arrays),
                                       for an exact resume with the envs' own snapshot
    close()                            release what the agent holds (its envs, RLlib's Algorithm and
                                       the Ray it started); idempotent; ``with agent:`` calls it

and declares, as class attributes, what the resolver and the checkpoint reader need to know:

    encoder_modes                      which ``encoder`` sections it takes (:data:`ENCODER_MODES`)
    encoder_frames_stacked_by_envs     a pretrained encoder inside its model sees frames that the
                                       envs stack (RLlib's pixel RLModule) rather than the agent
    checkpoint_unpickles               its checkpoints hold pickles (SB3's zip, RLlib's tree): load
                                       only your own

``learn`` calls ``monitor.on_step(...)`` after every vector step; the monitor does the bookkeeping
shared by all agents: episode statistics, SPS, periodic evaluation, checkpoints, the progress
display. Agents log their own extra scalars (losses, epsilon) with ``monitor.log(step, {...})``.
Agents see the training loop only through :class:`StepMonitor`, defined here; the loop
(:mod:`rlsuite.training`) implements it, so agents never import it. The contract is tested over
every registered algorithm by ``tests/agents/test_agent_contract.py``."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from rlsuite.config import ConfigError
from rlsuite.resources import is_allocation_failure, memory_checked, resolve_device

if TYPE_CHECKING:
    import gymnasium as gym

    from rlsuite.config import Config

__all__ = [
    "ENCODER_MODES",
    "Agent",
    "NonFiniteError",
    "RandomAgent",
    "SeedBatch",
    "SeedEnvsLike",
    "StepMonitor",
    "encoder_mode",
    "is_allocation_failure",
    "is_image_space",
    "is_single_observation",
    "memory_checked",
    "resolve_device",
    "resume_seed",
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


class SeedEnvsLike(Protocol):
    """The envs of a K-seed run as an agent family's :meth:`Agent.seed_batch` sees them
    (``rlsuite.training.SeedEnvs``): ``num_seeds * envs_per_seed`` rows, seed-major."""

    num_seeds: int
    envs_per_seed: int
    num_envs: int

    def reset_seeds(self, seeds: list[int]) -> np.ndarray:
        """Reset every row as seed ``k``'s own run does with ``reset(seed=seeds[k])``."""
        ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Observations, rewards, terminated, truncated of every row."""
        ...


class SeedBatch(Protocol):
    """K agents trained as one (:meth:`Agent.seed_batch`): ``learn`` reports seed ``k``'s steps to
    ``monitors[k]`` exactly as that seed's own ``agent.learn`` would.

    Optional: ``greedy_actions(observations)``, every seed's greedy actions for its own observations,
    ``(K, m, *obs)`` -> ``(K, m)``, row ``k`` exactly agent ``k``'s ``act(observations[k],
    deterministic=True)``; with it the run evaluates all seeds at once (one forward pass a step)."""

    def learn(self, total_steps: int, monitors: Sequence[StepMonitor]) -> None: ...


ENCODER_MODES: dict[str, str] = {
    "scratch": "a pixel encoder of the config's encoder.type, trained from random weights with the agent",
    "features": "a frozen pretrained encoder whose features the agent sees instead of frames "
    "(freeze: true, store_features: true)",
    "frozen": "a pretrained encoder kept fixed inside the agent's model, over frames "
    "(freeze: true, store_features: false)",
    "finetune": "a pretrained encoder trained further inside the agent's model (freeze: false)",
}
"""Every way an agent can take the config's ``encoder`` section; agents declare theirs in
:attr:`Agent.encoder_modes`."""


def resume_seed(seed: int, step: int) -> int:
    """The seed a run continues with after a resume at env step ``step``: ``seed`` itself on a fresh
    start (``step == 0``), else one derived from both, so a resumed run draws new random numbers
    instead of replaying its first episodes. Every agent family uses this one rule."""
    if step == 0:
        return seed
    return int(np.random.SeedSequence([seed, step]).generate_state(1)[0])


def encoder_mode(config: Config) -> str | None:
    """Which of :data:`ENCODER_MODES` the config's ``encoder`` section asks for (``None``: no section)."""
    encoder = config.encoder
    if encoder is None:
        return None
    if encoder.checkpoint is None:
        return "scratch"
    if encoder.feeds_features:
        return "features"
    return "frozen" if encoder.freeze else "finetune"


class Agent(ABC):
    """Base class of rlsuite agents: holds the config and the training envs' spaces."""

    Params: ClassVar[type]  # the dataclass of this agent's hyper-parameters (validated config)
    # The encoder sections this agent takes (keys of ENCODER_MODES); `check_encoder` refuses the others.
    encoder_modes: ClassVar[frozenset[str]] = frozenset()
    encoder_advice: ClassVar[str] = ""  # appended to that refusal: what to do instead
    # True: a pretrained encoder inside the model ("frozen"/"finetune") sees frames the envs stack
    # (make_agent_envs wraps them in StackedFrames), as RLlib's pixel RLModule does; False: the agent
    # stacks frames itself (DQN's replay, SB3's wrapper).
    encoder_frames_stacked_by_envs: ClassVar[bool] = False
    # True: `load` unpickles (SB3's zip, RLlib's checkpoint tree); trust only checkpoints you made.
    checkpoint_unpickles: ClassVar[bool] = False
    # The augmentation the agent's updates apply to image batches (a callable (batch, generator) ->
    # batch, e.g. DQN's DrQ random shift), or None; the run logs a sample of what its updates see.
    augment: Any = None
    # True: the family trains K seeds side by side in one process (train.num_seeds > 1) through
    # `seed_batch`, each seed getting exactly what its own run gets.
    learns_seeds_together: ClassVar[bool] = False

    def __init__(self, config: Config, envs: gym.vector.VectorEnv) -> None:
        self.config = config
        self.params = config.agent.params
        self.envs = envs
        self.observation_space = envs.single_observation_space
        self.action_space = envs.single_action_space
        self.num_envs = envs.num_envs
        self.global_step = 0
        self.check_encoder(config)

    @classmethod
    def check_encoder(cls, config: Config) -> None:
        """Refuse an ``encoder`` section this agent cannot take, naming the modes it can."""
        mode = encoder_mode(config)
        if mode is None or mode in cls.encoder_modes:
            return
        algo = config.agent.algo
        advice = f"; {cls.encoder_advice}" if cls.encoder_advice else ""
        if not cls.encoder_modes:
            raise ConfigError(
                f"encoder: {algo} takes no encoder section ({ENCODER_MODES[mode]} was asked for){advice}"
            )
        allowed = "; ".join(f"{m}: {ENCODER_MODES[m]}" for m in sorted(cls.encoder_modes))
        raise ConfigError(f"encoder: {algo} cannot take {ENCODER_MODES[mode]}; it takes {allowed}{advice}")

    def get_state(self) -> dict[str, np.ndarray] | None:
        """The training loop's state between two vector steps (current observations, done flags…),
        for an exact resume together with the envs' own state; ``None`` when the agent has none to
        give (a resume then starts new episodes)."""
        return None

    def set_state(self, state: dict[str, np.ndarray]) -> None:  # noqa: B027 (optional)
        """Continue from :meth:`get_state` (after the envs were restored to the same moment)."""

    def close(self) -> None:
        """Release what the agent holds: its envs (and, in subclasses, what they built: SB3's own
        VecEnv, RLlib's Algorithm and the Ray it started). Safe to call more than once."""
        self.envs.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def on_train_end(self, run_dir: Path) -> None:  # noqa: B027 (an optional hook, not abstract)
        """Called once when training ends; agents may write pictures or reports into ``run_dir``."""

    @classmethod
    def seed_batch(cls, agents: Sequence[Agent], envs: SeedEnvsLike) -> SeedBatch:
        """The K agents of a K-seed run (seed ``k`` built from its own config and ``envs.rows(k)``, as
        its single run builds it) trained as one batched computation on ``envs``' ``K * n`` rows.
        Families that declare :attr:`learns_seeds_together` implement it; it raises
        :class:`ConfigError` for what it cannot batch, before the run writes anything."""
        raise ConfigError(f"train.num_seeds: {cls.__name__} trains one seed per process")

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
