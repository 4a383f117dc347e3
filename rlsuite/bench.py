"""``rlsuite bench [envs|agents]``: the throughput table of our envs and agents, next to the peers
users know, in one command (``--quick`` for a smoke run of every row).

**Envs** (``rlsuite bench envs``): steps/s of our envs, single and native vector. Random actions,
drawn before the clock starts; the single env is stepped through ``gymnasium.make`` (with its
wrappers, as users get it) and reset on done; the vector env through ``gymnasium.make_vec``. Every
figure, ours and the peers' alike, is the best of ``repeats`` (3) timings of at least ``seconds``
each, the clock read every 16 steps — the machines are shared, so the best run is the least
disturbed one, and both sides get the same chance. Peers (highway-env, Gymnasium's CarRacing and
MuJoCo Reacher/Pusher) are timed in the same run when they are installed (``pip install -e
".[bench]"``), and each of our rows prints its ratio to the peer a user would otherwise pick.

**Agents** (``rlsuite bench agents``): training steps/s (env steps per second of ``agent.learn``,
updates included, after a warm-up past ``learning_starts``) of our agents, each next to the same
algorithm in Stable-Baselines3 at identical settings when SB3 is installed, on the env each library
uses for that id through ``rlsuite train``: for our ids SB3 steps the same native vector env (through
``SB3VecEnv``), so the ratio is the agents'; for Gymnasium's ids (CartPole) SB3 takes its usual
``DummyVecEnv`` and we Gymnasium's vector env. Ours and the peer are timed by one routine
(:func:`time_agent`, best of ``repeats``).
A peer that is not installed is named at the end of the report, with how to install it.

**The speed check** (``rlsuite bench --check``, about a minute): the ratios rlsuite promises — each
of ours against the peer a user would otherwise pick, timed in the same process, interleaved, best
of ``repeats`` — against the floors and published figures of one table, ``rlsuite/speed_floors.json``
(the README and ``experiments/envs/RESULTS.md`` quote that table). It exits 1 when a ratio falls
below its floor. A peer that is not installed (``pip install -e ".[bench]"``) is replaced by
Gymnasium's ``CartPole-v1``, timed the same way, with the floor scaled by the peer/CartPole ratio
of the run that published the figure. Run it after every change to a step, a render or the loop.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import rlsuite  # noqa: F401  (registers our ids)

__all__ = [
    "AGENT_CASES",
    "CASES",
    "CHECKS",
    "FLOORS_PATH",
    "PEERS",
    "check",
    "floors_markdown",
    "load_floors",
    "main",
    "time_agent",
    "time_single",
    "time_vector",
]


@dataclass(frozen=True)
class Case:
    label: str
    env_id: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int = 1024
    single_target: float = 0.0  # [steps/s] from the issues, on the 2-core machine
    vector_target: float = 0.0
    peer: str | None = None  # label of the peer row this case is compared with


PIXELS = {"obs_type": "pixels"}
CASES: tuple[Case, ...] = (
    Case("GridRacetrack", "rlsuite/GridRacetrack-v0", {}, 1024, 50_000, 5_000_000),
    Case(
        "Racetrack state",
        "rlsuite/Racetrack-v0",
        {"obs_type": "state"},
        1024,
        10_000,
        1_000_000,
        "highway-env racetrack-v0",
    ),
    Case(
        "Racetrack pixels 84x84",
        "rlsuite/Racetrack-v0",
        PIXELS,
        256,
        5_000,
        50_000,
        "CarRacing-v3 (96x96 pixels)",
    ),
    Case(
        "Highway state",
        "rlsuite/Highway-v0",
        {"obs_type": "state"},
        1024,
        5_000,
        300_000,
        "highway-env highway-fast-v0",
    ),
    Case(
        "Highway pixels 84x84",
        "rlsuite/Highway-v0",
        PIXELS,
        256,
        3_000,
        30_000,
        "highway-env highway-fast-v0",
    ),
    Case(
        "Reacher state",
        "rlsuite/Reacher-v0",
        {"obs_type": "state"},
        1024,
        15_000,
        2_000_000,
        "MuJoCo Reacher-v5",
    ),
    Case("Reacher pixels 84x84", "rlsuite/Reacher-v0", PIXELS, 256, 5_000, 50_000, "MuJoCo Reacher-v5"),
    Case(
        "Pusher state",
        "rlsuite/Pusher-v0",
        {"obs_type": "state"},
        1024,
        10_000,
        1_000_000,
        "MuJoCo Pusher-v5",
    ),
    Case("Pusher pixels 84x84", "rlsuite/Pusher-v0", PIXELS, 256, 5_000, 50_000, "MuJoCo Pusher-v5"),
)

# label -> (module to import, env id, kwargs); timed only when the module imports.
PEERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "highway-env highway-fast-v0": ("highway_env", "highway-fast-v0", {}),
    "highway-env racetrack-v0": ("highway_env", "racetrack-v0", {}),
    "CarRacing-v3 (96x96 pixels)": ("Box2D", "CarRacing-v3", {}),
    "MuJoCo Reacher-v5": ("mujoco", "Reacher-v5", {}),
    "MuJoCo Pusher-v5": ("mujoco", "Pusher-v5", {}),
}


# --------------------------------------------------------------------------------------------
# Agents
# --------------------------------------------------------------------------------------------
RACETRACK_STATE = {
    "id": "rlsuite/Racetrack-v0",
    "num_envs": 32,
    "kwargs": {"obs_type": "state", "action_type": "discrete"},
}
# Our shipped Racetrack state DQN (experiments/configs/dqn_racetrack_state.yaml), without its
# Double/dueling/prioritised switches (all off there too) so SB3 takes the very same settings.
DQN_RACETRACK = {
    "learning_rate": 5.0e-3,
    "batch_size": 512,
    "buffer_size": 200_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "tau": 1.0,
    "target_update_interval": 2000,
    "train_freq": 2,
    "gradient_steps": 1,
    "exploration_fraction": 0.3,
    "exploration_final_eps": 0.05,
    "max_grad_norm": 10.0,
    "n_steps": 3,
}
# RL Zoo's CartPole DQN: one env, 128 updates of a [256, 256] network every 256 steps.
DQN_CARTPOLE = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
}


@dataclass(frozen=True)
class AgentCase:
    label: str
    config: dict[str, Any]  # env + agent sections of an rlsuite config
    steps: int  # env steps per timing (the quick mode takes a quarter)
    peer: dict[str, Any] | None = None  # the agent section of the peer, on the same env section


AGENT_CASES: tuple[AgentCase, ...] = (
    AgentCase(
        "DQN, Racetrack state, 32 cars",
        {
            "env": RACETRACK_STATE,
            "agent": {"algo": "dqn", **DQN_RACETRACK, "net_arch": [64, 64], "double_q": False},
        },
        16_384,
        {"algo": "sb3.dqn", **DQN_RACETRACK, "policy_kwargs": {"net_arch": [64, 64]}},
    ),
    AgentCase(
        "DQN, CartPole-v1, 1 env (RL Zoo settings)",
        {
            "env": {"id": "CartPole-v1", "num_envs": 1},
            "agent": {"algo": "dqn", **DQN_CARTPOLE, "net_arch": [256, 256], "double_q": False, "n_steps": 1},
        },
        2048,
        {"algo": "sb3.dqn", **DQN_CARTPOLE, "policy_kwargs": {"net_arch": [256, 256]}},
    ),
    AgentCase(
        "Q-learning, GridRacetrack, 1024 envs",
        {
            "env": {"id": "rlsuite/GridRacetrack-v0", "num_envs": 1024},
            "agent": {"algo": "q_learning", "learning_rate": 0.5},
        },
        1_048_576,
    ),
)

SB3_PEER = "Stable-Baselines3"


def time_agent(config: dict[str, Any], steps: int, repeats: int = 3, seed: int = 0) -> float:
    """Best env steps/s of ``agent.learn`` over ``steps`` more steps, after a warm-up past
    ``learning_starts`` (so every timing includes the updates); ours and peers alike."""
    from rlsuite.config import algorithm_class, from_dict
    from rlsuite.training import make_agent_envs, seed_everything

    full = from_dict(
        {
            **config,
            "train": {"total_steps": 10**9, "seed": seed, "device": "cpu", "eval_every": 0},
            "log": {"progress": "none"},
        }
    )
    seed_everything(seed)
    envs = make_agent_envs(full)
    try:
        agent = algorithm_class(full.agent.algo)(full, envs)
        warmup = int(config["agent"].get("learning_starts", 0)) + max(steps // 8, full.env.num_envs)
        agent.learn(warmup)
        best = 0.0
        for _ in range(repeats):
            start_step, start = agent.global_step, time.perf_counter()
            agent.learn(start_step + steps)
            best = max(best, (agent.global_step - start_step) / (time.perf_counter() - start))
    finally:
        envs.close()
    return best


def run_agents(quick: bool, peers: bool, repeats: int) -> tuple[str, list[str]]:
    """Time every agent case (and its SB3 peer) and return the markdown table and missing peers."""
    lines = [
        "| agent | env steps timed | ours steps/s | peer | peer steps/s | ours / peer |",
        "|---|---:|---:|---|---:|---:|",
    ]
    print("\n".join(lines), flush=True)
    have_sb3 = peers and _peer_available("stable_baselines3")
    for case in AGENT_CASES:
        steps = case.steps // 4 if quick else case.steps
        ours = time_agent(case.config, steps, repeats)
        if case.peer is None:
            _emit(lines, f"| {case.label} | {steps:,} | {_fmt(ours)} | none | | |")
        elif not have_sb3:
            _emit(lines, f"| {case.label} | {steps:,} | {_fmt(ours)} | {SB3_PEER}: not installed | | |")
        else:
            theirs = time_agent({**case.config, "agent": case.peer}, steps, repeats)
            _emit(
                lines,
                f"| {case.label} | {steps:,} | {_fmt(ours)} | {SB3_PEER} {case.peer['algo']}, same settings "
                f"| {_fmt(theirs)} | {_ratio(ours / theirs)} |",
            )
    missing = [] if have_sb3 or not peers else [f'{SB3_PEER} (`pip install -e ".[sb3]"`)']
    return "\n".join(lines), missing


# --------------------------------------------------------------------------------------------
# Envs
# --------------------------------------------------------------------------------------------
CHUNK = 16  # single-env steps between clock reads (a slow peer overshoots `seconds` by at most this)


class Timer:
    """One env, built and warmed up once, under random actions drawn before any clock starts; each
    :meth:`run` returns the steps/s of one timing of at least ``seconds`` (the clock read every
    :data:`CHUNK` single steps or every vector step). ``batch=None``: ``gymnasium.make`` (with its
    wrappers, as users get it; reset on done); else ``gymnasium.make_vec`` with ``batch`` sub-envs
    (autoreset)."""

    def __init__(self, env_id: str, kwargs: dict[str, Any], batch: int | None = None, seed: int = 0) -> None:
        self.batch = batch
        with warnings.catch_warnings():  # e.g. highway-env's "racetrack-v0 is out of date"
            warnings.simplefilter("ignore", DeprecationWarning)
            self.env = gym.make(env_id, **kwargs) if batch is None else gym.make_vec(env_id, batch, **kwargs)
        if batch is None:
            self.env.action_space.seed(seed)
            self.actions = [self.env.action_space.sample() for _ in range(4096)]
            self.env.reset(seed=seed)
            self._single(self.actions[:100])  # warm up (numba kernels, caches)
        else:
            self.env.action_space.seed(seed)
            self.actions = [self.env.action_space.sample() for _ in range(16)]
            self.env.reset(seed=seed)
            for action in self.actions:
                self.env.step(action)

    def _single(self, actions: list[Any]) -> None:
        env = self.env
        for action in actions:
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()

    def run(self, seconds: float) -> float:
        steps, start = 0, time.perf_counter()
        if self.batch is None:
            while time.perf_counter() - start < seconds:
                self._single(self.actions[:CHUNK])
                steps += CHUNK
                self.actions = self.actions[CHUNK:] + self.actions[:CHUNK]
        else:
            while time.perf_counter() - start < seconds:
                for action in self.actions:
                    self.env.step(action)
                steps += len(self.actions) * self.batch
        return steps / (time.perf_counter() - start)

    def close(self) -> None:
        self.env.close()


def time_single(
    env_id: str, kwargs: dict[str, Any], seconds: float, repeats: int = 3, seed: int = 0
) -> float:
    """Best steps/s of ``gymnasium.make(env_id, **kwargs)`` under random actions."""
    timer = Timer(env_id, kwargs, None, seed)
    try:
        return max(timer.run(seconds) for _ in range(repeats))
    finally:
        timer.close()


def time_vector(
    env_id: str, kwargs: dict[str, Any], batch: int, seconds: float, repeats: int = 3, seed: int = 0
) -> float:
    """Best steps/s (summed over the batch) of ``gymnasium.make_vec(env_id, batch, **kwargs)``."""
    timer = Timer(env_id, kwargs, batch, seed)
    try:
        return max(timer.run(seconds) for _ in range(repeats))
    finally:
        timer.close()


def _peer_available(module: str) -> bool:
    import importlib

    try:
        importlib.import_module(module)
    except Exception:  # a peer that fails to import is simply not there
        return False
    return True


def _ratio(value: float) -> str:
    if value >= 10:
        return f"{value:,.0f}×"
    return f"{value:.1f}×" if value >= 1 else f"{value:.2g}×"


def _seconds(rate: float) -> str:
    return f"{1.0 / rate:.2f} s"


def _fmt_ratio(value: float | None) -> str:
    return "—" if value is None else _ratio(value)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def run_envs(
    ids: list[str] | None, seconds: float, peers: bool, repeats: int = 3, max_batch: int | None = None
) -> tuple[str, list[str]]:
    """Time every env case (and its peer) and return the markdown tables and the missing peers."""
    registered = set(gym.registry)
    lines = [
        "| env | single steps/s | target | vector steps/s (batch) | target | vector / single | targets met |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    print("\n".join(lines), flush=True)
    results: dict[str, float] = {}
    for case in CASES:
        if ids and case.env_id not in ids:
            continue
        if case.env_id not in registered:
            _emit(
                lines,
                f"| {case.label} | not available | {_fmt(case.single_target)} | — | {_fmt(case.vector_target)} "
                "| — | — |",
            )
            continue
        batch = case.batch if max_batch is None else min(case.batch, max_batch)
        single = time_single(case.env_id, case.kwargs, seconds, repeats)
        vector = time_vector(case.env_id, case.kwargs, batch, seconds, repeats)
        results[case.label] = single
        met = "yes" if single >= case.single_target and vector >= case.vector_target else "**no**"
        if batch != case.batch:
            met = "(smaller batch)"
        _emit(
            lines,
            f"| {case.label} | {_fmt(single)} | {_fmt(case.single_target)} | {_fmt(vector)} ({batch}) "
            f"| {_fmt(case.vector_target)} | {_ratio(vector / single)} | {met} |",
        )
    missing: list[str] = []
    if peers:
        for line in ("", "| peer (single env) | steps/s | our env | ours / peer |", "|---|---:|---|---:|"):
            _emit(lines, line)
        for label, (module, env_id, kwargs) in PEERS.items():
            ours = [c for c in CASES if c.peer == label and c.label in results]
            if not ours:
                continue
            if not _peer_available(module):
                _emit(lines, f"| {label} | not installed | | |")
                missing.append(f"{label} (`{PEER_INSTALL[module]}`)")
                continue
            try:
                speed = time_single(env_id, kwargs, seconds, repeats)  # timed exactly as ours
            except Exception as error:  # report, never crash the whole table
                _emit(lines, f"| {label} | failed: {type(error).__name__} | | |")
                continue
            for case in ours:
                _emit(
                    lines,
                    f"| {label} | {_fmt(speed)} | {case.label} | {_ratio(results[case.label] / speed)} |",
                )
    return "\n".join(lines), missing


PEER_INSTALL = {
    "highway_env": "pip install highway-env",
    "Box2D": "pip install box2d",
    "mujoco": "pip install mujoco",
}


# --------------------------------------------------------------------------------------------
# The speed check: published ratios and their floors (rlsuite/speed_floors.json)
# --------------------------------------------------------------------------------------------
FLOORS_PATH = Path(__file__).with_name("speed_floors.json")


@dataclass(frozen=True)
class Side:
    """One side of a ratio: an env timed by :class:`Timer` (``batch=None``: single env), or with
    ``code``, a fresh ``python -c code`` process timed by :class:`ProcessTimer`."""

    label: str
    env_id: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    batch: int | None = None
    module: str | None = None  # a peer's package: timed only when it imports
    code: str | None = None

    def timer(self) -> Timer | ProcessTimer:
        return (
            ProcessTimer(self.code) if self.code is not None else Timer(self.env_id, self.kwargs, self.batch)
        )


class ProcessTimer:
    """``python -c code`` in a fresh interpreter, in a scratch working directory (removed on close);
    :meth:`run` returns 1 / its wall-clock seconds (so that larger is faster, like steps/s)."""

    def __init__(self, code: str) -> None:
        import tempfile

        self.code = code
        self.scratch = tempfile.TemporaryDirectory(prefix="rlsuite-check-")

    def run(self, seconds: float) -> float:
        import subprocess
        import sys

        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", self.code], cwd=self.scratch.name, check=True, capture_output=True
        )
        return 1.0 / (time.perf_counter() - start)

    def close(self) -> None:
        self.scratch.cleanup()


# The README's main job (`rlsuite train`, the embedded default config) up to its first env step: the
# process ends there (the benchmark patches the vector env's step; nothing in rlsuite does).
FIRST_STEP = """
import os, sys
import gymnasium.vector
import rlsuite.envs.core
def first_step(self, actions):
    os._exit(0)
rlsuite.envs.core.CoreVectorEnv.step = first_step
gymnasium.vector.SyncVectorEnv.step = first_step
from rlsuite.cli import main
main(["train", "log.progress=none"])
sys.exit("the default job ended without stepping an env")
"""


CARTPOLE = Side("CartPole-v1", "CartPole-v1")  # stands in for a peer that is not installed
CLIFF = Side("CliffWalking-v1", "CliffWalking-v1")
CARTPOLE_VEC = Side(
    "CartPoleVectorEnv(1024)", "CartPole-v1", {"vectorization_mode": "vector_entry_point"}, 1024
)
CAR_RACING = Side("CarRacing-v3", "CarRacing-v3", module="Box2D")
MUJOCO_REACHER = Side("MuJoCo Reacher-v5", "Reacher-v5", module="mujoco")
MUJOCO_PUSHER = Side("MuJoCo Pusher-v5", "Pusher-v5", module="mujoco")
HIGHWAY_ENV = Side("highway-env highway-fast-v0", "highway-fast-v0", module="highway_env")
RACETRACK_ENV = Side("highway-env racetrack-v0", "racetrack-v0", module="highway_env")


@dataclass(frozen=True)
class Check:
    key: str  # its row in rlsuite/speed_floors.json
    ours: Side
    peer: Side


def _ours(label: str, env_id: str, batch: int | None = None, **kwargs: Any) -> Side:
    return Side(label, env_id, kwargs, batch)


CHECKS: tuple[Check, ...] = (
    Check("reacher_state", _ours("Reacher state", "rlsuite/Reacher-v0"), MUJOCO_REACHER),
    Check("pusher_state", _ours("Pusher state", "rlsuite/Pusher-v0"), MUJOCO_PUSHER),
    Check("racetrack_state", _ours("Racetrack state", "rlsuite/Racetrack-v0"), RACETRACK_ENV),
    Check("highway_state", _ours("Highway state", "rlsuite/Highway-v0"), HIGHWAY_ENV),
    Check(
        "racetrack_pixels",
        _ours("Racetrack pixels 84x84", "rlsuite/Racetrack-v0", obs_type="pixels"),
        CAR_RACING,
    ),
    Check(
        "highway_pixels", _ours("Highway pixels 84x84", "rlsuite/Highway-v0", obs_type="pixels"), CAR_RACING
    ),
    Check(
        "reacher_pixels", _ours("Reacher pixels 84x84", "rlsuite/Reacher-v0", obs_type="pixels"), CAR_RACING
    ),
    Check("pusher_pixels", _ours("Pusher pixels 84x84", "rlsuite/Pusher-v0", obs_type="pixels"), CAR_RACING),
    Check("grid_racetrack", _ours("GridRacetrack", "rlsuite/GridRacetrack-v0"), CLIFF),
    Check(
        "startup",
        Side("default job to its first env step", code=FIRST_STEP),
        Side('python -c "import torch, gymnasium"', code="import torch, gymnasium"),
    ),
    Check("racetrack_vector", _ours("Racetrack state ×1024", "rlsuite/Racetrack-v0", 1024), CARTPOLE_VEC),
    Check("highway_vector", _ours("Highway state ×1024", "rlsuite/Highway-v0", 1024), CARTPOLE_VEC),
)


def load_floors(path: Path = FLOORS_PATH) -> dict[str, Any]:
    """The table: ``{"measured": {...}, "rows": {key: {"what", "floor", "published", "proxy"}}}``."""
    return json.loads(Path(path).read_text())


def floors_markdown(table: dict[str, Any]) -> str:
    """The published ratios next to their targets and floors, as the README and the env study show
    them (a target not yet met is marked, with its floor: the figure the check holds meanwhile)."""
    lines = [
        "| ours | against | ours / peer | target | check's floor |",
        "|---|---|---:|---:|---:|",
    ]
    for row in table["rows"].values():
        published, target = row["published"], row["target"]
        mark = " (**not met**)" if published is not None and published < target else ""
        lines.append(
            f"| {row['ours']} | {row['peer']} | {_fmt_ratio(published)} | {_ratio(target)}{mark} "
            f"| {_ratio(row['floor'])} |",
        )
    return "\n".join(lines)


def measure_checks(
    checks: tuple[Check, ...], seconds: float, repeats: int, peers: bool = True, proxy: bool = False
) -> dict[str, dict[str, Any]]:
    """Steps/s of both sides of every check (a missing peer replaced by ``CartPole-v1``), timed in
    ``repeats`` interleaved rounds (every side once per round; the best timing of each is kept).
    With ``proxy``, ``CartPole-v1`` is timed too and each row gets ``"proxy"``: ours / CartPole."""
    sides: dict[str, Timer | ProcessTimer] = {}  # by label
    if proxy:
        sides[CARTPOLE.label] = CARTPOLE.timer()
    chosen: dict[str, tuple[Side, Side, bool]] = {}
    for item in checks:
        peer, proxied = item.peer, False
        if peer.module is not None and (not peers or not _peer_available(peer.module)):
            peer, proxied = CARTPOLE, True
        chosen[item.key] = (item.ours, peer, proxied)
        for side in (item.ours, peer):
            if side.label not in sides:
                sides[side.label] = side.timer()
    best = dict.fromkeys(sides, 0.0)
    try:
        for _ in range(repeats):
            for label, timer in sides.items():
                best[label] = max(best[label], timer.run(seconds))
    finally:
        for timer in sides.values():
            timer.close()
    result = {
        key: {
            "ours": best[ours.label],
            "peer": best[peer.label],
            "peer_label": peer.label,
            "proxied": proxied,
        }
        for key, (ours, peer, proxied) in chosen.items()
    }
    if proxy:
        for key, (ours, _, _) in chosen.items():
            result[key]["proxy"] = best[ours.label] / best[CARTPOLE.label]
    return result


def check(
    only: list[str] | None = None, seconds: float = 0.3, repeats: int = 3, peers: bool = True,
    path: Path = FLOORS_PATH,
) -> tuple[bool, str, dict[str, dict[str, Any]]]:  # fmt: skip
    """Measure the checks (``only`` these keys) and compare each ratio with its floor (the issue's
    target, or — where a target is not met yet — a floor under the published figure, so that the
    check still catches a regression).

    Returns ``(all floors held, markdown report, measurements)``."""
    table = load_floors(path)
    rows = table["rows"]
    unknown = sorted(set(only or ()) - {c.key for c in CHECKS})
    if unknown:
        raise ValueError(f"bench --check: unknown check(s) {unknown}; allowed: {[c.key for c in CHECKS]}")
    checks = tuple(c for c in CHECKS if not only or c.key in only)
    measured = measure_checks(checks, seconds, repeats, peers)
    lines = [
        "| ours | steps/s (or time) | against | steps/s (or time) | ours / peer | floor | published "
        "| holds | issue's target |",
        "|---|---:|---|---:|---:|---:|---:|:---:|---:|",
    ]
    ok = True
    for item in checks:
        m, row = measured[item.key], rows[item.key]
        ratio = m["ours"] / m["peer"]
        floor, published = row["floor"], row.get("published")
        if m["proxied"]:  # the floor against CartPole, by the peer/CartPole ratio of the published run
            has_proxy = row.get("proxy") is not None and published
            floor = row["floor"] * row["proxy"] / published if has_proxy else None
            published = row.get("proxy")
        m.update(ratio=ratio, floor=floor)
        holds = floor is None or ratio >= floor
        ok &= holds
        verdict = "yes" if holds else "**NO**"
        if floor is None:
            verdict = "not checked (no published CartPole ratio: install the peer)"
        instead = f" (in place of {item.peer.label})" if m["proxied"] else ""
        speed = _seconds if item.ours.code is not None else _fmt
        lines.append(
            f"| {item.ours.label} | {speed(m['ours'])} | {m['peer_label']}{instead} | {speed(m['peer'])} "
            f"| {_ratio(ratio)} | {_fmt_ratio(floor)} | {_fmt_ratio(published)} | {verdict} "
            f"| {_ratio(row['target'])}{'' if m['proxied'] or ratio >= row['target'] else ' (not met)'} |",
        )
    verdict = "every ratio holds its floor" if ok else "FAILED: a ratio fell below its floor"
    return ok, "\n".join(lines) + f"\n\nSpeed check: {verdict}.", measured


def main(args: argparse.Namespace) -> int:
    import subprocess

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
            cwd=os.path.dirname(__file__),
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    if getattr(args, "check", False):
        return _main_check(args, commit)
    what = args.what or "all"
    repeats = 1 if args.quick else 3
    seconds = 1.0 if args.seconds is None else args.seconds
    seconds = min(seconds, 0.05) if args.quick else seconds
    timing = f"best of {repeats} × {seconds:g} s" if what != "agents" else f"best of {repeats}"
    header = _header(
        commit, f"throughput{' (--quick)' if args.quick else ''}, {timing} for ours and the peers alike"
    )
    print(header, flush=True)
    sections, missing = [], []
    if what in ("envs", "all"):
        print("## Envs (random actions)\n", flush=True)
        table, lost = run_envs(args.ids, seconds, args.peers, repeats, 64 if args.quick else None)
        sections.append("## Envs (random actions)\n\n" + table)
        missing += lost
    if what in ("agents", "all"):
        print("\n## Agents (training env steps/s, updates included)\n", flush=True)
        table, lost = run_agents(args.quick, args.peers, repeats)
        sections.append("## Agents (training env steps/s, updates included)\n\n" + table)
        missing += lost
    if missing:
        sections.append("Peers not installed (their rows are empty): " + "; ".join(missing) + ".")
    elif not args.peers:
        sections.append("Peers not timed (`--no-peers`).")
    notes = sections[2 if what == "all" else 1 :]
    print("\n" + "\n\n".join(notes) if notes else "", flush=True)  # the tables were printed row by row
    _write(header + "\n" + "\n\n".join(sections) + "\n", args.output)
    return 0


def _header(commit: str, what: str) -> str:
    import datetime
    import platform
    import sys

    return (
        f"rlsuite {rlsuite.__version__} (commit {commit}) {what}; {datetime.date.today()}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, no GPU used, "
        f"numpy {np.__version__}, gymnasium {gym.__version__}\n\n"
        f"`{' '.join(['rlsuite', *sys.argv[1:]])}`\n"
    )


def _emit(lines: list[str], line: str) -> None:
    """Add ``line`` to a table and print it at once (a long run shows its rows as they are measured)."""
    lines.append(line)
    print(line, flush=True)


def _write(report: str, output: str | None) -> None:
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(report)


def _busy_cores() -> float | None:
    """The 1-minute load average when other work holds at least one core (the check itself holds
    one), else None; None where the platform has no load average."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    return load if load >= 2.0 else None


def _main_check(args: argparse.Namespace, commit: str) -> int:
    repeats = 3
    seconds = args.seconds if args.seconds is not None else 0.3
    header = _header(commit, f"speed check, best of {repeats} interleaved rounds × {seconds:g} s per side")
    print(header, flush=True)
    ok, table, _ = check(args.only, seconds, repeats, args.peers)
    load = _busy_cores()
    if load is not None:  # ours and the peer alternate, but a busy machine still widens the noise
        table += (
            f"\n\nThe machine was busy (load average {load:.1f} on {os.cpu_count()} cores): ratios move more "
            "than usual; rerun on a quiet machine before reading a failure as a regression."
        )
    print(table)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(header + "\n" + table + "\n")
    return 0 if ok else 1
