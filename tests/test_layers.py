"""Layers point one way (docs/design.md, "Layers"): a module of rlsuite imports only modules of its own
layer or of lower ones. Checked on the import statements of every module — lazy ones inside
functions and ``TYPE_CHECKING`` blocks included — so a new file, or a new import, that breaks the
picture fails here, and so does a file that nobody placed in a layer."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rlsuite"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("envs",),  # 0: Gymnasium envs; numpy + numba only
    (
        "config",
        "presets",
        "runs",
        "checkpoints",
        "resources",
        "cluster",
        "rollout",
        "perturb",
    ),  # 1: what all use
    ("encoders",),  # 2: pixel encoders, their objectives and pretraining
    ("agents",),  # 3: one module (or package) per agent family behind one protocol
    ("training",),  # 4: the loop every agent reports to, evaluation of runs
    (
        "jobs",
        "record",
        "plots",
        "api",
        "study",
        "export",
        "zoo",
    ),  # 5: what runs, shows, studies, exports or ships agents (zoo: the trained agents in the package)
    ("cli", "bench", "rlsuite"),  # 6: the command line; "rlsuite": the package's __init__
)
"""Lowest first. A unit is a top-level module or package of rlsuite (``envs`` is ``rlsuite/envs/**``);
``rlsuite`` is the package's own ``__init__.py``, which registers the envs and re-exports the API.
``presets`` (tuned settings per algorithm and env, YAML read by ``config.load_config``) sits beside
``config``, which reads it."""

LAYER_OF = {unit: level for level, units in enumerate(LAYERS) for unit in units}

ONLY = {"rollout": ("envs", "config"), "perturb": ("envs", "config")}
"""Units allowed fewer imports than their layer: rollout (used by training, record and the encoders'
data) and perturb (the robustness suite's env wrappers) stay on envs and config, so that they can never
pull in torch through a neighbour."""

ENVS_PUBLIC = (
    "rlsuite.envs",
    "rlsuite.envs.registration",
    "rlsuite.envs.core",
    "rlsuite.envs.wrappers",
    "rlsuite.envs.solved",
)
"""What modules outside ``envs/`` may import of it: the registry, the batched-core protocol (an env's
own knowledge is reached through its optional methods), the wrappers and the definitions of solved;
never one env's module."""

NEVER = {
    "envs": ("torch", "ray", "stable_baselines3"),
    "rollout": ("torch", "ray", "stable_baselines3"),
    "perturb": ("torch", "ray", "stable_baselines3"),
    "config": ("torch", "ray", "stable_baselines3"),
}
"""Third-party packages a unit never imports, lazily either (the envs are numpy + numba only)."""

PENDING: dict[str, str] = {}
"""Violations other work in progress removes (issue 28); strict: each fails the suite once fixed, so
its line is deleted then."""


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _name(path: Path) -> str:
    """``rlsuite/agents/dqn.py`` -> ``rlsuite.agents.dqn``; ``rlsuite/envs/__init__.py`` -> ``rlsuite.envs``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _unit(module: str) -> str:
    """The layer table's unit of a module name: its first component under rlsuite (``rlsuite`` alone
    for the package itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "rlsuite"


def _is_module(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


API_NAMES = ("Policy", "TrainedRun", "evaluate", "load", "train")  # what rlsuite/__init__ re-exports from api


@cache
def imports(path: Path, name: str | None = None) -> tuple[tuple[int, str], ...]:
    """``(line, module)`` of every import in ``path``, anywhere in the file, relative ones resolved;
    ``from rlsuite import NAME`` counts as the submodule NAME, or as ``rlsuite.api`` for the API's
    re-exported names. ``import rlsuite`` itself (run before any submodule anyway) is left out.
    ``name``: the module's name when the file is not in the package (the checker's own test)."""
    found = []
    name = name or _name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if base == "rlsuite" and alias.name in API_NAMES:
                    found.append((node.lineno, "rlsuite.api"))
                else:
                    found.append((node.lineno, submodule if _is_module(submodule) else base))
    return tuple((line, module) for line, module in found if module != "rlsuite")


def _violations(path: Path, name: str | None = None) -> list[str]:
    unit = _unit(name or _name(path))
    level = LAYER_OF[unit]
    where = path.relative_to(PACKAGE.parent) if name is None else path.name
    bad = []
    for line, module in imports(path, name):
        top = module.split(".")[0]
        if top == "rlsuite":
            other = _unit(module)
            if other not in LAYER_OF:
                bad.append(f"{where}:{line} imports {module}, which no layer holds")
            elif other != unit and (LAYER_OF[other] > level or (unit in ONLY and other not in ONLY[unit])):
                bad.append(
                    f"{where}:{line} (layer {level}, {unit}) imports {module} (layer {LAYER_OF[other]})"
                )
            elif other == "envs" != unit and module not in ENVS_PUBLIC:
                bad.append(
                    f"{where}:{line} ({unit}) imports {module}, inside the envs; allowed: {ENVS_PUBLIC}"
                )
        elif top in NEVER.get(unit, ()):
            bad.append(f"{where}:{line} ({unit}) imports {module}, which {unit} never imports")
    return bad


def _params() -> list:
    params = []
    for path in _modules():
        key = str(path.relative_to(PACKAGE.parent))
        marks = [pytest.mark.xfail(strict=True, reason=PENDING[key])] if key in PENDING else []
        params.append(pytest.param(path, id=key, marks=marks))
    return params


@pytest.mark.parametrize("path", _params())
def test_module_imports_only_its_layer_or_lower_ones(path: Path) -> None:
    assert _unit(_name(path)) in LAYER_OF  # placed (the next test says where to place it)
    bad = _violations(path)
    assert not bad, "\n".join(bad)


def test_every_module_of_rlsuite_is_in_a_layer() -> None:
    unplaced = sorted({_unit(_name(p)) for p in _modules()} - set(LAYER_OF))
    assert not unplaced, f"add these to LAYERS in {Path(__file__).name} and to docs/design.md: {unplaced}"


def test_every_unit_of_the_table_exists() -> None:
    """The table is the picture of what is there: a unit that was removed or renamed leaves it."""
    missing = [unit for unit in LAYER_OF if unit != "rlsuite" and not _is_module(f"rlsuite.{unit}")]
    assert not missing, missing


def test_pending_violations_name_existing_files() -> None:
    missing = [key for key in PENDING if not (PACKAGE.parent / key).is_file()]
    assert not missing, f"delete these lines of PENDING: {missing}"


def test_jobs_import_one_way() -> None:
    """The sweep spec ← the summary ← the runner: the spec knows neither, the summary not the runner."""
    forbidden = {"spec": ("rlsuite.jobs.summary", "rlsuite.jobs.sweep"), "summary": ("rlsuite.jobs.sweep",)}
    bad = [
        f"jobs/{name}.py imports {module}"
        for name, others in forbidden.items()
        for _, module in imports(PACKAGE / "jobs" / f"{name}.py")
        if module in others
    ]
    assert not bad, bad


def test_the_checker_sees_lazy_relative_and_type_checking_imports(tmp_path: Path) -> None:
    """The checker itself: every way to import rlsuite.training from an agent is found."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from rlsuite.training import Monitor\n"
        "def f():\n    from ..training import evaluate\n    import rlsuite.training\n"
        "    from rlsuite import training, train\n"
        "    from rlsuite.envs.driving.racetrack import RacetrackEnv\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source)
    bad = _violations(path, "rlsuite.agents.probe")
    assert [line.split(":")[1].split(" ")[0] for line in bad] == ["3", "5", "6", "7", "7", "8"], bad
    assert all("layer 3, agents" in line for line in bad[:5]) and "inside the envs" in bad[5]
