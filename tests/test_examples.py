"""Every example of `rlsuite --help`, of each command's `--help`, of the README and of the docs site's
hand-written pages runs here, so that none can rot: the examples are read from the help texts, the
README and ``docs/**/*.md``, not copied into this file. (The site's generated pages are made from the
code; "the README" below means the README and those pages together.)

How each kind of example is checked (the budgets are shrunk, never the command as written):

- ``rlsuite …`` command lines — the ``examples:`` lines of every help text, the lines of the README's
  ``bash`` blocks and its inline ``rlsuite …`` spans that are whole commands — are parsed by the real
  parser as written and run in a fresh directory that links ``experiments/`` in (the relative paths
  work as in a clone). ``RUN_DIR`` is a copy of a small tabular run that a fixture trained, given as
  the relative path the CLI prints. Budgets shrink in the parsed arguments: ``train`` gets key=value
  overrides appended (``train.total_steps=…``, ``train.eval_every=…``, one evaluation episode, a
  smaller rollout for SB3 and RLlib), ``pretrain`` and ``probe`` fewer frames and steps, ``eval``
  and ``record`` one episode, ``bench`` its quick timings (``--check``: one row, whose verdict is not
  asserted: no speed assertions in tests).
- Parsed and validated only, not run: ``rlsuite sweep`` (the sweep file with its overrides is loaded
  and every configuration built; running it would start Ray Tune), commands with ``--address`` (they
  need a Ray cluster) and the command a ``ray job submit … --`` line submits.
- Not run at all: ``pip install …`` and ``python -m pytest`` (CI runs those itself), ``ray start``
  (the cluster's own commands) and synopsis spans with placeholders (``CONFIG``, ``[--episodes 3]``,
  ``…``); a bare ``rlsuite COMMAND`` span of a command that needs arguments names the command.
- ``python`` blocks are executed; ``yaml`` blocks: a config trains briefly, one-line alternatives
  (``encoder: …``) each train briefly in the shipped pixel DQN config, and a sweep file that names
  its shipped file must equal it and load.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from rlsuite.cli import build_parser, main

REPO = Path(__file__).parents[1]
# The README and the site's hand-written pages, where the README's tour moved; docs/design.md (the
# architecture, with no runnable examples) is another document's.
DOC_PAGES = [REPO / "README.md", *sorted(p for p in (REPO / "docs").rglob("*.md") if p.name != "design.md")]
README = "\n\n".join(page.read_text(encoding="utf-8") for page in DOC_PAGES)
PLACEHOLDER_RUN = "RUN_DIR"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

# Budgets appended to every `rlsuite train` example; the fixture's run has fewer steps, so that
# `train --resume RUN_DIR` has steps left to take.
TRAIN_BUDGET = [
    "train.total_steps=600",
    "train.eval_every=300",
    "train.eval_episodes=1",
    "train.eval_num_envs=1",
]
FIXTURE_BUDGET = ["train.total_steps=400", "train.eval_every=200", "train.eval_episodes=1"]
ROLLOUT_BUDGET = {  # one rollout (or train batch) of a few hundred steps
    "sb3.ppo": ["agent.n_steps=4", "agent.batch_size=32", "agent.n_epochs=1"],
    "sb3.a2c": ["agent.n_steps=4"],
    "rllib.ppo": ["agent.train_batch_size=64", "agent.minibatch_size=32", "agent.num_epochs=1"],
    "rllib.appo": ["agent.train_batch_size=64"],
}
FRAMES = 64  # per pretraining or probe source


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------
def _subcommand_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def help_examples() -> list[tuple[str, str]]:
    """(where, command) for every ``rlsuite …`` line under ``examples:`` in a help text."""
    parser = build_parser()
    helps = {"rlsuite --help": parser.format_help()}
    for name, sub in _subcommand_parsers(parser).items():
        helps[f"rlsuite {name} --help"] = sub.format_help()
    found = []
    for where, text in helps.items():
        _, _, epilog = text.partition("\nexamples:\n")
        for line in epilog.splitlines():
            if line.startswith("  rlsuite "):
                found.append((where, shlex.join(shlex.split(line, comments=True))))
    return found


def _shell_commands(block: str) -> list[list[str]]:
    """Each simple command of a bash block as tokens (comments dropped, `&&` chains split)."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        tokens = shlex.split(line, comments=True)
        while tokens:
            cut = tokens.index("&&") if "&&" in tokens else len(tokens)
            commands.append(tokens[:cut])
            tokens = tokens[cut + 1 :]
    return commands


def readme_blocks(lang: str) -> list[str]:
    return [body for fence_lang, body in FENCE.findall(README) if fence_lang == lang]


NOT_OURS = (["pip", "install"], ["python", "-m", "pytest"], ["ray", "start"])  # CI's, or the cluster's


def readme_commands() -> list[tuple[str, str]]:
    """(where, command) for the README's bash-block commands and inline ``rlsuite …`` commands."""
    found = []
    for block in readme_blocks("bash"):
        for tokens in _shell_commands(block):
            if tokens[0] == "rlsuite":
                found.append(("README bash block", shlex.join(tokens)))
            elif tokens[:3] == ["ray", "job", "submit"] and "--" in tokens:
                submitted = tokens[tokens.index("--") + 1 :]
                found.append(("README bash block (ray job submit)", shlex.join(submitted)))
            else:
                assert any(tokens[: len(p)] == p for p in NOT_OURS), f"README command not covered: {tokens}"
    prose = " ".join(FENCE.sub("", README).split())
    parser = build_parser()
    for span in re.findall(r"`(rlsuite [^`]*)`", prose):
        tokens = shlex.split(span)
        if any(t.isupper() and t != PLACEHOLDER_RUN for t in tokens) or "[" in span or "…" in span:
            continue  # a synopsis (CONFIG, [--option], …), not a command
        if len(tokens) == 2 and _needs_arguments(parser, tokens):
            continue  # `rlsuite eval` names the command
        found.append(("README text", shlex.join(tokens)))
    return found


def _needs_arguments(parser: argparse.ArgumentParser, tokens: list[str]) -> bool:
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            parser.parse_args(tokens[1:])
    except SystemExit:
        return True
    return False


def _unique(pairs: list[tuple[str, str]]) -> list[pytest.param]:
    where: dict[str, list[str]] = {}
    for source, command in pairs:
        where.setdefault(command, []).append(source)
    return [pytest.param(command, sorted(set(sources)), id=command) for command, sources in where.items()]


def _on_a_cluster(command: str) -> bool:
    return "--address" in shlex.split(command)


HELP = help_examples()
README_COMMANDS = readme_commands()
RUN = _unique([(w, c) for w, c in [*HELP, *README_COMMANDS] if not _on_a_cluster(c)])
PARSE_ONLY = _unique([(w, c) for w, c in [*HELP, *README_COMMANDS] if _on_a_cluster(c)])


# --------------------------------------------------------------------------------------------
# Running an example with small budgets
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """A small tabular run (GridRacetrack), the RUN_DIR of the examples; each test works on a copy."""
    home = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(home)
        config = REPO / "experiments" / "configs" / "q_learning_grid_racetrack.yaml"
        assert main(["train", str(config), "log.progress=none", *FIXTURE_BUDGET]) == 0
    (run_dir,) = (home / "runs").iterdir()
    return run_dir


@pytest.fixture
def workdir(tmp_path, monkeypatch, trained_run) -> Path:
    """A fresh directory as a clone's root: experiments/ linked in, the fixture's run under runs/."""
    (tmp_path / "experiments").symlink_to(REPO / "experiments")
    shutil.copytree(trained_run, tmp_path / "runs" / trained_run.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tokens(command: str, run_dir: Path) -> list[str]:
    tokens = shlex.split(command)
    assert tokens[0] == "rlsuite", command
    relative = f"runs/{run_dir.name}"
    tokens = [t.replace(PLACEHOLDER_RUN, relative) for t in tokens[1:]]
    expanded = []
    for token in tokens:  # as a shell expands `runs/*`
        expanded += (sorted(glob.glob(token)) or [token]) if "*" in token else [token]
    return expanded


def _shrink(args: argparse.Namespace) -> str | None:
    """Smaller budgets for the parsed example, in place (the example's own choices stay); returns the
    algorithm a ``train`` example trains."""
    algo = None
    if args.command == "train":
        from rlsuite.config import load_config
        from rlsuite.training import load_run_config

        if args.resume:
            algo = load_run_config(args.resume).agent.algo
        else:
            config = None if args.config is None or "=" in args.config else args.config
            overrides = args.overrides + ([args.config] if args.config and config is None else [])
            picked = {"algo": getattr(args, "algo", None), "env": getattr(args, "env", None)}
            algo = load_config(config, overrides, **picked).agent.algo
        args.overrides += [*TRAIN_BUDGET, *ROLLOUT_BUDGET.get(algo, [])]
    elif args.command in ("pretrain", "probe"):
        args.overrides += _encoder_budget(Path(args.config), pretrain=args.command == "pretrain")
    elif args.command in ("eval", "record"):
        args.episodes = 1
        if hasattr(args, "max_steps"):
            args.max_steps = 20
    elif args.command == "bench":
        args.quick, args.seconds, args.peers = True, 0.01, False
        args.ids = args.ids or ["rlsuite/GridRacetrack-v0"]
        args.only = ["grid_racetrack"] if args.check else args.only
    return algo


def _encoder_budget(path: Path, pretrain: bool) -> list[str]:
    """Overrides of a pretraining config: each data source (and probe source) down to FRAMES frames."""
    data = yaml.safe_load(path.read_text())

    def small(sources):
        return json.dumps(
            [{**s, "frames": FRAMES, "num_envs": min(s.get("num_envs", 8), 4)} for s in sources]
        )

    overrides = [f"probe={{fit: {small(data['probe']['fit'])}, test: {small(data['probe']['test'])}}}"]
    if pretrain:
        overrides += [f"data={small(data['data'])}", "train.steps=2", "train.batch_size=16"]
    return overrides


@pytest.mark.parametrize("command, sources", RUN)
def test_example_runs(command, sources, workdir, trained_run, capsys, request):
    args = build_parser().parse_args(_tokens(command, trained_run))
    if args.command == "sweep":
        return _validate_sweep(args)
    if (_shrink(args) or "").startswith("rllib."):
        request.getfixturevalue("ray_session")  # one Ray for the session, not an init per example
    code = args.func(args)
    out = capsys.readouterr().out
    if args.command == "bench" and args.check:
        assert code in (0, 1), f"{command} (from {sources}): exit {code}"  # the floors are not the test's
    else:
        assert code == 0, f"{command} (from {sources}): exit {code}\n{out}"


def _validate_sweep(args: argparse.Namespace) -> None:
    from rlsuite.jobs.sweep import load_sweep, trial_resources

    spec, base = load_sweep(args.sweep, args.overrides)
    assert trial_resources(spec, base)


@pytest.mark.parametrize("command, sources", PARSE_ONLY)
def test_cluster_example_parses_and_validates(command, sources, workdir, trained_run):
    args = build_parser().parse_args(_tokens(command, trained_run))
    if args.command == "sweep" and Path(args.sweep).exists():
        _validate_sweep(args)
    elif args.command == "train":
        from rlsuite.config import load_config

        assert load_config(args.config, args.overrides).agent.algo.startswith("rllib.")


def test_every_help_text_and_the_readme_have_examples():
    """The extraction finds what it should: a broken pattern would make every test above vacuous."""
    where = {source for source, _ in HELP}
    for command in ("", " train", " eval", " sweep", " pretrain", " probe", " bench"):
        assert f"rlsuite{command} --help" in where
    assert any(command == "rlsuite train" for _, command in README_COMMANDS)
    assert any(where.endswith("(ray job submit)") for where, _ in README_COMMANDS)
    assert len(readme_blocks("python")) >= 1 and len(readme_blocks("yaml")) >= 3


# --------------------------------------------------------------------------------------------
# The README's python and yaml blocks
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("block", readme_blocks("python"), ids=lambda b: b.splitlines()[-1][:60])
def test_readme_python_block_runs(block, workdir):
    exec(compile(block, "README.md", "exec"), {})


def _yaml_documents(block: str) -> list[dict]:
    """A block whose lines each set the same top-level key holds alternatives, one a line."""
    lines = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    keys = [line.split(":", 1)[0] for line in lines]
    if len(lines) > 1 and len(set(keys)) == 1:
        return [yaml.safe_load(line) for line in lines]
    return [yaml.safe_load(block)]


YAML = [(i, doc) for i, block in enumerate(readme_blocks("yaml")) for doc in _yaml_documents(block)]


@pytest.mark.parametrize("block, document", YAML, ids=[f"yaml{i}-{next(iter(d))}" for i, d in YAML])
def test_readme_yaml_block_is_valid(block, document, workdir, capsys):
    first_line = readme_blocks("yaml")[block].splitlines()[0]
    if "space" in document:  # a sweep file, quoted from the one it names
        from rlsuite.jobs.sweep import load_sweep

        shipped = first_line.lstrip("# ").strip()
        assert document == yaml.safe_load(Path(shipped).read_text()), f"README differs from {shipped}"
        load_sweep(shipped)
        return
    if set(document) == {"encoder"}:  # an encoder section: it trains in the shipped pixel DQN config
        pixel_config = "experiments/encoders/configs/dqn_frozen.yaml"
        command = ["train", pixel_config, f"encoder={json.dumps(document['encoder'])}"]
    else:  # a whole config: it trains
        Path("readme_config.yaml").write_text(yaml.safe_dump(document))
        command = ["train", "readme_config.yaml"]
    args = build_parser().parse_args(command)
    assert not _shrink(args).startswith("rllib.")  # else it needs the ray_session fixture
    assert args.func(args) == 0
