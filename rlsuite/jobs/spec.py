"""A sweep file: its spec (:class:`SweepSpec`), how it is read and checked, the configurations it
names (:func:`variants`) and their labels. The runner (:mod:`rlsuite.jobs.sweep`) and the summary
(:mod:`rlsuite.jobs.summary`) both build on this module, which imports no Ray.

A sweep file names a base config and what to vary::

    name: dqn-cartpole-lr            # the sweep directory: <log.run_dir of the base>/<name>
    base: dqn_cartpole.yaml          # relative to the sweep file
    set: {train.total_steps: 20000}  # fixed overrides of the base
    space:                           # dotted config keys
      agent.learning_rate: [1.0e-3, 2.3e-3]          # a list: every value (grid)
      agent.gamma: {uniform: [0.95, 0.999]}          # or a distribution, drawn num_samples times
      agent.batch_size: {choice: [64, 128]}          # also: loguniform, randint (upper exclusive)
    seeds: 0-2                       # every configuration runs on each seed (also [0, 5], or 3)
    batch_seeds: false               # true: one trial a configuration trains all its seeds at once
    metric: eval/return_mean
    mode: max
    num_samples: 1
    resources: {cpus: 1, gpus: 0}   # per trial; fractional GPUs allowed
    max_concurrent: 0                # 0: as many as the resources allow
    max_failures: 2                  # retries of a failing trial, each from its last checkpoint
                                     # (batch_seeds: from scratch, in a fresh run directory)
    scheduler: none                  # or asha (early stopping): {type: asha, grace_period: 5000}
    search: grid                     # or optuna (TPE through Ray Tune, `pip install optuna`)

Configurations are drawn here, once, with ``sweep_seed``: grid points × ``num_samples`` draws of
the distributions, and every configuration runs on every seed, so the summary's mean ± std over
seeds compares like with like. With ``search: optuna`` Optuna proposes ``num_samples``
configurations instead, each on the first seed only.

``batch_seeds: true`` runs each configuration as one trial that trains all the sweep's seeds side by
side in one process, as one batched computation (``train.num_seeds: len(seeds)``, for the algorithms
that declare it: pqn, dqn). ``train.num_seeds`` trains ``seed, seed + 1, …``, so the seeds must be
consecutive (``0-4``, ``[3, 4, 5]``); search must be ``grid``; ``resources`` are then what one trial
of all the seeds gets. Each seed still writes its own ordinary run directory (under
``<sweep dir>/v<NN>-<label>-<K>seeds-<stamp>/``) with the very numbers of that seed's trial in a sweep
without ``batch_seeds`` (a K-seed run is bit-identical per seed), so the summary, a row per seed,
shows the same figures. The trial reports to Tune each evaluation scalar's mean over the seeds (the
metric's among them), and each seed's metric and run directory as ``seed<S>/<metric>`` and
``seed<S>/run_dir``. A K-seed run cannot resume: a failed trial's retry, and an unfinished trial of a
sweep continued with ``--resume``, start that trial from scratch in a fresh run directory; the failed
attempt's directories stay as they are. With one seed the trials are ordinary ones.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlsuite.config import Config, ConfigError, build, from_dict, hp, read_yaml, set_key

__all__ = [
    "SweepSpec",
    "batches_seeds",
    "describe",
    "label",
    "load_sweep",
    "parse_seeds",
    "seed_key",
    "seeds_text",
    "variants",
]

DISTRIBUTIONS = ("grid", "choice", "uniform", "loguniform", "randint")


@dataclass
class Scheduler:
    type: Literal["none", "asha"] = hp("none", "none, or asha: stop poor trials early")
    grace_period: int = hp(0, "ASHA: env steps every trial gets (0: a tenth of train.total_steps)", ge=0)
    reduction_factor: float = hp(2.0, "ASHA: keep the best 1/reduction_factor at each rung", gt=1)


@dataclass
class Resources:
    cpus: float = hp(1.0, "CPUs per trial (RLlib agents add their env runners' CPUs)", ge=0)
    gpus: float = hp(0.0, "GPUs per trial; fractions share a GPU", ge=0)


@dataclass
class SweepSpec:
    name: str = hp("", "the sweep's name: its directory is <log.run_dir of the base config>/<name>")
    base: str | None = hp(None, "base config file, relative to the sweep file (null: the embedded default)")
    set: dict[str, Any] = hp(default_factory=dict, doc="fixed overrides of the base config (dotted keys)")
    space: dict[str, Any] = hp(default_factory=dict, doc="dotted key -> list of values, or a distribution")
    seeds: Any = hp(default_factory=lambda: [0], doc="seeds of every configuration: [0, 1], 0-4, or a count")
    batch_seeds: bool = hp(
        False,
        "one trial a configuration, training its seeds side by side (train.num_seeds; pqn, dqn; consecutive "
        "seeds; a failed trial restarts from scratch)",
    )
    metric: str = hp("eval/return_mean", "the scalar that ranks configurations (reported each evaluation)")
    mode: Literal["max", "min"] = hp("max", "whether a larger or smaller metric is better")
    num_samples: int = hp(1, "draws of the distributions in space (per grid point)", ge=1)
    sweep_seed: int = hp(0, "seed of those draws", ge=0)
    resources: Resources = hp(default_factory=Resources, doc="per trial")
    max_concurrent: int = hp(0, "trials at once (0: as many as the resources allow)", ge=0)
    max_failures: int = hp(
        2, "retries of a failing trial, each from its last checkpoint (batch_seeds: from scratch)", ge=0
    )
    scheduler: Scheduler = hp(default_factory=Scheduler, doc="early stopping")
    search: Literal["grid", "optuna"] = hp("grid", "grid (with random draws), or optuna's TPE")


# --------------------------------------------------------------------------------------------
# The sweep file
# --------------------------------------------------------------------------------------------
def load_sweep(path: str | Path, overrides: list[str] | None = None) -> tuple[SweepSpec, dict[str, Any]]:
    """Read and check a sweep file: the spec and the resolved base config (plus ``set``), checked by
    building it, so a bad base or a bad key in ``space`` fails before Ray starts."""
    from rlsuite.config import apply_overrides, default_config_data

    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a sweep file is a mapping (name, base, space, seeds, …)")
    data = apply_overrides(data, list(overrides or []))
    if isinstance(data.get("scheduler"), str):
        data["scheduler"] = {"type": data["scheduler"]}
    spec = build(SweepSpec, data, "sweep")
    if not spec.name:
        spec.name = path.stem
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", spec.name):
        raise ConfigError(f"sweep.name: got {spec.name!r}; use letters, digits, '-', '_' and '.'")
    spec.seeds = parse_seeds(spec.seeds)
    if spec.base is None:
        base = default_config_data()
    else:
        base_path = Path(spec.base)
        if not base_path.is_absolute():
            base_path = path.parent / base_path
        base = read_yaml(base_path)
    for key, value in spec.set.items():
        set_key(base, _dotted(key, "set"), value)
    for key, values in spec.space.items():
        _check_space_entry(key, values)
    # Every configuration must build: check the first value of every axis, and each grid value.
    probes = []
    for overrides in _probe_overrides(spec):
        probe = copy.deepcopy(base)
        for key, value in overrides.items():
            set_key(probe, _dotted(key, "space"), value)
        probes.append(from_dict(probe))
    _check_seeds_per_trial(spec, probes)
    if spec.search == "optuna":
        try:
            import optuna  # noqa: F401
        except ModuleNotFoundError:
            raise ConfigError("sweep.search: optuna needs the package optuna; pip install optuna") from None
    return spec, base


def _check_seeds_per_trial(spec: SweepSpec, configs: list[Config]) -> None:
    """The sweep sets ``train.num_seeds`` (1, or the seeds of ``batch_seeds``); with ``batch_seeds``,
    the seeds must be consecutive, the search a grid and every configuration's algorithm one that
    trains seeds side by side."""
    given = sorted({c.train.num_seeds for c in configs} - {1})
    if given:
        raise ConfigError(
            f"train.num_seeds: got {given[0]} in the sweep's base config, set or space; a sweep sets it "
            "itself: one seed per trial, or all of a configuration's seeds in one trial with "
            "batch_seeds: true. Remove train.num_seeds and list the seeds under seeds"
        )
    if not spec.batch_seeds:
        return
    if spec.search != "grid":
        raise ConfigError(
            f"sweep.batch_seeds: needs search: grid; with search: {spec.search} each configuration runs on "
            "the first seed only. Set batch_seeds: false"
        )
    low = min(spec.seeds)
    if sorted(spec.seeds) != list(range(low, low + len(spec.seeds))):
        raise ConfigError(
            f"sweep.seeds: got {spec.seeds}; with batch_seeds: true the seeds must be consecutive "
            f"(train.num_seeds trains seed, seed + 1, …), e.g. {low}-{low + len(spec.seeds) - 1}; "
            "or set batch_seeds: false"
        )
    from rlsuite.config import algorithm_class
    from rlsuite.training import seed_batch_algos

    algos = sorted({c.agent.algo for c in configs})
    alone = [a for a in algos if not algorithm_class(a).learns_seeds_together]
    if alone:
        raise ConfigError(
            f"sweep.batch_seeds: agent.algo {', '.join(alone)} trains one seed per process; algorithms "
            f"that train seeds side by side: {', '.join(seed_batch_algos())}. Set batch_seeds: false "
            "(one trial per seed)"
        )


def batches_seeds(spec: SweepSpec) -> bool:
    """Whether each configuration runs as one trial of all its seeds (``batch_seeds`` with 2 or more
    seeds; with one seed the trials are ordinary ones)."""
    return spec.batch_seeds and spec.search == "grid" and len(spec.seeds) > 1


def seed_key(seed: int, key: str) -> str:
    """Where a batched trial reports seed ``seed``'s ``key`` to Tune: ``seed3/eval/return_mean``."""
    return f"seed{seed}/{key}"


def seeds_text(seeds: list[int]) -> str:
    """``0-2`` for consecutive seeds, ``0,5`` otherwise."""
    ordered = sorted(seeds)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(map(str, ordered))


def parse_seeds(seeds: Any) -> list[int]:
    """``[0, 3]``, ``"0-4"`` (inclusive), ``3`` (0, 1, 2) or ``"1,5"``."""
    if isinstance(seeds, bool):
        raise ConfigError(
            f"sweep.seeds: got {seeds!r}; expected a list of seeds, a range like 0-4, or a count"
        )
    if isinstance(seeds, int):
        if seeds < 1:
            raise ConfigError(f"sweep.seeds: got {seeds}; a count of seeds must be >= 1")
        return list(range(seeds))
    if isinstance(seeds, str):
        text = seeds.replace(" ", "")
        match = re.fullmatch(r"(\d+)-(\d+)", text)
        if match:
            low, high = int(match[1]), int(match[2])
            if high < low:
                raise ConfigError(f"sweep.seeds: got {seeds!r}; the range is empty")
            return list(range(low, high + 1))
        if re.fullmatch(r"\d+(,\d+)*", text):
            seeds = [int(s) for s in text.split(",")]
        else:
            raise ConfigError(f"sweep.seeds: got {seeds!r}; expected e.g. 0-4, [0, 1, 2] or 3")
    if (
        isinstance(seeds, list)
        and seeds
        and all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        if min(seeds) < 0 or len(set(seeds)) != len(seeds):
            raise ConfigError(f"sweep.seeds: got {seeds!r}; seeds are distinct integers >= 0")
        return list(seeds)
    raise ConfigError(f"sweep.seeds: got {seeds!r}; expected e.g. 0-4, [0, 1, 2] or 3")


def _dotted(key: str, section: str) -> list[str]:
    parts = key.split(".")
    if not isinstance(key, str) or any(not p for p in parts) or len(parts) < 2:
        raise ConfigError(f"sweep.{section}.{key}: keys are dotted config keys, e.g. agent.learning_rate")
    return parts


def _check_space_entry(key: str, values: Any) -> None:
    _dotted(key, "space")
    where = f"sweep.space.{key}"
    if isinstance(values, list):
        if not values:
            raise ConfigError(f"{where}: an empty list; give the values to try")
        return
    if not isinstance(values, dict) or len(values) != 1 or next(iter(values)) not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: got {values!r}; expected a list of values or one of "
            f"{{{', '.join(f'{d}: …' for d in DISTRIBUTIONS)}}}"
        )
    ((kind, args),) = values.items()
    if kind in ("grid", "choice"):
        if not isinstance(args, list) or not args:
            raise ConfigError(f"{where}.{kind}: expected a non-empty list of values, got {args!r}")
        return
    numbers = (
        isinstance(args, list)
        and len(args) == 2
        and all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    )
    if not numbers or not args[0] < args[1]:
        raise ConfigError(f"{where}.{kind}: expected [low, high] with low < high, got {args!r}")
    if kind == "loguniform" and args[0] <= 0:
        raise ConfigError(f"{where}.loguniform: bounds must be > 0, got {args!r}")
    if kind == "randint" and not all(isinstance(a, int) for a in args):
        raise ConfigError(f"{where}.randint: bounds must be integers, got {args!r}")


def _axes(spec: SweepSpec) -> tuple[dict[str, list], dict[str, tuple[str, list]]]:
    grid, random = {}, {}
    for key, values in spec.space.items():
        if isinstance(values, list):
            grid[key] = values
        else:
            ((kind, args),) = values.items()
            if kind == "grid":
                grid[key] = args
            else:
                random[key] = (kind, args)
    return grid, random


def _probe_overrides(spec: SweepSpec) -> list[dict[str, Any]]:
    grid, random = _axes(spec)
    first = {k: args[0] for k, (_, args) in random.items()}
    probes = [dict(first, **{k: v[0] for k, v in grid.items()})]
    for key, values in grid.items():
        for value in values[1:]:
            probes.append({**probes[0], key: value})
    for key, (kind, args) in random.items():
        for value in args[1:] if kind == "choice" else [args[1] - 1 if kind == "randint" else args[1]]:
            probes.append({**probes[0], key: value})
    return probes


def variants(spec: SweepSpec) -> list[dict[str, Any]]:
    """The configurations (dotted key -> value): grid points × ``num_samples`` draws, drawn once."""
    rng = np.random.default_rng(spec.sweep_seed)
    grid, random = _axes(spec)
    points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] or [{}]
    if not random:
        return points
    out = []
    for point in points:
        for _ in range(spec.num_samples):
            drawn = dict(point)
            for key, (kind, args) in random.items():
                drawn[key] = _draw(rng, kind, args)
            out.append(drawn)
    return out


def _draw(rng: np.random.Generator, kind: str, args: list) -> Any:
    if kind == "choice":
        return args[int(rng.integers(len(args)))]
    if kind == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
    return int(rng.integers(args[0], args[1]))


def label(overrides: dict[str, Any]) -> str:
    """A short, file-name-safe name of a configuration: ``learning_rate=0.001,gamma=0.99``."""
    if not overrides:
        return "base"
    parts = []
    for key, value in overrides.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        parts.append(f"{key.split('.')[-1]}={shown}")
    return re.sub(r"[^A-Za-z0-9=,._-]", "_", ",".join(parts))[:120]


def describe(spec: SweepSpec) -> str:
    """How many configurations, seeds and trials the sweep runs (its first progress line)."""
    n = len(variants(spec)) if spec.search == "grid" else spec.num_samples
    seeds = len(spec.seeds) if spec.search == "grid" else 1
    if batches_seeds(spec):
        return f"{n} configuration(s) × {seeds} seed(s) = {n * seeds} runs in {n} trials (seeds side by side)"
    return f"{n} configuration(s) × {seeds} seed(s) = {n * seeds} trials"
