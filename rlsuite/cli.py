"""The ``rlsuite`` command: a thin shell over :mod:`rlsuite.training` and friends.

rlsuite envs                         registered env ids with their spaces
rlsuite train [CONFIG] [key=value…]  train (no CONFIG: the embedded default, the README's main job)
rlsuite train --algo A --env ID      algorithm A's defaults on env ID plus the preset shipped for them
rlsuite train --resume RUN_DIR       continue a run from its last checkpoint
rlsuite presets                      the tuned presets shipped: algo × env id
rlsuite eval RUN_DIR|NAME            reload the best checkpoint (or a zoo agent) and evaluate it
rlsuite eval RUN_DIR --perturb all   the robustness suite: every perturbation that applies, levels 1-3
rlsuite record RUN_DIR [--format gif]  a video of the agent's greedy episodes
rlsuite export RUN_DIR|NAME [--format onnx]  the greedy policy as one file (ONNX, TorchScript or a table)
rlsuite enjoy NAME|RUN_DIR          watch a zoo agent (or a run's) play: a window, else a GIF
rlsuite zoo list|add|cards           the trained agents shipped in the package: list, pack a run, refresh cards
rlsuite plot RUN_DIR… [--group-by K]  learning curves (mean ± std over seeds) into a PNG
rlsuite pretrain CONFIG [key=value…]  self-supervised encoder pretraining (CURL / ATC), then its probe
rlsuite probe CONFIG --checkpoint C  linear probe: R² of the env's state from frozen features
rlsuite sweep SWEEP.yaml [--resume]  seeds × hyper-parameters as Ray Tune trials (local Ray or --address)
rlsuite bench [envs|agents] [--quick]  env and agent throughput, side by side with installed peers
rlsuite bench --check                the speed check (~1 min): published ratios vs their floors; exit 1 below
rlsuite --version
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

import rlsuite
from rlsuite.config import ConfigError

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]
_COMMANDS: dict[str, Command] = {}


class _HelpFormatter(argparse.HelpFormatter):
    """Descriptions wrapped as usual; an ``examples:`` epilog printed as written, one command a line
    (``tests/test_examples.py`` runs every ``rlsuite …`` line of it)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return textwrap.indent(text, indent)
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """The parser of ``rlsuite`` and, as argparse builds sub-parsers of the parent's class, of every
    subcommand: each one prints its examples epilog as written."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _examples(*lines: str) -> str:
    """An epilog of example command lines (each ``rlsuite …``, with an optional ``# comment``)."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _shipped_encoder_names() -> list[str]:
    """The encoders shipped in the package, read from its files without importing torch (the same
    list as :func:`rlsuite.encoders.shipped_encoders`; a test holds them equal)."""
    return sorted(p.stem for p in (Path(rlsuite.__file__).parent / "encoders" / "pretrained").glob("*.json"))


def _number(value: float) -> str:
    """A metric for a person to read: 3 decimals (283.125, 0.242); 3 significant digits below 0.001."""
    return f"{value:.3f}" if value == 0 or abs(value) >= 1e-3 else f"{value:.3g}"


def _cmd_envs(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from rlsuite.envs.registration import registered_ids

    rows = [("id", "observation space", "action space", "max steps")]
    for env_id in registered_ids():
        spec = gym.spec(env_id)
        try:
            env = gym.make(env_id)
        except Exception as error:  # one broken env must not hide the others
            rows.append((env_id, f"(cannot be built: {type(error).__name__}: {error})", "", ""))
            continue
        rows.append(
            (env_id, _space(env.observation_space), _space(env.action_space), str(spec.max_episode_steps))
        )
        env.close()
    _print_table(rows)
    print("\nVariants are constructor kwargs, e.g. env.kwargs='{obs_type: pixels, action_type: discrete}'.")
    return 0


def _print_table(rows: list[tuple[str, ...]]) -> None:
    """Rows as aligned columns, the first one a header underlined with dashes."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def _space(space) -> str:
    """A one-line description of a space (Box bounds only when they are the same everywhere)."""
    import gymnasium as gym
    import numpy as np

    if isinstance(space, gym.spaces.Box):
        low, high = np.unique(space.low), np.unique(space.high)
        bounds = f"[{low[0]:g}, {high[0]:g}], " if len(low) == 1 and len(high) == 1 else ""
        return f"Box({bounds}{space.shape}, {space.dtype})"
    return str(space)


def _cmd_train(args: argparse.Namespace) -> int:
    from rlsuite.config import load_config
    from rlsuite.training import load_run_config, train

    if args.resume:
        if args.config is not None and "=" in args.config:  # `train --resume RUN key=value`
            args.overrides.insert(0, args.config)
            args.config = None
        if args.config is not None:
            raise ConfigError("--resume takes its config from RUN_DIR/config.yaml; give overrides only")
        if args.algo is not None or args.env is not None:
            raise ConfigError(
                "--resume continues RUN_DIR's algorithm on its env; --algo/--env cannot change them"
            )
        config = load_run_config(args.resume, args.overrides)
    else:
        if args.config is not None and "=" in args.config and not args.config.endswith((".yaml", ".yml")):
            args.overrides.insert(0, args.config)  # `rlsuite train key=value` overrides the default
            args.config = None
        config = load_config(args.config, args.overrides, algo=args.algo, env=args.env)
    if args.address is not None:
        if not config.agent.algo.startswith("rllib."):
            raise ConfigError(
                f"--address: only rllib.* agents run on a Ray cluster; agent.algo is {config.agent.algo!r}"
            )
        config.agent.params.address = args.address
    source = args.config or ("resumed run" if args.resume else "the embedded default config")
    if args.algo is not None or args.env is not None:
        from rlsuite.presets import find_preset, preset_file

        source = (
            f"{config.agent.algo}'s defaults + the preset in {preset_file(config.agent.algo)}"
            if find_preset(config.agent.algo, config.env.id) is not None
            else f"{config.agent.algo}'s defaults; no preset ships for {config.env.id}: see `rlsuite presets`"
        )
    print(
        f"rlsuite {rlsuite.__version__}: training {config.agent.algo} on {config.env.id} ({source})",
        flush=True,
    )
    run_dir = train(config, resume=args.resume)
    if config.train.num_seeds > 1:
        return _print_seeds_summary(run_dir)
    final = _read_last_eval(run_dir)
    print(f"run directory: {run_dir}")
    if final:
        print(f"final evaluation: {final}")
    print(f"TensorBoard:   tensorboard --logdir {run_dir.parent}")
    return 0


def _print_seeds_summary(parent) -> int:
    """A K-seed run: its parent directory and the final evaluations' mean ± std over the seeds."""
    import json

    from rlsuite.training import SEEDS_SUMMARY

    summary = json.loads((parent / SEEDS_SUMMARY).read_text())
    print(f"run directories: {parent}/ ({summary['num_seeds']} seeds: {', '.join(summary['runs'])})")
    means, stds = summary["mean"], summary["std"]
    line = ", ".join(f"{tag} {_number(means[tag])} ± {_number(stds[tag])}" for tag in means)
    print(f"final evaluation over seeds {summary['seeds'][0]}-{summary['seeds'][-1]} (mean ± std): {line}")
    print(f"TensorBoard:   tensorboard --logdir {parent}")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from rlsuite.presets import presets

    rows = [("algo", "env id", "num_envs", "total_steps")]
    for (algo, env_id), preset in presets().items():
        env, train = preset.get("env", {}), preset.get("train", {})
        rows.append((algo, env_id, str(env.get("num_envs", "")), str(train.get("total_steps", ""))))
    _print_table(rows)
    print(
        "\nrlsuite train --algo ALGO --env ENV_ID: the algorithm's defaults plus the preset for that env, "
        "if one ships (rlsuite/presets/<algo>.yaml); key=value overrides apply on top."
    )
    return 0


def _read_last_eval(run_dir) -> str:
    import csv

    values = {}
    with open(run_dir / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["tag"].startswith("eval/"):
                values[row["tag"]] = float(row["value"])
    return ", ".join(f"{k} {_number(v)}" for k, v in values.items())


def _cmd_eval(args: argparse.Namespace) -> int:
    from rlsuite.training import evaluate_robustness, evaluate_run
    from rlsuite.zoo.resolve import (
        EVAL_DIR,
        check_no_checkpoint,
        evaluate_entry,
        evaluate_entry_robustness,
        resolve_source,
    )

    source = resolve_source(args.run_dir, args.zoo)
    if source.is_zoo:
        check_no_checkpoint(args.checkpoint, source)
    written = f"{_shown(EVAL_DIR / source.name)}/" if source.is_zoo else f"{_shown(source.path / 'eval')}/"
    if args.perturb == "all":
        if source.is_zoo:
            rows = evaluate_entry_robustness(source, episodes=args.episodes, seed=args.seed)
        else:
            rows = evaluate_robustness(
                source.path, episodes=args.episodes, checkpoint=args.checkpoint, seed=args.seed
            )
        table = [("perturbation", "level", "return (mean ± std)", "drop")]
        base = rows[0]["return_mean"]
        for row in rows:
            relative = f" ({100 * row['drop'] / abs(base):.0f}%)" if base and row["level"] else ""
            table.append(
                (
                    row["perturbation"],
                    str(row["level"]),
                    f"{_number(row['return_mean'])} ± {_number(row['return_std'])}",
                    f"{_number(row['drop'])}{relative}" if row["level"] else "",
                )
            )
        _print_table(table)
        where = "the table is in" if source.is_zoo else "every evaluation is in"
        print(f"\ndrop: the unperturbed mean minus the perturbed one; {where} {written}")
        return 0
    if source.is_zoo:
        result = evaluate_entry(source, episodes=args.episodes, seed=args.seed, perturb=args.perturb)
        path = result.pop("written")
    else:
        result = evaluate_run(
            source.path,
            episodes=args.episodes,
            checkpoint=args.checkpoint,
            seed=args.seed,
            perturb=args.perturb,
        )
        path = None
    for key, value in result.items():  # full precision stays in the JSON written
        if key == "perturbation":
            value = "none" if value is None else value["description"]
        metric = key.removesuffix("_mean") if key.endswith("_mean") and "/" not in key else None
        if metric is not None and f"{metric}_std" in result:  # a task metric: "crash_rate: mean ± std"
            print(f"{metric}: {_number(value)} ± {_number(result[f'{metric}_std'])}")
        elif not (key.endswith("_std") and "/" not in key and f"{key[:-4]}_mean" in result):  # shown above
            print(f"{key}: {_number(value) if isinstance(value, float) else value}")
    if path is not None:
        print(f"written: {_shown(Path(path))}")
    return 0


PERTURB_HELP = (
    "evaluate under a perturbation, NAME or NAME:LEVEL (levels: 0 none, 1 mild (default), 2 strong, "
    "3 severe; each one's numbers: pydoc rlsuite.perturb). Observations: observation_noise (state), "
    "color_shift, brightness, background, distractors (pixels); actions: action_delay, actuation_noise; "
    "the env: traffic_density (Highway), link_mass, friction (Reacher, Pusher), unseen_tracks (Racetrack). "
    "all: every one that applies to the run's env at levels 1-3, then a table of returns and drops"
)
"""Written out, not read from :mod:`rlsuite.perturb` (which imports the envs) so that building the
parser stays light; ``tests/test_perturb.py`` holds it to the registry."""


def _cmd_record(args: argparse.Namespace) -> int:
    from rlsuite.record import record_run

    path, returns = record_run(
        args.run_dir,
        episodes=args.episodes,
        fmt=args.format,
        checkpoint=args.checkpoint,
        seed=args.seed,
        show_agent_view=args.agent_view,
        fps=args.fps,
        max_steps=args.max_steps,
        size=args.size,
    )
    cut = f" (at most {args.max_steps} steps each)" if args.max_steps else ""
    print(f"episode returns{cut}: {', '.join(f'{r:.2f}' for r in returns)}")
    print(f"video: {path}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from rlsuite.export import export_run

    exported = export_run(args.source, args.out, args.format, args.checkpoint, args.force, root=args.zoo)
    meta = exported.metadata
    stack = meta["input"]["frame_stack"]
    origin = f"zoo entry {meta['zoo_entry']}" if meta.get("zoo_entry") else f"{meta['checkpoint']} checkpoint"
    print(f"{meta['algo']} on {meta['env']['id']} ({origin}) as {meta['file_format']}")
    print(
        f"input: {meta['input']['dtype']} {tuple(meta['input']['shape'])}"
        + (f", {stack} frames stacked" if stack > 1 else "")
    )
    print(f"policy: {_shown(exported.policy)}")
    print(f"metadata: {_shown(exported.directory / 'policy.json')}")
    return 0


def _shown(path: Path) -> str:
    """A path as a user would type it here: relative to the working directory when under it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _cmd_enjoy(args: argparse.Namespace) -> int:
    from rlsuite.zoo.enjoy import enjoy

    played = enjoy(args.source, episodes=args.episodes, out=args.out, seed=args.seed, root=args.zoo)
    print(f"episode returns: {', '.join(f'{r:.2f}' for r in played.returns)}")
    if played.path is not None:
        print(f"animation: {_shown(played.path)}")
    return 0


def _cmd_zoo_list(args: argparse.Namespace) -> int:
    from rlsuite.zoo import card, names, zoo_root

    entries = names(args.zoo)
    if not entries:
        print(
            f"the zoo in {_shown(zoo_root(args.zoo))} has no entries (add one: rlsuite zoo add RUN_DIR --name NAME)"
        )
        return 0
    rows = [("name", "env", "algo", "return (mean ± std)", "solved")]
    for name in entries:
        data = card(name, args.zoo)
        evaluation, solved = data["eval"], data["solved"]["value"]
        rows.append(
            (
                name,
                data["env_id"],
                data["algo"],
                f"{_number(evaluation['return_mean'])} ± {_number(evaluation['return_std'])}",
                {True: "yes", False: "no", None: "-"}[solved],
            )
        )
    _print_table(rows)
    episodes = sorted({str(card(name, args.zoo)["eval"]["episodes"]) for name in entries})
    print(
        f"\nreturns over {'/'.join(episodes)} held-out episodes; an entry's whole card: "
        "python -c \"import rlsuite; print(rlsuite.zoo.card('NAME'))\""
    )
    return 0


def _cmd_zoo_add(args: argparse.Namespace) -> int:
    from rlsuite.zoo import card
    from rlsuite.zoo.pack import add_entry

    folder = add_entry(
        args.run_dir,
        args.name,
        args.checkpoint,
        seed=args.seed,
        episodes=args.episodes,
        force=args.force,
        machine=args.machine,
        root=args.zoo,
    )
    data = card(args.name, folder.parent)
    evaluation = data["eval"]
    print(
        f"zoo entry {args.name}: {data['algo']} on {data['env_id']} ({data['source']['checkpoint']} checkpoint)"
    )
    print(
        f"return over {evaluation['episodes']} held-out episodes: "
        f"{_number(evaluation['return_mean'])} ± {_number(evaluation['return_std'])}"
    )
    print(f"entry: {_shown(folder)}  (weights: {data['weights']['bytes']:,} bytes)")
    return 0


def _cmd_zoo_cards(args: argparse.Namespace) -> int:
    from rlsuite.zoo import ANIMATIONS, card, names, zoo_root
    from rlsuite.zoo.pack import refresh_cards

    if not args.names and not names(args.zoo):
        print(f"the zoo in {_shown(zoo_root(args.zoo))} has no entries: no card to rewrite")
        return 0
    animations = None if args.no_animations else (args.animations or ANIMATIONS)
    for path in refresh_cards(args.names, animations=animations, root=args.zoo):
        data = card(path.parent.name, path.parent.parent)
        evaluation = data["eval"]
        print(
            f"{_shown(path)}: return {_number(evaluation['return_mean'])} ± {_number(evaluation['return_std'])}"
            + (f"; animation {_shown(Path(animations) / (data['name'] + '.gif'))}" if animations else "")
        )
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from rlsuite.plots import X_AXES, find_run_dirs, plot_runs

    if args.x not in X_AXES:
        raise ConfigError(f"--x: got {args.x!r}; allowed: {', '.join(X_AXES)}")
    run_dirs, skipped = find_run_dirs(args.run_dirs)
    if not run_dirs:
        raise ConfigError(
            "no run directory to plot (one holds config.yaml and metrics.csv): " + "; ".join(skipped)
        )
    for line in skipped:
        print(f"skipped {line}")
    try:
        groups = plot_runs(
            run_dirs, args.output, tag=args.tag, x=args.x, group_by=args.group_by, title=args.title
        )
    except (FileNotFoundError, KeyError) as error:
        raise ConfigError(str(error).strip("'\"")) from None
    for name, group in groups.items():
        print(f"{name}: {group.describe()}")
    print(f"plot: {args.output}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from rlsuite.jobs.sweep import run_sweep

    sweep_dir = run_sweep(args.sweep, address=args.address, resume=args.resume, overrides=args.overrides)
    print(f"sweep directory: {sweep_dir}")
    print(f"TensorBoard:     tensorboard --logdir {sweep_dir}")
    return 0


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from rlsuite.encoders.pretrain import load_pretrain_config, pretrain

    config = load_pretrain_config(args.config, args.overrides)
    run_dir = pretrain(config)
    print(f"run directory: {run_dir}")
    print(f"encoder:       {run_dir / 'encoder.safetensors'} (+ .json)")
    if config.output:
        print(f"also saved:    {config.output}.safetensors")
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    import json

    from rlsuite.encoders.checkpoint import load_encoder
    from rlsuite.encoders.pretrain import format_probe, load_pretrain_config
    from rlsuite.encoders.probe import probe_encoder

    config = load_pretrain_config(args.config, args.overrides)
    if config.probe is None:
        raise ConfigError(f"{args.config}: has no probe section (probe: {{fit: [...], test: [...]}})")
    try:
        encoder, meta = load_encoder(args.checkpoint)
    except (FileNotFoundError, ValueError) as error:
        raise ConfigError(f"--checkpoint: {error}") from None
    result = probe_encoder(encoder, meta["frame_stack"], config.probe, seed=config.train.seed)
    result["checkpoint"] = str(args.checkpoint)
    print(format_probe(result))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)
        print(f"written: {args.output}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from rlsuite import bench

    return bench.main(args)


def _add_zoo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--zoo", default=None, metavar="DIR", help="a zoo folder of your own (default: the package's)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rlsuite",
        description="rlsuite: fast Gymnasium envs, agents and baselines behind one command.",
        epilog=_examples(
            "rlsuite train                          # the main job: DQN on Racetrack; prints RUN_DIR",
            "rlsuite eval RUN_DIR                   # its best checkpoint on held-out seeds",
            "rlsuite train experiments/configs/sb3_ppo_racetrack.yaml train.seed=1",
            "rlsuite plot runs/* --output curves.png",
            "rlsuite envs                           # the env ids and their spaces",
        )
        + "\n\nRUN_DIR: the run directory that `rlsuite train` prints."
        "\nEach command's options and examples: rlsuite COMMAND --help",
    )
    parser.add_argument("--version", action="version", version=f"rlsuite {rlsuite.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("envs", help="list the registered rlsuite env ids with their spaces")
    p.set_defaults(func=_cmd_envs)

    p = sub.add_parser(
        "train",
        help="train an agent from a YAML config (default: the embedded main job) or by --algo/--env",
        description="Train an agent. CONFIG is a YAML file (see experiments/configs/); without it the "
        "embedded default runs. --algo/--env instead start from that algorithm's defaults on that env "
        "plus the tuned preset shipped for the pair, if one does (`rlsuite presets` lists them). "
        "Overrides are key.sub=value pairs with YAML values; agent.algo=… replaces the agent section "
        "unless both algorithms take the same hyper-parameters (the tabular ones do; the other overrides "
        "apply on top) and env.id=… drops env.kwargs.",
        epilog=_examples(
            "rlsuite train                                   # the embedded default: DQN on Racetrack",
            "rlsuite train --algo dqn --env CartPole-v1      # DQN's defaults + its CartPole-v1 preset",
            "rlsuite train train.total_steps=20000 agent.gamma=0.95 'agent.net_arch=[128, 128]' "
            "env.kwargs.track=oval",
            "rlsuite train experiments/configs/dqn_cartpole.yaml train.seed=1 log.progress=off",
            "rlsuite train --resume RUN_DIR train.total_steps=60000   # continue a run further",
        ),
    )
    p.add_argument("config", nargs="?", help="YAML config file (omit for the embedded default)")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue RUN_DIR from checkpoints/last")
    p.add_argument(
        "--algo",
        metavar="ALGO",
        help="the algorithm (agent.algo), from its defaults plus the preset for --env (default: dqn)",
    )
    p.add_argument(
        "--env",
        metavar="ENV_ID",
        help="the env id (env.id), e.g. CartPole-v1 or rlsuite/Racetrack-v0 (default: rlsuite/Racetrack-v0)",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="Ray cluster for rllib.* agents: auto or ray://host:port (sets agent.address)",
    )
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "presets",
        help="list the tuned presets shipped for `train --algo ALGO --env ENV_ID`",
        epilog=_examples("rlsuite presets"),
    )
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser(
        "eval",
        help="evaluate a run's best (or last) checkpoint, or a zoo agent, greedily",
        description="Evaluate a run directory's checkpoint greedily on held-out seeds and write the result "
        "to RUN_DIR/eval/*.json; or a zoo agent (a name of `rlsuite zoo list`, or an entry's folder), by "
        "default on its card's episodes and seed (unperturbed: the card's figures), the result written to "
        "./rlsuite-eval/NAME/*.json (never into the zoo).",
        epilog=_examples(
            "rlsuite eval RUN_DIR                             # best checkpoint, the run's eval_episodes",
            "rlsuite eval RUN_DIR --episodes 20 --checkpoint last",
            "rlsuite eval RUN_DIR --perturb actuation_noise:2 # a random action 20% of the time",
            "rlsuite eval RUN_DIR --perturb all               # every perturbation that applies, levels 1-3",
            "rlsuite eval RUN_DIR --episodes 5 --seed 7       # a zoo agent alike: rlsuite eval NAME …",
        ),
    )
    p.add_argument(
        "run_dir", metavar="RUN_DIR|NAME", help="a run directory written by `rlsuite train`, or a zoo entry"
    )
    p.add_argument(
        "--episodes",
        type=int,
        default=None,
        help="episodes (default: the run's train.eval_episodes; a zoo entry's card's, 100)",
    )
    p.add_argument(
        "--checkpoint",
        default="best",
        help="checkpoint name under RUN_DIR/checkpoints (best, last, …); a zoo entry has one policy",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="evaluation seed (default: derived from the run's seed, disjoint from the seed of the "
        "training evaluations that chose `best`; a zoo entry: its card's)",
    )
    p.add_argument("--perturb", default=None, metavar="NAME[:LEVEL]", help=PERTURB_HELP)
    _add_zoo_option(p)
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser("record", help="write a video of a run's agent playing greedy episodes")
    p.add_argument("run_dir", help="a run directory written by `rlsuite train`")
    p.add_argument("--episodes", type=int, default=1, help="episodes to record (default: 1)")
    p.add_argument("--format", default="mp4", help="mp4 (needs imageio-ffmpeg) or gif")
    p.add_argument("--checkpoint", default="best", help="checkpoint name under RUN_DIR/checkpoints")
    p.add_argument(
        "--seed", type=int, default=None, help="episode seed (default: rlsuite eval's held-out seed)"
    )
    p.add_argument(
        "--agent-view",
        action="store_true",
        help="pixel agents: draw what the agent sees (its newest frame) beside the scene",
    )
    p.add_argument(
        "--fps",
        type=float,
        default=None,
        help="playback frames per second (default: the env's render_fps, i.e. real time; GIF: at most 50)",
    )
    p.add_argument(
        "--max-steps",
        type=int,
        default=None,
        help="cut each episode after this many env steps (default: the env's own episode limit)",
    )
    p.add_argument(
        "--size",
        type=int,
        default=None,
        metavar="PX",
        help="resize frames so their longest side is PX pixels, e.g. 300 (default: the env's render size)",
    )
    p.set_defaults(func=_cmd_record)

    p = sub.add_parser(
        "export",
        help="export a run's (or a zoo agent's) greedy policy as one file (ONNX, TorchScript, or a table) "
        "+ policy.json",
        description="Write the greedy policy of a run's checkpoint, or of a zoo agent (a name of `rlsuite zoo "
        "list`, or an entry's folder), as one file that holds everything from "
        "the env's observation to its action (preprocessing, a frozen encoder, the network, argmax or the "
        "scaled continuous action; a dynamic batch axis), and policy.json: env id and kwargs, spaces and "
        "the input contract (dtype, shape, the frame stack the caller keeps). onnx and torchscript: dqn, "
        "pqn, sb3.*, rllib.* (pip install 'rlsuite[export]'); table: the tabular agents (numpy only). "
        "onnxruntime runs an ONNX export without torch: examples/deploy_onnx.py.",
        epilog=_examples(
            "rlsuite export RUN_DIR                             # onnx, or table for a tabular run",
            "rlsuite export RUN_DIR --format table --out policy --checkpoint last",
            "rlsuite export RUN_DIR --format table --force    # a zoo agent: NAME, into ./export/NAME-FORMAT",
        ),
    )
    p.add_argument(
        "source", metavar="RUN_DIR|NAME", help="a run directory written by `rlsuite train`, or a zoo entry"
    )
    p.add_argument(
        "--format",
        default=None,
        help="onnx (policy.onnx), torchscript (policy.pt) or table (policy.npz, tabular agents); "
        "default: onnx, or table for a tabular run",
    )
    p.add_argument(
        "--out",
        default=None,
        help="directory to write (default: RUN_DIR/export/<checkpoint>-<format>; a zoo entry: "
        "./export/NAME-<format>, never inside the zoo)",
    )
    p.add_argument(
        "--checkpoint",
        default="best",
        help="checkpoint name under RUN_DIR/checkpoints (best, last, …); a zoo entry has one policy",
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists (default: refuse)")
    _add_zoo_option(p)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "enjoy",
        help="watch a zoo agent (or a run's) play greedily: in a window, else into a GIF",
        description="Play a zoo agent (a name of `rlsuite zoo list`) or a run directory's best checkpoint "
        "greedily on held-out seeds. Where a display exists ($DISPLAY or $WAYLAND_DISPLAY, and pygame opens a "
        "window) the episodes play in a window; elsewhere, or with --out, a short animation is written (at "
        "most 20 s an episode): a GIF, or an MP4 when --out ends in .mp4 (pip install -e '.[video]').",
        epilog=_examples(
            "rlsuite enjoy RUN_DIR --out agent.gif       # a run's agent; a zoo agent: rlsuite enjoy NAME",
            "rlsuite zoo list                            # the names",
        ),
    )
    p.add_argument("source", metavar="NAME|RUN_DIR", help="a zoo entry's name or a run directory")
    p.add_argument("--episodes", type=int, default=1, help="episodes to play (default: 1)")
    p.add_argument(
        "--out",
        default=None,
        help="write the animation to this .gif or .mp4 file, even where a display exists "
        "(default without a display: NAME.gif here)",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="episode seed (default: rlsuite eval's held-out seed)"
    )
    _add_zoo_option(p)
    p.set_defaults(func=_cmd_enjoy)

    zoo = sub.add_parser(
        "zoo",
        help="the trained agents shipped in the package: list them, pack a run into one, refresh their cards",
        description="The zoo: trained agents shipped inside the package, each a folder rlsuite/zoo/NAME/ "
        "(config.yaml, model.safetensors: the greedy policy's weights only, at most 1 MB, card.json: env, "
        "algorithm, budget and wall-clock, return and task metrics over 100 held-out episodes, solved or not, "
        "a check). Load one with rlsuite.load_pretrained(NAME); watch one with rlsuite enjoy NAME. "
        "`rlsuite zoo cards` re-evaluates every entry (or the NAMEs given) and rewrites its card's figures and "
        "its docs animation docs/assets/zoo/NAME.gif: the one command that regenerates the cards.",
        epilog=_examples(
            "rlsuite zoo list",
            "rlsuite zoo add RUN_DIR --name grid-q --zoo my-zoo    # pack a run into a zoo of your own",
            "rlsuite zoo list --zoo my-zoo",
        ),
    )
    zoo_sub = zoo.add_subparsers(dest="zoo_command", metavar="ZOO_COMMAND", required=True)
    z = zoo_sub.add_parser("list", help="the entries: name, env, algorithm, return mean ± std, solved")
    _add_zoo_option(z)
    z.set_defaults(func=_cmd_zoo_list)
    z = zoo_sub.add_parser(
        "add",
        help="pack a run's checkpoint into a zoo entry and write its card",
        description="Copy a run's config and only the weights its greedy policy needs (no optimiser, target "
        "network or replay buffer; at most 1 MB) into the zoo entry NAME, then write its card by evaluating "
        "the entry: 100 greedy episodes on rlsuite eval's held-out seed, with the env's task metrics. "
        "Families: dqn, pqn, the tabular agents, sb3.*. A shipped pretrained encoder is named, never copied.",
    )
    z.add_argument("run_dir", metavar="RUN_DIR", help="a run directory written by `rlsuite train`")
    z.add_argument("--name", required=True, help="the entry's name: lower-case letters, digits, hyphens")
    z.add_argument("--checkpoint", default="best", help="best (default; else last), last or step_<N>")
    z.add_argument(
        "--seed", type=int, default=None, help="evaluation seed (default: rlsuite eval's held-out seed)"
    )
    z.add_argument("--episodes", type=int, default=100, help="evaluation episodes (default: 100)")
    z.add_argument("--machine", default=None, help="the machine that trained the run, for the card")
    z.add_argument("--force", action="store_true", help="replace an existing entry of that name")
    _add_zoo_option(z)
    z.set_defaults(func=_cmd_zoo_add)
    z = zoo_sub.add_parser(
        "cards",
        help="re-evaluate entries and rewrite their cards' figures and docs animations",
    )
    z.add_argument("names", nargs="*", metavar="NAME", help="entries to refresh (default: all)")
    z.add_argument(
        "--animations", default=None, metavar="DIR", help="where the GIFs go (default: docs/assets/zoo)"
    )
    z.add_argument("--no-animations", action="store_true", help="rewrite the cards only")
    _add_zoo_option(z)
    z.set_defaults(func=_cmd_zoo_cards)

    p = sub.add_parser(
        "plot",
        help="learning curves of run directories (seeds of a configuration averaged) into a PNG",
        description="Read each run's metrics.csv and draw TAG against env steps or wall time; runs that "
        "differ only by seed form one group (mean ± std band), or group them by config keys.",
    )
    p.add_argument("run_dirs", nargs="+", help="run directories written by `rlsuite train` or a sweep")
    p.add_argument("--tag", default="eval/return_mean", help="the scalar to plot (default: eval/return_mean)")
    p.add_argument("--x", default="step", help="step (env steps) or wall_time (seconds)")
    p.add_argument(
        "--group-by", nargs="+", default=None, metavar="KEY", help="dotted config keys, e.g. agent.algo"
    )
    p.add_argument("--output", default="curves.png", help="PNG to write (default: curves.png)")
    p.add_argument("--title", default="", help="plot title")
    p.set_defaults(func=_cmd_plot)

    p = sub.add_parser(
        "sweep",
        help="run seeds × hyper-parameters as Ray Tune trials, locally or on a Ray cluster",
        description="Run a sweep file (see experiments/sweeps/): every trial is an rlsuite training run in "
        "runs/<name>/; the summary lands there too. Overrides are key=value pairs on the sweep file.",
        epilog=_examples(
            "rlsuite sweep experiments/sweeps/tabular_grid_lr.yaml            # on a local Ray",
            "rlsuite sweep experiments/sweeps/tabular_grid_lr.yaml --resume   # after Ctrl-C or a crash",
            "rlsuite sweep experiments/sweeps/tabular_grid_lr.yaml name=lr-2 seeds=0-4 "
            "'space={agent.gamma: [0.9, 0.99]}'",
            "rlsuite sweep experiments/sweeps/tabular_grid_lr.yaml --address auto   # a Ray cluster's head",
            "rlsuite sweep experiments/sweeps/pqn_cartpole_seeds.yaml   # batch_seeds: a trial per configuration, "
            "its seeds side by side",
        ),
    )
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("overrides", nargs="*", help="key=value overrides of the sweep file")
    p.add_argument(
        "--address", metavar="ADDR", help="join this Ray cluster (auto, host:port or ray://host:port)"
    )
    p.add_argument("--resume", action="store_true", help="continue the interrupted sweep of this name")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser(
        "pretrain",
        help="pretrain a pixel encoder self-supervised (CURL / ATC) on frames of our envs",
        description="Collect frames through the native vector envs, train an encoder with a contrastive "
        "objective, save encoder.safetensors + .json in a run directory and, if the config has a probe "
        "section, report the linear probe (see experiments/encoders/configs/).",
        epilog=_examples(
            "rlsuite pretrain experiments/encoders/configs/pretrain_arm.yaml train.steps=500 log.name=arm",
        ),
    )
    p.add_argument("config", help="pretraining YAML file")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. train.steps=500")
    p.set_defaults(func=_cmd_pretrain)

    p = sub.add_parser(
        "probe",
        help="linear probe of a frozen encoder: R² of the env's true state on held-out frames",
        description="Fit ridge regression from the encoder's features to the env's state variables on the "
        "config's probe.fit frames and score R² on its probe.test frames, next to a randomly initialised "
        "encoder of the same architecture.",
        epilog=_examples(
            "rlsuite probe experiments/encoders/configs/pretrain_driving.yaml --checkpoint driving-state "
            "--output probe.json",
        ),
    )
    p.add_argument("config", help="a pretraining YAML file with a probe section")
    p.add_argument("overrides", nargs="*", help="key.sub=value overrides of that file")
    p.add_argument(
        "--checkpoint",
        required=True,
        help=f"encoder: a shipped name ({', '.join(_shipped_encoder_names())}) or the path stem of one "
        "`rlsuite pretrain` wrote (RUN_DIR/encoder)",
    )
    p.add_argument("--output", default=None, help="also write the result as JSON here")
    p.set_defaults(func=_cmd_probe)

    p = sub.add_parser(
        "bench",
        help="throughput of our envs and agents, side by side with installed peers",
        epilog=_examples(
            "rlsuite bench --quick                            # a smoke run of every row",
            "rlsuite bench envs --ids rlsuite/Racetrack-v0 --seconds 2",
            "rlsuite bench --check                            # about a minute; exits 1 below a floor",
            "rlsuite bench --check --only startup grid_racetrack",
        ),
    )
    p.add_argument(
        "what",
        nargs="?",
        choices=["envs", "agents", "all"],
        default="all",
        help="what to time (default: all)",
    )
    p.add_argument("--quick", action="store_true", help="a smoke run of every row: short timings, no repeats")
    p.add_argument("--ids", nargs="*", default=None, help="only these env ids (default: all registered)")
    p.add_argument(
        "--seconds", type=float, default=None, help="env timing budget per measurement [s] (1; --check: 0.3)"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="the speed check (about a minute): every published ratio against its floor in "
        "rlsuite/speed_floors.json, ours and the peer timed in one run; exits 1 if one falls below",
    )
    p.add_argument("--only", nargs="+", default=None, metavar="KEY", help="--check: only these rows")
    p.add_argument(
        "--peers", action=argparse.BooleanOptionalAction, default=True, help="also time the peers installed"
    )
    p.add_argument("--output", default=None, help="also write the table (markdown) to this file")
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ConfigError as error:
        print(f"rlsuite {args.command}: error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the failures a user can act on, without a traceback
        from rlsuite.agents.base import NonFiniteError
        from rlsuite.checkpoints import CheckpointError

        if not isinstance(error, (NonFiniteError, CheckpointError)):
            raise
        print(f"rlsuite {args.command}: error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rlsuite presets | head`: the reader left; not an error of ours
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0


if __name__ == "__main__":
    sys.exit(main())
