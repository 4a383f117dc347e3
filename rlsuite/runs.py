"""Run directories and the one logger every agent uses.

A run directory is ``<run_dir>/<name>-<YYYYmmdd-HHMMSS>/``::

    config.yaml      the fully resolved config the run was started with
    events.out.tfevents.*   TensorBoard scalars, text and hparams
    metrics.csv      the same scalars as ``step,wall_time,tag,value`` rows, for scripts
    metrics.rolled-back.csv   after a resume: the rows logged after its checkpoint, which it redid
    checkpoints/     ``last/`` (end of training, and every ``train.checkpoint_every`` steps) and ``best/``
    eval/            evaluation results (``rlsuite eval`` writes here too)

Scalar names are shared by every agent (ours, SB3's, RLlib's) so one TensorBoard compares them:
``charts/episode_return``, ``charts/episode_length``, ``charts/sps``, ``charts/epsilon``,
``eval/return_mean``, ``eval/return_std``, ``eval/length_mean``, ``eval/success_rate``,
``losses/*``. A new run never reuses an existing directory.

Events are written with tensorboardX (a maintained writer that needs no TensorFlow); view them with
``tensorboard --logdir runs``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["Run", "SCALARS", "create_run_dir"]

SCALARS = {
    "episode_return": "charts/episode_return",
    "episode_length": "charts/episode_length",
    "sps": "charts/sps",
    "epsilon": "charts/epsilon",
    "eval_return_mean": "eval/return_mean",
    "eval_return_std": "eval/return_std",
    "eval_length_mean": "eval/length_mean",
    "eval_success_rate": "eval/success_rate",
}


def create_run_dir(root: str | Path, name: str) -> Path:
    """Make a fresh ``root/name-<timestamp>`` directory; never returns an existing one."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    for attempt in range(1000):
        suffix = "" if attempt == 0 else f"-{attempt}"
        path = root / f"{safe_name}-{stamp}{suffix}"
        try:
            path.mkdir()  # atomic: fails if another run (or process) took the name
        except FileExistsError:
            continue
        return path
    raise RuntimeError(f"could not create a new run directory under {root}")


FLUSH_SECONDS = 10.0  # events reach the file at least this often (tensorboardX's SummaryWriter default)


class _EventWriter:
    """TensorBoard events (scalars, text, images, hparams) in the run directory itself, from
    tensorboardX's summary builders, written in the calling thread by tensorboardX's ``EventsWriter``
    (the tfrecord file with its CRCs) and flushed with :meth:`flush`.

    Not its ``SummaryWriter``: that hands every event to a writer thread through a
    ``multiprocessing.Queue`` of ten, so a call costs a pickle, a pipe write and, once the queue is
    full, a wait for that thread: 70–250 µs per logged step on a busy 2-core machine (a CartPole DQN
    logs one every few vector steps, as episodes end), against ~16 µs written here. Its ``add_hparams`` would
    also open a second run in a sub-directory (the hparams belong to this run), and ``add_video`` needs
    moviepy (a GIF made with Pillow is the same animated image summary).
    """

    def __init__(self, logdir: Path, purge_step: int | None = None) -> None:
        tbx = _tensorboardx()
        self._summary = tbx.summary
        self._Event, self._SessionLog = tbx.event_pb2.Event, tbx.event_pb2.SessionLog
        self._Summary = tbx.summary_pb2.Summary
        # The file is named after the second it was opened; a resume within the same second would
        # overwrite the first file, hence the suffix (nanoseconds: files still sort in order).
        suffix = f".{time.time_ns()}.{os.getpid()}"
        self._file = tbx.event_file_writer.EventsWriter(str(logdir / "events"), suffix)
        self._flushed = time.time()
        if purge_step is not None:  # TensorBoard hides this directory's earlier events at or after it
            self._file.write_event(self._Event(step=purge_step, file_version="brain.Event:2"))
            start = self._SessionLog(status=self._SessionLog.START)
            self._file.write_event(self._Event(step=purge_step, session_log=start))

    def scalars(self, scalars: Mapping[str, float], step: int) -> None:
        """Scalars of one step, as one event."""
        if not scalars:
            return
        Value = self._Summary.Value  # what summary.scalar builds for a float, without its array checks
        self._add(self._Summary(value=[Value(tag=tag, simple_value=x) for tag, x in scalars.items()]), step)

    def text(self, tag: str, text: str, step: int) -> None:
        self._add(self._summary.text(tag, text), step)

    def image(self, tag: str, image: Any, step: int) -> None:
        """A (H, W) or (H, W, C) uint8 image, PNG-encoded."""
        import numpy as np

        pixels = np.asarray(image, dtype=np.uint8)
        if pixels.ndim == 3 and pixels.shape[2] == 1:
            pixels = pixels[:, :, 0]
        self._add(self._summary.image(tag, pixels, dataformats="HW" if pixels.ndim == 2 else "HWC"), step)

    def gif(self, tag: str, gif_bytes: bytes, height: int, width: int, step: int) -> None:
        """An animated GIF in TensorBoard's images tab (what ``add_video`` stores)."""
        Summary = self._Summary
        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=gif_bytes)
        self._add(Summary(value=[Summary.Value(tag=tag, image=image)]), step)

    def hparams(self, hparams: Mapping[str, Any], metric_tags: list[str]) -> None:
        """The hparams plugin's experiment and session summaries, in this run's own event file."""
        experiment, session_start, _ = self._summary.hparams(dict(hparams), dict.fromkeys(metric_tags, 0.0))
        self._add(experiment, 0)
        self._add(session_start, 0)

    def _add(self, summary: Any, step: int) -> None:
        now = time.time()
        self._file.write_event(self._Event(summary=summary, wall_time=now, step=int(step)))
        if now - self._flushed >= FLUSH_SECONDS:  # a TensorBoard watching the run sees it progress
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._flushed = time.time()

    def close(self) -> None:
        self._file.close()


def _tensorboardx() -> Any:
    """tensorboardX's modules that write events, imported without importing torch when torch is not
    loaded yet.

    ``tensorboardX/__init__`` imports its ``SummaryWriter`` module, which tries ``import torch`` only
    to name ``torch.Tensor`` in type hints and falls back to ``numpy.ndarray`` on ImportError. A
    tabular run never needs torch, and importing it costs seconds, so while tensorboardX is imported
    torch is marked absent (``sys.modules["torch"] = None`` makes ``import torch`` raise ImportError)
    and that fallback is taken; the mark is removed at once, so torch imports normally afterwards.
    """
    import types

    block = "torch" not in sys.modules and "tensorboardX" not in sys.modules
    if block:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        from tensorboardX import event_file_writer, summary
        from tensorboardX.proto import event_pb2, summary_pb2
    finally:
        if block and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return types.SimpleNamespace(
        event_file_writer=event_file_writer, summary=summary, event_pb2=event_pb2, summary_pb2=summary_pb2
    )


def _roll_back_csv(path: Path, step: int) -> None:
    """Move ``path``'s rows logged after ``step`` to ``metrics.rolled-back.csv`` beside it (appended)."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    header, body = rows[0], rows[1:]

    def after(row: list[str]) -> bool:  # a row cut short by a crash stays where it is
        return bool(row) and row[0].isdigit() and int(row[0]) > step

    kept = [r for r in body if not after(r)]
    later = [r for r in body if after(r)]
    if not later:
        return
    rolled = path.with_name("metrics.rolled-back.csv")
    new = not rolled.exists()
    with rolled.open("a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow([*header, "rolled_back_at"])
        writer.writerows([*r, f"{time.time():.3f}"] for r in later)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="") as f:
        csv.writer(f).writerows([header, *kept])
    os.replace(partial, path)  # atomic: a crash here leaves the old file or the new one whole


class Run:
    """A run directory with its logger: TensorBoard events + ``metrics.csv``, side by side.

    Use :meth:`create` for a new run and :meth:`open` to append to an existing one (``--resume``).
    """

    def __init__(self, path: str | Path, purge_step: int | None = None) -> None:
        self.dir = Path(path)
        self.checkpoints_dir = self.dir / "checkpoints"
        self.eval_dir = self.dir / "eval"
        self.checkpoints_dir.mkdir(parents=True, exist_ok=True)
        self.eval_dir.mkdir(parents=True, exist_ok=True)
        self._events = _EventWriter(self.dir, purge_step)
        new_csv = not (self.dir / "metrics.csv").exists()
        self._csv_file = open(self.dir / "metrics.csv", "a", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._csv_file)
        if new_csv:
            self._csv.writerow(["step", "wall_time", "tag", "value"])
        self.last_values: dict[str, float] = {}

    @classmethod
    def create(cls, run_dir: str | Path, name: str, config: Mapping[str, Any] | None = None) -> Run:
        """A new run directory (never an existing one), with ``config.yaml`` written first."""
        path = create_run_dir(run_dir, name)
        if config is not None:
            import yaml

            (path / "config.yaml").write_text(yaml.safe_dump(dict(config), sort_keys=False))
        run = cls(path)
        if config is not None:
            import yaml

            run.log_text("config", "```yaml\n" + yaml.safe_dump(dict(config), sort_keys=False) + "```")
            run.log_hparams(_flatten(config))
        return run

    @staticmethod
    def check(path: str | Path) -> Path:
        """``path`` as a run directory; FileNotFoundError when it is none."""
        path = Path(path)
        if not (path / "config.yaml").is_file():
            raise FileNotFoundError(f"{path} is not a run directory (no config.yaml)")
        return path

    @classmethod
    def open(cls, path: str | Path, resume_step: int | None = None) -> Run:
        """Append to an existing run directory (for resuming).

        With ``resume_step``, the step of the checkpoint training resumes from, what was logged after
        it (a stretch of training that the resume redoes) leaves the curves, so no step shows twice:
        its ``metrics.csv`` rows move to ``metrics.rolled-back.csv`` and TensorBoard hides its events.
        """
        path = cls.check(path)
        if resume_step is None:
            return cls(path)
        _roll_back_csv(path / "metrics.csv", int(resume_step))
        return cls(path, purge_step=int(resume_step) + 1)

    # ---------------------------------------------------------------- logging
    def log(self, step: int, scalars: Mapping[str, float]) -> None:
        """Log scalars at ``step`` to TensorBoard and ``metrics.csv`` (non-finite values too)."""
        now = time.time()
        values = {tag: float(value) for tag, value in scalars.items()}
        self._events.scalars(values, step)
        for tag, value in values.items():
            self._csv.writerow([int(step), f"{now:.3f}", tag, repr(value) if math.isfinite(value) else value])
            self.last_values[tag] = value

    def log_text(self, tag: str, text: str, step: int = 0) -> None:
        self._events.text(tag, text, step)

    def log_image(self, tag: str, image: Any, step: int = 0) -> None:
        """A uint8 image (H, W) or (H, W, C) to TensorBoard's images tab."""
        self._events.image(tag, image, step)

    def log_video(self, tag: str, frames: list[Any], step: int, fps: float) -> Path:
        """Frames (H, W, 3) uint8 as ``videos/<tag>-step_<step>.gif`` and as an animated image in
        TensorBoard; long episodes keep every k-th frame (at most 300) and wide frames are halved."""
        import io

        import numpy as np
        from PIL import Image

        stride = max(1, -(-len(frames) // 300))
        kept = [np.asarray(f, dtype=np.uint8) for f in frames[::stride]]
        if kept[0].shape[1] > 320:
            kept = [f[::2, ::2] for f in kept]
        images = [Image.fromarray(f) for f in kept]
        buffer = io.BytesIO()
        duration = int(1000 * stride / max(fps, 1e-3))
        images[0].save(
            buffer, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0
        )
        data = buffer.getvalue()
        path = self.dir / "videos" / f"{tag.replace('/', '_')}-step_{int(step)}.gif"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        self._events.gif(tag, data, kept[0].shape[0], kept[0].shape[1], step)
        return path

    def log_hparams(self, hparams: Mapping[str, Any]) -> None:
        metrics = [SCALARS["eval_return_mean"], SCALARS["episode_return"]]
        self._events.hparams({k: v for k, v in hparams.items() if v is not None}, metrics)

    def write_json(self, relative: str, data: Any) -> Path:
        path = self.dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
        os.replace(tmp, path)
        return path

    def flush(self) -> None:
        self._events.flush()
        self._csv_file.flush()

    def close(self) -> None:
        self._events.close()
        self._csv_file.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, (list, tuple)):
            flat[name] = json.dumps(value)
        else:
            flat[name] = value
    return flat
