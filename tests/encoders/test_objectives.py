"""Encoder objectives: one protocol, one registry, used by ``rlsuite pretrain`` and by DQN's auxiliary loss."""

from __future__ import annotations

import json
import typing

import numpy as np
import pytest
import torch

from rlsuite.config import ConfigError, load_config
from rlsuite.encoders import (
    CURL,
    OBJECTIVES,
    Augment,
    FrameBatch,
    Objective,
    auxiliary_objective,
    auxiliary_objectives,
    build_encoder,
    register,
)
from rlsuite.encoders.data import FrameData
from rlsuite.encoders.objectives import objective_class
from rlsuite.encoders.pretrain import ObjectiveConfig, PretrainConfig, pretrain

PIXELS = {"obs_type": "pixels", "action_type": "discrete", "pixel_shape": 40, "grayscale": True}


def synthetic_source(steps: int, envs: int, offset: int, episode: int = 6) -> FrameData:
    """40×40 frames whose every pixel is ``offset + 10 t + n`` (so a frame tells where it was sampled),
    episodes of ``episode`` steps, state observation ``(t, n, 5)`` (the last one constant), the action
    taken at each frame one-hot of ``t % 3``."""
    t, n = np.meshgrid(np.arange(steps), np.arange(envs), indexing="ij")
    values = (offset + 10 * t + n).astype(np.uint8)
    return FrameData(
        frames=np.broadcast_to(values[:, :, None, None, None], (steps, envs, 40, 40, 1)).copy(),
        first=(t // episode) * episode,
        states=np.zeros((steps, envs, 0), np.float32),
        state_names=[],
        source=f"synthetic+{offset}",
        targets=np.stack([t, n, np.full_like(t, 5)], axis=-1).astype(np.float32),
        target_names=["t", "n", "five"],
        actions=np.eye(3, dtype=np.float32)[t % 3],
    )


def decode(frames: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(t, n)`` of each stacked batch's newest frame (sources apart: offset 0 or 128)."""
    value = frames[:, 0, 0, -1].numpy().astype(int) % 128
    return value // 10, value % 10


@pytest.fixture
def data() -> list[FrameData]:
    return [synthetic_source(12, 3, offset=0), synthetic_source(8, 2, offset=128)]


def build(name: str, data: list[FrameData]) -> Objective:
    torch.manual_seed(0)
    encoder = build_encoder("compact", (40, 40, 2), 16)
    clip = 1 if name == "atc_playback" else 3  # its span, shift 2 + gap 3, fills a 6-step episode
    config = ObjectiveConfig(name=name, temporal_shift=2, clip_length=clip, hidden_dim=32, prediction_steps=3)
    objective = OBJECTIVES[name].from_config(encoder, config, data)
    objective.prepare(data)
    return objective


# ------------------------------------------------------------------------------------ the registry
def test_the_registry_holds_every_objective_by_its_name():
    assert set(OBJECTIVES) == {"atc", "atc_playback", "curl", "playback", "spr", "spr_nce", "state"}
    for name, cls in OBJECTIVES.items():
        assert issubclass(cls, Objective) and cls.name == name and cls.summary
    # state needs the simulator's state, spr and spr_nce K steps of actions, the playback objectives
    # stacks of frames several steps apart: pretraining only
    assert auxiliary_objectives() == ["atc", "curl"]


def test_pretrain_and_dqn_configs_take_their_choices_from_the_registry():
    from rlsuite.agents.dqn import DQNParams

    names = typing.get_args(typing.get_type_hints(ObjectiveConfig)["name"])
    assert set(names) == set(OBJECTIVES)
    choices = typing.get_args(typing.get_type_hints(DQNParams)["aux_objective"])
    assert choices == ("none", *auxiliary_objectives())


def test_register_refuses_a_nameless_or_taken_name():
    class Nameless(Objective):
        pass

    with pytest.raises(ValueError, match="needs a name"):
        register(Nameless)
    with pytest.raises(ValueError, match="'curl'"):
        register(type("Again", (CURL,), {}))
    assert OBJECTIVES["curl"] is CURL


def test_unknown_and_unfit_objectives_are_clear_errors():
    registered = "registered: atc, atc_playback, curl, playback, spr, spr_nce, state"
    with pytest.raises(ConfigError, match=f"unknown objective 'byol'; {registered}"):
        objective_class("byol")
    from rlsuite.config import build as build_config

    allowed = "allowed: 'atc', 'atc_playback', 'curl', 'playback', 'spr', 'spr_nce', 'state'"
    with pytest.raises(ConfigError, match=f"objective.name: got 'byol'; {allowed}"):
        build_config(PretrainConfig, {"data": [{}], "objective": {"name": "byol"}})
    encoder = build_encoder("compact", (40, 40, 2), 16)
    with pytest.raises(ConfigError, match="'state' is pretraining-only; .* auxiliary loss: atc, curl"):
        auxiliary_objective("state", encoder)
    with pytest.raises(ConfigError, match="'byol' is not a registered objective; .*: atc, curl"):
        auxiliary_objective("byol", encoder)
    with pytest.raises(ConfigError, match="aux_objective: got 'state'; allowed: 'none', 'atc', 'curl'"):
        dqn_config("/unused", "state")


def test_state_refuses_a_source_without_a_state_observation(data):
    bare = synthetic_source(12, 3, offset=0)
    bare.target_names = []
    encoder = build_encoder("compact", (40, 40, 2), 16)
    with pytest.raises(ConfigError, match=r"data\[1\]: objective 'state' regresses .* synthetic\+0"):
        OBJECTIVES["state"].from_config(encoder, ObjectiveConfig(name="state"), [data[0], bare])


# ------------------------------------------------------------------------------------ sample → loss
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_samples_scores_and_trains_its_encoder(name, data):
    objective = build(name, data)
    rng, generator = np.random.default_rng(0), torch.Generator().manual_seed(0)
    batch = objective.sample(data, 16, rng, frame_stack=2)
    assert batch.anchors.shape == (16, 40, 40, 2) and batch.anchors.dtype == torch.uint8
    views = batch.augmented(Augment(2, 0.1), generator)
    assert views.frames.keys() == batch.frames.keys() and views.extras is batch.extras
    loss, scalars = objective.loss(views)
    assert loss.ndim == 0 and torch.isfinite(loss) and scalars
    assert all(not v.requires_grad and torch.isfinite(v) for v in scalars.values())
    before = [w.clone() for w in objective.encoder.parameters()]
    optimizer = torch.optim.Adam([w for w in objective.parameters() if w.requires_grad], lr=1e-3)
    loss.backward()
    optimizer.step()
    objective.update_target()
    assert any(not torch.equal(a, b) for a, b in zip(before, objective.encoder.parameters()))
    assert json.dumps(objective.metadata(data))  # what encoder.json records must be JSON


def test_contrastive_samples_pair_each_anchor_with_its_positive(data):
    rng = np.random.default_rng(1)
    atc = build("atc", data).sample(data, 30, rng, frame_stack=2)
    t, n = decode(atc.frames["anchors"])
    later, same_n = decode(atc.frames["positives"])
    assert (later == t + 2).all() and (same_n == n).all()  # temporal_shift steps later, same sub-env
    assert (later // 6 == t // 6).all()  # in the same episode
    assert (t[1:3] == t[0] + np.arange(1, 3)).all()  # anchors in clips of 3 consecutive frames
    curl = build("curl", data).sample(data, 30, rng, frame_stack=2)
    assert torch.equal(curl.frames["anchors"], curl.frames["positives"])  # two views of one frame


def test_state_samples_each_frames_own_targets_source_by_source(data):
    batch = build("state", data).sample(data, 40, np.random.default_rng(2), frame_stack=2)
    counts, targets = batch.extras["counts"], batch.extras["targets"]
    assert sum(counts) == 40 and all(c > 0 for c in counts)
    t, n = decode(batch.anchors)
    sources = batch.anchors[:, 0, 0, -1].numpy() >= 128
    assert (~sources[: counts[0]]).all() and sources[counts[0] :].all()
    both = torch.cat(targets).numpy()
    assert (both[:, 0] == t).all() and (both[:, 1] == n).all() and (both[:, 2] == 5).all()


def test_state_standardises_by_the_collected_frames(data):
    objective = build("state", data)
    flat = data[1].targets.reshape(-1, 3)
    assert torch.allclose(objective.mean1, torch.from_numpy(flat.mean(0)))
    assert torch.allclose(objective.scale1[:2], torch.from_numpy(1 / flat.std(0)[:2]))
    assert objective.scale1[2] == 0  # a constant value is left out of the loss
    assert objective.metadata(data) == {"targets": [["t", "n", "five"]] * 2}


# ------------------------------------------------------------------------------------ motion-aware: SPR
def test_spr_samples_an_anchor_its_next_k_frames_and_the_actions_between(data):
    batch = build("spr", data).sample(data, 30, np.random.default_rng(3), frame_stack=2)
    assert list(batch.frames) == ["anchors", "future1", "future2", "future3"]
    t, n = decode(batch.anchors)
    for k in (1, 2, 3):
        later, same_n = decode(batch.frames[f"future{k}"])
        assert (later == t + k).all() and (same_n == n).all() and (later // 6 == t // 6).all()
    counts, actions = batch.extras["counts"], torch.cat(batch.extras["actions"]).numpy()
    assert sum(counts) == 30 and actions.shape == (30, 3, 3)  # (batch, K steps, one-hot of 3 actions)
    assert (actions.argmax(-1) == (t[:, None] + np.arange(3)) % 3).all()  # a_t … a_t+K-1


@pytest.mark.parametrize("name", ["spr", "spr_nce"])
def test_spr_objectives_fit_a_small_batch(name, data):
    """A fixed batch, a few Adam steps: the loss falls (the transition model, heads and encoder learn)."""
    objective = build(name, data)
    batch = objective.sample(data, 24, np.random.default_rng(4), frame_stack=2)
    optimizer = torch.optim.Adam([w for w in objective.parameters() if w.requires_grad], lr=3e-3)
    losses = []
    for _ in range(25):
        loss, _ = objective.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        objective.update_target()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0]


def test_spr_target_moves_only_by_its_ema(data):
    """Gradients never reach the EMA target encoder and projection; update_target lerps them by momentum."""
    objective = build("spr", data)
    targets = [*objective.target_encoder.parameters(), *objective.target_projection.parameters()]
    before = [w.clone() for w in targets]
    loss, scalars = objective.loss(objective.sample(data, 16, np.random.default_rng(5), frame_stack=2))
    loss.backward()
    assert all(not w.requires_grad and w.grad is None for w in targets) and -1 <= scalars["cosine"] <= 1
    assert any(w.grad is not None and w.grad.abs().sum() > 0 for w in objective.encoder.parameters())
    torch.optim.SGD([w for w in objective.parameters() if w.requires_grad], lr=0.1).step()
    assert all(torch.equal(a, b) for a, b in zip(before, targets))  # the optimiser step left them alone
    online = [*objective.encoder.parameters(), *objective.projection.parameters()]
    objective.update_target()
    for old, new, o in zip(before, targets, online):
        torch.testing.assert_close(new, old + objective.momentum * (o - old))


def test_spr_with_inverse_dynamics_reads_the_action_between_two_frames(data):
    encoder = build_encoder("compact", (40, 40, 2), 16)
    config = ObjectiveConfig(name="spr", prediction_steps=2, hidden_dim=32, inverse_weight=1.0)
    objective = OBJECTIVES["spr"].from_config(encoder, config, data)
    loss, scalars = objective.loss(objective.sample(data, 16, np.random.default_rng(6), frame_stack=2))
    assert set(scalars) == {"cosine", "inverse"} and scalars["inverse"] > 0 and torch.isfinite(loss)
    assert len(objective.inverse_heads) == 2  # one per frame source (their action spaces differ)


def test_spr_objectives_refuse_frames_without_actions_and_too_few_steps(data):
    bare = synthetic_source(12, 3, offset=0)
    bare.actions = None
    encoder = build_encoder("compact", (40, 40, 2), 16)
    with pytest.raises(ConfigError, match=r"data\[1\]: objective 'spr' reads the actions taken"):
        OBJECTIVES["spr"].from_config(encoder, ObjectiveConfig(name="spr"), [data[0], bare])
    with pytest.raises(
        ConfigError, match="prediction_steps: spr_nce contrasts future steps, needs at least 2"
    ):
        OBJECTIVES["spr_nce"].from_config(encoder, ObjectiveConfig(name="spr_nce", prediction_steps=1), data)


def test_spr_nce_tells_an_anchors_future_steps_apart(data):
    """``step_accuracy``: the share of predictions that pick their own step among their anchor's futures;
    steps whose stack shares a frame with the anchor's (k < frame_stack) are not scored."""
    objective = build("spr_nce", data)
    K, B, D = 3, 5, 16
    targets = torch.randn(K, B, D)
    objective.weight.data = torch.eye(D)
    loss, scalars = objective.score(targets * 10, targets, frame_stack=2)  # perfect predictions
    assert scalars["accuracy"] == 1 and scalars["step_accuracy"] == 1
    shuffled = targets[[0, 2, 1]] * 10  # steps 2 and 3 swapped; step 1 is not scored
    _, scalars = objective.score(shuffled, targets, frame_stack=2)
    assert scalars["step_accuracy"] == 0


# ------------------------------------------------------------------------------------ motion-aware: playback rate
@pytest.mark.parametrize("name", ["playback", "atc_playback"])
def test_playback_stacks_one_moment_at_the_agents_rate_and_gap_times_faster(name, data):
    batch = build(name, data).sample(data, 30, np.random.default_rng(7), frame_stack=2)
    gaps = batch.extras["gaps"].numpy() + 1  # the head's classes are gap − 1
    assert set(gaps) == {1, 2, 3}  # prediction_steps = 3: the largest gap
    now, n = decode(batch.anchors)
    older = batch.anchors[:, 0, 0, 0].numpy().astype(int) % 128 // 10
    assert (older == now - 1).all()  # the normal stack: frames t − 1, t
    fast_now, fast_n = decode(batch.frames["fast"])
    fast_old = batch.frames["fast"][:, 0, 0, 0].numpy().astype(int) % 128 // 10
    assert (fast_now == now).all() and (fast_n == n).all() and (fast_old == now - gaps).all()
    assert (fast_old // 6 == now // 6).all()  # in the same episode
    if name == "atc_playback":
        later, _ = decode(batch.frames["positives"])
        assert (later == now + 2).all() and (later // 6 == now // 6).all()  # ATC's positive, shift 2


@pytest.mark.parametrize("name", ["playback", "atc_playback"])
def test_playback_with_reverse_also_plays_the_fast_stack_backwards_and_tells_which(name, data):
    torch.manual_seed(0)
    encoder = build_encoder("compact", (40, 40, 2), 16)
    config = ObjectiveConfig(
        name=name, temporal_shift=2, clip_length=1, hidden_dim=32, prediction_steps=3, reverse=True
    )
    objective = OBJECTIVES[name].from_config(encoder, config, data)
    batch = objective.sample(data, 60, np.random.default_rng(7), frame_stack=2)
    labels = batch.extras["gaps"].numpy()
    assert set(labels) == set(range(6))  # gaps 1-3 forwards, then the same backwards
    gaps, backwards = labels % 3 + 1, labels >= 3
    now, _ = decode(batch.anchors)
    newest = batch.frames["fast"][:, 0, 0, -1].numpy().astype(int) % 128 // 10
    oldest = batch.frames["fast"][:, 0, 0, 0].numpy().astype(int) % 128 // 10
    assert (np.where(backwards, oldest, newest) == now).all()  # backwards: newest first
    assert (np.where(backwards, newest, oldest) == now - gaps).all()
    loss, scalars = objective.loss(batch)
    assert torch.isfinite(loss)
    head = objective.playback_head if name == "atc_playback" else objective.head
    assert head[-1].out_features == 6
    config = ObjectiveConfig(name=name, temporal_shift=2, clip_length=1, hidden_dim=32, prediction_steps=3)
    unsigned = OBJECTIVES[name].from_config(encoder, config, data)
    assert unsigned.sample(data, 60, np.random.default_rng(7), frame_stack=2).extras["gaps"].max() < 3


def test_clips_longer_than_every_episode_are_a_clear_error_not_a_hang(data):
    objective = build("atc", data)
    objective.clip_length = 8  # the synthetic episodes are 6 steps long
    with pytest.raises(ConfigError, match="no episode of synthetic.* long enough for a clip"):
        objective.sample(data, 16, np.random.default_rng(0), frame_stack=2)


def test_actions_are_collected_one_hot_for_discrete_spaces():
    from rlsuite.encoders.data import DataSource, collect

    frames = collect(DataSource(id="rlsuite/Racetrack-v0", kwargs=PIXELS, frames=24, num_envs=4, seed=0))
    assert frames.actions.shape == (6, 4, 9) and (frames.actions.sum(-1) == 1).all()
    boxes = collect(
        DataSource(
            id="rlsuite/Racetrack-v0", kwargs={**PIXELS, "action_type": "continuous"}, frames=8, num_envs=2
        )
    )
    assert boxes.actions.shape == (4, 2, 2) and np.abs(boxes.actions).max() <= 1


def test_online_objectives_build_their_pairs_from_transitions():
    obs = torch.zeros(4, 40, 40, 2, dtype=torch.uint8)
    next_obs = torch.ones(4, 40, 40, 2, dtype=torch.uint8)
    positives = {}
    for name in auxiliary_objectives():
        objective = auxiliary_objective(name, build_encoder("compact", (40, 40, 2), 16))
        assert isinstance(objective, OBJECTIVES[name])
        batch = objective.from_transitions(obs, next_obs)
        assert isinstance(batch, FrameBatch) and batch.anchors is obs
        loss, scalars = objective.loss(batch)
        assert torch.isfinite(loss) and "accuracy" in scalars
        positives[name] = batch.frames["positives"]
    assert positives["curl"] is obs  # CURL: two views of s
    assert positives["atc"] is next_obs  # ATC: s and its (n-step) successor


# ------------------------------------------------------------------------------------ one new objective
class Brightness(Objective):
    """A toy objective: regress each frame's mean brightness (stands for any new one)."""

    name = "brightness"
    summary = "mean brightness of the newest frame"
    calls: typing.ClassVar[list[str]] = []

    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.features_dim, 1)

    @classmethod
    def from_config(cls, encoder, config, data):
        return cls(encoder)

    def sample(self, data, batch_size, rng, frame_stack, device="cpu"):
        picks, _ = self.sample_indices(data, batch_size, rng)
        frames = np.concatenate([d.stacked(t, n, frame_stack) for d, (t, n, _) in zip(data, picks)])
        return FrameBatch({"anchors": torch.from_numpy(frames).to(device)})

    def from_transitions(self, observations, next_observations):
        type(self).calls.append("from_transitions")
        return FrameBatch({"anchors": observations})

    def loss(self, batch):
        type(self).calls.append("loss")
        x = batch.anchors
        target = x[..., -1:].float().mean(dim=(1, 2, 3)) / 255
        error = ((self.head(self.encoder(x)).squeeze(1) - target) ** 2).mean()
        return error, {"error": error.detach()}

    def metadata(self, data):
        return {"brightness_sources": len(data)}


@pytest.fixture
def brightness():
    register(Brightness)
    Brightness.calls.clear()
    try:
        yield Brightness
    finally:
        OBJECTIVES.pop("brightness")


def test_a_registered_objective_pretrains_without_touching_pretrain(tmp_path, brightness):
    from rlsuite.config import build as build_config
    from rlsuite.plots import read_scalars

    source = {"id": "rlsuite/Racetrack-v0", "kwargs": PIXELS, "frames": 64, "num_envs": 4}
    config = build_config(
        PretrainConfig,
        {
            "data": [source],
            "encoder": {"type": "compact", "features_dim": 8, "frame_stack": 2},
            "train": {"steps": 3, "batch_size": 8, "log_every": 1, "device": "cpu"},
            "log": {"run_dir": str(tmp_path)},
        },
    )
    config.objective.name = "brightness"  # the config's choices were fixed when pretrain was imported
    run_dir = pretrain(config, progress=False)
    assert run_dir.name.startswith("pretrain-brightness")
    assert len(read_scalars(run_dir)["pretrain/error"]) == 3
    meta = json.loads((run_dir / "encoder.json").read_text())
    assert meta["final_error"] >= 0 and meta["brightness_sources"] == 1


def test_the_same_seed_pretrains_the_same_encoder_whatever_ran_before(tmp_path):
    """The encoder's initial weights come from ``train.seed``, not from torch's global state: two
    pretrains of one config in one process (the second after torch drew other numbers) are equal."""
    import torch
    from safetensors.numpy import load_file

    from rlsuite.config import build as build_config

    source = {"id": "rlsuite/Racetrack-v0", "kwargs": PIXELS, "frames": 64, "num_envs": 4}
    weights = []
    for attempt in range(2):
        torch.manual_seed(100 + attempt)  # whatever the process did before
        torch.rand(7)
        config = build_config(
            PretrainConfig,
            {
                "data": [source],
                "objective": {"name": "atc"},
                "encoder": {"type": "compact", "features_dim": 8, "frame_stack": 2},
                "train": {"steps": 2, "batch_size": 8, "log_every": 1, "device": "cpu", "seed": 4},
                "log": {"run_dir": str(tmp_path / str(attempt))},
            },
        )
        weights.append(load_file(pretrain(config, progress=False) / "encoder.safetensors"))
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        np.testing.assert_array_equal(weights[0][name], weights[1][name], err_msg=name)


def dqn_config(run_dir, aux: str):
    return load_config(
        None,
        [
            "env.id=rlsuite/Racetrack-v0",
            "env.num_envs=4",
            f"env.kwargs={json.dumps(PIXELS)}",
            "agent={algo: dqn, batch_size: 8, learning_starts: 32, buffer_size: 500, train_freq: 1, "
            f"frame_stack: 2, net_arch: [16], aux_objective: {aux}}}",
            "encoder={type: compact, features_dim: 16}",
            "train.total_steps=64",
            "train.eval_every=0",
            "train.device=cpu",
            f"log.run_dir={run_dir}",
            "log.progress=none",
        ],
    )


def test_dqn_asks_the_registry_for_its_auxiliary_loss(tmp_path, brightness):
    from rlsuite.agents.dqn import DQNAgent
    from rlsuite.training import make_agent_envs

    config = dqn_config(tmp_path, "curl")
    envs = make_agent_envs(config)
    try:
        config.agent.params.aux_objective = "brightness"
        agent = DQNAgent(config, envs)
        assert isinstance(agent.aux, Brightness) and agent.aux.encoder is agent.q_network.encoder
        head = agent.aux.head.weight.clone()
        agent.learn(64)
        assert agent.num_updates > 0 and Brightness.calls[:2] == ["from_transitions", "loss"]
        assert len(Brightness.calls) == 2 * agent.num_updates
        assert not torch.equal(head, agent.aux.head.weight)  # its own head trains next to the Q-network

        config.agent.params.aux_objective = "state"
        refused = "agent.aux_objective: 'state' is pretraining-only; .* auxiliary loss: atc, brightness, curl"
        with pytest.raises(ConfigError, match=refused):
            DQNAgent(config, envs)
    finally:
        envs.close()
