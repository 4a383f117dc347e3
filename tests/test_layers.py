"""Layers point one way (docs/design.md): envs know no agent, config, training or CLI; the config
layer knows no agent (agent families register with it); agents see the training loop only through
their own protocol. Checked on the import statements of every module, lazy ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rlsuite"

FORBIDDEN = {
    "rlsuite/envs": ("rlsuite.agents", "rlsuite.config", "rlsuite.training", "rlsuite.runs", "rlsuite.cli"),
    "rlsuite/config.py": ("rlsuite.agents", "rlsuite.training", "rlsuite.runs", "rlsuite.cli"),
    "rlsuite/agents": ("rlsuite.training", "rlsuite.cli"),
    "rlsuite/training.py": ("rlsuite.cli",),
}


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    root = PACKAGE.parent / layer
    files = [root] if root.suffix == ".py" else sorted(root.rglob("*.py"))
    assert files
    bad = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in files
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert not bad, bad
