"""The batched core of ``rlsuite/Racetrack-v0`` (:class:`RacetrackCore`): ``batch`` cars, each on
its own copy of (or its own) track, stepped together. :mod:`rlsuite.envs.core` builds the single
env and the native vector env over it (see :mod:`rlsuite.envs.driving.racetrack` for the spec).

A step is one numba kernel call over the rows (:func:`rlsuite.envs.driving.racetrack_kernels._step_rows`):
the bicycle model of :mod:`rlsuite.envs.driving.vehicle`, the foot on the centre line, look-ahead and
lidar, progress and reward, and the state observation, which :meth:`RacetrackCore.observe` then hands
out; the egocentric view is another kernel. Resets are numpy, then the same kernel for the frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from rlsuite.envs import render
from rlsuite.envs.core import (
    MAX_REWARD_WEIGHT,
    BatchCore,
    EnvKwargs,
    TaskMetric,
    boolean,
    image_shape,
    integer,
    kwarg,
    number,
    one_of,
)
from rlsuite.envs.driving import tracks as track_lib
from rlsuite.envs.driving.racetrack_kernels import (
    CAR,
    CAR_BODY,
    CURVATURE,
    CX,
    CY,
    HALF_WIDTH,
    INV_LEN,
    INV_LEN2,
    N_CODES,
    SX,
    SY,
    _colour_tables,
    _egocentric_parallel,
    _egocentric_serial,
    _state_obs_kernel,
    _step_rows,
)
from rlsuite.envs.driving.vehicle import HEADING, SPEED, X, Y

__all__ = ["DEFAULTS", "DISCRETE_ACTIONS", "LaneKeepingDriver", "RacetrackConfig", "RacetrackCore"]

NAME = "Racetrack"  # what error messages call the env
# The car (CAR) and the step length (DT) are compiled into the step kernel, so they live in racetrack_kernels.
PROGRESS_REWARD = 0.1  # reward per metre of progress along the centre line
LOOKAHEAD = np.array([5.0, 15.0, 25.0, 35.0, 50.0])  # [m] ahead of the car, where curvature is observed
VIEW_WIDTH = 56.0  # [m] the egocentric view spans this much across
VIEW_ANCHOR = (0.75, 0.5)  # (row, column) fractions of the view where the car sits
RENDER_SIZE = 600  # [px] side of the whole-scene rgb_array frame
# Empty arrays the step kernel writes nothing into: no state observation, and no step results when it
# only updates frames (at resets). The actions of a frame-only call have the step's dtype, so both calls
# run one compiled kernel: _NO_ACTIONS[discrete].
_NO_OBS = np.zeros((0, 1), np.float32)
_NO_RESULTS = np.zeros((7, 0)), np.zeros(0, np.int64), np.zeros((3, 0), bool)
_NO_ACTIONS = {True: np.zeros(0, np.int64), False: np.zeros((0, 2))}

# Discrete action i = (steer, pedal) = DISCRETE_ACTIONS[i]; steer +1 = full left, pedal -1 = full brake.
DISCRETE_ACTIONS = np.array(
    [[s, p] for s in (-1.0, 0.0, 1.0) for p in (-1.0, 0.0, 1.0)], dtype=np.float64
)  # 0 right+brake, 1 right, 2 right+throttle, 3 brake, 4 coast, 5 throttle, 6 left+brake, 7 left, 8 left+throttle

# Rows: GRASS, ROAD, KERB_RED, KERB_WHITE, START_LINE, CAR_BODY (see racetrack_kernels).
PALETTE = np.array(
    [[76, 145, 65], [105, 105, 110], [200, 40, 40], [235, 235, 235], [250, 250, 250], [30, 80, 220]],
    dtype=np.float64,
)

OBS_TYPES = ("state", "pixels")
ACTION_TYPES = ("continuous", "discrete")


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
def _check_track(env: str, name: str, track: Any) -> str | int:
    """A layout name, ``"random"`` or a procedural seed in ``[0, 2**63)``."""
    if isinstance(track, str) and (track in track_lib.LAYOUTS or track == "random"):
        return track
    if isinstance(track, int | np.integer) and not isinstance(track, bool) and 0 <= track < 2**63:
        return int(track)
    allowed = f"one of {(*sorted(track_lib.LAYOUTS), 'random')} or an int seed in [0, 2**63)"
    raise ValueError(f"{env}: {name} must be {allowed}, got {track!r}")


@dataclass(frozen=True)
class RacetrackConfig(EnvKwargs):
    """Every kwarg of the Racetrack envs with its default and its bounds (see
    :class:`rlsuite.envs.driving.racetrack.RacetrackEnv`); ``pixel_shape`` becomes ``(height, width)``."""

    env_name: ClassVar[str] = NAME

    track: str | int = kwarg("kidney", _check_track)
    obs_type: str = kwarg("state", one_of(*OBS_TYPES))
    action_type: str = kwarg("continuous", one_of(*ACTION_TYPES))
    pixel_shape: tuple[int, int] = kwarg((84, 84), image_shape)
    grayscale: bool = kwarg(False, boolean)
    lidar_rays: int = kwarg(5, integer(0, 64))
    lidar_range: float = kwarg(50.0, number(1.0, 500.0, unit="m"))
    off_track_penalty: float = kwarg(0.5, number(0.0, MAX_REWARD_WEIGHT))
    crash_penalty: float = kwarg(10.0, number(0.0, MAX_REWARD_WEIGHT))
    off_track_tolerance: float = kwarg(1.5, number(0.0, 20.0, unit="m"))
    random_start: bool = kwarg(True, boolean)
    color_jitter: int = kwarg(0, integer(0, 255))  # [RGB levels]
    width_jitter: float = kwarg(0.0, number(0.0, track_lib.MAX_WIDTH_MARGIN, unit="m"))


DEFAULTS: dict[str, Any] = RacetrackConfig.defaults()  # every kwarg with its default


# --------------------------------------------------------------------------------------------
# The batched core
# --------------------------------------------------------------------------------------------
class _TrackTable:
    """Tracks stacked for the kernels: one slot (fixed layout) or one slot per row (``"random"``)."""

    def __init__(
        self, slots: int, track: track_lib.Track, with_fields: bool, field_side: float | None
    ) -> None:
        p = track_lib.N_POINTS
        self.field_side = field_side  # [m] fixed for procedural tracks, so their fields stack
        self.tracks: list[track_lib.Track] = [track] * slots
        self.geom = np.zeros((slots, p, 8))  # see CX ... CURVATURE
        self.heading = np.zeros((slots, p))
        self.ds = np.zeros(slots)
        self.length = np.zeros(slots)
        self.with_fields = with_fields
        self.fields: list[track_lib.EdgeField | None] = [None] * slots
        self.codes = np.zeros((slots, 1, 1), np.uint16)  # 4 * edge byte + marks, per field cell
        self.x_left = np.zeros(slots)
        self.y_top = np.zeros(slots)
        for k in range(slots):
            self.put(k, track)

    def put(self, k: int, track: track_lib.Track) -> None:
        self.tracks[k] = track
        g = self.geom[k]
        g[:, [CX, CY]] = track.centre
        g[:, [SX, SY]] = np.roll(track.centre, -1, axis=0) - track.centre
        g[:, INV_LEN2] = 1.0 / (g[:, SX] ** 2 + g[:, SY] ** 2)
        g[:, INV_LEN] = np.sqrt(g[:, INV_LEN2])
        g[:, HALF_WIDTH] = track.half_width
        g[:, CURVATURE] = track.curvature
        self.heading[k] = track.heading
        self.ds[k] = track.ds
        self.length[k] = track.length
        if self.with_fields:
            field = track_lib.edge_field(track, self.field_side)
            if self.codes.shape[1:] != field.cells.shape[:2]:
                self.codes = np.zeros((len(self.tracks), *field.cells.shape[:2]), np.uint16)
            self.codes[k] = field.cells[..., 0].astype(np.uint16) * 4 + field.cells[..., 1]
            self.fields[k] = field
            self.x_left[k], self.y_top[k] = field.x_left, field.y_top


class RacetrackCore(BatchCore):
    """State and dynamics of ``batch`` cars, each on its own copy of (or its own) track.

    Kwargs: :class:`RacetrackConfig` (see :class:`rlsuite.envs.driving.racetrack.RacetrackEnv`).
    Construction compiles (or loads) the kernels and runs them once, so the first step is fast.
    """

    name = NAME
    kwargs_class = RacetrackConfig
    render_fps = 10  # 1 / DT
    task_metrics = (
        TaskMetric("crash_rate", "crashed", "any", "episodes that ended by leaving the track (a crash)"),
        TaskMetric("off_track_rate", "off_track", "any", "episodes with a step off the road"),
        TaskMetric("mean_speed", "speed", "mean", "the car's mean speed over the episode [m/s]"),
        TaskMetric("lap_time", "lap_time", "last", "time of the first completed lap [s]; NaN if none"),
    )

    def __init__(self, batch: int, **kwargs: Any) -> None:
        super().__init__(batch)
        n = self.batch
        self.config = config = RacetrackConfig.from_kwargs(kwargs)
        self.all_rows = np.arange(n)
        self.random_tracks = config.track == "random"
        self.discrete = config.action_type == "discrete"
        pixels = config.obs_type == "pixels"
        first = track_lib.make_track(0 if self.random_tracks else config.track)
        field_side = track_lib.PROCEDURAL_EXTENT if self.random_tracks else None
        self.table = _TrackTable(n if self.random_tracks else 1, first, pixels, field_side)
        self.row_track = np.arange(n) if self.random_tracks else np.zeros(n, np.int64)
        self.car = np.zeros((n, 4))  # [x m, y m, heading rad, speed m/s]
        self.index = np.zeros(n, np.int64)
        self.arc = np.zeros(n)  # [m] position of the foot along the centre line
        self.lateral = np.zeros(n)  # [m] left of the centre line
        self.road_half_width = np.ones(n)  # [m] at the foot, width jitter included
        self.heading_error = np.zeros(n)  # [rad]
        self.progress = np.zeros(n)  # [m] along the centre line since the reset
        self.steps = np.zeros(n, np.int64)  # steps since the reset
        # [s] of the first completed lap; inf until one is (not NaN: Gymnasium's check_env compares
        # infos with ==, and NaN != NaN)
        self.lap_time = np.full(n, np.inf)
        self.width_delta = np.zeros(n)  # [m] added to the half-width this episode
        self._state_obs = config.obs_type == "state"
        k = len(LOOKAHEAD) if self._state_obs else 0
        r = config.lidar_rays if self._state_obs else 0
        self._state_features(k, r)
        # The state observation the last step wrote (and reset_rows updated), until observe() hands it
        # out: a cache, not state, so it sits in a list (snapshots hold only the core's own arrays).
        self._stepped_obs: list[np.ndarray | None] = [None]
        channels = 1 if config.grayscale else 3
        self.palette = np.broadcast_to(self._colors(PALETTE), (n, len(PALETTE), channels)).copy()
        if pixels:
            height, width = config.pixel_shape
            self.metres_per_px = VIEW_WIDTH / width
            car = render.new_canvas(1, height, width, 1, 0)
            anchor = (VIEW_ANCHOR[1] * width, VIEW_ANCHOR[0] * height)
            half = (0.5 * CAR.width / self.metres_per_px, 0.5 * CAR.length / self.metres_per_px)
            render.draw_rects(car, [[anchor]], [[half]], [[0.0]], (255,))
            self.car_pixels = np.argwhere(car[0, :, :, 0] > 0)  # (N, 2) (row, col) of the car
            self.colour_tables = np.empty((n, N_CODES + 1, channels), np.uint8)  # see _colour_tables
            _colour_tables(self.width_delta, self.palette, self.colour_tables)
            self.single_observation_space = gym.spaces.Box(0, 255, (height, width, channels), np.uint8)
        else:
            low = np.array([0.0, -1.0, -3.0, 0.0] + [-2.0] * k + [0.0] * r, np.float32)
            high = np.array([1.0, 1.0, 3.0, 2.0] + [2.0] * k + [1.0] * r, np.float32)
            self.single_observation_space = gym.spaces.Box(low, high, dtype=np.float32)
        if self.discrete:
            self.single_action_space = gym.spaces.Discrete(len(DISCRETE_ACTIONS))
        else:
            self.single_action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        # Compile (or load) the kernels now, not in the first reset or step. This draws from the
        # unseeded streams and moves the cars; every row is seeded and reset before its first episode.
        self.reset_rows(self.all_rows, {})
        self.step(np.zeros(n, np.int64) if self.discrete else np.zeros((n, 2)), np.ones(n, bool))
        self.observe()

    def _state_features(self, k: int, r: int) -> None:
        """Buffers of the curvature look-ahead (``k`` points) and the lidar (``r`` rays)."""
        self.lookahead = LOOKAHEAD if k else np.zeros(0)
        self.curvature_ahead = np.zeros((self.batch, k))
        self.lidar = np.zeros((self.batch, r))
        self.lidar_angles = (
            np.linspace(-np.pi / 2, np.pi / 2, r) if r > 1 else np.zeros(r)
        )  # [rad] right to left
        self.lidar_cos, self.lidar_sin = np.cos(self.lidar_angles), np.sin(self.lidar_angles)
        self._obs_size = 4 + k + r

    def track_state_features(self) -> None:
        """Also compute the look-ahead and lidar of a pixel-mode core (from now on), so that
        :meth:`state_observation` is the whole state observation next to the pixels (the encoders'
        ``state`` pretraining regresses it). State-mode cores always do."""
        if len(self.lookahead) == 0:
            self._state_features(len(LOOKAHEAD), self.config.lidar_rays)
            self.update_frame(self.all_rows)

    def _colors(self, rgb: np.ndarray) -> np.ndarray:
        rgb = np.clip(np.rint(rgb), 0, 255)
        if self.config.grayscale:
            rgb = np.rint(rgb @ np.array([0.299, 0.587, 0.114]))[..., None]
        return rgb.astype(np.uint8)

    # ---- resets -------------------------------------------------------------------------------
    def reset_rows(self, rows: np.ndarray, options: dict[str, Any]) -> None:
        """Start new episodes in ``rows`` from their own random streams."""
        cfg = self.config
        if self.random_tracks:
            track_seeds = self.rng.integers(rows, 0, 2**62)
            for row, seed in zip(rows, track_seeds):
                self.table.put(int(row), track_lib.procedural_track(int(seed)))
        if cfg.width_jitter > 0:
            self.width_delta[rows] = self.rng.uniform(rows, -cfg.width_jitter, cfg.width_jitter)
        if cfg.color_jitter > 0:
            jitter = self.rng.uniform(rows, -cfg.color_jitter, cfg.color_jitter, (len(PALETTE), 3))
            self.palette[rows] = self._colors(PALETTE + jitter)
        if cfg.obs_type == "pixels" and (cfg.width_jitter > 0 or cfg.color_jitter > 0):
            tables = np.empty((len(rows), *self.colour_tables.shape[1:]), np.uint8)
            _colour_tables(self.width_delta[rows], self.palette[rows], tables)
            self.colour_tables[rows] = tables
        start = self.rng.uniform(rows, 0.0, 1.0, (4,))  # arc fraction, lateral, heading, speed
        k = self.row_track[rows]
        n_points = track_lib.N_POINTS
        position = start[:, 0] * n_points if cfg.random_start else np.zeros(len(rows))
        i = np.minimum(position.astype(np.int64), n_points - 1)
        t = position - i
        g = self.table.geom[k, i]  # (rows, 8)
        tangent = g[:, [SX, SY]] * g[:, INV_LEN, None]
        foot = g[:, [CX, CY]] + t[:, None] * g[:, [SX, SY]]
        half = g[:, HALF_WIDTH] + self.width_delta[rows]
        offset = (start[:, 1] - 0.5) * 0.5 * half  # [m] up to a quarter of the road either side
        self.car[rows, X] = foot[:, 0] - offset * tangent[:, 1]
        self.car[rows, Y] = foot[:, 1] + offset * tangent[:, 0]
        self.car[rows, HEADING] = np.arctan2(tangent[:, 1], tangent[:, 0]) + (start[:, 2] - 0.5) * 0.3
        self.car[rows, SPEED] = 5.0 + 5.0 * start[:, 3]  # [m/s]
        self.index[rows] = i
        self.progress[rows] = 0.0
        self.steps[rows] = 0
        self.lap_time[rows] = np.inf
        pending = self._stepped_obs[0]
        self.update_frame(rows, _NO_OBS if pending is None else pending)

    def upgrade_snapshot(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Snapshots from before the task metrics lack the step counter (the same as the env's steps
        since each row's reset) and the lap time (inf: a lap finished before the snapshot goes unreported)."""
        if "core.steps" not in arrays and "env._elapsed" in arrays:
            arrays["core.steps"] = np.asarray(arrays["env._elapsed"], dtype=np.int64).copy()
        if "core.lap_time" not in arrays and "env._elapsed" in arrays:
            arrays["core.lap_time"] = np.full(len(arrays["env._elapsed"]), np.inf)
        return arrays

    def reset_info(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The step info's keys with neutral values: reward terms 0, ``progress`` 0, ``laps`` 0,
        ``crashed`` False, ``lap_time`` inf, ``speed`` and ``off_track`` of the start state."""
        n = len(rows)
        zeros = np.zeros(n)
        return {
            "reward_progress": zeros,
            "reward_off_track": zeros.copy(),
            "reward_crash": zeros.copy(),
            "progress": zeros.copy(),
            "laps": np.zeros(n, np.int64),
            "speed": self.car[rows, SPEED],
            "off_track": np.abs(self.lateral[rows]) > self.road_half_width[rows],
            "crashed": np.zeros(n, bool),
            "lap_time": np.full(n, np.inf),
        }

    # ---- dynamics -----------------------------------------------------------------------------
    def update_frame(self, rows: np.ndarray, obs: np.ndarray = _NO_OBS) -> None:
        """The frame (foot, Frenet frame, look-ahead, lidar) of ``rows`` from their cars' poses, and their
        state observation into ``obs`` (B, D) when it has rows."""
        self._step_rows(rows, False, _NO_ACTIONS[self.discrete], *_NO_RESULTS, obs)

    def step(
        self, actions: np.ndarray, active: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Advance every row by ``DT`` (nothing here is random, so inactive rows move too): one call of
        the step kernel, which also writes the state observation that :meth:`observe` hands out next."""
        n = self.batch
        totals = np.empty((7, n))  # reward, its three terms, progress, speed, lap time: fresh for the caller
        laps, flags = np.empty(n, np.int64), np.empty((3, n), bool)  # off_track, crashed (terminated, info)
        obs = np.empty((n, self._obs_size), np.float32) if self._state_obs else _NO_OBS
        self._step_rows(self.all_rows, True, actions, totals, laps, flags, obs)
        if self._state_obs:
            self._stepped_obs[0] = obs
        info = {
            "reward_progress": totals[1],
            "reward_off_track": totals[2],
            "reward_crash": totals[3],
            "progress": totals[4],
            "laps": laps,
            "speed": totals[5],
            "off_track": flags[0],
            "crashed": flags[2],
            "lap_time": totals[6],
        }
        return totals[0], flags[1], info

    def _step_rows(
        self,
        rows: np.ndarray,
        drive: bool,
        actions: np.ndarray,
        totals: np.ndarray,
        laps: np.ndarray,
        flags: np.ndarray,
        obs: np.ndarray,
    ) -> None:
        """:func:`racetrack_kernels._step_rows` on this core's arrays (a step, or frames only)."""
        cfg, t = self.config, self.table
        _step_rows(
            rows, drive, actions, DISCRETE_ACTIONS, t.geom, t.heading, t.ds, t.length, self.row_track, self.car,
            self.width_delta, self.index, self.arc, self.lateral, self.road_half_width, self.heading_error,
            self.progress, self.steps, self.lap_time, self.curvature_ahead, self.lookahead, self.lidar,
            self.lidar_cos, self.lidar_sin, cfg.lidar_range, PROGRESS_REWARD, cfg.off_track_penalty,
            cfg.crash_penalty, cfg.off_track_tolerance, totals, laps, flags, obs,
        )  # fmt: skip

    # ---- observations -------------------------------------------------------------------------
    def observe(self) -> np.ndarray:
        if self._state_obs:
            obs, self._stepped_obs[0] = self._stepped_obs[0], None
            return self.state_observation() if obs is None else obs
        height, width = self.config.pixel_shape
        out = np.empty((self.batch, height, width, self.palette.shape[2]), np.uint8)
        pose = self.car[:, X], self.car[:, Y], self.car[:, HEADING]
        view = self.metres_per_px, VIEW_ANCHOR, self.car_pixels
        car_colours = self.palette[:, CAR_BODY]
        return self._draw(out, *pose, *view, self.row_track, self.colour_tables, car_colours)

    def state_observation(self) -> np.ndarray:
        """The state observation (see the env's docs); in pixel mode only its first four values unless
        :meth:`track_state_features` was called."""
        obs = np.empty((self.batch, 4 + self.curvature_ahead.shape[1] + self.lidar.shape[1]), np.float32)
        _state_obs_kernel(
            self.car[:, SPEED], self.heading_error, self.lateral, self.road_half_width, self.curvature_ahead,
            self.lidar, 1.0 / CAR.max_speed, obs,
        )  # fmt: skip
        return obs

    # ---- what code outside envs/ may ask (see BatchCore) --------------------------------------
    def probe_variables(self) -> tuple[list[str], np.ndarray]:
        """Speed / 30 m/s, heading error / π and lateral offset / road half-width of each car."""
        values = [
            self.car[:, SPEED] / CAR.max_speed,
            self.heading_error / np.pi,
            self.lateral / self.road_half_width,
        ]
        return ["speed", "heading_error", "lateral_offset"], np.stack(values, axis=1).astype(np.float32)

    def privileged_state(self) -> tuple[list[str], np.ndarray]:
        """The whole state observation (speed, heading error, lateral offset, road half-width,
        curvature look-ahead, lidar). In pixel mode the first call switches on the look-ahead and
        lidar (:meth:`track_state_features`), so every later step computes them too."""
        self.track_state_features()
        names = ["speed", "heading_error", "lateral_offset", "half_width"]
        names += [f"curvature_{d:g}m" for d in self.lookahead]
        names += [f"lidar{i}" for i in range(self.lidar.shape[1])]
        return names, self.state_observation()

    def scripted_policy(self, rng: np.random.Generator) -> LaneKeepingDriver:
        """A noisy lane-keeping driver (:class:`LaneKeepingDriver`)."""
        return LaneKeepingDriver(self, rng)

    def _draw(
        self, out, pos_x, pos_y, heading, metres_per_px, anchor, car_pixels, row_track, colour_tables,
        car_colours,
    ):  # fmt: skip
        t = self.table
        height, width = out.shape[1:3]
        kernel = _egocentric_serial if len(out) < 4 else _egocentric_parallel
        kernel(
            t.codes, t.x_left, t.y_top, row_track, pos_x, pos_y, heading, colour_tables, car_colours,
            metres_per_px, anchor[0] * height, anchor[1] * width, car_pixels, out,
        )  # fmt: skip
        return out

    # ---- whole-scene frames -------------------------------------------------------------------
    def frames(self, rows: np.ndarray) -> np.ndarray:
        """North-up ``RENDER_SIZE``² RGB frames of ``rows``' tracks with their cars."""
        return np.stack([self._scene(int(row)) for row in rows])

    def _scene(self, row: int) -> np.ndarray:
        """Row ``row``'s track north up, fitted to ``RENDER_SIZE``², its car drawn 3× enlarged."""
        k = int(self.row_track[row])
        table = self.table
        if table.fields[k] is None:  # state observations: rasterise on first render only
            table.with_fields = True
            table.codes = np.zeros((len(table.tracks), 1, 1), np.uint16)
            for slot, track in enumerate(table.tracks):
                table.put(slot, track)
        field = table.fields[k]
        side = field.cells.shape[0] * field.resolution  # [m]
        metres_per_px = side / RENDER_SIZE
        centre_x, centre_y = field.x_left + side / 2, field.y_top - side / 2
        colors = self.palette[row] if self.palette.shape[2] == 3 else PALETTE.astype(np.uint8)  # RGB always
        palette = np.ascontiguousarray(colors[None])
        out = np.empty((1, RENDER_SIZE, RENDER_SIZE, 3), np.uint8)
        north_up = np.array([np.pi / 2])
        no_car = np.zeros((0, 2), np.int64)
        centre = np.array([centre_x]), np.array([centre_y])
        tables = np.empty((1, N_CODES + 1, 3), np.uint8)
        _colour_tables(self.width_delta[row : row + 1], palette, tables)
        self._draw(
            out,
            *centre,
            north_up,
            metres_per_px,
            (0.5, 0.5),
            no_car,
            np.array([k]),
            tables,
            palette[:, CAR_BODY],
        )
        x, y, heading = self.car[row, X], self.car[row, Y], self.car[row, HEADING]
        px = [(x - field.x_left) / metres_per_px, (field.y_top - y) / metres_per_px]
        half = [1.5 * CAR.length / metres_per_px, 1.5 * CAR.width / metres_per_px]  # drawn 3x for visibility
        render.draw_rects(out, [[px]], [[half]], [[-heading]], palette[0, CAR_BODY])
        nose = [px[0] + half[0] * np.cos(heading), px[1] - half[0] * np.sin(heading)]
        render.draw_circles(out, [[nose]], [[0.6 * half[1]]], (255, 220, 0))
        return out[0]


# --------------------------------------------------------------------------------------------
# A scripted driver, for collecting frames of real driving
# --------------------------------------------------------------------------------------------
class LaneKeepingDriver:
    """Racetrack's scripted behaviour policy (:meth:`RacetrackCore.scripted_policy`): each car steers
    against its heading error and lateral offset, with noise, and throttles or brakes towards a target
    speed of its own, drawn in [6, 24] m/s and redrawn with probability 0.01 per step; so frames cover
    real driving at all speeds instead of a car spinning on the grass. Discrete action spaces get the
    nearest of the nine (steer, pedal) actions. All its randomness comes from ``rng``."""

    STEER_GAINS = (1.5, 0.6)  # against heading error [rad] and lateral offset [half-widths]
    STEER_NOISE = 0.3  # standard deviation of the steering noise (full lock = 1)
    SPEED_RANGE = (6.0, 24.0)  # [m/s] target speeds
    REDRAW = 0.01  # probability per step that a car draws a new target speed
    PEDAL_SCALE = 3.0  # [m/s] a speed error this large or more is full throttle or brake

    def __init__(self, core: RacetrackCore, rng: np.random.Generator) -> None:
        self.core, self.rng = core, rng
        self.target_speed = rng.uniform(*self.SPEED_RANGE, core.batch)  # [m/s]

    def __call__(self) -> np.ndarray:
        """One action per car for its current state: ``(B,)`` int64 or ``(B, 2)`` float32 (steer, pedal)."""
        core, rng, n = self.core, self.rng, self.core.batch
        lateral = core.lateral / core.road_half_width
        heading_gain, lateral_gain = self.STEER_GAINS
        noise = rng.normal(0, self.STEER_NOISE, n)
        steer = -heading_gain * core.heading_error - lateral_gain * lateral + noise
        redraw = rng.random(n) < self.REDRAW
        self.target_speed[redraw] = rng.uniform(*self.SPEED_RANGE, int(redraw.sum()))
        pedal = np.clip((self.target_speed - core.car[:, SPEED]) / self.PEDAL_SCALE, -1, 1)
        steer = np.clip(steer, -1, 1)
        if core.discrete:  # DISCRETE_ACTIONS[3 * s + p]: s right, straight, left; p brake, coast, throttle
            s, p = np.digitize(steer, [-0.33, 0.33]), np.digitize(pedal, [-0.33, 0.33])
            return (3 * s + p).astype(np.int64)
        return np.stack([steer, pedal], axis=1).astype(np.float32)
