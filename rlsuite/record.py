"""``rlsuite record RUN_DIR``: watch a trained agent — deterministic episodes as a video file.

The run's best (else last) checkpoint acts greedily in one env built from the run's own config with
``render_mode="rgb_array"`` (the env's whole-scene view, whatever the agent observes), on the
held-out evaluation seed of ``rlsuite eval``. With ``--agent-view``, a pixel agent's own observation
(the newest frame of its stack) is drawn beside the scene, scaled to its height. GIFs need only
Pillow (which comes with matplotlib); MP4 needs imageio's bundled ffmpeg (``pip install -e ".[video]"``).
Videos land in ``RUN_DIR/videos/`` and never replace one.

The defaults show what ``rlsuite eval`` measures, as it happened: whole episodes (``max_steps``: the
env's own limit, so the printed returns are episode returns), in real time (``fps``: the env's
``render_fps``, e.g. 10 for Racetrack's 0.1-s steps; a GIF at most 50, the fastest rate browsers
play), at the env's own render size (``size``: sharpest, and no resampling cost). A 1,000-step
Racetrack episode is a 100-s, 600 × 600, ~190-kB GIF; ``--max-steps 200 --fps 20 --size 300`` makes
it a 10-s clip.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from rlsuite.config import ConfigError

__all__ = ["FORMATS", "record_run", "write_gif", "write_video"]

FORMATS = ("mp4", "gif")
GIF_MAX_FPS = 50  # GIF delays are whole hundredths of a second; browsers slow delays under 0.02 s to 0.1 s
SIZE_RANGE = (16, 4096)  # [px] the longest side of a frame


def check_options(
    fmt: str, episodes: int, fps: float | None, max_steps: int | None, size: int | None
) -> None:
    """Refuse bad options, and an MP4 without its extra, before anything is loaded or written."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format: got {fmt!r}; allowed: {', '.join(FORMATS)}")
    if episodes < 1:
        raise ConfigError(f"--episodes: got {episodes}; must be >= 1")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ConfigError(f"--fps: got {fps}; must be a number > 0 (frames per second)")
    if fps is not None and fmt == "gif" and fps > GIF_MAX_FPS:
        raise ConfigError(
            f"--fps: got {fps}; a GIF plays at most {GIF_MAX_FPS} fps (its delays are hundredths of a "
            "second): use a lower --fps or --format mp4"
        )
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"--max-steps: got {max_steps}; must be >= 1 (env steps per episode)")
    if size is not None and not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise ConfigError(
            f"--size: got {size}; must be between {SIZE_RANGE[0]} and {SIZE_RANGE[1]} "
            "(pixels of a frame's longest side)"
        )
    if fmt == "mp4":
        try:
            import imageio  # noqa: F401
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ConfigError(
                '--format mp4 needs imageio and its ffmpeg: pip install -e ".[video]" '
                "(or use --format gif, which needs nothing extra)"
            ) from None


def write_gif(path: Path, frames: list[np.ndarray], fps: float) -> None:
    """Frames as an animated GIF with one palette for the whole video, taken from 16 frames spread
    over it: exact colours for flat-coloured scenes like ours. Handed RGB frames, Pillow quantizes each
    to a palette of its own: most of the 19 s that a 1,001-frame Racetrack episode took (now ~1.5 s)."""
    from PIL import Image

    sample = frames[:: max(1, len(frames) // 16)]
    palette = Image.fromarray(np.concatenate(sample, axis=0)).quantize(256, method=Image.Quantize.MEDIANCUT)
    images = (Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE) for f in frames)
    first = next(images)
    first.save(path, format="GIF", save_all=True, append_images=images, duration=1000.0 / fps, loop=0)


def record_run(
    run_dir: str | Path,
    episodes: int = 1,
    fmt: str = "mp4",
    checkpoint: str = "best",
    seed: int | None = None,
    fps: float | None = None,
    show_agent_view: bool = False,
    max_steps: int | None = None,
    size: int | None = None,
) -> tuple[Path, list[float]]:
    """Write a video of ``episodes`` greedy episodes of the run's agent; returns its path and returns.

    ``fps``: playback rate (default: the env's ``render_fps``, real time); ``max_steps``: env steps
    per episode at most (default: the env's own limit); ``size``: pixels of a frame's longest side
    (default: the env's render size). See the module docstring for why these defaults.
    """
    check_options(fmt, episodes, fps, max_steps, size)
    from rlsuite.config import algorithm_class
    from rlsuite.rollout import collect_frames
    from rlsuite.training import (
        TEST_SEED_OFFSET,
        load_agent,
        load_run_config,
        make_agent_envs,
        resolve_run_checkpoint,
    )

    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    ckpt = resolve_run_checkpoint(run_dir, checkpoint)
    config.env.kwargs = {**config.env.kwargs, "render_mode": "rgb_array"}
    try:
        envs = make_agent_envs(config, 1)
    except ConfigError as error:
        raise ConfigError(f"{config.env.id} cannot render rgb_array frames: {error}") from None
    agent = None
    try:
        agent = load_agent(algorithm_class(config.agent.algo), ckpt, config, envs)
        seed = config.train.seed + TEST_SEED_OFFSET if seed is None else seed
        frames, returns = collect_frames(
            lambda obs, starts: agent.act(obs, deterministic=True, episode_start=starts),
            envs,
            episodes,
            seed,
            show_agent_view,
            max_steps,
            size,
        )
        if fps is None:
            fps = float((getattr(envs, "metadata", None) or {}).get("render_fps") or 30)
            fps = min(fps, GIF_MAX_FPS) if fmt == "gif" else fps
    finally:
        if agent is not None:
            agent.close()  # its envs, and what it built (RLlib's Algorithm, the Ray it started)
        else:
            envs.close()
    out_dir = run_dir / "videos"
    out_dir.mkdir(exist_ok=True)
    stem = f"{ckpt.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path = out_dir / f"{stem}.{fmt}"
    k = 1
    while path.exists():
        path = out_dir / f"{stem}-{k}.{fmt}"
        k += 1
    write_video(path, frames, fps, fmt)
    return path, returns


def write_video(path: Path, frames: list[np.ndarray], fps: float, fmt: str) -> None:
    """``frames`` as a GIF (:func:`write_gif`) or an H.264 MP4 (imageio's ffmpeg) at ``fps``."""
    if fmt == "gif":
        write_gif(path, frames, fps)
        return
    import imageio.v2 as imageio

    # macro_block_size 1: frames of any size (ffmpeg would otherwise pad to multiples of 16)
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(frame)
