"""The docs site: it builds with warnings as errors, every link and anchor of the built HTML resolves,
every env, agent, CLI command, shipped encoder and study has its page, and the pages' tables come
from the code. (The browser check, ``scripts/check_docs_browser.py``, needs Chromium and runs by hand.)
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from rlsuite.config import hp

REPO = Path(__file__).parents[1]
pytest.importorskip("mkdocs", reason='the docs toolchain: pip install -e ".[docs]"')


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


links = _load(REPO / "scripts" / "check_docs_links.py", "check_docs_links")
gallery = _load(REPO / "scripts" / "make_gallery.py", "make_gallery")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built as CI and the README build it: ``mkdocs build --strict``."""
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


def test_the_strict_build_has_no_broken_link_anchor_or_outside_resource(site):
    problems, _ = links.check_site(site)
    assert problems == []


def test_every_env_agent_command_encoder_and_study_has_its_page(site):
    from rlsuite.agents import ALGOS
    from rlsuite.cli import build_parser
    from rlsuite.encoders.checkpoint import shipped_encoders
    from rlsuite.envs.registration import ENV_SPECS

    def page(path: str) -> str:
        file = site / path / "index.html"
        assert file.exists(), f"no page {path}/"
        return file.read_text(encoding="utf-8")

    for spec in ENV_SPECS:
        slug = re.sub(r"(?<!^)(?=[A-Z])", "_", spec.id.split("/")[1].split("-v")[0]).lower()
        html = page(f"envs/{slug}")
        assert "## Observation" not in html and "Observation space" in html  # the docstring, rendered
        assert "max_episode_steps" in html and str(spec.max_episode_steps) in html
        assert ".gif" in html  # the gallery's animation of it
    for name in ALGOS:
        section = "baselines" if "." in name else "agents"
        html = page(f"{section}/{name.replace('.', '-').replace('_', '-')}")
        assert "Hyper-parameters" in html
    (sub,) = (a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    for command in sub.choices:
        assert "usage: rlsuite " + command in page(f"cli/{command}")
    for name in shipped_encoders():
        page(f"encoders/{name}")
    for results in sorted((REPO / "experiments").glob("*/RESULTS.md")):
        html = page(f"results/{results.parent.name}")
        for plot in results.parent.rglob("*.png"):
            if plot.name in results.read_text(encoding="utf-8"):
                assert (site / "results" / results.parent.name / plot.relative_to(results.parent)).exists()
    assert "<!-- rlsuite:" not in "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))


def test_a_hyper_parameter_table_is_made_from_the_fields():
    """Change a field's default, bound or doc and its row changes: the table is read from the code."""
    hooks = _load(REPO / "docs" / "hooks" / "generate.py", "rlsuite_docs_hooks")

    @dataclasses.dataclass
    class Params:
        learning_rate: float = hp(3e-4, "Adam step size (Kingma & Ba, 2015); SB3: 1e-4", gt=0)
        gamma: float = hp(0.99, "discount factor", ge=0, le=1)

    table = hooks.params_table(Params)
    assert "| `learning_rate` | `float` | `0.0003` | > 0 | Adam step size" in table
    assert "Kingma & Ba, 2015; SB3: 1e-4 |" in table
    assert "| `gamma` | `float` | `0.99` | ≥ 0, ≤ 1 | discount factor |  |" in table


def test_the_link_checker_finds_a_broken_link_a_missing_anchor_and_an_outside_script(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text('<h1 id="top">x</h1><a href="a/">ok</a><a href="a/#here">ok</a>')
    (tmp_path / "a" / "index.html").write_text(
        '<p id="here"></p><a href="../index.html#top">ok</a><a href="../b/">gone</a>'
        '<a href="../#nowhere">no anchor</a><script src="https://cdn.example/x.js"></script>'
        '<a href="https://example.org">elsewhere</a>'
    )
    problems, external = links.check_site(tmp_path)
    assert len(problems) == 3, problems
    assert any("../b/" in p for p in problems) and any("#nowhere" in p for p in problems)
    assert any("outside the site" in p for p in problems)
    assert external == ["a/index.html: https://example.org"]


def test_the_gallery_holds_every_clip_each_small_and_animated():
    for clip in gallery.CLIPS:
        path = REPO / "docs" / "assets" / "gallery" / f"{clip.name}.gif"
        assert path.exists(), f"{path.name} missing: python scripts/make_gallery.py {clip.name}"
        assert path.stat().st_size <= gallery.MAX_BYTES
        with Image.open(path) as image:
            assert image.n_frames > 1 and image.size[0] == clip.width


def test_the_readme_shows_before_it_tells():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    first_bash = readme.split("```bash\n", 1)[1].splitlines()[:2]
    assert first_bash == [
        'pip install torch==2.13.0 -e ".[agents]" && rlsuite train',
        'pip install torch==2.13.0 -e ".[dev]" && python -m pytest',
    ]
    images = re.findall(r'src="(docs/assets/gallery/[\w.]+)"', readme.split("```bash")[0])
    assert len(images) >= 5 and all((REPO / image).exists() for image in images)
