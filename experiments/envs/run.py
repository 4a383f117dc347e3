"""Env throughput study: steps/s of every env against the issue targets and the peers, and the
env-core port (issue 12) against the commit before it.

    python experiments/envs/run.py                    # check and speed (several minutes), then RESULTS.md
    python experiments/envs/run.py --parts check      # one part: check | speed | port
    python experiments/envs/run.py --report-only      # RESULTS.md and plots from the recorded data

**check** (``check.json``): the ratios of ``rlsuite bench --check`` — each of ours against the peer a
user would otherwise pick (MuJoCo, highway-env, CarRacing, CliffWalking, Gymnasium's
``CartPoleVectorEnv``), single envs through ``gymnasium.make``, timed in one process in interleaved
rounds (best of ``--rounds``) — measured longer than the check does. It writes them as the published
figures (and each one's ratio to Gymnasium's ``CartPole-v1``, the check's stand-in for a peer that is
not installed) into ``rlsuite/speed_floors.json``, the one table of published figures and floors
that the README quotes and the check holds.

**speed** (``env_speed.json``): every env single (``gymnasium.make``, with its wrappers, as users
get it) and native vector (``gymnasium.make_vec``) — with ``--peers`` also the peers of ``rlsuite
bench envs`` (the check part gives the ratios against them) — all timed by the same code as ``rlsuite
bench envs`` (:mod:`rlsuite.bench`): random actions drawn before the clock starts, best of 3 timings of
``--seconds`` each.

**port** (``core_port.json``): env speed of this checkout against an earlier one (``--baseline-commit``,
by default 196e2e7, the commit before the port; checked out into a temporary git worktree, or
``--baseline DIR``), measured in one run. Each timing runs in a fresh subprocess that imports rlsuite
from one of the two trees (PYTHONPATH), so both are timed by the same code below, alternately
(baseline, current, baseline, …), and each figure is the best of ``--rounds`` (the machines are
shared: the best run is the least disturbed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rlsuite import study
from rlsuite.study import thousands, times

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SPEED = HERE / "env_speed.json"
PORT = HERE / "core_port.json"
CHECK = HERE / "check.json"
FLOORS = REPO / "rlsuite" / "speed_floors.json"

CASES = [  # (label, env id, kwargs valid in both trees, vector batch)
    ("GridRacetrack", "rlsuite/GridRacetrack-v0", {}, 1024),
    ("Racetrack state", "rlsuite/Racetrack-v0", {}, 1024),
    ("Racetrack pixels 84x84", "rlsuite/Racetrack-v0", {"obs_type": "pixels"}, 256),
    ("Highway state", "rlsuite/Highway-v0", {}, 1024),
    ("Highway pixels 84x84", "rlsuite/Highway-v0", {"obs_type": "pixels"}, 256),
    ("Reacher state", "rlsuite/Reacher-v0", {}, 1024),
    ("Reacher pixels 84x84", "rlsuite/Reacher-v0", {"obs_type": "pixels"}, 256),
    ("Pusher state", "rlsuite/Pusher-v0", {}, 1024),
    ("Pusher pixels 84x84", "rlsuite/Pusher-v0", {"obs_type": "pixels"}, 256),
]

TIMER = r"""
import json, sys, time
import gymnasium as gym
import rlsuite
env_id, kwargs, batch, seconds = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
env = gym.make(env_id, **kwargs)
env.action_space.seed(0)
actions = [env.action_space.sample() for _ in range(4096)]
env.reset(seed=0)
steps, start = 0, None
for i in range(10**9):
    if i == 100:
        steps, start = 0, time.perf_counter()
    if start is not None and i % 16 == 0 and time.perf_counter() - start >= seconds:
        break
    _, _, terminated, truncated, _ = env.step(actions[i % 4096])
    steps += 1
    if terminated or truncated:
        env.reset()
single = steps / (time.perf_counter() - start)
envs = gym.make_vec(env_id, num_envs=batch, **kwargs)
envs.action_space.seed(0)
batch_actions = [envs.action_space.sample() for _ in range(16)]
envs.reset(seed=0)
for a in batch_actions:
    envs.step(a)
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    for a in batch_actions:
        envs.step(a)
    steps += len(batch_actions) * batch
print(json.dumps({"single": single, "vector": steps / (time.perf_counter() - start)}))
"""


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------
def measure_speed(seconds: float, peers: bool, command: list[str]) -> dict:
    """Every case of :mod:`rlsuite.bench` (and its peers), timed exactly as ``rlsuite bench envs``."""
    import gymnasium as gym
    import numpy as np

    import rlsuite
    from rlsuite.bench import CASES as BENCH_CASES
    from rlsuite.bench import PEERS, time_single, time_vector

    repeats = 3
    cases, singles = [], {}
    for case in BENCH_CASES:
        single = time_single(case.env_id, case.kwargs, seconds, repeats)
        vector = time_vector(case.env_id, case.kwargs, case.batch, seconds, repeats)
        singles[case.label] = single
        cases.append(
            {
                "label": case.label,
                "single": single,
                "single_target": case.single_target,
                "vector": vector,
                "batch": case.batch,
                "vector_target": case.vector_target,
                "vector_over_single": vector / single,
                "targets_met": single >= case.single_target and vector >= case.vector_target,
            }
        )
        print(f"{case.label}: single {single:,.0f}, vector {vector:,.0f} steps/s", flush=True)
    peer_rows = []
    for label, (module, env_id, kwargs) in PEERS.items() if peers else ():
        ours = [c for c in BENCH_CASES if c.peer == label]
        try:
            importlib.import_module(module)
            speed = time_single(env_id, kwargs, seconds, repeats)  # timed exactly as ours
        except Exception as error:  # not installed, or failed: reported, never fatal
            peer_rows.append({"peer": label, "single": None, "error": type(error).__name__})
            continue
        for case in ours:
            peer_rows.append(
                {
                    "peer": label,
                    "single": speed,
                    "ours": case.label,
                    "ours_over_peer": singles[case.label] / speed,
                }
            )
        print(f"{label}: {speed:,.0f} steps/s", flush=True)
    measured = study.measured_here(command)
    measured["machine"] += f", numpy {np.__version__}, gymnasium {gym.__version__}"
    return {
        "measured": measured,
        "rlsuite_version": rlsuite.__version__,
        "repeats": repeats,
        "seconds": seconds,
        "cases": cases,
        "peers": peer_rows,
    }


def measure_check(seconds: float, rounds: int, command: list[str]) -> dict:
    """Every row of ``rlsuite bench --check`` (peers required), timed as the check times them, longer."""
    from rlsuite.bench import CHECKS, measure_checks

    rows = measure_checks(CHECKS, seconds, rounds, peers=True, proxy=True)
    proxied = [key for key, row in rows.items() if row["proxied"]]
    if proxied:
        raise SystemExit(f"check: peers not installed for {proxied}: pip install -e '.[bench]'")
    for key, row in rows.items():
        print(
            f"{key}: {row['ours'] / row['peer']:.3g}x ({row['ours']:,.4g} vs {row['peer']:,.4g} per second)"
        )
    return {"measured": study.measured_here(command), "seconds": seconds, "rounds": rounds, "rows": rows}


def publish(check: dict) -> None:
    """Write the check's ratios into ``rlsuite/speed_floors.json`` as the published figures."""
    table = json.loads(FLOORS.read_text())
    for key, row in check["rows"].items():
        table["rows"][key]["published"] = round(row["ours"] / row["peer"], 3)
        table["rows"][key]["proxy"] = round(row["proxy"], 4)
    m = check["measured"]
    table["measured"] = {k: m[k] for k in ("commit", "date", "machine", "command") if k in m}
    FLOORS.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n")
    print(f"written: {FLOORS}")
    quote_in_readme(table)


README = REPO / "README.md"
BEGIN, END = "<!-- speed table: written by experiments/envs/run.py -->", "<!-- end of speed table -->"


def quote_in_readme(table: dict) -> None:
    """The README's speed table between its markers: the published figures, as the table has them."""
    from rlsuite.bench import floors_markdown

    text = README.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{README}: no speed table markers ({BEGIN!r} … {END!r})")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{floors_markdown(table)}\n{END}{tail}")
    print(f"written: {README} (speed table)")


def time_tree(tree: Path, env_id: str, kwargs: dict, batch: int, seconds: float) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", TIMER, env_id, json.dumps(kwargs), str(batch), str(seconds)],
        capture_output=True, text=True, env=env, check=True, cwd=tree,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def tree_commit(tree: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=tree
    ).stdout.strip()


def measure_port(baseline: Path, rounds: int, seconds: float, command: list[str]) -> dict:
    cases = []
    for label, env_id, kwargs, batch in CASES:
        best = {"baseline": {"single": 0.0, "vector": 0.0}, "current": {"single": 0.0, "vector": 0.0}}
        for _ in range(rounds):
            for name, tree in (("baseline", baseline), ("current", REPO)):
                result = time_tree(tree, env_id, kwargs, batch, seconds)
                for key in ("single", "vector"):
                    best[name][key] = max(best[name][key], result[key])
        b, c = best["baseline"], best["current"]
        cases.append(
            {
                "label": label,
                "batch": batch,
                "baseline": b,
                "current": c,
                "single_ratio": c["single"] / b["single"],
                "vector_ratio": c["vector"] / b["vector"],
            }
        )
        print(f"{label}: current / baseline single {cases[-1]['single_ratio']:.2f}, "
              f"vector {cases[-1]['vector_ratio']:.2f}", flush=True)  # fmt: skip
    measured = study.measured_here(command)
    return {
        "measured": measured,
        "baseline_commit": tree_commit(baseline),
        "current_commit": study.commit(),
        "rounds": rounds,
        "seconds": seconds,
        "cases": cases,
        "notes": "",
    }


def with_baseline(args: argparse.Namespace, command: list[str]) -> dict:
    """The port part against ``--baseline``, or against ``--baseline-commit`` in a temporary worktree."""
    if args.baseline is not None:
        return measure_port(args.baseline, args.rounds, args.seconds, command)
    with tempfile.TemporaryDirectory(prefix="envs-baseline-") as scratch:
        tree = Path(scratch) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), args.baseline_commit], cwd=REPO, check=True
        )
        try:
            return measure_port(tree, args.rounds, args.seconds, command)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def report(command: list[str]) -> None:
    check = study.read_record(CHECK) if CHECK.is_file() else None
    speed = study.read_record(SPEED) if SPEED.is_file() else None
    port = study.read_record(PORT) if PORT.is_file() else None
    records = (("check", check), ("speed", speed), ("port", port))
    measured = [{**r["measured"], "label": name} for name, r in records if r]
    out = [
        "# Env throughput: the published ratios against the peers, steps/s of every env; the env-core port\n",
        study.stamp(command, measured),
    ]
    out.append(
        "\nRegenerated by `python experiments/envs/run.py --report-only` from `check.json`, `env_speed.json` "
        "and `core_port.json` (the measured values); `python experiments/envs/run.py` measures the check and "
        "the speed part again and replaces them. Ratios measured side by side in one run are the result; "
        "absolute speeds move with the machine's load.\n"
    )
    if check:
        from rlsuite.bench import CHECKS, load_floors

        floors = load_floors(FLOORS)["rows"]
        labels = {c.key: (c.ours.label, c.peer.label) for c in CHECKS}
        timed = {c.key for c in CHECKS if c.ours.code is not None}  # processes: seconds, not steps/s
        out.append(
            "\n## The published ratios and their floors (`rlsuite bench --check`)\n\n"
            f"Ours against the peer a user would otherwise pick, every side timed in one process in "
            f"{check['rounds']} interleaved rounds of {check['seconds']:g} s (best kept); single envs through "
            "`gymnasium.make` with their wrappers, random actions, reset on done. These ratios are the "
            "published figures of `rlsuite/speed_floors.json`, which the README quotes and "
            "`rlsuite bench --check` holds to its floors (the issue's target, or where a target is not met "
            "yet, a floor under the published figure). For start-up the ratio is the peer's seconds over "
            "ours.\n\n"
            "| ours | steps/s (or time) | against | steps/s (or time) | ours / peer | target | target met "
            "| check's floor |\n|---|---:|---|---:|---:|---:|:---:|---:|\n"
        )
        for key, row in check["rows"].items():
            ratio, floor, target = row["ours"] / row["peer"], floors[key]["floor"], floors[key]["target"]
            ours, peer = labels.get(key, (key, row["peer_label"]))
            fmt = (lambda rate: f"{1 / rate:.2f} s") if key in timed else thousands
            out.append(
                f"| {ours} | {fmt(row['ours'])} | {peer} | {fmt(row['peer'])} | {times(ratio)} "
                f"| {times(target)} | {'yes' if ratio >= target else '**no**'} | {times(floor)} |\n"
            )
        if check.get("notes"):
            out.append(f"\n{check['notes']}\n")
    if speed:
        out.append(
            f"\n## Steps/s of every env, single and native vector\n\nrlsuite {speed['rlsuite_version']}, random "
            f"actions, best of {speed['repeats']} × {speed['seconds']:g} s for ours and the peers alike "
            "(`rlsuite bench envs` times the same way). Targets: the issues', for the 2-core machine.\n\n"
            "| env | single steps/s | target | vector steps/s (batch) | target | vector / single | targets met |\n"
            "|---|---:|---:|---:|---:|---:|:---:|\n"
        )
        for c in speed["cases"]:
            out.append(
                f"| {c['label']} | {thousands(c['single'])} | {thousands(c['single_target'])} "
                f"| {thousands(c['vector'])} "
                f"({c['batch']}) | {thousands(c['vector_target'])} | {times(c['vector_over_single'])} | "
                f"{'yes' if c['targets_met'] else '**no**'} |\n"
            )
        if speed["peers"]:
            out.append("\n| peer (single env) | steps/s | our env | ours / peer |\n|---|---:|---|---:|\n")
            for p in speed["peers"]:
                if p["single"] is None:
                    out.append(f"| {p['peer']} | not timed ({p['error']}) | | |\n")
                else:
                    out.append(
                        f"| {p['peer']} | {thousands(p['single'])} | {p['ours']} | {times(p['ours_over_peer'])} |\n"
                    )
        labels = [c["label"] for c in speed["cases"]]
        study.bars(
            HERE / "env_speed.png",
            labels,
            {
                "single": [c["single"] for c in speed["cases"]],
                "single target": [c["single_target"] for c in speed["cases"]],
                "vector": [c["vector"] for c in speed["cases"]],
                "vector target": [c["vector_target"] for c in speed["cases"]],
            },
            "env steps/s (log scale)",
            "steps/s",
            log=True,
        )
        out.append("\n![env speed](env_speed.png)\n")
    if port:
        out.append(
            f"\n## The env-core port (issue 12): this tree against commit {port['baseline_commit']}\n\n"
            f"Current tree: commit {port['current_commit']}; best of {port['rounds']} alternating rounds × "
            f"{port['seconds']:g} s each, one fresh subprocess per timing.\n\n"
            "| env | single: baseline | current | current / baseline | vector (batch): baseline | current | "
            "current / baseline |\n|---|---:|---:|---:|---:|---:|---:|\n"
        )
        for c in port["cases"]:
            b, k = c["baseline"], c["current"]
            out.append(
                f"| {c['label']} | {b['single']:,.0f} | {k['single']:,.0f} | {c['single_ratio']:.2f} "
                f"| {b['vector']:,.0f} ({c['batch']}) | {k['vector']:,.0f} | {c['vector_ratio']:.2f} |\n"
            )
        if port.get("notes"):
            out.append(f"\n{port['notes']}\n")
        study.bars(
            HERE / "core_port.png",
            [c["label"] for c in port["cases"]],
            {
                "single": [c["single_ratio"] for c in port["cases"]],
                "vector": [c["vector_ratio"] for c in port["cases"]],
            },
            f"env speed, commit {port['current_commit']} / {port['baseline_commit']}",
            "current / baseline",
        )
        out.append("\n![core port](core_port.png)\n")
    (HERE / "RESULTS.md").write_text("".join(out))
    print(f"written: {HERE / 'RESULTS.md'}")


def main() -> None:
    parser = study.parser(__doc__, "RESULTS.md and plots from the recorded data")
    parser.add_argument("--parts", nargs="+", default=["check", "speed"], choices=["check", "speed", "port"])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timing")
    parser.add_argument(
        "--peers",
        action="store_true",
        help="speed: also time the peers (the check part already gives every ratio against them)",
    )
    parser.add_argument("--baseline", type=Path, default=None, help="port: a checkout of the earlier commit")
    parser.add_argument("--baseline-commit", default="196e2e7", help="port: the earlier commit (worktree)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="check, port: interleaved rounds (the best of each is kept)"
    )
    args = parser.parse_args()
    command = study.command_of(__file__)
    if not args.report_only:
        if "check" in args.parts:
            record = measure_check(args.seconds, args.rounds, command)
            study.write_record(CHECK, record)
            publish(record)
        if "speed" in args.parts:
            study.write_record(SPEED, measure_speed(args.seconds, args.peers, command))
        if "port" in args.parts:
            study.write_record(PORT, with_baseline(args, command))
    report(command)


if __name__ == "__main__":
    main()
