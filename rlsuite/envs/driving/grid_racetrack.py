"""The racetrack of Sutton & Barto (2018), exercise 5.12, as a tabular env with a native vector env.

The whole dynamics is precomputed at construction into two lookup tables over
``(state, action)`` — the next state and the outcome (move / crash / finish) — so a step of a
batch of any size is a handful of numpy gathers. The single env is the batch of one.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from rlsuite.envs.rng import BatchRNG, row_seeds

__all__ = ["GridRacetrackEnv", "GridRacetrackVectorEnv", "TRACKS"]

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
                f"track: unknown name {track!r}; allowed: {', '.join(TRACKS)} or a list of strings"
            )
        track = TRACKS[track]
    if not isinstance(track, (list, tuple)) or not track or not all(isinstance(r, str) for r in track):
        raise ValueError(f"track: expected a track name or a list of equal-length strings, got {track!r}")
    if len({len(r) for r in track}) != 1:
        raise ValueError("track: all rows of a custom track must have the same length")
    bad = {c for row in track for c in row} - set(_CHARS)
    if bad:
        raise ValueError(
            f"track: unknown characters {sorted(bad)}; allowed: '.' off, 'o' road, 'S' start, 'F' finish"
        )
    grid = np.array([[_CHARS[c] for c in row] for row in track], dtype=np.int8)
    if not (grid == START).any() or not (grid == GOAL).any():
        raise ValueError("track: a custom track needs at least one start cell 'S' and one finish cell 'F'")
    return grid


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


class _GridRacetrackCore:
    """The batched state shared by the single and the vector env."""

    def __init__(self, num_envs: int, track: str | list[str], noise: float) -> None:
        if not (isinstance(noise, (int, float)) and 0.0 <= noise <= 1.0):
            raise ValueError(f"noise: expected a probability in [0, 1], got {noise!r}")
        self.dynamics = _Dynamics(_parse_track(track))
        self.noise = float(noise)
        self.num_envs = num_envs
        self.rows = np.arange(num_envs)
        self.state = np.zeros(num_envs, dtype=np.int64)
        self.crashes = np.zeros(num_envs, dtype=np.int64)
        self.rng = BatchRNG(num_envs)
        self.seeded = np.zeros(num_envs, dtype=bool)

    def reset_rows(self, rows: np.ndarray, seeds: np.ndarray | None, np_random: np.random.Generator) -> None:
        if seeds is not None:
            self.rng.seed(rows, seeds)
            self.seeded[rows] = True
        unseeded = rows[~self.seeded[rows]]
        if len(unseeded):
            self.rng.seed(unseeded, row_seeds(None, len(unseeded), np_random))
            self.seeded[unseeded] = True
        starts = self.dynamics.start_states
        self.state[rows] = starts[self.rng.integers(rows, 0, len(starts))]
        self.crashes[rows] = 0

    def step(self, actions: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance ``rows`` with ``actions``; returns the (crashed, finished) masks of those rows."""
        if self.noise > 0.0:  # the increments fail (are zero) with probability `noise`
            actions = np.where(self.rng.uniform(rows) < self.noise, NO_OP, actions)
        state = self.state[rows]
        next_state = self.dynamics.transition.take(state * N_ACTIONS + actions)
        crashed = next_state == _CRASH_CODE
        finished = next_state == _FINISH_CODE
        if crashed.any():  # back to a random cell of the start line, standing still
            starts = self.dynamics.start_states
            next_state[crashed] = starts[self.rng.integers(rows[crashed], 0, len(starts))]
            self.crashes[rows[crashed]] += 1
        next_state[finished] = state[finished]  # the episode ends; the car stays where it was
        self.state[rows] = next_state
        return crashed, finished

    def render(self, index: int, cell_px: int = 12) -> np.ndarray:
        colors = np.array([[40, 120, 40], [120, 120, 120], [200, 60, 60], [240, 240, 240]], dtype=np.uint8)
        image = colors[self.dynamics.grid]
        cells, _, _ = self.dynamics.decode(self.state[index : index + 1])
        image[cells[0, 0], cells[0, 1]] = (30, 60, 220)
        return np.repeat(np.repeat(image, cell_px, axis=0), cell_px, axis=1)


def _check_action(action: Any) -> int:
    try:
        value = int(action)
    except (TypeError, ValueError):
        raise ValueError(f"action: expected an integer in [0, {N_ACTIONS}), got {action!r}") from None
    if value != action or not 0 <= value < N_ACTIONS:
        raise ValueError(f"action: expected an integer in [0, {N_ACTIONS}), got {action!r}")
    return value


class GridRacetrackEnv(gym.Env[np.int64, np.int64]):
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
    * ``track``: ``"classic"`` (32×18, the book's left track), ``"wide"`` (29×33, the book's right
      track) or a custom map as a list of equal-length strings of ``.`` off-road, ``o`` road,
      ``S`` start, ``F`` finish.
    * ``noise``: probability that the velocity increments fail, in ``[0, 1]``; default 0
      (deterministic).
    * ``render_mode``: ``None`` or ``"rgb_array"`` (an image of the track and the car).

    ## Info
    ``crashed`` (the step ended in a crash), ``crashes`` (crashes so far this episode),
    ``reward_time`` (the -1 step cost).

    ## Version history
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        track: str | list[str] = "classic",
        noise: float = 0.0,
        render_mode: str | None = None,
        max_episode_steps: int | None = None,  # applied by gymnasium's TimeLimit; accepted for symmetry
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None, 'rgb_array'")
        self.render_mode = render_mode
        self._core = _GridRacetrackCore(1, track, noise)
        self._row = np.zeros(1, dtype=np.int64)
        self._action = np.zeros(1, dtype=np.int64)
        self.observation_space = gym.spaces.Discrete(self._core.dynamics.n_states)
        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self.track = track

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict]:
        super().reset(seed=seed)
        seeds = None if seed is None else row_seeds(seed, 1, self.np_random)
        self._core.reset_rows(self._row, seeds, self.np_random)
        start_index = None if options is None else options.get("start_index")
        if start_index is not None:  # start on a chosen cell of the start line (e.g. to test a policy)
            starts = self._core.dynamics.start_states
            if not (isinstance(start_index, (int, np.integer)) and 0 <= start_index < len(starts)):
                raise ValueError(
                    f"options['start_index']: expected an integer in [0, {len(starts)}), got {start_index!r}"
                )
            self._core.state[0] = starts[start_index]
        return np.int64(self._core.state[0]), {"crashed": False, "crashes": 0}

    def step(self, action: Any) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        self._action[0] = _check_action(action)
        crashed, finished = self._core.step(self._action, self._row)
        info = {"crashed": bool(crashed[0]), "crashes": int(self._core.crashes[0]), "reward_time": -1.0}
        return np.int64(self._core.state[0]), -1.0, bool(finished[0]), False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._core.render(0)
        return None

    def decode(self, state: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((row, col), (vy, vx))`` of an observation."""
        cells, vy, vx = self._core.dynamics.decode(np.array([state]))
        return (int(cells[0, 0]), int(cells[0, 1])), (int(vy[0]), int(vx[0]))

    @property
    def start_states(self) -> np.ndarray:
        """The observations of the start line (one per start cell, standing still)."""
        return self._core.dynamics.start_states.copy()


class GridRacetrackVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` grid racetracks stepped together; equal to as many :class:`GridRacetrackEnv`.

    NEXT_STEP autoreset; ``reset(options={"reset_mask": mask})`` resets only the masked sub-envs.
    Sub-env ``i`` of ``reset(seed=s)`` starts like ``GridRacetrackEnv().reset(seed=s + i)``.
    Truncates at ``max_episode_steps`` (injected by ``gymnasium.make_vec`` from the registration).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        track: str | list[str] = "classic",
        noise: float = 0.0,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if not (isinstance(num_envs, (int, np.integer)) and num_envs >= 1):
            raise ValueError(f"num_envs: expected an integer >= 1, got {num_envs!r}")
        if max_episode_steps is not None and not (
            isinstance(max_episode_steps, int) and max_episode_steps >= 1
        ):
            raise ValueError(
                f"max_episode_steps: expected None or an integer >= 1, got {max_episode_steps!r}"
            )
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: got {render_mode!r}; allowed: None, 'rgb_array'")
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps
        self._core = _GridRacetrackCore(self.num_envs, track, noise)
        self.single_observation_space = gym.spaces.Discrete(self._core.dynamics.n_states)
        self.single_action_space = gym.spaces.Discrete(N_ACTIONS)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._all = np.arange(self.num_envs)
        self._steps = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self._rewards = np.full(self.num_envs, -1.0)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            rows = self._all
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise ValueError(
                    f"reset_mask: expected a bool array of shape ({self.num_envs},), got {mask!r}"
                )
            rows = np.flatnonzero(mask)
        seeds = None if seed is None else row_seeds(seed, self.num_envs, self.np_random)[rows]
        self._core.reset_rows(rows, seeds, self.np_random)
        self._steps[rows] = 0
        self._prev_done[rows] = False
        return self._core.state.copy(), {}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,) or not np.issubdtype(actions.dtype, np.integer):
            raise ValueError(
                f"actions: expected {self.num_envs} integers in [0, {N_ACTIONS}) (shape ({self.num_envs},)), "
                f"got shape {actions.shape} dtype {actions.dtype}"
            )
        if actions.min() < 0 or actions.max() >= N_ACTIONS:
            raise ValueError(f"actions: every action must be in [0, {N_ACTIONS}), got {actions!r}")
        rewards = self._rewards.copy()
        terminated = np.zeros(self.num_envs, dtype=bool)
        crashed = np.zeros(self.num_envs, dtype=bool)
        if self._prev_done.any():  # NEXT_STEP autoreset: these rows reset and ignore their action
            resetting = np.flatnonzero(self._prev_done)
            self._core.reset_rows(resetting, None, self.np_random)
            self._steps[resetting] = 0
            rewards[resetting] = 0.0
            live = np.flatnonzero(~self._prev_done)
            crashed[live], terminated[live] = self._core.step(actions[live], live)
        else:
            crashed, terminated = self._core.step(actions, self._all)
            live = self._all
        self._steps[live] += 1
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:
            truncated = (self._steps >= self.max_episode_steps) & ~terminated & ~self._prev_done
        self._prev_done = terminated | truncated
        infos = {"crashed": crashed, "_crashed": np.ones(self.num_envs, dtype=bool)}
        return self._core.state.copy(), rewards, terminated, truncated, infos

    def render(self) -> np.ndarray | None:
        if self.render_mode == "rgb_array":
            return self._core.render(0)
        return None
