"""A run directory or a zoo entry, wherever a command takes one: ``rlsuite eval NAME|RUN_DIR`` and
``rlsuite export NAME|RUN_DIR`` (and :func:`rlsuite.evaluate`, :func:`rlsuite.export.export_run`).

:func:`resolve_source` says which one a string names: a directory holding ``config.yaml`` is a run
directory, or a zoo entry's folder when it also holds ``card.json`` and ``model.safetensors``; anything
else is looked up as a zoo entry's name (in the package's zoo, ``$RLSUITE_ZOO`` or ``root``). A zoo entry
is loaded as :func:`rlsuite.load_pretrained` loads it (:func:`rlsuite.zoo.pack.load_entry`: its config and
the agent built from ``model.safetensors``), on CPU, where its card was measured.

The package's zoo folder may be read-only and is never written to: an evaluation of an entry is written
under ``./rlsuite-eval/<name>/`` (:data:`EVAL_DIR`), an export under ``./export/<name>-<format>/``
(:func:`rlsuite.export.export_run`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlsuite.config import ConfigError
from rlsuite.zoo import CARD, CONFIG, WEIGHTS, names, zoo_root

if TYPE_CHECKING:
    from rlsuite.api import Policy
    from rlsuite.perturb import Perturbation
    from rlsuite.rollout import EpisodeResults

__all__ = [
    "EVAL_DIR",
    "Source",
    "check_no_checkpoint",
    "entry_episodes",
    "evaluate_entry",
    "evaluate_entry_robustness",
    "load_source_entry",
    "resolve_source",
]

EVAL_DIR = Path("rlsuite-eval")
"""Where ``rlsuite eval NAME`` writes its JSON (relative to the working directory): ``<name>/``."""


@dataclass(frozen=True)
class Source:
    """What a command's ``NAME|RUN_DIR`` argument names: ``kind`` is ``run`` or ``zoo``; ``path`` the run
    directory or the entry's folder; ``name`` the entry's name (a run: its directory's name)."""

    kind: str
    path: Path
    name: str

    @property
    def is_zoo(self) -> bool:
        return self.kind == "zoo"


def _is_entry_folder(path: Path) -> bool:
    return all((path / f).is_file() for f in (CONFIG, WEIGHTS, CARD))


def resolve_source(source: str | Path, root: str | Path | None = None) -> Source:
    """The run directory or zoo entry ``source`` names (see the module docstring); a
    :class:`ConfigError` saying what was looked for, with the zoo's names, when it names neither."""
    path = Path(source)
    if path.is_dir() and (path / CONFIG).is_file():
        if _is_entry_folder(path):
            return Source("zoo", path, path.resolve().name)
        return Source("run", path, path.resolve().name)
    if str(source) in names(root):
        return Source("zoo", zoo_root(root) / str(source), str(source))
    known = names(root)
    listed = ", ".join(known) if known else "none"
    if path.exists():
        looked = f"{str(source)!r} is not a run directory (one that `rlsuite train` wrote holds config.yaml) "
        looked += "nor a zoo entry's folder (config.yaml, model.safetensors, card.json)"
    else:
        import difflib

        close = difflib.get_close_matches(str(source), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        looked = (
            f"{str(source)!r} is not a run directory (no directory {str(path.absolute())!r}) nor the name "
            f"of a zoo entry in {zoo_root(root)}{hint}"
        )
    raise ConfigError(f"{looked}. Zoo names: {listed}")


def load_source_entry(source: Source) -> Policy:
    """The policy of a zoo entry ``source`` (as :func:`rlsuite.load_pretrained`, on CPU)."""
    from rlsuite.zoo.pack import load_entry

    if not source.is_zoo:
        raise ValueError(f"{source.path} is a run directory, not a zoo entry")
    return load_entry(source.path)


def check_no_checkpoint(checkpoint: str, source: Source) -> None:
    """A zoo entry holds one policy (its card's ``source.checkpoint``): only the default ``best`` is taken."""
    if checkpoint != "best":
        raise ConfigError(
            f"--checkpoint: got {checkpoint!r}, but {source.name} is a zoo entry, which holds one policy "
            "(no checkpoints); --checkpoint is for run directories"
        )


# --------------------------------------------------------------------------------------------
# Evaluating an entry: `rlsuite eval NAME [--perturb …]`
# --------------------------------------------------------------------------------------------
def _greedy(policy: Policy) -> Any:
    return lambda obs, starts: policy.agent.act(obs, deterministic=True, episode_start=starts)


def _envs(policy: Policy, episodes: int, perturbation: Perturbation | None) -> Any:
    from rlsuite.training import make_agent_envs

    return make_agent_envs(policy.config, min(policy.config.train.eval_num_envs, episodes), perturbation)


def entry_episodes(
    policy: Policy, episodes: int, seed: int, perturbation: Perturbation | None = None
) -> EpisodeResults:
    """The whole greedy episodes behind an evaluation of ``policy`` (each one's return, length and task
    metrics): ``episodes`` on ``seed`` over ``train.eval_num_envs`` envs, perturbed by ``perturbation``,
    as :func:`evaluate_entry` and ``rlsuite eval RUN_DIR`` run them."""
    from rlsuite.rollout import run_episodes
    from rlsuite.training import seed_everything

    seed_everything(seed)
    envs = _envs(policy, episodes, perturbation)
    try:
        return run_episodes(_greedy(policy), envs, episodes, seed)
    finally:
        envs.close()


def _defaults(source: Source, episodes: int | None, seed: int | None) -> tuple[int, int]:
    """The card's episodes and seed: an unperturbed ``rlsuite eval NAME`` gives the card's figures."""
    evaluation = json.loads((source.path / CARD).read_text()).get("eval", {})
    episodes = int(evaluation.get("episodes", 100)) if episodes is None else episodes
    if episodes < 1:
        raise ConfigError(f"episodes: got {episodes}; must be >= 1")
    if seed is None:
        seed = evaluation.get("seed")
    return episodes, seed


def _evaluate(
    policy: Policy, source: Source, episodes: int, seed: int, perturbation: Perturbation | None
) -> dict[str, Any]:
    from rlsuite.training import evaluate, seed_everything

    seed_everything(seed)
    envs = _envs(policy, episodes, perturbation)
    try:
        result = evaluate(_greedy(policy), envs, episodes, seed)
    finally:
        envs.close()
    return {
        **result,
        "episodes": episodes,
        "zoo_entry": source.name,
        "seed": seed,
        "perturbation": None if perturbation is None else perturbation.record(),
    }


def evaluate_entry(
    source: str | Path | Source,
    episodes: int | None = None,
    seed: int | None = None,
    perturb: str | None = None,
    *,
    root: str | Path | None = None,
    out_dir: str | Path | None = EVAL_DIR,
) -> dict[str, Any]:
    """``rlsuite eval NAME``: the zoo entry's greedy evaluation, with :func:`rlsuite.training.evaluate`'s
    statistics (task metrics as ``<name>_mean``/``<name>_std``), by default on its card's episodes and
    seed (so unperturbed it gives the card's figures). ``perturb``: ``NAME[:LEVEL]`` of
    :mod:`rlsuite.perturb`, seeded with the episodes' seed. The result is written to
    ``<out_dir>/<name>/eval[-<perturbation><level>]-<time>.json`` (``out_dir=None``: not written; the
    path is the result's ``written``), never into the zoo."""
    if not isinstance(source, Source):
        source = resolve_source(source, root)
    episodes, seed = _defaults(source, episodes, seed)
    with load_source_entry(source) as policy:
        seed = policy.config.train.seed + _test_offset() if seed is None else seed
        perturbation = _perturbation(perturb, seed, policy)
        result = _evaluate(policy, source, episodes, seed, perturbation)
    tag = "" if perturbation is None else f"-{perturbation.name}{perturbation.level}"
    if out_dir is not None:
        result["written"] = str(_write_json(Path(out_dir) / source.name, f"eval{tag}", result))
    return result


def evaluate_entry_robustness(
    source: str | Path | Source,
    episodes: int | None = None,
    seed: int | None = None,
    levels: tuple[int, ...] = (1, 2, 3),
    *,
    root: str | Path | None = None,
    out_dir: str | Path | None = EVAL_DIR,
) -> list[dict[str, Any]]:
    """``rlsuite eval NAME --perturb all``: the unperturbed evaluation, then every perturbation that
    applies to the entry's env at each of ``levels``, on the same episodes' seed; rows as
    :func:`rlsuite.training.evaluate_robustness` returns them, written to
    ``<out_dir>/<name>/robustness-<time>.json`` (the rows are returned; ``out_dir=None``: not written)."""
    from rlsuite.perturb import LEVELS, applicable
    from rlsuite.training import robustness_row

    for level in levels:
        if level not in LEVELS:
            raise ConfigError(f"levels: got {level!r}; allowed: {LEVELS}")
    if not isinstance(source, Source):
        source = resolve_source(source, root)
    episodes, seed = _defaults(source, episodes, seed)
    rows = []
    with load_source_entry(source) as policy:
        seed = policy.config.train.seed + _test_offset() if seed is None else seed
        base = _evaluate(policy, source, episodes, seed, None)
        rows.append(robustness_row("none", 0, base, base))
        for name in applicable(policy.config.env):
            for level in levels:
                result = _evaluate(
                    policy, source, episodes, seed, _perturbation(f"{name}:{level}", seed, policy)
                )
                rows.append(robustness_row(name, level, result, base))
    if out_dir is not None:
        _write_json(
            Path(out_dir) / source.name,
            "robustness",
            {"zoo_entry": source.name, "episodes": episodes, "seed": seed, "rows": rows},
        )
    return rows


def _test_offset() -> int:
    from rlsuite.training import TEST_SEED_OFFSET

    return TEST_SEED_OFFSET


def _perturbation(perturb: str | None, seed: int, policy: Policy) -> Perturbation | None:
    if perturb is None:
        return None
    from rlsuite.perturb import parse_perturbation

    return parse_perturbation(perturb, seed=seed, env=policy.config.env)


def _write_json(folder: Path, prefix: str, result: Any) -> Path:
    """``<folder>/<prefix>-<stamp>.json`` (a new name if that one exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = folder / f"{prefix}-{stamp}.json"
    k = 1
    while out.exists():
        out = folder / f"{prefix}-{stamp}-{k}.json"
        k += 1
    folder.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return out
