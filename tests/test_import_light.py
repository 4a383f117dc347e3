"""Users who only want the envs install gymnasium + numpy: importing rlsuite must not pull torch or ray."""

import subprocess
import sys


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
