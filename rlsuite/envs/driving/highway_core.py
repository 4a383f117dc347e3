"""The batched simulation of ``rlsuite/Highway-v0``: configuration, :class:`HighwayCore` and drawing.

One :class:`HighwayCore` simulates ``B`` independent roads at once (a
:class:`rlsuite.envs.core.BatchCore`); the single env is the core with ``B = 1`` and the native
vector env the core with ``B = num_envs`` (:mod:`rlsuite.envs.core`), so both run the same code.
The model follows highway-env (Leurent, 2018) closely: every vehicle is a kinematic bicycle;
traffic is driven by IDM (speed) and MOBIL (lane choice) through highway-env's lane-keeping
steering controller; the ego car takes discrete meta-actions through the same controller, or raw
acceleration and steering.

The simulation runs in numba kernels (:mod:`rlsuite.envs.driving.highway_kernels`), one call per
policy step that loops over rows and vehicles: the ego's command, then per simulation step the
traffic (per-lane neighbour search with IDM/MOBIL evaluated on the neighbours it finds, the model
of :mod:`rlsuite.envs.driving.traffic`), every car's controller and bicycle, the ego's collision
test; then the reward. Resets, the respawn of traffic left behind, the state observation and the
pixel frames are one kernel call each too; this class draws the random numbers and holds the state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rlsuite.envs.core import (
    MAX_REWARD_WEIGHT,
    BatchCore,
    EnvKwargs,
    TaskMetric,
    boolean,
    check_number,
    check_range,
    image_shape,
    integer,
    kwarg,
    number,
    number_pair,
    one_of,
)
from rlsuite.envs.driving import traffic
from rlsuite.envs.driving.highway_kernels import (
    CONTINUOUS_STEERING,
    FASTER,
    IDLE,
    LANE_LEFT,
    LANE_RIGHT,
    LENGTH,
    MAX_SPEED,
    SLOWER,
    WIDTH,
    _draw_kernel,
    _move_kernel,
    _observe_kernel,
    _reset_kernel,
    _respawn_kernel,
    _slip_kernel,
    _steer_kernel,
)

__all__ = [
    "ACTIONS",
    "FASTER",
    "IDLE",
    "LANE_LEFT",
    "LANE_RIGHT",
    "LENGTH",
    "OBS_FEATURES",
    "SLOWER",
    "WIDTH",
    "HighwayConfig",
    "HighwayCore",
]

NAME = "Highway"

# --------------------------------------------------------------------------------------------
# Constants. The model's (highway-env's vehicle sizes, controller gains and limits) are in
# highway_kernels, with the kernels that read them; the names used here are imported above.
# --------------------------------------------------------------------------------------------
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

ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")  # indices LANE_LEFT .. SLOWER
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


def _check_lane_width(env: str, name: str, value: Any) -> float | tuple[float, float]:
    """A width in [2.5, 6] m, or a range ``(low, high)`` within it (a float when ``low == high``)."""
    if isinstance(value, tuple | list | np.ndarray):
        low, high = check_range(env, name, value, 2.5, 6.0, unit="m")
    else:
        low = high = check_number(env, name, value, 2.5, 6.0, unit="m")
    return (low, high) if low < high else low


def _check_reward_speed_range(env: str, name: str, value: Any) -> tuple[float, float]:
    """A range of speeds within [0, MAX_SPEED] m/s at least ``MIN_SPEED_SPAN`` wide (the reward divides by it)."""
    speeds = check_range(env, name, value, 0.0, MAX_SPEED, unit="m/s")
    if not speeds[0] + MIN_SPEED_SPAN <= speeds[1]:
        raise ValueError(
            f"{env}: {name} must be a pair (low, high) with low + {MIN_SPEED_SPAN} m/s <= high "
            f"within [0.0, {MAX_SPEED}] m/s, got {value!r}"
        )
    return speeds


REWARD_WEIGHT = number(-MAX_REWARD_WEIGHT, MAX_REWARD_WEIGHT)


@dataclass(frozen=True)
class HighwayConfig(EnvKwargs):
    """Every keyword argument of the Highway envs, with its default and its bounds (see
    :class:`HighwayEnv`).

    Build it with :meth:`from_kwargs` (unknown and renamed kwargs are errors there). After
    validation ``pixel_shape`` is ``(height, width)`` and ``lane_width`` a float, or a
    ``(low, high)`` pair with ``low < high``."""

    env_name: ClassVar[str] = NAME
    renamed: ClassVar[dict[str, str]] = RENAMED

    obs_type: str = kwarg("state", one_of("state", "pixels"))
    action_type: str = kwarg("discrete", one_of("discrete", "continuous"))
    lanes_count: int = kwarg(4, integer(1, 10))
    vehicles_count: int = kwarg(20, integer(1, MAX_VEHICLES))
    vehicles_density: float = kwarg(1.0, number(MIN_DENSITY, 3.0))
    policy_frequency: int = kwarg(5, integer(1, MAX_FREQUENCY))  # [Hz]
    simulation_frequency: int = kwarg(5, integer(5, MAX_FREQUENCY))  # [Hz], a multiple of policy_frequency
    observed_vehicles: int = kwarg(5, integer(1, MAX_VEHICLES + 1))
    perception_distance: float = kwarg(100.0, number(0.0, open_low=True, unit="m"))
    pixel_shape: int | tuple[int, int] = kwarg((84, 84), image_shape)
    grayscale: bool = kwarg(False, boolean)
    lane_width: float | tuple[float, float] = kwarg(4.0, _check_lane_width)  # [m]
    color_jitter: int = kwarg(0, integer(0, 255))  # [RGB levels]
    traffic_speed_range: tuple[float, float] = kwarg((21.0, 24.0), number_pair(1.0, MAX_SPEED, unit="m/s"))
    collision_reward: float = kwarg(-1.0, REWARD_WEIGHT)
    right_lane_reward: float = kwarg(0.1, REWARD_WEIGHT)
    high_speed_reward: float = kwarg(0.4, REWARD_WEIGHT)
    reward_speed_range: tuple[float, float] = kwarg((20.0, 30.0), _check_reward_speed_range)  # [m/s]
    normalize_reward: bool = kwarg(True, boolean)
    offroad_terminal: bool = kwarg(True, boolean)

    def check_together(self) -> None:
        if self.simulation_frequency % self.policy_frequency:
            raise ValueError(
                f"{NAME}: simulation_frequency must be a multiple of policy_frequency={self.policy_frequency} "
                f"(and in [5, {MAX_FREQUENCY}] Hz), got {self.simulation_frequency!r}"
            )
        span = self.high_speed_reward + self.right_lane_reward - self.collision_reward
        if self.normalize_reward and not span >= MIN_REWARD_SPAN:  # normalising divides by the span
            raise ValueError(
                f"{NAME}: collision_reward must be below high_speed_reward + right_lane_reward "
                f"(by {MIN_REWARD_SPAN} at least) when normalize_reward=True, got {self.collision_reward!r}"
            )

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
    kwargs_class = HighwayConfig
    task_metrics = (
        TaskMetric("crash_rate", "crashed", "any", "episodes in which the ego car collided"),
        TaskMetric("off_road_rate", "off_road", "any", "episodes in which the ego car left the road"),
        TaskMetric("mean_speed", "speed", "mean", "the ego car's mean speed over the episode [m/s]"),
    )

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
        # the kernels' settings and scratch arrays (not state: in lists, which snapshots leave out)
        lo, hi = c.reward_speed_range
        best = c.high_speed_reward + c.right_lane_reward
        rewards = tuple(
            map(float, (c.collision_reward, c.right_lane_reward, c.high_speed_reward, lo, hi, best))
        )
        idm_terms, mobil_terms = traffic.kernel_terms(self.idm, self.mobil)
        self._traffic_settings = [self.mobil_period, c.lanes_count, idm_terms, mobil_terms]
        self._reward_settings = [c.lanes_count, rewards, c.normalize_reward, c.offroad_terminal]
        self._ranges = (tuple(map(float, c.lane_width_range)), tuple(map(float, c.traffic_speed_range)))
        # per vehicle: heading command (its sine first), 1 / speed, sine of the slip angle, slip angle
        # (no views of it kept: a pickled copy would hold them as arrays of their own)
        self._steering = [np.zeros((4, batch, v)), np.zeros(batch * v, dtype=np.int64)]
        self._no_actions = [np.zeros(batch, dtype=np.int64), np.zeros((batch, 2)), np.zeros((2, batch))]
        self._rows = [
            np.ones(batch, dtype=bool),
            np.zeros(batch, dtype=bool),
            np.zeros(batch, dtype=np.int64),
        ]
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
        """Start new episodes in ``rows``, drawing from their own streams only.

        Each row draws, in this order: the lane width (drawn even when it is fixed), the ego's lane,
        the lanes, speeds and spacing factors of the traffic (``V - 1`` each) and the colour jitter
        of the palette (``3 + V`` colours x 3 channels, drawn with or without jitter so that
        the episode is the same either way), all as uniform numbers in one call."""
        c, v = self.config, self.vehicles
        rows = np.asarray(rows, dtype=np.intp)
        draws = self.rng.uniform(rows, size_per_row=(2 + 3 * (v - 1) + 3 * (3 + v),))
        _reset_kernel(
            rows, draws, self.x, self.y, self.heading, self.speed, self.target_speed, self.target_lane,
            self.lane_width, self.sim_steps, self.crashed, self.on_road, c.lanes_count, *self._ranges,
            self._spacing_scale,
        )  # fmt: skip
        if c.color_jitter:  # (without jitter the palette never changes)
            # integers in [0, 256) as BatchRNG.integers makes them from the same draws
            colors = np.minimum((draws[:, 2 + 3 * (v - 1) :] * 256).astype(np.int64), 255)
            offsets = np.rint((colors.reshape(len(rows), 3 + v, 3) - 127.5) * (c.color_jitter / 127.5))
            palette = np.clip(self._base_palette + offsets.astype(np.int64), 0, 255)
            self.palette[rows] = palette.astype(np.uint8)
            if c.obs_type == "pixels":
                self._obs_palette[rows] = _as_channels(self.palette[rows], c.grayscale)

    def reset_info(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The step info's keys with neutral values: the ego's start state (speed, lane, on the road,
        not crashed) and reward terms 0."""
        rows = np.asarray(rows, dtype=np.intp)
        n = len(rows)
        lane = np.rint(self.y[rows, 0] / self.lane_width[rows])
        on_road = self.on_road[rows]
        return {
            "speed": self.speed[rows, 0],
            "crashed": self.crashed[rows],
            "on_road": on_road,
            "lane": np.clip(lane, 0, self.config.lanes_count - 1).astype(np.int64),
            "reward_collision": np.zeros(n),
            "reward_right_lane": np.zeros(n),
            "reward_high_speed": np.zeros(n),
            "reward_on_road": np.zeros(n),
            "off_road": ~on_road,
        }

    # ---------------------------------------------------------------- step
    def step(self, actions: np.ndarray, active: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance every row one policy step; only ``active`` rows draw random numbers (respawns).

        ``actions``: (B,) int64 meta-actions or (B, 2) float64 [acceleration, steering] in [-1, 1].
        Returns ``reward`` (B,), ``terminated`` (B,) and the info: reward components and ego state.
        """
        c, batch = self.config, self.batch
        x, y, heading, speed, target_speed = self.x, self.y, self.heading, self.speed, self.target_speed
        steering, courses = self._steering
        all_rows, due, respawn_rows = self._rows
        meta_actions, controls, ego_slip = self._no_actions
        discrete = c.action_type == "discrete"
        if discrete:
            meta_actions = actions
        else:
            controls = actions
            ego_slip = np.empty((2, batch))
            ego_slip[0] = np.arctan(0.5 * np.tan(actions[:, 1] * CONTINUOUS_STEERING))
            ego_slip[1] = np.sin(ego_slip[0])
        reward, terminated = np.empty(batch), np.empty(batch, dtype=bool)
        info = {
            "speed": np.empty(batch),
            "crashed": np.empty(batch, dtype=bool),
            "on_road": np.empty(batch, dtype=bool),
            "lane": np.empty(batch, dtype=np.int64),
            "reward_collision": np.empty(batch),
            "reward_right_lane": np.empty(batch),
            "reward_high_speed": np.empty(batch),
            "reward_on_road": np.empty(batch),
            "off_road": np.empty(batch, dtype=bool),
        }  # in the order the move kernel takes them
        buffers = self._traffic_buffers
        substeps = c.substeps
        for substep in range(substeps):
            _steer_kernel(
                x, y, heading, speed, target_speed, self.target_lane, self.lane_width, self.sim_steps,
                self.crashed, meta_actions, discrete, substep == 0, *self._traffic_settings, due,
                buffers.order, buffers.lane, buffers.leaders, buffers.followers, buffers.accel, steering,
            )  # fmt: skip
            np.arcsin(steering[0], out=steering[0])  # the heading command
            _slip_kernel(heading, steering)
            np.arcsin(steering[2], out=steering[3])  # the slip angle
            respawns = _move_kernel(
                x, y, heading, speed, target_speed, self.lane_width, self.sim_steps, self.crashed,
                self.on_road, controls, ego_slip, discrete, self.dt, buffers.accel, steering, courses,
                substep == substeps - 1, all_rows if active is None else active, *self._reward_settings,
                reward, terminated, *info.values(), respawn_rows,
            )  # fmt: skip
        if respawns:  # traffic left far behind: new lanes and speeds, ahead of the traffic
            self._respawn(respawn_rows[:respawns])
        return reward, terminated, info

    def _respawn(self, rows: np.ndarray) -> None:
        draws = self.rng.uniform(rows, size_per_row=(3, self.vehicles - 1))
        _respawn_kernel(
            rows, draws, self.x, self.y, self.heading, self.speed, self.target_speed, self.target_lane,
            self.lane_width, self.config.lanes_count, self._ranges[1], self._spacing_scale,
        )  # fmt: skip

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

    # ---------------------------------------------------------------- what code outside envs/ may ask
    def probe_variables(self) -> tuple[list[str], np.ndarray]:
        """The ego's speed / 40 m/s, heading / π and lateral offset from the road centre / half the
        road width (as the state observation's ego row, unclipped)."""
        lanes, lane_width = self.config.lanes_count, self.lane_width
        centre, half_width = 0.5 * (lanes - 1) * lane_width, 0.5 * lanes * lane_width  # [m]
        values = [
            self.speed[:, 0] / MAX_SPEED,
            self.heading[:, 0] / np.pi,
            (self.y[:, 0] - centre) / half_width,
        ]
        return ["speed", "heading", "lateral_offset"], np.stack(values, axis=1).astype(np.float32)

    def privileged_state(self) -> tuple[list[str], np.ndarray]:
        """The whole kinematics observation (presence, x, y, vx, vy of the ego and its nearest
        vehicles), flattened, whatever ``obs_type``."""
        obs = self.observe_state()
        names = [f"vehicle{i}_{f}" for i in range(obs.shape[1]) for f in OBS_FEATURES]
        return names, obs.reshape(len(obs), -1)

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
    inner lane markings, then every vehicle, the ego first (rotated rectangles); all in
    ``highway_kernels._draw_impl``. ``x`` maps to columns, ``y`` to rows; the two axes may have
    different scales.
    """

    def __init__(self, height, width, meters_long, meters_lat, ego_column, follow_ego, lanes) -> None:
        self.height, self.width = height, width
        self.scale_x = width / meters_long  # [px/m]
        self.scale_y = height / meters_lat  # [px/m]
        self.ego_column = ego_column * width  # [px]
        self.follow_ego = follow_ego  # centre rows on the ego (else on the road)
        self.lanes = lanes
        self.dashes = int(np.ceil(meters_long / DASH_PERIOD)) + 1
        self.half_line = max(0.5, 0.5 * LINE_WIDTH * self.scale_y)  # [px] at least one pixel row

    def draw(self, x, y, heading, lane_width, palette, canvas) -> np.ndarray:
        """Draw the roads of ``x, y, heading`` (B, V) and ``lane_width`` (B,) into ``canvas``
        (B, H, W, C) with ``palette`` (B, 3 + V, C)."""
        _draw_kernel(
            canvas, x, y, heading, lane_width, palette, self.lanes, self.scale_x, self.scale_y,
            self.ego_column, self.follow_ego, self.dashes, DASH_PERIOD, DASH_LENGTH * self.scale_x,
            self.half_line,
        )  # fmt: skip
        return canvas


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
        core._respawn(np.zeros(0, dtype=np.int64))
        core.observe()
        core.frames(row)
    except BaseException:
        _WARMED_UP.discard(key)
        raise
