"""The `rlsuite` command: help, version, envs, train (errors before anything is written), eval, resume."""

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import rlsuite
from rlsuite.cli import main

TABULAR = Path(__file__).parents[1] / "experiments" / "configs" / "q_learning_grid_racetrack.yaml"
FAST = ["train.total_steps=20000", "train.eval_every=10000", "train.eval_episodes=4", "env.num_envs=16"]
# The embedded default (DQN on Racetrack), shortened: updates start at 1,000 steps.
DQN_FAST = [
    "train.total_steps=3000",
    "train.eval_every=1500",
    "train.eval_episodes=2",
    "agent.learning_starts=1000",
    "agent.target_update_interval=500",
]


def run_cli(*args):
    return main([str(a) for a in args])


def metrics(run_dir, tag):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [(int(r["step"]), float(r["value"])) for r in csv.DictReader(f) if r["tag"] == tag]


def only_run(root):
    (run_dir,) = list(root.iterdir())
    return run_dir


def test_console_script_help_and_version():
    out = subprocess.run(["rlsuite", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("envs", "train", "eval", "bench"):
        assert command in out
    out = subprocess.run(["rlsuite", "--version"], capture_output=True, text=True, check=True).stdout
    assert rlsuite.__version__ in out


@pytest.mark.parametrize("command", ["train", "eval", "envs", "bench", "plot", "sweep"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(command, "--help")
    assert exit_.value.code == 0
    assert "usage: rlsuite " + command in capsys.readouterr().out


def test_a_bad_kwarg_of_a_gymnasium_env_is_one_clear_error_without_a_del_traceback(tmp_path, capsys):
    code = run_cli(
        "train", "env.id=CartPole-v1", "env.kwargs={foo: 1}", "agent.algo=dqn", f"log.run_dir={tmp_path}"
    )
    err = capsys.readouterr().err
    assert code == 2 and "env.kwargs: {'foo': 1} is not accepted by 'CartPole-v1'" in err
    assert "Exception ignored" not in err and "Traceback" not in err


def test_envs_lists_our_ids_with_spaces(capsys):
    assert run_cli("envs") == 0
    out = capsys.readouterr().out
    assert "rlsuite/GridRacetrack-v0" in out and "Discrete(9)" in out


@pytest.mark.parametrize(
    "override, expected",
    [
        ("train.total_stepz=10", "train.total_stepz"),
        ("train.total_steps=lots", "train.total_steps"),
        ("env.id=rlsuite/Nowhere-v0", "env.id"),
        ("agent.algo=alphazero", "agent.algo"),
        ("env.kwargs={track: moon}", "track"),
        ("agent=dqn", "agent: expected a section"),  # a value where a section belongs
        ("train=5", "train: expected a section"),
    ],
)
def test_bad_config_fails_before_anything_is_written(tmp_path, capsys, override, expected):
    code = run_cli("train", f"log.run_dir={tmp_path / 'runs'}", override)
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_train_writes_a_run_tensorboard_reads_then_eval_and_resume(tmp_path, capsys):
    root = tmp_path / "runs"
    assert run_cli("train", TABULAR, f"log.run_dir={root}", *FAST) == 0
    run_dir = only_run(root)
    out = capsys.readouterr().out
    assert str(run_dir) in out and "tensorboard --logdir" in out
    for name in ("config.yaml", "metrics.csv", "checkpoints/last/agent.json", "checkpoints/best/q_table.npz"):
        assert (run_dir / name).exists(), name

    events = EventAccumulator(str(run_dir))
    events.Reload()
    tags = events.Tags()["scalars"]
    for tag in (
        "charts/episode_return",
        "charts/episode_length",
        "charts/sps",
        "charts/epsilon",
        "eval/return_mean",
    ):
        assert tag in tags
    assert [e.step for e in events.Scalars("eval/return_mean")] == [10000, 20000]

    assert run_cli("eval", run_dir, "--episodes", 3) == 0
    assert "eval/return_mean" in capsys.readouterr().out
    assert len(list((run_dir / "eval").glob("eval-*.json"))) == 1

    assert run_cli("train", "--resume", run_dir, "train.total_steps=40000") == 0
    assert only_run(root) == run_dir  # resumed in place, no new run
    steps = [step for step, _ in metrics(run_dir, "eval/return_mean")]
    assert steps == [10000, 20000, 30000, 40000]


def test_same_config_and_seed_give_the_same_run(tmp_path):
    runs = []
    for k in range(2):
        root = tmp_path / str(k)
        assert run_cli("train", TABULAR, f"log.run_dir={root}", *FAST, "env.kwargs={noise: 0.1}") == 0
        runs.append(only_run(root))
    for tag in ("charts/episode_return", "eval/return_mean"):
        assert metrics(runs[0], tag) == metrics(runs[1], tag)
        assert metrics(runs[0], tag)


def test_default_main_job_is_dqn_on_racetrack_and_resumes_deterministically(tmp_path, capsys):
    """The README's `rlsuite train` (shortened): DQN writes its own scalars and checkpoints; a run
    resumed from its last checkpoint continues the step count; the same seed gives the same run."""
    runs = []
    for k in range(2):
        root = tmp_path / str(k)
        assert run_cli("train", f"log.run_dir={root}", *DQN_FAST) == 0
        runs.append(only_run(root))
    run_dir = runs[0]
    assert "tensorboard --logdir" in capsys.readouterr().out
    config = (run_dir / "config.yaml").read_text()
    assert "algo: dqn" in config and "rlsuite/Racetrack-v0" in config
    for name in ("checkpoints/best/model.safetensors", "checkpoints/last/agent.json"):
        assert (run_dir / name).exists(), name
    events = EventAccumulator(str(run_dir))
    events.Reload()
    for tag in ("losses/td_loss", "losses/q_values", "charts/epsilon", "charts/sps", "eval/return_mean"):
        assert tag in events.Tags()["scalars"], tag
    for tag in ("charts/episode_return", "losses/td_loss", "eval/return_mean"):
        assert metrics(runs[0], tag) == metrics(runs[1], tag), tag

    assert run_cli("train", "--resume", run_dir, "train.total_steps=4500") == 0
    assert [step for step, _ in metrics(run_dir, "eval/return_mean")] == [
        1504,
        3008,
        4512,
    ]  # multiples of 32 envs


def test_steps_per_second_is_never_logged_as_zero(tmp_path):
    """A report at every step, then the closing one at the same step: the rate is not 0/elapsed."""
    assert run_cli("train", TABULAR, f"log.run_dir={tmp_path}", "log.log_every_s=1e-9", *FAST) == 0
    sps = metrics(only_run(tmp_path), "charts/sps")
    assert sps and all(value > 0 for _, value in sps), [v for v in sps if v[1] <= 0]


def test_eval_of_a_missing_run_is_a_clear_error(tmp_path, capsys):
    assert run_cli("eval", tmp_path / "nope") == 2
    assert "not a run directory" in capsys.readouterr().err


def test_bench_envs_prints_the_speed_table(tmp_path, capsys):
    out_file = tmp_path / "speed.md"
    ids = ["--ids", "rlsuite/GridRacetrack-v0"]
    assert run_cli("bench", "envs", *ids, "--seconds", "0.05", "--no-peers", "--output", out_file) == 0
    row = next(line for line in out_file.read_text().splitlines() if line.startswith("| GridRacetrack"))
    single, vector = row.split("|")[2], row.split("|")[4]
    assert float(single.replace(",", "")) > 0 and "(1024)" in vector


def test_a_run_dir_that_cannot_be_made_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = ("train", "train.total_steps=64", "train.eval_every=0", f"log.run_dir={blocker / 'runs'}")
    assert run_cli(*args) == 2
    err = capsys.readouterr().err
    assert "log.run_dir: cannot create a run directory in" in err and "Traceback" not in err


def test_progress_line_says_which_return_is_training_and_which_is_evaluation(tmp_path, capsys):
    """The exploring policy's training return sits beside the greedy evaluation's; each is labelled."""
    args = ("train", TABULAR, f"log.run_dir={tmp_path}", *FAST, "log.progress=lines", "log.log_every_s=1e-9")
    assert run_cli(*args) == 0
    last = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")][-1]
    assert "| train return (exploring) " in last and "| eval return (greedy) " in last, last


def test_eval_prints_metrics_rounded_and_keeps_full_precision_in_its_json(tmp_path, capsys):
    assert run_cli("train", TABULAR, f"log.run_dir={tmp_path}", *FAST, "log.progress=none") == 0
    run_dir = only_run(tmp_path)
    capsys.readouterr()
    assert run_cli("eval", run_dir, "--episodes", 3) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert re.fullmatch(r"-?\d+\.\d{3}", printed["eval/return_mean"]), printed
    assert printed["held_out"] == "True" and printed["checkpoint"] == "best"
    (saved,) = (run_dir / "eval").glob("eval-*.json")
    assert round(json.loads(saved.read_text())["eval/return_mean"], 3) == float(printed["eval/return_mean"])


def test_probe_help_lists_every_shipped_encoder():
    from rlsuite.cli import _shipped_encoder_names
    from rlsuite.encoders import shipped_encoders

    assert _shipped_encoder_names() == shipped_encoders() and len(shipped_encoders()) == 6
    out = subprocess.run(["rlsuite", "probe", "--help"], capture_output=True, text=True, check=True).stdout
    for name in shipped_encoders():
        assert name in " ".join(out.split()), name


def test_top_level_help_has_examples():
    out = subprocess.run(["rlsuite", "--help"], capture_output=True, text=True, check=True).stdout
    _, _, examples = out.partition("\nexamples:\n")
    assert "  rlsuite train" in examples and "  rlsuite eval RUN_DIR" in examples


# --------------------------------------------------------------------------------------------
# RL Zoo-style choice of algorithm and env (issue 29, finding 4)
# --------------------------------------------------------------------------------------------
TINY = ["train.total_steps=64", "train.eval_every=0", "train.eval_episodes=1", "log.progress=none"]


def test_train_algo_env_trains_the_algorithms_defaults_plus_the_preset(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert run_cli("train", "--algo", "dqn", "--env", "CartPole-v1", *TINY) == 0
    assert "(dqn's defaults + the preset in rlsuite/presets/dqn.yaml)" in capsys.readouterr().out
    run_dir = only_run(Path("runs"))
    assert run_dir.name.startswith("dqn-CartPole-v1-")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["env"]["num_envs"] == 4 and config["agent"]["net_arch"] == [64, 64]  # dqn_cartpole.yaml's


def test_switching_the_default_jobs_algo_and_env_by_override_trains(tmp_path, monkeypatch):
    """`rlsuite train agent.algo=sb3.ppo env.id=CartPole-v1` failed on the default job's DQN keys."""
    monkeypatch.chdir(tmp_path)
    rollout = ["agent.n_steps=16", "agent.batch_size=32", "agent.n_epochs=1", "env.num_envs=2"]
    assert run_cli("train", "agent.algo=sb3.ppo", "env.id=CartPole-v1", *rollout, *TINY) == 0
    assert only_run(Path("runs")).name.startswith("sb3.ppo-CartPole-v1-")  # not "dqn-racetrack"


@pytest.mark.parametrize(
    "args, expected",
    [
        (
            ["ppo.yaml"],
            "agent.buffer_size: unknown key for agent.algo 'sb3.ppo', set by the config file 'ppo.yaml'",
        ),
        (
            ["--algo", "sb3.ppo", "--env", "CartPole-v1", "agent.buffer_size=10"],
            "agent.buffer_size: unknown key for agent.algo 'sb3.ppo', set by the command line (agent.buffer_size=10)",
        ),
        (["ppo.yaml", "--algo", "dqn"], "(--algo/--env) build a config from the algorithm's defaults"),
        (["--resume", "runs/x", "--env", "CartPole-v1"], "--algo/--env cannot change them"),
    ],
)
def test_a_key_of_another_algorithm_is_refused_naming_where_it_came_from(
    tmp_path, monkeypatch, capsys, args, expected
):
    monkeypatch.chdir(tmp_path)
    Path("ppo.yaml").write_text("env: {id: CartPole-v1}\nagent: {algo: sb3.ppo, buffer_size: 1000}\n")
    assert run_cli("train", *args) == 2
    assert expected in capsys.readouterr().err
    assert not Path("runs").exists()


def test_presets_lists_algo_by_env_id(capsys):
    assert run_cli("presets") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    pairs = {tuple(row[:2]) for row in rows}
    for pair in [
        ("dqn", "CartPole-v1"),
        ("dqn", "rlsuite/Racetrack-v0"),
        ("sb3.ppo", "rlsuite/Racetrack-v0"),
    ]:
        assert pair in pairs, pair
    assert rows[0][:2] == ["algo", "env"]
