"""Render the gallery: a few seconds of every env, drawn by the env itself, as small GIFs.

    python scripts/make_gallery.py               # every clip into docs/assets/gallery/
    python scripts/make_gallery.py racetrack     # only the clips whose name starts with "racetrack"

Each clip is ``env.render()`` (``render_mode="rgb_array"``, our own rasteriser) — or, for the pixel
variants, the observations an agent sees — over one seeded episode of a policy, scaled down and
written with Pillow. Rerunning the script regenerates the same files (fixed seeds). The site's env
pages and the README show them; each must stay under ``MAX_BYTES``.

Policies: ``random`` (the action space's own sampler); ``lane_keeping``, a two-line controller that
reads only Racetrack's documented state observation (heading error, lateral offset, speed); and
``cautious``, Highway's random meta-actions that brake for a car close ahead in the ego's lane (read
off Highway's documented kinematics observation).
A trained agent replaces them when a run directory is named in ``TRAINED`` (a clip ``name`` →
``RUN_DIR``, loaded with :func:`rlsuite.load`; the agent zoo will fill it): its clip is then the
agent's greedy episode.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from PIL import Image

import rlsuite  # noqa: F401  (registers the envs)

OUT = Path(__file__).resolve().parents[1] / "docs" / "assets" / "gallery"
MAX_BYTES = 1_000_000  # per clip: the limit; the whole gallery stays a few MB
Policy = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Clip:
    """One animation: an env (id + kwargs), a policy, how many steps, and how to draw it."""

    name: str
    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    policy: str = "random"  # "random" | "lane_keeping" | "cautious"
    steps: int = 60  # frames, at most (an episode that ends earlier ends the clip)
    fps: int = 10
    width: int = 240  # [px] the clip is scaled to this width, keeping its aspect ratio
    observations: bool = False  # draw the pixel observations instead of render()
    seed: int = 0
    caption: str = ""


CLIPS: tuple[Clip, ...] = (
    Clip(
        "racetrack",
        "rlsuite/Racetrack-v0",
        {"track": "kidney"},
        "lane_keeping",
        150,
        width=300,
        caption="Racetrack, kidney track, lane-keeping controller",
    ),
    Clip(
        "racetrack_hairpin",
        "rlsuite/Racetrack-v0",
        {"track": "hairpin"},
        "lane_keeping",
        120,
        caption="Racetrack, hairpin track",
    ),
    Clip(
        "racetrack_random",
        "rlsuite/Racetrack-v0",
        {"track": 7},
        "lane_keeping",
        120,
        caption="Racetrack, procedural track (seed 7)",
    ),
    Clip(
        "racetrack_pixels",
        "rlsuite/Racetrack-v0",
        {"obs_type": "pixels"},
        "lane_keeping",
        60,
        width=168,
        observations=True,
        caption="Racetrack pixel observations (84×84), what a pixel agent sees",
    ),
    Clip(
        "highway",
        "rlsuite/Highway-v0",
        {},
        "cautious",
        40,
        fps=5,
        width=480,
        caption="Highway, 4 lanes, 20 cars, cautious random policy",
    ),
    Clip(
        "highway_dense",
        "rlsuite/Highway-v0",
        {"lanes_count": 3, "vehicles_density": 2.0},
        "cautious",
        40,
        fps=5,
        width=480,
        seed=2,
        caption="Highway, 3 lanes, dense traffic, cautious random policy",
    ),
    Clip(
        "highway_pixels",
        "rlsuite/Highway-v0",
        {"obs_type": "pixels"},
        "cautious",
        40,
        fps=5,
        width=168,
        observations=True,
        caption="Highway pixel observations (84×84)",
    ),
    Clip(
        "grid_racetrack",
        "rlsuite/GridRacetrack-v0",
        {},
        "random",
        60,
        width=160,
        caption="GridRacetrack (Sutton & Barto 5.12), random policy",
    ),
    Clip(
        "reacher",
        "rlsuite/Reacher-v0",
        {},
        "random",
        60,
        fps=20,
        width=200,
        caption="Reacher, 2 links, random policy",
    ),
    Clip("pusher", "rlsuite/Pusher-v0", {}, "random", 80, fps=20, width=200, caption="Pusher, random policy"),
)

# Clip name → run directory of a trained agent (rlsuite.load) whose greedy episode replaces the
# clip's policy. Empty until the agent zoo ships trained runs.
TRAINED: dict[str, str] = {}


# --------------------------------------------------------------------------------------------
# Policies
# --------------------------------------------------------------------------------------------
def lane_keeping(space: gym.Space) -> Policy:
    """Steer against Racetrack's heading error (obs[1]) and lateral offset (obs[2]); hold 13.5 m/s."""

    def act(obs: np.ndarray) -> Any:
        steer = float(np.clip(-2.0 * obs[1] - 0.8 * obs[2], -1, 1))
        pedal = float(np.clip((0.45 - obs[0]) * 5.0, -1, 1))  # obs[0] = speed / 30 m/s
        if isinstance(space, gym.spaces.Discrete):
            s, p = np.digitize(steer, [-0.33, 0.33]), np.digitize(pedal, [-0.33, 0.33])
            return int(3 * s + p)
        return np.array([steer, pedal], np.float32)

    return act


def cautious(space: gym.Space, seed: int) -> Policy:
    """Highway: SLOWER (4) when a car is within 25 m ahead in the ego's lane, else a random meta-action
    that is IDLE (1) half the time. Rows of ``obs`` are vehicles: (presence, Δx / 100 m, Δy / road
    width, …), row 0 the ego."""
    rng = np.random.default_rng(seed)
    choices = np.array([1, 1, 1, 0, 2, 3])  # IDLE ×3, LANE_LEFT, LANE_RIGHT, FASTER

    def act(obs: np.ndarray) -> Any:
        others = obs[1:]
        ahead = (
            (others[:, 0] > 0) & (others[:, 1] > 0) & (others[:, 1] < 0.25) & (np.abs(others[:, 2]) < 0.06)
        )
        return 4 if ahead.any() else int(rng.choice(choices))

    return act


def make_policy(clip: Clip, state_env: gym.Env) -> Policy:
    if clip.name in TRAINED:
        policy = rlsuite.load(TRAINED[clip.name])
        return lambda obs: policy.predict(obs)[0]
    if clip.policy == "lane_keeping":
        return lane_keeping(state_env.action_space)
    if clip.policy == "cautious":
        return cautious(state_env.action_space, clip.seed)
    if clip.policy == "random":
        state_env.action_space.seed(clip.seed)
        return lambda obs: state_env.action_space.sample()
    raise ValueError(f"{clip.name}: unknown policy {clip.policy!r}; allowed: random, lane_keeping, cautious")


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def frames_of(clip: Clip) -> list[np.ndarray]:
    """The clip's frames. The policy sees the state observation; a pixel clip steps a second env, the
    pixel one, with the same seed and actions (the observation type does not change the dynamics)."""
    pixel_clip = clip.observations
    state_kwargs = {**clip.kwargs, "obs_type": "state"} if pixel_clip else clip.kwargs
    env = gym.make(clip.env_id, render_mode=None if pixel_clip else "rgb_array", **state_kwargs)
    shown = gym.make(clip.env_id, **clip.kwargs) if pixel_clip else env
    policy = make_policy(clip, env)
    obs, _ = env.reset(seed=clip.seed)
    view, _ = shown.reset(seed=clip.seed) if pixel_clip else (None, None)
    frames = [view if pixel_clip else env.render()]
    for _ in range(clip.steps - 1):
        action = policy(obs)
        obs, _, terminated, truncated, _ = env.step(action)
        if pixel_clip:
            view, *_ = shown.step(action)
        frames.append(view if pixel_clip else env.render())
        if terminated or truncated:
            break
    env.close()
    shown.close()
    return frames


def write_gif(frames: list[np.ndarray], clip: Clip, path: Path) -> int:
    """Scale to ``clip.width``, quantise to one shared palette, write a looping GIF; returns its size."""
    first = frames[0]
    height = max(1, round(first.shape[0] * clip.width / first.shape[1]))
    resample = Image.Resampling.NEAREST if clip.observations else Image.Resampling.LANCZOS
    images = [
        Image.fromarray(np.squeeze(f) if f.shape[-1] == 1 else f)
        .convert("RGB")
        .resize((clip.width, height), resample)
        for f in frames
    ]
    palette = images[len(images) // 2].quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    quantised = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    quantised[0].save(
        path,
        save_all=True,
        append_images=quantised[1:],
        duration=round(1000 / clip.fps),
        loop=0,
        optimize=True,
    )
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="clip name prefixes (default: every clip)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default: {OUT})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    too_big = []
    for clip in CLIPS:
        if args.only and not any(clip.name.startswith(prefix) for prefix in args.only):
            continue
        frames = frames_of(clip)
        size = write_gif(frames, clip, args.out / f"{clip.name}.gif")
        print(f"{clip.name}.gif: {len(frames)} frames, {size / 1e3:.0f} kB  ({clip.caption})")
        if size > MAX_BYTES:
            too_big.append(clip.name)
    if too_big:
        print(
            f"over {MAX_BYTES} bytes: {', '.join(too_big)} (fewer steps or a smaller width)", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
