"""``rlsuite sweep SWEEP.yaml``: seeds × hyper-parameters × algorithms as Ray Tune trials.

The sweep file (its format, its checks, the configurations it names and their labels) is
:mod:`rlsuite.jobs.spec`; the summary written at the end is :mod:`rlsuite.jobs.summary`. This module
is the runner: one way, spec ← summary ← runner.

Every trial is a normal rlsuite training run: its run directory lands in the sweep directory
(``tensorboard --logdir runs/<name>`` compares them all), it reports each evaluation to Tune and
saves ``checkpoints/last`` with it, so a retried trial resumes where it failed and ``--resume``
continues an interrupted sweep without rerunning finished trials. Tune's own state lives in
``<sweep dir>/_tune``; the summary (``summary.md``, ``summary.csv``, ``curves.png``) in the sweep
directory.

With ``batch_seeds: true`` a trial is one K-seed run (``train.num_seeds``) of a configuration
(:func:`run_seeds_trial`): its seeds' ordinary run directories land under one parent in the sweep
directory, it reports once per evaluation (the seeds' mean, and each seed's figures under
``seed<S>/…``), and since a K-seed run cannot resume, a retried or resumed trial starts from scratch
in a fresh parent directory, leaving the earlier attempt's as they are.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from rlsuite.checkpoints import CheckpointError, find_checkpoint
from rlsuite.config import ConfigError, build, from_dict, set_key, to_dict
from rlsuite.jobs.spec import (
    SweepSpec,
    batches_seeds,
    describe,
    label,
    load_sweep,
    parse_seeds,
    seed_key,
    seeds_text,
    variants,
)
from rlsuite.jobs.summary import summarize

__all__ = ["SweepSpec", "load_sweep", "parse_seeds", "run_seeds_trial", "run_sweep", "variants"]

TUNE_DIR = "_tune"
SPEC_FILE = "sweep.yaml"


# --------------------------------------------------------------------------------------------
# The trial (runs in a Ray worker)
# --------------------------------------------------------------------------------------------
def trial_config(
    base: dict[str, Any],
    overrides: dict[str, Any],
    seed: int,
    sweep_dir: Path,
    name: str,
    num_seeds: int = 1,
):
    """A trial's config: the base with its configuration's overrides, on ``seed`` (and with
    ``num_seeds`` > 1, the seeds after it side by side), its run directory in the sweep directory."""
    data = copy.deepcopy(base)
    for key, value in overrides.items():
        set_key(data, key.split("."), value)
    set_key(data, ["train", "seed"], seed)
    set_key(data, ["train", "num_seeds"], num_seeds)
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
        monitor.checkpoint(step, "last")  # a retry resumes from here
        state = {
            "run_dir": str(monitor.run.dir),
            "step": step,
            "seed": seed,
            "overrides": overrides,
            "node_id": node_id,  # where it ran (nodes of one machine share their IP)
        }
        _write_state(monitor.run.dir, state)
        metrics = {**result, "env_steps": step, "train_time_s": time.perf_counter() - started}
        _check_metric(metric, metrics)
        metrics["run_dir"] = str(monitor.run.dir)
        _report(metrics, state)

    train(config, resume=resume, on_evaluation=report)


def run_seeds_trial(params: dict[str, Any], *, base: dict[str, Any], sweep_dir: str, metric: str) -> None:
    """The Tune trainable of ``batch_seeds: true``: one configuration's seeds (consecutive, checked by
    the sweep file) trained side by side as one K-seed run, each seed in its own run directory.

    It reports to Tune once per evaluation step, when every seed has evaluated: the mean over the seeds
    of each evaluation scalar (the sweep's metric among them: what Tune and ASHA rank), and each
    seed's metric and run directory under :func:`~rlsuite.jobs.spec.seed_key`. A K-seed run cannot
    resume, so a retry (or ``--resume`` of the sweep) starts the trial from scratch: a fresh parent
    directory, the earlier attempt's left as it is."""
    import logging

    import ray
    from ray import tune

    from rlsuite.training import train

    logging.getLogger("ray.train").setLevel(logging.WARNING)
    overrides, seeds, index = params["overrides"], sorted(params["seeds"]), params.get("variant", -1)
    name = f"v{index:02d}-{label(overrides)}" if index >= 0 else label(overrides)
    config = trial_config(base, overrides, seeds[0], Path(sweep_dir), name, num_seeds=len(seeds))
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:  # a retry, or a resumed sweep: what the earlier attempt reached
        with checkpoint.as_directory() as directory:
            earlier = json.loads((Path(directory) / "trial.json").read_text())
        say(
            f"sweep trial {name} (seeds {seeds_text(seeds)}): starting again from scratch in a fresh run "
            f"directory, as a K-seed run cannot resume; the earlier attempt (step {earlier['step']:,}) "
            f"stays in {earlier['run_dir']}"
        )
    started = time.perf_counter()
    node_id = ray.get_runtime_context().get_node_id()
    evaluated: dict[int, dict[int, tuple[Path, dict[str, float]]]] = {}  # step -> seed -> (run dir, result)

    def report(monitor, step: int, result: dict[str, float]) -> None:
        seed = monitor.config.train.seed
        _check_metric(metric, {**result, "env_steps": step, "train_time_s": 0.0})
        _write_state(
            monitor.run.dir,
            {
                "run_dir": str(monitor.run.dir),
                "step": step,
                "seed": seed,
                "overrides": overrides,
                "node_id": node_id,
            },
        )
        at_step = evaluated.setdefault(step, {})
        at_step[seed] = (monitor.run.dir, result)
        if len(at_step) < len(seeds):  # the other seeds evaluate at this step next
            return
        del evaluated[step]
        results = [at_step[s][1] for s in seeds]
        shared = set.intersection(*(set(r) for r in results))
        metrics: dict[str, Any] = {tag: float(np.mean([r[tag] for r in results])) for tag in sorted(shared)}
        metrics.update(env_steps=step, train_time_s=time.perf_counter() - started)
        parent = monitor.run.dir.parent
        metrics["run_dir"] = str(parent)
        for s in seeds:
            run_dir, seed_result = at_step[s]
            if metric in seed_result:
                metrics[seed_key(s, metric)] = seed_result[metric]
            metrics[seed_key(s, "run_dir")] = str(run_dir)
        state = {
            "run_dir": str(parent),
            "step": step,
            "seeds": seeds,
            "overrides": overrides,
            "node_id": node_id,
        }
        _report(metrics, state)

    train(config, on_evaluation=report)


def _check_metric(metric: str, metrics: dict[str, Any]) -> None:
    if metric not in metrics:
        raise ConfigError(
            f"sweep.metric: {metric!r} is not reported at evaluations; reported: {', '.join(sorted(metrics))}"
        )


def _write_state(run_dir: Path, state: dict[str, Any]) -> None:
    """``trial.json`` in a run directory: the trial's configuration, seed, step and node."""
    partial = run_dir / "trial.json.partial"
    partial.write_text(json.dumps(state))
    os.replace(partial, run_dir / "trial.json")  # readers never see half a file


def _report(metrics: dict[str, Any], state: dict[str, Any]) -> None:
    """Report ``metrics`` to Tune with a checkpoint holding ``state`` (what a retry starts from)."""
    import tempfile

    from ray import tune

    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "trial.json").write_text(json.dumps(state))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))


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
        if resume and batches_seeds(spec):
            echo(
                "  unfinished trials start again from scratch in fresh run directories (a K-seed run "
                "cannot resume); what they wrote before stays"
            )
        results = _fit(spec, base, sweep_dir, tune_dir, bundles, resume, echo)
    finally:
        if started:
            import ray

            ray.shutdown()
    summary = summarize(sweep_dir, spec, results)
    echo(summary)
    return sweep_dir


def say(line: str) -> None:
    """Print one progress line (the default ``echo``)."""
    print(line, flush=True)


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
    elif batches_seeds(spec):  # one trial a configuration: all its seeds side by side
        param_space = {"variant": tune.grid_search(list(range(len(configs)))), "seeds": list(spec.seeds)}
        num_samples = 1
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
            # Two, not one: Tune deletes the older checkpoint when it writes a new one, but its
            # experiment snapshot (what --resume restores) is written after; a driver killed in
            # between left a snapshot naming a deleted checkpoint ("Could not recover from
            # checkpoint as it does not exist on storage anymore"), and that trial failed on
            # resume. Each is a trial.json: the run's own checkpoints/last holds the weights.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
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
        if "seeds" in params:
            return f"{label(overrides)} seeds {seeds_text(params['seeds'])}"
        return f"{label(overrides)} seed {params.get('seed')}"

    class Progress(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            value = result.get(spec.metric, math.nan)
            mean = " (mean over the seeds)" if "seeds" in trial.config else ""
            echo(
                f"  {name(trial)}: {spec.metric} {value:.3f}{mean} at {int(result.get('env_steps', 0)):,} steps"
            )

        def on_trial_complete(self, iteration, trials, trial, **info):
            echo(f"  {name(trial)}: finished")

        def on_trial_recover(self, iteration, trials, trial, **info):
            if "seeds" in trial.config:
                echo(
                    f"  {name(trial)}: failed; retrying from scratch in a fresh run directory (a K-seed "
                    "run cannot resume; the failed attempt's run directories stay)"
                )
            else:
                echo(f"  {name(trial)}: failed; retrying from its last checkpoint")

        def on_trial_error(self, iteration, trials, trial, **info):
            echo(f"  {name(trial)}: failed after {spec.max_failures} retries (see summary.md)")

    return [JsonLoggerCallback(), CSVLoggerCallback(), Progress()]


def _indexed_trial(params: dict[str, Any], *, configs: list[dict], base: dict, sweep_dir: str, metric: str):
    trainable = run_seeds_trial if "seeds" in params else run_trial
    trainable(
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
