"""Keep the vector contract test honest: put back, one at a time, each difference from Gymnasium's
``SyncVectorEnv`` that the envs once had (issue 12's list), and check that
``tests/envs/test_vector_contract.py`` fails on it. Run by hand (it edits ``rlsuite/envs/core.py``
and always restores it)::

    python tests/envs/contract_mutants.py          # every mutant; exit 1 if one survives

Each mutant is the old behaviour as it would look in the one shared core now. To leave a working
tree others are using alone, run it in a copy: ``cp -r . /tmp/mutants && python
/tmp/mutants/tests/envs/contract_mutants.py`` (it imports rlsuite from its own tree).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "rlsuite" / "envs" / "core.py"

MUTANTS = [  # (what the envs once did, old text, new text, the tests to run: pytest -k)
    (
        "Racetrack: reset(seed=s, options={reset_mask: m}) reseeded and reset every sub-env",
        "core.seed_rows(rows, row_seeds(seed, self.num_envs, self.np_random)[rows])",
        "core.seed_rows(self._all_rows, row_seeds(seed, self.num_envs, self.np_random)); rows = self._all_rows",
        "equals_sync and Racetrack",
    ),
    (
        "Racetrack: the seeds of the masked sub-envs were not used",
        "core.seed_rows(rows, row_seeds(seed, self.num_envs, self.np_random)[rows])",
        "pass",
        "equals_sync and Racetrack",
    ),
    (  # (the envs' reset infos now have their step infos' keys, issue 32: masks of sub-envs' own keys)
        "Racetrack: an autoreset sub-env's `_key` masks were False, as if it had no reset info",
        'infos["_" + key][rows] = True',
        'infos["_" + key][rows] = True if stepped is None else stepped[rows]',
        "equals_sync and Racetrack",
    ),
    (
        "Reacher/Pusher: an autoreset sub-env lost the reset info (`_is_success` False)",
        "infos = self._infos(step_info, core.reset_info(rows), rows, ~resetting)",
        "infos = self._infos(step_info, {}, rows, ~resetting)",
        "equals_sync and Reacher",
    ),
    (
        "GridRacetrack: the vector reset() info had no `crashed`",
        "infos = self._infos({}, core.reset_info(rows), rows)",
        "infos = {}",
        "equals_sync and GridRacetrack",
    ),
    (
        "GridRacetrack: truncation was dropped on a step that terminates",
        "truncated = self._elapsed >= self.max_episode_steps",
        "truncated = (self._elapsed >= self.max_episode_steps) & ~terminated",
        "equals_sync and GridRacetrack",
    ),
    (
        "Highway: an autoreset sub-env reported zeros, not its reset info's values",
        "infos[key][rows] = value",
        "infos[key][rows] = 0",
        "equals_sync and Highway",
    ),
    (
        "Racetrack: render() returned a list",
        "return tuple(self.core.frames(self._all_rows))",
        "return list(self.core.frames(self._all_rows))",
        "render and Racetrack",
    ),
    (
        "GridRacetrack: render() returned sub-env 0's frame",
        "return tuple(self.core.frames(self._all_rows))",
        "return self.core.frames(self._all_rows)[0]",
        "render and GridRacetrack",
    ),
]


def main() -> int:
    original = CORE.read_text()
    survivors = []
    try:
        for what, old, new, selection in MUTANTS:
            assert original.count(old) == 1, f"mutant {what!r}: its text is not in core.py once"
            CORE.write_text(original.replace(old, new))
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                 "tests/envs/test_vector_contract.py", "-k", selection],
                cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
            caught = result.returncode == 1
            last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-200:]
            print(f"{'caught  ' if caught else 'SURVIVED'} {what}\n         ({last})", flush=True)
            if not caught:
                survivors.append(what)
    finally:
        CORE.write_text(original)
    print(f"\n{len(MUTANTS) - len(survivors)} of {len(MUTANTS)} mutants caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main())
