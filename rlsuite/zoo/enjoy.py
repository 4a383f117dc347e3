"""``rlsuite enjoy NAME``: watch a zoo agent (or a run's) play greedily.

Where a display exists (``$DISPLAY`` or ``$WAYLAND_DISPLAY`` is set and pygame opens a window there)
the episodes play in a window: the env's own ``render_mode="human"`` where it has one, else its
``rgb_array`` frames drawn with pygame. Elsewhere (a server, CI, SSH) — or whenever ``out`` is given —
a short animation file is written instead: a GIF (Pillow only), or an MP4 when ``out`` ends in ``.mp4``
(``pip install -e ".[video]"``), made with :mod:`rlsuite.record`'s frame and video code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlsuite.config import ConfigError

if TYPE_CHECKING:
    from rlsuite.api import Policy

__all__ = ["Enjoyed", "display_available", "enjoy"]

FILE_SECONDS = 20.0  # [s] of play at most in a file per episode, at the env's real-time rate
FILE_SIZE = 400  # [px] longest side of a file's frames


@dataclass(frozen=True)
class Enjoyed:
    """What :func:`enjoy` did: the file it wrote (``None``: it played in a window) and the returns
    (of the episodes as shown: an episode cut short in a file counts the steps it shows)."""

    path: Path | None
    returns: list[float]


def display_available() -> bool:
    """A display is set (``$DISPLAY``/``$WAYLAND_DISPLAY``) and pygame can open a window on it."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame

        pygame.display.init()
        try:
            return pygame.display.get_driver() not in ("dummy", "offscreen")
        finally:
            pygame.display.quit()
    except Exception:  # no pygame, or no window on that display
        return False


def load_source(source: str | Path, root: str | Path | None = None) -> tuple[Policy, str]:
    """A zoo name's policy, or a run directory's (``best`` checkpoint), and a name for its files."""
    from rlsuite.zoo import load_pretrained, names

    path = Path(source)
    if (path / "config.yaml").is_file():
        from rlsuite.api import load

        return load(path), path.resolve().name
    if str(source) in names(root):
        return load_pretrained(str(source), root=root), str(source)
    if path.exists():
        raise ConfigError(
            f"{str(source)!r} is neither a zoo entry's name nor a run directory (no config.yaml)"
        )
    try:
        load_pretrained(str(source), root=root)  # raises: the known names, a did-you-mean
    except ConfigError as error:
        raise ConfigError(f"{error}. Or give a run directory (one that `rlsuite train` wrote)") from None
    raise AssertionError("unreachable")


def enjoy(
    source: str | Path,
    episodes: int = 1,
    out: str | Path | None = None,
    seed: int | None = None,
    root: str | Path | None = None,
) -> Enjoyed:
    """Play ``episodes`` greedy episodes of ``source`` (a zoo name or a run directory) on ``seed``
    (default ``rlsuite eval``'s held-out seed): in a window where a display exists and ``out`` is not
    given, else into the file ``out`` (default ``<name>.gif`` in the working directory, never replacing
    one; an ``out`` given is replaced)."""
    from rlsuite.record import check_options

    if out is not None:
        fmt = Path(out).suffix.lstrip(".").lower()
        if fmt not in ("gif", "mp4"):
            raise ConfigError(f"--out: got {str(out)!r}; the file must end in .gif or .mp4")
    else:
        fmt = "gif"
    check_options(fmt, episodes, None, None, None)
    policy, name = load_source(source, root)
    with policy:
        from rlsuite.training import TEST_SEED_OFFSET

        seed = policy.config.train.seed + TEST_SEED_OFFSET if seed is None else seed
        if out is None and display_available():
            return Enjoyed(None, _play_in_window(policy, episodes, seed))
        path = Path(out) if out is not None else _free_path(Path(f"{name}.gif"))
        return Enjoyed(path, _write_file(policy, path, fmt, episodes, seed))


def _free_path(path: Path) -> Path:
    k = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
        k += 1
    return candidate


def _greedy(policy: Policy) -> Any:
    return lambda obs, starts: policy.agent.act(obs, deterministic=True, episode_start=starts)


def _render_envs(policy: Policy, render_mode: str) -> Any:
    import copy

    from rlsuite.training import make_agent_envs

    config = copy.deepcopy(policy.config)
    config.env.kwargs = {**config.env.kwargs, "render_mode": render_mode}
    try:
        return make_agent_envs(config, 1)
    except ConfigError as error:
        raise ConfigError(f"{config.env.id} cannot render {render_mode} frames: {error}") from None


def _write_file(policy: Policy, path: Path, fmt: str, episodes: int, seed: int) -> list[float]:
    from rlsuite.record import GIF_MAX_FPS, write_video
    from rlsuite.rollout import collect_frames

    envs = _render_envs(policy, "rgb_array")
    try:
        fps = float((getattr(envs, "metadata", None) or {}).get("render_fps") or 30)
        fps = min(fps, GIF_MAX_FPS) if fmt == "gif" else fps
        max_steps = max(1, int(FILE_SECONDS * fps))
        frames, returns = collect_frames(
            _greedy(policy), envs, episodes, seed, max_steps=max_steps, size=FILE_SIZE
        )
    finally:
        envs.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_video(path, frames, fps, fmt)
    return returns


def _play_in_window(policy: Policy, episodes: int, seed: int) -> list[float]:
    """The env's own human window where it has one; else its rgb_array frames in a pygame window."""
    from rlsuite.rollout import collect_frames, run_episodes

    try:
        envs = _render_envs(policy, "human")
    except ConfigError:
        envs = None
    if envs is not None:
        try:
            return run_episodes(_greedy(policy), envs, episodes, seed).returns
        finally:
            envs.close()
    from rlsuite.envs.core import HumanWindow

    envs = _render_envs(policy, "rgb_array")
    try:
        fps = int((getattr(envs, "metadata", None) or {}).get("render_fps") or 30)
        frames, returns = collect_frames(_greedy(policy), envs, episodes, seed)
    finally:
        envs.close()
    window = HumanWindow(f"rlsuite enjoy {policy.config.env.id}", fps)
    try:
        for frame in frames:
            window.show(frame)
    finally:
        window.close()
    return returns
