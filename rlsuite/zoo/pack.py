"""Making and refreshing zoo entries: ``rlsuite zoo add`` and ``rlsuite zoo cards``.

:func:`add_entry` packs a run's checkpoint into an entry (its config, the greedy policy's weights:
:mod:`rlsuite.zoo.weights`) and writes its card by evaluating the packed entry itself, loaded as
``rlsuite.load_pretrained`` loads it, on CPU: 100 greedy episodes on ``rlsuite eval``'s held-out seed
(the run's ``train.seed`` + 2,000,029), spread over ``train.eval_num_envs`` envs as ``rlsuite eval``
spreads them — so the card's return is what ``rlsuite eval RUN_DIR --episodes 100`` prints for the
same checkpoint on CPU — and ``check``: the exact returns of :data:`CHECK_EPISODES` greedy episodes
of one env on :data:`CHECK_SEED`, which ``tests/test_zoo.py`` replays. :func:`refresh_cards`
re-evaluates entries and rewrites those figures (and the docs' animations) in place.
"""

from __future__ import annotations

import copy
import csv
import datetime
import hashlib
import json
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlsuite.config import ConfigError
from rlsuite.zoo import (
    ANIMATIONS,
    CARD,
    CONFIG,
    MAX_WEIGHTS_BYTES,
    NAME_PATTERN,
    PACKAGE_ZOO,
    WEIGHTS,
    card,
    entry_dir,
    names,
    zoo_root,
)

if TYPE_CHECKING:
    from rlsuite.api import Policy
    from rlsuite.config import Config

__all__ = [
    "CHECK_EPISODES",
    "CHECK_SEED",
    "EVAL_EPISODES",
    "add_entry",
    "check_returns",
    "evaluate_policy",
    "load_entry",
    "refresh_cards",
    "write_animation",
]

EVAL_EPISODES = 100  # held-out episodes behind a card's figures
CHECK_SEED = 12_345  # the seed of the check episodes (one env): any fixed seed
CHECK_EPISODES = 3
ANIMATION_SECONDS = 8.0  # [s] of play in a docs animation, at the env's real-time rate
ANIMATION_SIZE = 300  # [px] its longest side: ~100-200 kB for our scenes


# --------------------------------------------------------------------------------------------
# Loading an entry folder
# --------------------------------------------------------------------------------------------
def load_entry(folder: Path, device: str = "cpu", env_kwargs: dict[str, Any] | None = None) -> Policy:
    """The policy of an entry folder (``config.yaml`` + ``model.safetensors``), by any name."""
    from rlsuite.api import Policy
    from rlsuite.training import load_run_config, make_agent_envs
    from rlsuite.zoo.weights import build_agent

    config = load_run_config(folder)
    config.train.device = device
    if env_kwargs:
        config.env.kwargs = {**config.env.kwargs, **env_kwargs}
    envs = make_agent_envs(config, 1)
    try:
        agent = build_agent(config, envs, folder / WEIGHTS)
    except BaseException:
        envs.close()
        raise
    return Policy(folder, folder, config, agent, envs)


def _greedy(policy: Policy) -> Any:
    return lambda obs, starts: policy.agent.act(obs, deterministic=True, episode_start=starts)


# --------------------------------------------------------------------------------------------
# Figures: the evaluation and the check
# --------------------------------------------------------------------------------------------
def evaluate_policy(policy: Policy, episodes: int = EVAL_EPISODES, seed: int | None = None) -> dict[str, Any]:
    """A card's ``eval`` section: ``episodes`` greedy episodes on ``seed`` (default: ``rlsuite eval``'s
    held-out seed of the policy's config) over ``train.eval_num_envs`` envs, as ``rlsuite eval`` runs
    them; the return's mean ± std (population std, numpy's default), the mean length, the success
    rate where the env reports one, and ``<metric>_mean``/``<metric>_std`` for each task metric (over
    the episodes where it is defined: ``None`` where it never is)."""
    from rlsuite.training import TEST_SEED_OFFSET, evaluate, make_agent_envs, seed_everything

    if episodes < 1:
        raise ConfigError(f"episodes: got {episodes}; must be >= 1")
    config = policy.config
    seed = config.train.seed + TEST_SEED_OFFSET if seed is None else seed
    seed_everything(seed)
    num_envs = min(config.train.eval_num_envs, episodes)
    envs = make_agent_envs(config, num_envs)
    try:
        result = evaluate(_greedy(policy), envs, episodes, seed)  # as `rlsuite eval` reports it
    finally:
        envs.close()
    evaluation: dict[str, Any] = {"episodes": episodes, "seed": seed, "num_envs": num_envs}
    for key, value in result.items():  # eval/return_mean -> return_mean; NaN (never defined) -> null
        evaluation[key.removeprefix("eval/")] = (
            None if value is None or not np.isfinite(value) else float(value)
        )
    return evaluation


def check_returns(policy: Policy, seed: int = CHECK_SEED, episodes: int = CHECK_EPISODES) -> list[float]:
    """The returns of ``episodes`` greedy episodes of one env reset with ``seed``: a card's ``check``."""
    from rlsuite.rollout import run_episodes
    from rlsuite.training import make_agent_envs, seed_everything

    seed_everything(seed)
    envs = make_agent_envs(policy.config, 1)
    try:
        return run_episodes(_greedy(policy), envs, episodes, seed).returns
    finally:
        envs.close()


def _figures(policy: Policy, name: str, episodes: int, seed: int | None) -> dict[str, Any]:
    """The sections of a card that evaluating the entry (re)writes."""
    from rlsuite.zoo.solved import solved

    config = policy.config
    evaluation = evaluate_policy(policy, episodes, seed)
    return {
        "name": name,
        "env_id": config.env.id,
        "env_kwargs": dict(config.env.kwargs),
        "algo": config.agent.algo,
        "config": CONFIG,
        "eval": evaluation,
        "solved": solved(config.env.id, config.env.kwargs, evaluation),
        "check": {"seed": CHECK_SEED, "episodes": CHECK_EPISODES, "returns": check_returns(policy)},
        "commit": _commit(),
        "date": datetime.date.today().isoformat(),
        "rlsuite_version": _version(),
    }


def _write_card(folder: Path, data: dict[str, Any]) -> None:
    weights = folder / WEIGHTS
    data["weights"] = {
        "file": WEIGHTS,
        "bytes": weights.stat().st_size,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    }
    (folder / CARD).write_text(json.dumps(_json_safe(data), indent=2) + "\n")


def _json_safe(value: Any) -> Any:
    """NaN and infinities (invalid JSON) as ``None``."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------------------------
# zoo add
# --------------------------------------------------------------------------------------------
def add_entry(
    run_dir: str | Path,
    name: str,
    checkpoint: str = "best",
    *,
    seed: int | None = None,
    episodes: int = EVAL_EPISODES,
    force: bool = False,
    machine: str | None = None,
    root: str | Path | None = None,
) -> Path:
    """Pack ``run_dir``'s ``checkpoint`` (``best``, else ``last``) into the zoo entry ``name`` and write
    its card (``episodes`` held-out episodes on ``seed``, default ``rlsuite eval``'s). Returns the
    entry's folder. Refused with a :class:`ConfigError`, before anything is written: a bad name, an
    existing entry (unless ``force``), a family the zoo cannot hold (``rllib.*``), a pretrained encoder
    that is not shipped in the package, weights over 1 MB."""
    from safetensors.numpy import save_file

    from rlsuite.config import algorithm_class, read_yaml, to_dict
    from rlsuite.training import load_agent, load_run_config, make_agent_envs, resolve_run_checkpoint
    from rlsuite.zoo.weights import check_packable, family_of, policy_tensors

    _check_name(name)
    run_dir = Path(run_dir)
    if not (run_dir / CONFIG).is_file():
        raise ConfigError(f"{str(run_dir)!r} is not a run directory (one that `rlsuite train` wrote)")
    check_packable(str((read_yaml(run_dir / CONFIG).get("agent") or {}).get("algo")))
    config = load_run_config(run_dir)
    family = family_of(config.agent.algo)
    _name_shipped_encoder(config)
    target = zoo_root(root) / name
    if target.exists() and not force:
        raise ConfigError(
            f"zoo: an entry named {name!r} exists in {target.parent}; pass --force to replace it"
        )
    ckpt = resolve_run_checkpoint(run_dir, checkpoint)
    loading = copy.deepcopy(config)
    loading.train.device = "cpu"
    envs = make_agent_envs(loading, 1)
    agent = None
    try:
        agent = load_agent(algorithm_class(config.agent.algo), ckpt, loading, envs)
        tensors = policy_tensors(agent, family)
    finally:
        if agent is not None:
            agent.close()
        else:
            envs.close()
    size = sum(t.nbytes for t in tensors.values())
    if size > MAX_WEIGHTS_BYTES:
        raise ConfigError(
            f"zoo: the greedy policy of {run_dir} weighs {size:,} bytes ({len(tensors)} tensors); a zoo entry's "
            f"{WEIGHTS} may weigh at most {MAX_WEIGHTS_BYTES:,} bytes (1 MB): train a smaller network "
            "(agent.net_arch, a frozen shipped encoder) or keep it as a run"
        )
    root_dir = target.parent
    root_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root_dir))
    try:
        (staging / CONFIG).write_text(_yaml(to_dict(config)))
        save_file(tensors, staging / WEIGHTS)
        written = (staging / WEIGHTS).stat().st_size
        if written > MAX_WEIGHTS_BYTES:  # the header's few hundred bytes on top of the tensors
            raise ConfigError(
                f"zoo: {WEIGHTS} of {run_dir} weighs {written:,} bytes; at most {MAX_WEIGHTS_BYTES:,} (1 MB)"
            )
        with load_entry(staging) as policy:
            figures = _figures(policy, name, episodes, seed)
        about = list(figures)[:5]  # name, env_id, env_kwargs, algo, config: then where it comes from
        data = {
            **{k: figures.pop(k) for k in about},
            "source": {"run": run_dir.resolve().name, "checkpoint": ckpt.name, "step": _step(ckpt)},
            "train": _training(run_dir, config, machine),
            **figures,
        }
        _write_card(staging, data)
        staging.chmod(0o755)  # mkdtemp's folder is private; an entry is package data
        for path in staging.iterdir():
            path.chmod(0o644)
        if target.exists():  # force: replaced only once the new entry is complete
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name) or (PACKAGE_ZOO / f"{name}.py").exists():
        raise ConfigError(
            f"--name: got {name!r}; an entry's name is lower-case letters, digits and hyphens, starting with a "
            "letter or digit (e.g. racetrack-dqn), and not the name of a module of rlsuite.zoo"
        )


def _name_shipped_encoder(config: Config) -> None:
    """A pretrained encoder must ship in the package (the entry names it, offline); a path to a shipped
    one is rewritten as its name."""
    encoder = config.encoder
    if encoder is None or not encoder.checkpoint:
        return
    from rlsuite.encoders.checkpoint import PRETRAINED_DIR, resolve_checkpoint, shipped_encoders

    shipped = shipped_encoders()
    if encoder.checkpoint in shipped:
        return
    try:
        weights = resolve_checkpoint(encoder.checkpoint).resolve()
    except FileNotFoundError:
        weights = None
    if weights is not None and weights.parent == PRETRAINED_DIR.resolve() and weights.stem in shipped:
        encoder.checkpoint = weights.stem
        return
    raise ConfigError(
        f"encoder.checkpoint: {encoder.checkpoint!r} is not an encoder shipped in the package; a zoo entry "
        f"names its pretrained encoder and never copies it: use a shipped one ({', '.join(shipped)})"
    )


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def _step(checkpoint: Path) -> int | None:
    monitor = checkpoint / "monitor.json"
    return json.loads(monitor.read_text()).get("global_step") if monitor.is_file() else None


EVENTS_TIME = re.compile(r"events\.out\.tfevents\.(\d+)\.")


def _training(run_dir: Path, config: Config, machine: str | None) -> dict[str, Any]:
    """A card's ``train`` section from the run directory: the budget, the seed, and the wall-clock from
    the run's start (its TensorBoard file's creation time, else its first logged row) to its last row
    of ``metrics.csv`` (a resumed run's includes the pause). The run directory records no CPU time."""
    starts = [
        int(m.group(1)) for p in run_dir.glob("events.out.tfevents.*") if (m := EVENTS_TIME.match(p.name))
    ]
    times = []
    metrics = run_dir / "metrics.csv"
    if metrics.is_file():
        with open(metrics, newline="") as f:
            times = [float(row["wall_time"]) for row in csv.DictReader(f) if row.get("wall_time")]
    wall = None
    if times:
        start = min(starts) if starts else min(times)
        wall = round(max(times) - min(start, min(times)), 1)
    return {
        "total_steps": config.train.total_steps,
        "seeds": [config.train.seed],
        "wall_s": wall,
        "cpu_s": None,
        "machine": machine,
    }


def _commit() -> str | None:
    """The checkout's commit (``-dirty`` when ``rlsuite/`` has uncommitted changes); ``None`` outside a clone."""

    def git(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, cwd=PACKAGE_ZOO)
        except (OSError, subprocess.SubprocessError):
            return None

    head = git("rev-parse", "HEAD")
    if head is None or head.returncode != 0 or not head.stdout.strip():
        return None
    status = git("status", "--porcelain", "--", str(PACKAGE_ZOO.parent))
    dirty = status is not None and any(
        line and not line[3:].startswith("rlsuite/zoo/") for line in status.stdout.splitlines()
    )
    return head.stdout.strip() + ("-dirty" if dirty else "")


def _version() -> str:
    import rlsuite

    return rlsuite.__version__


# --------------------------------------------------------------------------------------------
# zoo cards: re-evaluate, rewrite, animate
# --------------------------------------------------------------------------------------------
def refresh_cards(
    selected: Sequence[str] = (),
    *,
    animations: str | Path | None = ANIMATIONS,
    root: str | Path | None = None,
) -> list[Path]:
    """Re-evaluate the entries ``selected`` (default: every one) on their cards' own episodes and seed,
    rewrite their figures (``eval``, ``solved``, ``check``, commit, date; ``train`` and ``source`` stay)
    and write each one's animation ``<animations>/<name>.gif`` (``None``: none). Returns the cards."""
    chosen = list(selected) or names(root)
    for name in chosen:
        entry_dir(name, root)  # every name checked before any card is rewritten
    written = []
    for name in chosen:
        folder = entry_dir(name, root)
        old = card(name, root)
        evaluation = old.get("eval", {})
        with load_entry(folder) as policy:
            figures = _figures(
                policy, name, evaluation.get("episodes", EVAL_EPISODES), evaluation.get("seed")
            )
            if animations is not None:
                write_animation(policy, Path(animations) / f"{name}.gif")
        _write_card(folder, {**old, **figures})
        written.append(folder / CARD)
    return written


def write_animation(policy: Policy, path: Path, seed: int | None = None) -> Path:
    """A short GIF of ``policy`` playing greedily (one episode on ``rlsuite eval``'s held-out seed, at
    most :data:`ANIMATION_SECONDS` of real time, :data:`ANIMATION_SIZE` px): the docs' animation."""
    from rlsuite.record import GIF_MAX_FPS, write_gif
    from rlsuite.rollout import collect_frames
    from rlsuite.training import TEST_SEED_OFFSET, make_agent_envs

    config = copy.deepcopy(policy.config)
    config.env.kwargs = {**config.env.kwargs, "render_mode": "rgb_array"}
    envs = make_agent_envs(config, 1)
    try:
        fps = min(float((getattr(envs, "metadata", None) or {}).get("render_fps") or 30), GIF_MAX_FPS)
        seed = config.train.seed + TEST_SEED_OFFSET if seed is None else seed
        frames, _ = collect_frames(
            _greedy(policy),
            envs,
            1,
            seed,
            max_steps=max(1, int(ANIMATION_SECONDS * fps)),
            size=ANIMATION_SIZE,
        )
    finally:
        envs.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_gif(path, frames, fps)
    return path
