"""A run directory works wherever it is and however it is named: ``rlsuite eval``, ``record`` and
``train --resume`` take the relative path that ``rlsuite train`` prints, an absolute one, a symlink,
and a run directory moved elsewhere after training, for every agent family (ours, tabular, SB3,
RLlib).

Each family trains one tiny run through the CLI, which is then moved away from where it was trained
(that place is deleted); every test works on its own copy.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from rlsuite.cli import main

pytest.importorskip("imageio")

RACETRACK = "env={id: rlsuite/Racetrack-v0, num_envs: 4, kwargs: {obs_type: state, action_type: discrete, max_episode_steps: 20}}"  # noqa: E501
TRAIN = ["train.eval_every=0", "train.eval_episodes=2", "train.eval_num_envs=2", "log.progress=none"]
FAMILIES = {
    "dqn": [
        RACETRACK,
        "agent={algo: dqn, net_arch: [16], batch_size: 16, buffer_size: 500, learning_starts: 32}",
        "train.total_steps=96",
    ],
    "q_learning": [
        "env={id: rlsuite/GridRacetrack-v0, num_envs: 4, kwargs: {max_episode_steps: 20}}",
        "agent={algo: q_learning}",
        "train.total_steps=96",
    ],
    "sb3.ppo": [
        RACETRACK,
        "agent={algo: sb3.ppo, n_steps: 16, batch_size: 32, n_epochs: 1, policy_kwargs: {net_arch: [16]}}",
        "train.total_steps=64",
    ],
    "rllib.ppo": [
        RACETRACK,
        "agent={algo: rllib.ppo, train_batch_size: 64, minibatch_size: 32, num_epochs: 1, fcnet_hiddens: [16]}",
        "train.total_steps=64",
    ],
}
FORMS = ("relative", "absolute", "symlink", "moved")


def cli(*args: str) -> tuple[int, str]:
    """``rlsuite ARGS`` as a user runs it: the exit status and what it printed (stdout and stderr)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        status = main(list(args))
    return status, out.getvalue()


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def trained_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run of the family, trained with ``log.run_dir=runs`` from its own directory, then moved to a
    store: the place it was trained in no longer exists."""
    family = request.param
    if family.startswith("sb3."):
        pytest.importorskip("stable_baselines3")
    if family.startswith("rllib."):
        request.getfixturevalue("ray_session")
    where = tmp_path_factory.mktemp(f"trained-{family}")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        status, out = cli("train", *FAMILIES[family], *TRAIN, "log.run_dir=runs")
    assert status == 0, out
    printed = re.search(r"run directory: (\S+)", out).group(1)
    assert not Path(printed).is_absolute(), printed  # what a user copies into the next command
    store = tmp_path_factory.mktemp(f"store-{family}") / Path(printed).name
    shutil.move(where / printed, store)
    shutil.rmtree(where)
    return store


def run_path(trained_run: Path, tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A copy of the run under ``tmp_path``, named as ``form`` says, from the current directory."""
    name = trained_run.name
    shutil.copytree(trained_run, tmp_path / "runs" / name, symlinks=True)
    monkeypatch.chdir(tmp_path)
    if form == "relative":
        return f"runs/{name}"
    if form == "absolute":
        return str(tmp_path / "runs" / name)
    if form == "symlink":
        os.symlink(f"runs/{name}", "latest")
        return "latest"
    shutil.move(f"runs/{name}", tmp_path / "archive" / name)  # moved after training, reached via ..
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return f"../archive/{name}"


@pytest.mark.parametrize("form", FORMS)
def test_eval_record_and_resume_take_the_run_directory_as_given(
    trained_run: Path, tmp_path: Path, form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = run_path(trained_run, tmp_path, form, monkeypatch)
    step = json.loads((Path(path) / "checkpoints" / "last" / "agent.json").read_text())["global_step"]

    status, out = cli("eval", path, "--episodes", "2")
    assert status == 0, out
    assert re.search(r"eval/return_mean: -?\d", out), out

    status, out = cli("record", path, "--episodes", "1", "--format", "gif")
    assert status == 0, out
    assert len(list((Path(path) / "videos").glob("*.gif"))) == 1

    status, out = cli("train", "--resume", path, f"train.total_steps={2 * step}")
    assert status == 0, out
    resumed = json.loads((Path(path) / "checkpoints" / "last" / "agent.json").read_text())["global_step"]
    assert resumed >= 2 * step
