"""The Python API: train a config, load a run's policy, evaluate it — the same three calls for every
agent family (ours: ``dqn`` and the tabular agents; Stable-Baselines3's ``sb3.*``; RLlib's ``rllib.*``).

``import rlsuite`` re-exports :func:`train`, :func:`load`, :func:`evaluate`, :class:`Policy` and
:class:`TrainedRun` lazily: the import itself stays light (no torch, Ray or SB3); an agent's framework
is imported when a run of that agent is trained or loaded. The CLI commands are these functions:
``rlsuite train`` is :func:`train`, ``rlsuite eval`` is :func:`evaluate` of a run directory.

Overrides are a mapping of dotted keys to Python values, the keys of ``rlsuite train``'s
``key.sub=value`` arguments (an override of ``agent.algo`` replaces the agent section, as on the
command line)::

    >>> import rlsuite
    >>> run = rlsuite.train(
    ...     {"env": {"id": "FrozenLake-v1"}, "agent": {"algo": "q_learning"}},
    ...     overrides={"train.total_steps": 2_000, "train.eval_every": 0, "log.progress": "none"},
    ... )
    >>> run.run_dir.parent.name, sorted(run.final_eval)
    ('runs', ['eval/length_mean', 'eval/return_mean', 'eval/return_std'])
    >>> policy = rlsuite.load(run.run_dir)              # checkpoints/best (else last)
    >>> action, state = policy.predict(0)                # one observation: one action
    >>> policy.action_space.contains(action), state
    (True, None)
    >>> actions, _ = policy.predict(np.array([0, 4, 14]))  # a batch: a batch of actions
    >>> actions.shape
    (3,)
    >>> result = rlsuite.evaluate(policy, episodes=20)  # greedy, on seeds training never saw
    >>> 0.0 <= result["eval/return_mean"] <= 1.0
    True

Predicting in a loop of your own, with a Gymnasium env (``policy.predict`` returns what
Stable-Baselines3's ``model.predict`` returns, ``(action, state)``)::

    >>> import gymnasium as gym
    >>> env = gym.make("FrozenLake-v1")
    >>> obs, _ = env.reset(seed=0)
    >>> done = False
    >>> while not done:
    ...     action, _ = policy.predict(obs)
    ...     obs, reward, terminated, truncated, _ = env.step(action)
    ...     done = terminated or truncated
    >>> policy.close()
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import gymnasium as gym

    from rlsuite.agents.base import Agent
    from rlsuite.config import Config

__all__ = ["Policy", "TrainedRun", "evaluate", "load", "load_pretrained", "train"]


# --------------------------------------------------------------------------------------------
# Configs from Python
# --------------------------------------------------------------------------------------------
def override_strings(overrides: Mapping[str, Any] | None) -> list[str]:
    """``{"train.total_steps": 2000, "env.kwargs": {"track": "wide"}}`` → the command line's
    ``["train.total_steps=2000", "env.kwargs={track: wide}"]`` (values written as YAML that reads back
    as the same Python value), so Python and the CLI share one override path."""
    import yaml

    from rlsuite.config import ConfigError

    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        raise ConfigError(
            f"overrides: expected a mapping of dotted keys to values, e.g. {{'train.total_steps': 2000}}; "
            f"got a {type(overrides).__name__}"
        )
    strings = []
    for key, value in overrides.items():
        if not isinstance(key, str) or not key or "=" in key:
            raise ConfigError(f"overrides: got the key {key!r}; keys are dotted names such as 'agent.gamma'")
        text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"))
        strings.append(f"{key}={text.removesuffix(chr(10)).removesuffix(chr(10) + '...')}")
    return strings


def make_config(
    config: Config | str | Path | Mapping[str, Any] | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """A validated :class:`~rlsuite.config.Config` from a ``Config``, a YAML file's path, a mapping of
    sections (``{"env": {...}, "agent": {"algo": ...}}``) or ``None`` (the embedded default job), with
    ``overrides`` (dotted keys → values) applied as ``rlsuite train KEY=VALUE`` applies them."""
    from rlsuite.config import Config, ConfigError, apply_overrides, from_dict, load_config, to_dict

    strings = override_strings(overrides)
    if config is None or isinstance(config, str | Path):
        return load_config(config, strings)
    if isinstance(config, Config):
        return from_dict(apply_overrides(to_dict(config), strings))
    if isinstance(config, Mapping):
        return from_dict(apply_overrides(copy.deepcopy(dict(config)), strings))
    raise ConfigError(
        f"config: expected a Config, a path to a YAML file or a mapping of sections; got a {type(config).__name__}"
    )


# --------------------------------------------------------------------------------------------
# Train
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainedRun:
    """What :func:`train` returns: the run directory, its config and its final evaluation."""

    run_dir: Path
    """The run directory (``config.yaml``, ``metrics.csv``, ``checkpoints/``, …), as ``rlsuite train``
    prints it (relative when ``log.run_dir`` is)."""
    config: Config
    final_eval: dict[str, float] = field(default_factory=dict)
    """The greedy evaluation at the end of training (``eval/return_mean``, ``eval/return_std``,
    ``eval/length_mean``, and ``eval/success_rate`` for envs that report success)."""

    def load(self, checkpoint: str = "best") -> Policy:
        """:func:`load` of this run."""
        return load(self.run_dir, checkpoint)

    def evaluate(self, **kwargs: Any) -> dict[str, Any]:
        """:func:`evaluate` of this run (the keyword arguments are :func:`evaluate`'s)."""
        return evaluate(self.run_dir, **kwargs)


def train(
    config: Config | str | Path | Mapping[str, Any] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    resume: str | Path | None = None,
) -> TrainedRun:
    """Train as ``rlsuite train`` does and return the run.

    ``config``: a :class:`~rlsuite.config.Config`, the path of a YAML config, a mapping of sections,
    or ``None`` for the embedded default job. ``overrides`` maps dotted keys to values
    (``{"train.total_steps": 20_000, "agent.learning_rate": 1e-3}``). ``resume``: a run directory to
    continue from its ``checkpoints/last`` with the config it was started with (then give no
    ``config``; ``overrides`` may raise ``train.total_steps``). Bad input raises
    :class:`~rlsuite.config.ConfigError` before anything is written.

    >>> import rlsuite
    >>> run = rlsuite.train(
    ...     "experiments/configs/q_learning_frozenlake.yaml",
    ...     overrides={"train.total_steps": 2_000, "train.eval_every": 0, "log.progress": "none"},
    ... )
    >>> run.config.agent.algo, run.run_dir.name.startswith("q_learning-frozenlake-")
    ('q_learning', True)
    """
    from rlsuite.config import ConfigError
    from rlsuite.training import load_run_config
    from rlsuite.training import train as train_config

    if resume is not None:
        if config is not None:
            raise ConfigError("resume: the run's own config.yaml is used; give overrides only, not a config")
        resolved = load_run_config(resume, override_strings(overrides))
    else:
        resolved = make_config(config, overrides)
    if resolved.train.num_seeds > 1:
        raise ConfigError(
            f"train.num_seeds: got {resolved.train.num_seeds}; rlsuite.train returns one run, so it trains one "
            "seed: use `rlsuite train ... train.num_seeds=K` for K seeds side by side (K run directories and a "
            "summary.json), or call rlsuite.train once per seed"
        )
    evaluations: list[dict[str, float]] = []
    run_dir = train_config(
        resolved, resume=resume, on_evaluation=lambda _monitor, _step, result: evaluations.append(result)
    )
    final = {k: v for k, v in evaluations[-1].items() if k.startswith("eval/")} if evaluations else {}
    return TrainedRun(run_dir=Path(run_dir), config=resolved, final_eval=final)


# --------------------------------------------------------------------------------------------
# Load and predict
# --------------------------------------------------------------------------------------------
class Policy:
    """A run's trained agent, for inference: :meth:`predict` as Stable-Baselines3's ``model.predict``.

    Built by :func:`load`. Inference needs the agent's framework (torch; SB3 for ``sb3.*``; RLlib's
    package for ``rllib.*``) but no Ray cluster: an RLlib run's RLModule is restored from its
    checkpoint in this process and ``ray.init`` is never called.

    Attributes: ``run_dir``, ``checkpoint`` (the checkpoint directory loaded), ``config`` (the run's),
    ``observation_space`` and ``action_space`` (of one env, as the agent sees it: for a run with a
    frozen pretrained encoder that feeds features, the encoder's features) and ``agent``.
    """

    def __init__(self, run_dir: Path, checkpoint: Path, config: Config, agent: Agent, envs: Any) -> None:
        self.run_dir = run_dir
        self.checkpoint = checkpoint
        self.config = config
        self.agent = agent
        self.observation_space: gym.Space = agent.observation_space
        self.action_space: gym.Space = agent.action_space
        self._close = weakref.finalize(self, agent.close)  # its envs too (and RLlib's Algorithm, Ray)

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]:
        """``(action, state)`` for one observation, ``(actions, state)`` for a batch ``(n, *obs_shape)``.

        As Stable-Baselines3's ``predict``: one observation gives an action shaped like the env's
        action, a batch gives a batch; ``state`` is returned as given (``None``: our agents keep no
        recurrent state); ``episode_start`` (a bool, or one per observation) marks the first
        observation of an episode, for agents that stack frames. ``deterministic=True`` (the default,
        unlike SB3's) is the greedy policy that ``rlsuite eval`` evaluates.
        """
        shape = self.observation_space.shape
        if shape is not None:
            got = np.shape(observation)
            if got != shape and got[1:] != shape:
                raise ValueError(
                    f"observation: expected one observation of shape {shape} or a batch of shape "
                    f"(n, {', '.join(map(str, shape))}{',' if len(shape) == 1 else ''}); got shape {got}"
                )
        actions = self.agent.act(observation, deterministic=deterministic, episode_start=episode_start)
        return actions, state

    def close(self) -> None:
        """Release the agent and its env (also done when the policy is garbage-collected)."""
        self._close()

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Policy({self.config.agent.algo} on {self.config.env.id}, checkpoint={str(self.checkpoint)!r})"
        )


def load(run_dir: str | Path | TrainedRun, checkpoint: str = "best") -> Policy:
    """The policy of a run directory's checkpoint ``best`` (the best evaluation; ``last`` when the run
    has none), ``last`` or ``step_<N>``; the run directory may be relative, absolute, a symlink or
    moved elsewhere after training. Loading never unpickles our agents' checkpoints (SB3's and RLlib's
    own formats pickle: load only runs you trust).

    >>> import rlsuite
    >>> run = rlsuite.train(
    ...     {"env": {"id": "CartPole-v1", "num_envs": 4}, "agent": {"algo": "dqn", "learning_starts": 64}},
    ...     overrides={"train.total_steps": 256, "train.eval_every": 0, "train.eval_episodes": 2,
    ...                "log.progress": "none"},
    ... )
    >>> policy = rlsuite.load(run.run_dir, checkpoint="last")
    >>> action, _ = policy.predict(np.zeros(4, np.float32))
    >>> action.shape, policy.action_space.contains(action)
    ((), True)
    >>> actions, _ = policy.predict(np.zeros((8, 4), np.float32))
    >>> actions.shape
    (8,)
    """
    from rlsuite.config import algorithm_class
    from rlsuite.training import load_agent, load_run_config, make_agent_envs, resolve_run_checkpoint

    if isinstance(run_dir, TrainedRun):
        run_dir = run_dir.run_dir
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    ckpt = resolve_run_checkpoint(run_dir, checkpoint)
    envs = make_agent_envs(config, 1)
    try:
        agent = load_agent(algorithm_class(config.agent.algo), ckpt, config, envs)
    except BaseException:
        envs.close()
        raise
    return Policy(run_dir, ckpt, config, agent, envs)


def load_pretrained(
    name: str,
    *,
    device: str = "cpu",
    env_kwargs: dict[str, Any] | None = None,
    root: str | Path | None = None,
) -> Policy:
    """The zoo agent ``name`` shipped in the package (:mod:`rlsuite.zoo`; the names:
    ``rlsuite.zoo.names()``), offline, as the :class:`Policy` that :func:`load` gives for the run it was
    packed from. ``device``: where its network runs (``cpu``, where its card was measured, by default);
    ``env_kwargs``: added to its env's kwargs; ``root``: another zoo folder (else ``$RLSUITE_ZOO``, else
    the package's). An unknown name is a :class:`~rlsuite.config.ConfigError` listing the known ones.

    >>> import rlsuite
    >>> policy = rlsuite.load_pretrained(rlsuite.zoo.names()[0])        # doctest: +SKIP
    >>> action, _ = policy.predict(policy.observation_space.sample())  # doctest: +SKIP
    """
    from rlsuite.zoo import load_pretrained as load_entry

    return load_entry(name, device=device, env_kwargs=env_kwargs, root=root)


# --------------------------------------------------------------------------------------------
# Evaluate
# --------------------------------------------------------------------------------------------
def evaluate(
    policy: Policy | TrainedRun | str | Path,
    env: str | gym.Env | gym.vector.VectorEnv | None = None,
    *,
    episodes: int | None = None,
    seed: int | None = None,
    checkpoint: str = "best",
) -> dict[str, Any]:
    """Greedy evaluation: ``eval/return_mean``, ``eval/return_std``, ``eval/length_mean`` (and
    ``eval/success_rate``), with ``episodes`` and ``seed``.

    ``policy``: a :class:`Policy`, or a run directory (or :class:`TrainedRun`) whose ``checkpoint`` is
    loaded, or a zoo entry's name (``rlsuite.zoo.names()``; as ``rlsuite eval NAME``: by default its
    card's episodes and seed, the result also written under ``./rlsuite-eval/NAME/``). A run
    directory with no ``env`` is exactly ``rlsuite eval RUN_DIR`` (same episodes, same
    numbers, and the result saved as ``RUN_DIR/eval/eval-<checkpoint>-<time>.json``). ``env``: another
    env to evaluate on — a Gymnasium id (made with no kwargs), a ``gymnasium.Env`` or a vector env (used
    as given, not closed); its observations must be the policy's. Defaults as ``rlsuite eval``:
    ``train.eval_episodes`` episodes over up to ``train.eval_num_envs`` envs, seeded apart from every
    seed training used (``train.seed`` + 2,000,029).

    >>> import rlsuite
    >>> run = rlsuite.train(
    ...     {"env": {"id": "FrozenLake-v1"}, "agent": {"algo": "q_learning"}},
    ...     overrides={"train.total_steps": 1_000, "train.eval_every": 0, "log.progress": "none"},
    ... )
    >>> result = rlsuite.evaluate(run.run_dir, episodes=5)       # as `rlsuite eval RUN_DIR --episodes 5`
    >>> result["episodes"], result["checkpoint"], sorted(k for k in result if k.startswith("eval/"))
    (5, 'best', ['eval/length_mean', 'eval/return_mean', 'eval/return_std'])
    >>> with rlsuite.load(run.run_dir) as policy:
    ...     again = rlsuite.evaluate(policy, episodes=5)
    >>> again["eval/return_mean"] == result["eval/return_mean"]
    True
    >>> other = rlsuite.evaluate(run.run_dir, "FrozenLake-v1", episodes=5)   # another env (here the same id)
    """
    from rlsuite.config import ConfigError
    from rlsuite.training import evaluate_run

    if isinstance(policy, TrainedRun):
        policy = policy.run_dir
    if not isinstance(policy, Policy):
        from rlsuite.zoo.resolve import check_no_checkpoint, evaluate_entry, load_source_entry, resolve_source

        source = resolve_source(policy)
        if source.is_zoo:  # as `rlsuite eval NAME`: the card's episodes and seed by default
            check_no_checkpoint(checkpoint, source)
            if env is None:
                return evaluate_entry(source, episodes=episodes, seed=seed)
            with load_source_entry(source) as loaded:
                return evaluate(loaded, env, episodes=episodes, seed=seed)
        if env is None:
            return evaluate_run(policy, episodes=episodes, checkpoint=checkpoint, seed=seed)
        with load(policy, checkpoint) as loaded:
            return evaluate(loaded, env, episodes=episodes, seed=seed)
    train_cfg = policy.config.train
    episodes = train_cfg.eval_episodes if episodes is None else episodes
    if episodes < 1:
        raise ConfigError(f"episodes: got {episodes}; must be >= 1")
    return _evaluate_policy(policy, env, episodes, seed)


def _evaluate_policy(policy: Policy, env: Any, episodes: int, seed: int | None) -> dict[str, Any]:
    import gymnasium as gym

    from rlsuite.training import TEST_SEED_OFFSET, make_agent_envs, seed_everything
    from rlsuite.training import evaluate as run_episodes

    config = policy.config
    seed = config.train.seed + TEST_SEED_OFFSET if seed is None else seed
    seed_everything(seed)
    n = min(config.train.eval_num_envs, episodes)
    owned = env is None or isinstance(env, str)
    if env is None:
        envs = make_agent_envs(config, n)
    elif isinstance(env, str):
        config = copy.deepcopy(config)
        config.env.id, config.env.kwargs = env, {}
        envs = make_agent_envs(config, n)
    elif isinstance(env, gym.vector.VectorEnv):
        envs = env
    elif isinstance(env, gym.Env):
        envs = gym.vector.SyncVectorEnv([lambda: env])  # not closed: that would close the caller's env
    else:
        raise TypeError(
            f"env: expected a Gymnasium id, a gymnasium.Env or a vector env; got a {type(env).__name__}"
        )
    try:
        space, wanted = envs.single_observation_space, policy.observation_space
        discrete = (gym.spaces.Discrete, gym.spaces.MultiDiscrete)
        if space.shape != wanted.shape or (isinstance(wanted, discrete) and space != wanted):
            from rlsuite.config import ConfigError

            raise ConfigError(f"env: its observations {space} are not the policy's {wanted}")
        result = run_episodes(
            lambda obs, starts: policy.agent.act(obs, deterministic=True, episode_start=starts),
            envs,
            episodes,
            seed,
        )
    finally:
        if owned:
            envs.close()
    return {**result, "episodes": episodes, "checkpoint": policy.checkpoint.name, "seed": seed}
