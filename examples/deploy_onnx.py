"""Drive an env with an exported policy, without torch: `pip install 'rlsuite[deploy]'` (onnxruntime, numpy).

python examples/deploy_onnx.py RUN_DIR/export/best-onnx    # the directory `rlsuite export RUN_DIR` wrote
"""

import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import onnxruntime

import rlsuite  # noqa: F401  (registers the rlsuite/... env ids; imports numpy and numba, not torch)

export_dir = Path(sys.argv[1])
meta = json.loads((export_dir / "policy.json").read_text())
session = onnxruntime.InferenceSession(str(export_dir / meta["file"]), providers=["CPUExecutionProvider"])
env = gym.make(meta["env"]["id"], **meta["env"]["kwargs"])
k, zeros = meta["input"]["frame_stack"], meta["input"]["episode_start_fill"] == "zeros"
obs, _ = env.reset(seed=0)
stack, episode_return, done = (
    np.concatenate([np.zeros_like(obs) if zeros else obs] * (k - 1) + [obs], -1),
    0.0,
    False,
)
while not done:
    action = session.run(["action"], {"observation": stack[None]})[0][0]
    obs, reward, terminated, truncated, _ = env.step(action)
    stack = np.concatenate([stack[..., obs.shape[-1] :], obs], axis=-1)  # the last k frames, oldest first
    episode_return, done = episode_return + float(reward), terminated or truncated
print(f"{meta['algo']} on {meta['env']['id']}: one episode, return {episode_return:.2f}")
