"""Pretrained encoders inside agents: the config section, shape checks and the feature env.

Any agent config may carry::

    encoder:
      checkpoint: driving      # a shipped name or a path stem (…/encoder → encoder.safetensors + .json)
      freeze: true             # keep its weights fixed
      lr_scale: 0.1            # fine-tuning: the encoder's learning rate = agent's × lr_scale
      store_features: true     # frozen only: the agent sees (and replays) features, not frames

With ``freeze`` and ``store_features`` (the default for a frozen encoder) the training and evaluation
envs are wrapped in :class:`FeatureObservations`: the wrapper stacks frames and encodes them on the
device once per env step, so the agent is a state agent on ``features_dim`` floats — its replay
buffer stores 64 floats instead of a frame stack and its updates never touch a conv layer. This is
how a frozen pixel DQN costs about what a state DQN costs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlsuite.config import ConfigError

__all__ = ["FeatureObservations", "StackedFrames", "load_checked"]


def load_checked(
    encoder_config: Any, frame_space: gym.Space, device: Any = "cpu", frame_stack: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """Load ``encoder_config.checkpoint`` and check it takes this env's frames (and, when given, the
    agent's ``frame_stack``); ``(encoder, metadata)``.

    A missing file, a corrupt one, frames of another size or channel count, or another frame stack are a
    :class:`ConfigError` naming both sides, before anything is trained.
    """
    from rlsuite.encoders.checkpoint import load_encoder

    try:
        encoder, meta = load_encoder(encoder_config.checkpoint, device=device)
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(f"encoder.checkpoint: {error}") from None
    shape = tuple(getattr(frame_space, "shape", ()) or ())
    expected = tuple(meta.get("frame_shape") or ())
    if shape != expected:
        raise ConfigError(
            f"encoder.checkpoint: {encoder_config.checkpoint!r} was pretrained on frames of shape {expected} "
            f"(H, W, C); this env gives {shape or frame_space}. Use the env kwargs it was trained with "
            f"(e.g. pixel_shape: {expected[0] if expected else '?'}, grayscale: "
            f"{str(bool(expected) and expected[-1] == 1).lower()}, obs_type: pixels)"
        )
    if frame_stack is not None and frame_stack != meta["frame_stack"]:
        raise ConfigError(
            f"agent.frame_stack: got {frame_stack}; the encoder {encoder_config.checkpoint!r} takes "
            f"{meta['frame_stack']} stacked frames: set agent.frame_stack: {meta['frame_stack']}"
        )
    return encoder, meta


class StackedFrames(gym.vector.VectorWrapper):
    """A vector env of uint8 frames whose observations are each sub-env's last ``k`` frames, stacked
    along channels ``(H, W, k * C)``.

    Frames are stacked per sub-env (oldest first along channels, the first frame of an episode
    repeated before it, as the agents stack) and restarted on reset, on NEXT_STEP autoreset and on a
    masked ``reset(options={"reset_mask": …})``. RLlib's pixel RLModule trains a pretrained encoder
    on these; :class:`FeatureObservations` encodes them.
    """

    def __init__(self, env: gym.vector.VectorEnv, frame_stack: int, device: Any = "cpu") -> None:
        import torch

        super().__init__(env)
        self.frame_stack = int(frame_stack)
        self.device = torch.device(device)
        frame = env.single_observation_space
        height, width, channels = frame.shape
        self.single_observation_space = gym.spaces.Box(
            0, 255, (height, width, channels * self.frame_stack), np.uint8
        )
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self._stack: Any = None
        self._done = np.zeros(self.num_envs, bool)

    def _restart(self, frames: Any, rows: Any) -> None:
        self._stack[rows] = frames[rows].unsqueeze(1).expand(-1, self.frame_stack, *frames.shape[1:])

    def _stacked(self) -> Any:
        return self._stack.permute(0, 2, 3, 1, 4).flatten(3)  # (n, k, H, W, C) -> (n, H, W, k*C)

    def _observe(self) -> np.ndarray:
        return self._stacked().cpu().numpy()

    def reset(
        self, *, seed: Any = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        import torch

        frames, info = self.env.reset(seed=seed, options=options)
        frames = torch.as_tensor(frames, device=self.device)
        mask = None if options is None else options.get("reset_mask")
        if self._stack is None or mask is None:
            self._stack = frames.unsqueeze(1).repeat_interleave(self.frame_stack, dim=1)
            self._done[:] = False
        else:
            rows = torch.as_tensor(np.asarray(mask, bool), device=self.device)
            self._restart(frames, rows)
            self._done[np.asarray(mask, bool)] = False
        return self._observe(), info

    def step(self, actions: Any) -> tuple[np.ndarray, Any, Any, Any, dict[str, Any]]:
        import torch

        frames, rewards, terminated, truncated, info = self.env.step(actions)
        frames = torch.as_tensor(frames, device=self.device)
        self._stack = torch.roll(self._stack, -1, dims=1)
        self._stack[:, -1] = frames
        if self._done.any():  # these sub-envs were reset by this step (NEXT_STEP autoreset)
            self._restart(frames, torch.as_tensor(self._done, device=self.device))
        self._done = np.asarray(terminated) | np.asarray(truncated)
        return self._observe(), rewards, terminated, truncated, info


class FeatureObservations(StackedFrames):
    """A vector env whose observations are a frozen encoder's features of the last ``k`` frames
    (stacked as :class:`StackedFrames` stacks them). ``stores_features`` tells an agent that frame
    stacking already happened here.
    """

    stores_features = True

    def __init__(
        self, env: gym.vector.VectorEnv, encoder: Any, frame_stack: int, device: Any = "cpu"
    ) -> None:
        super().__init__(env, frame_stack, device)
        self.encoder = encoder.eval().requires_grad_(False)
        dim = int(encoder.features_dim)
        self.single_observation_space = gym.spaces.Box(-np.inf, np.inf, (dim,), np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)

    def _observe(self) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.encoder(self._stacked()).float().cpu().numpy()
