"""`rlsuite record`: a real video file of a trained agent's greedy episodes."""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlsuite.cli import main
from rlsuite.config import from_dict
from rlsuite.training import train

imageio = pytest.importorskip("imageio.v2")


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("record")
    return train(
        from_dict(
            {
                "env": {
                    "id": "rlsuite/GridRacetrack-v0",
                    "num_envs": 16,
                    "kwargs": {"max_episode_steps": 40},
                },
                "agent": {"algo": "q_learning", "learning_rate": 0.5},
                "train": {"total_steps": 20_000, "eval_every": 0, "eval_episodes": 2},
                "log": {"run_dir": str(tmp / "runs"), "progress": "none"},
            }
        )
    )


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_record_writes_a_video_of_the_episodes(grid_run: Path, fmt: str, capsys) -> None:
    if fmt == "mp4":
        pytest.importorskip("imageio_ffmpeg")
    assert main(["record", str(grid_run), "--episodes", "2", "--format", fmt]) == 0
    out = capsys.readouterr().out
    (video,) = (grid_run / "videos").glob(f"*.{fmt}")
    assert f"video: {video}" in out and out.count(",") == 1  # two episode returns
    frames = imageio.mimread(video, memtest=False)
    import gymnasium as gym

    env = gym.make("rlsuite/GridRacetrack-v0", render_mode="rgb_array", max_episode_steps=40)
    env.reset(seed=0)
    expected = env.render().shape
    assert len(frames) >= 3 and np.asarray(frames[0]).shape[:2] == expected[:2]
    assert len({np.asarray(f).tobytes() for f in frames[:10]}) > 1, "the car moves"

    assert main(["record", str(grid_run), "--format", fmt]) == 0  # a second video never replaces the first
    assert len(list((grid_run / "videos").glob(f"*.{fmt}"))) == 2


def test_record_of_a_run_without_a_checkpoint_is_a_clear_error(
    grid_run: Path, tmp_path: Path, capsys
) -> None:
    empty = tmp_path / "no-checkpoint"
    (empty / "checkpoints").mkdir(parents=True)
    (empty / "config.yaml").write_text((grid_run / "config.yaml").read_text())
    assert main(["record", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "checkpoint 'best' not found (or not intact)" in err and "available: none" in err
    assert "Traceback" not in err and not (empty / "videos").exists()


def test_record_rejects_a_bad_format_clearly(grid_run: Path, capsys) -> None:
    assert main(["record", str(grid_run), "--format", "avi"]) == 2
    assert "--format: got 'avi'; allowed: mp4, gif" in capsys.readouterr().err


def test_record_without_imageio_writes_gifs_and_refuses_mp4_before_writing_anything(
    grid_run: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The README's `pip install -e ".[agents]"` has no imageio: GIFs need only Pillow, and an MP4
    (the default format) is a clear error naming the extra, not a ModuleNotFoundError."""
    shutil.copytree(grid_run, tmp_path / "run", ignore=shutil.ignore_patterns("videos"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "imageio", None)  # `import imageio` now fails as if not installed
    assert main(["record", "run"]) == 2
    err = capsys.readouterr().err
    assert 'pip install -e ".[video]"' in err and "--format gif" in err and "Traceback" not in err
    assert not Path("run/videos").exists()

    assert main(["record", "run", "--format", "gif"]) == 0
    (video,) = Path("run/videos").glob("*.gif")
    assert f"video: {video}" in capsys.readouterr().out


def test_record_fps_max_steps_and_size_shape_the_video(grid_run: Path, tmp_path: Path, capsys) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(grid_run, run_dir, ignore=shutil.ignore_patterns("videos"))
    for options, message in [
        (["--fps", "0"], "--fps: got 0.0; must be a number > 0"),
        (["--format", "gif", "--fps", "60"], "a GIF plays at most 50 fps"),
        (["--max-steps", "0"], "--max-steps: got 0; must be >= 1"),
        (["--size", "8"], "--size: got 8; must be between 16 and 4096"),
    ]:
        assert main(["record", str(run_dir), *options]) == 2
        assert message in capsys.readouterr().err
    assert not (run_dir / "videos").exists()

    # by default: every frame exactly as the env renders it (one shared palette, no resampling)
    assert main(["record", str(run_dir), "--format", "gif"]) == 0
    (video,) = (run_dir / "videos").glob("*.gif")
    import gymnasium as gym

    from rlsuite.training import TEST_SEED_OFFSET

    env = gym.make("rlsuite/GridRacetrack-v0", render_mode="rgb_array", max_episode_steps=40)
    env.reset(seed=TEST_SEED_OFFSET)  # the run's seed 0 + rlsuite eval's offset
    with Image.open(video) as gif:
        assert np.array_equal(np.asarray(gif.convert("RGB")), env.render())  # 384 × 216
        assert gif.info["duration"] == 100  # the env's render_fps 10: real time

    # two episodes cut at 5 steps: the first frame, 4 steps, the second start, 5 steps
    options = ["--episodes", "2", "--max-steps", "5", "--fps", "5", "--size", "96"]
    assert main(["record", str(run_dir), "--format", "gif", *options]) == 0
    out = capsys.readouterr().out
    assert "episode returns (at most 5 steps each): " in out
    video = Path(out.split("video: ")[-1].strip())
    with Image.open(video) as gif:
        assert gif.size == (54, 96)  # 216 × 384 shrunk to a longest side of 96
        durations = []
        for k in range(gif.n_frames):  # identical consecutive frames are stored once, for longer
            gif.seek(k)
            durations.append(gif.info["duration"])
        assert sum(durations) == 11 * 200 and gif.n_frames > 1  # 11 frames at 5 fps

    pytest.importorskip("imageio_ffmpeg")
    assert main(["record", str(run_dir), "--format", "mp4", *options]) == 0
    (video,) = (run_dir / "videos").glob("*.mp4")
    reader = imageio.get_reader(video)
    assert reader.get_meta_data()["fps"] == 5
    frames = imageio.mimread(video, memtest=False)
    assert len(frames) == 11 and np.asarray(frames[0]).shape == (96, 54, 3)


def test_train_video_every_writes_gifs_and_tensorboard_images(tmp_path: Path) -> None:
    run_dir = train(
        from_dict(
            {
                "env": {
                    "id": "rlsuite/GridRacetrack-v0",
                    "num_envs": 16,
                    "kwargs": {"max_episode_steps": 40},
                },
                "agent": {"algo": "q_learning", "learning_rate": 0.5},
                "train": {
                    "total_steps": 8_000,
                    "eval_every": 4_000,
                    "eval_episodes": 2,
                    "video_every": 4_000,
                },
                "log": {"run_dir": str(tmp_path), "progress": "none"},
            }
        )
    )
    videos = sorted((run_dir / "videos").glob("eval_video-step_*.gif"))
    assert len(videos) == 2
    frames = imageio.mimread(videos[0], memtest=False)
    assert 2 <= len(frames) <= 41 and np.asarray(frames[0]).ndim == 3
    events = next(run_dir.glob("events.out.tfevents.*")).read_bytes()
    assert b"eval/video" in events and b"GIF89a" in events


def test_a_pixel_dqn_run_records_mp4_and_gif_and_logs_its_observations(tmp_path: Path) -> None:
    run_dir = train(
        from_dict(
            {
                "env": {
                    "id": "rlsuite/Racetrack-v0",
                    "num_envs": 4,
                    "kwargs": {
                        "obs_type": "pixels",
                        "action_type": "discrete",
                        "pixel_shape": 40,
                        "grayscale": True,
                        "max_episode_steps": 20,  # a short video: its 600 × 1204 frames are large
                    },
                },
                "agent": {
                    "algo": "dqn",
                    "learning_starts": 64,
                    "batch_size": 8,
                    "frame_stack": 2,
                    "net_arch": [8],
                    "random_shift_pad": 4,
                },
                "encoder": {"type": "compact", "features_dim": 8},
                "train": {"total_steps": 128, "eval_every": 0, "eval_episodes": 1, "device": "cpu"},
                "log": {"run_dir": str(tmp_path), "progress": "none"},
            }
        )
    )
    # TensorBoard: four sample observations and the same frames randomly shifted, as the update sees them
    events = EventAccumulator(str(run_dir), size_guidance={"images": 0})
    events.Reload()
    images = {}
    for tag in ("observations/samples", "observations/augmented"):
        (image,) = events.Images(tag)
        images[tag] = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)))
        assert images[tag].shape[:2] == (4 * 40, 40)
    assert not np.array_equal(images["observations/samples"], images["observations/augmented"])

    assert main(["record", str(run_dir), "--format", "gif", "--agent-view"]) == 0
    (video,) = (run_dir / "videos").glob("*.gif")
    frame = np.asarray(imageio.mimread(video, memtest=False)[0])
    assert frame.shape[1] == 600 + 4 + 600  # the 600-px scene, a gap, the 40-px view scaled ×15
    assert frame[:, 604:].std() > 0

    pytest.importorskip("imageio_ffmpeg")
    assert main(["record", str(run_dir), "--format", "mp4", "--episodes", "1"]) == 0
    (video,) = (run_dir / "videos").glob("*.mp4")
    frames = imageio.mimread(video, memtest=False)
    assert len(frames) == 21  # the reset frame and 20 steps (max_episode_steps)
    assert np.asarray(frames[0]).shape[:2] == (600, 600)
