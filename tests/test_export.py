"""Exported policies (``rlsuite export``, :mod:`rlsuite.export`) agree with ``rlsuite eval``'s policy.

For each family a tiny run is trained and exported; then 10,000 observations drawn from the env (100
envs stepped 100 times with random actions, episodes ending and restarting on the way) go through the
agent's own ``act(obs, deterministic=True, episode_start=...)`` (the policy ``rlsuite eval`` runs) and
through the exported file, fed as its input contract says (frames stacked by the caller). Actions
must agree on every observation, and the file's ``values`` must agree with the torch module it was
exported from within 1e-5 (max absolute difference).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.cli import main
from rlsuite.config import ConfigError, algorithm_class
from rlsuite.export import export_run, load_table, policy_module, table_actions
from rlsuite.training import load_agent, load_run_config, make_agent_envs, resolve_run_checkpoint

TOLERANCE = 1e-5
NUM_ENVS, STEPS = 100, 100  # 10,000 observations
QUIET = {"train.eval_every": 0, "train.eval_episodes": 1, "log.progress": "none"}
RACETRACK_STATE = {"obs_type": "state", "action_type": "discrete"}


def _train(tmp_path: Path, config: dict[str, Any], steps: int = 256) -> Path:
    overrides = {**QUIET, "train.total_steps": steps, "log.run_dir": str(tmp_path / "runs")}
    return rlsuite.train(config, overrides=overrides).run_dir


class _LastFrames(gym.vector.VectorWrapper):
    """Remembers the raw observations of the envs under a feature (or stacking) wrapper."""

    last: np.ndarray

    def reset(self, **kwargs):
        self.last, info = self.env.reset(**kwargs)
        return self.last, info

    def step(self, actions):
        self.last, *rest = self.env.step(actions)
        return (self.last, *rest)


def _push(stack: np.ndarray | None, frames: np.ndarray, starts: np.ndarray, meta: dict) -> np.ndarray:
    """The caller's side of the input contract: the last k frames along the last axis, oldest first."""
    k = meta["input"]["frame_stack"]
    if k == 1:
        return frames
    c = frames.shape[-1]
    fill = np.concatenate([frames] * k, axis=-1) if meta["input"]["episode_start_fill"] == "first" else None
    if fill is None:
        fill = np.zeros((*frames.shape[:-1], c * k), frames.dtype)
        fill[..., -c:] = frames
    if stack is None:
        return fill
    pushed = np.concatenate([stack[..., c:], frames], axis=-1)
    return np.where(starts.reshape(-1, *[1] * (frames.ndim - 1)), fill, pushed)


def _parity(run_dir: Path, tmp_path: Path, fmt: str = "onnx") -> dict[str, Any]:
    """Export ``run_dir``'s last checkpoint as ``fmt`` and hold it to the agent on 10,000 observations."""
    import torch

    exported = export_run(run_dir, tmp_path / f"export-{fmt}", fmt, checkpoint="last")
    meta = json.loads((exported.directory / "policy.json").read_text())
    assert meta["file"] == exported.policy.name and exported.policy.is_file()
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(exported.policy), providers=["CPUExecutionProvider"])
        run_file = lambda x: session.run(None, {"observation": x})  # noqa: E731
    else:
        scripted = torch.jit.load(str(exported.policy))
        run_file = lambda x: [t.numpy() for t in scripted(torch.from_numpy(x))]  # noqa: E731

    config = load_run_config(run_dir)
    envs = make_agent_envs(config, NUM_ENVS)
    agent = load_agent(
        algorithm_class(config.agent.algo), resolve_run_checkpoint(run_dir, "last"), config, envs
    )
    try:
        module, _ = policy_module(agent, envs)
        raw = None
        if hasattr(envs, "frame_stack"):  # a feature (or stacking) env: the caller sees its raw frames
            raw = envs.env = _LastFrames(envs.env)
        envs.action_space.seed(0)
        obs, _ = envs.reset(seed=123)
        starts = np.ones(NUM_ENVS, bool)
        done = np.zeros(NUM_ENVS, bool)
        stack, worst, episodes = None, 0.0, 0
        for _ in range(STEPS):
            frames = raw.last if raw is not None else obs
            stack = _push(stack, frames, starts, meta)
            assert stack.dtype == np.dtype(meta["input"]["dtype"])
            assert list(stack.shape[1:]) == meta["input"]["shape"][1:]
            expected = agent.act(obs, deterministic=True, episode_start=starts)
            action, values = run_file(np.ascontiguousarray(stack))
            with torch.no_grad():
                torch_action, torch_values = module(torch.from_numpy(np.ascontiguousarray(stack)))
            worst = max(worst, float(np.abs(values - torch_values.numpy()).max()))
            if np.issubdtype(np.asarray(expected).dtype, np.integer):
                np.testing.assert_array_equal(action, expected)
                np.testing.assert_array_equal(action, torch_action.numpy())
            else:
                np.testing.assert_allclose(action, expected, rtol=0, atol=TOLERANCE)
            obs, _, terminated, truncated, _ = envs.step(action)
            # NEXT_STEP autoreset: the step after a done returns the new episode's first observation
            starts, done = done, terminated | truncated
            episodes += int(done.sum())
    finally:
        agent.close()
    assert worst <= TOLERANCE, f"values differ from the torch module by {worst:g}"
    return {"meta": meta, "episodes": episodes, "worst": worst}


# --------------------------------------------------------------------------------------------
# Our agents
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dqn_state_run(tmp_path_factory) -> Path:
    env = {"id": "rlsuite/Racetrack-v0", "num_envs": 4, "kwargs": RACETRACK_STATE}
    return _train(
        tmp_path_factory.mktemp("dqn"), {"env": env, "agent": {"algo": "dqn", "learning_starts": 64}}
    )


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_dqn_state_export_matches_the_agent(dqn_state_run, tmp_path, fmt):
    result = _parity(dqn_state_run, tmp_path, fmt)
    meta = result["meta"]
    assert meta["env"] == {"id": "rlsuite/Racetrack-v0", "kwargs": RACETRACK_STATE}
    assert meta["input"]["shape"] == [None, 14] and meta["input"]["frame_stack"] == 1
    assert meta["action_space"] == {"type": "Discrete", "n": 9, "start": 0}
    assert result["episodes"] > 0  # the draw crossed episode boundaries


def test_dqn_pixels_with_a_frozen_encoder_exports_encoder_and_frame_stack(tmp_path):
    """Frozen shipped encoder feeding features (store_features): the graph takes the raw 2-frame stack."""
    env = {
        "id": "rlsuite/Racetrack-v0",
        "num_envs": 4,
        "kwargs": {"obs_type": "pixels", "action_type": "discrete", "pixel_shape": 84, "grayscale": True},
    }
    config = {
        "env": env,
        "agent": {"algo": "dqn", "learning_starts": 64, "frame_stack": 2, "net_arch": [32]},
        "encoder": {"checkpoint": "driving", "freeze": True},
    }
    result = _parity(_train(tmp_path, config), tmp_path)
    meta = result["meta"]
    assert meta["input"]["dtype"] == "uint8" and meta["input"]["shape"] == [None, 84, 84, 2]
    assert meta["input"]["frame_stack"] == 2 and meta["input"]["episode_start_fill"] == "first"
    assert meta["encoder"] == {"checkpoint": "driving", "frozen": True}


def test_pqn_with_its_own_frame_stack_matches_the_agent(tmp_path):
    env = {"id": "rlsuite/Racetrack-v0", "num_envs": 8, "kwargs": RACETRACK_STATE}
    config = {"env": env, "agent": {"algo": "pqn", "num_steps": 8, "frame_stack": 3}}
    meta = _parity(_train(tmp_path, config), tmp_path)["meta"]
    assert meta["input"]["shape"] == [None, 42] and meta["input"]["frame_stack"] == 3


def test_tabular_table_reproduces_act(tmp_path):
    """The .npz table and rlsuite.export.table_actions give the agent's greedy actions, numpy only."""
    config = {
        "env": {"id": "CartPole-v1", "num_envs": 8},
        "agent": {"algo": "double_q_learning", "bins": [1, 6, 12, 12], "low": [-2.4, -3, -0.21, -3.5],
                  "high": [2.4, 3, 0.21, 3.5]},
    }  # fmt: skip
    run_dir = _train(tmp_path, config, steps=4_000)
    exported = export_run(run_dir, tmp_path / "table", checkpoint="last")
    assert exported.policy.name == "policy.npz" and exported.metadata["file_format"] == "table"
    table = load_table(exported.policy)
    policy = rlsuite.load(run_dir, "last")
    rng = np.random.default_rng(0)
    observations = rng.uniform([-3, -4, -0.3, -4], [3, 4, 0.3, 4], (10_000, 4)).astype(np.float32)
    actions = policy.predict(observations)[0]
    np.testing.assert_array_equal(table_actions(table, observations), actions)
    assert len(set(actions.tolist())) == 2  # both actions occur: the comparison can fail


# --------------------------------------------------------------------------------------------
# Refusals: clear errors, nothing written
# --------------------------------------------------------------------------------------------
def test_refusals_write_nothing(dqn_state_run, tmp_path, capsys):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="not a run directory"):
        export_run(tmp_path, out)
    with pytest.raises(ConfigError, match="format: got 'tflite'; allowed: onnx, torchscript, table"):
        export_run(dqn_state_run, out, "tflite")
    with pytest.raises(ConfigError, match="table is for the tabular agents"):
        export_run(dqn_state_run, out, "table")
    assert not out.exists()
    out.mkdir()
    with pytest.raises(ConfigError, match="exists; choose another --out or pass --force"):
        export_run(dqn_state_run, out, checkpoint="last")
    assert list(out.iterdir()) == []
    assert main(["export", str(dqn_state_run), "--out", str(out), "--checkpoint", "last", "--force"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["policy.json", "policy.onnx"]
    assert "policy.onnx" in capsys.readouterr().out


def test_a_tabular_run_has_no_graph(tmp_path, capsys):
    config = {"env": {"id": "FrozenLake-v1"}, "agent": {"algo": "q_learning"}}
    run_dir = _train(tmp_path, config, steps=500)
    assert main(["export", str(run_dir), "--format", "onnx", "--out", str(tmp_path / "x")]) == 2
    assert "tabular agent without a network" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    exported = export_run(run_dir, tmp_path / "t", checkpoint="last")  # Discrete observations
    policy = rlsuite.load(run_dir, "last")
    states = np.arange(16)
    np.testing.assert_array_equal(
        table_actions(load_table(exported.policy), states), policy.predict(states)[0]
    )


# --------------------------------------------------------------------------------------------
# Stable-Baselines3 and RLlib
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_sb3_ppo_discrete_matches_predict(tmp_path):
    pytest.importorskip("stable_baselines3")
    env = {"id": "rlsuite/Racetrack-v0", "num_envs": 4, "kwargs": RACETRACK_STATE}
    config = {"env": env, "agent": {"algo": "sb3.ppo", "n_steps": 32, "batch_size": 64, "n_epochs": 1}}
    meta = _parity(_train(tmp_path, config), tmp_path)["meta"]
    assert meta["outputs"]["values"] == "logits"


@pytest.mark.slow
def test_sb3_sac_continuous_squashes_and_scales_as_predict(tmp_path):
    pytest.importorskip("stable_baselines3")
    config = {
        "env": {"id": "Pendulum-v1", "num_envs": 2},
        "agent": {"algo": "sb3.sac", "learning_starts": 64, "batch_size": 32, "train_freq": 1},
    }
    meta = _parity(_train(tmp_path, config, steps=200), tmp_path)["meta"]
    assert meta["action_space"]["low"] == -2.0 and meta["outputs"]["values"] == "action_mean"


@pytest.mark.slow
def test_rllib_ppo_module_matches_act(tmp_path, ray_session):
    config = {
        "env": {"id": "CartPole-v1", "num_envs": 2},
        "agent": {"algo": "rllib.ppo", "train_batch_size": 64, "minibatch_size": 32, "num_epochs": 1},
    }
    meta = _parity(_train(tmp_path, config, steps=64), tmp_path)["meta"]
    assert meta["outputs"]["values"] == "logits"


# --------------------------------------------------------------------------------------------
# The torch-free runtime: examples/deploy_onnx.py
# --------------------------------------------------------------------------------------------
_NO_TORCH = """
import runpy, sys
class _NoTorch:  # torch (and anything under it) cannot be imported, as in a venv of rlsuite[deploy]
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"{name}: torch is blocked in this test")
sys.meta_path.insert(0, _NoTorch())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
assert "torch" not in sys.modules
"""


def test_the_deploy_example_drives_the_env_without_torch(tmp_path, monkeypatch):
    """``examples/deploy_onnx.py`` on a zoo agent's export, run as a user runs it from a clone's root
    (a relative path, as ``rlsuite export`` prints it), in a process where torch cannot be imported."""
    import subprocess
    import sys

    pytest.importorskip("onnxruntime")
    monkeypatch.chdir(tmp_path)
    assert main(["export", "highway-pqn"]) == 0
    example = Path(__file__).parents[1] / "examples" / "deploy_onnx.py"
    done = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(example), "export/highway-pqn-onnx"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "pqn on rlsuite/Highway-v0: one episode, return" in done.stdout
