"""``rlsuite record RUN_DIR``: watch a trained agent — deterministic episodes as a video file.

The run's best (else last) checkpoint acts greedily in one env built from the run's own config with
``render_mode="rgb_array"`` (the env's whole-scene view, whatever the agent observes), on the
held-out evaluation seed of ``rlsuite eval``. With ``--agent-view``, a pixel agent's own observation
(the newest frame of its stack) is drawn beside the scene, scaled to its height. GIFs need only
Pillow; MP4 needs imageio's bundled ffmpeg (``pip install -e ".[video]"``). Videos land in
``RUN_DIR/videos/`` and never replace one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.config import ConfigError

__all__ = ["FORMATS", "record_run"]

FORMATS = ("mp4", "gif")


def _writer_check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError(f"--format: got {fmt!r}; allowed: {', '.join(FORMATS)}")
    try:
        import imageio  # noqa: F401
    except ModuleNotFoundError:
        raise ConfigError("rlsuite record needs imageio: pip install 'rlsuite[video]'") from None
    if fmt == "mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ModuleNotFoundError:
            raise ConfigError(
                "--format mp4 needs imageio's ffmpeg: pip install 'rlsuite[video]' (or use --format gif)"
            ) from None


def agent_view(envs: Any, obs: Any) -> np.ndarray | None:
    """What the agent of sub-env 0 sees as an RGB image: its newest pixel observation (through a
    frozen-encoder feature env, the newest raw frame), or ``None`` for non-image observations."""
    if hasattr(envs, "last_frames"):
        obs = envs.last_frames()
    obs = np.asarray(obs)
    if obs.ndim != 4 or obs.dtype != np.uint8:
        return None
    frame = obs[0]
    channels = frame.shape[2]
    frame = frame[:, :, -3:] if channels % 3 == 0 else frame[:, :, -1:]  # the newest frame of a stack
    return np.repeat(frame, 3, axis=2) if frame.shape[2] == 1 else frame


def side_by_side(scene: np.ndarray, view: np.ndarray | None) -> np.ndarray:
    """The scene with the agent's view scaled (nearest pixel) to its height on the right."""
    if view is None:
        return scene
    scale = max(1, scene.shape[0] // view.shape[0])
    view = np.repeat(np.repeat(view, scale, axis=0), scale, axis=1)[: scene.shape[0]]
    pad = np.zeros((scene.shape[0], view.shape[1], 3), np.uint8)
    pad[: view.shape[0]] = view
    gap = np.full((scene.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([scene, gap, pad], axis=1)


def collect_frames(
    agent: Any, envs: Any, episodes: int, seed: int, show_agent_view: bool = False
) -> tuple[list[np.ndarray], list[float]]:
    """Frames of ``episodes`` greedy episodes in sub-env 0 of ``envs`` (NEXT_STEP autoreset), and
    their returns; with ``show_agent_view`` each frame has the agent's own pixels beside it."""
    frames, returns = [], []
    obs, _ = envs.reset(seed=seed)

    def frame() -> np.ndarray:
        scene = np.asarray(envs.render()[0])
        return side_by_side(scene, agent_view(envs, obs)) if show_agent_view else scene

    frames.append(frame())
    episode_start = np.ones(envs.num_envs, dtype=bool)
    total = 0.0
    while len(returns) < episodes:
        actions = agent.act(obs, deterministic=True, episode_start=episode_start)
        obs, rewards, terminated, truncated, _ = envs.step(actions)
        total += float(rewards[0])
        done = bool(terminated[0] or truncated[0])
        if done:
            returns.append(total)
            total = 0.0
            if len(returns) < episodes:  # the next step is the reset step: it renders the new start
                obs, _, _, _, _ = envs.step(actions)
        frames.append(frame())
        episode_start = terminated | truncated if not done else np.ones(envs.num_envs, dtype=bool)
    return frames, returns


def record_run(
    run_dir: str | Path,
    episodes: int = 1,
    fmt: str = "mp4",
    checkpoint: str = "best",
    seed: int | None = None,
    fps: float | None = None,
    show_agent_view: bool = False,
) -> tuple[Path, list[float]]:
    """Write a video of ``episodes`` greedy episodes of the run's agent; returns its path and returns."""
    import imageio.v2 as imageio

    from rlsuite.config import algorithm_class
    from rlsuite.training import (
        TEST_SEED_OFFSET,
        load_agent,
        load_run_config,
        make_agent_envs,
        resolve_run_checkpoint,
    )

    if episodes < 1:
        raise ConfigError(f"--episodes: got {episodes}; must be >= 1")
    _writer_check(fmt)
    run_dir = Path(run_dir)
    config = load_run_config(run_dir)
    ckpt = resolve_run_checkpoint(run_dir, checkpoint)
    config.env.kwargs = {**config.env.kwargs, "render_mode": "rgb_array"}
    try:
        envs = make_agent_envs(config, 1)
    except ConfigError as error:
        raise ConfigError(f"{config.env.id} cannot render rgb_array frames: {error}") from None
    try:
        agent = load_agent(algorithm_class(config.agent.algo), ckpt, config, envs)
        seed = config.train.seed + TEST_SEED_OFFSET if seed is None else seed
        frames, returns = collect_frames(agent, envs, episodes, seed, show_agent_view)
        fps = fps or float((getattr(envs, "metadata", None) or {}).get("render_fps") or 30)
    finally:
        envs.close()
    out_dir = run_dir / "videos"
    out_dir.mkdir(exist_ok=True)
    stem = f"{ckpt.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path = out_dir / f"{stem}.{fmt}"
    k = 1
    while path.exists():
        path = out_dir / f"{stem}-{k}.{fmt}"
        k += 1
    if fmt == "gif":
        imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)
    else:
        # macro_block_size 1: frames of any size (ffmpeg would otherwise pad to multiples of 16)
        with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1) as writer:
            for frame in frames:
                writer.append_data(frame)
    return path, returns
