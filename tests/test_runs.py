"""Run directories: never overwritten; TensorBoard reads what we write; metrics.csv mirrors it."""

import csv
import io

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlsuite.runs import Run, create_run_dir


def test_run_directories_are_never_reused(tmp_path):
    paths = {create_run_dir(tmp_path, "same") for _ in range(5)}
    assert len(paths) == 5


def test_tensorboard_reads_back_scalars_text_images_and_hparams(tmp_path):
    with Run.create(tmp_path, "demo", {"agent": {"algo": "q_learning", "gamma": 0.9}}) as run:
        for step in range(3):
            run.log(step * 10, {"charts/episode_return": step * 1.5, "losses/td_loss": 0.25})
        gray = np.arange(12 * 20, dtype=np.uint8).reshape(12, 20)
        run.log_image("obs/gray", gray[:, :, None], step=5)
        run.log_image("obs/rgb", np.stack([gray, gray // 2, 255 - gray], axis=-1), step=5)
        run_dir = run.dir
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1  # one event file, in the run dir itself
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0, "images": 0})
    events.Reload()
    for tag in ("obs/gray", "obs/rgb"):
        (image,) = events.Images(tag)
        decoded = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)))
        assert (image.step, image.height, image.width) == (5, 12, 20)
        assert np.array_equal(decoded.reshape(12, 20, -1)[:, :, 0], gray)
    returns = events.Scalars("charts/episode_return")
    assert [(e.step, e.value) for e in returns] == [(0, 0.0), (10, 1.5), (20, 3.0)]
    assert "config/text_summary" in events.Tags()["tensors"]
    hparams = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(hparams)
    from tensorboard.plugins.hparams import plugin_data_pb2

    start = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["agent.gamma"].number_value == 0.9
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["tag"] == "charts/episode_return"]
    assert [float(r["value"]) for r in rows] == [0.0, 1.5, 3.0]
    assert (run_dir / "config.yaml").read_text().startswith("agent:")


def test_tensorboard_sees_scalars_while_the_run_is_still_open(tmp_path, monkeypatch):
    """A TensorBoard watching a run sees it progress: events reach the file every FLUSH_SECONDS,
    not only when the run ends."""
    from rlsuite import runs

    monkeypatch.setattr(runs, "FLUSH_SECONDS", 0.0)
    with Run.create(tmp_path, "live", {"agent": {"algo": "q_learning"}}) as run:
        run.log(7, {"charts/episode_return": 2.5})
        events = EventAccumulator(str(run.dir), size_guidance={"scalars": 0})
        events.Reload()
        assert [(e.step, e.value) for e in events.Scalars("charts/episode_return")] == [(7, 2.5)]
