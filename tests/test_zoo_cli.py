"""A zoo entry wherever a run directory is taken: ``rlsuite eval NAME [--perturb …]`` and ``rlsuite export
NAME``, typed as a user types them (a name, relative paths printed), and ``rlsuite.evaluate(NAME)``.
The zoo folder is never written to; an exported entry acts as the zoo's Policy on 10,000 observations.

The entries are packed here from tiny real runs (PQN on Racetrack's state, Q-learning on GridRacetrack)
into a temporary zoo folder, never the package's."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite import zoo
from rlsuite.cli import main
from rlsuite.config import ConfigError
from rlsuite.export import export_run, load_table, table_actions
from rlsuite.zoo.pack import add_entry
from rlsuite.zoo.resolve import resolve_source

REPO = Path(__file__).parents[1]
QUICK = {"log.progress": "none", "train.eval_every": 0, "train.eval_episodes": 2, "train.device": "cpu"}
EPISODES = 4  # the packed entries' card episodes
NUM_ENVS, STEPS = 100, 100  # 10,000 observations


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> Path:
    """A zoo of two entries: race-pqn (PQN, Racetrack state, 50-step episodes) and grid-q (Q-learning)."""
    runs = tmp_path_factory.mktemp("runs")
    env = {"obs_type": "state", "action_type": "discrete", "max_episode_steps": 50}
    pqn = rlsuite.train(
        {
            "env": {"id": "rlsuite/Racetrack-v0", "num_envs": 8, "kwargs": env},
            "agent": {"algo": "pqn", "num_steps": 8, "net_arch": [32, 32]},
        },
        overrides={**QUICK, "train.total_steps": 512, "log.run_dir": str(runs)},
    ).run_dir
    grid = rlsuite.train(
        REPO / "experiments" / "configs" / "q_learning_grid_racetrack.yaml",
        overrides={**QUICK, "train.total_steps": 400, "log.run_dir": str(runs)},
    ).run_dir
    root = tmp_path_factory.mktemp("zoo")
    add_entry(pqn, "race-pqn", episodes=EPISODES, root=root)
    add_entry(grid, "grid-q", episodes=EPISODES, root=root)
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A fresh working directory: what the commands write lands here."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --------------------------------------------------------------------------------------------
# Resolving NAME|RUN_DIR
# --------------------------------------------------------------------------------------------
def test_a_name_a_folder_and_a_run_directory_resolve(packed, tmp_path):
    by_name = resolve_source("race-pqn", packed)
    assert (by_name.kind, by_name.name, by_name.path) == ("zoo", "race-pqn", packed / "race-pqn")
    by_folder = resolve_source(packed / "race-pqn")
    assert (by_folder.kind, by_folder.name) == ("zoo", "race-pqn")
    run = tmp_path / "my-run"
    run.mkdir()
    (run / "config.yaml").write_text("{}\n")
    assert resolve_source(run, packed).kind == "run"


def test_neither_a_directory_nor_a_name_says_what_was_looked_for(packed, here, capsys):
    assert main(["eval", "race-pq", "--zoo", str(packed)]) == 2
    err = capsys.readouterr().err
    assert "'race-pq' is not a run directory (no directory" in err and str(here / "race-pq") in err
    assert "nor the name of a zoo entry in" in err and "did you mean 'race-pqn'?" in err
    assert "Zoo names: grid-q, race-pqn" in err
    (here / "empty").mkdir()
    with pytest.raises(ConfigError, match="not a run directory .* nor a zoo entry's folder"):
        export_run("empty", root=packed)


# --------------------------------------------------------------------------------------------
# rlsuite eval NAME
# --------------------------------------------------------------------------------------------
def test_eval_of_a_name_gives_its_cards_figures_and_writes_here(packed, here, capsys):
    before = _files(packed)
    assert main(["eval", "race-pqn", "--zoo", str(packed)]) == 0
    out = capsys.readouterr().out
    card = zoo.card("race-pqn", packed)["eval"]
    (written,) = (here / "rlsuite-eval" / "race-pqn").glob("eval-*.json")
    assert f"written: rlsuite-eval/race-pqn/{written.name}" in out  # relative, as typed
    result = json.loads(written.read_text())
    assert result["episodes"] == EPISODES and result["seed"] == card["seed"]
    assert result["eval/return_mean"] == pytest.approx(card["return_mean"], abs=1e-9)
    assert result["zoo_entry"] == "race-pqn" and result["perturbation"] is None
    assert _files(packed) == before  # the zoo is never written to


def test_eval_of_a_name_under_a_perturbation_and_all_of_them(packed, here, capsys):
    before = _files(packed)
    assert main(["eval", "race-pqn", "--zoo", str(packed), "--perturb", "actuation_noise:3"]) == 0
    assert "actuation_noise:3 (severe" in capsys.readouterr().out
    (written,) = (here / "rlsuite-eval" / "race-pqn").glob("eval-actuation_noise3-*.json")
    assert json.loads(written.read_text())["perturbation"]["level"] == 3

    assert main(["eval", "race-pqn", "--zoo", str(packed), "--perturb", "all", "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("observation_noise") == 3 and out.count("unseen_tracks") == 3
    assert "the table is in rlsuite-eval/race-pqn/" in out
    (table,) = (here / "rlsuite-eval" / "race-pqn").glob("robustness-*.json")
    assert len(json.loads(table.read_text())["rows"]) == 1 + 4 * 3
    assert _files(packed) == before


def test_eval_of_a_name_refuses_a_checkpoint_and_a_perturbation_that_does_not_apply(packed, here, capsys):
    assert main(["eval", "race-pqn", "--zoo", str(packed), "--checkpoint", "last"]) == 2
    assert "race-pqn is a zoo entry, which holds one policy" in capsys.readouterr().err
    assert main(["eval", "race-pqn", "--zoo", str(packed), "--perturb", "background"]) == 2
    assert "does not apply to rlsuite/Racetrack-v0 (pixel observations only" in capsys.readouterr().err
    assert not (here / "rlsuite-eval").exists()


def test_rlsuite_evaluate_takes_a_name(packed, here, monkeypatch):
    monkeypatch.setenv(zoo.ZOO_ENV_VAR, str(packed))
    result = rlsuite.evaluate("grid-q")
    assert result["eval/return_mean"] == pytest.approx(zoo.card("grid-q")["eval"]["return_mean"], abs=1e-9)
    other = rlsuite.evaluate("grid-q", "rlsuite/GridRacetrack-v0", episodes=2)
    assert other["episodes"] == 2


# --------------------------------------------------------------------------------------------
# rlsuite export NAME: into ./export/NAME-FORMAT, acting as the zoo's Policy
# --------------------------------------------------------------------------------------------
def _env_observations(env_id: str, kwargs: dict) -> np.ndarray:
    """10,000 observations of the env: 100 envs stepped 100 times with random actions."""
    envs = gym.make_vec(env_id, num_envs=NUM_ENVS, **kwargs)
    envs.action_space.seed(0)
    observations = [envs.reset(seed=123)[0]]
    for _ in range(STEPS - 1):
        observations.append(envs.step(envs.action_space.sample())[0])
    envs.close()
    return np.concatenate(observations)


def test_export_of_a_pqn_entry_acts_as_the_zoo_policy(packed, here, capsys):
    import onnxruntime

    before = _files(packed)
    assert main(["export", "race-pqn", "--zoo", str(packed)]) == 0
    out = capsys.readouterr().out
    assert "pqn on rlsuite/Racetrack-v0 (zoo entry race-pqn) as onnx" in out
    assert "policy: export/race-pqn-onnx/policy.onnx" in out  # relative, as typed
    assert "metadata: export/race-pqn-onnx/policy.json" in out
    meta = json.loads((here / "export" / "race-pqn-onnx" / "policy.json").read_text())
    assert meta["zoo_entry"] == "race-pqn" and meta["run_dir"] is None and meta["input"]["frame_stack"] == 1
    assert _files(packed) == before

    session = onnxruntime.InferenceSession(
        str(here / "export" / "race-pqn-onnx" / "policy.onnx"), providers=["CPUExecutionProvider"]
    )
    with rlsuite.load_pretrained("race-pqn", root=packed) as policy:
        observations = _env_observations(policy.config.env.id, policy.config.env.kwargs)
        expected = policy.predict(observations)[0]
    actions = session.run(["action"], {"observation": observations})[0]
    np.testing.assert_array_equal(actions, expected)
    assert len(observations) == NUM_ENVS * STEPS and len(set(expected.tolist())) > 1  # it can fail

    assert main(["export", str(packed / "race-pqn"), "--format", "torchscript"]) == 0  # by its folder
    assert "policy: export/race-pqn-torchscript/policy.pt" in capsys.readouterr().out


def test_export_of_a_tabular_entry_acts_as_the_zoo_policy(packed, here, capsys):
    assert main(["export", "grid-q", "--zoo", str(packed), "--out", "grid-table"]) == 0
    assert "policy: grid-table/policy.npz" in capsys.readouterr().out
    table = load_table(here / "grid-table" / "policy.npz")
    with rlsuite.load_pretrained("grid-q", root=packed) as policy:
        observations = _env_observations(policy.config.env.id, policy.config.env.kwargs)
        expected = policy.predict(observations)[0]
    np.testing.assert_array_equal(table_actions(table, observations), expected)
    assert len(set(expected.tolist())) > 1
    assert main(["export", "grid-q", "--zoo", str(packed), "--out", "grid-table"]) == 2  # exists
    assert "exists; choose another --out or pass --force" in capsys.readouterr().err
