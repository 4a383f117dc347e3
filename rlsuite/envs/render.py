"""Batched rasteriser shared by every rlsuite env for pixel observations and ``rgb_array`` frames.

All functions work on a batch of ``B`` canvases at once, ``uint8`` arrays shaped ``(B, H, W, C)``.
Coordinates are floating-point **pixel** coordinates: ``x`` runs along columns (right), ``y``
along rows (down); pixel ``(row, col)`` covers ``[col, col + 1) × [row, row + 1)`` and is tested at
its centre. Envs convert their world coordinates (usually ``y`` up, in metres) themselves.

Shapes use ``K`` for the number of shapes per canvas; ``radii``, ``colors`` and ``mask`` broadcast
to ``(B, K)`` / ``(B, K, C)``, so one colour per shape kind is simply ``colors=(C,)``.

The kernels are serial ``numba.njit(cache=True)`` loops over the batch: drawing and resampling
are exactly what numpy expresses badly (per-pixel coverage tests inside bounding boxes), and a
compiled loop touches only the pixels a shape covers. They are deliberately not ``parallel=True``:
on our shared 2-core machines numba's thread pool made a small draw call up to 500× slower
whenever the other core was busy (measured by the env authors); parallelism across envs belongs
to processes (vector envs in Ray workers), not to threads inside one step.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "draw_capsules",
    "draw_circles",
    "draw_polygons",
    "draw_rects",
    "new_canvas",
    "rect_vertices",
    "sample_egocentric",
    "to_grayscale",
]


# --------------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _circles_kernel(canvas, centers, radii, colors, mask):  # pragma: no cover - compiled
    batch, height, width, channels = canvas.shape
    for b in range(batch):
        for k in range(centers.shape[1]):
            if not mask[b, k]:
                continue
            cx, cy, r = centers[b, k, 0], centers[b, k, 1], radii[b, k]
            if not (r > 0.0) or not (np.isfinite(cx) and np.isfinite(cy)):
                continue
            r2 = r * r
            x0, x1 = max(int(np.floor(cx - r)), 0), min(int(np.ceil(cx + r)), width)
            y0, y1 = max(int(np.floor(cy - r)), 0), min(int(np.ceil(cy + r)), height)
            for y in range(y0, y1):
                dy = y + 0.5 - cy
                for x in range(x0, x1):
                    dx = x + 0.5 - cx
                    if dx * dx + dy * dy <= r2:
                        for c in range(channels):
                            canvas[b, y, x, c] = colors[b, k, c]


@njit(cache=True)
def _capsules_kernel(canvas, starts, ends, radii, colors, mask):  # pragma: no cover - compiled
    batch, height, width, channels = canvas.shape
    for b in range(batch):
        for k in range(starts.shape[1]):
            if not mask[b, k]:
                continue
            ax, ay = starts[b, k, 0], starts[b, k, 1]
            bx, by = ends[b, k, 0], ends[b, k, 1]
            r = radii[b, k]
            if not (r > 0.0) or not (np.isfinite(ax + ay + bx + by)):
                continue
            r2 = r * r
            ex, ey = bx - ax, by - ay
            length2 = ex * ex + ey * ey
            x0 = max(int(np.floor(min(ax, bx) - r)), 0)
            x1 = min(int(np.ceil(max(ax, bx) + r)), width)
            y0 = max(int(np.floor(min(ay, by) - r)), 0)
            y1 = min(int(np.ceil(max(ay, by) + r)), height)
            for y in range(y0, y1):
                py = y + 0.5 - ay
                for x in range(x0, x1):
                    px = x + 0.5 - ax
                    t = 0.0
                    if length2 > 0.0:
                        t = min(max((px * ex + py * ey) / length2, 0.0), 1.0)
                    dx, dy = px - t * ex, py - t * ey
                    if dx * dx + dy * dy <= r2:
                        for c in range(channels):
                            canvas[b, y, x, c] = colors[b, k, c]


@njit(cache=True)
def _polygons_kernel(canvas, vertices, colors, mask):  # pragma: no cover - compiled
    batch, height, width, channels = canvas.shape
    n_vertices = vertices.shape[2]
    for b in range(batch):
        for k in range(vertices.shape[1]):
            if not mask[b, k]:
                continue
            xmin, xmax = np.inf, -np.inf
            ymin, ymax = np.inf, -np.inf
            area2 = 0.0  # twice the signed area: its sign gives the winding
            for v in range(n_vertices):
                vx, vy = vertices[b, k, v, 0], vertices[b, k, v, 1]
                wx, wy = vertices[b, k, (v + 1) % n_vertices, 0], vertices[b, k, (v + 1) % n_vertices, 1]
                xmin, xmax = min(xmin, vx), max(xmax, vx)
                ymin, ymax = min(ymin, vy), max(ymax, vy)
                area2 += vx * wy - wx * vy
            if area2 == 0.0 or not np.isfinite(xmin + xmax + ymin + ymax):
                continue
            sign = 1.0 if area2 > 0.0 else -1.0
            x0, x1 = max(int(np.floor(xmin)), 0), min(int(np.ceil(xmax)), width)
            y0, y1 = max(int(np.floor(ymin)), 0), min(int(np.ceil(ymax)), height)
            for y in range(y0, y1):
                py = y + 0.5
                for x in range(x0, x1):
                    px = x + 0.5
                    inside = True
                    for v in range(n_vertices):
                        vx, vy = vertices[b, k, v, 0], vertices[b, k, v, 1]
                        w = (v + 1) % n_vertices
                        wx, wy = vertices[b, k, w, 0], vertices[b, k, w, 1]
                        if sign * ((wx - vx) * (py - vy) - (wy - vy) * (px - vx)) < 0.0:
                            inside = False
                            break
                    if inside:
                        for c in range(channels):
                            canvas[b, y, x, c] = colors[b, k, c]


@njit(cache=True)
def _egocentric_kernel(bitmap, origins, angles, scale, out, anchor_row, anchor_col, fill):  # pragma: no cover
    batch, height, width, channels = out.shape
    bitmap_h, bitmap_w = bitmap.shape[0], bitmap.shape[1]
    for b in range(batch):
        fx, fy = np.cos(angles[b]), np.sin(angles[b])  # forward, in bitmap pixels
        rx, ry = -fy, fx  # right of forward in a y-down frame
        ox, oy = origins[b, 0], origins[b, 1]
        for i in range(height):
            forward = (anchor_row - (i + 0.5)) * scale
            for j in range(width):
                lateral = ((j + 0.5) - anchor_col) * scale
                sx = ox + forward * fx + lateral * rx
                sy = oy + forward * fy + lateral * ry
                col, row = int(np.floor(sx)), int(np.floor(sy))
                if 0 <= row < bitmap_h and 0 <= col < bitmap_w:
                    for c in range(channels):
                        out[b, i, j, c] = bitmap[row, col, c]
                else:
                    for c in range(channels):
                        out[b, i, j, c] = fill[c]


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------
def new_canvas(
    batch: int, height: int, width: int, channels: int = 3, color: np.ndarray | tuple | int = 0
) -> np.ndarray:
    """A ``(batch, height, width, channels)`` uint8 canvas filled with ``color`` ((C,) or (B, C))."""
    canvas = np.empty((batch, height, width, channels), dtype=np.uint8)
    color = np.asarray(color, dtype=np.uint8)
    canvas[...] = color[:, None, None, :] if color.ndim == 2 else color
    return canvas


def _broadcast(value, dtype, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(np.asarray(value, dtype), shape)``, as a small filled array: the same values
    and errors, without ``broadcast_to``'s few microseconds of Python, which were most of a draw call
    of a single env (these arrays hold one entry per shape, never per pixel)."""
    array = np.asarray(value, dtype=dtype)
    if array.shape == shape:
        return array
    if array.ndim > len(shape):  # broadcast_to's error, not assignment's more lenient rules
        return np.broadcast_to(array, shape)
    out = np.empty(shape, dtype=dtype)
    try:
        out[...] = array
    except ValueError:
        np.broadcast_to(array, shape)  # raises broadcast_to's own error
        raise
    return out


def _batch_arrays(canvas: np.ndarray, k: int, radii=None, colors=None, mask=None):
    batch, channels = canvas.shape[0], canvas.shape[3]
    colors_arr = _broadcast(colors, np.uint8, (batch, k, channels))
    mask_arr = _broadcast(True if mask is None else mask, np.bool_, (batch, k))
    radii_arr = None
    if radii is not None:
        radii_arr = _broadcast(radii, np.float64, (batch, k))
    return radii_arr, colors_arr, mask_arr


def _check_canvas(canvas: np.ndarray) -> None:
    if canvas.dtype != np.uint8 or canvas.ndim != 4:
        raise ValueError(f"canvas must be a uint8 array (B, H, W, C); got {canvas.dtype} {canvas.shape}")


def draw_circles(canvas: np.ndarray, centers, radii, colors, mask=None) -> np.ndarray:
    """Fill circles: ``centers`` (B, K, 2) px, ``radii`` (B, K) px. Draws in place; returns canvas."""
    _check_canvas(canvas)
    centers = np.asarray(centers, dtype=np.float64)
    radii, colors, mask = _batch_arrays(canvas, centers.shape[1], radii, colors, mask)
    _circles_kernel(canvas, centers, radii, colors, mask)
    return canvas


def draw_capsules(canvas: np.ndarray, starts, ends, radii, colors, mask=None) -> np.ndarray:
    """Fill thick segments with round caps (links, lane marks): ``starts``/``ends`` (B, K, 2) px."""
    _check_canvas(canvas)
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    radii, colors, mask = _batch_arrays(canvas, starts.shape[1], radii, colors, mask)
    _capsules_kernel(canvas, starts, ends, radii, colors, mask)
    return canvas


def draw_polygons(canvas: np.ndarray, vertices, colors, mask=None) -> np.ndarray:
    """Fill convex polygons, ``vertices`` (B, K, V, 2) px in either winding order."""
    _check_canvas(canvas)
    vertices = np.asarray(vertices, dtype=np.float64)
    _, colors, mask = _batch_arrays(canvas, vertices.shape[1], None, colors, mask)
    _polygons_kernel(canvas, vertices, colors, mask)
    return canvas


def rect_vertices(centers, half_sizes, angles) -> np.ndarray:
    """Corners (B, K, 4, 2) of rectangles: ``half_sizes[..., 0]`` along the ``angle`` direction."""
    centers = np.asarray(centers, dtype=np.float64)
    half_sizes = np.asarray(half_sizes, dtype=np.float64)
    angles = np.asarray(angles, dtype=np.float64)
    cos, sin = np.cos(angles)[..., None], np.sin(angles)[..., None]
    corners = np.array([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])  # (4, 2)
    local = corners * half_sizes[..., None, :]  # (B, K, 4, 2)
    x = local[..., 0] * cos - local[..., 1] * sin
    y = local[..., 0] * sin + local[..., 1] * cos
    return centers[..., None, :] + np.stack([x, y], axis=-1)


def draw_rects(canvas: np.ndarray, centers, half_sizes, angles, colors, mask=None) -> np.ndarray:
    """Fill rotated rectangles (vehicles): ``centers`` (B, K, 2), ``half_sizes`` (B, K, 2) px."""
    return draw_polygons(canvas, rect_vertices(centers, half_sizes, angles), colors, mask)


def sample_egocentric(
    bitmap: np.ndarray,
    origins,
    angles,
    scale: float,
    out: np.ndarray,
    anchor: tuple[float, float] = (0.5, 0.5),
    fill=None,
) -> np.ndarray:
    """Nearest-neighbour egocentric view of ``bitmap`` (Hb, Wb, C) for a batch of poses.

    The output's up direction is ``angles`` (B,) [rad, in the bitmap frame: x right, y down, so a
    y-up world heading θ is −θ here when rows flip world y]; ``origins`` (B, 2) [bitmap px] appear
    at ``anchor`` = (row fraction, column fraction) of the output; one output pixel spans ``scale``
    bitmap pixels. Pixels that fall outside the bitmap get ``fill`` (C,). Writes into ``out``.
    """
    _check_canvas(out)
    if bitmap.ndim != 3 or bitmap.shape[2] != out.shape[3] or bitmap.dtype != np.uint8:
        raise ValueError(f"bitmap must be uint8 (H, W, {out.shape[3]}); got {bitmap.dtype} {bitmap.shape}")
    fill_arr = np.zeros(out.shape[3], np.uint8) if fill is None else np.asarray(fill, np.uint8)
    fill_arr = np.broadcast_to(fill_arr, (out.shape[3],)).copy()
    origins = np.asarray(origins, dtype=np.float64).reshape(out.shape[0], 2)
    angles = np.asarray(angles, dtype=np.float64).reshape(out.shape[0])
    height, width = out.shape[1], out.shape[2]
    _egocentric_kernel(
        bitmap, origins, angles, float(scale), out, anchor[0] * height, anchor[1] * width, fill_arr
    )
    return out


_LUMA = np.array([0.299, 0.587, 0.114])


def to_grayscale(canvas: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma of an RGB batch (B, H, W, 3) → (B, H, W, 1) uint8."""
    _check_canvas(canvas)
    if canvas.shape[3] == 1:
        return canvas
    gray = canvas @ _LUMA  # float64 (B, H, W)
    return np.rint(gray).astype(np.uint8)[..., None]
