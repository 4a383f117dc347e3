"""The racetrack of Sutton & Barto (2018), exercise 5.12, as a tabular env with a native vector env.

The whole dynamics is precomputed at construction into two lookup tables over
``(state, action)`` — the next state and the outcome (move / crash / finish) — so a step of a
batch of any size is one compiled pass of table lookups. The single env is the batch of one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from numba import njit

from rlsuite.envs.core import (
    BatchCore,
    CoreEnv,
    CoreVectorEnv,
    EnvKwargs,
    TaskMetric,
    check_int,
    kwarg,
    number,
)
from rlsuite.envs.rng import next_integer, next_unit

__all__ = [
    "GridRacetrackConfig",
    "GridRacetrackEnv",
    "GridRacetrackVectorEnv",
    "TRACKS",
    "greedy_paths",
    "plot_policy",
]

MAX_SPEED = 4  # velocity components are in {0, ..., 4} (cells per step)
N_SPEEDS = MAX_SPEED + 1
N_ACTIONS = 9
NO_OP = 4  # the action whose increments are (0, 0)
MOVE, CRASH, FINISH = 0, 1, 2
_CRASH_CODE, _FINISH_CODE = -2, -3  # in _Dynamics.transition, where a next state would be

OFF, ROAD, START, GOAL = 0, 1, 2, 3
_CHARS = {".": OFF, "o": ROAD, "S": START, "F": GOAL}


def _track_from_bounds(
    left: list[int], right: list[int], finish_rows: int, start: tuple[int, int]
) -> list[str]:
    """ASCII map from per-row inclusive road bounds; the finish line is the column right of the top rows."""
    width = max(right) + 2
    rows = []
    for r, (lo, hi) in enumerate(zip(left, right)):
        row = ["."] * width
        row[lo : hi + 1] = ["o"] * (hi - lo + 1)
        if r < finish_rows:
            row[hi + 1] = "F"
        rows.append("".join(row))
    last = list(rows[-1])
    last[start[0] : start[1] + 1] = ["S"] * (start[1] - start[0] + 1)
    rows[-1] = "".join(last)
    return rows


# Two tracks shaped like Figure 5.5 of the book: drive up from the start line (bottom row, "S"),
# then turn right to the finish line (the "F" column at the right end of the top rows).
TRACKS: dict[str, list[str]] = {
    "classic": _track_from_bounds(
        left=[3, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3],
        right=[16] * 6 + [9] + [8] * 25,
        finish_rows=6,
        start=(3, 8),
    ),
    "wide": _track_from_bounds(
        left=[
            16,
            13,
            12,
            11,
            11,
            11,
            11,
            12,
            13,
            14,
            14,
            13,
            12,
            11,
            10,
            9,
            8,
            7,
            6,
            5,
            4,
            3,
            2,
            1,
            0,
            0,
            0,
            0,
            0,
        ],
        right=[31] * 9 + [26, 25, 24] + [23] * 17,
        finish_rows=9,
        start=(0, 23),
    ),
}


def _parse_track(track: str | list[str]) -> np.ndarray:
    if isinstance(track, str):
        if track not in TRACKS:
            raise ValueError(
                f"GridRacetrack: track must be one of {tuple(TRACKS)} or a list of strings, got {track!r}"
            )
        track = TRACKS[track]
    if not isinstance(track, (list, tuple)) or not track or not all(isinstance(r, str) for r in track):
        raise ValueError(
            f"GridRacetrack: track must be a track name or a list of equal-length strings, got {track!r}"
        )
    if len({len(r) for r in track}) != 1:
        raise ValueError("GridRacetrack: track must have rows of equal length (a custom map)")
    bad = {c for row in track for c in row} - set(_CHARS)
    if bad:
        raise ValueError(
            f"GridRacetrack: track has unknown characters {sorted(bad)}; "
            "allowed: '.' off, 'o' road, 'S' start, 'F' finish"
        )
    grid = np.array([[_CHARS[c] for c in row] for row in track], dtype=np.int8)
    if not (grid == START).any() or not (grid == GOAL).any():
        raise ValueError("GridRacetrack: track must have at least one start cell 'S' and one finish cell 'F'")
    return grid


def _check_track(env: str, name: str, track: Any) -> str | tuple[str, ...]:
    """A track name, or a custom map (kept as a tuple of its rows)."""
    _parse_track(track)
    return track if isinstance(track, str) else tuple(track)


@dataclass(frozen=True)
class GridRacetrackConfig(EnvKwargs):
    """The kwargs of the GridRacetrack envs with their defaults and bounds (see :class:`GridRacetrackEnv`)."""

    env_name: ClassVar[str] = "GridRacetrack"

    track: str | tuple[str, ...] = kwarg("classic", _check_track)
    noise: float = kwarg(0.0, number(0.0, 1.0))  # probability that the velocity increments fail


@njit(cache=True)
def _step_row(
    b, state, action, transition, start_states, rng_state, noise, crashes, steps
):  # fmt: skip  # pragma: no cover - compiled
    """Step row ``b`` in place, counting its ``steps``; return (crashed, finished, steps to finish:
    the row's ``steps`` if it finished, else inf).

    With ``noise``, the row's increments fail (the action becomes ``NO_OP``) with that probability;
    a crash puts the car back on a random cell of the start line, standing still (one draw each
    from the row's own stream); at the finish the car stays where it was and the episode ends."""
    steps[b] += 1
    if noise > 0.0 and next_unit(rng_state, b) < noise:
        action = NO_OP
    next_state = transition[state[b] * N_ACTIONS + action]
    if next_state == _CRASH_CODE:
        state[b] = start_states[next_integer(rng_state, b, 0, start_states.shape[0])]
        crashes[b] += 1
        return True, False, np.inf
    if next_state == _FINISH_CODE:
        return False, True, float(steps[b])
    state[b] = next_state
    return False, False, np.inf


@njit(cache=True)
def _step_kernel(
    state, actions, active, transition, start_states, rng_state, noise, crashes, steps, crashed, finished,
    steps_to_finish,
):  # fmt: skip  # pragma: no cover - compiled
    """Step the ``active`` rows in place (:func:`_step_row`); fill ``crashed``, ``finished`` and
    ``steps_to_finish`` (False, False and inf where inactive)."""
    for b in range(state.shape[0]):
        if active[b]:
            crashed[b], finished[b], steps_to_finish[b] = _step_row(
                b, state, actions[b], transition, start_states, rng_state, noise, crashes, steps
            )
        else:
            crashed[b], finished[b], steps_to_finish[b] = False, False, np.inf


class _Dynamics:
    """Lookup tables of the deterministic dynamics, built once per track."""

    def __init__(self, grid: np.ndarray) -> None:
        self.grid = grid
        self.cells = np.argwhere((grid == ROAD) | (grid == START))  # (n_cells, 2) of (row, col)
        cell_index = -np.ones(grid.shape, dtype=np.int64)
        cell_index[self.cells[:, 0], self.cells[:, 1]] = np.arange(len(self.cells))
        self.n_states = len(self.cells) * N_SPEEDS * N_SPEEDS
        start_cells = cell_index[grid == START]
        self.start_states = np.sort(start_cells) * N_SPEEDS * N_SPEEDS  # velocity (0, 0)
        height, width = grid.shape
        # Every (state, action) pair at once: arrays of shape (n_states, N_ACTIONS).
        states = np.arange(self.n_states)[:, None]
        actions = np.arange(N_ACTIONS)[None, :]
        cell, vy, vx = states // (N_SPEEDS * N_SPEEDS), (states // N_SPEEDS) % N_SPEEDS, states % N_SPEEDS
        row, col = self.cells[cell, 0], self.cells[cell, 1]
        new_vy = np.clip(vy + actions // 3 - 1, 0, MAX_SPEED)
        new_vx = np.clip(vx + actions % 3 - 1, 0, MAX_SPEED)
        # The car may stand still only on the start line: elsewhere that increment is ignored.
        stopped = (new_vy == 0) & (new_vx == 0) & (grid[row, col] != START)
        new_vy = np.where(stopped, vy, new_vy)
        new_vx = np.where(stopped, vx, new_vx)
        # Walk the path at two points per cell crossed; the first finish or off-road cell decides.
        samples = 2 * np.maximum(new_vy, new_vx)
        row, col = np.broadcast_to(row, samples.shape), np.broadcast_to(col, samples.shape)
        outcome = np.full(row.shape, MOVE, dtype=np.int8)
        end_row, end_col = row.copy(), col.copy()
        for k in range(1, 2 * MAX_SPEED + 1):
            active = (k <= samples) & (outcome == MOVE)
            frac = k / np.maximum(samples, 1)
            r = np.floor(row - new_vy * frac + 0.5).astype(np.int64)
            c = np.floor(col + new_vx * frac + 0.5).astype(np.int64)
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            kind = np.where(inside, grid[np.clip(r, 0, height - 1), np.clip(c, 0, width - 1)], OFF)
            outcome[active & (kind == OFF)] = CRASH
            outcome[active & (kind == GOAL)] = FINISH
            moved = active & (kind != OFF) & (kind != GOAL)
            end_row[moved], end_col[moved] = r[moved], c[moved]
        self.outcome = outcome
        next_state = (np.maximum(cell_index[end_row, end_col], 0) * N_SPEEDS + new_vy) * N_SPEEDS + new_vx
        # crash and finish states are filled in at run time
        self.next_state = np.where(outcome == MOVE, next_state, -1).astype(np.int64)
        # One flat table for the step: the next state, or a negative code for a crash / the finish.
        codes = np.where(outcome == CRASH, _CRASH_CODE, _FINISH_CODE)
        self.transition = np.where(outcome == MOVE, self.next_state, codes).reshape(-1)

    def decode(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(row, col)`` cells and ``(vy, vx)`` velocities of a batch of states."""
        cell = states // (N_SPEEDS * N_SPEEDS)
        return self.cells[cell], (states // N_SPEEDS) % N_SPEEDS, states % N_SPEEDS


class GridRacetrackCore(BatchCore):
    """``batch`` grid racetracks: one integer state per row (see :class:`GridRacetrackEnv`)."""

    name = "GridRacetrack"
    kwargs_class = GridRacetrackConfig
    render_fps = 10
    reset_options = ("start_index",)
    task_metrics = (
        TaskMetric("finish_rate", "finished", "any", "episodes that crossed the finish line"),
        TaskMetric("steps_to_finish", "steps_to_finish", "last", "steps to the finish; NaN if not reached"),
        TaskMetric(
            "crashes", "crashes", "last", "crashes in the episode (each restarts from the start line)"
        ),
    )

    def __init__(self, batch: int, **kwargs: Any) -> None:
        super().__init__(batch)
        self.config = GridRacetrackConfig.from_kwargs(kwargs)
        self.dynamics = _Dynamics(_parse_track(self.config.track))
        self.noise = self.config.noise
        self.single_observation_space = gym.spaces.Discrete(self.dynamics.n_states)
        self.single_action_space = gym.spaces.Discrete(N_ACTIONS)
        self.state = np.zeros(batch, dtype=np.int64)
        self.crashes = np.zeros(batch, dtype=np.int64)
        self.steps = np.zeros(batch, dtype=np.int64)  # steps since the reset
        self._all_active = np.ones(batch, dtype=bool)
        self._step_cost = np.full(batch, -1.0)  # the reward of every step

    def reset_rows(self, rows: np.ndarray, options: dict[str, Any]) -> None:
        starts = self.dynamics.start_states
        self.state[rows] = starts[self.rng.integers(rows, 0, len(starts))]
        self.crashes[rows] = 0
        self.steps[rows] = 0
        start_index = options.get("start_index")
        if start_index is not None:  # start on a chosen cell of the start line (e.g. to test a policy)
            index = check_int(self.name, "options['start_index']", start_index, 0, len(starts) - 1)
            self.state[rows] = starts[index]

    def upgrade_snapshot(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Snapshots from before the task metrics lack the step counter (the env's steps since each row's reset)."""
        if "core.steps" not in arrays and "env._elapsed" in arrays:
            arrays["core.steps"] = np.asarray(arrays["env._elapsed"], dtype=np.int64).copy()
        return arrays

    def reset_info(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The step info's keys with neutral values: not crashed, no crashes, not finished, no step cost."""
        n = len(rows)
        return {
            "crashed": np.zeros(n, dtype=bool),
            "crashes": self.crashes[rows],
            "reward_time": np.zeros(n),
            "finished": np.zeros(n, dtype=bool),
            "steps_to_finish": np.full(n, np.inf),
        }

    def step(
        self, actions: np.ndarray, active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        flags = np.empty((3, self.batch), dtype=bool)  # crashed, finished (terminated), finished (info)
        steps_to_finish = np.empty(self.batch)
        _step_kernel(
            self.state, actions, self._all_active if active is None else active, self.dynamics.transition,
            self.dynamics.start_states, self.rng.state, self.noise, self.crashes, self.steps, flags[0], flags[1],
            steps_to_finish,
        )  # fmt: skip
        flags[2] = flags[1]
        info = {
            "crashed": flags[0],
            "crashes": self.crashes.copy(),
            "reward_time": self._step_cost.copy(),
            "finished": flags[2],
            "steps_to_finish": steps_to_finish,
        }
        return self._step_cost.copy(), flags[1], info

    def step_one(self, actions: np.ndarray) -> tuple[float, bool, dict[str, Any]]:
        """The single env's step (:meth:`BatchCore.step_one`): row 0 stepped by :func:`_step_row`
        directly, its info built from Python scalars (no per-step arrays)."""
        crashed, finished, steps_to_finish = _step_row(
            0, self.state, actions[0], self.dynamics.transition, self.dynamics.start_states, self.rng.state,
            self.noise, self.crashes, self.steps,
        )  # fmt: skip
        cost = self._step_cost.item(0)
        info = {
            "crashed": crashed,
            "crashes": self.crashes.item(0),
            "reward_time": cost,
            "finished": finished,
            "steps_to_finish": steps_to_finish,
        }
        return cost, finished, info

    def observe(self) -> np.ndarray:
        return self.state.copy()

    def plot_policy(
        self,
        state_values: np.ndarray,
        policy: Callable[[int], int],
        path: str | Path,
        title: str = "",
    ) -> Path | None:
        """The values on this track (best over velocities per cell) and ``policy``'s greedy path from
        every start cell, without noise (:func:`plot_policy`); ``None`` without matplotlib."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return None
        return plot_policy(state_values, policy, path, track=self.config.track, title=title)

    def frames(self, rows: np.ndarray, cell_px: int = 12) -> np.ndarray:
        """The track (green off-road, grey road, red start, white finish) and the car (blue), per row."""
        colors = np.array([[40, 120, 40], [120, 120, 120], [200, 60, 60], [240, 240, 240]], dtype=np.uint8)
        images = np.repeat(colors[self.dynamics.grid][None], len(rows), axis=0)
        cells, _, _ = self.dynamics.decode(self.state[rows])
        images[np.arange(len(rows)), cells[:, 0], cells[:, 1]] = (30, 60, 220)
        return np.repeat(np.repeat(images, cell_px, axis=1), cell_px, axis=2)


class GridRacetrackEnv(CoreEnv):
    """The racetrack of Sutton & Barto, *Reinforcement Learning: An Introduction* (2nd ed.), ex. 5.12.

    A car drives on a grid track from the start line (bottom row) to the finish line (the column
    right of the top rows). Its position and velocity are discrete; each step it may change each
    velocity component by -1, 0 or +1.

    ## Action space
    ``Discrete(9)``: action ``a`` adds ``(a // 3 - 1, a % 3 - 1)`` to the velocity
    ``(vy, vx)`` (``vy`` upward, ``vx`` rightward). Both components stay in ``{0, ..., 4}``; an
    increment that would stop the car off the start line is ignored (the book's rule that the
    velocity is zero only on the start line). Action 4 is "no change".

    ## Observation space
    ``Discrete(n_cells * 25)``: ``state = (cell * 5 + vy) * 5 + vx``, where ``cell`` indexes the
    road and start cells in row-major order (see :meth:`decode`).

    ## Transition
    The car moves ``vy`` rows up and ``vx`` columns right. Its path is checked at two points per
    cell crossed: if it reaches a finish cell the episode terminates; if it leaves the road first
    (crash), the car is put back on a random start cell with velocity ``(0, 0)`` and the episode
    goes on (``info["crashed"]``). With ``noise > 0`` (the book uses 0.1), both increments are zero
    with that probability, whatever the action.

    ## Reward
    -1 per step, the finishing step included; the return is minus the time to finish.

    ## Starting state
    A uniformly random start cell, velocity ``(0, 0)``; ``reset(options={"start_index": k})`` starts
    on the ``k``-th start cell (left to right) instead.

    ## Episode end
    Terminated on crossing the finish line; truncated at ``max_episode_steps`` (1000 when made with
    ``gymnasium.make``).

    ## Arguments
    (Declared once, with their bounds, in :class:`GridRacetrackConfig`.)

    * ``track``: ``"classic"`` (32×18, the book's left track), ``"wide"`` (29×33, the book's right
      track) or a custom map as a list of equal-length strings of ``.`` off-road, ``o`` road,
      ``S`` start, ``F`` finish.
    * ``noise``: probability that the velocity increments fail, in ``[0, 1]``; default 0
      (deterministic).
    * ``render_mode``: ``None``, ``"rgb_array"`` (an image of the track and the car, 12 px per
      cell) or ``"human"`` (that image in a pygame window).

    ## Info
    ``crashed`` (bool: the step ended in a crash), ``crashes`` (int: crashes so far this episode),
    ``reward_time`` (float: the -1 step cost), ``finished`` (bool: the step crossed the finish line),
    ``steps_to_finish`` (float: the episode's step count on the step that finishes, inf on every
    other step). ``reset()`` returns the same keys and types: ``crashed=False``, ``crashes=0``,
    ``reward_time=0.0``, ``finished=False``, ``steps_to_finish=inf``.

    ## Task metrics
    Per episode (:attr:`~rlsuite.envs.core.BatchCore.task_metrics`, reported by every evaluation as
    ``eval/<name>``): ``finish_rate`` (any ``finished``), ``steps_to_finish`` (``steps_to_finish`` at
    the last step: the episode's length if it finished, NaN if it was truncated first) and
    ``crashes`` (``crashes`` at the last step).

    ## Version history
    * v0: initial version.
    """

    core_class = GridRacetrackCore

    def decode(self, state: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((row, col), (vy, vx))`` of an observation."""
        cells, vy, vx = self.core.dynamics.decode(np.array([state]))
        return (int(cells[0, 0]), int(cells[0, 1])), (int(vy[0]), int(vx[0]))

    @property
    def start_states(self) -> np.ndarray:
        """The observations of the start line (one per start cell, standing still)."""
        return self.core.dynamics.start_states.copy()


class GridRacetrackVectorEnv(CoreVectorEnv):
    """``num_envs`` grid racetracks stepped together, with the semantics of Gymnasium's
    ``SyncVectorEnv`` over :class:`GridRacetrackEnv` (:mod:`rlsuite.envs.core`)."""

    core_class = GridRacetrackCore


# --------------------------------------------------------------------------------------------
# Pictures of a policy on the track
# --------------------------------------------------------------------------------------------
def greedy_paths(
    policy: Callable[[int], int], track: str | list[str] = "classic", max_steps: int = 200
) -> list[dict[str, Any]]:
    """Roll ``policy`` (observation -> action) from every start cell of the noise-free track."""
    env = GridRacetrackEnv(track=track, noise=0.0)
    paths = []
    for k in range(len(env.start_states)):
        obs, _ = env.reset(seed=0, options={"start_index": k})
        cells, finished, crashes = [env.decode(obs)[0]], False, 0
        for _ in range(max_steps):
            obs, _, finished, _, info = env.step(policy(int(obs)))
            crashes += info["crashed"]
            cells.append(env.decode(obs)[0])
            if finished:
                break
        paths.append(
            {"cells": cells, "finished": bool(finished), "steps": len(cells) - 1, "crashes": crashes}
        )
    return paths


def plot_policy(
    state_values: np.ndarray,
    policy: Callable[[int], int],
    out_path: str | Path,
    track: str | list[str] = "classic",
    title: str = "",
) -> Path:
    """PNG heat map of ``state_values`` (one per observation; NaN = unknown; best over velocities per
    cell) with ``policy``'s greedy path from every start cell. Needs matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dynamics = _Dynamics(_parse_track(track))
    values = np.asarray(state_values, dtype=np.float64).reshape(len(dynamics.cells), N_SPEEDS * N_SPEEDS)
    with np.errstate(all="ignore"):
        best = np.where(
            np.isnan(values).all(axis=1),
            np.nan,
            np.nanmax(np.where(np.isnan(values), -np.inf, values), axis=1),
        )
    heat = np.full(dynamics.grid.shape, np.nan)
    heat[dynamics.cells[:, 0], dynamics.cells[:, 1]] = best
    paths = greedy_paths(policy, track)
    fig, ax = plt.subplots(figsize=(6, 8))
    ax.imshow(np.where(dynamics.grid == OFF, 0.0, 1.0), cmap="Greys_r", alpha=0.3)
    image = ax.imshow(heat, cmap="viridis")
    fig.colorbar(image, ax=ax, label="state value, best velocity")
    goal = np.argwhere(dynamics.grid == GOAL)
    ax.scatter(goal[:, 1], goal[:, 0], marker="s", color="white", s=30, label="finish")
    for p in paths:
        cells = np.array(p["cells"])
        ax.plot(cells[:, 1], cells[:, 0], "-o", color="orange" if p["finished"] else "red", ms=2, lw=1)
    done = sum(p["finished"] for p in paths)
    ax.set_title(
        f"{title}: greedy paths from every start ({done}/{len(paths)} finish)".lstrip(": "), fontsize=10
    )
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
    return Path(out_path)
