"""The DQN agent: targets, NEXT_STEP handling, checkpoints and resume, config errors, learning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector.utils import batch_space

from rlsuite.agents.dqn import DQNAgent
from rlsuite.config import ConfigError, from_dict
from rlsuite.training import evaluate, train

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")],
    ),
]

FAST = {"net_arch": [32, 32], "learning_starts": 100, "batch_size": 16, "buffer_size": 2_000}


def make_config(
    env_id: str = "CartPole-v1",
    num_envs: int = 2,
    device: str = "cpu",
    seed: int = 0,
    total_steps: int = 1_000,
    run_dir: str = "runs",
    **params: Any,
):
    return from_dict(
        {
            "env": {"id": env_id, "num_envs": num_envs},
            "agent": {"algo": "dqn", **params},
            "train": {
                "total_steps": total_steps,
                "device": device,
                "seed": seed,
                "eval_every": 0,
                "eval_episodes": 2,
            },
            "log": {"run_dir": run_dir, "progress": "none"},
        }
    )


class CountingVecEnv(gym.vector.VectorEnv):
    """Observation = step count in the episode; episodes last ``length`` steps and then terminate
    (even sub-envs) or are truncated (odd sub-envs). NEXT_STEP autoreset; images optional."""

    metadata = {"autoreset_mode": gym.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 2, length: int = 3, image: bool = False) -> None:
        self.num_envs, self.length, self.image = num_envs, length, image
        if image:
            self.single_observation_space = gym.spaces.Box(0, 255, (40, 40, 1), np.uint8)
        else:
            self.single_observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)
        self.single_action_space = gym.spaces.Discrete(3)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.t = np.zeros(num_envs, dtype=np.int64)
        self.prev_done = np.zeros(num_envs, dtype=bool)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t[:] = 0
        self.prev_done[:] = False
        return self._obs(), {}

    def step(self, actions):
        self.t = np.where(self.prev_done, 0, self.t + 1)
        done = self.t == self.length
        even = np.arange(self.num_envs) % 2 == 0
        rewards = np.where(self.prev_done, 0.0, 1.0)
        self.prev_done = done
        return self._obs(), rewards, done & even, done & ~even, {}

    def _obs(self) -> np.ndarray:
        if self.image:
            return np.broadcast_to(
                (10 * self.t).astype(np.uint8)[:, None, None, None], (self.num_envs, 40, 40, 1)
            ).copy()
        return self.t.astype(np.float32)[:, None]


# ------------------------------------------------------------------------------------------ targets
@pytest.mark.parametrize("double_q", [True, False])
def test_double_q_lets_the_online_network_choose_and_the_target_network_rate(double_q: bool) -> None:
    agent = DQNAgent(make_config(double_q=double_q, **FAST), gym.make_vec("CartPole-v1", 2))
    agent._q = lambda obs: torch.tensor([[0.0, 1.0], [7.0, 2.0]])  # online prefers actions 1, 0
    agent._q_target = lambda obs: torch.tensor([[3.0, 2.0], [4.0, 5.0]])  # target prefers 0, 1
    values = agent.bootstrap_values(torch.zeros(2, 4))
    assert values.tolist() == ([2.0, 4.0] if double_q else [3.0, 5.0])


def test_update_regresses_q_towards_the_td_target() -> None:
    agent = DQNAgent(make_config(learning_rate=1e-2, double_q=False, **FAST), gym.make_vec("CartPole-v1", 2))
    agent.learn(400)
    batch = agent.replay.sample(64, generator=agent.generator)
    with torch.no_grad():  # the target network does not move during these updates
        target = batch.returns + batch.discounts * agent.bootstrap_values(batch.next_observations)

    def td_loss() -> float:
        with torch.no_grad():
            q = agent.q_network(batch.observations).gather(1, batch.actions[:, None]).squeeze(1)
        return float((batch.weights * (q - target) ** 2).mean())

    before = td_loss()
    agent.replay.sample = lambda *args, **kwargs: batch  # always the same batch
    for _ in range(50):
        agent.update()
    assert td_loss() < 0.5 * before


# ------------------------------------------------------------------------------------------ NEXT_STEP
def test_truncated_transitions_bootstrap_terminated_do_not_and_reset_steps_are_dropped() -> None:
    envs = CountingVecEnv(num_envs=2, length=3)
    agent = DQNAgent(make_config(gamma=0.9, **{**FAST, "learning_starts": 10_000}), envs)
    agent.learn(40)  # 20 vector steps: 5 episodes of 3 steps + a reset step each, per sub-env
    replay = agent.replay
    slots = torch.arange(len(replay))
    obs = replay.frames[slots, 0]
    # the fake reset transition leaves from the terminal observation 3; it (and the head) is never valid
    np.testing.assert_array_equal(
        replay.valid[slots].numpy(), (obs != 3).numpy() & (slots < len(replay)).numpy()
    )
    batch = replay.gather(slots[replay.valid[slots]])
    done = batch.observations[:, 0] == 2  # the last real transition of each episode
    even = batch.indices % 2 == 0
    assert (batch.next_observations[done, 0] == 3).all()  # bootstraps from the final observation
    assert (batch.discounts[done & even] == 0).all()  # terminated
    assert torch.allclose(batch.discounts[done & ~even], torch.tensor(0.9))  # truncated
    assert torch.allclose(batch.discounts[~done], torch.tensor(0.9))
    assert (batch.returns == 1.0).all()  # no zero-reward reset step was stored


# ------------------------------------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("device", DEVICES)
def test_checkpoint_round_trip_gives_identical_actions_and_state(device: str, tmp_path: Path) -> None:
    config = make_config(device=device, save_replay_buffer=True, prioritized_replay=True, **FAST)
    agent = DQNAgent(config, gym.make_vec("CartPole-v1", 2))
    agent.learn(600)
    agent.save(tmp_path / "ckpt")
    restored = DQNAgent.load(tmp_path / "ckpt", config, gym.make_vec("CartPole-v1", 2))

    obs = np.random.default_rng(0).normal(size=(256, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs), restored.act(obs))
    np.testing.assert_array_equal(agent.act(obs, deterministic=False), restored.act(obs, deterministic=False))
    assert (restored.global_step, restored.num_updates, restored.schedule_steps) == (
        600,
        agent.num_updates,
        600,
    )
    assert restored.exploration_rate == agent.exploration_rate
    for a, b in zip(agent.target_network.parameters(), restored.target_network.parameters()):
        assert torch.equal(a, b)
    for key, value in agent.optimizer.state_dict()["state"][0].items():
        assert torch.equal(value.cpu(), restored.optimizer.state_dict()["state"][0][key].cpu())
    # the replay buffer and the sampling generator come back too: the same next batch
    assert torch.equal(
        agent.replay.sample(32, 0.5, agent.generator).indices,
        restored.replay.sample(32, 0.5, restored.generator).indices,
    )
    meta = json.loads((tmp_path / "ckpt" / "agent.json").read_text())
    assert meta["global_step"] == 600 and "rng_numpy" in meta
    assert not list((tmp_path / "ckpt").glob("*.pt")) and not list((tmp_path / "ckpt").glob("*.pkl"))


def test_checkpoint_of_another_network_is_a_clear_error(tmp_path: Path) -> None:
    agent = DQNAgent(make_config(**FAST), gym.make_vec("CartPole-v1", 2))
    agent.save(tmp_path)
    with pytest.raises(ConfigError, match="does not fit"):
        DQNAgent.load(tmp_path, make_config(**{**FAST, "net_arch": [8]}), gym.make_vec("CartPole-v1", 2))


def test_resume_continues_the_step_count_and_the_schedules(tmp_path: Path) -> None:
    config = make_config(total_steps=1_000, run_dir=str(tmp_path), **FAST)
    run_dir = train(config)
    first = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())
    assert first["global_step"] == 1_000
    resumed = make_config(total_steps=1_600, run_dir=str(tmp_path), **FAST)
    assert train(resumed, resume=run_dir) == run_dir
    meta = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())
    assert meta["global_step"] == 1_600
    assert meta["schedule_steps"] == 1_000  # epsilon keeps the horizon it started with
    assert meta["num_updates"] > first["num_updates"]
    steps = [int(line.split(",")[0]) for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]]
    assert max(steps) == 1_600
    tags = {line.split(",")[2] for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]}
    assert {"losses/td_loss", "losses/q_values", "losses/grad_norm", "charts/epsilon"} <= tags


def test_linear_lr_schedule_decays_to_zero_and_is_logged(tmp_path: Path) -> None:
    config = make_config(
        total_steps=1_000,
        run_dir=str(tmp_path),
        learning_rate=1e-3,
        lr_schedule="linear",
        log_interval=10,
        **FAST,
    )
    agent = DQNAgent(config, gym.make_vec("CartPole-v1", 2))
    agent.learn(500)  # the horizon is the first learn() call's
    assert agent.learning_rate_factor == 0.0
    (group,) = agent.optimizer.param_groups  # set before each phase: the last ran at step 496 (every 8)
    assert group["lr"] == pytest.approx(1e-3 * (1 - 496 / 500))
    run_dir = train(config)
    rows = [line.split(",") for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]]
    logged = [(int(step), float(value)) for step, _, tag, value in rows if tag == "charts/learning_rate"]
    assert len(logged) > 5
    assert all(value == pytest.approx(1e-3 * (1 - step / 1_000)) for step, value in logged)
    constant = DQNAgent(make_config(learning_rate=1e-3, **FAST), gym.make_vec("CartPole-v1", 2))
    constant.learn(300)
    assert constant.optimizer.param_groups[0]["lr"] == 1e-3
    assert "charts/learning_rate" not in constant.training_stats()


def test_the_last_losses_are_logged_even_with_fewer_updates_than_log_interval(tmp_path: Path) -> None:
    config = make_config(total_steps=600, run_dir=str(tmp_path), log_interval=10_000, **FAST)
    run_dir = train(config)
    rows = [line.split(",") for line in (run_dir / "metrics.csv").read_text().splitlines()[1:]]
    losses = [int(step) for step, _, tag, _ in rows if tag == "losses/td_loss"]
    assert losses == [600]


# ------------------------------------------------------------------------------------------ config errors
def test_continuous_actions_are_a_config_error_naming_the_fix() -> None:
    with pytest.raises(ConfigError, match="action_type=discrete"):
        DQNAgent(make_config("Pendulum-v1", **FAST), gym.make_vec("Pendulum-v1", 2))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"learning_rat": 1e-3}, "did you mean 'learning_rate'"),
        ({"gradient_steps": 0}, "gradient_steps"),
        ({"gamma": 1.5}, "gamma"),
        ({"exploration_final_eps": 0.5, "exploration_initial_eps": 0.1}, "exploration_final_eps"),
        ({"random_shift_pad": 4}, "image"),
    ],
)
def test_bad_hyper_parameters_are_config_errors(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DQNAgent(make_config(**params), gym.make_vec("CartPole-v1", 2))


# ------------------------------------------------------------------------------------------ pixels, options
@pytest.mark.parametrize("device", DEVICES)
def test_pixel_rainbow_lite_runs_end_to_end(device: str, tmp_path: Path) -> None:
    """CNN + frame stack + random shift + dueling + n-step + PER + bf16 on channel-last uint8 images."""
    params = {
        **FAST,
        "frame_stack": 4,
        "random_shift_pad": 2,
        "dueling": True,
        "n_steps": 3,
        "prioritized_replay": True,
        "bf16": True,
        "learning_starts": 40,
        "train_freq": 2,
    }
    config = make_config(device=device, **params)
    agent = DQNAgent(config, CountingVecEnv(num_envs=2, length=5, image=True))
    agent.learn(120)
    assert agent.num_updates > 0
    assert agent.replay.frames.shape[1:] == (40, 40, 1)  # single frames stored
    obs = CountingVecEnv(num_envs=3, image=True).reset()[0]
    assert agent.act(obs).shape == (3,)
    agent.save(tmp_path)
    restored = DQNAgent.load(tmp_path, config, CountingVecEnv(num_envs=2, length=5, image=True))
    np.testing.assert_array_equal(
        agent.act(obs, episode_start=np.ones(3, bool)), restored.act(obs, episode_start=np.ones(3, bool))
    )


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_torch_compile_gives_the_eager_updates(device: str) -> None:
    """``torch_compile=True`` runs the same update step: from identical weights and replay, 20 compiled
    updates land where 20 eager ones do (inductor may reorder float sums: close, not bit-equal)."""
    params = {**FAST, "learning_starts": 10_000, "exploration_final_eps": 1.0}  # random acting, no updates
    agents = []
    for compiled in (False, True):
        torch.manual_seed(0)
        agent = DQNAgent(
            make_config(device=device, torch_compile=compiled, **params), gym.make_vec("CartPole-v1", 2)
        )
        agent.learn(400)  # fills the replay buffer identically (every action uniformly random)
        agents.append(agent)
    eager, compiled = agents
    written = (eager.replay.filled_rows + 1) * eager.num_envs  # the rest of the buffer is uninitialised
    torch.testing.assert_close(compiled.replay.frames[:written], eager.replay.frames[:written])
    for agent in agents:
        for _ in range(20):
            agent.update()
        agent.update_target()
    for a, b in zip(eager.q_network.parameters(), compiled.q_network.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    obs = torch.randn(8, 4, device=device)
    torch.testing.assert_close(compiled._q(obs), eager._q(obs), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------ learning
LEARNING = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 50_000,
    "learning_starts": 1_000,
    "target_update_interval": 10,
    "train_freq": 64,
    "gradient_steps": 64,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "net_arch": [64, 64],
}


class StopAtReturn:
    """A monitor that evaluates the greedy policy every ``every`` steps and stops training once the
    mean return reaches ``target`` (the agent protocol's ``on_step`` returning False)."""

    def __init__(self, agent: DQNAgent, target: float, every: int = 2_500) -> None:
        self.agent, self.target, self.every = agent, target, every
        self.envs = gym.make_vec("CartPole-v1", 10)
        self.next_eval, self.best = every, -np.inf

    def on_step(self, global_step: int, rewards, terminated, truncated, infos=None) -> bool:
        if global_step < self.next_eval:
            return True
        self.next_eval += self.every
        result = evaluate(
            lambda obs, starts: self.agent.act(obs, True, starts), self.envs, episodes=10, seed=123
        )
        self.best = max(self.best, result["eval/return_mean"])
        return self.best < self.target

    def log(self, step: int, scalars: dict) -> None:
        pass


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [
        {"double_q": True},
        {"double_q": True, "dueling": True},
        {"double_q": True, "n_steps": 3},
    ],
    ids=["double", "dueling", "n_step"],
)
def test_variants_reach_195_on_cartpole_within_30k_steps(variant: dict) -> None:
    config = make_config(num_envs=4, seed=0, **{**LEARNING, **variant})
    agent = DQNAgent(config, gym.make_vec("CartPole-v1", 4))
    monitor = StopAtReturn(agent, target=195)
    agent.learn(30_000, monitor)
    assert monitor.best >= 195, f"best greedy mean return {monitor.best:.1f} after {agent.global_step} steps"
