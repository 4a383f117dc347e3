"""Numerical guards: NaN/inf in rewards, observations or losses stops training with the step, the
quantity and the last checkpoint; ``train.nonfinite: skip`` skips bad DQN updates instead."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlsuite.agents.base import NonFiniteError
from rlsuite.cli import main
from rlsuite.config import load_config
from rlsuite.training import train


class Broken(gym.Env):
    """CartPole whose reward (or observation) turns bad after ``after`` steps."""

    metadata = {"render_modes": []}

    def __init__(self, what: str, after: int, value: float) -> None:
        self.env = gym.make("CartPole-v1").unwrapped
        self.observation_space, self.action_space = self.env.observation_space, self.env.action_space
        self.what, self.after, self.value, self.steps = what, after, value, 0

    def reset(self, *, seed=None, options=None):
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.steps > self.after:
            if self.what == "reward":
                reward = self.value
            else:
                obs = np.full_like(obs, self.value)
        return obs, reward, terminated, truncated, info


gym.register("rlsuite_test/Broken-v0", entry_point=Broken, max_episode_steps=500)


def config(tmp_path, what, after, value, *extra):
    return load_config(
        None,
        [
            "env.id=rlsuite_test/Broken-v0",
            "env.num_envs=2",
            f"env.kwargs={{what: {what}, after: {after}, value: {value}}}",
            "agent={algo: dqn, learning_starts: 64, batch_size: 16, buffer_size: 1000, train_freq: 1, log_interval: 1}",
            "train.total_steps=600",
            "train.eval_every=0",
            "train.checkpoint_every=100",
            "train.device=cpu",
            f"log.run_dir={tmp_path}",
            "log.progress=none",
            *extra,
        ],
    )


def test_a_nan_reward_stops_training_naming_step_quantity_and_checkpoint(tmp_path):
    with pytest.raises(
        NonFiniteError,
        match=r"step \d+: reward is not finite in sub-env\(s\) \[[01, ]+\].*"
        r"The last checkpoint is .*checkpoints/last \(step \d+\)",
    ):
        train(config(tmp_path, "reward", 150, ".nan"))


def test_a_nan_observation_stops_training(tmp_path):
    with pytest.raises(
        NonFiniteError, match=r"step \d+: observation of sub-env\(s\) \[[01, ]+\] is not finite"
    ):
        train(config(tmp_path, "obs", 150, ".inf"))


def test_an_exploding_loss_stops_training_or_is_skipped(tmp_path, capsys):
    # rewards of 1e38 overflow float32 returns: the TD loss becomes inf as soon as updates start
    with pytest.raises(NonFiniteError, match=r"losses/td_loss is not finite"):
        train(config(tmp_path / "stop", "reward", 0, "1.0e+38"))
    with pytest.warns(RuntimeWarning, match="update\\(s\\) skipped so far"):
        run_dir = train(config(tmp_path / "skip", "reward", 0, "1.0e+38", "train.nonfinite=skip"))
    from safetensors.torch import load_file

    weights = load_file(run_dir / "checkpoints" / "last" / "model.safetensors")
    assert all(torch.isfinite(v).all() for k, v in weights.items() if k.startswith("q_network."))


def test_the_cli_prints_the_stop_without_a_traceback(tmp_path, capsys):
    args = [
        "train", "env.id=rlsuite_test/Broken-v0", "env.num_envs=2", "env.kwargs={what: reward, after: 50, value: .nan}",
        "agent={algo: dqn, learning_starts: 64}", "train.total_steps=500", "train.eval_every=0",
        f"log.run_dir={tmp_path}", "log.progress=none",
    ]  # fmt: skip
    assert main(args) == 3
    err = capsys.readouterr().err
    assert "reward is not finite" in err and "No checkpoint was saved yet" in err and "Traceback" not in err
