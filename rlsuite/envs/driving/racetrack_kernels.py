"""The numba kernels of ``rlsuite/Racetrack-v0`` (see :mod:`rlsuite.envs.driving.racetrack_core`).

They do what numpy does badly: the local search for each car's foot on the centre line plus the
lidar ray march (:func:`_track_frame_kernel`), the progress and reward of a step
(:func:`_progress_kernel`) and the state observation (:func:`_state_obs_kernel`), where a batch of
one would pay for a dozen numpy calls, and colouring the egocentric view from the
pre-rasterised edge field (:func:`_egocentric`, a variant of ``render.sample_egocentric`` that
colours per row, so colour and width randomisation cost nothing extra). The constants they read
are compiled in, so they live here.
"""

from __future__ import annotations

import types

import numpy as np
from numba import njit, prange

from rlsuite.envs.driving import tracks as track_lib

CURVATURE_SCALE = 10.0  # observed curvature is in 1 / (10 m)
LIDAR_MIN_STEP = 0.5  # [m] smallest ray-march step
LIDAR_MAX_STEP = 15.0  # [m] longest ray-march step (bounds the error of the straight-road guess in bends)
LIDAR_OVERSHOOT = 4.0  # [m] a step lands at most this far beyond the edge (sections are >= 6 m apart)
LIDAR_MAX_ITERATIONS = 16  # marching steps per ray; then LIDAR_REFINEMENTS more to pin a crossing
LIDAR_REFINEMENTS = 1
KERB_WIDTH = 1.0  # [m] red/white band just inside the road edge

# Palette entries (rows of ``racetrack_core.PALETTE``).
GRASS, ROAD, KERB_RED, KERB_WHITE, START_LINE, CAR_BODY = range(6)

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


@njit(cache=True)
def _progress_kernel(
    arc,
    previous,
    length,
    row_track,
    lateral,
    road_half_width,
    progress_reward,
    off_track_penalty,
    crash_penalty,
    off_track_tolerance,
    progress,
    reward,
    reward_progress,
    reward_off_track,
    reward_crash,
    laps,
    off_track,
    crashed,
):  # pragma: no cover - compiled
    """For each row after a step: the advance of the foot (``arc - previous``, wrapped across the
    start line) added to ``progress``; ``off_track`` and ``crashed``; the reward and its terms;
    completed ``laps``. One pass instead of a dozen numpy calls, which cost more than the arithmetic
    on a batch of one (the tests check it against those numpy expressions, bit for bit).
    """
    for r in range(arc.shape[0]):
        lap = length[row_track[r]]
        advance = arc[r] - previous[r]
        advance -= lap * np.rint(advance / lap)  # across the start line
        progress[r] += advance
        excess = abs(lateral[r]) - road_half_width[r]  # [m] beyond the edge
        off_track[r] = excess > 0.0
        crashed[r] = excess > off_track_tolerance
        reward_progress[r] = progress_reward * advance
        reward_off_track[r] = -off_track_penalty if excess > 0.0 else 0.0
        reward_crash[r] = -crash_penalty if excess > off_track_tolerance else 0.0
        reward[r] = reward_progress[r] + reward_off_track[r] + reward_crash[r]
        laps[r] = np.int64(max(progress[r] // lap, 0.0))


@njit(cache=True)
def _state_obs_kernel(
    speed, heading_error, lateral, road_half_width, curvature_ahead, lidar, speed_scale, obs
):  # pragma: no cover - compiled
    """The state observation of each row into ``obs`` (B, 4 + lookahead + rays) float32 (see
    ``RacetrackEnv``), computed in float64 and rounded to float32 once (the tests check it against
    the numpy expressions, bit for bit)."""
    lookahead = curvature_ahead.shape[1]
    for r in range(obs.shape[0]):
        obs[r, 0] = speed[r] * speed_scale
        heading = np.float32(heading_error[r] * (1.0 / np.pi))
        obs[r, 1] = min(max(heading, np.float32(-1.0)), np.float32(1.0))  # float32 rounding of +-pi
        obs[r, 2] = min(max(lateral[r] / road_half_width[r], -3.0), 3.0)
        obs[r, 3] = road_half_width[r] * 0.1
        for a in range(lookahead):
            obs[r, 4 + a] = curvature_ahead[r, a]
        for a in range(lidar.shape[1]):
            obs[r, 4 + lookahead + a] = lidar[r, a]


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


def _renamed(function, name):
    """``function`` under another name. Numba's on-disk cache is keyed by the function's name and
    signature but not by ``parallel=``, so two dispatchers of one function would load each other's
    machine code (a batch of one paying for a thread launch, or batches drawn on one thread)."""
    copy = types.FunctionType(function.__code__, function.__globals__, name)
    copy.__qualname__ = name
    copy.__doc__ = function.__doc__
    return copy


_egocentric_parallel = njit(cache=True, parallel=True)(_renamed(_egocentric, "_egocentric_parallel"))
_egocentric_serial = njit(cache=True)(_renamed(_egocentric, "_egocentric_serial"))  # no thread start-up
