"""The numba kernels of ``rlsuite/Racetrack-v0`` (see :mod:`rlsuite.envs.driving.racetrack_core`).

A whole step is one pass over the rows (:func:`_step_rows`): the bicycle model, the local search for
each car's foot on the centre line plus the lidar ray march, the progress and reward, and the state
observation. As numpy calls plus a kernel per part it cost ~45 us a step for a batch of one, most of
it call overhead; as one call, a few. The other kernels: the state observation alone
(:func:`_state_obs_kernel`), the reward terms alone (:func:`_progress_kernel`, which the tests hold to
the numpy expressions), and colouring the egocentric view from the pre-rasterised edge field
(:func:`_egocentric`, a variant of ``render.sample_egocentric`` that colours per row, so colour and
width randomisation cost nothing extra). The constants they read, the car's included, are compiled
in, so they live here.
"""

from __future__ import annotations

import types

import numpy as np
from numba import njit, prange

from rlsuite.envs.driving import tracks as track_lib
from rlsuite.envs.driving.tracks import N_POINTS
from rlsuite.envs.driving.vehicle import HEADING, SPEED, VehicleParams, X, Y

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
# CAR's numbers as plain floats, which numba compiles in (step_bicycle's expressions, same order)
MAX_STEER, MAX_ACCEL, MAX_BRAKE = CAR.max_steer, CAR.max_accel, CAR.max_brake  # [rad], [m/s^2], [m/s^2]
DRAG, MAX_SPEED = CAR.drag, CAR.max_speed  # [1/s], [m/s]
GRIP_SIN_BETA = 0.5 * CAR.wheelbase * CAR.max_lateral_accel  # [m^2/s^2] sin(slip limit) * speed^2
YAW_PER_SIN_BETA = 2.0 / CAR.wheelbase  # [1/m] yaw rate / (speed * sin(slip))

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


# The row helpers are inlined into the kernels by numba ("always"): as separate functions, every call
# that passes an array pays two atomic reference-count updates, and those took a quarter of a step.
# Inlined helpers that loop while holding an array kept some of them, so the frame and the lidar march
# are written out in _step_rows.
@njit(cache=True, inline="always")
def _dot(geom, k, i, px, py):  # pragma: no cover - compiled
    """``(p - centre[i]) · segment[i]`` on track ``k`` [m^2]: where p projects onto segment ``i``."""
    return (px - geom[k, i, CX]) * geom[k, i, SX] + (py - geom[k, i, CY]) * geom[k, i, SY]


@njit(cache=True, inline="always")
def _foot(geom, k, px, py, i):  # pragma: no cover - compiled
    """Walk from segment ``i`` of track ``k`` to the segment holding the foot of ``(px, py)``; returns
    (i, t in [0, 1])."""
    t = 0.0
    for _ in range(N_POINTS):
        t = _dot(geom, k, i, px, py) * geom[k, i, INV_LEN2]
        if t > 1.0:
            j = i + 1 if i + 1 < N_POINTS else 0
            if _dot(geom, k, j, px, py) < 0.0:
                return j, 0.0  # outside a convex corner: the foot is the vertex
            i = j
        elif t < 0.0:
            j = i - 1 if i > 0 else N_POINTS - 1
            if _dot(geom, k, j, px, py) * geom[k, j, INV_LEN2] > 1.0:
                return i, 0.0
            i = j
        else:
            return i, t
    return i, min(max(t, 0.0), 1.0)


@njit(cache=True, inline="always")
def _clearance(geom, k, width_delta, px, py, m):  # pragma: no cover - compiled
    """(segment, lateral offset [m] (left positive), half-width [m], distance to the nearer edge [m]; < 0
    off the road) of a point, its foot searched from segment ``m``."""
    m, t = _foot(geom, k, px, py, m)
    j = m + 1 if m + 1 < N_POINTS else 0
    fx, fy = geom[k, m, CX] + t * geom[k, m, SX], geom[k, m, CY] + t * geom[k, m, SY]
    off = (geom[k, m, SX] * (py - fy) - geom[k, m, SY] * (px - fx)) * geom[k, m, INV_LEN]
    half = geom[k, m, HALF_WIDTH] + t * (geom[k, j, HALF_WIDTH] - geom[k, m, HALF_WIDTH]) + width_delta
    return m, off, half, half - abs(off)


@njit(cache=True, inline="always")
def _clip(x, low, high):  # pragma: no cover - compiled
    """``np.clip`` of one float, tie for tie (``-0.0`` stays as numpy leaves it)."""
    x = x if x > low else low
    return x if x < high else high


@njit(cache=True, inline="always")
def _drive(x, y, heading, speed, steer, pedal):  # pragma: no cover - compiled
    """One car of :func:`rlsuite.envs.driving.vehicle.step_bicycle` under (steer, pedal) in [-1, 1]
    (``pedal_to_accel`` included), with :data:`CAR` and :data:`DT`: the same float operations in the
    same order; ``tan``, ``arctan`` and ``arcsin`` come from the C library rather than numpy's SIMD
    loops, so they may differ from it in the last bit (the tests bound the difference). Returns the new
    (x, y, heading, speed)."""
    steer = _clip(steer * MAX_STEER, -MAX_STEER, MAX_STEER)
    accel = pedal * MAX_ACCEL if pedal >= 0.0 else pedal * MAX_BRAKE
    speed = _clip(speed + (accel - DRAG * speed) * DT, 0.0, MAX_SPEED)
    beta = np.arctan(0.5 * np.tan(steer))
    beta_limit = np.arcsin(min(GRIP_SIN_BETA / max(speed * speed, 1e-9), 1.0))
    beta = _clip(beta, -beta_limit, beta_limit)
    course = heading + beta
    x += speed * np.cos(course) * DT
    y += speed * np.sin(course) * DT
    heading = np.fmod(heading + speed * np.sin(beta) * YAW_PER_SIN_BETA * DT + np.pi, 2.0 * np.pi)
    if heading < 0.0:  # np.mod: the sign of the divisor, and +0.0 for 0
        heading += 2.0 * np.pi
    elif heading == 0.0:
        heading = 0.0
    return x, y, heading - np.pi, speed


@njit(cache=True, inline="always")
def _progress_row(
    lap, arc, previous, lateral, road_half_width, progress, progress_reward, off_track_penalty, crash_penalty,
    off_track_tolerance,
):  # fmt: skip  # pragma: no cover - compiled
    """One row after a step: the advance of the foot (``arc - previous``, wrapped across the start line
    of a lap ``lap`` [m] long) added to ``progress``. Returns (progress, reward, reward_progress,
    reward_off_track, reward_crash, completed laps, off_track, crashed)."""
    advance = arc - previous
    advance -= lap * np.rint(advance / lap)  # across the start line
    progress += advance
    excess = abs(lateral) - road_half_width  # [m] beyond the edge
    reward_progress = progress_reward * advance
    reward_off_track = -off_track_penalty if excess > 0.0 else 0.0
    reward_crash = -crash_penalty if excess > off_track_tolerance else 0.0
    reward = reward_progress + reward_off_track + reward_crash
    laps = np.int64(max(progress // lap, 0.0))
    off_track, crashed = excess > 0.0, excess > off_track_tolerance
    return progress, reward, reward_progress, reward_off_track, reward_crash, laps, off_track, crashed


@njit(cache=True)
def _progress_kernel(
    arc, previous, length, row_track, lateral, road_half_width, progress_reward, off_track_penalty,
    crash_penalty, off_track_tolerance, progress, reward, reward_progress, reward_off_track, reward_crash,
    laps, off_track, crashed,
):  # fmt: skip  # pragma: no cover - compiled
    """:func:`_progress_row` of every row, as the step kernel computes it (the tests check it against the
    numpy expressions, bit for bit)."""
    for r in range(arc.shape[0]):
        (
            progress[r], reward[r], reward_progress[r], reward_off_track[r], reward_crash[r], laps[r],
            off_track[r], crashed[r],
        ) = _progress_row(
            length[row_track[r]], arc[r], previous[r], lateral[r], road_half_width[r], progress[r],
            progress_reward, off_track_penalty, crash_penalty, off_track_tolerance,
        )  # fmt: skip


@njit(cache=True, inline="always")
def _state_obs_head(
    speed, heading_error, lateral, road_half_width, speed_scale
):  # pragma: no cover - compiled
    """The first four values of a state observation (see ``RacetrackEnv``) in float64, but the heading
    already float32; storing them into the float32 observation rounds each once."""
    heading = np.float32(heading_error * (1.0 / np.pi))
    return (
        speed * speed_scale,
        min(max(heading, np.float32(-1.0)), np.float32(1.0)),  # float32 rounding of +-pi
        min(max(lateral / road_half_width, -3.0), 3.0),
        road_half_width * 0.1,
    )


@njit(cache=True)
def _state_obs_kernel(
    speed, heading_error, lateral, road_half_width, curvature_ahead, lidar, speed_scale, obs
):  # pragma: no cover - compiled
    """The state observation of each row into ``obs`` (B, 4 + lookahead + rays) float32: speed, heading,
    lateral, width (:func:`_state_obs_head`), curvature ahead, lidar, as the step kernel writes it (the
    tests check it against the numpy expressions, bit for bit)."""
    lookahead = curvature_ahead.shape[1]
    for r in range(obs.shape[0]):
        obs[r, 0], obs[r, 1], obs[r, 2], obs[r, 3] = _state_obs_head(
            speed[r], heading_error[r], lateral[r], road_half_width[r], speed_scale
        )
        for a in range(lookahead):
            obs[r, 4 + a] = curvature_ahead[r, a]
        for a in range(lidar.shape[1]):
            obs[r, 4 + lookahead + a] = lidar[r, a]


@njit(cache=True)
def _step_rows(
    rows, drive, actions, action_table, geom, heading, ds, length, row_track, car, width_delta, index, arc,
    lateral, road_half_width, heading_error, progress, steps, lap_time, curvature_ahead, lookahead, lidar,
    lidar_cos, lidar_sin, lidar_range, progress_reward, off_track_penalty, crash_penalty, off_track_tolerance,
    totals, laps, flags, obs,
):  # fmt: skip  # pragma: no cover - compiled
    """Each row ``r`` in ``rows``, in one pass (a step is one call, with ``rows`` = every row):

    1. when ``drive``: the action (``actions[r]`` an index into ``action_table`` (K, 2), or ``actions``
       (B, 2) of (steer, pedal) values) for ``DT`` through the bicycle model (:func:`_drive`) on
       ``car`` (B, 4);
    2. the frame on track ``row_track[r]`` (``geom``, ``heading``, ``ds``): the foot on the centre line,
       searched from segment ``index[r]``, and ``index``, ``arc``, ``lateral``, ``road_half_width``,
       ``heading_error``, ``curvature_ahead`` at ``lookahead`` [m] and ``lidar`` along the rays
       (``lidar_cos``, ``lidar_sin`` relative to the heading; see the march below);
    3. when ``drive``: the progress and reward (:func:`_progress_row`) into ``progress``, ``totals``
       (7, B) = reward, reward_progress, reward_off_track, reward_crash, progress, speed, lap time;
       ``laps`` (B,) and ``flags`` (3, B) = off_track, crashed, crashed (the info's own copy); and the
       episode's clock: ``steps`` (B,) since the reset, ``lap_time`` (B,) [s] of the first completed
       lap (inf until then);
    4. when ``obs`` has rows: the state observation (as :func:`_state_obs_kernel` writes it).

    The lidar march: each step aims straight at where the ray would cross the edge if the road ran
    straight on (lateral offset / sine of the ray's angle to the centre line), but never lands more
    than ``LIDAR_OVERSHOOT`` beyond the nearest edge, so it cannot jump across the grass onto another
    section of the track; a crossing is then pinned down by regula falsi on the edge distance.

    It runs on one thread: ``parallel=True`` halved a 1024-row step on an idle 2-core machine, but made
    it up to 12x slower while another process held the second core. (Were it made parallel: numba 0.68's
    parallel loops dropped writes through row views such as ``totals[4]`` unpacked before the loop.)
    """
    for r in rows:
        k = row_track[r]
        if drive:
            if actions.ndim == 1:
                steer, pedal = action_table[actions[r], 0], action_table[actions[r], 1]
            else:
                steer, pedal = actions[r, 0], actions[r, 1]
            car[r, X], car[r, Y], car[r, HEADING], car[r, SPEED] = _drive(
                car[r, X], car[r, Y], car[r, HEADING], car[r, SPEED], steer, pedal
            )
        px, py, yaw, wd = car[r, X], car[r, Y], car[r, HEADING], width_delta[r]
        previous = arc[r]

        # -- the frame
        i, off, half, clear = _clearance(geom, k, wd, px, py, index[r])
        t = min(max(_dot(geom, k, i, px, py) * geom[k, i, INV_LEN2], 0.0), 1.0)
        j = i + 1 if i + 1 < N_POINTS else 0
        turn = heading[k, j] - heading[k, i]
        turn -= 2.0 * np.pi * np.floor((turn + np.pi) / (2.0 * np.pi))
        error = yaw - (heading[k, i] + t * turn)
        index[r], arc[r], lateral[r], road_half_width[r] = i, (i + t) * ds[k], off, half
        heading_error[r] = error - 2.0 * np.pi * np.floor((error + np.pi) / (2.0 * np.pi))
        for a in range(lookahead.shape[0]):
            position = (i + t) + lookahead[a] / ds[k]
            base = int(np.floor(position))
            frac = position - base
            c0, c1 = geom[k, base % N_POINTS, CURVATURE], geom[k, (base + 1) % N_POINTS, CURVATURE]
            curvature_ahead[r, a] = min(max((c0 + frac * (c1 - c0)) * CURVATURE_SCALE, -2.0), 2.0)

        # -- the lidar
        cos_yaw, sin_yaw = (np.cos(yaw), np.sin(yaw)) if lidar_cos.shape[0] > 0 else (1.0, 0.0)
        for a in range(lidar_cos.shape[0]):
            if clear <= 0.0:
                lidar[r, a] = 0.0
                continue
            dx = cos_yaw * lidar_cos[a] - sin_yaw * lidar_sin[a]
            dy = sin_yaw * lidar_cos[a] + cos_yaw * lidar_sin[a]
            m, off_m, half_m, t_in, c_in = i, off, half, 0.0, clear
            distance, found = 0.0, False
            for _ in range(LIDAR_MAX_ITERATIONS):
                sin_rel = (geom[k, m, SX] * dy - geom[k, m, SY] * dx) * geom[k, m, INV_LEN]  # + heading left
                step = LIDAR_MAX_STEP
                if sin_rel > 1e-9:
                    step = (half_m - off_m) / sin_rel
                elif sin_rel < -1e-9:
                    step = (half_m + off_m) / -sin_rel
                step = min(max(step, LIDAR_MIN_STEP), c_in + LIDAR_OVERSHOOT, LIDAR_MAX_STEP)
                t_out = min(t_in + step, lidar_range)
                # start the foot search near where the ray will be along the track, so the walk is short
                along = (geom[k, m, SX] * dx + geom[k, m, SY] * dy) * geom[k, m, INV_LEN2]  # [segments/m]
                guess = (m + int((t_out - t_in) * along)) % N_POINTS
                m_out, off_out, half_out, c_out = _clearance(
                    geom, k, wd, px + t_out * dx, py + t_out * dy, guess
                )
                if c_out > 0.0:
                    if t_out >= lidar_range:
                        distance, found = lidar_range, True
                        break
                    t_in, c_in, m, off_m, half_m = t_out, c_out, m_out, off_out, half_out
                    continue
                for _ in range(LIDAR_REFINEMENTS):  # the edge lies between t_in (inside) and t_out (outside)
                    t_mid = t_in + (t_out - t_in) * c_in / (c_in - c_out)
                    m_mid, _, _, c_mid = _clearance(geom, k, wd, px + t_mid * dx, py + t_mid * dy, m)
                    if c_mid > 0.0:
                        t_in, c_in, m = t_mid, c_mid, m_mid
                    else:
                        t_out, c_out = t_mid, c_mid
                distance, found = t_in + (t_out - t_in) * c_in / (c_in - c_out), True
                break
            lidar[r, a] = (distance if found else t_in) / lidar_range

        # -- progress and reward, the observation
        if drive:
            (
                progress[r], totals[0, r], totals[1, r], totals[2, r], totals[3, r], laps[r], flags[0, r],
                flags[1, r],
            ) = _progress_row(
                length[k], arc[r], previous, off, half, progress[r], progress_reward, off_track_penalty,
                crash_penalty, off_track_tolerance,
            )  # fmt: skip
            totals[4, r] = progress[r]
            totals[5, r] = car[r, SPEED]
            steps[r] += 1
            if laps[r] > 0 and lap_time[r] == np.inf:
                lap_time[r] = steps[r] * DT
            totals[6, r] = lap_time[r]
            flags[2, r] = flags[1, r]
        if obs.shape[0] > 0:  # as _state_obs_kernel
            obs[r, 0], obs[r, 1], obs[r, 2], obs[r, 3] = _state_obs_head(
                car[r, SPEED], heading_error[r], off, half, 1.0 / MAX_SPEED
            )
            for a in range(lookahead.shape[0]):
                obs[r, 4 + a] = curvature_ahead[r, a]
            for a in range(lidar.shape[1]):
                obs[r, 4 + lookahead.shape[0] + a] = lidar[r, a]


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
    """Colour each row's heading-up view of its track's edge field into ``out`` (B, H, W, C), C = 3 or 1.

    ``codes[k, row, col] = 4 * edge byte + marks`` (see ``tracks.EdgeField``), coloured through
    ``colour_tables`` (B, N_CODES + 1, C) from :func:`_colour_tables`; ``car_pixels`` (N, 2) are the
    (row, col) output pixels painted in ``car_colours[b]``.
    """
    batch, height, width, channels = out.shape
    rgb = channels == 3  # else grayscale
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
                view[i, j, 0] = lut[code, 0]
                if rgb:  # written out: a loop over the channels took a third of the time
                    view[i, j, 1] = lut[code, 1]
                    view[i, j, 2] = lut[code, 2]
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
