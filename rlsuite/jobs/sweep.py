"""``rlsuite sweep SWEEP.yaml``: seeds × hyper-parameters × algorithms as Ray Tune trials.

A sweep file names a base config and what to vary::

    name: dqn-cartpole-lr            # the sweep directory: <log.run_dir of the base>/<name>
    base: dqn_cartpole.yaml          # relative to the sweep file
    set: {train.total_steps: 20000}  # fixed overrides of the base
    space:                           # dotted config keys
      agent.learning_rate: [1.0e-3, 2.3e-3]          # a list: every value (grid)
      agent.gamma: {uniform: [0.95, 0.999]}          # or a distribution, drawn num_samples times
      agent.batch_size: {choice: [64, 128]}          # also: loguniform, randint (upper exclusive)
    seeds: 0-2                       # every configuration runs on each seed (also [0, 5], or 3)
    metric: eval/return_mean
    mode: max
    num_samples: 1
    resources: {cpus: 1, gpus: 0}   # per trial; fractional GPUs allowed
    max_concurrent: 0                # 0: as many as the resources allow
    max_failures: 2                  # retries of a failing trial, each from its last checkpoint
    scheduler: none                  # or asha (early stopping): {type: asha, grace_period: 5000}
    search: grid                     # or optuna (TPE through Ray Tune, `pip install optuna`)

Configurations are drawn here, once, with ``sweep_seed``: grid points × ``num_samples`` draws of
the distributions, and every configuration runs on every seed, so the summary's mean ± std over
seeds compares like with like. With ``search: optuna`` Optuna proposes ``num_samples``
configurations instead, each on the first seed only.

Every trial is a normal rlsuite training run: its run directory lands in the sweep directory
(``tensorboard --logdir runs/<name>`` compares them all), it reports each evaluation to Tune and
saves ``checkpoints/last`` with it, so a retried trial resumes where it failed and ``--resume``
continues an interrupted sweep without rerunning finished trials. Tune's own state lives in
``<sweep dir>/_tune``; the summary (``summary.md``, ``summary.csv``, ``curves.png``) in the sweep
directory.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rlsuite.checkpoints import CheckpointError, find_checkpoint
from rlsuite.config import ConfigError, build, from_dict, hp, read_yaml, set_key, to_dict

__all__ = ["SweepSpec", "load_sweep", "run_sweep", "variants"]

DISTRIBUTIONS = ("grid", "choice", "uniform", "loguniform", "randint")
TUNE_DIR = "_tune"
SPEC_FILE = "sweep.yaml"


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
    metric: str = hp("eval/return_mean", "the scalar that ranks configurations (reported each evaluation)")
    mode: Literal["max", "min"] = hp("max", "whether a larger or smaller metric is better")
    num_samples: int = hp(1, "draws of the distributions in space (per grid point)", ge=1)
    sweep_seed: int = hp(0, "seed of those draws", ge=0)
    resources: Resources = hp(default_factory=Resources, doc="per trial")
    max_concurrent: int = hp(0, "trials at once (0: as many as the resources allow)", ge=0)
    max_failures: int = hp(2, "retries of a failing trial, each from its last checkpoint", ge=0)
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
    for overrides in _probe_overrides(spec):
        probe = copy.deepcopy(base)
        for key, value in overrides.items():
            set_key(probe, _dotted(key, "space"), value)
        from_dict(probe)
    if spec.search == "optuna":
        try:
            import optuna  # noqa: F401
        except ModuleNotFoundError:
            raise ConfigError("sweep.search: optuna needs the package optuna; pip install optuna") from None
    return spec, base


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


# --------------------------------------------------------------------------------------------
# The trial (runs in a Ray worker)
# --------------------------------------------------------------------------------------------
def trial_config(base: dict[str, Any], overrides: dict[str, Any], seed: int, sweep_dir: Path, name: str):
    data = copy.deepcopy(base)
    for key, value in overrides.items():
        set_key(data, key.split("."), value)
    set_key(data, ["train", "seed"], seed)
    set_key(data, ["log", "run_dir"], str(sweep_dir))
    set_key(data, ["log", "name"], name)
    set_key(data, ["log", "progress"], "none")
    return from_dict(data)


def run_trial(params: dict[str, Any], *, base: dict[str, Any], sweep_dir: str, metric: str) -> None:
    """The Tune trainable: one rlsuite training run, resumed from Tune's checkpoint when retried."""
    import logging

    import ray
    from ray import tune

    from rlsuite.training import train

    logging.getLogger("ray.train").setLevel(logging.WARNING)  # a line per reported checkpoint
    overrides, seed, index = params["overrides"], params["seed"], params.get("variant", -1)
    name = f"v{index:02d}-{label(overrides)}-s{seed}" if index >= 0 else f"{label(overrides)}-s{seed}"
    config = trial_config(base, overrides, seed, Path(sweep_dir), name)
    resume = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = json.loads((Path(directory) / "trial.json").read_text())
        try:  # an intact checkpoints/last (or its previous copy) to resume from
            find_checkpoint(Path(state["run_dir"]) / "checkpoints", "last")
            resume = state["run_dir"]
        except CheckpointError:
            resume = None
    started = time.perf_counter()
    node_id = ray.get_runtime_context().get_node_id()

    def report(monitor, step: int, result: dict[str, float]) -> None:
        import tempfile

        monitor.checkpoint(step, "last")  # a retry resumes from here
        state = {
            "run_dir": str(monitor.run.dir),
            "step": step,
            "seed": seed,
            "overrides": overrides,
            "node_id": node_id,  # where it ran (nodes of one machine share their IP)
        }
        partial = monitor.run.dir / "trial.json.partial"
        partial.write_text(json.dumps(state))
        os.replace(partial, monitor.run.dir / "trial.json")  # readers never see half a file
        with tempfile.TemporaryDirectory() as directory:
            (Path(directory) / "trial.json").write_text(json.dumps(state))
            metrics = {**result, "env_steps": step, "train_time_s": time.perf_counter() - started}
            if metric not in metrics:
                raise ConfigError(
                    f"sweep.metric: {metric!r} is not reported at evaluations; reported: "
                    f"{', '.join(sorted(metrics))}"
                )
            metrics["run_dir"] = str(monitor.run.dir)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))

    train(config, resume=resume, on_evaluation=report)


# --------------------------------------------------------------------------------------------
# The sweep (runs in the driver)
# --------------------------------------------------------------------------------------------
def sweep_dir_of(spec: SweepSpec, base: dict[str, Any]) -> Path:
    run_dir = base.get("log", {}).get("run_dir", "runs") if isinstance(base.get("log"), dict) else "runs"
    return (Path(run_dir) / spec.name).resolve()


def trial_resources(spec: SweepSpec, base: dict[str, Any]) -> list[dict[str, float]]:
    """Placement-group bundles of one trial: the training process, plus RLlib's env runners."""
    config = from_dict(copy.deepcopy(base))
    bundles = [{"CPU": spec.resources.cpus, "GPU": spec.resources.gpus}]
    if config.agent.algo.startswith("rllib."):
        p = config.agent.params
        bundles += [{"CPU": p.num_cpus_per_env_runner} for _ in range(p.num_env_runners)]
    return bundles


def run_sweep(
    path: str | Path,
    address: str | None = None,
    resume: bool = False,
    overrides: list[str] | None = None,
    echo: Any = None,
) -> Path:
    """Run (or with ``resume``, continue) a sweep; returns its directory, which holds the summary."""
    from rlsuite.cluster import check_fits, connect

    echo = echo or say  # Tune pickles its callbacks with the Tuner: a module function, not `print`
    path = Path(path)
    spec, base = load_sweep(path, overrides)
    sweep_dir = sweep_dir_of(spec, base)
    tune_dir = sweep_dir / TUNE_DIR
    if resume:
        if not (sweep_dir / SPEC_FILE).is_file():
            raise ConfigError(f"--resume: {sweep_dir} holds no sweep to resume (no {SPEC_FILE})")
        saved = json.loads((sweep_dir / SPEC_FILE).read_text())
        spec = build(SweepSpec, saved["spec"], "sweep")
        base = saved["base"]
    elif sweep_dir.exists() and any(sweep_dir.iterdir()):
        raise ConfigError(
            f"sweep directory {sweep_dir} exists: --resume continues that sweep, or give the sweep "
            "another name (name: … in the sweep file, or name=… on the command line)"
        )
    started = connect(address)
    try:
        bundles = trial_resources(spec, base)
        check_fits(bundles, f"sweep {spec.name!r}: each trial")
        if not resume:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            (sweep_dir / SPEC_FILE).write_text(json.dumps({"spec": to_dict(spec), "base": base}, indent=2))
        echo(f"sweep {spec.name}: {describe(spec)} -> {sweep_dir}")
        results = _fit(spec, base, sweep_dir, tune_dir, bundles, resume, echo)
    finally:
        if started:
            import ray

            ray.shutdown()
    from rlsuite.jobs.summary import summarize

    summary = summarize(sweep_dir, spec, results)
    echo(summary)
    return sweep_dir


def say(line: str) -> None:
    """Print one progress line (the default ``echo``)."""
    print(line, flush=True)


def describe(spec: SweepSpec) -> str:
    n = len(variants(spec)) if spec.search == "grid" else spec.num_samples
    seeds = len(spec.seeds) if spec.search == "grid" else 1
    return f"{n} configuration(s) × {seeds} seed(s) = {n * seeds} trials"


def _fit(
    spec: SweepSpec, base: dict, sweep_dir: Path, tune_dir: Path, bundles: list, resume: bool, echo: Any
):
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # our run dirs are the logs
    # A snapshot per reported checkpoint is what resuming needs; Ray warns about it at every report.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    from ray import tune

    def with_resources(function, **bound):
        bound = dict(bound, base=base, sweep_dir=str(sweep_dir), metric=spec.metric)
        return tune.with_resources(
            tune.with_parameters(function, **bound), tune.PlacementGroupFactory(bundles)
        )

    configs = variants(spec)
    if spec.search == "grid":
        # Tune picks the index; the trial looks its configuration up (the same one on every seed).
        trainable = with_resources(_indexed_trial, configs=configs)
    else:
        trainable = with_resources(run_trial)
    if resume:
        if not tune.Tuner.can_restore(str(tune_dir)):
            raise ConfigError(f"--resume: {tune_dir} holds no Tune state to restore")
        tuner = tune.Tuner.restore(str(tune_dir), trainable=trainable, resume_errored=True)
        return tuner.fit()
    search_alg = None
    if spec.search == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        param_space = {
            "overrides": {k: _tune_domain(v) for k, v in spec.space.items()},
            "seed": spec.seeds[0],
        }
        search_alg = OptunaSearch(seed=spec.sweep_seed)
        num_samples = spec.num_samples
    else:
        param_space = {
            "variant": tune.grid_search(list(range(len(configs)))),
            "seed": tune.grid_search(spec.seeds),
        }
        num_samples = 1
    scheduler = None
    if spec.scheduler.type == "asha":
        from ray.tune.schedulers import ASHAScheduler

        total = int(from_dict(copy.deepcopy(base)).train.total_steps)
        grace = spec.scheduler.grace_period or max(total // 10, 1)
        scheduler = ASHAScheduler(
            time_attr="env_steps",
            max_t=total,
            grace_period=grace,
            reduction_factor=spec.scheduler.reduction_factor,
        )
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            metric=spec.metric,
            mode=spec.mode,
            num_samples=num_samples,
            max_concurrent_trials=spec.max_concurrent or None,
            scheduler=scheduler,
            search_alg=search_alg,
            # One worker process runs trial after trial: Ray's process start and our imports (torch,
            # the envs) are paid once per slot, not per trial (3.5 s → ~0 s a trial for a 5-s trainable).
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=TUNE_DIR,
            storage_path=str(sweep_dir),
            failure_config=tune.FailureConfig(max_failures=spec.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            callbacks=_callbacks(spec, configs, echo),
            verbose=0,
        ),
    )
    return tuner.fit()


def _callbacks(spec: SweepSpec, configs: list[dict], echo: Any) -> list:
    """Tune's JSON and CSV result files (no TensorBoard files of its own: the run directories are
    the TensorBoard logs) and one progress line per evaluation, retry and finished trial."""
    from ray.tune import Callback
    from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

    def name(trial) -> str:
        params = trial.config
        overrides = params.get("overrides", configs[params["variant"]] if "variant" in params else {})
        return f"{label(overrides)} seed {params.get('seed')}"

    class Progress(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            value = result.get(spec.metric, math.nan)
            echo(f"  {name(trial)}: {spec.metric} {value:.3f} at {int(result.get('env_steps', 0)):,} steps")

        def on_trial_complete(self, iteration, trials, trial, **info):
            echo(f"  {name(trial)}: finished")

        def on_trial_recover(self, iteration, trials, trial, **info):
            echo(f"  {name(trial)}: failed; retrying from its last checkpoint")

        def on_trial_error(self, iteration, trials, trial, **info):
            echo(f"  {name(trial)}: failed after {spec.max_failures} retries (see summary.md)")

    return [JsonLoggerCallback(), CSVLoggerCallback(), Progress()]


def _indexed_trial(params: dict[str, Any], *, configs: list[dict], base: dict, sweep_dir: str, metric: str):
    run_trial(
        {**params, "overrides": configs[params["variant"]]}, base=base, sweep_dir=sweep_dir, metric=metric
    )


def _tune_domain(values: Any) -> Any:
    from ray import tune

    if isinstance(values, list):
        return tune.choice(values)
    ((kind, args),) = values.items()
    if kind in ("grid", "choice"):
        return tune.choice(args)
    return {"uniform": tune.uniform, "loguniform": tune.loguniform, "randint": tune.randint}[kind](*args)
