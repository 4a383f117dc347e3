"""MkDocs hooks that write the site's reference pages from the code, at build time.

Nothing on these pages is typed by hand: change a docstring, a ``hp(...)`` field, a help text or a
study's ``RESULTS.md``, rebuild, and the page changes.

- ``envs/``: one page per id of :data:`rlsuite.envs.registration.ENV_SPECS` — its registry entry, the
  spaces of every variant (built with ``gymnasium.make``), the env class's docstring (the
  Gymnasium-style specification: observation, action, reward, episode end, arguments) and the
  gallery's animations of it (``scripts/make_gallery.py``).
- ``agents/`` and ``baselines/``: one page per ``agent.algo`` of :data:`rlsuite.agents.ALGOS`, with
  the class docstring and the hyper-parameter table read from its ``Params`` dataclass (name, type,
  default, bound, meaning, the peer's or paper's name, all from ``rlsuite.config.hp`` metadata).
- ``encoders/``: one page per shipped encoder (its ``encoder.json``), plus the architectures and
  objectives of the encoder registries.
- ``reference/config.md``: the ``env``, ``train``, ``encoder`` and ``log`` sections' fields.
- ``cli/``: one page per ``rlsuite`` command, its ``--help``.
- ``results/``: each study's ``experiments/*/RESULTS.md`` with its plots and notes.

Hand-written pages pull generated tables in with markers such as ``<!-- rlsuite:envs-table -->``.
An import that fails (an extra not installed) fails the build: every page must exist.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import io
import logging
import re
import sys
import typing
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files, InclusionLevel

log = logging.getLogger("mkdocs.plugins.rlsuite")
REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "experiments"
GALLERY = "assets/gallery"  # under docs/

# Every section the hooks fill: the nav's list whose first entry is "<section>/index.md" gets the
# generated pages appended (see on_config).
_generated: dict[str, str] = {}  # src_uri → markdown
_nav: dict[str, list[dict[str, str]]] = {}  # section → [{title: src_uri}]
_copied: dict[str, Path] = {}  # src_uri → file to copy (plots)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace(".", "-")


def _env_slug(env_id: str) -> str:
    return _slug(env_id.split("/")[-1].rsplit("-v", 1)[0])


def _import(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


_ROLE = re.compile(r":(?:mod|class|func|meth|data|attr|obj):`~?([^`]+)`")


def _docstring_markdown(obj: Any, demote: int = 1) -> str:
    """A docstring as markdown: Sphinx roles as code, its ``#`` headings ``demote`` levels down."""
    doc = inspect.getdoc(obj) or ""
    doc = _ROLE.sub(r"`\1`", doc)
    doc = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + demote) + " ", doc, flags=re.M)
    return doc.replace("``", "`")


def _cell(text: Any) -> str:
    """A table cell: a ``|`` inside a code span closes the span around it (a table cell cannot escape a
    pipe inside code: ``'a' \\| 'b'`` would show its backslash), the rest is escaped."""
    text = re.sub(
        r"`([^`]*\|[^`]*)`", lambda m: " | ".join(f"`{p.strip()}`" for p in m.group(1).split("|")), str(text)
    )
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _add(src_uri: str, markdown: str, section: str | None = None, title: str | None = None) -> None:
    """A generated page; with ``section``, listed in that nav section (else reached by links only,
    unless it is the section's index)."""
    _generated[src_uri] = markdown
    if section is not None:
        _nav.setdefault(section, []).append({title or src_uri: src_uri})


def _gallery_clips() -> list[Any]:
    """The clips of scripts/make_gallery.py (the one list of what the gallery holds)."""
    spec = importlib.util.spec_from_file_location("make_gallery", REPO / "scripts" / "make_gallery.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_gallery"] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return list(module.CLIPS)


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------
def _variants(env_id: str) -> list[list[str]]:
    """The spaces of each obs_type × action_type the env accepts, built by gymnasium.make."""
    import gymnasium as gym

    rows = []
    for obs_type in ("state", "pixels"):
        for action_type in ("continuous", "discrete"):
            try:
                env = gym.make(env_id, obs_type=obs_type, action_type=action_type)
            except ValueError:
                continue  # the env does not have this variant (the error names what it has)
            rows.append(
                [f"`{obs_type}`", f"`{action_type}`", f"`{env.observation_space}`", f"`{env.action_space}`"]
            )
            env.close()
    if not rows:  # an env without these kwargs (the grid racetrack): its one form
        env = gym.make(env_id)
        rows.append(["—", "—", f"`{env.observation_space}`", f"`{env.action_space}`"])
        env.close()
    return rows


def _anchor_link(url: str) -> str:
    """A web address as it is; a study's ``experiments/<study>/RESULTS.md`` as its page on this site."""
    study = re.fullmatch(r"experiments/(\w+)/RESULTS\.md", url)
    return f"../results/{study.group(1)}/index.md" if study else url


def _solved_section(env_id: str) -> str:
    """The env's definition of solved (:mod:`rlsuite.envs.solved`) with its anchor; for the grid
    racetrack, the exact optimum of each named track, computed here by value iteration (about a
    second per track and noise: :func:`rlsuite.envs.driving.grid_solver.solve`)."""
    from rlsuite.envs.solved import DEFINITIONS, GRID_FRACTION

    solved = DEFINITIONS.get(env_id)
    if solved is None:
        return "## Solved\n\nNo definition of solved for this env yet (`rlsuite/envs/solved.py`).\n"
    example = {"track": "random"} if solved.check_kwargs({}) is not None else {}
    anchor = solved.anchor
    lines = [
        "## Solved\n",
        f"{solved.text}\n",
        _table(
            ["", ""],
            [
                [
                    "thresholds",
                    f"`{solved.thresholds(example)}`" + (" (default kwargs)" if not example else ""),
                ],
                ["held-out episodes", solved.episodes],
                ["held out", solved.held_out],
                ["variants", solved.variants],
            ],
        ),
        f"\n**Anchor.** {anchor.figure} Source: [{anchor.source}]({_anchor_link(anchor.url)}).\n",
        f"**What the anchor does not give.** {anchor.gap}\n",
        "Judged by `rlsuite.envs.solved.is_solved(env_id, env_kwargs, eval_result)` on the `<metric>_mean` "
        "figures of `rlsuite eval`; a zoo card records its verdict.\n",
    ]
    if env_id == "rlsuite/GridRacetrack-v0":
        from rlsuite.envs.driving.grid_racetrack import TRACKS
        from rlsuite.envs.driving.grid_solver import solve

        rows = []
        for track in TRACKS:
            for noise in (0.0, 0.1):
                optimum = solve(track=track, noise=noise)
                bar = optimum.optimal_return - GRID_FRACTION * abs(optimum.optimal_return)
                rows.append(
                    [
                        f"`{track}`",
                        noise,
                        f"{optimum.optimal_return:.4f}",
                        f"{optimum.expected_steps:.4f}",
                        f"{bar:.4f}",
                        optimum.sweeps,
                    ]
                )
        lines += [
            "\n### The value-iteration optimum\n",
            "Computed when this page was built, by `rlsuite.envs.driving.grid_solver.solve(track=..., "
            "noise=...)`: value iteration over the env's own transition table and its random events "
            "(failed increments, crash resets to a random start cell), from the uniform start distribution, "
            "under the 1000-step limit (which does not bind: the optimum with and without it agree).\n",
            _table(
                [
                    "track",
                    "noise",
                    "optimal expected return",
                    "expected steps to finish",
                    "solved at >=",
                    "sweeps",
                ],
                rows,
            ),
        ]
    return "\n".join(lines) + "\n"


def _number(value: Any, spec: str) -> str:
    """A card's number formatted, or ``?`` where the card has none."""
    return format(value, spec) if isinstance(value, int | float) else "?"


def _zoo_section(env_id: str) -> str:
    """The zoo's agents for the env (``rlsuite.zoo``: card and animation), or a line saying that none
    is shipped yet (also where the zoo package itself is missing)."""
    heading = "## Trained agent\n"
    try:
        import rlsuite.zoo as zoo

        names = zoo.entries_for_env(env_id)
    except (ImportError, AttributeError):
        names = []
    if not names:
        return heading + "\nNo zoo agent is shipped for this env yet (`rlsuite.zoo`).\n"
    parts = [
        heading,
        "Shipped in the package, loadable offline: `rlsuite.load_pretrained(NAME)`; "
        "watch one with `rlsuite enjoy NAME`.\n",
    ]
    for name in names:
        card = zoo.card(name)
        evaluation, train = card.get("eval", {}), card.get("train", {})
        solved = card.get("solved", {})
        figures = [
            [
                key.removesuffix("_mean"),
                f"{value:.4g} ± {_number(evaluation.get(key.removesuffix('_mean') + '_std'), '.3g')}",
            ]
            for key, value in evaluation.items()
            if key.endswith("_mean") and isinstance(value, int | float)
        ]
        parts.append(f"\n### `{name}`\n")
        gif = zoo.animation(name)
        if gif is not None:
            target = f"assets/zoo/{name}.gif"
            if not gif.resolve().is_relative_to((REPO / "docs").resolve()):
                _copied[target] = gif
            parts.append(
                f'<figure markdown="span">![{name}](../{target})<figcaption>{name}</figcaption></figure>\n'
            )
        rows = [
            ["env kwargs", f"`{card.get('env_kwargs', {})}`"],
            ["algorithm", f"`{card.get('algo')}`"],
            [
                "training",
                f"{train.get('total_steps', '?')} steps, seeds {train.get('seeds', '?')}, "
                f"{_number(train.get('wall_s'), '.0f')} s wall-clock on {train.get('machine', '?')}",
            ],
            [
                "evaluation",
                f"{evaluation.get('episodes', '?')} held-out episodes, seed {evaluation.get('seed', '?')}",
            ],
            *figures,
            ["solved", f"{solved.get('value')}: {solved.get('definition') or ''}"],
            ["commit", f"`{card.get('commit')}` ({card.get('date')})"],
        ]
        parts.append(_table(["card", ""], rows))
    return "\n".join(parts) + "\n"


def generate_zoo() -> None:
    """``zoo.md``: every zoo entry in one table (its card's headline figures), each linking to its env's
    page, where the whole card and the animation are."""
    import rlsuite.zoo as zoo

    rows = []
    for name in zoo.names():
        card = zoo.card(name)
        evaluation = card.get("eval", {})
        metrics = ", ".join(
            f"{key.removesuffix('_mean')} {value:.3g}"
            for key, value in evaluation.items()
            if key.endswith("_mean") and key != "return_mean" and isinstance(value, int | float)
        )
        env_link = f"[`{card['env_id']}`](envs/{_env_slug(card['env_id'])}.md#trained-agent)"
        rows.append(
            [
                f"`{name}`",
                env_link,
                f"`{card.get('algo')}`",
                f"{_number(evaluation.get('return_mean'), '.1f')} ± {_number(evaluation.get('return_std'), '.1f')}",
                metrics,
                {True: "yes", False: "no"}.get((card.get("solved") or {}).get("value"), "?"),
            ]
        )
    table = (
        _table(["name", "env", "algorithm", "return (100 held-out episodes)", "task metrics", "solved"], rows)
        if rows
        else "No entries are shipped yet.\n"
    )
    page = [
        "# Trained agents (the zoo)",
        "",
        "Agents trained by the shipped zoo configs, inside the package: small safetensors files (the greedy "
        "policy's weights only) with a card each, loadable offline by name.",
        "",
        "```python",
        "import rlsuite",
        "print(rlsuite.zoo.names())",
        'policy = rlsuite.load_pretrained("racetrack-pqn")  # an rlsuite.api.Policy, as rlsuite.load(RUN_DIR)',
        "```",
        "",
        "```bash",
        "rlsuite zoo list               # the entries and their cards' figures",
        "rlsuite enjoy racetrack-pqn    # watch one: a window, or a GIF where there is no display",
        "rlsuite zoo cards              # re-evaluate every entry and rewrite its card and animation",
        "```",
        "",
        table,
        "",
        "How each config was tuned and how it does on seeds no tuning used, against each env's definition of "
        "solved: [zoo study](results/zoo/index.md).",
    ]
    _add("zoo.md", "\n".join(page))


def generate_envs() -> None:
    import rlsuite  # noqa: F401  (registers the envs)
    from rlsuite.envs.registration import ENV_SPECS

    clips = _gallery_clips()
    index_rows = []
    for spec in ENV_SPECS:
        slug = _env_slug(spec.id)
        single, vector = _import(spec.entry_point), _import(spec.vector_entry_point)
        summary = (inspect.getdoc(single) or "").split("\n\n")[0].replace("\n", " ")
        own = [c for c in clips if c.env_id == spec.id]
        gifs = "\n".join(
            f'<figure markdown="span">![{c.caption}](../{GALLERY}/{c.name}.gif)'
            f"<figcaption>{c.caption}</figcaption></figure>"
            for c in own
        )
        page = [
            f"# `{spec.id}`\n",
            f"{summary}\n",
            f'<div class="rl-gallery" markdown>\n{gifs}\n</div>\n' if own else "",
            "## Registry\n",
            _table(
                ["id", "entry point", "native vector env", "max_episode_steps"],
                [
                    [
                        f"`{spec.id}`",
                        f"`{spec.entry_point}`",
                        f"`{spec.vector_entry_point}`",
                        spec.max_episode_steps,
                    ]
                ],
            ),
            "\n```python\nimport gymnasium as gym\nimport rlsuite\n\n"
            f'env = gym.make("{spec.id}")\n'
            f'envs = gym.make_vec("{spec.id}", num_envs=64)  # the native batched vector env\n```\n',
            "## Variants\n",
            "The observation and action spaces of each variant, as `gymnasium.make` builds them "
            "(default kwargs otherwise):\n",
            _table(["obs_type", "action_type", "observation space", "action space"], _variants(spec.id)),
            "\n## Specification\n",
            "The env class's docstring, `" + spec.entry_point.replace(":", ".") + "`:\n",
            _docstring_markdown(single, demote=1),
            "\n## Vector env\n",
            _docstring_markdown(vector, demote=1),
            "\n",
            _solved_section(spec.id),
            _zoo_section(spec.id),
        ]
        _add(f"envs/{slug}.md", "\n".join(page), "envs", spec.id.split("/")[-1])
        first = f"![{own[0].caption}](../{GALLERY}/{own[0].name}.gif){{ width=160 }}" if own else ""
        index_rows.append([f"[`{spec.id}`]({slug}.md)", first, summary, spec.max_episode_steps])
    _markers["envs-table"] = _table(["id", "", "what", "max_episode_steps"], index_rows)
    _markers["envs-table-home"] = _table(
        ["id", "", "what"], [[r[0].replace("(", "(envs/"), r[1].replace("../", ""), r[2]] for r in index_rows]
    )
    _add(
        "envs/index.md",
        "# Environments\n\n`import rlsuite` registers these ids with Gymnasium (`gymnasium.make`, "
        '`gymnasium.make_vec`); the `"rlsuite:<id>"` form imports rlsuite itself. Generated from '
        "`rlsuite.envs.registration.ENV_SPECS`; each page holds the env's specification, its variants and "
        "animations rendered by the env itself (`scripts/make_gallery.py`). How the native vector envs "
        "behave: [Vector envs and variants](vector.md).\n\n" + _markers["envs-table"],
    )
    gallery = [c for c in clips if not c.observations]
    _markers["gallery"] = (
        '<div class="rl-gallery" markdown>\n'
        + "\n".join(
            f'<figure markdown="span">![{c.caption}]({GALLERY}/{c.name}.gif)'
            f"<figcaption>{c.caption}</figcaption></figure>"
            for c in gallery
        )
        + "\n</div>\n"
    )


# --------------------------------------------------------------------------------------------
# Agents and baselines: hyper-parameter tables from the Params dataclasses
# --------------------------------------------------------------------------------------------
_CITATION = re.compile(r"[A-Z][A-Za-z'\-]+(?: et al\.| & [A-Z][A-Za-z'\-]+)?,? (?:19|20)\d\d[a-z]?")
_PEER = re.compile(r"\b(?:SB3|RLlib|RL Zoo|Rainbow|CleanRL)(?:'s)?(?::| uses| has)[^;()]*")


def _type_name(tp: Any) -> str:
    if isinstance(tp, str):
        return tp
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def _default(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return repr(f.default_factory())
    return "required"


def _bound(meta: typing.Mapping[str, Any]) -> str:
    low = (
        f"≥ {meta['ge']}"
        if meta.get("ge") is not None
        else f"> {meta['gt']}"
        if meta.get("gt") is not None
        else ""
    )
    high = (
        f"≤ {meta['le']}"
        if meta.get("le") is not None
        else f"< {meta['lt']}"
        if meta.get("lt") is not None
        else ""
    )
    return ", ".join(b for b in (low, high) if b)


def params_table(params: type) -> str:
    """Name, type, default, bound, meaning and the peer's / paper's name of every field of ``params``."""
    hints = typing.get_type_hints(params)
    rows = []
    for f in dataclasses.fields(params):
        meta = f.metadata
        doc = meta.get("doc", "")
        refs = _CITATION.findall(doc) + [m.strip() for m in _PEER.findall(doc)]
        rows.append(
            [f"`{f.name}`", f"`{_type_name(hints.get(f.name, f.type))}`", f"`{_default(f)}`", _bound(meta), doc,
             "; ".join(dict.fromkeys(refs))]
        )  # fmt: skip
    if not rows:
        return "No hyper-parameters.\n"
    return _table(["name", "type", "default", "bound", "meaning", "peer / paper"], rows)


_FAMILY = {
    "sb3": ("baselines", "Stable-Baselines3", 'pip install -e ".[sb3]"'),
    "rllib": ("baselines", "RLlib", 'pip install -e ".[ray]"'),
}


def generate_agents() -> None:
    from rlsuite.agents import ALGOS
    from rlsuite.config import algorithm_class

    ours, baselines = [], []
    for name, target in ALGOS.items():
        cls = algorithm_class(name)
        family = name.split(".")[0] if "." in name else ""
        section, library, install = _FAMILY.get(family, ("agents", "rlsuite", 'pip install -e ".[agents]"'))
        slug = name.replace(".", "-").replace("_", "-")
        summary = (inspect.getdoc(cls) or "").split("\n\n")[0].replace("\n", " ")
        params = cls.Params
        page = [
            f"# `{name}`\n",
            f"{summary}\n",
            f"`agent.algo: {name}` builds `{target.replace(':', '.')}` ({library}; `{install}`). "
            f"Its hyper-parameters are the `agent:` section's keys; each is checked against its type and "
            f"bound before anything runs.\n",
            f"```yaml\nagent: {{algo: {name}}}  # + any key of the table below\n```\n",
            f"## Hyper-parameters (`{params.__module__}.{params.__qualname__}`)\n",
            params_table(params),
            "\n## The class\n",
            _docstring_markdown(cls, demote=2),
            "\n",
        ]
        _add(f"{section}/{slug}.md", "\n".join(page), section, name)
        row = [f"[`{name}`]({slug}.md)", library, summary, len(dataclasses.fields(params))]
        (baselines if section == "baselines" else ours).append(row)
    header = ["agent.algo", "from", "what", "hyper-parameters"]
    _markers["agents-table"] = _table(header, ours)
    _markers["baselines-table"] = _table(header, baselines)


# --------------------------------------------------------------------------------------------
# Config sections, CLI commands
# --------------------------------------------------------------------------------------------
def generate_config() -> None:
    from rlsuite import config

    page = [
        "# Config reference\n",
        "A config is YAML with the sections below (plus `agent:`, whose keys are the chosen algorithm's: "
        "see [Agents](../agents/index.md) and [Baselines](../baselines/index.md)). Unknown keys, wrong "
        "types and out-of-bound values are errors that name the key before anything runs; "
        "`key.sub=value` on the command line overrides any of them. Generated from `rlsuite.config`.\n",
    ]
    for section, cls in (
        ("env", config.EnvConfig),
        ("train", config.TrainConfig),
        ("encoder", config.EncoderConfig),
        ("log", config.LogConfig),
    ):
        page += [f"## `{section}:`\n", params_table(cls), ""]
    _add("reference/config.md", "\n".join(page))


def generate_cli() -> None:
    import argparse

    from rlsuite.cli import build_parser

    parser = build_parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    rows = []
    for name, command in sub.choices.items():
        text = command.format_help()
        _add(
            f"cli/{name}.md",
            f"# `rlsuite {name}`\n\n{helps.get(name, '')}\n\n```text\n{text}```\n",
            "cli",
            f"rlsuite {name}",
        )
        rows.append([f"[`rlsuite {name}`]({name}.md)", helps.get(name, "")])
    top = parser.format_help()
    _add(
        "cli/index.md",
        "# Command line\n\n`rlsuite` is a thin shell over the Python API; every command's `--help` below "
        "is the program's own (generated at build time).\n\n"
        + _table(["command", "what"], rows)
        + f"\n```text\n{top}```\n",
    )


# --------------------------------------------------------------------------------------------
# Encoders
# --------------------------------------------------------------------------------------------
def generate_encoders() -> None:
    import json

    from rlsuite.encoders import networks, objectives
    from rlsuite.encoders.checkpoint import encoder_metadata, shipped_encoders

    rows = []
    for name in shipped_encoders():
        meta = encoder_metadata(name)
        objective = meta.get("objective", {}).get("name", "?")
        data = meta.get("data", [])
        sources = ", ".join(sorted({d.get("id", "?") for d in data}))
        frames = sum(int(d.get("frames", 0)) for d in data)
        page = [
            f"# Encoder `{name}`\n",
            f"A shipped pretrained encoder: `{meta.get('type')}` network, objective `{objective}`, "
            f"{frames:,} frames of {sources}. Load it by name, offline:\n",
            f"```yaml\nencoder: {{checkpoint: {name}, freeze: true}}\n```\n",
            "## Metadata (`encoder.json`, as shipped)\n",
            _table(
                ["key", "value"],
                [[f"`{k}`", f"`{json.dumps(v)}`"] for k, v in meta.items() if k not in ("data", "objective")],
            ),
            "\n## Objective\n",
            _table(["key", "value"], [[f"`{k}`", f"`{v}`"] for k, v in meta.get("objective", {}).items()]),
            "\n## Data\n",
            _table(
                ["env", "kwargs", "frames"],
                [[f"`{d.get('id')}`", f"`{json.dumps(d.get('kwargs', {}))}`", d.get("frames")] for d in data],
            ),
        ]
        _add(f"encoders/{name}.md", "\n".join(page), "encoders", f"Encoder {name}")
        rows.append(
            [f"[`{name}`]({name}.md)", meta.get("type"), objective, sources, meta.get("features_dim")]
        )
    _markers["encoders-table"] = _table(["name", "network", "objective", "pretrained on", "features"], rows)

    page = [
        "# Networks and objectives\n",
        "Generated from the encoder registries (`rlsuite.encoders.networks.ENCODERS`, "
        "`rlsuite.encoders.objectives.OBJECTIVES`).\n",
        "## Networks\n",
    ]
    for type_name, cls in networks.ENCODERS.items():
        page += [f"### `{type_name}`\n", _docstring_markdown(cls, demote=3), ""]
    page += ["## Self-supervised objectives\n"]
    registered = dict(objectives.OBJECTIVES)
    if "state" not in registered and hasattr(objectives, "StateRegression"):
        registered["state"] = objectives.StateRegression  # the supervised transfer objective
    for name, cls in registered.items():
        page += [f"### `{name}`\n", _docstring_markdown(cls, demote=3), ""]
    _add("encoders/networks.md", "\n".join(page), "encoders", "Networks and objectives")


# --------------------------------------------------------------------------------------------
# Perturbations: the robustness suite's table (docs/deploy.md)
# --------------------------------------------------------------------------------------------
def generate_perturbations() -> None:
    from rlsuite.perturb import PERTURBATIONS

    rows = []
    for name, cls in PERTURBATIONS.items():
        doc = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        levels = ", ".join(f"{level}: {value}" for level, value in cls.levels.items() if level > 0)
        rows.append([f"`{name}`", cls.kind, doc, f"{levels} ({cls.unit})"])
    _markers["perturbations-table"] = _table(["name", "kind", "what it models", "levels 1, 2, 3"], rows)


# --------------------------------------------------------------------------------------------
# Results: the studies' RESULTS.md, their plots and notes
# --------------------------------------------------------------------------------------------
def _code_path(link: re.Match) -> str:
    text, path = link.group(1), link.group(2)
    return text if path in text else f"{text} (`{path}`)"


def generate_results() -> None:
    studies = sorted(p.parent for p in EXPERIMENTS.glob("*/RESULTS.md"))
    for study in studies:
        for path in sorted(study.rglob("*")):
            relative = path.relative_to(study).as_posix()
            target = f"results/{study.name}/{relative}"
            if path.name == "RESULTS.md":
                text = path.read_text(encoding="utf-8")
                _add(f"results/{study.name}/index.md", text, "results", study.name)
            elif path.suffix == ".md":
                _add(target, path.read_text(encoding="utf-8"))
            elif path.suffix in (".png", ".gif", ".svg"):
                _copied[target] = path
    index = (EXPERIMENTS / "README.md").read_text(encoding="utf-8")
    # A study folder or its RESULTS.md is that study's page here.
    index = re.sub(r"\]\((\w+)/(?:RESULTS\.md)?\)", r"](\1/index.md)", index)
    index = re.sub(r"\]\(configs/?\)", "](../reference/config.md)", index)
    # Links out of experiments/ (to code) become the path as code: the site holds no source files.
    index = re.sub(r"\[([^\]]*)\]\(\.\./([^)]+)\)", _code_path, index)
    _add("results/index.md", index)


# --------------------------------------------------------------------------------------------
# MkDocs events
# --------------------------------------------------------------------------------------------
_markers: dict[str, str] = {}
_MARKER = re.compile(r"<!-- rlsuite:([\w-]+) -->")


def on_config(config: Any) -> Any:
    """Generate every page once per build, then put each section's pages into the nav."""
    _generated.clear(), _nav.clear(), _copied.clear(), _markers.clear()
    with redirect_stdout(io.StringIO()):  # imports may print banners
        generate_envs()
        generate_zoo()
        generate_agents()
        generate_config()
        generate_cli()
        generate_encoders()
        generate_perturbations()
        generate_results()

    def expand(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, dict):
                for value in item.values():
                    if isinstance(value, list):
                        if value and isinstance(value[0], str) and value[0].endswith("/index.md"):
                            value.extend(_nav.get(value[0].split("/")[0], []))
                        expand(value)

    expand(config["nav"] or [])
    return config


def on_files(files: Files, config: Any) -> Files:
    in_nav = {uri for pages in _nav.values() for page in pages for uri in page.values()}
    for src_uri, markdown in _generated.items():
        if files.get_file_from_path(src_uri) is not None:
            raise ValueError(f"docs/{src_uri} exists by hand; the hooks generate it (docs/hooks/generate.py)")
        linked_only = src_uri not in in_nav and not src_uri.endswith("index.md") and src_uri.count("/") > 1
        inclusion = InclusionLevel.NOT_IN_NAV if linked_only else InclusionLevel.UNDEFINED
        files.append(File.generated(config, src_uri, content=markdown, inclusion=inclusion))
    for src_uri, path in _copied.items():
        files.append(File.generated(config, src_uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in _markers:
            raise ValueError(
                f"{page.file.src_uri}: unknown marker {name!r}; known: {', '.join(sorted(_markers))}"
            )
        return _markers[name]

    return _MARKER.sub(replace, markdown)


_HTML_ROLE = re.compile(r":(?:mod|class|func|meth|data|attr|obj):(<code>[^<]*</code>)")


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """The API reference (mkdocstrings) renders docstrings as markdown: drop their Sphinx roles
    (``:func:`x``` shows as the code ``x``) and the ``::`` that announces a literal block."""
    return _HTML_ROLE.sub(r"\1", html).replace("::</p>", ":</p>")
