"""The numba kernels of ``rlsuite/Highway-v0`` (see :mod:`rlsuite.envs.driving.highway_core`).

Two loops over rows that numpy does badly, each with per-row work on a handful of vehicles: the
state observation (a nearest-neighbour query around the ego, then the feature table of
:class:`rlsuite.envs.driving.highway.HighwayEnv`) and the road background of pixel frames
(horizontal stripes, painted a row at a time). The traffic step is
:func:`rlsuite.envs.driving.traffic.traffic_accelerations`. The kernels are serial; see
``traffic._traffic_kernel`` for why. The ``_impl`` functions are the plain-Python sources, which
the tests also run uncompiled (an index out of bounds then raises instead of corrupting memory).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["VX_SCALE", "VY_SCALE"]

VX_SCALE = 40.0  # [m/s] normalisation of longitudinal velocities in the state observation
VY_SCALE = 10.0  # [m/s] normalisation of lateral velocities in the state observation


@njit(cache=True, inline="always")
def _unit(value):  # pragma: no cover - compiled
    return min(max(value, -1.0), 1.0)


def _observe_impl(x, y, heading, speed, lane_width, lanes_count, perception, obs):  # pragma: no cover
    """The state observation (see HighwayEnv): a nearest-neighbour query per road, then features."""
    batch, vehicles = x.shape
    slots = obs.shape[1] - 1
    for b in range(batch):
        nearest = np.empty(slots, dtype=np.int64)
        nearest_d2 = np.empty(slots)
        found = 0
        for j in range(1, vehicles if slots > 0 else 1):  # keep the `slots` nearest, by (distance, index)
            dx = x[b, j] - x[b, 0]
            if not abs(dx) < perception:
                continue
            dy = y[b, j] - y[b, 0]
            d2 = dx * dx + dy * dy
            if found == slots and not d2 < nearest_d2[slots - 1]:
                continue
            k = found if found < slots else slots - 1
            while k > 0 and nearest_d2[k - 1] > d2:
                if k < slots:
                    nearest[k], nearest_d2[k] = nearest[k - 1], nearest_d2[k - 1]
                k -= 1
            nearest[k], nearest_d2[k] = j, d2
            found = min(found + 1, slots)
        road_width = lanes_count * lane_width[b]
        ego_vx = speed[b, 0] * np.cos(heading[b, 0])
        ego_vy = speed[b, 0] * np.sin(heading[b, 0])
        obs[b, 0, 0] = 1.0
        obs[b, 0, 1] = 0.0
        obs[b, 0, 2] = _unit((y[b, 0] - 0.5 * (lanes_count - 1) * lane_width[b]) / (0.5 * road_width))
        obs[b, 0, 3] = _unit(ego_vx / VX_SCALE)
        obs[b, 0, 4] = _unit(ego_vy / VY_SCALE)
        for k in range(slots):
            if k >= found:
                for f in range(5):
                    obs[b, k + 1, f] = 0.0
                continue
            j = nearest[k]
            obs[b, k + 1, 0] = 1.0
            obs[b, k + 1, 1] = _unit((x[b, j] - x[b, 0]) / perception)
            obs[b, k + 1, 2] = _unit((y[b, j] - y[b, 0]) / road_width)
            obs[b, k + 1, 3] = _unit((speed[b, j] * np.cos(heading[b, j]) - ego_vx) / VX_SCALE)
            obs[b, k + 1, 4] = _unit((speed[b, j] * np.sin(heading[b, j]) - ego_vy) / VY_SCALE)


_observe_kernel = njit(cache=True)(_observe_impl)  # serial: see traffic._traffic_kernel


def _road_impl(canvas, edges, marks, half_line, dash_cols, dash_length, palette):  # pragma: no cover
    """Paint background, road, edge lines and dashed lane markings of a straight road, row by row.

    ``edges`` (B, 2) and ``marks`` (B, M) are pixel rows of the road edges and inner markings,
    ``half_line`` [px] their half thickness, ``dash_cols`` (B, D) the first column of each dash
    and ``dash_length`` [px] its length; ``palette`` (B, P, C) holds background, road and marking
    colours in slots 0, 1, 2. A pixel belongs to a band when its centre does (edges included, as
    in render.py). Every pixel is written exactly once, a whole row at a time: a straight road is
    made of horizontal stripes, which a polygon rasteriser would test pixel by pixel.
    """
    batch, height, width, channels = canvas.shape
    for b in range(batch):
        background = np.empty((width, channels), dtype=np.uint8)
        road = np.empty((width, channels), dtype=np.uint8)
        line = np.empty((width, channels), dtype=np.uint8)
        for c in range(channels):
            background[:, c] = palette[b, 0, c]
            road[:, c] = palette[b, 1, c]
            line[:, c] = palette[b, 2, c]
        dashed = road.copy()
        for d in range(dash_cols.shape[1]):
            col0 = max(int(np.ceil(dash_cols[b, d] - 0.5)), 0)
            col1 = min(int(np.floor(dash_cols[b, d] + dash_length - 0.5)), width - 1)
            for col in range(col0, col1 + 1):
                dashed[col, :] = line[col, :]
        for row in range(height):
            centre = row + 0.5
            source = background
            if edges[b, 0] <= centre <= edges[b, 1]:
                source = road
            for m in range(marks.shape[1]):
                if abs(centre - marks[b, m]) <= half_line:
                    source = dashed
            for e in range(2):
                if abs(centre - edges[b, e]) <= half_line:
                    source = line
            canvas[b, row] = source


_road_kernel = njit(cache=True)(_road_impl)  # serial: see traffic._traffic_kernel
