"""The PQN agent: lambda-returns, NEXT_STEP handling, acting, checkpoints and exact resume, config
errors, pixels and pretrained encoders, learning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector.utils import batch_space
from safetensors.numpy import load_file

from rlsuite.agents.pqn import PQNAgent, RAdam, lambda_returns, layer_norm_mlp
from rlsuite.checkpoints import find_checkpoint
from rlsuite.config import ConfigError, from_dict, load_config
from rlsuite.training import evaluate, make_agent_envs, train

CONFIGS = Path(__file__).parents[2] / "experiments" / "configs"
FAST = {"net_arch": [16, 16], "num_steps": 8, "num_epochs": 2, "num_minibatches": 2}


def make_config(
    env_id: str = "CartPole-v1",
    num_envs: int = 2,
    seed: int = 0,
    total_steps: int = 1_000,
    run_dir: str = "runs",
    env_kwargs: dict | None = None,
    encoder: dict | None = None,
    train_extra: dict | None = None,
    **params: Any,
):
    return from_dict(
        {
            "env": {"id": env_id, "num_envs": num_envs, "kwargs": env_kwargs or {}},
            "agent": {"algo": "pqn", **params},
            **({"encoder": encoder} if encoder else {}),
            "train": {
                "total_steps": total_steps,
                "device": "cpu",
                "seed": seed,
                "eval_every": 0,
                "eval_episodes": 2,
                **(train_extra or {}),
            },
            "log": {"run_dir": run_dir, "progress": "none"},
        }
    )


class CountingVecEnv(gym.vector.VectorEnv):
    """Observation = step count in the episode; episodes last ``length`` steps and then terminate
    (even sub-envs) or are truncated (odd sub-envs); reward 1 per step. NEXT_STEP autoreset."""

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


# ------------------------------------------------------------------------------------------ lambda-returns
def test_lambda_returns_by_hand_cut_at_episode_ends_and_bootstrap_truncations() -> None:
    """Three sub-envs over 4 steps (gamma = lambda = 0.5): no done; terminated at t=1 (t=2 is the
    reset step); truncated at t=1, bootstrapping from its terminal observation's value 50."""
    rewards = torch.tensor([[1.0, 1.0, 1.0], [1.0, 2.0, 2.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    terminated = torch.zeros(4, 3, dtype=torch.bool)
    truncated = torch.zeros(4, 3, dtype=torch.bool)
    terminated[1, 1] = True
    truncated[1, 2] = True
    next_values = torch.tensor(
        [[10.0, 10.0, 10.0], [20.0, 99.0, 50.0], [30.0, 30.0, 30.0], [40.0, 40.0, 40.0]]
    )
    returns = lambda_returns(rewards, terminated, truncated, next_values, gamma=0.5, td_lambda=0.5)
    expected = torch.tensor(
        [
            # G0 = r0 + .5 (.5 V1 + .5 G1)     terminated: G0 = 1 + .5 (.5 * 10 + .5 * 2)
            [5.859375, 4.0, 10.25],
            # G1 = 1 + .5 (.5 * 20 + .5 G2) | 2: no bootstrap | 2 + .5 * 50: the terminal observation
            [9.4375, 2.0, 27.0],
            # G2 = 1 + .5 (.5 * 30 + .5 * 21) | the reset steps' returns (masked out of the loss)
            [13.75, 12.75, 12.75],
            # the rollout's last step bootstraps from V(s_T) alone: 1 + .5 * 40
            [21.0, 21.0, 21.0],
        ]
    )
    torch.testing.assert_close(returns, expected)
    one_step = lambda_returns(rewards, terminated, truncated, next_values, gamma=0.5, td_lambda=0.0)
    torch.testing.assert_close(one_step, rewards + 0.5 * (~terminated) * next_values)


def test_the_rollout_drops_reset_steps_and_targets_use_the_current_network() -> None:
    """Counting episodes of 3 steps + the reset step; Q(s) = (s, 0, 0), so max_a Q(s', a) = s'."""
    envs = CountingVecEnv(num_envs=2, length=3)
    agent = PQNAgent(make_config(gamma=0.5, td_lambda=0.5, **{**FAST, "num_steps": 6}), envs)
    agent._q = lambda obs: torch.cat([obs.float(), torch.zeros(len(obs), 2)], dim=1)
    seen = []
    agent.update = lambda: seen.append((agent._rollout_obs[:, :, 0].clone(), *agent.rollout_targets()))
    agent.learn(12)  # one rollout of 6 vector steps
    ((obs, returns, weights),) = seen
    assert obs[:, 0].tolist() == [0, 1, 2, 3, 0, 1, 2]  # s_0 … s_6
    # the step that leaves the terminal observation 3 is the reset step: weight 0; all others count
    assert weights.view(6, 2).tolist() == [[1, 1], [1, 1], [1, 1], [0, 0], [1, 1], [1, 1]]
    g = returns.view(6, 2)
    # sub-env 0 terminates at t=2 (G2 = 1), sub-env 1 is truncated there (G2 = 1 + .5 * 3)
    assert g[2].tolist() == [1.0, 2.5]
    assert g[1].tolist() == [1 + 0.5 * (0.5 * 2 + 0.5 * 1.0), 1 + 0.5 * (0.5 * 2 + 0.5 * 2.5)]
    assert g[5].tolist() == [1 + 0.5 * 2, 1 + 0.5 * 2]  # the rollout's last step: V(s_6) = 2


# ------------------------------------------------------------------------------------------ acting
def test_act_gives_one_action_for_one_observation_and_a_batch_for_a_batch() -> None:
    agent = PQNAgent(make_config(**FAST), gym.make_vec("CartPole-v1", 2))
    obs = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    batch = agent.act(obs)
    assert batch.shape == (5,) and set(batch.tolist()) <= {0, 1}
    assert np.ndim(agent.act(obs[0])) == 0 and agent.act(obs[0]) == batch[0]
    assert agent.act(obs, deterministic=False).shape == (5,)


def test_the_q_network_is_layer_normalised() -> None:
    head = layer_norm_mlp(4, [8, 8], 2)
    assert [type(m).__name__ for m in head] == ["Linear", "LayerNorm", "ReLU"] * 2 + ["Linear"]
    assert not any(isinstance(m, torch.nn.LayerNorm) for m in layer_norm_mlp(4, [8], 2, layer_norm=False))


def test_radam_is_torch_radam_bit_for_bit() -> None:
    torch.manual_seed(0)
    ours, theirs = layer_norm_mlp(4, [16], 2), layer_norm_mlp(4, [16], 2)
    theirs.load_state_dict(ours.state_dict())
    optimizers = [
        RAdam([{"params": list(ours.parameters()), "lr": 1e-2}]),
        torch.optim.RAdam(theirs.parameters(), lr=1e-2, foreach=True),
    ]
    x = torch.randn(32, 4)
    for _ in range(10):  # past RAdam's first, unrectified steps
        for net, optimizer in zip((ours, theirs), optimizers):
            optimizer.zero_grad()
            net(x).square().mean().backward()
            optimizer.step()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)


# ------------------------------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip_gives_identical_actions_and_state(tmp_path: Path) -> None:
    config = make_config(**FAST)
    agent = PQNAgent(config, gym.make_vec("CartPole-v1", 2))
    agent.learn(100)
    agent.save(tmp_path / "ckpt")
    restored = PQNAgent.load(tmp_path / "ckpt", config, gym.make_vec("CartPole-v1", 2))
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs), restored.act(obs))
    np.testing.assert_array_equal(agent.act(obs, deterministic=False), restored.act(obs, deterministic=False))
    assert (restored.global_step, restored.num_updates, restored.schedule_steps) == (100, 6, 100)
    for key, value in agent.optimizer.state_dict()["state"][0].items():
        assert torch.equal(value, restored.optimizer.state_dict()["state"][0][key])
    assert torch.equal(agent.generator.get_state(), restored.generator.get_state())
    with pytest.raises(ConfigError, match="does not fit"):
        PQNAgent.load(
            tmp_path / "ckpt", make_config(**{**FAST, "net_arch": [8]}), gym.make_vec("CartPole-v1", 2)
        )


class Crash(Exception):
    pass


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path: Path) -> None:
    """A crash after the step-1500 evaluation and a resume from the step-1000 checkpoint, which falls
    mid-rollout (32 env steps per rollout): the same weights as a run never stopped."""

    def config(name: str):
        return make_config(
            "rlsuite/Racetrack-v0",
            num_envs=4,
            total_steps=2_000,
            run_dir=str(tmp_path / name),
            env_kwargs={"obs_type": "state", "action_type": "discrete", "max_episode_steps": 50},
            train_extra={"eval_every": 500, "eval_episodes": 1, "checkpoint_every": 1_000},
            **FAST,
        )

    def crash_at_1500(monitor, step, result):
        if step >= 1500:
            raise Crash

    whole = train(config("whole"))
    with pytest.raises(Crash):
        train(config("crashed"), on_evaluation=crash_at_1500)
    (run_dir,) = (tmp_path / "crashed").iterdir()
    last = find_checkpoint(run_dir / "checkpoints", "last")
    assert json.loads((last / "agent.json").read_text())["global_step"] == 1_000
    assert load_file(last / "loop.safetensors")["agent.rollout"].shape[1] == (1_000 // 4) % 8  # mid-rollout
    train(config("crashed"), resume=run_dir)
    resumed, uninterrupted = (
        load_file(find_checkpoint(d / "checkpoints", "last") / "model.safetensors") for d in (run_dir, whole)
    )
    assert resumed.keys() == uninterrupted.keys()
    assert [k for k in resumed if not np.array_equal(resumed[k], uninterrupted[k])] == []


# ------------------------------------------------------------------------------------------ config errors
def test_continuous_actions_are_a_config_error_naming_the_fix() -> None:
    with pytest.raises(ConfigError, match="action_type=discrete"):
        PQNAgent(make_config("Pendulum-v1", **FAST), gym.make_vec("Pendulum-v1", 2))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"td_lamda": 0.9}, "did you mean 'td_lambda'"),
        ({"td_lambda": 1.5}, "td_lambda"),
        ({"num_steps": 0}, "num_steps"),
        ({"net_arch": []}, "net_arch"),
        ({"exploration_final_eps": 0.5, "exploration_initial_eps": 0.1}, "exploration_final_eps"),
        ({"num_steps": 2, "num_minibatches": 5}, "num_minibatches: got 5, more than the 4 transitions"),
        ({"optimizer": "sgd"}, "optimizer"),
    ],
)
def test_bad_hyper_parameters_are_config_errors(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PQNAgent(make_config(**params), gym.make_vec("CartPole-v1", 2))


# ------------------------------------------------------------------------------------------ pixels
def test_pixels_with_a_cnn_and_frame_stack_run_end_to_end(tmp_path: Path) -> None:
    config = make_config(frame_stack=3, encoder={"type": "compact", "features_dim": 16}, **FAST)
    agent = PQNAgent(config, CountingVecEnv(num_envs=2, length=5, image=True))
    agent.learn(40)
    assert agent.num_updates == 2 and agent._rollout_obs.shape[2:] == (40, 40, 3)
    # the third rollout so far: s_16 … s_20 count 4 5 0 1 2 (s_18 follows the reset step); the stack
    # of a new episode is its first frame three times
    stacks = agent._rollout_obs[:5, 0, 0, 0].tolist()
    assert stacks == [[20, 30, 40], [30, 40, 50], [0, 0, 0], [0, 0, 10], [0, 10, 20]]
    obs = CountingVecEnv(num_envs=3, image=True).reset()[0]
    starts = np.ones(3, bool)
    assert agent.act(obs, episode_start=starts).shape == (3,)
    agent.save(tmp_path)
    restored = PQNAgent.load(tmp_path, config, CountingVecEnv(num_envs=2, length=5, image=True))
    np.testing.assert_array_equal(
        agent.act(obs, episode_start=starts), restored.act(obs, episode_start=starts)
    )


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small compact encoder for 40×40 grayscale Racetrack frames, 2 stacked."""
    from rlsuite.encoders import build_encoder, save_encoder

    torch.manual_seed(0)
    stem = tmp_path_factory.mktemp("enc") / "encoder"
    save_encoder(
        build_encoder("compact", (40, 40, 2), 16), stem, {"frame_stack": 2, "frame_shape": [40, 40, 1]}
    )
    return str(stem)


@pytest.mark.parametrize("freeze", [True, False], ids=["features", "finetune"])
def test_pretrained_encoder_as_features_or_fine_tuned(tmp_path: Path, checkpoint: str, freeze: bool) -> None:
    pixels = {"obs_type": "pixels", "action_type": "discrete", "pixel_shape": 40, "grayscale": True}
    config = make_config(
        "rlsuite/Racetrack-v0",
        num_envs=4,
        env_kwargs=pixels,
        encoder={"checkpoint": checkpoint, "freeze": freeze},
        frame_stack=2,
        **FAST,
    )
    envs = make_agent_envs(config)
    try:
        agent = PQNAgent(config, envs)
        before = [w.clone() for w in agent.q_network.encoder.parameters()]
        agent.learn(64)
        assert agent.num_updates == 2
        if freeze:  # the envs give the frozen encoder's features (stacked there): 16 floats
            assert agent.frame_stack == 1 and agent._rollout_obs.shape[2:] == (16,)
        else:  # frames, stacked by the agent, through an encoder that learns
            assert agent._rollout_obs.shape[2:] == (40, 40, 2)
            assert any(not torch.equal(a, b) for a, b in zip(before, agent.q_network.encoder.parameters()))
    finally:
        envs.close()


# ------------------------------------------------------------------------------------------ learning
def test_the_shipped_cartpole_config_reaches_475() -> None:
    """experiments/configs/pqn_cartpole.yaml: 100k steps, then 10 greedy episodes on unseen seeds."""
    config = load_config(CONFIGS / "pqn_cartpole.yaml", ["train.device=cpu"])
    agent = PQNAgent(config, make_agent_envs(config))
    agent.learn(config.train.total_steps)
    envs = gym.make_vec("CartPole-v1", 10)
    result = evaluate(lambda obs, starts: agent.act(obs), envs, episodes=10, seed=123)
    assert result["eval/return_mean"] >= 475, result
