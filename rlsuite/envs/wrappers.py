"""Wrappers Gymnasium does not already have.

:class:`Discretizer` maps low-dimensional ``Box`` observations to one ``Discrete`` index with
uniform bins, so tabular agents can learn on CartPole, MountainCar or our state envs.
:class:`UniformBinsObservation` (single env) and :class:`UniformBinsObservationVector` (vector env)
apply it as observation wrappers. Gymnasium 1.2's ``DiscretizeObservation`` does the single-env
part for spaces with finite bounds only; ours also takes a ``low``/``high`` range for unbounded
dimensions (CartPole's velocities) and has a vector version, so it keeps a name of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

__all__ = ["Discretizer", "UniformBinsObservation", "UniformBinsObservationVector"]


MAX_CELLS = 2**31  # cells of one Discretizer: a table row per cell


class Discretizer:
    """Uniform bins over a ``Box``: ``bins[d]`` equal-width cells between ``low[d]`` and ``high[d]``.

    Values outside ``[low, high]`` are clipped into the first or last bin (so unbounded dimensions
    such as CartPole's velocities work once you choose a range). The cells of all dimensions are
    combined in row-major order into one index in ``[0, prod(bins))``. A dimension with 1 bin is
    ignored. ``low``/``high`` default to the space's bounds, which must then be finite.
    """

    def __init__(
        self,
        space: gym.spaces.Box,
        bins: int | Sequence[int],
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
    ) -> None:
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"discretisation needs a 1-D Box observation space, got {space}")
        dims = space.shape[0]
        bins_array = np.broadcast_to(np.asarray(bins), (dims,)) if np.ndim(bins) == 0 else np.asarray(bins)
        if (
            bins_array.shape != (dims,)
            or not np.issubdtype(bins_array.dtype, np.integer)
            or (bins_array < 1).any()
        ):
            raise ValueError(f"bins: expected one integer >= 1 or a list of {dims} of them, got {bins!r}")
        self.low = self._bound(space.low, low, "low", dims)
        self.high = self._bound(space.high, high, "high", dims)
        if not (self.high > self.low).all():
            raise ValueError(
                f"low/high: every high must exceed its low; got low={self.low}, high={self.high}"
            )
        self.bins = bins_array.astype(np.int64)
        self.n = math.prod(int(b) for b in self.bins)  # Python ints: no silent int64 overflow
        if self.n > MAX_CELLS:
            raise ValueError(
                f"bins: {bins!r} makes {self.n} cells (the product); at most {MAX_CELLS}: use fewer bins"
            )
        self._scale = self.bins / (self.high - self.low)
        self._strides = np.cumprod(np.concatenate([self.bins[1:], [1]])[::-1])[::-1].astype(np.int64)
        self.space = gym.spaces.Discrete(self.n)

    @staticmethod
    def _bound(space_bound: np.ndarray, given: Sequence[float] | None, name: str, dims: int) -> np.ndarray:
        if given is None:
            if not np.all(np.isfinite(space_bound)):
                raise ValueError(
                    f"{name}: the observation space is unbounded ({name}={space_bound.tolist()}); "
                    f"give {name} as a list of {dims} finite numbers"
                )
            return space_bound.astype(np.float64)
        array = np.asarray(given, dtype=np.float64)
        if array.shape != (dims,) or not np.all(np.isfinite(array)):
            raise ValueError(f"{name}: expected a list of {dims} finite numbers, got {given!r}")
        return array

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """Indices of a batch ``(n, dims)`` (or one ``(dims,)``) of observations."""
        cells = np.floor((np.asarray(obs, dtype=np.float64) - self.low) * self._scale).astype(np.int64)
        np.clip(cells, 0, self.bins - 1, out=cells)
        return cells @ self._strides

    def to_dict(self) -> dict[str, Any]:
        return {"bins": self.bins.tolist(), "low": self.low.tolist(), "high": self.high.tolist()}


class UniformBinsObservation(gym.ObservationWrapper):
    """Single-env wrapper: ``Box`` observations → ``Discrete`` indices (see :class:`Discretizer`)."""

    def __init__(self, env: gym.Env, bins: int | Sequence[int], low=None, high=None) -> None:
        super().__init__(env)
        self.discretizer = Discretizer(env.observation_space, bins, low, high)
        self.observation_space = self.discretizer.space

    def observation(self, observation: np.ndarray) -> np.int64:
        return np.int64(self.discretizer(observation))


class UniformBinsObservationVector(gym.vector.VectorObservationWrapper):
    """Vector-env wrapper: a batch of ``Box`` observations → a batch of ``Discrete`` indices."""

    def __init__(self, env: gym.vector.VectorEnv, bins: int | Sequence[int], low=None, high=None) -> None:
        super().__init__(env)
        self.discretizer = Discretizer(env.single_observation_space, bins, low, high)
        self.single_observation_space = self.discretizer.space
        self.observation_space = batch_space(self.single_observation_space, env.num_envs)

    def observations(self, observations: np.ndarray) -> np.ndarray:
        return self.discretizer(observations)
