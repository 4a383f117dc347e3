"""Users who only want the envs install gymnasium + numpy: importing rlsuite must not pull torch or ray.
The commands that need neither (help, envs, a tabular run) must not import them either: torch alone
costs seconds of start-up."""

import json
import subprocess
import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

CONFIGS = Path(__file__).parents[1] / "experiments" / "configs"
HEAVY = ("torch", "ray", "stable_baselines3", "tensorflow")


def heavy_modules_after(cli_args: list[str]) -> list[str]:
    """The heavy modules loaded by a fresh interpreter after ``rlsuite CLI_ARGS`` ran."""
    code = (
        "import json, sys\n"
        "from rlsuite.cli import main\n"
        "try:\n"
        f"    code = main({cli_args!r})\n"
        "except SystemExit as exit_:\n"
        "    code = exit_.code\n"
        "assert code == 0, code\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def test_import_rlsuite_envs_does_not_import_torch_or_ray():
    code = (
        "import sys, gymnasium, rlsuite, rlsuite.envs\n"
        "gymnasium.make('rlsuite/GridRacetrack-v0').reset(seed=0)\n"
        "heavy = [m for m in ('torch', 'ray', 'stable_baselines3', 'tensorboard') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_gymnasium_imports_us_from_the_module_prefixed_id():
    code = "import gymnasium as g; e = g.make('rlsuite:rlsuite/GridRacetrack-v0'); e.reset(seed=0)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_help_and_envs_import_no_torch_ray_or_sb3():
    assert heavy_modules_after(["--help"]) == []
    assert heavy_modules_after(["train", "--help"]) == []
    assert heavy_modules_after(["envs"]) == []


def test_a_tabular_run_imports_no_torch_and_still_writes_tensorboard_events(tmp_path):
    config = CONFIGS / "q_learning_frozenlake.yaml"
    short = ["train.total_steps=2000", "train.eval_every=1000", "train.eval_episodes=4"]
    assert heavy_modules_after(["train", str(config), *short, f"log.run_dir={tmp_path}"]) == []
    (run_dir,) = tmp_path.iterdir()
    events = EventAccumulator(str(run_dir))
    events.Reload()
    assert "eval/return_mean" in events.Tags()["scalars"]
    assert len(events.Scalars("eval/return_mean")) == 2  # the periodic evaluation and the final one


def test_the_python_api_is_imported_on_first_use_and_a_tabular_run_through_it_imports_no_torch(tmp_path):
    code = (
        "import sys, rlsuite\n"
        "assert 'rlsuite.api' not in sys.modules and 'rlsuite.training' not in sys.modules\n"
        "assert {'train', 'load', 'evaluate', 'Policy', 'TrainedRun'} <= set(dir(rlsuite))\n"
        "from rlsuite import Policy, evaluate, load, train\n"
        "run = train({'env': {'id': 'FrozenLake-v1'}, 'agent': {'algo': 'q_learning'}}, overrides={\n"
        "    'train.total_steps': 500, 'train.eval_every': 0, 'train.eval_episodes': 2, 'log.progress': 'none'})\n"
        "policy = load(run.run_dir)\n"
        "assert isinstance(policy, Policy)\n"
        "action, _ = policy.predict(0)\n"
        "evaluate(policy, episodes=2)\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
