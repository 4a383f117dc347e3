"""Crash-safe checkpoints: checksummed, swapped in by rename, the previous good one used on damage,
and a training process killed with SIGKILL at random points resumes from its last checkpoint."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rlsuite.checkpoints import CheckpointError, find_checkpoint, verify_checkpoint, write_checkpoint
from rlsuite.plots import read_scalars


def save_text(text: str):
    def save(directory: Path) -> None:
        (directory / "model.bin").write_bytes(text.encode() * 100)
        (directory / "agent.json").write_text(json.dumps({"text": text}))

    return save


def test_a_checkpoint_is_checksummed_and_the_previous_one_kept(tmp_path):
    write_checkpoint(tmp_path / "last", save_text("one"))
    write_checkpoint(tmp_path / "last", save_text("two"))
    assert verify_checkpoint(tmp_path / "last") is None
    assert json.loads((tmp_path / "last" / "agent.json").read_text())["text"] == "two"
    assert json.loads((tmp_path / ".last.prev" / "agent.json").read_text())["text"] == "one"
    assert find_checkpoint(tmp_path, "last") == tmp_path / "last"
    assert not (tmp_path / ".last.tmp").exists()


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_a_damaged_checkpoint_is_detected_and_the_previous_good_one_used(tmp_path, damage):
    write_checkpoint(tmp_path / "last", save_text("one"))
    write_checkpoint(tmp_path / "last", save_text("two"))
    model = tmp_path / "last" / "model.bin"
    if damage == "truncate":
        model.write_bytes(model.read_bytes()[:10])
    elif damage == "flip":
        data = bytearray(model.read_bytes())
        data[3] ^= 1
        model.write_bytes(bytes(data))
    else:
        model.unlink()
    assert verify_checkpoint(tmp_path / "last") is not None
    with pytest.warns(RuntimeWarning, match="using .last.prev instead"):
        found = find_checkpoint(tmp_path, "last")
    assert json.loads((found / "agent.json").read_text())["text"] == "one"


def test_an_unfinished_write_is_never_taken_for_a_checkpoint(tmp_path):
    (tmp_path / ".last.tmp").mkdir()
    (tmp_path / ".last.tmp" / "model.bin").write_bytes(b"half")  # killed before its manifest
    with pytest.raises(CheckpointError, match="no intact checkpoint 'last'"):
        find_checkpoint(tmp_path, "last")
    write_checkpoint(tmp_path / "last", save_text("one"))  # a later write replaces the leftover
    assert find_checkpoint(tmp_path, "last") == tmp_path / "last"


def test_killed_between_the_two_renames_the_pending_copy_is_used(tmp_path):
    write_checkpoint(tmp_path / "last", save_text("one"))
    write_checkpoint(tmp_path / ".pending", save_text("two"))
    os.replace(tmp_path / "last", tmp_path / ".last.prev")
    os.replace(tmp_path / ".pending", tmp_path / ".last.tmp")  # a complete copy, not yet renamed in
    with pytest.warns(RuntimeWarning):
        found = find_checkpoint(tmp_path, "last")
    assert json.loads((found / "agent.json").read_text())["text"] == "two"


CONFIG = """
env: {id: rlsuite/Racetrack-v0, num_envs: 8, kwargs: {action_type: discrete}}
agent: {algo: dqn, learning_starts: 300, batch_size: 64, net_arch: [32], save_replay_buffer: true,
        buffer_size: 20000, train_freq: 1}
train: {total_steps: 6000, eval_every: 0, eval_episodes: 2, checkpoint_every: 200, seed: 3, device: cpu}
log: {run_dir: RUNS, name: killed, progress: lines, log_every_s: 0.2}
"""


def _train(args: list[str], cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "rlsuite.cli", "train", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigkill_at_random_points_then_resume_finishes_the_run(tmp_path):
    """Kill `rlsuite train` with SIGKILL three times at random moments (some land inside a checkpoint
    write), resume each time: every resume starts from an intact checkpoint at or after the previous
    one, with its step counter, optimiser, schedules, RNG and replay buffer, and the run finishes."""
    from rlsuite.agents.dqn import DQNAgent
    from rlsuite.training import load_run_config, make_agent_envs

    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("RUNS", str(tmp_path / "runs")))
    rng = np.random.default_rng(0)
    run_dir = None
    resumed_at = []
    for attempt in range(4):
        args = [str(config)] if run_dir is None else ["--resume", str(run_dir)]
        process = _train(args, tmp_path)
        if attempt == 3:  # the last one runs to the end
            out, _ = process.communicate(timeout=300)
            assert process.returncode == 0, out
            break
        # wait until it is training (a progress line), then kill it at a random moment
        deadline = time.time() + 120
        while time.time() < deadline:
            line = process.stdout.readline()
            if line.startswith("step "):
                break
        time.sleep(rng.uniform(0.05, 0.8))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        run_dir = run_dir or next((tmp_path / "runs").glob("killed-*"))
        checkpoint = find_checkpoint(run_dir / "checkpoints", "last")
        step = json.loads((checkpoint / "agent.json").read_text())["global_step"]
        assert not resumed_at or step >= resumed_at[-1]
        resumed_at.append(step)

        # the checkpoint reloads whole: counters, optimiser moments, RNG, replay
        cfg = load_run_config(run_dir)
        envs = make_agent_envs(cfg)
        try:
            agent = DQNAgent.load(checkpoint, cfg, envs)
            assert agent.global_step == step
            if step >= 300 + 64:
                assert agent.num_updates > 0 and len(agent.optimizer.state) > 0
                assert len(agent.replay) > 0
        finally:
            envs.close()

    final = find_checkpoint(run_dir / "checkpoints", "last")
    assert json.loads((final / "agent.json").read_text())["global_step"] == 6000
    assert verify_checkpoint(final) is None

    # ... and it ends exactly where an uninterrupted run ends: the checkpoints hold the envs
    # mid-episode (loop.safetensors), so DQN on the CPU is the same computation either way.
    out, _ = _train([str(config), "log.name=whole"], tmp_path).communicate(timeout=300)
    whole = find_checkpoint(next((tmp_path / "runs").glob("whole-*")) / "checkpoints", "last")
    resumed, uninterrupted = (load_file(c / "model.safetensors") for c in (final, whole))
    assert resumed.keys() == uninterrupted.keys()
    differ = [k for k in resumed if not np.array_equal(resumed[k], uninterrupted[k])]
    assert not differ, f"the resumed run differs from the uninterrupted one in {differ}"


class Crash(Exception):
    pass


@pytest.mark.parametrize("exact", [True, False])
def test_a_resumed_tabular_run_ends_where_an_uninterrupted_one_does(tmp_path, exact):
    """A crash (an exception after the step-4000 evaluation, before its checkpoint) and a resume
    from the step-3000 checkpoint: the same Q-table as a run never stopped. Without the envs' state
    in the checkpoint (``loop.safetensors`` removed), the resume starts new episodes and differs."""
    from rlsuite.config import from_dict
    from rlsuite.training import train

    def config(name):
        return from_dict(
            {
                "env": {"id": "rlsuite/GridRacetrack-v0", "num_envs": 8, "kwargs": {"max_episode_steps": 40}},
                "agent": {"algo": "q_learning", "learning_rate": 0.5},
                "train": {
                    "total_steps": 6000,
                    "eval_every": 2000,
                    "eval_episodes": 2,
                    "checkpoint_every": 1000,
                },
                "log": {"run_dir": str(tmp_path / name), "progress": "none"},
            }
        )

    def crash_at_4000(monitor, step, result):
        if step >= 4000:
            raise Crash

    whole = train(config("whole"))
    with pytest.raises(Crash):
        train(config("crashed"), on_evaluation=crash_at_4000)
    (run_dir,) = (tmp_path / "crashed").iterdir()
    last = find_checkpoint(run_dir / "checkpoints", "last")
    assert json.loads((last / "monitor.json").read_text())["global_step"] == 3000
    if not exact:
        (last / "loop.safetensors").unlink()
        (last / "MANIFEST.json").unlink()  # a checkpoint of an older version, without the envs' state
    train(config("crashed"), resume=run_dir)

    tables = [
        np.load(find_checkpoint(d / "checkpoints", "last") / "q_table.npz")["q"] for d in (whole, run_dir)
    ]
    assert np.array_equal(*tables) == exact

    # the curves show each step once: what was logged after the step-3000 checkpoint (the step-4000
    # evaluation among it) left metrics.csv for metrics.rolled-back.csv, and the resume logged it anew
    def rows(path, tag):
        with path.open(newline="") as f:
            return [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f) if r["tag"] == tag]

    evals = rows(run_dir / "metrics.csv", "eval/return_mean")
    assert [step for step, _ in evals] == [2000, 4000, 6000]
    if exact:  # the same computation: the same rows
        for tag in ("eval/return_mean", "charts/episode_return"):
            assert rows(run_dir / "metrics.csv", tag) == rows(whole / "metrics.csv", tag)
    rolled = rows(run_dir / "metrics.rolled-back.csv", "eval/return_mean")
    assert [s for s, _ in rolled] == [4000]
    assert read_scalars(run_dir)["eval/return_mean"][:, 0].tolist() == [2000, 4000, 6000]  # what plots read
    events = EventAccumulator(str(run_dir))  # TensorBoard hides the rolled-back events (purge_step)
    events.Reload()
    assert [e.step for e in events.Scalars("eval/return_mean")] == [2000, 4000, 6000]


def test_resuming_a_finished_run_logs_nothing_twice(tmp_path):
    """A run killed after its final checkpoint (a sweep's driver killed during a trial's wrap-up) and
    resumed: nothing to train, and its final evaluation is not logged a second time."""
    from rlsuite.config import from_dict
    from rlsuite.training import train

    config = from_dict(
        {
            "env": {"id": "rlsuite/GridRacetrack-v0", "num_envs": 4, "kwargs": {"max_episode_steps": 40}},
            "agent": {"algo": "q_learning"},
            "train": {"total_steps": 1000, "eval_every": 500, "eval_episodes": 2},
            "log": {"run_dir": str(tmp_path), "progress": "none"},
        }
    )
    run_dir = train(config)
    before = (run_dir / "metrics.csv").read_text()
    train(config, resume=run_dir)
    assert read_scalars(run_dir)["eval/return_mean"][:, 0].tolist() == [500, 1000]
    assert (run_dir / "metrics.csv").read_text() == before
    assert not (run_dir / "metrics.rolled-back.csv").exists()


class _Payload:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("algo", ["dqn", "q_learning"])
def test_a_pickle_disguised_as_a_checkpoint_executes_nothing(tmp_path, capsys, algo):
    """Our agents load safetensors and JSON only: a malicious pickle named like a checkpoint file is an
    error that names the checkpoint, and its payload never runs."""
    import pickle

    from rlsuite.cli import main

    common = ["train.total_steps=300", "train.eval_every=0", "train.eval_episodes=1", f"log.run_dir={tmp_path}",
              "log.progress=none"]  # fmt: skip
    if algo == "dqn":
        args = ["train", "env.num_envs=2", "agent={algo: dqn, learning_starts: 100}", *common]
    else:
        args = [
            "train",
            str(Path(__file__).parents[1] / "experiments/configs/q_learning_grid_racetrack.yaml"),
            *common,
        ]
    assert main(args) == 0
    run_dir = next(tmp_path.glob("*-*"))
    last = run_dir / "checkpoints" / "last"
    target = tmp_path / "pwned"
    for path in sorted(p for p in last.iterdir() if p.name != "MANIFEST.json"):
        path.write_bytes(pickle.dumps(_Payload(str(target))))
    (last / "MANIFEST.json").unlink()  # a checkpoint from before manifests: no checksum to catch it
    for name in [p.name for p in (run_dir / "checkpoints").iterdir()]:
        if name.startswith("."):
            import shutil

            shutil.rmtree(run_dir / "checkpoints" / name)
    capsys.readouterr()
    assert main(["eval", str(run_dir), "--checkpoint", "last", "--episodes", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot be loaded" in err and str(last) in err and "Traceback" not in err
    assert not target.exists()
