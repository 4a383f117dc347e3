"""``rlsuite/Highway-v0``: an ego car on a multi-lane highway with IDM/MOBIL traffic.

One batched numpy core (:class:`HighwayCore`) simulates ``B`` independent roads at once; the single
env is the core with ``B = 1`` and the native vector env is the core with ``B = num_envs``, so both
run the same code. The model follows highway-env (Leurent, 2018) closely: every vehicle is a
kinematic bicycle; traffic is driven by IDM (speed) and MOBIL (lane choice) through highway-env's
lane-keeping steering controller; the ego car takes discrete meta-actions through the same
controller, or raw acceleration and steering.

Vehicle kinematics, controllers, collisions and rewards are numpy over ``(B, V)`` arrays. Three
numba kernels do what numpy does badly, each a loop over rows with per-row work on a handful of
vehicles: the traffic step (per-lane neighbour search with IDM/MOBIL evaluated on the neighbours
it finds, :func:`rlsuite.envs.driving.traffic.traffic_accelerations`), the state observation (a
nearest-neighbour query around the ego) and the road background of pixel frames (horizontal
stripes, painted a row at a time; the vehicles go through ``render.draw_polygons``). The kernels
are serial; see ``traffic._traffic_kernel`` for why.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields
from typing import Any

import gymnasium as gym
import numba
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from numba import njit

from rlsuite.envs import render as raster
from rlsuite.envs.driving import traffic
from rlsuite.envs.rng import BatchRNG, row_seeds

__all__ = ["ACTIONS", "HighwayConfig", "HighwayCore", "HighwayEnv", "HighwayVectorEnv"]

# --------------------------------------------------------------------------------------------
# Constants (highway-env's Vehicle / ControlledVehicle / MDPVehicle values)
# --------------------------------------------------------------------------------------------
LENGTH = 5.0  # [m] every car's body length
WIDTH = 2.0  # [m] every car's body width
MAX_SPEED = 40.0  # [m/s] speed clip (no car reverses: speeds stay >= 0)
ACCEL_LIMIT = 6.0  # [m/s^2] |acceleration| clip of the controllers
MAX_STEERING = np.pi / 3  # [rad] front-wheel angle limit of the steering controller
KP_SPEED = 1.0 / 0.6  # [1/s] speed controller gain (time constant 0.6 s)
KP_HEADING = 1.0 / 0.2  # [1/s] heading controller gain (time constant 0.2 s)
KP_LATERAL = 1.0 / 0.6  # [1/s] lateral-position controller gain (time constant 0.6 s)
MAX_HEADING_COMMAND = np.pi / 4  # [rad] largest heading the lateral controller asks for
SIN_MAX_HEADING = float(np.sin(MAX_HEADING_COMMAND))
SIN_MAX_SLIP = float(np.sin(np.arctan(0.5 * np.tan(MAX_STEERING))))  # slip angle at MAX_STEERING
EGO_TARGET_SPEEDS = np.array([20.0, 25.0, 30.0])  # [m/s] the speeds FASTER / SLOWER choose from
EGO_INITIAL_SPEED = 25.0  # [m/s]
CONTINUOUS_ACCEL = 5.0  # [m/s^2] acceleration at action[0] = ±1
CONTINUOUS_STEERING = np.pi / 4  # [rad] front-wheel angle at action[1] = ±1
DESPAWN_BEHIND = 80.0  # [m] traffic this far behind the ego is moved ahead of the traffic
VX_SCALE = 40.0  # [m/s] normalisation of longitudinal velocities in the state observation
VY_SCALE = 10.0  # [m/s] normalisation of lateral velocities in the state observation
PIXEL_VIEW = (80.0, 28.0)  # [m] longitudinal x lateral extent of the pixel observation
PIXEL_EGO_COLUMN = 0.3  # fraction of the width left of the ego in the pixel observation
RENDER_SCALE = 5.0  # [px/m] of the rgb_array frame
RENDER_WIDTH = 800  # [px] rgb_array frame width (160 m of road)
DASH_LENGTH, DASH_PERIOD = 3.0, 9.0  # [m] lane-marking dashes
LINE_WIDTH = 0.15  # [m] lane markings (drawn at least 1 px wide)

ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")
LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER = range(5)

# Default palette (RGB): background, road, lane markings, ego, traffic (highway-env-like).
BACKGROUND_COLOR = (40, 90, 40)
ROAD_COLOR = (100, 100, 100)
LINE_COLOR = (255, 255, 255)
EGO_COLOR = (50, 200, 0)
TRAFFIC_COLOR = (100, 200, 255)
_LUMA = np.array([0.299, 0.587, 0.114])


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------
def _fail(name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"Highway: {name}={value!r} is not allowed; {name} must be {allowed}")


def _positive(name: str, value: Any, integer: bool = False) -> None:
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value) or value <= 0:
        _fail(name, value, "a positive " + ("integer" if integer else "finite number"))


def _range(name: str, value: Any, low: float = 0.0) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        _fail(name, value, f"a pair (low, high) of finite numbers with {low} <= low <= high")
    if not (np.isfinite(lo) and np.isfinite(hi) and low <= lo <= hi):
        _fail(name, value, f"a pair (low, high) of finite numbers with {low} <= low <= high")
    return lo, hi


@dataclass(frozen=True)
class HighwayConfig:
    """Every keyword argument of the Highway envs, validated (see :class:`HighwayEnv`)."""

    obs_type: str = "state"
    action_type: str = "discrete"
    lanes_count: int = 4
    vehicles_count: int = 20
    vehicles_density: float = 1.0
    policy_frequency: int = 5
    simulation_frequency: int = 5
    observed_vehicles: int = 5
    perception_distance: float = 100.0
    pixel_shape: tuple[int, int] = (84, 84)
    grayscale: bool = False
    lane_width: float | tuple[float, float] = 4.0
    randomize_colors: bool = False
    traffic_speed_range: tuple[float, float] = (21.0, 24.0)
    collision_reward: float = -1.0
    right_lane_reward: float = 0.1
    high_speed_reward: float = 0.4
    reward_speed_range: tuple[float, float] = (20.0, 30.0)
    normalize_reward: bool = True
    offroad_terminal: bool = True

    def __post_init__(self) -> None:
        if self.obs_type not in ("state", "pixels"):
            _fail("obs_type", self.obs_type, "'state' or 'pixels'")
        if self.action_type not in ("discrete", "continuous"):
            _fail("action_type", self.action_type, "'discrete' or 'continuous'")
        for name in ("lanes_count", "vehicles_count", "policy_frequency", "simulation_frequency"):
            _positive(name, getattr(self, name), integer=True)
        if self.lanes_count > 10:
            _fail("lanes_count", self.lanes_count, "an integer in [1, 10]")
        if self.vehicles_count > 200:
            _fail("vehicles_count", self.vehicles_count, "an integer in [1, 200]")
        _positive("vehicles_density", self.vehicles_density)
        if self.vehicles_density > 3.0:
            _fail("vehicles_density", self.vehicles_density, "a number in (0, 3]")
        if self.simulation_frequency % self.policy_frequency or self.simulation_frequency < 5:
            _fail(
                "simulation_frequency",
                self.simulation_frequency,
                f"a multiple of policy_frequency={self.policy_frequency} and >= 5 Hz",
            )
        _positive("observed_vehicles", self.observed_vehicles, integer=True)
        _positive("perception_distance", self.perception_distance)
        shape = tuple(self.pixel_shape) if isinstance(self.pixel_shape, (tuple, list)) else None
        if shape is None or len(shape) != 2 or not all(isinstance(s, (int, np.integer)) for s in shape):
            _fail("pixel_shape", self.pixel_shape, "a pair (height, width) of integers in [8, 1024]")
        if not all(8 <= s <= 1024 for s in shape):
            _fail("pixel_shape", self.pixel_shape, "a pair (height, width) of integers in [8, 1024]")
        object.__setattr__(self, "pixel_shape", (int(shape[0]), int(shape[1])))
        for name in ("grayscale", "randomize_colors", "normalize_reward", "offroad_terminal"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                _fail(name, getattr(self, name), "True or False")
        if isinstance(self.lane_width, (int, float, np.integer, np.floating)):
            _positive("lane_width", self.lane_width)
            lane_width = (float(self.lane_width), float(self.lane_width))
        else:
            lane_width = _range("lane_width", self.lane_width)
        if not (2.5 <= lane_width[0] and lane_width[1] <= 6.0):
            _fail("lane_width", self.lane_width, "a number or a (low, high) range within [2.5, 6] m")
        object.__setattr__(self, "lane_width", lane_width if lane_width[0] < lane_width[1] else lane_width[0])
        object.__setattr__(
            self, "traffic_speed_range", _range("traffic_speed_range", self.traffic_speed_range)
        )
        if self.traffic_speed_range[1] > MAX_SPEED or self.traffic_speed_range[0] < 1.0:
            _fail("traffic_speed_range", self.traffic_speed_range, f"within [1, {MAX_SPEED}] m/s")
        speeds = _range("reward_speed_range", self.reward_speed_range)
        if speeds[0] >= speeds[1]:
            _fail("reward_speed_range", self.reward_speed_range, "a pair (low, high) with low < high")
        object.__setattr__(self, "reward_speed_range", speeds)
        for name in ("collision_reward", "right_lane_reward", "high_speed_reward"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                _fail(name, value, "a finite number")
            if not np.isfinite(value):
                _fail(name, value, "a finite number")
        if self.normalize_reward and not (
            self.high_speed_reward + self.right_lane_reward > self.collision_reward
        ):
            _fail(
                "collision_reward",
                self.collision_reward,
                "below high_speed_reward + right_lane_reward when normalize_reward=True",
            )

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> HighwayConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"Highway: unknown keyword argument(s) {unknown}; allowed: {sorted(known)}")
        return cls(**kwargs)

    @property
    def lane_width_range(self) -> tuple[float, float]:
        lw = self.lane_width
        return (lw, lw) if isinstance(lw, float) else lw

    @property
    def substeps(self) -> int:
        return self.simulation_frequency // self.policy_frequency


# --------------------------------------------------------------------------------------------
# Batched core
# --------------------------------------------------------------------------------------------
def _clip(values, low, high):
    """``np.clip`` without its Python-level overhead (it dominates on the single env's tiny arrays)."""
    return np.minimum(np.maximum(values, low), high)


def _wrap_angle(angle: np.ndarray) -> np.ndarray:
    return np.mod(angle + np.pi, 2.0 * np.pi) - np.pi


def _rectangles_overlap(dx, dy, heading_a, heading_b) -> np.ndarray:
    """Separating-axis test for two LENGTH x WIDTH rectangles, b's centre at (dx, dy) from a's."""
    half_l, half_w = 0.5 * LENGTH, 0.5 * WIDTH
    ca, sa, cb, sb = np.cos(heading_a), np.sin(heading_a), np.cos(heading_b), np.sin(heading_b)
    cos_ab = np.abs(ca * cb + sa * sb)  # |cos| of the angle between the two forward axes
    sin_ab = np.abs(ca * sb - sa * cb)
    # half extent of both rectangles together along a forward axis and along a lateral axis
    reach_forward = half_l + half_l * cos_ab + half_w * sin_ab
    reach_lateral = half_w + half_l * sin_ab + half_w * cos_ab
    return (
        (np.abs(dx * ca + dy * sa) <= reach_forward)
        & (np.abs(dx * cb + dy * sb) <= reach_forward)
        & (np.abs(-dx * sa + dy * ca) <= reach_lateral)
        & (np.abs(-dx * sb + dy * cb) <= reach_lateral)
    )


class HighwayCore:
    """The batched simulation behind :class:`HighwayEnv` and :class:`HighwayVectorEnv`.

    State of ``B`` roads with ``V = vehicles_count + 1`` vehicles each (vehicle 0 is the ego), all
    ``(B, V)`` float64 arrays in road coordinates: ``x`` [m] along the road, ``y`` [m] across it
    (lane ``k``'s centre is at ``k * lane_width``; lane 0 is the leftmost, ``y`` grows to the right),
    ``heading`` [rad] from the road direction towards ``+y``, ``speed`` [m/s], plus each vehicle's
    ``target_lane`` and ``target_speed`` [m/s]. Every row has its own random stream (``rng``).
    """

    def __init__(self, batch: int, config: HighwayConfig) -> None:
        self.config = c = config
        self.batch = batch
        self.vehicles = v = c.vehicles_count + 1
        self.idm = traffic.IDMParams()
        self.mobil = traffic.MOBILParams()
        self.dt = 1.0 / c.simulation_frequency  # [s]
        self.mobil_period = max(1, round(self.mobil.decision_period * c.simulation_frequency))
        self.rng = BatchRNG(batch)
        self.seeded = np.zeros(batch, dtype=bool)
        self.x = np.zeros((batch, v))
        self.y = np.zeros((batch, v))
        self.heading = np.zeros((batch, v))
        self.speed = np.zeros((batch, v))
        self.target_speed = np.zeros((batch, v))
        self.target_lane = np.zeros((batch, v), dtype=np.int64)
        self.lane_width = np.full(batch, c.lane_width_range[0])
        self.steps = np.zeros(batch, dtype=np.int64)  # policy steps since reset
        self.sim_steps = np.zeros(batch, dtype=np.int64)  # simulation steps since reset (MOBIL clock)
        self.crashed = np.zeros(batch, dtype=bool)
        self.on_road = np.ones(batch, dtype=bool)
        # per-row colours (RGB): background, road, markings, then one per vehicle
        self.palette = np.zeros((batch, 3 + v, 3), dtype=np.uint8)
        self._traffic_buffers = traffic.TrafficBuffers(batch, v)
        # spacing between spawned vehicles [m] per (12 m + speed [m/s] * 1 s), highway-env's rule
        self._spacing_scale = np.exp(-5.0 / 40.0 * c.lanes_count) / c.vehicles_density
        if c.obs_type == "pixels":
            height, width = c.pixel_shape
            self._obs_view = _View(height, width, PIXEL_VIEW[0], PIXEL_VIEW[1], PIXEL_EGO_COLUMN, True, c)
            self._obs_palette = np.zeros((batch, 3 + v, 1 if c.grayscale else 3), np.uint8)

    # ---------------------------------------------------------------- reset
    def reset_rows(self, rows: np.ndarray, seeds: np.ndarray | None = None) -> None:
        """Start new episodes in ``rows`` (re-seeding their streams first when ``seeds`` is given)."""
        c, v = self.config, self.vehicles
        rows = np.asarray(rows, dtype=np.intp)
        if seeds is not None:
            self.rng.seed(rows, seeds)
            self.seeded[rows] = True
        lo, hi = c.lane_width_range
        lane_width = lo + (hi - lo) * self.rng.uniform(rows)
        ego_lane = self.rng.integers(rows, 0, c.lanes_count)
        draws = self.rng.uniform(rows, size_per_row=(3, v - 1))
        colors = self.rng.integers(rows, 0, 256, size_per_row=(3 + v, 3))

        lanes, speeds, gaps = self._spawn(draws)
        self.lane_width[rows] = lane_width
        self.x[rows] = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(gaps, axis=1)], axis=1)
        self.target_lane[rows] = np.concatenate([ego_lane[:, None], lanes], axis=1)
        self.y[rows] = self.target_lane[rows] * lane_width[:, None]
        self.heading[rows] = 0.0
        self.speed[rows] = np.concatenate([np.full((len(rows), 1), EGO_INITIAL_SPEED), speeds], axis=1)
        self.target_speed[rows] = self.speed[rows]
        self.steps[rows] = 0
        self.sim_steps[rows] = 0
        self.crashed[rows] = False
        self.on_road[rows] = True
        if c.randomize_colors:
            self.palette[rows] = colors.astype(np.uint8)
        else:
            self.palette[rows, :3] = (BACKGROUND_COLOR, ROAD_COLOR, LINE_COLOR)
            self.palette[rows, 3] = EGO_COLOR
            self.palette[rows, 4:] = TRAFFIC_COLOR
        if c.obs_type == "pixels":
            self._obs_palette[rows] = _as_channels(self.palette[rows], c.grayscale)

    def _spawn(self, draws: np.ndarray):
        """Lanes, speeds [m/s] and spacings [m] of new traffic from uniform ``draws`` (n, 3, k)."""
        c = self.config
        lanes = np.minimum((draws[:, 0] * c.lanes_count).astype(np.int64), c.lanes_count - 1)
        lo, hi = c.traffic_speed_range
        speeds = lo + (hi - lo) * draws[:, 1]
        gaps = (12.0 + speeds) * self._spacing_scale * (0.9 + 0.2 * draws[:, 2])
        return lanes, speeds, np.maximum(gaps, LENGTH + 1.0)

    # ---------------------------------------------------------------- step
    def step(self, actions: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance every row one policy step; ``active`` rows may draw random numbers (respawns).

        Returns ``reward`` (B,), ``terminated`` (B,) and the reward components (B,) arrays.
        """
        c = self.config
        if c.action_type == "discrete":
            self._apply_meta_actions(actions)
            ego_controls = None
        else:
            ego_controls = (actions[:, 0] * CONTINUOUS_ACCEL, actions[:, 1] * CONTINUOUS_STEERING)
        crashed = np.zeros(self.batch, dtype=bool)
        for _ in range(c.substeps):
            self._simulate(ego_controls)
            crashed |= self._ego_collisions()
        self._respawn(active)
        self.steps += 1
        self.crashed = crashed
        return self._reward()

    def _apply_meta_actions(self, actions: np.ndarray) -> None:
        c = self.config
        lane_width = self.lane_width
        current = self.target_lane[:, 0]
        wanted = _clip(current - (actions == LANE_LEFT) + (actions == LANE_RIGHT), 0, c.lanes_count - 1)
        reachable = np.abs(self.y[:, 0] - wanted * lane_width) <= 2.0 * lane_width
        self.target_lane[:, 0] = np.where(reachable, wanted, current)
        levels = len(EGO_TARGET_SPEEDS)
        position = (self.speed[:, 0] - EGO_TARGET_SPEEDS[0]) / (EGO_TARGET_SPEEDS[-1] - EGO_TARGET_SPEEDS[0])
        index = _clip(np.rint(position * (levels - 1)), 0, levels - 1).astype(np.int64)
        index = _clip(index + (actions == FASTER) - (actions == SLOWER), 0, levels - 1)
        change = (actions == FASTER) | (actions == SLOWER)
        self.target_speed[:, 0] = np.where(change, EGO_TARGET_SPEEDS[index], self.target_speed[:, 0])

    def _simulate(self, ego_controls) -> None:
        """One simulation step of ``dt`` seconds for every vehicle of every row."""
        c = self.config
        x, y, heading, speed = self.x, self.y, self.heading, self.speed
        lane_width = self.lane_width[:, None]
        if ego_controls is not None:
            self.target_speed[:, 0] = speed[:, 0]  # how the ego counts as a follower in MOBIL
        # IDM accelerations; every MOBIL decision period, new target lanes for the traffic
        due = self.sim_steps % self.mobil_period == 0
        accel = traffic.traffic_accelerations(
            x, y, self.lane_width, speed, self.target_speed, self.target_lane, due, c.lanes_count, LENGTH,
            self.idm, self.mobil, self._traffic_buffers,
        )  # fmt: skip

        # highway-env's lane-keeping controller towards each target lane's centre (headings stay
        # within ±MAX_HEADING_COMMAND under it, so no angle wrapping is needed)
        lateral_error = y - self.target_lane * lane_width
        inverse_speed = 1.0 / np.maximum(speed, 1e-2)
        heading_command = np.arcsin(
            _clip(-KP_LATERAL * lateral_error * inverse_speed, -SIN_MAX_HEADING, SIN_MAX_HEADING)
        )
        yaw_rate_command = KP_HEADING * (heading_command - heading)
        # highway-env steers arctan(2 tan(slip)) with slip = arcsin(L/2 * yaw rate / v), clipped to
        # MAX_STEERING, and the bicycle turns the steering back into the slip angle
        # arctan(tan(steering) / 2). Together: the slip angle is arcsin of the clipped ratio below.
        sin_slip = _clip(0.5 * LENGTH * yaw_rate_command * inverse_speed, -SIN_MAX_SLIP, SIN_MAX_SLIP)
        slip = np.arcsin(sin_slip)

        if ego_controls is None:
            ego_accel = KP_SPEED * (self.target_speed[:, 0] - speed[:, 0])
            accel[:, 0] = _clip(ego_accel, -ACCEL_LIMIT, ACCEL_LIMIT)
        else:
            accel[:, 0] = ego_controls[0]
            slip[:, 0] = np.arctan(0.5 * np.tan(ego_controls[1]))
            sin_slip[:, 0] = np.sin(slip[:, 0])
            heading[:, 0] = _wrap_angle(heading[:, 0])

        # kinematic bicycle, reference point halfway between the axles (highway-env's Vehicle.step)
        course = heading + slip
        step = speed * self.dt
        x += step * np.cos(course)
        y += step * np.sin(course)
        heading += step * sin_slip * (2.0 / LENGTH)
        speed += accel * self.dt
        np.minimum(np.maximum(speed, 0.0, out=speed), MAX_SPEED, out=speed)
        self.sim_steps += 1

    def _ego_collisions(self) -> np.ndarray:
        """Rows whose ego overlaps a traffic vehicle (oriented rectangles, separating axes)."""
        reach = np.hypot(LENGTH, WIDTH)  # [m] centres closer than this along x may overlap
        near = np.abs(self.x[:, 1:] - self.x[:, :1]) < reach
        crashed = np.zeros(self.batch, dtype=bool)
        if near.any():
            rows, others = np.nonzero(near)
            dx = self.x[rows, others + 1] - self.x[rows, 0]
            dy = self.y[rows, others + 1] - self.y[rows, 0]
            hit = _rectangles_overlap(dx, dy, self.heading[rows, 0], self.heading[rows, others + 1])
            crashed[rows[hit]] = True
        return crashed

    def _respawn(self, active: np.ndarray) -> None:
        """Move traffic left far behind the ego to ahead of the front-most vehicle (new lane, speed)."""
        behind = self.x[:, 1:] - self.x[:, :1] < -DESPAWN_BEHIND
        behind &= active[:, None]
        if not behind.any():
            return
        rows = np.flatnonzero(behind.any(axis=1))
        moved = behind[rows]
        draws = self.rng.uniform(rows, size_per_row=(3, self.vehicles - 1))
        lanes, speeds, gaps = self._spawn(draws)
        new_x = self.x[rows].max(axis=1, keepdims=True) + np.cumsum(np.where(moved, gaps, 0.0), axis=1)
        full = np.concatenate([np.zeros((len(rows), 1), dtype=bool), moved], axis=1)
        pad = np.zeros((len(rows), 1))
        self.x[rows] = np.where(full, np.concatenate([pad, new_x], axis=1), self.x[rows])
        new_lane = np.concatenate([pad.astype(np.int64), lanes], axis=1)
        self.target_lane[rows] = np.where(full, new_lane, self.target_lane[rows])
        self.y[rows] = np.where(full, new_lane * self.lane_width[rows, None], self.y[rows])
        self.heading[rows] = np.where(full, 0.0, self.heading[rows])
        new_speed = np.concatenate([pad, speeds], axis=1)
        self.speed[rows] = np.where(full, new_speed, self.speed[rows])
        self.target_speed[rows] = np.where(full, new_speed, self.target_speed[rows])

    def _reward(self) -> tuple[np.ndarray, np.ndarray, dict]:
        c = self.config
        lane_width = self.lane_width
        ego_y = self.y[:, 0]
        self.on_road = (ego_y >= -0.5 * lane_width) & (ego_y <= (c.lanes_count - 0.5) * lane_width)
        lane = _clip(np.rint(ego_y / lane_width), 0, c.lanes_count - 1)
        right_lane = lane / max(c.lanes_count - 1, 1)
        forward_speed = self.speed[:, 0] * np.cos(self.heading[:, 0])
        lo, hi = c.reward_speed_range
        high_speed = _clip((forward_speed - lo) / (hi - lo), 0.0, 1.0)
        collision = self.crashed.astype(np.float64)
        reward = (
            c.collision_reward * collision
            + c.right_lane_reward * right_lane
            + c.high_speed_reward * high_speed
        )
        if c.normalize_reward:
            best = c.high_speed_reward + c.right_lane_reward
            reward = (reward - c.collision_reward) / (best - c.collision_reward)
        on_road = self.on_road.astype(np.float64)
        reward = reward * on_road
        terminated = self.crashed | (~self.on_road if c.offroad_terminal else False)
        components = {
            "speed": self.speed[:, 0].copy(),
            "crashed": self.crashed.copy(),
            "on_road": self.on_road.copy(),
            "lane": lane.astype(np.int64),
            "reward_collision": collision,
            "reward_right_lane": right_lane,
            "reward_high_speed": high_speed,
            "reward_on_road": on_road,
        }
        return reward, terminated, components

    # ---------------------------------------------------------------- observations
    def observe(self) -> np.ndarray:
        if self.config.obs_type == "state":
            return self.observe_state()
        return self.observe_pixels()

    def observe_state(self) -> np.ndarray:
        """Kinematics of the ego and its ``observed_vehicles - 1`` nearest vehicles (B, K, 5) float32."""
        c = self.config
        obs = np.empty((self.batch, c.observed_vehicles, len(OBS_FEATURES)), dtype=np.float32)
        _observe_kernel(
            self.x, self.y, self.heading, self.speed, self.lane_width, c.lanes_count,
            c.perception_distance, obs,
        )  # fmt: skip
        return obs

    def observe_pixels(self) -> np.ndarray:
        """Egocentric top-down view (B, H, W, C) uint8, driving direction to the right."""
        view = self._obs_view
        canvas = np.empty((self.batch, view.height, view.width, self._obs_palette.shape[2]), dtype=np.uint8)
        return view.draw(self, self._obs_palette, canvas)

    def render_frames(self) -> np.ndarray:
        """Whole-road RGB frames (B, H, W, 3) for people: every lane, the ego and nearby traffic."""
        c = self.config
        height = int(np.ceil((c.lanes_count * c.lane_width_range[1] + 10.0) * RENDER_SCALE))
        view = _View(height, RENDER_WIDTH, RENDER_WIDTH / RENDER_SCALE, height / RENDER_SCALE, 0.3, False, c)
        canvas = np.empty((self.batch, height, RENDER_WIDTH, 3), dtype=np.uint8)
        return view.draw(self, self.palette, canvas)


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


@njit(cache=True, inline="always")
def _unit(value):  # pragma: no cover - compiled
    return min(max(value, -1.0), 1.0)


_observe_kernel = njit(cache=True)(_observe_impl)  # serial: see traffic._traffic_kernel


@contextlib.contextmanager
def _one_thread():
    """Run render.py's parallel kernels on one thread.

    On the shared 2-core machines numba's OpenMP pool costs far more than it saves (measured:
    one 84x84 frame ~1 ms with 2 threads vs ~50 µs with 1; the vehicles of 256 frames 7.7 ms vs
    0.5 ms). ``set_num_threads`` is per calling thread, so this changes nothing elsewhere.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _as_channels(rgb: np.ndarray, grayscale: bool) -> np.ndarray:
    if not grayscale:
        return rgb
    return np.rint(rgb @ _LUMA).astype(np.uint8)[..., None]


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


class _View:
    """A top-down camera: world metres → canvas pixels, and the drawing of one frame.

    Drawing order: the background, the road surface, its two edge lines and the dashes of the
    inner lane markings (:func:`_road_impl`), then every vehicle, the ego first (rotated
    rectangles, ``render.draw_polygons``). ``x`` maps to columns, ``y`` to rows; the
    two axes may have different scales.
    """

    def __init__(self, height, width, meters_long, meters_lat, ego_column, follow_ego, config) -> None:
        self.height, self.width = height, width
        self.scale_x = width / meters_long  # [px/m]
        self.scale_y = height / meters_lat  # [px/m]
        self.ego_column = ego_column * width  # [px]
        self.follow_ego = follow_ego  # centre rows on the ego (else on the road)
        self.lanes = config.lanes_count
        self.dashes = int(np.ceil(meters_long / DASH_PERIOD)) + 1

    def draw(self, core: HighwayCore, palette: np.ndarray, canvas: np.ndarray) -> np.ndarray:
        """Draw every row of ``core`` into ``canvas`` (B, H, W, C) with ``palette`` (B, 3 + V, C)."""
        lanes = self.lanes
        lane_width = core.lane_width[:, None]
        edges = self._rows_of(core, np.concatenate([-0.5 * lane_width, (lanes - 0.5) * lane_width], axis=1))
        marks = self._rows_of(core, (np.arange(1, lanes) - 0.5) * lane_width)
        # dashes: world positions on a fixed grid, so that they scroll past as the ego drives
        ego_x = core.x[:, :1]
        first = np.floor((ego_x - self.ego_column / self.scale_x) / DASH_PERIOD) * DASH_PERIOD
        dash_cols = (first + DASH_PERIOD * np.arange(self.dashes) - ego_x) * self.scale_x + self.ego_column
        half_line = max(0.5, 0.5 * LINE_WIDTH * self.scale_y)  # [px] at least one pixel row
        _road_kernel(canvas, edges, marks, half_line, dash_cols, DASH_LENGTH * self.scale_x, palette)
        with _one_thread():
            raster.draw_polygons(canvas, self.cars(core), palette[:, 3:])
        return canvas

    def _rows_of(self, core: HighwayCore, y: np.ndarray) -> np.ndarray:
        if self.follow_ego:
            centre_y = core.y[:, :1]
        else:
            centre_y = 0.5 * (self.lanes - 1) * core.lane_width[:, None]
        return (y - centre_y) * self.scale_y + 0.5 * self.height

    def cars(self, core: HighwayCore) -> np.ndarray:
        """(B, V, 4, 2) corners [px] of every vehicle: rotated in metres, then scaled per axis."""
        batch = core.batch
        ego_x = core.x[:, :1]
        centres = np.stack([core.x - ego_x, core.y], axis=-1)
        half = np.broadcast_to(np.array([0.5 * LENGTH, 0.5 * WIDTH]), centres.shape)
        corners = raster.rect_vertices(centres, half, core.heading)
        corners[..., 0] = corners[..., 0] * self.scale_x + self.ego_column
        corners[..., 1] = self._rows_of(core, corners[..., 1].reshape(batch, -1)).reshape(corners.shape[:-1])
        return corners


# --------------------------------------------------------------------------------------------
# Spaces, validation, warm-up, window
# --------------------------------------------------------------------------------------------
OBS_FEATURES = ("presence", "x", "y", "vx", "vy")


def _observation_space(c: HighwayConfig) -> spaces.Box:
    if c.obs_type == "state":
        return spaces.Box(-1.0, 1.0, shape=(c.observed_vehicles, len(OBS_FEATURES)), dtype=np.float32)
    return spaces.Box(0, 255, shape=(*c.pixel_shape, 1 if c.grayscale else 3), dtype=np.uint8)


def _action_space(c: HighwayConfig) -> spaces.Space:
    if c.action_type == "discrete":
        return spaces.Discrete(len(ACTIONS))
    return spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)


def _check_common(render_mode: str | None, max_episode_steps: int | None, modes: list) -> None:
    if render_mode is not None and render_mode not in modes:
        _fail("render_mode", render_mode, f"None or one of {modes}")
    if max_episode_steps is not None:
        _positive("max_episode_steps", max_episode_steps, integer=True)
    if render_mode == "human":
        try:
            import pygame  # noqa: F401
        except ImportError:
            raise gym.error.DependencyNotInstalled(
                'Highway: render_mode="human" opens a pygame window, but pygame is not installed; '
                "run `pip install pygame` (or use render_mode='rgb_array')"
            ) from None


_DISCRETE_HELP = "an integer in [0, 4] (" + ", ".join(f"{n}={i}" for i, n in enumerate(ACTIONS)) + ")"


def _discrete_actions(actions: Any, batch: int, single: bool) -> np.ndarray:
    where = "action" if single else f"actions (shape ({batch},))"
    if single and isinstance(actions, (bool, np.bool_)):
        raise ValueError(f"Highway: {where} must be {_DISCRETE_HELP}; got {actions!r}")
    array = np.asarray(actions)
    expected = () if single else (batch,)
    if array.shape != expected or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"Highway: {where} must be {_DISCRETE_HELP}; got {actions!r}")
    if np.any(array < 0) or np.any(array >= len(ACTIONS)):
        raise ValueError(f"Highway: {where} must be {_DISCRETE_HELP}; got {actions!r}")
    return array.reshape(batch).astype(np.int64)


def _continuous_actions(actions: Any, batch: int, single: bool) -> np.ndarray:
    expected = (2,) if single else (batch, 2)
    help_text = f"a float array of shape {expected} with values in [-1, 1] ([acceleration, steering])"
    try:
        array = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"Highway: action must be {help_text}; got {actions!r}") from None
    if array.shape != expected:
        raise ValueError(f"Highway: action must be {help_text}; got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(np.abs(array) > 1.0):
        raise ValueError(f"Highway: action must be {help_text}; got {actions!r}")
    return array.reshape(batch, 2)


def _actions(config: HighwayConfig, actions: Any, batch: int, single: bool) -> np.ndarray:
    if config.action_type == "discrete":
        return _discrete_actions(actions, batch, single)
    return _continuous_actions(actions, batch, single)


_WARMED_UP: set[tuple[str, str]] = set()


def _warm_up(config: HighwayConfig) -> None:
    """Compile (or load from numba's cache) every kernel a step uses, so the first step is not slow."""
    key = (config.obs_type, config.action_type)
    if key in _WARMED_UP:
        return
    tiny = HighwayConfig(obs_type=config.obs_type, action_type=config.action_type, vehicles_count=2)
    core = HighwayCore(1, tiny)
    core.rng.seed(np.zeros(1, np.intp), np.zeros(1, np.uint64))
    core.reset_rows(np.zeros(1, np.intp))
    action = np.ones(1, np.int64) if config.action_type == "discrete" else np.zeros((1, 2))
    core.step(action, np.ones(1, dtype=bool))
    core.observe()
    core.render_frames()
    _WARMED_UP.add(key)


class _Window:
    """A pygame window showing rgb_array frames (render_mode="human")."""

    def __init__(self, fps: int) -> None:
        import pygame

        self.pygame, self.fps = pygame, fps
        self.screen = None
        self.clock = pygame.time.Clock()

    def show(self, frame: np.ndarray) -> None:
        pygame = self.pygame
        if self.screen is None:
            pygame.init()
            pygame.display.set_caption("rlsuite/Highway-v0")
            self.screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
        pygame.event.pump()
        self.screen.blit(pygame.surfarray.make_surface(frame.swapaxes(0, 1)), (0, 0))
        pygame.display.flip()
        self.clock.tick(self.fps)

    def close(self) -> None:
        if self.screen is not None:
            self.pygame.display.quit()
            self.screen = None


# --------------------------------------------------------------------------------------------
# Environments
# --------------------------------------------------------------------------------------------
class HighwayEnv(gym.Env):
    """Drive fast on a multi-lane highway through IDM/MOBIL traffic without crashing.

    ``rlsuite/Highway-v0``. A straight road of ``lanes_count`` lanes (lane 0 leftmost) and
    ``vehicles_count`` traffic cars. Traffic follows the Intelligent Driver Model for its speed and
    MOBIL for lane changes (:mod:`rlsuite.envs.driving.traffic`; highway-env's parameters: a_max
    3 m/s², b 5 m/s², s0 5 m bumper to bumper, T 1.5 s, δ 4; politeness 0, gain threshold 0.2 m/s², b_safe 2 m/s²,
    one decision per vehicle per second); every car, ego included, is a 5 m × 2 m kinematic bicycle
    steered by highway-env's lane-keeping controller. Modelled closely on highway-env's
    ``highway-v0``, vectorised over vehicles and over a batch of roads.

    ## Action space
    ``action_type="discrete"`` (default): ``Discrete(5)`` meta-actions executed by controllers

    | action | name       | effect                                                            |
    |--------|------------|-------------------------------------------------------------------|
    | 0      | LANE_LEFT  | target lane − 1 (clipped to the road; ignored if that lane centre |
    |        |            | is more than 2 lane widths away, like highway-env)                |
    | 1      | IDLE       | keep target lane and target speed                                 |
    | 2      | LANE_RIGHT | target lane + 1                                                   |
    | 3      | FASTER     | next target speed up of (20, 25, 30) m/s from the current speed   |
    | 4      | SLOWER     | next target speed down                                            |

    ``action_type="continuous"``: ``Box(-1, 1, (2,), float32)`` = [acceleration, steering], scaled
    to ±5 m/s² and ±π/4 rad front-wheel angle (highway-env's ranges). Speeds stay in [0, 40] m/s.
    Actions outside the space raise ``ValueError``.

    ## Observation space
    ``obs_type="state"`` (default): ``Box(-1, 1, (observed_vehicles, 5), float32)``, highway-env's
    normalised kinematics. Row 0 is the ego; rows 1.. are the nearest other vehicles (Euclidean
    distance, only those within ``perception_distance`` along the road), nearest first; missing
    vehicles are all-zero rows. Values are clipped to [-1, 1].

    | column | name     | ego row (0)                                  | other rows                          |
    |--------|----------|----------------------------------------------|-------------------------------------|
    | 0      | presence | 1                                            | 1 if a vehicle fills the row, else 0 |
    | 1      | x        | 0                                            | Δx / perception_distance [m/m]      |
    | 2      | y        | (y − road centre) / (road width / 2) [m/m]   | Δy / road width [m/m]               |
    | 3      | vx       | vx / 40 m/s                                  | Δvx / 40 m/s                        |
    | 4      | vy       | vy / 10 m/s                                  | Δvy / 10 m/s                        |

    ``x`` runs along the road, ``y`` across it to the right; Δ are other − ego; velocities are
    world-frame (speed · cos/sin heading).

    ``obs_type="pixels"``: ``Box(0, 255, (H, W, C), uint8)`` with ``(H, W) = pixel_shape`` (default
    84 × 84) and ``C = 1`` if ``grayscale`` else 3: an egocentric top-down view, driving direction to
    the right, the ego at 30 % of the width and mid-height, 80 m of road lengthwise and 28 m across
    (so ≈ 1.05 px/m along and 3 px/m across at 84 × 84: lanes and gaps stay legible). Dashed lane
    markings scroll with the ego's motion, so stacked frames show its speed.

    ## Rewards
    highway-env's, per policy step: ``collision_reward · crashed + right_lane_reward · lane/(lanes−1)
    + high_speed_reward · clip((v_forward − 20) / (30 − 20), 0, 1)`` (``reward_speed_range`` sets the
    20–30 m/s), then with ``normalize_reward`` (default) mapped affinely from
    [collision_reward, high_speed_reward + right_lane_reward] to [0, 1], then multiplied by 1 if the
    ego is on the road else 0. Defaults −1, 0.1, 0.4: surviving is worth up to 1 per step, so
    longer collision-free episodes earn more. ``info`` has the components: ``reward_collision``,
    ``reward_right_lane``, ``reward_high_speed``, ``reward_on_road`` (unweighted, in [0, 1]), and
    ``speed`` [m/s], ``crashed``, ``on_road``, ``lane``.

    ## Starting state
    From the row's random stream: lane width (if a range is given), the ego in a random lane at
    x = 0, 25 m/s, heading along the road; traffic placed ahead of it one after the other in random
    lanes, highway-env's spacing ``(12 m + v·1 s) · exp(−5 lanes/40) / vehicles_density · U(0.9,
    1.1)``, speeds and IDM target speeds U(``traffic_speed_range``) = U(21, 24) m/s. A traffic car
    that falls more than 80 m behind the ego is moved to ahead of the front-most car with a new lane
    and speed (same spacing rule), so the density around the ego stays steady.

    ## Episode end
    Terminated when the ego collides with a traffic car (oriented-rectangle overlap at any
    simulation step) or, with ``offroad_terminal`` (default), leaves the road (its centre beyond the
    outer lane edges). Traffic cars do not collide with each other (IDM keeps them apart; a rare
    overlap is ignored). Truncated after ``max_episode_steps`` policy steps: 200 (40 s at 5 Hz) from
    the registration (``gymnasium.make`` adds the ``TimeLimit``); constructed directly the env has no
    limit unless ``max_episode_steps`` is passed.

    ## Arguments
    ``gymnasium.make("rlsuite/Highway-v0", **kwargs)``:

    * ``obs_type`` ("state") — "state" or "pixels".
    * ``action_type`` ("discrete") — "discrete" or "continuous".
    * ``lanes_count`` (4), ``vehicles_count`` (20, traffic cars besides the ego),
      ``vehicles_density`` (1.0, in (0, 3]).
    * ``policy_frequency`` (5) [Hz], ``simulation_frequency`` (5) [Hz, a multiple of
      ``policy_frequency``, ≥ 5]: each step runs ``simulation_frequency / policy_frequency``
      simulation steps of the traffic and the ego. 5 Hz is highway-env's ``highway-fast-v0`` rate
      and about 2.5x faster here; 15 Hz is highway-env's ``highway-v0`` rate: smoother lane changes
      (peak heading ≈ 0.18 rad instead of ≈ 0.27 rad; the lateral path of a lane change differs by
      about 0.3 m at most) and a finer collision check.
    * ``observed_vehicles`` (5, ego included), ``perception_distance`` (100.0) [m].
    * ``pixel_shape`` ((84, 84)), ``grayscale`` (False).
    * ``lane_width`` (4.0) [m], or a range ``(low, high)`` within [2.5, 6] drawn per episode.
    * ``randomize_colors`` (False): per-episode random colours of background, road, markings and
      every car (visual randomisation for transfer experiments; dynamics unchanged).
    * ``traffic_speed_range`` ((21.0, 24.0)) [m/s].
    * ``collision_reward`` (−1.0), ``right_lane_reward`` (0.1), ``high_speed_reward`` (0.4),
      ``reward_speed_range`` ((20.0, 30.0)) [m/s], ``normalize_reward`` (True),
      ``offroad_terminal`` (True).
    * ``render_mode`` (None): "rgb_array" gives an 800 px wide RGB frame of 160 m of the whole road
      (5 px/m); "human" shows it in a pygame window (needs ``pip install pygame``).

    Bad values raise ``ValueError`` naming the argument and what is allowed.

    ## Vector env
    :class:`HighwayVectorEnv` (``gymnasium.make_vec``) runs the same core over ``num_envs`` rows;
    sub-env ``i`` of ``reset(seed=s)`` equals this env reset with ``seed=s + i``, step for step.

    ## Version history
    * v0: initial version.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 5}

    def __init__(self, render_mode: str | None = None, max_episode_steps: int | None = None, **kwargs: Any):
        self.config = HighwayConfig.from_kwargs(kwargs)
        _check_common(render_mode, max_episode_steps, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps
        self.metadata = {**self.metadata, "render_fps": self.config.policy_frequency}
        self.observation_space = _observation_space(self.config)
        self.action_space = _action_space(self.config)
        self.core = HighwayCore(1, self.config)
        self._row = np.zeros(1, dtype=np.intp)
        self._active = np.ones(1, dtype=bool)
        self._window: _Window | None = None
        _warm_up(self.config)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None or not self.core.seeded[0]:
            # what the vector env gives its row i for seed s + i (rlsuite.envs.rng.row_seeds)
            self.core.rng.seed(self._row, np.array([self.np_random.integers(0, 2**63, dtype=np.uint64)]))
            self.core.seeded[0] = True
        self.core.reset_rows(self._row)
        if self.render_mode == "human":
            self.render()
        return self.core.observe()[0], {}

    def step(self, action: Any):
        actions = _actions(self.config, action, 1, single=True)
        reward, terminated, components = self.core.step(actions, self._active)
        obs = self.core.observe()[0]
        truncated = self.max_episode_steps is not None and bool(self.core.steps[0] >= self.max_episode_steps)
        info = {name: value[0].item() for name, value in components.items()}
        if self.render_mode == "human":
            self.render()
        return obs, float(reward[0]), bool(terminated[0]), truncated, info

    def render(self):
        if self.render_mode is None:
            gym.logger.warn('Highway: render() needs render_mode="rgb_array" or "human" at construction')
            return None
        frame = self.core.render_frames()[0]
        if self.render_mode == "rgb_array":
            return frame
        if self._window is None:
            self._window = _Window(self.metadata["render_fps"])
        self._window.show(frame)
        return None

    def close(self):
        if getattr(self, "_window", None) is not None:
            self._window.close()
            self._window = None


class HighwayVectorEnv(VectorEnv):
    """``num_envs`` Highway roads in one batched core (see :class:`HighwayEnv` for the spec).

    NEXT_STEP autoreset: the step that ends an episode returns its terminal observation; the next
    step resets that sub-env, ignores its action and returns reward 0, ``terminated = truncated =
    False`` and no info for it (``_key`` masks False). ``reset(options={"reset_mask": mask})`` resets
    only the masked sub-envs and cancels their pending autoreset. ``reset(seed=s)`` seeds sub-env
    ``i`` like ``HighwayEnv.reset(seed=s + i)``; a reset without a seed continues each sub-env's own
    random stream (like the single env's ``reset()``), drawing a seed from ``np_random`` only for
    sub-envs never seeded. ``info`` is a dict of ``(num_envs,)`` arrays with ``_key`` masks.
    ``render()`` returns a tuple of RGB frames, one per sub-env ("human" shows sub-env 0).
    """

    metadata = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": ["human", "rgb_array"],
        "render_fps": 5,
    }

    def __init__(
        self,
        num_envs: int = 1,
        render_mode: str | None = None,
        max_episode_steps: int | None = None,
        **kwargs: Any,
    ):
        self.config = HighwayConfig.from_kwargs(kwargs)
        _positive("num_envs", num_envs, integer=True)
        _check_common(render_mode, max_episode_steps, self.metadata["render_modes"])
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.max_episode_steps = max_episode_steps
        self.metadata = {**self.metadata, "render_fps": self.config.policy_frequency}
        self.single_observation_space = _observation_space(self.config)
        self.single_action_space = _action_space(self.config)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.core = HighwayCore(self.num_envs, self.config)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._window: _Window | None = None
        _warm_up(self.config)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is None:
            rows = np.arange(self.num_envs)
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(
                    f"Highway: options['reset_mask'] must be a bool array of shape ({self.num_envs},); "
                    f"got {mask.dtype} {mask.shape}"
                )
            rows = np.flatnonzero(mask)
        if seed is not None:
            self.core.rng.seed(rows, row_seeds(seed, self.num_envs, self.np_random)[rows])
            self.core.seeded[rows] = True
        else:
            fresh = rows[~self.core.seeded[rows]]
            if fresh.size:
                self.core.rng.seed(fresh, row_seeds(None, fresh.size, self.np_random))
                self.core.seeded[fresh] = True
        self.core.reset_rows(rows)
        self._needs_reset[rows] = False
        return self.core.observe(), {}

    def step(self, actions: Any):
        actions = _actions(self.config, actions, self.num_envs, single=False)
        autoreset = self._needs_reset
        reward, terminated, components = self.core.step(actions, ~autoreset)
        if self.max_episode_steps is None:
            truncated = np.zeros(self.num_envs, dtype=bool)
        else:
            truncated = self.core.steps >= self.max_episode_steps
        if autoreset.any():
            rows = np.flatnonzero(autoreset)
            self.core.reset_rows(rows)
            reward[rows] = 0.0
            terminated[rows] = False
            truncated[rows] = False
        self._needs_reset = terminated | truncated
        infos: dict[str, np.ndarray] = {}
        has_info = ~autoreset
        for name, value in components.items():
            infos[name] = value
            infos["_" + name] = has_info
        if self.render_mode == "human":
            self.render()
        return self.core.observe(), reward, terminated, truncated, infos

    def render(self):
        if self.render_mode is None:
            gym.logger.warn('Highway: render() needs render_mode="rgb_array" or "human" at construction')
            return None
        frames = self.core.render_frames()
        if self.render_mode == "rgb_array":
            return tuple(frames)
        if self._window is None:
            self._window = _Window(self.metadata["render_fps"])
        self._window.show(frames[0])
        return None

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "_window", None) is not None:
            self._window.close()
            self._window = None
