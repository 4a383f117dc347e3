"""``rlsuite/Racetrack-v0``: a car on a closed track, as a single env and a native vector env.

Both classes drive one batched core (:class:`_RacetrackCore`): the single env is the batch of one.
Physics is batched numpy (:mod:`rlsuite.envs.driving.vehicle`); the two numba kernels here do what
numpy does badly: the local search for each car's foot on the centre line plus the lidar ray march
(:func:`_track_frame_kernel`), and colouring the egocentric view from the pre-rasterised edge field
(:func:`_egocentric`, a variant of ``render.sample_egocentric`` that colours per row, so colour
and width randomisation cost nothing extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from numba import njit, prange

from rlsuite.envs import render
from rlsuite.envs.driving import tracks as track_lib
from rlsuite.envs.driving.vehicle import HEADING, SPEED, VehicleParams, X, Y, pedal_to_accel, step_bicycle
from rlsuite.envs.rng import BatchRNG, row_seeds

__all__ = ["DISCRETE_ACTIONS", "RacetrackEnv", "RacetrackVectorEnv"]

DT = 0.1  # [s] one env step = one semi-implicit Euler step of the bicycle model
CAR = VehicleParams(
    wheelbase=2.6,  # [m]
    length=4.4,  # [m]
    width=1.8,  # [m]
    max_steer=0.45,  # [rad] ~26 deg
    max_accel=6.0,  # [m/s^2]
    max_brake=10.0,  # [m/s^2]
    max_speed=30.0,  # [m/s] 108 km/h
    drag=0.05,  # [1/s]
    max_lateral_accel=10.0,  # [m/s^2] ~1 g of tyre grip
)
PROGRESS_REWARD = 0.1  # reward per metre of progress along the centre line
LOOKAHEAD = np.array([5.0, 15.0, 25.0, 35.0, 50.0])  # [m] ahead of the car, where curvature is observed
CURVATURE_SCALE = 10.0  # observed curvature is in 1 / (10 m)
LIDAR_MIN_STEP = 0.5  # [m] smallest ray-march step
LIDAR_MAX_STEP = 15.0  # [m] longest ray-march step (bounds the error of the straight-road guess in bends)
LIDAR_OVERSHOOT = 4.0  # [m] a step lands at most this far beyond the edge (sections are >= 6 m apart)
LIDAR_MAX_ITERATIONS = 16  # marching steps per ray; then LIDAR_REFINEMENTS more to pin a crossing
LIDAR_REFINEMENTS = 1
VIEW_WIDTH = 56.0  # [m] the egocentric view spans this much across
VIEW_ANCHOR = (0.75, 0.5)  # (row, column) fractions of the view where the car sits
KERB_WIDTH = 1.0  # [m] red/white band just inside the road edge
RENDER_SIZE = 600  # [px] side of the whole-scene rgb_array frame

# Discrete action i = (steer, pedal) = DISCRETE_ACTIONS[i]; steer +1 = full left, pedal -1 = full brake.
DISCRETE_ACTIONS = np.array(
    [[s, p] for s in (-1.0, 0.0, 1.0) for p in (-1.0, 0.0, 1.0)], dtype=np.float64
)  # 0 right+brake, 1 right, 2 right+throttle, 3 brake, 4 coast, 5 throttle, 6 left+brake, 7 left, 8 left+throttle

GRASS, ROAD, KERB_RED, KERB_WHITE, START_LINE, CAR_BODY = range(6)
PALETTE = np.array(
    [[76, 145, 65], [105, 105, 110], [200, 40, 40], [235, 235, 235], [250, 250, 250], [30, 80, 220]],
    dtype=np.float64,
)

OBS_TYPES = ("state", "pixels")
ACTION_TYPES = ("continuous", "discrete")
RENDER_MODES = (None, "rgb_array", "human")


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
# Per-point track geometry packed for the kernels: geom[k, i, :] of track slot k, point i.
CX, CY, SX, SY, INV_LEN2, INV_LEN, HALF_WIDTH, CURVATURE = range(8)  # SX, SY: segment i -> i + 1 [m]


@njit(cache=True)
def _foot(g, px, py, i):  # pragma: no cover - compiled
    """Walk from segment ``i`` to the segment holding the foot of ``(px, py)``; returns (i, t in [0, 1])."""
    n_points = g.shape[0]
    t = 0.0
    for _ in range(n_points):
        t = ((px - g[i, CX]) * g[i, SX] + (py - g[i, CY]) * g[i, SY]) * g[i, INV_LEN2]
        if t > 1.0:
            j = i + 1 if i + 1 < n_points else 0
            if (px - g[j, CX]) * g[j, SX] + (py - g[j, CY]) * g[j, SY] < 0.0:
                return j, 0.0  # outside a convex corner: the foot is the vertex
            i = j
        elif t < 0.0:
            j = i - 1 if i > 0 else n_points - 1
            if ((px - g[j, CX]) * g[j, SX] + (py - g[j, CY]) * g[j, SY]) * g[j, INV_LEN2] > 1.0:
                return i, 0.0
            i = j
        else:
            return i, t
    return i, min(max(t, 0.0), 1.0)


@njit(cache=True)
def _lateral(g, px, py, i, t):  # pragma: no cover - compiled
    """Signed offset from the centre line [m] (left positive) and the half-width at the foot."""
    j = i + 1 if i + 1 < g.shape[0] else 0
    fx, fy = g[i, CX] + t * g[i, SX], g[i, CY] + t * g[i, SY]
    lateral = (g[i, SX] * (py - fy) - g[i, SY] * (px - fx)) * g[i, INV_LEN]
    return lateral, g[i, HALF_WIDTH] + t * (g[j, HALF_WIDTH] - g[i, HALF_WIDTH])


@njit(cache=True)
def _clearance(g, width_delta, px, py, m):  # pragma: no cover - compiled
    """(segment, lateral offset, half-width, distance to the nearer edge) of a point; < 0 off the road."""
    m, u = _foot(g, px, py, m)
    off, half = _lateral(g, px, py, m, u)
    half += width_delta
    return m, off, half, half - abs(off)


@njit(cache=True)
def _ray(g, width_delta, px, py, dx, dy, m, off, half, clear, max_range):  # pragma: no cover - compiled
    """Distance [m] along the unit ray ``(dx, dy)`` from a point inside the road to its edge.

    Each step aims straight at where the ray would cross the edge if the road ran straight on
    (lateral offset / sine of the ray's angle to the centre line), but never lands more than
    ``LIDAR_OVERSHOOT`` beyond the nearest edge, so it cannot jump across the grass onto another
    section of the track; a crossing is then pinned down by regula falsi on the edge distance.
    """
    t_in, c_in = 0.0, clear
    for _ in range(LIDAR_MAX_ITERATIONS):
        sin_rel = (g[m, SX] * dy - g[m, SY] * dx) * g[m, INV_LEN]  # + when the ray heads left
        step = LIDAR_MAX_STEP
        if sin_rel > 1e-9:
            step = (half - off) / sin_rel
        elif sin_rel < -1e-9:
            step = (half + off) / -sin_rel
        step = min(max(step, LIDAR_MIN_STEP), c_in + LIDAR_OVERSHOOT, LIDAR_MAX_STEP)
        t_out = min(t_in + step, max_range)
        # start the foot search near where the ray will be along the track, so the walk is short
        along = (g[m, SX] * dx + g[m, SY] * dy) * g[m, INV_LEN2]  # [segments per metre]
        guess = (m + int((t_out - t_in) * along)) % g.shape[0]
        m_out, off_out, half_out, c_out = _clearance(g, width_delta, px + t_out * dx, py + t_out * dy, guess)
        if c_out > 0.0:
            if t_out >= max_range:
                return max_range
            t_in, c_in, m, off, half = t_out, c_out, m_out, off_out, half_out
            continue
        for _ in range(LIDAR_REFINEMENTS):  # the edge lies between t_in (inside) and t_out (outside)
            t_mid = t_in + (t_out - t_in) * c_in / (c_in - c_out)
            m_mid, _, _, c_mid = _clearance(g, width_delta, px + t_mid * dx, py + t_mid * dy, m)
            if c_mid > 0.0:
                t_in, c_in, m = t_mid, c_mid, m_mid
            else:
                t_out, c_out = t_mid, c_mid
        return t_in + (t_out - t_in) * c_in / (c_in - c_out)
    return t_in


@njit(cache=True)
def _track_frame_kernel(
    geom,
    heading,
    ds,
    row_track,
    rows,
    pos_x,
    pos_y,
    car_heading,
    width_delta,
    index,
    arc,
    lateral,
    road_half_width,
    heading_error,
    curvature_ahead,
    lookahead,
    lidar,
    lidar_cos,
    lidar_sin,
    lidar_range,
):  # pragma: no cover - compiled
    """For each row in ``rows``: foot on the centre line, Frenet frame, curvature ahead and lidar.

    ``index`` (segment of the last foot) is read as the search start and updated. Curvature ahead
    and lidar are skipped when their output arrays have no columns.
    """
    n_points = geom.shape[1]
    for r in rows:
        k = row_track[r]
        g = geom[k]
        px, py = pos_x[r], pos_y[r]
        i, off, half, clear = _clearance(g, width_delta[r], px, py, index[r])
        t = ((px - g[i, CX]) * g[i, SX] + (py - g[i, CY]) * g[i, SY]) * g[i, INV_LEN2]
        t = min(max(t, 0.0), 1.0)
        index[r] = i
        arc[r] = (i + t) * ds[k]
        lateral[r] = off
        road_half_width[r] = half
        j = i + 1 if i + 1 < n_points else 0
        turn = heading[k, j] - heading[k, i]
        turn -= 2.0 * np.pi * np.floor((turn + np.pi) / (2.0 * np.pi))
        error = car_heading[r] - (heading[k, i] + t * turn)
        heading_error[r] = error - 2.0 * np.pi * np.floor((error + np.pi) / (2.0 * np.pi))
        for a in range(lookahead.shape[0]):
            position = (i + t) + lookahead[a] / ds[k]
            base = int(np.floor(position))
            frac = position - base
            c0, c1 = g[base % n_points, CURVATURE], g[(base + 1) % n_points, CURVATURE]
            curvature_ahead[r, a] = min(max((c0 + frac * (c1 - c0)) * CURVATURE_SCALE, -2.0), 2.0)
        if lidar_cos.shape[0] == 0:
            continue
        cos_heading, sin_heading = np.cos(car_heading[r]), np.sin(car_heading[r])
        for a in range(lidar_cos.shape[0]):
            if clear <= 0.0:
                lidar[r, a] = 0.0
                continue
            dx = cos_heading * lidar_cos[a] - sin_heading * lidar_sin[a]
            dy = sin_heading * lidar_cos[a] + cos_heading * lidar_sin[a]
            lidar[r, a] = (
                _ray(g, width_delta[r], px, py, dx, dy, i, off, half, clear, lidar_range) / lidar_range
            )


N_CODES = 4 * 256  # stored edge-field codes (4 * edge byte + marks); index N_CODES: outside the field


@njit(cache=True)
def _colour_tables(width_delta, palette, out):  # pragma: no cover - compiled
    """``out[b, code]``: the colour of each stored code for row ``b``'s road width and palette.

    Road below ``kerb_from``, kerb below ``grass_from``, grass above and outside the field (the last
    entry). Rows change these only at a reset with colour or width jitter, so the egocentric kernel
    does one table lookup per pixel instead of comparisons and branches."""
    for b in range(out.shape[0]):
        grass_from = 4 * int(np.ceil(128.0 + width_delta[b] / track_lib.EDGE_QUANTUM))
        kerb_from = 4 * int(np.ceil(128.0 + (width_delta[b] - KERB_WIDTH) / track_lib.EDGE_QUANTUM))
        for code in range(N_CODES + 1):
            kind = GRASS
            if code < N_CODES:
                if code < kerb_from:
                    kind = START_LINE if code & 2 else ROAD
                elif code < grass_from:
                    kind = KERB_WHITE if code & 1 else KERB_RED
            for ch in range(out.shape[2]):
                out[b, code, ch] = palette[b, kind, ch]


def _egocentric(
    codes,
    x_left,
    y_top,
    row_track,
    pos_x,
    pos_y,
    car_heading,
    colour_tables,
    car_colours,
    metres_per_px,
    anchor_row,
    anchor_col,
    car_pixels,
    out,
):  # pragma: no cover - compiled
    """Colour each row's heading-up view of its track's edge field into ``out`` (B, H, W, C).

    ``codes[k, row, col] = 4 * edge byte + marks`` (see ``tracks.EdgeField``), coloured through
    ``colour_tables`` (B, N_CODES + 1, C) from :func:`_colour_tables`; ``car_pixels`` (N, 2) are the
    (row, col) output pixels painted in ``car_colours[b]``.
    """
    batch, height, width, channels = out.shape
    field_h, field_w = codes.shape[1], codes.shape[2]
    cell = metres_per_px / track_lib.FIELD_RESOLUTION  # field cells per output pixel
    for b in prange(batch):
        field, view, lut = codes[row_track[b]], out[b], colour_tables[b]
        k = row_track[b]
        # forward and right unit vectors, in field cells (columns right, rows down; world y is up)
        fc, fr = np.cos(car_heading[b]), -np.sin(car_heading[b])
        rc, rr = -fr, fc
        origin_c = (pos_x[b] - x_left[k]) / track_lib.FIELD_RESOLUTION
        origin_r = (y_top[k] - pos_y[b]) / track_lib.FIELD_RESOLUTION
        for i in range(height):
            forward = (anchor_row - (i + 0.5)) * cell
            lateral = (0.5 - anchor_col) * cell
            c = origin_c + forward * fc + lateral * rc
            r = origin_r + forward * fr + lateral * rr
            dc, dr = cell * rc, cell * rr
            for j in range(width):
                code = N_CODES
                if 0.0 <= c < field_w and 0.0 <= r < field_h:
                    code = np.int64(field[int(r), int(c)])
                for ch in range(channels):
                    view[i, j, ch] = lut[code, ch]
                c += dc
                r += dr
        for p in range(car_pixels.shape[0]):
            for ch in range(channels):
                view[car_pixels[p, 0], car_pixels[p, 1], ch] = car_colours[b, ch]


_egocentric_parallel = njit(cache=True, parallel=True)(_egocentric)
_egocentric_serial = njit(cache=True)(_egocentric)  # a batch of one: no thread start-up cost


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Config:
    track: str | int
    obs_type: str
    action_type: str
    pixel_shape: tuple[int, int]
    grayscale: bool
    lidar_rays: int
    lidar_range: float
    off_track_penalty: float
    crash_penalty: float
    off_track_tolerance: float
    random_start: bool
    color_jitter: int
    width_jitter: float


def _number(name: str, value: Any, low: float, high: float = np.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}")
    if not (low <= float(value) <= high) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number in [{low}, {high}], got {value!r}")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")
    return int(value)


def _config(**kw: Any) -> _Config:
    track = kw["track"]
    if track != "random":
        track_lib.make_track(track)  # raises a ValueError naming the allowed values
        track = int(track) if isinstance(track, (int, np.integer)) else track
    if kw["obs_type"] not in OBS_TYPES:
        raise ValueError(f"obs_type must be one of {OBS_TYPES}, got {kw['obs_type']!r}")
    if kw["action_type"] not in ACTION_TYPES:
        raise ValueError(f"action_type must be one of {ACTION_TYPES}, got {kw['action_type']!r}")
    shape = kw["pixel_shape"]
    if not (
        isinstance(shape, (tuple, list))
        and len(shape) == 2
        and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 8 <= v <= 1024 for v in shape
        )
    ):
        raise ValueError(f"pixel_shape must be (height, width), ints in [8, 1024], got {shape!r}")
    if not isinstance(kw["grayscale"], (bool, np.bool_)):
        raise ValueError(f"grayscale must be a bool, got {kw['grayscale']!r}")
    if not isinstance(kw["random_start"], (bool, np.bool_)):
        raise ValueError(f"random_start must be a bool, got {kw['random_start']!r}")
    return _Config(
        track=track,
        obs_type=kw["obs_type"],
        action_type=kw["action_type"],
        pixel_shape=(int(shape[0]), int(shape[1])),
        grayscale=bool(kw["grayscale"]),
        lidar_rays=_integer("lidar_rays", kw["lidar_rays"], 0, 64),
        lidar_range=_number("lidar_range", kw["lidar_range"], 1.0, 500.0),
        off_track_penalty=_number("off_track_penalty", kw["off_track_penalty"], 0.0),
        crash_penalty=_number("crash_penalty", kw["crash_penalty"], 0.0),
        off_track_tolerance=_number("off_track_tolerance", kw["off_track_tolerance"], 0.0, 20.0),
        random_start=bool(kw["random_start"]),
        color_jitter=_integer("color_jitter", kw["color_jitter"], 0, 255),
        width_jitter=_number("width_jitter", kw["width_jitter"], 0.0, track_lib.MAX_WIDTH_MARGIN),
    )


def _check_render_mode(render_mode: str | None) -> None:
    if render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")
    if render_mode == "human":
        try:
            import pygame  # noqa: F401
        except ImportError as error:
            raise gym.error.DependencyNotInstalled(
                'render_mode="human" needs pygame, which is not installed: run `pip install pygame` '
                '(or use render_mode="rgb_array")'
            ) from error


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


class _RacetrackCore:
    """State and dynamics of ``n`` cars, each on its own copy of (or its own) track."""

    def __init__(self, n: int, config: _Config) -> None:
        self.n = n
        self.config = config
        self.rng = BatchRNG(n)
        self.seeded = False
        self.all_rows = np.arange(n)
        self.random_tracks = config.track == "random"
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
        self.width_delta = np.zeros(n)  # [m] added to the half-width this episode
        self.speed_obs = np.zeros(n)
        k = len(LOOKAHEAD) if config.obs_type == "state" else 0
        r = config.lidar_rays if config.obs_type == "state" else 0
        self.lookahead = LOOKAHEAD if k else np.zeros(0)
        self.curvature_ahead = np.zeros((n, k))
        self.lidar = np.zeros((n, r))
        self.lidar_angles = (
            np.linspace(-np.pi / 2, np.pi / 2, r) if r > 1 else np.zeros(r)
        )  # [rad] right to left
        self.lidar_cos, self.lidar_sin = np.cos(self.lidar_angles), np.sin(self.lidar_angles)
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

    def _colors(self, rgb: np.ndarray) -> np.ndarray:
        rgb = np.clip(np.rint(rgb), 0, 255)
        if self.config.grayscale:
            rgb = np.rint(rgb @ np.array([0.299, 0.587, 0.114]))[..., None]
        return rgb.astype(np.uint8)

    # ---- seeding and resets ----------------------------------------------------------------
    def seed_rows(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        self.rng.seed(rows, seeds)
        self.seeded = True

    def reset_rows(self, rows: np.ndarray) -> None:
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
        self.update_frame(rows)

    # ---- dynamics ---------------------------------------------------------------------------
    def update_frame(self, rows: np.ndarray) -> None:
        t = self.table
        _track_frame_kernel(
            t.geom, t.heading, t.ds, self.row_track, rows,
            self.car[:, X], self.car[:, Y], self.car[:, HEADING], self.width_delta, self.index,
            self.arc, self.lateral, self.road_half_width, self.heading_error, self.curvature_ahead,
            self.lookahead, self.lidar, self.lidar_cos, self.lidar_sin, self.config.lidar_range,
        )  # fmt: skip

    def step(self, steer: np.ndarray, pedal: np.ndarray) -> tuple[np.ndarray, ...]:
        """Advance every row by ``DT``.

        Returns (reward, terminated, advance [m], off_track, reward_progress, reward_off_track,
        reward_crash), one value per row.
        """
        cfg = self.config
        step_bicycle(self.car, steer * CAR.max_steer, pedal_to_accel(pedal, CAR), CAR, DT)
        previous = self.arc.copy()
        self.update_frame(self.all_rows)
        length = self.table.length[self.row_track] if self.random_tracks else self.table.length[0]
        advance = self.arc - previous
        advance -= length * np.rint(advance / length)  # across the start line
        self.progress += advance
        excess = np.abs(self.lateral) - self.road_half_width  # [m] beyond the edge
        off_track = excess > 0.0
        crashed = excess > cfg.off_track_tolerance
        reward_progress = PROGRESS_REWARD * advance
        reward_off_track = np.where(off_track, -cfg.off_track_penalty, 0.0)
        reward_crash = np.where(crashed, -cfg.crash_penalty, 0.0)
        reward = reward_progress + reward_off_track + reward_crash
        return reward, crashed, advance, off_track, reward_progress, reward_off_track, reward_crash

    # ---- observations -----------------------------------------------------------------------
    def observe(self) -> np.ndarray:
        if self.config.obs_type == "pixels":
            height, width = self.config.pixel_shape
            out = np.empty((self.n, height, width, self.palette.shape[2]), np.uint8)
            pose = self.car[:, X], self.car[:, Y], self.car[:, HEADING]
            view = self.metres_per_px, VIEW_ANCHOR, self.car_pixels
            car_colours = self.palette[:, CAR_BODY]
            return self._draw(out, *pose, *view, self.row_track, self.colour_tables, car_colours)
        obs = np.empty((self.n, 4 + len(LOOKAHEAD) + self.lidar.shape[1]), np.float32)
        obs[:, 0] = self.car[:, SPEED] * (1.0 / CAR.max_speed)
        obs[:, 1] = self.heading_error * (1.0 / np.pi)
        obs[:, 2] = np.clip(self.lateral / self.road_half_width, -3.0, 3.0)
        obs[:, 3] = self.road_half_width * 0.1
        obs[:, 4 : 4 + len(LOOKAHEAD)] = self.curvature_ahead
        obs[:, 4 + len(LOOKAHEAD) :] = self.lidar
        np.clip(obs[:, 1], -1.0, 1.0, out=obs[:, 1])  # float32 rounding of +-pi
        return obs

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

    def observation_space(self) -> gym.spaces.Box:
        if self.config.obs_type == "pixels":
            height, width = self.config.pixel_shape
            return gym.spaces.Box(0, 255, (height, width, self.palette.shape[2]), np.uint8)
        k, r = len(LOOKAHEAD), self.lidar.shape[1]
        low = np.array([0.0, -1.0, -3.0, 0.0] + [-2.0] * k + [0.0] * r, np.float32)
        high = np.array([1.0, 1.0, 3.0, 2.0] + [2.0] * k + [1.0] * r, np.float32)
        return gym.spaces.Box(low, high, dtype=np.float32)

    def action_space(self) -> gym.Space:
        if self.config.action_type == "discrete":
            return gym.spaces.Discrete(len(DISCRETE_ACTIONS))
        return gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    # ---- whole-scene frame -----------------------------------------------------------------
    def scene(self, row: int) -> np.ndarray:
        """A north-up ``RENDER_SIZE``² RGB frame of row ``row``'s track with its car."""
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


def _check_actions(action: Any, action_type: str, batch: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Validated (steer, pedal) arrays for a single action (``batch=None``) or a batch of them."""
    if action_type == "discrete":
        a = np.asarray(action)
        shape = () if batch is None else (batch,)
        if a.shape != shape or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"action must be an int array of shape {shape} in [0, 9), got {action!r}")
        if np.any(a < 0) or np.any(a >= len(DISCRETE_ACTIONS)):
            raise ValueError(
                f"action must be in [0, {len(DISCRETE_ACTIONS)}) (see DISCRETE_ACTIONS), got {action!r}"
            )
        pair = DISCRETE_ACTIONS[a.reshape(-1)]
    else:
        pair = np.asarray(action, dtype=np.float64)
        shape = (2,) if batch is None else (batch, 2)
        if pair.shape != shape:
            raise ValueError(
                f"action must have shape {shape} (steer, pedal), got shape {pair.shape}: {action!r}"
            )
        if not (pair.min() >= -1.0 and pair.max() <= 1.0):  # NaN fails too
            raise ValueError(f"action values must be in [-1, 1] (steer, pedal), got {action!r}")
        pair = pair.reshape(-1, 2)
    return pair[:, 0], pair[:, 1]


_DEFAULTS: dict[str, Any] = dict(
    track="kidney",
    obs_type="state",
    action_type="continuous",
    pixel_shape=(84, 84),
    grayscale=False,
    lidar_rays=5,
    lidar_range=50.0,
    off_track_penalty=0.5,
    crash_penalty=10.0,
    off_track_tolerance=1.5,
    random_start=True,
    color_jitter=0,
    width_jitter=0.0,
)


# --------------------------------------------------------------------------------------------
# The envs
# --------------------------------------------------------------------------------------------
class RacetrackEnv(gym.Env):
    """A car on a closed track; the reward is progress along the centre line.

    ## Dynamics
    Kinematic bicycle model (:mod:`rlsuite.envs.driving.vehicle`) with ``DT = 0.1`` s per step:
    wheelbase 2.6 m, body 4.4 × 1.8 m, steering ±0.45 rad, throttle 6 m/s², brake 10 m/s²,
    speed in [0, 30] m/s (no reverse), drag 0.05 1/s, and a 10 m/s² lateral grip limit (the path
    curvature is capped at ``10 / speed²``: a fast car understeers, so it must brake for bends).

    ## Tracks (``track=``)
    A closed centre line of 512 points evenly spaced by arc length, with a half-width per point
    (:mod:`rlsuite.envs.driving.tracks`). ``"kidney"`` (default), ``"oval"``, ``"hairpin"`` are fixed
    layouts; an int is the seed of a fixed procedural layout (random control points smoothed by a
    truncated Fourier series, 450–800 m long, rejected and redrawn if an edge folds or two
    sections touch); ``"random"`` draws a new procedural layout at every reset.

    ## Action space
    ``action_type="continuous"`` (default): ``Box(-1, 1, (2,), float32)`` = (steer, pedal); steer +1
    is full left lock, pedal > 0 accelerates (×6 m/s²), pedal < 0 brakes (×10 m/s²).
    ``action_type="discrete"``: ``Discrete(9)``, action ``i`` = ``DISCRETE_ACTIONS[i]`` =
    (steer, pedal) with steer in {-1 right, 0, +1 left} (major) × pedal in {-1 brake, 0 coast,
    +1 throttle} (minor): 0 right+brake, 1 right, 2 right+throttle, 3 brake, 4 coast, 5 throttle,
    6 left+brake, 7 left, 8 left+throttle.

    ## Observation space
    ``obs_type="state"`` (default): ``Box(float32, (9 + lidar_rays,))``, 14 values by default

    | index       | observation                                                        | range     |
    |-------------|--------------------------------------------------------------------|-----------|
    | 0           | speed / 30 m/s                                                     | [0, 1]    |
    | 1           | heading error to the centre-line direction [rad] / π (+ = left)    | [-1, 1]   |
    | 2           | lateral offset / road half-width (+ = left of centre; ±1 = edge)   | [-3, 3]   |
    | 3           | road half-width at the car [m] / 10                                | [0, 2]    |
    | 4–8         | centre-line curvature 5, 15, 25, 35, 50 m ahead [1/(10 m)], + left | [-2, 2]   |
    | 9–          | lidar: distance to the road edge / ``lidar_range`` (50 m) along    | [0, 1]    |
    |             | ``lidar_rays`` (5) rays over ±90° of the heading, right to left;   |           |
    |             | 0 when the car is off the road                                     |           |

    The lidar marches each ray against the road edge measured across the centre line (accurate to
    ~1 cm; on rare grazing rays past the inside of a bend it may skip a sliver of grass under 4 m).

    ``obs_type="pixels"``: ``Box(uint8, (H, W, C))`` with ``(H, W) = pixel_shape`` (84×84) and
    ``C = 1`` if ``grayscale`` else 3: a top-down view that turns with the car (heading up), 56 m
    across, the car at 3/4 of the height: grass, grey road, red/white kerb stripes, white
    start line, blue car.

    ## Reward
    ``0.1 × progress`` [per metre of arc length the car's foot on the centre line advanced this step;
    negative when driving backwards, so circling earns nothing] ``− off_track_penalty`` (0.5) on
    every step the car's centre is beyond the road edge ``− crash_penalty`` (10) on the step that
    terminates. ``info`` has each component: ``reward_progress``, ``reward_off_track``,
    ``reward_crash``, and ``progress`` [m since the reset], ``laps`` (completed, from the start
    point), ``speed`` [m/s], ``off_track`` (bool).

    ## Starting state
    The car's foot is at a uniformly random point of the centre line (the start line if
    ``random_start=False``), up to a quarter of the road width to either side, heading along the
    track ± 0.15 rad, at 5–10 m/s.

    ## Episode end
    Terminates when the car's centre is more than ``off_track_tolerance`` (1.5 m) beyond the road
    edge. Truncates after ``max_episode_steps`` (1000 through ``gymnasium.make``; the class on its
    own never truncates).

    ## Arguments
    ``track`` ("kidney" | "oval" | "hairpin" | int seed | "random"), ``obs_type`` ("state" |
    "pixels"), ``action_type`` ("continuous" | "discrete"), ``pixel_shape`` ((84, 84)),
    ``grayscale`` (False), ``lidar_rays`` (5; 0 for none), ``lidar_range`` (50 m),
    ``off_track_penalty`` (0.5), ``crash_penalty`` (10), ``off_track_tolerance`` (1.5 m),
    ``random_start`` (True), and visual randomisation for transfer experiments, off by default and
    drawn anew at every reset: ``color_jitter`` (0; each RGB channel of grass, road, kerbs, line
    and car shifted by up to ± this many levels) and ``width_jitter`` (0 m; the road's half-width
    changes by up to ± this much, at most 2 m — it changes where the edge is, not just its look),
    ``render_mode`` (None | "rgb_array": a 600×600 north-up view of the whole track, the car
    drawn 3× enlarged | "human": that view in a pygame window).

    ## Version history
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": int(round(1 / DT))}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(_DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown argument(s) {sorted(unknown)}; allowed: {sorted(_DEFAULTS)}, render_mode"
            )
        _check_render_mode(render_mode)
        self.render_mode = render_mode
        self._config = _config(**{**_DEFAULTS, **kwargs})
        self._core = _RacetrackCore(1, self._config)
        self.observation_space = self._core.observation_space()
        self.action_space = self._core.action_space()
        self._window = None
        self._core.reset_rows(self._core.all_rows)  # compiles the kernels now, not on the first step
        self._core.observe()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        core = self._core
        if seed is not None or not core.seeded:
            core.seed_rows(core.all_rows, row_seeds(seed, 1, self.np_random))
        core.reset_rows(core.all_rows)
        if self.render_mode == "human":
            self.render()
        return core.observe()[0], {}

    def step(self, action: Any):
        steer, pedal = _check_actions(action, self._config.action_type, None)
        core = self._core
        reward, crashed, _, off_track, r_progress, r_off, r_crash = core.step(steer, pedal)
        progress = float(core.progress[0])
        info = {
            "reward_progress": float(r_progress[0]),
            "reward_off_track": float(r_off[0]),
            "reward_crash": float(r_crash[0]),
            "progress": progress,
            "laps": max(int(progress // core.table.length[0]), 0),
            "speed": float(core.car[0, SPEED]),
            "off_track": bool(off_track[0]),
        }
        if self.render_mode == "human":
            self.render()
        return core.observe()[0], float(reward[0]), bool(crashed[0]), False, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn('render() without a render_mode: pass render_mode="rgb_array" at construction')
            return None
        frame = self._core.scene(0)
        if self.render_mode == "rgb_array":
            return frame
        self._window = _show(self._window, frame, self.metadata["render_fps"])
        return None

    def close(self) -> None:
        if getattr(self, "_window", None) is not None:  # also when __init__ failed early
            import pygame

            pygame.display.quit()
            self._window = None


def _show(window, frame: np.ndarray, fps: int):
    """Blit ``frame`` to a pygame window (created on first use)."""
    import pygame

    if window is None:
        pygame.init()
        pygame.display.set_caption("rlsuite Racetrack-v0")
        window = (pygame.display.set_mode(frame.shape[1::-1]), pygame.time.Clock())
    screen, clock = window
    pygame.event.pump()
    screen.blit(pygame.surfarray.make_surface(frame.transpose(1, 0, 2)), (0, 0))
    pygame.display.flip()
    clock.tick(fps)
    return window


class RacetrackVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` Racetrack cars stepped as one batch; see :class:`RacetrackEnv` for the spec.

    Sub-env ``i`` of ``reset(seed=s)`` is the single env reset with ``seed=s + i``, and it continues
    exactly like that env through its later (auto)resets. NEXT_STEP autoreset; ``reset(options=
    {"reset_mask": mask})`` resets only the masked sub-envs and cancels their pending autoreset.
    ``reset(seed=s)`` always resets every sub-env. With ``track="random"`` each sub-env has its own
    track (and, for pixels, its own ~0.9 MB rasterised field). Truncates after ``max_episode_steps``.
    ``info``: the same keys as the single env, as arrays with ``_key`` masks.
    """

    metadata = {
        "render_modes": ["rgb_array", "human"],
        "render_fps": int(round(1 / DT)),
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - set(_DEFAULTS)
        if unknown:
            raise ValueError(
                f"unknown argument(s) {sorted(unknown)}; allowed: {sorted(_DEFAULTS)}, render_mode"
            )
        self.num_envs = _integer("num_envs", num_envs, 1, 1 << 20)
        if max_episode_steps is not None:
            max_episode_steps = _integer("max_episode_steps", max_episode_steps, 1, 1 << 62)
        self.max_episode_steps = max_episode_steps
        _check_render_mode(render_mode)
        self.render_mode = render_mode
        self._config = _config(**{**_DEFAULTS, **kwargs})
        self._core = _RacetrackCore(self.num_envs, self._config)
        self.single_observation_space = self._core.observation_space()
        self.single_action_space = self._core.action_space()
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._steps = np.zeros(self.num_envs, np.int64)
        self._autoreset = np.zeros(self.num_envs, bool)
        self._window = None
        self._core.reset_rows(self._core.all_rows)  # compiles the kernels now
        self._core.observe()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        core = self._core
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            rows = core.all_rows
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"reset_mask must be a bool array of shape ({self.num_envs},), got {mask!r}")
            rows = np.flatnonzero(mask)
        if seed is not None or not core.seeded:
            core.seed_rows(core.all_rows, row_seeds(seed, self.num_envs, self.np_random))
            rows = core.all_rows
        core.reset_rows(rows)
        self._steps[rows] = 0
        self._autoreset[rows] = False
        return core.observe(), {}

    def step(self, actions: Any):
        steer, pedal = _check_actions(actions, self._config.action_type, self.num_envs)
        core = self._core
        reward, terminated, _, off_track, r_progress, r_off, r_crash = core.step(steer, pedal)
        self._steps += 1
        truncated = (
            self._steps >= self.max_episode_steps
            if self.max_episode_steps is not None
            else np.zeros(self.num_envs, bool)
        )
        restart = np.flatnonzero(self._autoreset)
        if len(restart):
            core.reset_rows(restart)
            self._steps[restart] = 0
            for value in (reward, r_progress, r_off, r_crash):
                value[restart] = 0.0
            terminated[restart] = False
            truncated[restart] = False
            off_track[restart] = False
        self._autoreset = terminated | truncated
        length = core.table.length[core.row_track]
        every = np.ones(self.num_envs, bool)
        info = {
            "reward_progress": r_progress,
            "reward_off_track": r_off,
            "reward_crash": r_crash,
            "progress": core.progress.copy(),
            "laps": np.maximum(np.floor_divide(core.progress, length), 0).astype(np.int64),
            "speed": core.car[:, SPEED].copy(),
            "off_track": off_track,
        }
        for key in list(info):
            info["_" + key] = every
        if self.render_mode == "human":
            self.render()
        return core.observe(), reward, terminated, truncated, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn('render() without a render_mode: pass render_mode="rgb_array" at construction')
            return None
        if self.render_mode == "rgb_array":
            return [self._core.scene(i) for i in range(self.num_envs)]
        self._window = _show(self._window, self._core.scene(0), self.metadata["render_fps"])
        return None

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "_window", None) is not None:  # also when __init__ failed early
            import pygame

            pygame.display.quit()
            self._window = None
