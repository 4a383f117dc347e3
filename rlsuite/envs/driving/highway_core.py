"""The batched simulation of ``rlsuite/Highway-v0``: configuration, :class:`HighwayCore` and drawing.

One :class:`HighwayCore` simulates ``B`` independent roads at once (a
:class:`rlsuite.envs.core.BatchCore`); the single env is the core with ``B = 1`` and the native
vector env the core with ``B = num_envs`` (:mod:`rlsuite.envs.core`), so both run the same code.
The model follows highway-env (Leurent, 2018) closely: every vehicle is a kinematic bicycle;
traffic is driven by IDM (speed) and MOBIL (lane choice) through highway-env's lane-keeping
steering controller; the ego car takes discrete meta-actions through the same controller, or raw
acceleration and steering.

Vehicle kinematics, controllers, collisions and rewards are numpy over ``(B, V)`` arrays. Three
numba kernels do what numpy does badly: the traffic step (per-lane neighbour search with IDM/MOBIL
evaluated on the neighbours it finds, :func:`rlsuite.envs.driving.traffic.traffic_accelerations`),
the state observation and the road background of pixel frames
(:mod:`rlsuite.envs.driving.highway_kernels`); the vehicles go through ``render.draw_polygons``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from gymnasium import spaces

from rlsuite.envs import render as raster
from rlsuite.envs.core import (
    MAX_REWARD_WEIGHT,
    BatchCore,
    check_bool,
    check_choice,
    check_image_shape,
    check_int,
    check_kwargs,
    check_number,
    check_range,
)
from rlsuite.envs.driving import traffic
from rlsuite.envs.driving.highway_kernels import _observe_kernel, _road_kernel

__all__ = ["ACTIONS", "OBS_FEATURES", "HighwayConfig", "HighwayCore"]

NAME = "Highway"

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
MAX_VEHICLES = 200  # traffic cars besides the ego (vehicles_count; observed_vehicles <= this + 1)
MAX_FREQUENCY = 100  # [Hz] policy_frequency and simulation_frequency
MIN_SPEED_SPAN = 0.1  # [m/s] of reward_speed_range
MIN_REWARD_SPAN = 1e-3  # (high_speed_reward + right_lane_reward) - collision_reward, when normalised
MIN_DENSITY = 0.01  # vehicles_density: sparser spaces cars kilometres apart (and overflows near 0)
# VX_SCALE, VY_SCALE: [m/s] velocity normalisations of the state observation (in highway_kernels)
PIXEL_VIEW = (80.0, 28.0)  # [m] longitudinal x lateral extent of the pixel observation
PIXEL_EGO_COLUMN = 0.3  # fraction of the width left of the ego in the pixel observation
RENDER_SCALE = 5.0  # [px/m] of the rgb_array frame
RENDER_WIDTH = 800  # [px] rgb_array frame width (160 m of road)
DASH_LENGTH, DASH_PERIOD = 3.0, 9.0  # [m] lane-marking dashes
LINE_WIDTH = 0.15  # [m] lane markings (drawn at least 1 px wide)

ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")
LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER = range(5)
OBS_FEATURES = ("presence", "x", "y", "vx", "vy")

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
RENAMED = {
    "randomize_colors": "use color_jitter=<levels 0-255>, e.g. color_jitter=255 for fully random colours"
}


@dataclass(frozen=True)
class HighwayConfig:
    """Every keyword argument of the Highway envs, validated (see :class:`HighwayEnv`).

    Build it with :meth:`from_kwargs` (unknown and renamed kwargs are errors there). After
    validation ``pixel_shape`` is ``(height, width)`` and ``lane_width`` a float, or a
    ``(low, high)`` pair with ``low < high``."""

    obs_type: str = "state"
    action_type: str = "discrete"
    lanes_count: int = 4
    vehicles_count: int = 20
    vehicles_density: float = 1.0
    policy_frequency: int = 5
    simulation_frequency: int = 5
    observed_vehicles: int = 5
    perception_distance: float = 100.0
    pixel_shape: int | tuple[int, int] = (84, 84)
    grayscale: bool = False
    lane_width: float | tuple[float, float] = 4.0
    color_jitter: int = 0
    traffic_speed_range: tuple[float, float] = (21.0, 24.0)
    collision_reward: float = -1.0
    right_lane_reward: float = 0.1
    high_speed_reward: float = 0.4
    reward_speed_range: tuple[float, float] = (20.0, 30.0)
    normalize_reward: bool = True
    offroad_terminal: bool = True

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("obs_type", check_choice(NAME, "obs_type", self.obs_type, ("state", "pixels")))
        put("action_type", check_choice(NAME, "action_type", self.action_type, ("discrete", "continuous")))
        put("lanes_count", check_int(NAME, "lanes_count", self.lanes_count, 1, 10))
        put("vehicles_count", check_int(NAME, "vehicles_count", self.vehicles_count, 1, MAX_VEHICLES))
        put(
            "vehicles_density",
            check_number(NAME, "vehicles_density", self.vehicles_density, MIN_DENSITY, 3.0),
        )
        policy = check_int(NAME, "policy_frequency", self.policy_frequency, 1, MAX_FREQUENCY)
        put("policy_frequency", policy)
        simulation = check_int(NAME, "simulation_frequency", self.simulation_frequency, 5, MAX_FREQUENCY)
        if simulation % policy:
            raise ValueError(
                f"{NAME}: simulation_frequency must be a multiple of policy_frequency={policy} "
                f"(and in [5, {MAX_FREQUENCY}] Hz), got {self.simulation_frequency!r}"
            )
        put("simulation_frequency", simulation)
        put(
            "observed_vehicles",
            check_int(NAME, "observed_vehicles", self.observed_vehicles, 1, MAX_VEHICLES + 1),
        )
        put(
            "perception_distance",
            check_number(NAME, "perception_distance", self.perception_distance, 0.0, open_low=True, unit="m"),
        )
        put("pixel_shape", check_image_shape(NAME, "pixel_shape", self.pixel_shape))
        for name in ("grayscale", "normalize_reward", "offroad_terminal"):
            put(name, check_bool(NAME, name, getattr(self, name)))
        if isinstance(self.lane_width, tuple | list | np.ndarray):
            low, high = check_range(NAME, "lane_width", self.lane_width, 2.5, 6.0, unit="m")
        else:
            low = high = check_number(NAME, "lane_width", self.lane_width, 2.5, 6.0, unit="m")
        put("lane_width", (low, high) if low < high else low)
        put("color_jitter", check_int(NAME, "color_jitter", self.color_jitter, 0, 255))
        put(
            "traffic_speed_range",
            check_range(NAME, "traffic_speed_range", self.traffic_speed_range, 1.0, MAX_SPEED, unit="m/s"),
        )
        speeds = check_range(NAME, "reward_speed_range", self.reward_speed_range, 0.0, MAX_SPEED, unit="m/s")
        if not speeds[0] + MIN_SPEED_SPAN <= speeds[1]:  # the reward divides by the span
            raise ValueError(
                f"{NAME}: reward_speed_range must be a pair (low, high) with low + "
                f"{MIN_SPEED_SPAN} m/s <= high, got {self.reward_speed_range!r}"
            )
        put("reward_speed_range", speeds)
        for name in ("collision_reward", "right_lane_reward", "high_speed_reward"):
            put(name, check_number(NAME, name, getattr(self, name), -MAX_REWARD_WEIGHT, MAX_REWARD_WEIGHT))
        span = self.high_speed_reward + self.right_lane_reward - self.collision_reward
        if self.normalize_reward and not span >= MIN_REWARD_SPAN:  # normalising divides by the span
            raise ValueError(
                f"{NAME}: collision_reward must be below high_speed_reward + right_lane_reward "
                f"(by {MIN_REWARD_SPAN} at least) when normalize_reward=True, got {self.collision_reward!r}"
            )

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> HighwayConfig:
        return cls(**check_kwargs(NAME, kwargs, _DEFAULTS, renamed=RENAMED))

    @property
    def lane_width_range(self) -> tuple[float, float]:
        lw = self.lane_width
        return (lw, lw) if isinstance(lw, float) else lw

    @property
    def substeps(self) -> int:
        return self.simulation_frequency // self.policy_frequency


_DEFAULTS = {f.name: f.default for f in fields(HighwayConfig)}


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


def _as_channels(rgb: np.ndarray, grayscale: bool) -> np.ndarray:
    if not grayscale:
        return rgb
    return np.rint(rgb @ _LUMA).astype(np.uint8)[..., None]


class HighwayCore(BatchCore):
    """The batched simulation behind :class:`HighwayEnv` and :class:`HighwayVectorEnv`.

    ``HighwayCore(batch, **kwargs)`` with the envs' kwargs (:class:`HighwayConfig`). State of
    ``B`` roads with ``V = vehicles_count + 1`` vehicles each (vehicle 0 is the ego), all
    ``(B, V)`` float64 arrays in road coordinates: ``x`` [m] along the road, ``y`` [m] across it
    (lane ``k``'s centre is at ``k * lane_width``; lane 0 is the leftmost, ``y`` grows to the right),
    ``heading`` [rad] from the road direction towards ``+y``, ``speed`` [m/s], plus each vehicle's
    ``target_lane`` and ``target_speed`` [m/s]. Every row has its own random stream (``rng``).
    """

    name = NAME

    def __init__(self, batch: int, **kwargs: Any) -> None:
        self.config = c = HighwayConfig.from_kwargs(kwargs)
        super().__init__(batch)
        batch = self.batch
        self.render_fps = c.policy_frequency
        if c.obs_type == "state":
            self.single_observation_space = spaces.Box(
                -1.0, 1.0, shape=(c.observed_vehicles, len(OBS_FEATURES)), dtype=np.float32
            )
        else:
            channels = 1 if c.grayscale else 3
            self.single_observation_space = spaces.Box(
                0, 255, shape=(*c.pixel_shape, channels), dtype=np.uint8
            )
        if c.action_type == "discrete":
            self.single_action_space = spaces.Discrete(len(ACTIONS))
        else:
            self.single_action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

        self.vehicles = v = c.vehicles_count + 1
        self.idm = traffic.IDMParams()
        self.mobil = traffic.MOBILParams()
        self.dt = 1.0 / c.simulation_frequency  # [s]
        self.mobil_period = max(1, round(self.mobil.decision_period * c.simulation_frequency))
        self.x = np.zeros((batch, v))
        self.y = np.zeros((batch, v))
        self.heading = np.zeros((batch, v))
        self.speed = np.zeros((batch, v))
        self.target_speed = np.zeros((batch, v))
        self.target_lane = np.zeros((batch, v), dtype=np.int64)
        self.lane_width = np.full(batch, c.lane_width_range[0])
        self.sim_steps = np.zeros(batch, dtype=np.int64)  # simulation steps since reset (MOBIL clock)
        self.crashed = np.zeros(batch, dtype=bool)
        self.on_road = np.ones(batch, dtype=bool)
        # per-row colours (RGB): background, road, markings, then one per vehicle (ego first);
        # color_jitter shifts each row's copy of the default palette at every reset
        base = [BACKGROUND_COLOR, ROAD_COLOR, LINE_COLOR, EGO_COLOR] + [TRAFFIC_COLOR] * (v - 1)
        self._base_palette = np.array(base, dtype=np.int64)
        self.palette = np.broadcast_to(self._base_palette.astype(np.uint8), (batch, 3 + v, 3)).copy()
        self._traffic_buffers = traffic.TrafficBuffers(batch, v)
        # spacing between spawned vehicles [m] per (12 m + speed [m/s] * 1 s), highway-env's rule
        self._spacing_scale = np.exp(-5.0 / 40.0 * c.lanes_count) / c.vehicles_density
        if c.obs_type == "pixels":
            height, width = c.pixel_shape
            self._obs_view = _View(
                height, width, PIXEL_VIEW[0], PIXEL_VIEW[1], PIXEL_EGO_COLUMN, True, c.lanes_count
            )
            self._obs_palette = _as_channels(self.palette, c.grayscale).copy()
        height = int(np.ceil((c.lanes_count * c.lane_width_range[1] + 10.0) * RENDER_SCALE))
        meters = (RENDER_WIDTH / RENDER_SCALE, height / RENDER_SCALE)
        self._render_view = _View(height, RENDER_WIDTH, *meters, 0.3, False, c.lanes_count)
        _warm_up(c)

    # ---------------------------------------------------------------- reset
    def reset_rows(self, rows: np.ndarray, options: dict[str, Any]) -> None:
        """Start new episodes in ``rows``, drawing from their own streams only."""
        c, v = self.config, self.vehicles
        rows = np.asarray(rows, dtype=np.intp)
        lo, hi = c.lane_width_range
        lane_width = lo + (hi - lo) * self.rng.uniform(rows)
        ego_lane = self.rng.integers(rows, 0, c.lanes_count)
        draws = self.rng.uniform(rows, size_per_row=(3, v - 1))
        # drawn whether or not colours are jittered, so that the episode is the same either way
        colors = self.rng.integers(rows, 0, 256, size_per_row=(3 + v, 3))

        lanes, speeds, gaps = self._spawn(draws)
        self.lane_width[rows] = lane_width
        self.x[rows] = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(gaps, axis=1)], axis=1)
        self.target_lane[rows] = np.concatenate([ego_lane[:, None], lanes], axis=1)
        self.y[rows] = self.target_lane[rows] * lane_width[:, None]
        self.heading[rows] = 0.0
        self.speed[rows] = np.concatenate([np.full((len(rows), 1), EGO_INITIAL_SPEED), speeds], axis=1)
        self.target_speed[rows] = self.speed[rows]
        self.sim_steps[rows] = 0
        self.crashed[rows] = False
        self.on_road[rows] = True
        if c.color_jitter:  # (without jitter the palette never changes)
            offsets = np.rint((colors - 127.5) * (c.color_jitter / 127.5)).astype(np.int64)
            self.palette[rows] = _clip(self._base_palette + offsets, 0, 255).astype(np.uint8)
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
    def step(self, actions: np.ndarray, active: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance every row one policy step; only ``active`` rows draw random numbers (respawns).

        ``actions``: (B,) int64 meta-actions or (B, 2) float64 [acceleration, steering] in [-1, 1].
        Returns ``reward`` (B,), ``terminated`` (B,) and the info: reward components and ego state.
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

    def _respawn(self, active: np.ndarray | None) -> None:
        """Move traffic left far behind the ego to ahead of the front-most vehicle (new lane, speed)."""
        behind = self.x[:, 1:] - self.x[:, :1] < -DESPAWN_BEHIND
        if active is not None:  # rows about to be reset draw nothing
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

    def _reward(self) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
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
        info = {
            "speed": self.speed[:, 0].copy(),
            "crashed": self.crashed.copy(),
            "on_road": self.on_road.copy(),
            "lane": lane.astype(np.int64),
            "reward_collision": collision,
            "reward_right_lane": right_lane,
            "reward_high_speed": high_speed,
            "reward_on_road": on_road,
        }
        return reward, terminated, info

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
        return view.draw(self.x, self.y, self.heading, self.lane_width, self._obs_palette, canvas)

    def frames(self, rows: np.ndarray) -> np.ndarray:
        """Whole-road RGB frames (len(rows), H, W, 3) for people: every lane, the ego and nearby traffic."""
        rows = np.asarray(rows, dtype=np.intp)
        view = self._render_view
        canvas = np.empty((len(rows), view.height, view.width, 3), dtype=np.uint8)
        return view.draw(
            self.x[rows], self.y[rows], self.heading[rows], self.lane_width[rows], self.palette[rows], canvas
        )


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------
class _View:
    """A top-down camera: world metres → canvas pixels, and the drawing of one frame per row.

    Drawing order: the background, the road surface, its two edge lines and the dashes of the
    inner lane markings (``highway_kernels._road_impl``), then every vehicle, the ego first (rotated
    rectangles, ``render.draw_polygons``). ``x`` maps to columns, ``y`` to rows; the
    two axes may have different scales.
    """

    def __init__(self, height, width, meters_long, meters_lat, ego_column, follow_ego, lanes) -> None:
        self.height, self.width = height, width
        self.scale_x = width / meters_long  # [px/m]
        self.scale_y = height / meters_lat  # [px/m]
        self.ego_column = ego_column * width  # [px]
        self.follow_ego = follow_ego  # centre rows on the ego (else on the road)
        self.lanes = lanes
        self.dashes = int(np.ceil(meters_long / DASH_PERIOD)) + 1

    def draw(self, x, y, heading, lane_width, palette, canvas) -> np.ndarray:
        """Draw the roads of ``x, y, heading`` (B, V) and ``lane_width`` (B,) into ``canvas``
        (B, H, W, C) with ``palette`` (B, 3 + V, C)."""
        lanes = self.lanes
        lane_width = lane_width[:, None]
        centre_y = y[:, :1] if self.follow_ego else 0.5 * (lanes - 1) * lane_width
        edges = self._rows_of(
            np.concatenate([-0.5 * lane_width, (lanes - 0.5) * lane_width], axis=1), centre_y
        )
        marks = self._rows_of((np.arange(1, lanes) - 0.5) * lane_width, centre_y)
        # dashes: world positions on a fixed grid, so that they scroll past as the ego drives
        ego_x = x[:, :1]
        first = np.floor((ego_x - self.ego_column / self.scale_x) / DASH_PERIOD) * DASH_PERIOD
        dash_cols = (first + DASH_PERIOD * np.arange(self.dashes) - ego_x) * self.scale_x + self.ego_column
        half_line = max(0.5, 0.5 * LINE_WIDTH * self.scale_y)  # [px] at least one pixel row
        _road_kernel(canvas, edges, marks, half_line, dash_cols, DASH_LENGTH * self.scale_x, palette)
        raster.draw_polygons(canvas, self.cars(x, y, heading, centre_y), palette[:, 3:])
        return canvas

    def _rows_of(self, y: np.ndarray, centre_y: np.ndarray) -> np.ndarray:
        return (y - centre_y) * self.scale_y + 0.5 * self.height

    def cars(self, x, y, heading, centre_y) -> np.ndarray:
        """(B, V, 4, 2) corners [px] of every vehicle: rotated in metres, then scaled per axis."""
        batch = x.shape[0]
        ego_x = x[:, :1]
        centres = np.stack([x - ego_x, y], axis=-1)
        half = np.broadcast_to(np.array([0.5 * LENGTH, 0.5 * WIDTH]), centres.shape)
        corners = raster.rect_vertices(centres, half, heading)
        corners[..., 0] = corners[..., 0] * self.scale_x + self.ego_column
        corners[..., 1] = self._rows_of(corners[..., 1].reshape(batch, -1), centre_y).reshape(
            corners.shape[:-1]
        )
        return corners


# --------------------------------------------------------------------------------------------
# Warm-up
# --------------------------------------------------------------------------------------------
_WARMED_UP: set[tuple[str, str]] = set()


def _warm_up(config: HighwayConfig) -> None:
    """Compile (or load from numba's cache) every kernel a step uses, so the first step is not slow."""
    key = (config.obs_type, config.action_type)
    if key in _WARMED_UP:
        return
    _WARMED_UP.add(key)  # first: the tiny core below warms up with the same key
    try:
        core = HighwayCore(1, obs_type=config.obs_type, action_type=config.action_type, vehicles_count=2)
        row = np.zeros(1, np.intp)
        core.seed_rows(row, np.zeros(1, np.uint64))
        core.reset_rows(row, {})
        action = np.ones(1, np.int64) if config.action_type == "discrete" else np.zeros((1, 2))
        core.step(action, np.ones(1, dtype=bool))
        core.observe()
        core.frames(row)
    except BaseException:
        _WARMED_UP.discard(key)
        raise
