"""Encoders: shapes, augmentations, objectives, checkpoints (safe loading), ResNet-18 weights."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from rlsuite.encoders import (
    CURL,
    ENCODERS,
    Augment,
    ResNet18Stem,
    build_encoder,
    center_crop,
    color_jitter,
    info_nce,
    load_encoder,
    random_crop,
    random_shift,
    save_encoder,
    shipped_encoders,
)


def frames(n: int, shape=(64, 64, 2), seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8))


# ------------------------------------------------------------------------------------ networks
@pytest.mark.parametrize("kind", sorted(ENCODERS))
@pytest.mark.parametrize("shape", [(64, 64, 2), (48, 40, 3)])
def test_every_encoder_maps_uint8_frames_to_features(kind, shape):
    encoder = build_encoder(kind, shape, 32)
    out = encoder(frames(5, shape))
    assert out.shape == (5, 32) and out.dtype == torch.float32 and torch.isfinite(out).all()
    assert encoder.observation_shape == shape and encoder.features_dim == 32
    again = build_encoder(**{k: v for k, v in encoder.spec().items()})
    assert again.spec() == encoder.spec()


def test_flare_encodes_each_frame_alone_and_fuses_the_newest_latent_with_the_latent_flow():
    """Flare (Shang et al., 2021): [h(x_new), h(x_new) − h(x_old)] through the linear layer and LayerNorm."""
    encoder = build_encoder("flare", (64, 64, 2), 16)
    stacks = frames(3)
    h = [encoder.convs(stacks[..., i : i + 1].permute(0, 3, 1, 2).float() / 255) for i in range(2)]
    expected = encoder.norm(encoder.linear(torch.cat([h[1], h[1] - h[0]], dim=1)))
    torch.testing.assert_close(encoder(stacks), expected)
    still = stacks[..., 1:].repeat(1, 1, 1, 2)  # no motion: the flow is zero
    moving = encoder(stacks)
    assert not torch.allclose(encoder(still), moving)


def test_bad_encoder_type_and_too_small_frames_are_clear_errors():
    with pytest.raises(ValueError, match="allowed: 'compact'"):
        build_encoder("resnet50", (64, 64, 1), 8)
    with pytest.raises(ValueError, match="at least 36×36"):
        build_encoder("compact", (20, 20, 1), 8)
    with pytest.raises(ValueError, match=r"channel-last images \(H, W, C\)"):
        build_encoder("compact", (64, 64), 8)


# ------------------------------------------------------------------------------------ augmentations
def marker_batch(n: int, size: int = 32) -> torch.Tensor:
    images = torch.zeros(n, size, size, 1, dtype=torch.uint8)
    images[:, size // 2, size // 2] = 255
    return images


def marker_positions(images: torch.Tensor) -> np.ndarray:
    return np.array([np.argwhere(img[..., 0].numpy() == 255)[0] for img in images])


def test_random_shift_moves_each_image_by_its_own_offset_within_pad():
    pad, n = 3, 64
    out = random_shift(marker_batch(n), pad, torch.Generator().manual_seed(0))
    offsets = marker_positions(out) - 16
    assert out.shape == (n, 32, 32, 1) and out.dtype == torch.uint8
    assert np.abs(offsets).max() <= pad
    assert len({tuple(o) for o in offsets}) > 10  # independent per sample, not one shift for the batch
    assert (out.reshape(n, -1).sum(1) == 255).all()  # the content is moved, not blurred


def test_random_shift_replicates_the_border():
    image = torch.arange(16, dtype=torch.uint8).reshape(1, 4, 4, 1).repeat(50, 1, 1, 1)
    out = random_shift(image, 2, torch.Generator().manual_seed(1))
    assert set(out.unique().tolist()) <= set(range(16))  # never padding zeros from outside


def test_random_crop_takes_a_window_of_each_image_and_center_crop_the_middle():
    n = 32
    images = torch.arange(40 * 40, dtype=torch.int32).reshape(1, 40, 40, 1).repeat(n, 1, 1, 1)
    out = random_crop(images, 32, torch.Generator().manual_seed(0))
    tops, lefts = out[:, 0, 0, 0] // 40, out[:, 0, 0, 0] % 40
    assert out.shape == (n, 32, 32, 1) and tops.max() <= 8 and lefts.max() <= 8
    expected = torch.stack([images[i, t : t + 32, l : l + 32] for i, (t, l) in enumerate(zip(tops, lefts))])
    assert torch.equal(out, expected) and len(set(tops.tolist())) > 1
    assert center_crop(images, 32)[0, 0, 0, 0] == 4 * 40 + 4
    with pytest.raises(ValueError, match="size must be in"):
        random_crop(images, 41)


def test_color_jitter_draws_per_image_factors_and_keeps_uint8():
    images = torch.full((16, 8, 8, 1), 100, dtype=torch.uint8)
    images[:, :4] = 50
    out = color_jitter(images, 0.4, torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8
    assert len(set(out[:, 0, 0, 0].tolist())) > 4  # a different factor per image
    assert torch.equal(color_jitter(images, 0.0), images)
    assert torch.equal(Augment(0, 0.0)(images), images)


# ------------------------------------------------------------------------------------ objectives
def test_info_nce_positive_pair_wins_after_a_few_steps():
    torch.manual_seed(0)
    coarse = frames(32, (8, 8, 1)).permute(0, 3, 1, 2).float()  # smooth images: shifts keep their content
    x = torch.nn.functional.interpolate(coarse, size=(40, 40), mode="bilinear").round().to(torch.uint8)
    x = x.permute(0, 2, 3, 1).contiguous()
    objective = CURL(build_encoder("compact", (40, 40, 1), 32), momentum=0.5)
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    first = None
    for _ in range(40):
        loss, accuracy = objective(random_shift(x, 2, generator), random_shift(x, 2, generator))
        first = float(loss.detach()) if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        objective.update_target()
    assert float(loss.detach()) < 0.5 * first and float(accuracy) > 0.9


def test_state_regression_reads_a_position_off_frames_per_source():
    from rlsuite.encoders import StateRegression

    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    def batch(n):  # a bright 6×6 square at a random place; targets: its row and column (and a constant)
        rows, cols = rng.integers(0, 34, n), rng.integers(0, 34, n)
        x = torch.zeros(n, 40, 40, 1, dtype=torch.uint8)
        for i, (r, c) in enumerate(zip(rows, cols)):
            x[i, r : r + 6, c : c + 6] = 255
        return x, torch.tensor(np.stack([rows, cols, np.full(n, 7.0)], 1), dtype=torch.float32)

    means, stds = [torch.tensor([16.5, 16.5, 7.0])] * 2, [torch.tensor([9.8, 9.8, 0.0])] * 2
    objective = StateRegression(build_encoder("compact", (40, 40, 1), 32), means, stds)
    optimizer = torch.optim.Adam(objective.parameters(), lr=3e-3)
    fits = []
    for _ in range(150):
        (xa, ya), (xb, yb) = batch(24), batch(8)
        loss, fit = objective(torch.cat([xa, xb]), [ya, yb], [24, 8])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        fits.append(float(fit))
    assert np.mean(fits[:5]) < 0.3 and np.mean(fits[-10:]) > 0.8  # the constant target is left out
    assert objective.heads[0].weight.grad is not None and objective.heads[1].weight.grad is not None
    x, y = batch(64)
    with torch.no_grad():
        predicted = objective.heads[1](objective.encoder(x))[:, :2] * 9.8 + 16.5
    assert float((predicted - y[:, :2]).abs().mean()) < 3.0  # pixels, of a 34-pixel range


def test_info_nce_is_the_cross_entropy_of_bilinear_scores():
    a, p, w = torch.randn(4, 3), torch.randn(4, 3), torch.randn(3, 3)
    loss, _ = info_nce(a, p, w)
    expected = torch.nn.functional.cross_entropy(a @ w @ p.T, torch.arange(4))
    assert torch.allclose(loss, expected, atol=1e-5)


# ------------------------------------------------------------------------------------ checkpoints
def test_checkpoint_round_trip_gives_identical_features(tmp_path):
    encoder = build_encoder("compact", (64, 64, 2), 16)
    path = save_encoder(encoder, tmp_path / "enc", {"frame_stack": 2, "frame_shape": [64, 64, 1]})
    loaded, meta = load_encoder(tmp_path / "enc")
    x = frames(3)
    assert path.name == "enc.safetensors" and meta["frame_stack"] == 2 and len(meta["sha256"]) == 64
    assert torch.equal(encoder(x), loaded(x))
    assert not list(tmp_path.glob("*.tmp"))


def test_a_corrupted_checkpoint_is_refused_with_its_name(tmp_path):
    save_encoder(build_encoder("compact", (64, 64, 1), 8), tmp_path / "enc")
    weights = tmp_path / "enc.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_encoder(tmp_path / "enc")
    with pytest.raises(FileNotFoundError, match="shipped encoders"):
        load_encoder(tmp_path / "missing")


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def test_resnet18_weights_load_from_a_local_file_and_a_pickle_executes_nothing(tmp_path):
    torch.manual_seed(0)
    rgb = ResNet18Stem((32, 32, 3), 8)
    state = {k: v.clone() for k, v in rgb.state_dict().items()}
    state["fc.weight"] = torch.zeros(1000, 512)  # a whole ResNet's extra keys are ignored
    torch.save(state, tmp_path / "resnet18.pth")
    from safetensors.torch import save_file

    save_file(state, str(tmp_path / "resnet18.safetensors"))
    for name in ("resnet18.pth", "resnet18.safetensors"):
        gray = ResNet18Stem((32, 32, 2), 8)
        loaded = gray.load_torchvision(tmp_path / name)
        assert "layer2.1.bn2.running_var" in loaded and "fc.weight" not in loaded
        expected = state["conv1.weight"].sum(1, keepdim=True).repeat(1, 2, 1, 1) / 2
        assert torch.allclose(gray.conv1.weight, expected)
        assert torch.equal(gray.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])

    payload = _Payload()
    payload.target = str(tmp_path / "pwned")
    torch.save({"conv1.weight": payload}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="not a plain tensor state dict"):
        ResNet18Stem((32, 32, 3), 8).load_torchvision(tmp_path / "evil.pth")
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        ResNet18Stem((32, 32, 3), 8).load_torchvision(tmp_path / "absent.pth")


def test_shipped_encoders_load_offline_by_name():
    assert {"driving", "arm"} <= set(shipped_encoders())
    for name in ("driving", "arm"):
        encoder, meta = load_encoder(name)
        shape = tuple(meta["frame_shape"])
        assert encoder.observation_shape == (*shape[:2], shape[2] * meta["frame_stack"])
        out = encoder(frames(2, encoder.observation_shape))
        assert out.shape == (2, meta["features_dim"]) and torch.isfinite(out).all()
        assert meta["objective"]["name"] in ("atc", "curl") and meta["data"]
    for name in ("driving-state", "arm-state"):  # transfer-pretrained on the state observation
        encoder, meta = load_encoder(name)
        assert meta["objective"]["name"] == "state" and len(meta["targets"]) == len(meta["data"])
        out = encoder(frames(2, encoder.observation_shape))
        assert out.shape == (2, meta["features_dim"]) and torch.isfinite(out).all()
    for name, objective in (("driving-motion", "atc_playback"), ("arm-motion", "spr_nce")):  # motion-aware
        encoder, meta = load_encoder(name)
        assert meta["objective"]["name"] == objective and "targets" not in meta  # self-supervised: no labels
        out = encoder(frames(2, encoder.observation_shape))
        assert out.shape == (2, meta["features_dim"]) and torch.isfinite(out).all()
