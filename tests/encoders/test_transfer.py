"""Pretrained encoders inside agents: frozen, fine-tuned, the feature env, the CLI path end to end."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
import yaml

from rlsuite.cli import main
from rlsuite.config import ConfigError, load_config
from rlsuite.encoders import build_encoder, save_encoder
from rlsuite.encoders.transfer import FeatureObservations
from rlsuite.training import make_agent_envs, train

PIXELS = {"obs_type": "pixels", "action_type": "discrete", "pixel_shape": 40, "grayscale": True}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A small compact encoder for 40×40 grayscale Racetrack frames, 2 stacked."""
    torch.manual_seed(0)
    stem = tmp_path_factory.mktemp("enc") / "encoder"
    save_encoder(
        build_encoder("compact", (40, 40, 2), 16), stem, {"frame_stack": 2, "frame_shape": [40, 40, 1]}
    )
    return str(stem)


def config(tmp_path, checkpoint, **encoder):
    return load_config(
        None,
        [
            "env.id=rlsuite/Racetrack-v0",
            "env.num_envs=4",
            f"env.kwargs={json.dumps(PIXELS)}",
            "agent={algo: dqn, batch_size: 16, learning_starts: 64, buffer_size: 2000, train_freq: 1, "
            "frame_stack: 2, net_arch: [16], learning_rate: 0.001}",
            f"encoder={json.dumps({'checkpoint': checkpoint, **encoder})}",
            "train.total_steps=256",
            "train.eval_every=0",
            "train.eval_episodes=2",
            "train.device=cpu",
            f"log.run_dir={tmp_path}",
            "log.progress=none",
        ],
    )


def test_frozen_encoder_gives_a_feature_env_and_a_replay_of_features(tmp_path, checkpoint):
    from rlsuite.agents.dqn import DQNAgent

    cfg = config(tmp_path, checkpoint, freeze=True)
    envs = make_agent_envs(cfg)
    try:
        assert isinstance(envs, FeatureObservations) and envs.single_observation_space.shape == (16,)
        agent = DQNAgent(cfg, envs)
        agent.learn(256)
        assert agent.replay.frames.shape[-1] == 16 and agent.replay.frames.dtype == torch.float32
        assert agent.frame_stack == 1 and agent.num_updates > 0
    finally:
        envs.close()


def test_feature_env_equals_encoding_the_agents_own_frame_stack(checkpoint):
    """Features = encoder(last 2 frames), the first frame repeated at every (auto)reset."""
    from rlsuite.encoders import load_encoder

    encoder, _ = load_encoder(checkpoint)
    raw = gym.make_vec("rlsuite/Racetrack-v0", num_envs=3, **PIXELS, max_episode_steps=5)
    wrapped = FeatureObservations(
        gym.make_vec("rlsuite/Racetrack-v0", num_envs=3, **PIXELS, max_episode_steps=5), encoder, 2
    )
    frames, _ = raw.reset(seed=3)
    features, _ = wrapped.reset(seed=3)
    previous, done = frames, np.zeros(3, bool)
    rng = np.random.default_rng(0)
    for _ in range(12):  # crosses two autoresets
        actions = rng.integers(0, 9, 3)
        with torch.no_grad():
            expected = encoder(torch.from_numpy(np.concatenate([previous, frames], -1))).numpy()
        np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)
        new_frames, _, term, trunc, _ = raw.step(actions)
        features, *_ = wrapped.step(actions)
        previous = np.where(done[:, None, None, None], new_frames, frames)
        frames, done = new_frames, term | trunc
    raw.close(), wrapped.close()


def test_frozen_encoder_without_feature_storage_receives_no_gradient(tmp_path, checkpoint):
    from rlsuite.agents.dqn import DQNAgent

    cfg = config(tmp_path, checkpoint, freeze=True, store_features=False)
    envs = make_agent_envs(cfg)
    try:
        agent = DQNAgent(cfg, envs)
        before = {k: v.clone() for k, v in agent.q_network.encoder.state_dict().items()}
        agent.learn(256)
        assert agent.num_updates > 0
        for name, weight in agent.q_network.encoder.named_parameters():
            assert weight.grad is None and torch.equal(weight, before[name]), name
        assert agent.replay.frames.dtype == torch.uint8  # frames, not features
    finally:
        envs.close()


def test_fine_tuning_scales_the_encoders_learning_rate(tmp_path, checkpoint):
    from rlsuite.agents.dqn import DQNAgent

    cfg = config(tmp_path, checkpoint, freeze=False, lr_scale=0.1)
    envs = make_agent_envs(cfg)
    try:
        agent = DQNAgent(cfg, envs)
        lrs = sorted(g["lr"] for g in agent.optimizer.param_groups)
        assert lrs == pytest.approx([1e-4, 1e-3])
        before = agent.q_network.encoder.linear.weight.clone()
        agent.learn(256)
        assert not torch.equal(before, agent.q_network.encoder.linear.weight)  # it does learn
    finally:
        envs.close()


def test_a_mismatched_frame_shape_fails_before_anything_is_written(tmp_path, checkpoint):
    cfg = config(tmp_path / "runs", checkpoint, freeze=True)
    cfg.env.kwargs = {**PIXELS, "pixel_shape": 48}
    with pytest.raises(
        ConfigError, match=r"pretrained on frames of shape \(40, 40, 1\).*gives \(48, 48, 1\)"
    ):
        train(cfg)
    cfg.env.kwargs = {**PIXELS, "grayscale": False}
    with pytest.raises(ConfigError, match="grayscale: true"):
        train(cfg)
    cfg.env.kwargs = dict(PIXELS)
    cfg.agent.params.frame_stack = 4
    with pytest.raises(ConfigError, match="agent.frame_stack: got 4.*takes 2 stacked frames"):
        train(cfg)
    assert not (tmp_path / "runs").exists()


def test_online_auxiliary_objective_trains_next_to_the_td_loss(tmp_path, checkpoint):
    from rlsuite.agents.dqn import DQNAgent

    cfg = config(tmp_path, checkpoint, freeze=False)
    cfg.agent.params.aux_objective = "atc"
    envs = make_agent_envs(cfg)
    try:
        agent = DQNAgent(cfg, envs)
        w = agent.aux.weight.clone()
        agent.learn(256)
        assert not torch.equal(w, agent.aux.weight)
        agent.save(tmp_path / "ckpt")
        again = DQNAgent.load(tmp_path / "ckpt", cfg, envs)
        assert torch.equal(again.aux.weight, agent.aux.weight)
    finally:
        envs.close()


def test_pretrain_probe_train_path_from_the_cli(tmp_path, capsys):
    source = {
        "id": "rlsuite/Racetrack-v0",
        "kwargs": {**PIXELS, "track": "random"},
        "frames": 320,
        "num_envs": 8,
    }
    pretrain_config = {
        "data": [source],
        "encoder": {"type": "compact", "features_dim": 16, "frame_stack": 2},
        "objective": {"name": "atc", "temporal_shift": 2},
        "train": {"steps": 6, "batch_size": 32, "log_every": 2, "image_every": 3, "device": "cpu"},
        "probe": {
            "fit": [{**source, "seed": 5}],
            "test": [{**source, "kwargs": {**PIXELS, "track": "oval"}, "seed": 6}],
        },
        "output": str(tmp_path / "shipped" / "mine"),
        "log": {"run_dir": str(tmp_path / "runs")},
    }  # fmt: skip
    path = tmp_path / "pretrain.yaml"
    path.write_text(yaml.safe_dump(pretrain_config))
    assert main(["pretrain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "linear probe" in out and "random_init" in out
    run_dir = next((tmp_path / "runs").glob("pretrain-atc-*"))
    probe = json.loads((run_dir / "probe.json").read_text())
    assert set(probe["encoder"]["r2"]) == {"speed", "heading_error", "lateral_offset"}
    from rlsuite.plots import read_scalars

    assert "pretrain/accuracy" in read_scalars(run_dir)
    events = next(run_dir.glob("events.out.tfevents.*")).read_bytes()
    assert b"pretrain/frames_and_views" in events and b"PNG" in events

    assert (
        main(
            [
                "probe",
                str(path),
                "--checkpoint",
                str(tmp_path / "shipped" / "mine"),
                "--output",
                str(tmp_path / "p.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "p.json").read_text())["test_frames"] == 320

    train_args = [
        "train", "env.id=rlsuite/Racetrack-v0", "env.num_envs=4", f"env.kwargs={json.dumps(PIXELS)}",
        "agent={algo: dqn, batch_size: 16, learning_starts: 32, frame_stack: 2, net_arch: [16]}",
        f"encoder={{checkpoint: {tmp_path / 'shipped' / 'mine'}, freeze: true}}",
        "train.total_steps=128", "train.eval_every=0", "train.eval_episodes=2", f"log.run_dir={tmp_path / 'rl'}",
        "log.progress=none",
    ]  # fmt: skip
    assert main(train_args) == 0
    rl_dir = next((tmp_path / "rl").glob("dqn-*"))
    assert main(["eval", str(rl_dir), "--episodes", "2"]) == 0


class _Frames(gym.Env):
    """uint8 frames with no state the ``state`` objective could read."""

    observation_space = gym.spaces.Box(0, 255, (40, 40, 1), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


def test_pretrain_state_objective_from_the_cli(tmp_path, capsys):
    """Transfer pretraining: each source's head regresses its state observation (Racetrack: 14 values
    in pixel mode too; Highway: the ego's and nearest cars' kinematics)."""
    sources = [
        {"id": "rlsuite/Racetrack-v0", "kwargs": {**PIXELS, "track": "random"}, "frames": 160, "num_envs": 8},
        {"id": "rlsuite/Highway-v0", "kwargs": {"obs_type": "pixels", "pixel_shape": 40, "grayscale": True},
         "frames": 80, "num_envs": 8},
    ]  # fmt: skip
    pretrain_config = {
        "data": sources,
        "encoder": {"type": "compact", "features_dim": 16, "frame_stack": 2},
        "objective": {"name": "state"},
        "train": {"steps": 4, "batch_size": 32, "log_every": 2, "device": "cpu"},
        "log": {"run_dir": str(tmp_path / "runs")},
    }
    path = tmp_path / "pretrain.yaml"
    path.write_text(yaml.safe_dump(pretrain_config))
    assert main(["pretrain", str(path)]) == 0
    assert "fit" in capsys.readouterr().out
    run_dir = next((tmp_path / "runs").glob("pretrain-state-*"))
    meta = json.loads((run_dir / "encoder.json").read_text())
    racetrack, highway = meta["targets"]
    assert racetrack[:3] == ["speed", "heading_error", "lateral_offset"] and len(racetrack) == 14
    assert len(highway) == 25 and highway[2] == "vehicle0_y"
    from rlsuite.plots import read_scalars

    assert "pretrain/fit" in read_scalars(run_dir)

    gym.register("rlsuite_test/Frames-v0", entry_point=_Frames)
    try:
        pretrain_config["data"] = [{"id": "rlsuite_test/Frames-v0", "frames": 64, "num_envs": 2}]
        pretrain_config["log"]["run_dir"] = str(tmp_path / "refused")
        path.write_text(yaml.safe_dump(pretrain_config))
        assert main(["pretrain", str(path)]) == 2
        assert "objective 'state' regresses the env's state observation" in capsys.readouterr().err
        assert not (tmp_path / "refused").exists()
    finally:
        gym.registry.pop("rlsuite_test/Frames-v0")


def test_pretrain_config_errors_name_the_key(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"data": [{"id": "rlsuite/Racetrack-v0", "frame": 10}]}))
    assert main(["pretrain", str(path)]) == 2
    assert "data[0].frame: unknown key (did you mean 'frames'?)" in capsys.readouterr().err
    path.write_text(
        yaml.safe_dump({"data": [{"id": "rlsuite/Racetrack-v0", "kwargs": {"obs_type": "state"}}]})
    )
    assert main(["pretrain", str(path), f"log.run_dir={tmp_path / 'runs'}"]) == 2
    assert "encoders take uint8 (H, W, C) frames" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_sb3_takes_a_frozen_encoder_and_sees_its_features(tmp_path, checkpoint):
    pytest.importorskip("stable_baselines3")
    from rlsuite.config import from_dict, to_dict

    data = to_dict(config(tmp_path, checkpoint, freeze=True))
    data["agent"] = {"algo": "sb3.dqn", "learning_starts": 64, "batch_size": 16, "buffer_size": 1000}
    run_dir = train(from_dict(data))
    assert (run_dir / "checkpoints" / "last").is_dir()


@pytest.mark.parametrize("freeze", [False, True])
def test_sb3_fine_tunes_or_freezes_the_encoder_inside_its_policy(tmp_path, checkpoint, freeze):
    """Without the feature env (fine-tuning, or frozen with store_features: false) the encoder is SB3's
    features extractor: frames stacked by VecFrameStack, trained with the policy unless frozen (the
    target network holds its own copy), saved in SB3's zip and reloaded by `rlsuite eval`."""
    pytest.importorskip("stable_baselines3")
    from rlsuite.agents.sb3 import SB3DQN, PretrainedEncoder
    from rlsuite.config import from_dict, to_dict
    from rlsuite.encoders.checkpoint import load_encoder
    from rlsuite.training import evaluate_run, load_agent, load_run_config, make_agent_envs

    data = to_dict(config(tmp_path, checkpoint, freeze=freeze, store_features=False))
    data["agent"] = {
        "algo": "sb3.dqn", "learning_starts": 64, "batch_size": 16, "buffer_size": 1000, "learning_rate": 0.01,
    }  # fmt: skip
    run_dir = train(from_dict(data))
    cfg = load_run_config(run_dir)
    envs = make_agent_envs(cfg)
    try:
        agent = load_agent(SB3DQN, run_dir / "checkpoints" / "last", cfg, envs)
        policy = agent.model.policy
        online, target = policy.q_net.features_extractor, policy.q_net_target.features_extractor
        assert isinstance(online, PretrainedEncoder) and online is not target
        assert agent.model.observation_space.shape == (2, 40, 40)  # 2 stacked frames, channel-first
        pretrained, _ = load_encoder(checkpoint)
        trained = online.encoder.state_dict()
        changed = [k for k, v in pretrained.state_dict().items() if not torch.equal(v, trained[k])]
        assert bool(changed) != freeze, changed
        assert all(p.requires_grad != freeze for p in online.parameters())
        observations, _ = envs.reset(seed=0)
        assert envs.action_space.contains(agent.act(observations, episode_start=np.ones(4, bool)))
    finally:
        envs.close()
    assert np.isfinite(evaluate_run(run_dir, episodes=2)["eval/return_mean"])


def test_sb3_refuses_what_it_cannot_do_with_an_encoder(tmp_path, checkpoint):
    pytest.importorskip("stable_baselines3")
    from rlsuite.config import from_dict, to_dict

    data = to_dict(config(tmp_path, checkpoint, lr_scale=0.1))
    data["agent"] = {"algo": "sb3.dqn", "learning_starts": 64, "batch_size": 16, "buffer_size": 1000}
    with pytest.raises(ConfigError, match="encoder.lr_scale: got 0.1; sb3.dqn trains the whole policy"):
        train(from_dict(data))
    data["encoder"] = {"checkpoint": None}
    with pytest.raises(
        ConfigError, match="sb3.dqn cannot take a pixel encoder .* it takes features: .*remove the encoder"
    ):
        train(from_dict(data))
    assert not list(tmp_path.glob("*/config.yaml"))
