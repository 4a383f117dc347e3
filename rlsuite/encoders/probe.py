"""Linear probe: how much of the env's true state a frozen encoder's features hold.

Ridge regression from standardised features to each state variable the env's batched core names
(``BatchCore.probe_variables``: e.g. speed, heading error and lateral offset for the driving envs;
joint angles as cos/sin and the target or puck position for the arms), fitted on one set of frames
and scored by R² on frames it never saw (other track layouts, other seeds). The same probe on a
randomly initialised encoder of the same architecture is the baseline: random conv features are
known to be far from useless, so "better than random" is the bar to clear.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlsuite.config import ConfigError
from rlsuite.encoders.data import FrameData, collect

__all__ = ["encode_frames", "fit_ridge", "probe_encoder", "r2_scores"]


def encode_frames(encoder: Any, data: FrameData, frame_stack: int, batch: int = 1024) -> np.ndarray:
    """Features of every frame of ``data`` (stacked as the agents stack), ``(T * N, features_dim)``."""
    import torch

    T, N = data.first.shape
    t, n = np.meshgrid(np.arange(T), np.arange(N), indexing="ij")
    t, n = t.ravel(), n.ravel()
    out = []
    encoder.eval()
    with torch.no_grad():
        for i in range(0, len(t), batch):
            frames = data.stacked(t[i : i + batch], n[i : i + batch], frame_stack)
            out.append(encoder(torch.from_numpy(frames)).float().numpy())
    return np.concatenate(out)


def fit_ridge(features: np.ndarray, targets: np.ndarray, ridge: float) -> tuple[np.ndarray, ...]:
    """Closed-form ridge on standardised features: ``(mean, std, weights, bias)``."""
    mean, std = features.mean(0), features.std(0) + 1e-6
    x = (features - mean) / std
    gram = x.T @ x + ridge * len(x) * np.eye(x.shape[1])
    bias = targets.mean(0)
    weights = np.linalg.solve(gram, x.T @ (targets - bias))
    return mean, std, weights, bias


def r2_scores(predicted: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Coefficient of determination per column."""
    residual = ((targets - predicted) ** 2).sum(0)
    total = ((targets - targets.mean(0)) ** 2).sum(0) + 1e-12
    return 1.0 - residual / total


def _collect_all(sources: list[Any], what: str) -> list[FrameData]:
    if not sources:
        raise ConfigError(f"probe.{what}: give at least one frame source")
    datasets = [collect(s) for s in sources]
    names = {tuple(d.state_names) for d in datasets}
    if len(names) != 1 or not next(iter(names)):
        got = "; ".join(f"{d.source}: {', '.join(d.state_names) or 'none'}" for d in datasets)
        raise ConfigError(
            f"probe.{what}: every source must be one env family whose core names its state variables "
            f"(rlsuite.envs.core.BatchCore.probe_variables), the same for all; got {got}"
        )
    return datasets


def probe_encoder(encoder: Any, frame_stack: int, config: Any, seed: int = 0) -> dict[str, Any]:
    """Fit on ``config.fit`` frames, score on ``config.test`` frames, for ``encoder`` and for a randomly
    initialised encoder of the same architecture; R² per variable and their mean."""
    import torch

    from rlsuite.encoders.networks import build_encoder

    fit, test = _collect_all(config.fit, "fit"), _collect_all(config.test, "test")
    if fit[0].state_names != test[0].state_names:
        raise ConfigError("probe: fit and test sources must be the same env family")
    names = fit[0].state_names
    frame_shape = fit[0].frames.shape[2:]
    expected = tuple(encoder.observation_shape)
    if (*frame_shape[:2], frame_shape[2] * frame_stack) != expected:
        raise ConfigError(
            f"probe: the encoder takes {expected} (frame_stack {frame_stack}); the probe's frames are "
            f"{frame_shape}: use the env kwargs the encoder was pretrained with"
        )
    y_fit = np.concatenate([d.states.reshape(-1, len(names)) for d in fit])
    y_test = np.concatenate([d.states.reshape(-1, len(names)) for d in test])
    torch.manual_seed(seed + 1)
    random_init = build_encoder(encoder.spec()["type"], expected, encoder.features_dim)
    result: dict[str, Any] = {"variables": names, "fit_frames": len(y_fit), "test_frames": len(y_test)}
    for which, net in (("encoder", encoder), ("random_init", random_init)):
        x_fit = np.concatenate([encode_frames(net, d, frame_stack) for d in fit])
        x_test = np.concatenate([encode_frames(net, d, frame_stack) for d in test])
        mean, std, weights, bias = fit_ridge(x_fit, y_fit, config.ridge)
        r2 = r2_scores(((x_test - mean) / std) @ weights + bias, y_test)
        result[which] = {"r2": dict(zip(names, map(float, r2))), "r2_mean": float(r2.mean())}
    return result


def supervised_bound(
    encoder_type: str, features_dim: int, frame_stack: int, config: Any, steps: int = 1500, seed: int = 0
) -> dict[str, Any]:
    """A reference for the probe: the same architecture trained *with* the state labels of the probe's
    fit frames (regression on the standardised variables, ``steps`` Adam steps of batch 128), then
    probed like any encoder. It says
    how much of the state these frames and this network can hold at all; a self-supervised encoder's
    gap to it is the objective's."""
    import torch

    from rlsuite.encoders.networks import build_encoder

    fit, test = _collect_all(config.fit, "fit"), _collect_all(config.test, "test")
    names = fit[0].state_names
    frame_shape = fit[0].frames.shape[2:]
    torch.manual_seed(seed)
    encoder = build_encoder(encoder_type, (*frame_shape[:2], frame_shape[2] * frame_stack), features_dim)
    head = torch.nn.Linear(features_dim, len(names))
    optimizer = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-3)
    rng = np.random.default_rng(seed)
    y_fit = np.concatenate([d.states.reshape(-1, len(names)) for d in fit])
    mean_y, std_y = torch.from_numpy(y_fit.mean(0)), torch.from_numpy(y_fit.std(0) + 1e-6)
    for _ in range(steps):
        data = fit[int(rng.integers(len(fit)))]
        T, N = data.first.shape
        t, n = rng.integers(0, T, 128), rng.integers(0, N, 128)
        x = torch.from_numpy(data.stacked(t, n, frame_stack))
        target = (torch.from_numpy(data.states[t, n]) - mean_y) / std_y  # every variable weighs the same
        loss = ((head(encoder(x)) - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    y_test = np.concatenate([d.states.reshape(-1, len(names)) for d in test])
    x_fit = np.concatenate([encode_frames(encoder, d, frame_stack) for d in fit])
    x_test = np.concatenate([encode_frames(encoder, d, frame_stack) for d in test])
    mean, std, weights, bias = fit_ridge(x_fit, y_fit, config.ridge)
    r2 = r2_scores(((x_test - mean) / std) @ weights + bias, y_test)
    return {
        "r2": dict(zip(names, map(float, r2))),
        "r2_mean": float(r2.mean()),
        "steps": steps,
        "targets": "standardised",
    }
