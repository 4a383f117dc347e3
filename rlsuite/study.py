"""The harness every study in ``experiments/`` runs on: one way to run trials, record them, summarise
them and stamp the report.

A study is a script (``experiments/<study>/run.py``) that measures, records what it measured (a JSON
record, or a ``trials.jsonl`` of training runs) and writes ``RESULTS.md`` from that record alone, so
``--report-only`` regenerates every published number without measuring again. This module holds
what the studies share:

* **trials** — :func:`run_trials` runs commands (``rlsuite train CONFIG``, ``rlsuite pretrain …``)
  as subprocesses, ``parallel`` at a time, each pinned to one thread for torch, BLAS *and* numba
  (:data:`ONE_THREAD`: on a 2-core machine two trials keep both cores busy and every trial gets one,
  so every variant runs under the same load); :func:`pin_threads` does the same for work a study
  measures in its own process;
* **the trial record** — :class:`TrialRecord`, a ``jsonl`` file of finished trials, appended to as
  each one finishes: a rerun runs only the trials it lacks, so an interrupted study continues where
  it stopped;
* **statistics and numbers** — :func:`mean_std`, :func:`bootstrap_interval`, :func:`bootstrap_ratio`,
  :func:`thousands`, :func:`times`;
* **the command line** — :func:`parser` (``--report-only``, ``--quick``), :func:`command_of` and
  :func:`main` (measure → record → report, or report from the record alone);
* **the report** — :func:`stamp` (the header of every ``RESULTS.md``: commit, date, machine and
  command, and for a report regenerated from recorded data, where and when that data was measured:
  :func:`measured_here`), :func:`read_record` / :func:`write_record` and :func:`bars`.

Layer 5 of the package: only the studies and this module's test import it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ONE_THREAD",
    "Finished",
    "TimedTrain",
    "Trial",
    "TrialRecord",
    "bars",
    "bootstrap_interval",
    "bootstrap_ratio",
    "command_of",
    "commit",
    "machine",
    "main",
    "mean_std",
    "measured_here",
    "one_thread_env",
    "parser",
    "pin_threads",
    "read_record",
    "run_dir_of",
    "run_trials",
    "stamp",
    "thousands",
    "time_train",
    "times",
    "utc_now",
    "write_record",
]

# --------------------------------------------------------------------------------------------
# One thread per trial
# --------------------------------------------------------------------------------------------
#: torch (OpenMP), BLAS (MKL) and numba (the pixel envs' parallel kernels) each on one thread: the
#: environment of every trial subprocess. torch reads ``OMP_NUM_THREADS`` for its own thread count.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def one_thread_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (this process's environment by default) with :data:`ONE_THREAD` and unbuffered
    Python output (a trial's log shows its progress as it goes)."""
    return {**(os.environ if base is None else base), **ONE_THREAD, "PYTHONUNBUFFERED": "1"}


def pin_threads() -> None:
    """Pin this process to one thread, as a trial subprocess is: the :data:`ONE_THREAD` variables
    (for libraries not loaded yet and for subprocesses), ``torch.set_num_threads(1)`` and
    ``numba.set_num_threads(1)`` (for libraries already loaded). For the parts of a study measured
    in its own process."""
    os.environ.update(ONE_THREAD)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.set_num_threads(1)
    try:
        import numba
    except ImportError:
        pass
    else:
        numba.set_num_threads(1)


# --------------------------------------------------------------------------------------------
# The trial record
# --------------------------------------------------------------------------------------------
def _key_field(entry: Mapping[str, Any]) -> Hashable:
    return entry["key"]


def _succeeded(entry: Mapping[str, Any]) -> bool:
    return entry.get("rc", 0) == 0


class TrialRecord:
    """The finished trials of a study, one JSON object a line, appended to as each one finishes
    (the file is never rewritten, so an interrupted study loses at most the trial it was running).

    ``key`` names a trial from its entry (default: its ``"key"`` field); ``succeeded`` says whether an
    entry counts as finished (default: no ``"rc"`` or ``rc == 0``; a failed trial may be recorded and
    is then run again). When a key is recorded twice, the later entry wins.
    """

    def __init__(
        self,
        path: Path,
        key: Callable[[Mapping[str, Any]], Hashable] = _key_field,
        succeeded: Callable[[Mapping[str, Any]], bool] = _succeeded,
    ) -> None:
        self.path = Path(path)
        self.key = key
        self.succeeded = succeeded

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, in the order recorded (none when the file does not exist yet)."""
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def finished(self) -> dict[Hashable, dict[str, Any]]:
        """The finished trials by key, in the order first recorded."""
        return {self.key(e): e for e in self.entries() if self.succeeded(e)}

    def missing(self, keys: Iterable[Hashable]) -> list[Hashable]:
        """The keys of ``keys`` with no finished trial, in their order."""
        done = self.finished()
        return [k for k in keys if k not in done]

    def append(self, entry: Mapping[str, Any]) -> None:
        """Record one trial (a line of JSON), creating the file and its folder when needed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(entry) + "\n")


# --------------------------------------------------------------------------------------------
# Running trials
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Trial:
    """One command to run in a subprocess: ``key`` names it in the record, its output goes to
    ``log``; ``setup`` (when given) runs just before it starts (e.g. writes its config file)."""

    key: Hashable
    command: list[str]
    log: Path
    cwd: Path | None = None
    setup: Callable[[], None] | None = None


@dataclasses.dataclass(frozen=True)
class Finished:
    """A trial that ran: its exit status, wall time (start of the subprocess to its end), how many
    trials ran at once (``parallel``: their neighbours slow each other) and its output."""

    trial: Trial
    returncode: int
    wall_s: float
    parallel: int

    @property
    def log_text(self) -> str:
        return self.trial.log.read_text()

    @property
    def run_dir(self) -> str | None:
        """The run directory ``rlsuite train`` / ``pretrain`` printed (None: it printed none)."""
        return run_dir_of(self.log_text)


def run_dir_of(log_text: str) -> str | None:
    """The path of the first ``run directory: PATH`` line of an rlsuite command's output."""
    for line in log_text.splitlines():
        if line.startswith("run directory:"):
            return line.split(":", 1)[1].strip()
    return None


def relative_to(path: str | Path, root: Path) -> str:
    """``path`` relative to ``root`` (a study's repository), as a record stores a run directory; an
    absolute path where it lies outside ``root``."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclasses.dataclass(frozen=True)
class TimedTrain:
    """One ``rlsuite train`` command, timed whole: the run directory it printed, when it started
    (epoch seconds: ``metrics.csv``'s rows are stamped so), its wall time and the CPU time (user +
    system) of it and its children, which moves far less with the machine's load."""

    run_dir: Path
    start_time: float
    wall_s: float
    cpu_s: float


def time_train(config: str | Path, overrides: Sequence[str] = ()) -> TimedTrain:
    """Run ``python -m rlsuite.cli train CONFIG OVERRIDES...`` as this process's only child, print its
    output, and time it (a trial script's measurement: start-up, training, evaluations and checkpoints).
    A failed command exits this process with its status."""
    import resource

    command = [sys.executable, "-m", "rlsuite.cli", "train", str(config), *overrides]
    start_time = time.time()
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command is this process's only child
    print(done.stdout + done.stderr, flush=True)
    if done.returncode != 0:
        raise SystemExit(done.returncode)
    printed = run_dir_of(done.stdout)
    if printed is None:
        raise SystemExit("`rlsuite train` printed no 'run directory:' line")
    return TimedTrain(Path(printed), start_time, round(wall, 3), round(usage.ru_utime + usage.ru_stime, 3))


def run_trials(
    trials: Sequence[Trial],
    record: TrialRecord,
    entry: Callable[[Finished], Mapping[str, Any] | None],
    parallel: int = 2,
    poll_s: float = 0.05,
) -> int:
    """Run the ``trials`` that ``record`` lacks, ``parallel`` at a time, each a subprocess on one
    thread (:func:`one_thread_env`); as each one ends, append ``entry(finished)`` to ``record``
    (nothing when it returns None). Returns the number of trials that failed (non-zero exit).

    ``poll_s``: how often the running trials are checked; a trial's wall time is accurate to it (the
    short runs of a study take a few seconds)."""
    if parallel < 1:
        raise ValueError(f"parallel={parallel}: at least 1 trial must run at a time")
    done = record.finished()
    queue = [t for t in trials if t.key not in done]
    print(f"{len(trials) - len(queue)} of {len(trials)} trials already recorded in {record.path}; "
          f"{len(queue)} to go", flush=True)  # fmt: skip
    env = one_thread_env()
    running: dict[Hashable, tuple[Trial, subprocess.Popen, float]] = {}
    failures = 0
    while queue or running:
        while queue and len(running) < parallel:
            trial = queue.pop(0)
            if trial.setup is not None:
                trial.setup()
            trial.log.parent.mkdir(parents=True, exist_ok=True)
            with trial.log.open("w") as out:
                process = subprocess.Popen(
                    trial.command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=trial.cwd
                )
            running[trial.key] = (trial, process, time.perf_counter())
        time.sleep(poll_s)
        for key, (trial, process, start) in list(running.items()):
            if process.poll() is None:
                continue
            wall = time.perf_counter() - start
            del running[key]
            finished = Finished(trial, process.returncode, wall, parallel)
            if process.returncode != 0:
                failures += 1
            line = entry(finished)
            if line is not None:
                record.append(line)
            status = (
                "ok" if process.returncode == 0 else f"FAILED (exit {process.returncode}; see {trial.log})"
            )
            print(f"{key}: {status} in {wall:.1f} s", flush=True)
    return failures


# --------------------------------------------------------------------------------------------
# Statistics and numbers
# --------------------------------------------------------------------------------------------
def mean_std(values: Sequence[float], digits: int = 1, empty: str = "—") -> str:
    """``mean ± std`` (the sample standard deviation) of ``values``; one value alone, without ±;
    ``empty`` for none."""
    if not values:
        return empty
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _tails(level: float) -> tuple[float, float]:
    if not 0 < level < 100:
        raise ValueError(f"level={level}: a confidence level in percent, between 0 and 100")
    tail = (100 - level) / 2
    return tail, 100 - tail


def bootstrap_interval(
    values: Sequence[float], level: float = 95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """The ``level`` % percentile-bootstrap interval of the mean of ``values`` (seeds, resampled with
    replacement ``resamples`` times; the same ``seed``, the same interval)."""
    import numpy as np

    low_q, high_q = _tails(level)
    rng = np.random.default_rng(seed)
    means = rng.choice(np.asarray(values, float), (resamples, len(values))).mean(axis=1)
    low, high = np.percentile(means, [low_q, high_q])
    return float(low), float(high)


def bootstrap_ratio(
    values: Sequence[float],
    reference: Sequence[float],
    level: float = 95,
    resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """The ``level`` % percentile-bootstrap interval of ``mean(values) / mean(reference)``, each
    group's seeds resampled on their own (two independent groups of runs)."""
    import numpy as np

    low_q, high_q = _tails(level)
    rng = np.random.default_rng(seed)
    a = rng.choice(values, (resamples, len(values))).mean(axis=1)
    b = rng.choice(reference, (resamples, len(reference))).mean(axis=1)
    low, high = np.percentile(a / b, [low_q, high_q])
    return float(low), float(high)


def thousands(value: float | None, digits: int = 0) -> str:
    """``value`` with a thousands separator and ``digits`` decimals (``12,345``); ``—`` for None."""
    return "—" if value is None else f"{value:,.{digits}f}"


def times(ratio: float) -> str:
    """A ratio as a factor: whole from 10 (``12×``), one decimal from 1 (``2.5×``), two significant
    digits below (``0.42×``)."""
    if ratio >= 10:
        return f"{ratio:,.0f}×"
    return f"{ratio:.1f}×" if ratio >= 1 else f"{ratio:.2g}×"


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------
def parser(
    doc: str | None,
    report_only: str = "RESULTS.md from the recorded data",
    quick: str | None = None,
) -> argparse.ArgumentParser:
    """A study's argument parser, with its docstring as help and the standard flags: ``--report-only``
    (``report_only``: what it regenerates from what) and, when the study has a smoke run, ``--quick``
    (``quick``: what it runs)."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--report-only", action="store_true", help=report_only)
    if quick is not None:
        p.add_argument("--quick", action="store_true", help=quick)
    return p


def command_of(script: str | Path, argv: Sequence[str] | None = None) -> list[str]:
    """The study's command as the stamp shows it: the script relative to the repository
    (``experiments/<study>/run.py``) and its arguments (``sys.argv[1:]`` by default)."""
    path = Path(script).resolve()
    return [path.relative_to(path.parents[2]).as_posix(), *(sys.argv[1:] if argv is None else argv)]


def main(
    script: str | Path,
    cli: argparse.ArgumentParser,
    record: Path,
    measure: Callable[[argparse.Namespace, list[str]], dict],
    report: Callable[[dict, list[str]], None],
    argv: Sequence[str] | None = None,
) -> argparse.Namespace:
    """The flow of a study with one record: unless ``--report-only``, ``measure(args, command)`` and
    write what it returns to ``record``; then ``report(record's contents, command)``. Returns the
    parsed arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = cli.parse_args(argv)
    command = command_of(script, argv)
    if not args.report_only:
        write_record(record, measure(args, command))
    report(read_record(record), command)
    return args


# --------------------------------------------------------------------------------------------
# The report: stamp, records, bar charts
# --------------------------------------------------------------------------------------------
def machine() -> str:
    """Cores, CPU, GPU (or none), Python and torch versions."""
    gpu = "none"
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), GPU {gpu}, Python {platform.python_version()}, torch {torch_version}"


def commit() -> str:
    """The checkout's short commit, with ``(+ uncommitted changes)`` when its tree is dirty."""
    root = Path(__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=root
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=root)
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


def utc_now() -> str:
    """The date and time now, in UTC, as every record and stamp writes it (``2026-12-07 02:45 UTC``)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def measured_here(command: str | list[str] | None = None) -> dict[str, str]:
    """The ``measured`` entry of a raw record written now: commit, date, machine, command."""
    command = command if command is not None else [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]
    if not isinstance(command, str):
        command = f"python {shlex.join(command)}"
    return {"commit": commit(), "date": utc_now(), "machine": machine(), "command": command}


def stamp(
    command: list[str] | None = None, measured: dict[str, str] | list[dict[str, str]] | None = None
) -> str:
    """Markdown lines: commit, date (UTC), machine, command. With ``measured`` (a record's entry, see
    :func:`measured_here`, or a list of them for a study of several records, each with a ``label``),
    first one line per record saying when, where and how its data was measured; the commit, date and
    machine that follow are then the report's (regenerated from that data)."""
    command = command if command is not None else [Path(sys.argv[0]).as_posix(), *sys.argv[1:]]
    records = [measured] if isinstance(measured, dict) else list(measured or [])
    if not records:
        return (
            f"- Commit: `{commit()}`; generated {utc_now()}\n"
            f"- Machine: {machine()}\n"
            f"- Command: `python {shlex.join(command)}`\n"
        )
    lines = []
    for record in records:
        label = f" ({record['label']})" if record.get("label") else ""
        where = f", on {record['machine']}" if record.get("machine") else ""
        how = f", by `{record['command']}`" if record.get("command") else ""
        note = f"; {record['note']}" if record.get("note") else ""
        lines.append(
            f"- Data{label}: measured at commit `{record['commit']}`, {record['date']}{where}{how}{note}\n"
        )
    return "".join(lines) + (
        f"- Report: regenerated from that data at commit `{commit()}`, {utc_now()}, on {machine()}\n"
        f"- Command: `python {shlex.join(command)}`\n"
    )


def read_record(path: Path) -> dict:
    """A study's raw record (JSON): the measured values (every derived figure the report shows is
    computed when measuring and kept beside them, so a report never recomputes from rounded values)
    and ``measured`` (:func:`measured_here`; for a record converted from an older markdown result,
    that file's name in ``measured["note"]``)."""
    if not path.is_file():
        raise SystemExit(f"{path}: no recorded data; run the study without --report-only first")
    return json.loads(path.read_text())


def write_record(path: Path, record: dict) -> None:
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(f"written: {path}")


def bars(
    path: Path,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    ylabel: str,
    log: bool = False,
) -> None:
    """Grouped bars: one group per label, one bar per series (None: no bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(min(11.0, max(6.0, 0.8 * len(labels) + 2)), 4.2), dpi=110)
    x = np.arange(len(labels))
    for k, (name, values) in enumerate(series.items()):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x + (k - (len(series) - 1) / 2) * width, heights, width, label=name)
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(axis="y", alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
