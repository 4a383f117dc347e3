"""Closed race tracks: a smooth centre line sampled uniformly by arc length, plus a half-width per point.

A :class:`Track` is ``N_POINTS`` points ``centre[i]`` at arc length ``i * ds`` [m] along a closed,
counter-clockwise centre line (driving direction = increasing index), with the road's half-width,
the tangent heading and the signed curvature (positive = left turn) at each point.

Layouts come from three places:

* named, fixed layouts (:data:`LAYOUTS`): ``"oval"`` (two 180 m straights, 45 m bends), ``"kidney"``
  (a bean with one concave side, left and right bends), ``"hairpin"`` (a rectangle with a finger
  pushed in: a ~15 m-radius 180° hairpin between two parallel straights);
* :func:`procedural_track` ``(seed)``: random control points on a ring, smoothed by keeping only the
  lowest Fourier harmonics of the closed curve, scaled to a random length, with a smoothly varying
  width; drafts whose inner edge would fold (radius of curvature below half-width + margin) or whose
  separate sections come too close are rejected and redrawn from the same generator, so a seed
  always gives the same track;
* :func:`make_track` ``(spec)`` accepts either: a layout name or an int seed.

:func:`edge_field` rasterises a track once into a grid of "distance beyond the road edge" plus
kerb-stripe / start-line marks; the env colours that grid per row when it renders, so colour and
width randomisation need no re-rasterisation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = [
    "FIELD_RESOLUTION",
    "LAYOUTS",
    "N_POINTS",
    "EdgeField",
    "Track",
    "edge_field",
    "make_track",
    "procedural_track",
]

N_POINTS = 512  # centre-line points per track (all tracks alike, so batches of tracks stack)
FIELD_RESOLUTION = 0.5  # [m] per edge-field cell
FIELD_REACH = 4.0  # [m] how far beyond the road edge the field is computed (grass further out)
EDGE_QUANTUM = 0.05  # [m] per uint8 step of the stored edge distance (range +-6.4 m)
STRIPE_LENGTH = 3.0  # [m] kerb stripes alternate colour every this much arc length
START_LINE_LENGTH = 1.5  # [m] arc length painted as the start/finish line
MAX_WIDTH_MARGIN = 2.0  # [m] every generated track stays valid if its half-width grows by this much
PROCEDURAL_EXTENT = 330.0  # [m] procedural tracks fit in a square this size (fields then stack)
_MIN_CLEARANCE = 6.0  # [m] grass between two separate sections of road, at the widest


@dataclass(frozen=True, eq=False)
class Track:
    """A closed track. Arrays are read-only; index ``i`` sits at arc length ``i * ds``."""

    name: str
    centre: np.ndarray  # (P, 2) [m]
    half_width: np.ndarray  # (P,) [m]
    heading: np.ndarray  # (P,) [rad] direction of the centre line (driving direction)
    curvature: np.ndarray  # (P,) [1/m] positive when the road turns left
    length: float  # [m] once round

    @property
    def ds(self) -> float:
        """Arc length between consecutive points [m]."""
        return self.length / len(self.centre)


# --------------------------------------------------------------------------------------------
# Building a track from a closed curve
# --------------------------------------------------------------------------------------------
def _resample_closed(points: np.ndarray, count: int, values: np.ndarray | None = None):
    """``count`` points evenly spaced by arc length along the closed polyline ``points`` (M, 2)."""
    closed = np.vstack([points, points[:1]])
    steps = np.hypot(*np.diff(closed, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(steps)])
    targets = np.arange(count) * (arc[-1] / count)
    resampled = np.stack([np.interp(targets, arc, closed[:, 0]), np.interp(targets, arc, closed[:, 1])], 1)
    if values is None:
        return resampled, arc[-1]
    closed_values = np.concatenate([values, values[:1]])
    return resampled, arc[-1], np.interp(targets, arc, closed_values)


def _smooth_closed(points: np.ndarray, harmonics: int, dense: int = 2048) -> np.ndarray:
    """Low-pass a closed polygon: keep Fourier harmonics ``|k| <= harmonics`` of its arc-length form."""
    curve, _ = _resample_closed(np.asarray(points, dtype=np.float64), dense)
    spectrum = np.fft.fft(curve[:, 0] + 1j * curve[:, 1])
    k = np.fft.fftfreq(dense, d=1.0 / dense)
    spectrum[np.abs(k) > harmonics] = 0.0
    z = np.fft.ifft(spectrum)
    return np.stack([z.real, z.imag], axis=1)


def _track_from_curve(name: str, curve: np.ndarray, half_width: np.ndarray | float) -> Track:
    """Resample a dense closed ``curve`` (M, 2) [m] to a :class:`Track`; runs counter-clockwise."""
    curve = np.asarray(curve, dtype=np.float64)
    widths = np.broadcast_to(np.asarray(half_width, dtype=np.float64), (len(curve),))
    x, y = curve[:, 0], curve[:, 1]
    if np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) < 0:  # clockwise: reverse the direction
        curve, widths = curve[::-1].copy(), widths[::-1].copy()
    centre, length, widths = _resample_closed(curve, N_POINTS, widths)
    ds = length / N_POINTS
    d1 = (np.roll(centre, -1, axis=0) - np.roll(centre, 1, axis=0)) / (2 * ds)
    d2 = (np.roll(centre, -1, axis=0) - 2 * centre + np.roll(centre, 1, axis=0)) / ds**2
    speed = np.hypot(d1[:, 0], d1[:, 1])
    curvature = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / speed**3
    heading = np.arctan2(d1[:, 1], d1[:, 0])
    arrays = [centre, widths, heading, curvature]
    for a in arrays:
        a.flags.writeable = False
    return Track(name, centre, widths, heading, curvature, float(length))


def _problems(track: Track, width_margin: float) -> list[str]:
    """Why a draft track is unusable (empty when it is fine)."""
    problems = []
    widest = track.half_width + width_margin
    radius = 1.0 / np.maximum(np.abs(track.curvature), 1e-9)
    if np.any(radius < widest + 2.0):
        problems.append(f"a bend of radius {radius.min():.1f} m folds the inner edge")
    # Sections further apart along the track than a half-turn of the road must keep clear of each other.
    every = 2
    c, w = track.centre[::every], widest[::every]
    gap = np.hypot(*(c[:, None, :] - c[None, :, :]).transpose(2, 0, 1))
    idx = np.arange(len(c)) * every
    along = np.abs(idx[:, None] - idx[None, :])
    along = np.minimum(along, N_POINTS - along) * track.ds
    separate = along > np.pi * (w[:, None] + w[None, :] + _MIN_CLEARANCE)
    if np.any(separate & (gap < w[:, None] + w[None, :] + _MIN_CLEARANCE)):
        problems.append("two sections of the track come too close")
    return problems


# --------------------------------------------------------------------------------------------
# Named layouts
# --------------------------------------------------------------------------------------------
def _oval() -> Track:
    straight, radius = 180.0, 45.0  # [m]
    n = 4000
    s = np.linspace(0.0, 2 * straight + 2 * np.pi * radius, n, endpoint=False)
    points = np.empty((n, 2))
    for i, si in enumerate(s):  # construction only: a stadium drawn piece by piece
        if si < straight:
            points[i] = (si - straight / 2, -radius)
        elif si < straight + np.pi * radius:
            a = -np.pi / 2 + (si - straight) / radius
            points[i] = (straight / 2 + radius * np.cos(a), radius * np.sin(a))
        elif si < 2 * straight + np.pi * radius:
            points[i] = (straight / 2 - (si - straight - np.pi * radius), radius)
        else:
            a = np.pi / 2 + (si - 2 * straight - np.pi * radius) / radius
            points[i] = (-straight / 2 + radius * np.cos(a), radius * np.sin(a))
    return _track_from_curve("oval", points, 7.0)


def _kidney() -> Track:
    theta = np.linspace(0.0, 2 * np.pi, 720, endpoint=False)
    radius = 95.0 * (1.0 + 0.18 * np.cos(theta) - 0.22 * np.cos(2 * theta) + 0.05 * np.sin(3 * theta))
    points = np.stack([1.25 * radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    half_width = 6.5 + 1.0 * np.cos(2 * theta + 0.5)
    return _track_from_curve("kidney", points, half_width)


def _hairpin() -> Track:
    # a rectangle with a finger pushed into it from the top: down one side of the finger, a 180 degree
    # hairpin of ~15 m radius at its tip, back up the other side
    control = np.array(
        [[0, 0], [300, 0], [300, 170], [190, 170], [190, 70], [150, 70], [150, 170], [0, 170]],
        dtype=np.float64,
    )
    return _track_from_curve("hairpin", _smooth_closed(control, harmonics=12), 6.0)


LAYOUTS = {"oval": _oval, "kidney": _kidney, "hairpin": _hairpin}
_LAYOUT_CACHE: dict[str, Track] = {}


# --------------------------------------------------------------------------------------------
# Procedural tracks
# --------------------------------------------------------------------------------------------
def procedural_track(seed: int, max_tries: int = 200) -> Track:
    """A random, valid track determined by ``seed`` (450–800 m long, half-width about 4.5–8.5 m)."""
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        n_control = int(rng.integers(7, 13))
        angles = (np.arange(n_control) + rng.uniform(-0.3, 0.3, n_control)) * (2 * np.pi / n_control)
        radii = rng.uniform(0.5, 1.0, n_control)
        control = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)
        curve = _smooth_closed(control, harmonics=int(rng.integers(4, 8)))
        target_length = rng.uniform(450.0, 800.0)
        _, length = _resample_closed(curve, 64)
        curve *= target_length / length
        base = rng.uniform(5.0, 7.5)
        phase = np.linspace(0.0, 2 * np.pi, len(curve), endpoint=False)
        half_width = base * (
            1.0 + rng.uniform(0.0, 0.15) * np.sin(int(rng.integers(1, 4)) * phase + rng.uniform(0, 6.3))
        )
        track = _track_from_curve(f"procedural-{seed}", curve, half_width)
        extent = np.ptp(track.centre, axis=0).max() + 2 * (
            track.half_width.max() + MAX_WIDTH_MARGIN + FIELD_REACH
        )
        if extent <= PROCEDURAL_EXTENT and not _problems(track, MAX_WIDTH_MARGIN):
            return track
    raise RuntimeError(f"procedural_track: no valid track for seed {seed} in {max_tries} tries")


def make_track(spec: str | int) -> Track:
    """The track for a layout name (see :data:`LAYOUTS`) or an int seed (a procedural layout)."""
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        if not 0 <= int(spec) < 2**63:
            raise ValueError(f"track: a procedural track seed must be in [0, 2**63), got {spec}")
        return procedural_track(int(spec))
    if isinstance(spec, str) and spec in LAYOUTS:
        if spec not in _LAYOUT_CACHE:
            _LAYOUT_CACHE[spec] = LAYOUTS[spec]()
        return _LAYOUT_CACHE[spec]
    raise ValueError(f"track: expected one of {sorted(LAYOUTS)} or an int seed, got {spec!r}")


# --------------------------------------------------------------------------------------------
# Edge field: what the renderer samples
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class EdgeField:
    """A track rasterised once: ``cells[row, col] = (edge, marks)``, row 0 at the top (``y_top``).

    ``edge`` is the distance beyond the road edge [m] quantised as ``128 + edge / EDGE_QUANTUM``
    (negative inside the road, 255 = far out on the grass); ``marks`` bit 0 is the kerb-stripe
    parity, bit 1 the start/finish line.
    """

    cells: np.ndarray  # (H, W, 2) uint8
    x_left: float  # [m] world x of the left edge of column 0
    y_top: float  # [m] world y of the top edge of row 0
    resolution: float = FIELD_RESOLUTION  # [m] per cell


@njit(cache=True)
def _edge_field_kernel(centre, half_width, ds, x_left, y_top, res, reach, edge, marks):  # pragma: no cover
    n_points = centre.shape[0]
    height, width = edge.shape
    for i in range(n_points):
        j = i + 1 if i + 1 < n_points else 0
        ax, ay, bx, by = centre[i, 0], centre[i, 1], centre[j, 0], centre[j, 1]
        ex, ey = bx - ax, by - ay
        inv_len2 = 1.0 / (ex * ex + ey * ey)
        wa, wb = half_width[i], half_width[j]
        r = max(wa, wb) + reach
        col0 = max(int(np.floor((min(ax, bx) - r - x_left) / res)), 0)
        col1 = min(int(np.ceil((max(ax, bx) + r - x_left) / res)), width)
        row0 = max(int(np.floor((y_top - max(ay, by) - r) / res)), 0)
        row1 = min(int(np.ceil((y_top - min(ay, by) + r) / res)), height)
        for row in range(row0, row1):
            py = y_top - (row + 0.5) * res - ay
            for col in range(col0, col1):
                px = x_left + (col + 0.5) * res - ax
                t = min(max((px * ex + py * ey) * inv_len2, 0.0), 1.0)
                dx, dy = px - t * ex, py - t * ey
                beyond = np.sqrt(dx * dx + dy * dy) - (wa + t * (wb - wa))
                if beyond < edge[row, col]:
                    edge[row, col] = beyond
                    s = (i + t) * ds
                    mark = int(np.floor(s / STRIPE_LENGTH)) & 1
                    if s < START_LINE_LENGTH:  # painted just after the line at s = 0
                        mark |= 2
                    marks[row, col] = mark


def edge_field(track: Track, side: float | None = None) -> EdgeField:
    """Rasterise ``track``; the field is a square of ``side`` [m] (default: just fits) round its centre."""
    low, high = track.centre.min(axis=0), track.centre.max(axis=0)
    margin = track.half_width.max() + MAX_WIDTH_MARGIN + FIELD_REACH
    if side is None:
        side = float(np.max(high - low) + 2 * margin)
    cells_per_side = int(np.ceil(side / FIELD_RESOLUTION))
    middle = 0.5 * (low + high)
    x_left = float(middle[0] - 0.5 * cells_per_side * FIELD_RESOLUTION)
    y_top = float(middle[1] + 0.5 * cells_per_side * FIELD_RESOLUTION)
    edge = np.full((cells_per_side, cells_per_side), np.inf)
    marks = np.zeros((cells_per_side, cells_per_side), dtype=np.uint8)
    _edge_field_kernel(
        track.centre, track.half_width, track.ds, x_left, y_top, FIELD_RESOLUTION, FIELD_REACH, edge, marks
    )
    quantised = np.clip(np.rint(edge / EDGE_QUANTUM) + 128, 0, 255).astype(np.uint8)
    return EdgeField(np.stack([quantised, marks], axis=2), x_left, y_top)
