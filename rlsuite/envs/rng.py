"""Per-row random streams for batched environments.

A vector env of N sub-envs must reproduce N single envs step for step, so every sub-env needs a
random stream of its own that does not depend on how many other sub-envs exist. ``BatchRNG`` keeps
one 64-bit counter per row and draws with the splitmix64 mixer (Steele, Lea & Flood, 2014), fully
vectorised over the rows: drawing for rows ``[3, 7]`` gives row 3 and row 7 the numbers they would
get alone. Row states are seeded from the env's ``np_random`` (see :func:`row_seeds`), so all
randomness still derives from the seed passed to ``reset``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 2.0**-53


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def row_seeds(seed: int | None, count: int, np_random: np.random.Generator) -> np.ndarray:
    """Seeds for ``count`` rows: row ``i`` gets what a single env reset with ``seed + i`` gets.

    With ``seed=None`` the seeds are drawn from ``np_random`` (the env's own generator).
    """
    if seed is None:
        return np_random.integers(0, 2**63, size=count, dtype=np.uint64)
    return np.array(
        [np.random.default_rng(seed + i).integers(0, 2**63, dtype=np.uint64) for i in range(count)],
        dtype=np.uint64,
    )


_SHIFT30, _SHIFT27, _SHIFT31, _SHIFT11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


@njit(cache=True)
def _draw(state, rows, out):  # pragma: no cover - compiled
    """``out[i, j]``: the ``j``-th next splitmix64 output of row ``rows[i]`` (rows distinct); advances
    those rows by ``out.shape[1]``. The same numbers as ``_mix(state + (j + 1) * _GAMMA)``, without a
    dozen numpy passes over a handful of rows (the common case: the rows that reset this step)."""
    for i in range(rows.shape[0]):
        z = state[rows[i]]
        for j in range(out.shape[1]):
            z += _GAMMA
            x = (z ^ (z >> _SHIFT30)) * _MIX1
            x = (x ^ (x >> _SHIFT27)) * _MIX2
            out[i, j] = x ^ (x >> _SHIFT31)
        state[rows[i]] = z


@njit(cache=True, inline="always")
def next_bits(state, row):  # pragma: no cover - compiled
    """The next splitmix64 output of ``row``'s stream (advances it): for kernels that draw while
    they step a row. The same number :meth:`BatchRNG._bits` draws for that row."""
    z = state[row] + _GAMMA
    state[row] = z
    x = (z ^ (z >> _SHIFT30)) * _MIX1
    x = (x ^ (x >> _SHIFT27)) * _MIX2
    return x ^ (x >> _SHIFT31)


@njit(cache=True, inline="always")
def next_unit(state, row):  # pragma: no cover - compiled
    """A float in [0, 1) from ``row``'s stream: what ``BatchRNG.uniform`` draws for it."""
    return float(next_bits(state, row) >> _SHIFT11) * _TO_UNIT


@njit(cache=True, inline="always")
def next_integer(state, row, low, high):  # pragma: no cover - compiled
    """An integer in [low, high) from ``row``'s stream: what ``BatchRNG.integers`` draws for it."""
    scaled = int(float(next_bits(state, row) >> _SHIFT11) * (_TO_UNIT * (high - low)))
    return min(scaled, high - low - 1) + low


class BatchRNG:
    """``n`` independent splitmix64 streams, one per row, drawn from in vectorised calls."""

    def __init__(self, n: int) -> None:
        self.state = np.zeros(n, dtype=np.uint64)

    def seed(self, rows: np.ndarray, seeds: np.ndarray) -> None:
        """Set the streams of ``rows`` to ``seeds`` (uint64; one per row)."""
        self.state[rows] = _mix(np.atleast_1d(np.asarray(seeds, dtype=np.uint64)) ^ _GAMMA)

    def _bits(self, rows: np.ndarray, size_per_row: tuple[int, ...]) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.intp)
        k = 1
        for d in size_per_row:
            k *= int(d)
        out = np.empty((len(rows), k), dtype=np.uint64)
        _draw(self.state, rows, out)
        return out.reshape(len(rows), *size_per_row)

    def uniform(
        self,
        rows: np.ndarray,
        low: float | np.ndarray = 0.0,
        high: float | np.ndarray = 1.0,
        size_per_row: tuple[int, ...] = (),
    ) -> np.ndarray:
        """Floats in ``[low, high)``, shape ``(len(rows), *size_per_row)``."""
        unit = (self._bits(rows, tuple(size_per_row)) >> np.uint64(11)).astype(np.float64) * _TO_UNIT
        return low + (np.asarray(high) - np.asarray(low)) * unit

    def integers(
        self, rows: np.ndarray, low: int, high: int, size_per_row: tuple[int, ...] = ()
    ) -> np.ndarray:
        """Integers in ``[low, high)``, shape ``(len(rows), *size_per_row)``."""
        # (bits >> 11) * 2**-53 is uniform(); scaling by 2**-53 * (high - low) at once rounds the same.
        bits = self._bits(rows, tuple(size_per_row)) >> np.uint64(11)
        scaled = (bits.astype(np.float64) * (_TO_UNIT * (high - low))).astype(np.int64)
        return np.minimum(scaled, high - low - 1) + low

    def normal(self, rows: np.ndarray, size_per_row: tuple[int, ...] = ()) -> np.ndarray:
        """Standard normal floats (Box–Muller), shape ``(len(rows), *size_per_row)``."""
        size = tuple(size_per_row)
        u = self.uniform(rows, 0.0, 1.0, (2, *size))
        radius = np.sqrt(-2.0 * np.log1p(-u[:, 0]))  # 1 - u in (0, 1]: log is finite
        return radius * np.cos(2.0 * np.pi * u[:, 1])
