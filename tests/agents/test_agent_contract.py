"""The agent contract (``rlsuite.agents.base.Agent``), held against every registered algorithm.

Each ``agent.algo`` in the registry gets a tiny case below: it learns a few hundred env steps, then
must act on one observation and on a batch, report its steps to the monitor, save and load to the
same greedy actions, resume its step count from a checkpoint, hand over its loop state, release what
it holds on ``close()`` (also as a context manager), and declare its encoder modes and checkpoint
format. A newly registered algorithm fails ``test_every_registered_algorithm_has_a_case`` until it
gets a case here, so nothing joins the registry unchecked.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from rlsuite.agents import ALGOS
from rlsuite.agents.base import ENCODER_MODES, Agent
from rlsuite.config import algorithm_class, from_dict

pytest.importorskip("torch")

CARTPOLE = {"id": "CartPole-v1", "num_envs": 2}
RACETRACK = {
    "id": "rlsuite/Racetrack-v0",
    "num_envs": 2,
    "kwargs": {"max_episode_steps": 50, "action_type": "discrete"},
}
REACHER = {"id": "rlsuite/Reacher-v0", "num_envs": 2, "kwargs": {"max_episode_steps": 50}}
FROZENLAKE = {"id": "FrozenLake-v1", "num_envs": 2}
_RLLIB_REPLAY = {
    "train_batch_size": 32,
    "buffer_size": 2_000,
    "num_steps_sampled_before_learning_starts": 64,
    "min_sample_timesteps_per_iteration": 128,
    "rollout_fragment_length": 8,
    "fcnet_hiddens": [16],
}

# algo -> (env section, agent section without algo, total env steps)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {
    "random": (CARTPOLE, {}, 64),
    "q_learning": (FROZENLAKE, {}, 200),
    "sarsa": (FROZENLAKE, {}, 200),
    "expected_sarsa": (FROZENLAKE, {}, 200),
    "double_q_learning": (FROZENLAKE, {}, 200),
    "tabular": (FROZENLAKE, {"update": "sarsa"}, 200),
    "dqn": (RACETRACK, {"learning_starts": 64, "batch_size": 16, "net_arch": [16]}, 200),
    "pqn": (CARTPOLE, {"num_steps": 8, "num_minibatches": 2, "net_arch": [16]}, 200),
    "sb3.ppo": (RACETRACK, {"n_steps": 32, "batch_size": 32, "n_epochs": 1}, 128),
    "sb3.a2c": (RACETRACK, {"n_steps": 8}, 64),
    "sb3.dqn": (CARTPOLE, {"learning_starts": 32, "batch_size": 16}, 96),
    "sb3.sac": (REACHER, {"learning_starts": 32, "batch_size": 16}, 96),
    "sb3.td3": (REACHER, {"learning_starts": 32, "batch_size": 16}, 96),
    "rllib.ppo": (
        CARTPOLE,
        {"train_batch_size": 128, "minibatch_size": 64, "num_epochs": 1, "fcnet_hiddens": [16]},
        128,
    ),
    "rllib.appo": (
        CARTPOLE,
        {
            "train_batch_size": 64,
            "rollout_fragment_length": 16,
            "min_time_s_per_iteration": 0,
            "min_sample_timesteps_per_iteration": 128,
            "fcnet_hiddens": [16],
        },
        128,
    ),
    "rllib.dqn": (CARTPOLE, _RLLIB_REPLAY, 128),
    "rllib.sac": (
        {"id": "Pendulum-v1", "num_envs": 2},
        _RLLIB_REPLAY,
        128,
    ),
}


class RecordingMonitor:
    """A :class:`~rlsuite.agents.base.StepMonitor` that keeps what the agent reports."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.episode_steps: list[int] = []
        self.logged: dict[str, list[float]] = {}

    def on_step(self, global_step, rewards, terminated, truncated, infos=None, *, same_step=False) -> bool:
        self.steps.append(int(global_step))
        assert np.shape(rewards) == np.shape(terminated) == np.shape(truncated)
        return True

    def on_episodes(self, global_step, returns, lengths) -> bool:
        self.episode_steps.append(int(global_step))
        assert len(returns) == len(lengths)
        return True

    def log(self, step: int, scalars: dict[str, float]) -> None:
        for name, value in scalars.items():
            self.logged.setdefault(name, []).append(float(value))


def _config(algo: str, tmp_path: Path, total_steps: int | None = None) -> Any:
    env, agent, steps = CASES[algo]
    return from_dict(
        {
            "env": env,
            "agent": {"algo": algo, **agent},
            "train": {"total_steps": total_steps or steps, "eval_every": 0, "eval_episodes": 1, "seed": 3},
            "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
        }
    )


@pytest.fixture
def needs(request):
    """Start the session's Ray for RLlib's algorithms only (one ``ray.init`` for the whole session)."""

    def need(algo: str) -> None:
        if algo.startswith("rllib."):
            pytest.importorskip("ray.rllib")
            request.getfixturevalue("ray_session")
        elif algo.startswith("sb3."):
            pytest.importorskip("stable_baselines3")

    return need


def _build(algo: str, config: Any) -> tuple[Agent, gym.vector.VectorEnv]:
    from rlsuite.training import make_agent_envs

    envs = make_agent_envs(config)
    return algorithm_class(algo)(config, envs), envs


def _observations(envs: gym.vector.VectorEnv, n: int = 6) -> np.ndarray:
    """``n`` real observations of the training envs (not samples of the space: Box spaces are unbounded)."""
    obs, _ = envs.reset(seed=11)
    rows = [obs]
    while sum(len(r) for r in rows) < n:
        obs, *_ = envs.step(envs.action_space.sample())
        rows.append(obs)
    return np.concatenate(rows)[:n]


def test_every_registered_algorithm_has_a_case() -> None:
    assert sorted(CASES) == sorted(ALGOS), "give each registered agent.algo a case in CASES"


@pytest.mark.parametrize("algo", sorted(CASES))
def test_the_agent_keeps_the_contract(algo: str, tmp_path: Path, needs) -> None:
    needs(algo)
    config = _config(algo, tmp_path)
    cls = algorithm_class(algo)
    assert issubclass(cls, Agent)
    assert set(cls.encoder_modes) <= set(ENCODER_MODES), cls.encoder_modes

    agent, envs = _build(algo, config)
    monitor = RecordingMonitor()
    total = config.train.total_steps
    agent.learn(total, monitor)

    # What it reports: every vector step (or whole episodes, for agents that never see a step), counted
    # in env steps, never past where it is; its own scalars under a family prefix.
    reported = monitor.steps or monitor.episode_steps
    assert reported, "the agent reported nothing to the monitor"
    assert reported == sorted(reported) and reported[-1] <= agent.global_step
    assert agent.global_step >= total
    if monitor.steps:
        assert all(b - a == envs.num_envs for a, b in zip(monitor.steps, monitor.steps[1:], strict=False))
    assert all("/" in name for name in monitor.logged), sorted(monitor.logged)

    # Acting: a batch gives a batch, one observation one action, each inside the action space.
    space = envs.single_action_space
    batch = _observations(envs)
    actions = np.asarray(agent.act(batch, deterministic=True))
    assert actions.shape == (len(batch), *space.shape)
    assert all(space.contains(np.asarray(a, dtype=space.dtype)) for a in actions)
    one = np.asarray(agent.act(batch[0], deterministic=True))
    assert one.shape == space.shape and space.contains(one.astype(space.dtype))
    if algo != "random":  # the same action alone as in a batch (continuous: up to float rounding)
        np.testing.assert_allclose(one.astype(float), actions[0].astype(float), rtol=0, atol=1e-5)

    # Save -> load: the same greedy actions; the step count comes back (a resume continues from it).
    agent.save(tmp_path / "saved")
    loaded = type(agent).load(tmp_path / "saved", config, envs)
    assert loaded.global_step == agent.global_step
    if algo != "random":
        np.testing.assert_array_equal(np.asarray(loaded.act(batch, deterministic=True)), actions)

    # Loop state: what it hands over for an exact resume, it takes back.
    state = agent.get_state()
    if state is not None:
        assert all(isinstance(v, np.ndarray) for v in state.values())
        loaded.set_state(state)
    loaded.close()

    # close() releases the envs the agent holds and may be called again; as a context manager too.
    # (A spy on envs.close: Gymnasium's CartPoleVectorEnv.close never sets `closed`.)
    for agent_, envs_ in ((agent, envs), _build(algo, config)):
        closes = _spy_on_close(envs_)
        if agent_ is agent:
            agent.close()
            agent.close()
        else:
            with agent_ as inside:
                assert inside is agent_
        assert closes, "close() left the envs open"


def _spy_on_close(envs: gym.vector.VectorEnv) -> list[int]:
    calls: list[int] = []
    close = envs.close

    def spy(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        close(*args, **kwargs)

    envs.close = spy  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("algo", sorted(a for a in CASES if not algorithm_class(a).checkpoint_unpickles))
def test_our_checkpoints_never_unpickle(algo: str, tmp_path: Path) -> None:
    """An agent that says its checkpoints hold no pickle writes only tensors and JSON, and a pickle
    payload put in place of each of its files runs nothing when loaded: the load fails."""
    config = _config(algo, tmp_path)
    agent, envs = _build(algo, config)
    agent.save(tmp_path / "saved")
    files = sorted(p for p in (tmp_path / "saved").rglob("*") if p.is_file())
    assert files and all(p.suffix in {".json", ".npz", ".safetensors"} for p in files), files
    target = tmp_path / "payload-ran"
    for path in files:
        path.write_bytes(pickle.dumps(_Payload(str(target))))
    with pytest.raises(Exception):  # noqa: B017 (any error: the point is that nothing ran)
        type(agent).load(tmp_path / "saved", config, envs)
    assert not target.exists()
    agent.close()


class _Payload:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "ran"))
