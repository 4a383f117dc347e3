"""The batched core Reacher and Pusher share: a planar arm on a table, its state, actions and pixels.

:class:`ArmCore` is a :class:`rlsuite.envs.core.BatchCore`; a task (Reacher, Pusher) subclasses it
with its start states, kernel (physics, observation and reward in one compiled pass), success test
and drawing. The dynamics are in :mod:`rlsuite.envs.robot.arm_dynamics`.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from rlsuite.envs import render
from rlsuite.envs.core import (
    BatchCore,
    check_bool,
    check_choice,
    check_image_shape,
    check_int,
    check_kwargs,
    check_number,
)
from rlsuite.envs.robot.arm_dynamics import ArmParams, arm_params_for, new_scratch, two_link_constants

OBS_TYPES = ("state", "pixels")
ACTION_TYPES = ("continuous", "discrete")
MAX_DISCRETE_LINKS = 6  # 3**6 = 729 discrete actions

# Palette slots (RGB); colour jitter shifts each one per episode.
BACKGROUND, TABLE, ARM, JOINT, TIP, GOAL, PUCK = range(7)
DEFAULT_PALETTE = np.array(
    [
        (40, 40, 48),  # background / floor beyond the table
        (225, 225, 215),  # table top (the arm's workspace)
        (60, 110, 200),  # links
        (30, 30, 30),  # joints
        (220, 50, 50),  # fingertip
        (60, 180, 75),  # target (Reacher) / goal region (Pusher)
        (240, 150, 20),  # puck
    ],
    dtype=np.uint8,
)
MAX_WIDTH_JITTER = 0.9  # the drawn link width is scaled by U(1 - w, 1 + w), w <= this
LUMA = np.array([0.299, 0.587, 0.114])

# Kwargs every arm task takes, with their defaults.
ARM_DEFAULTS: dict[str, Any] = dict(
    n_links=2,
    action_type="continuous",
    obs_type="state",
    pixel_shape=(84, 84),
    grayscale=False,
    color_jitter=0,
    width_jitter=0.0,
    render_size=256,
    terminate_on_success=False,
    params=None,
)
RENAMED = {
    "randomize_colors": "use color_jitter=<levels 0-255 per RGB channel> (randomize_colors=True was color_jitter=60)",
    "randomize_link_width": "use width_jitter=<fraction in [0, 0.9]> (the drawn link width × U(1 − w, 1 + w))",
}


def _discrete_torques(n_links: int) -> np.ndarray:
    """(3**n, n) normalised torques: digit ``j`` (base 3, joint 0 least significant) minus one."""
    index = np.arange(3**n_links)[:, None]
    return ((index // 3 ** np.arange(n_links)) % 3 - 1).astype(np.float64)


class ArmCore(BatchCore):
    """Batched core of an arm task: ``batch`` rows of arm state, actions, rewards and pixels.

    Subclasses define the task: ``task_defaults`` (their own kwargs), ``_state_bounds()``,
    ``_sample_start(rows)`` (draws from ``self.rng`` only), ``_physics_step(torque)`` (integrate, then
    fill ``self.state_obs``, ``self.points`` and ``self.reward_terms``), ``_observe()`` (refresh
    observations and points after a reset), ``success()``, and what to draw: ``_draw_static`` (fixed
    within an episode, cached per row for pixel observations) and ``_draw_objects`` (moving, below
    the arm).
    """

    render_fps = 50
    task_defaults: ClassVar[dict[str, Any]] = {}
    view_half_width: ClassVar[float] = 0.22  # [m] half the side of the square the camera sees
    reward_keys: ClassVar[tuple[str, ...]] = ()
    tip_radius: float = 0.012  # [m] drawn fingertip (Pusher: also its contact radius)

    def __init__(self, batch: int, **kwargs: Any) -> None:
        super().__init__(batch)
        name = self.name
        kw = check_kwargs(name, kwargs, {**ARM_DEFAULTS, **self.task_defaults}, RENAMED)
        self._configure_task(kw)
        action_type = check_choice(name, "action_type", kw["action_type"], ACTION_TYPES)
        obs_type = check_choice(name, "obs_type", kw["obs_type"], OBS_TYPES)
        params = kw["params"]
        if params is None:
            params = arm_params_for(check_int(name, "n_links", kw["n_links"], 1, 8))
        elif not isinstance(params, ArmParams):
            raise ValueError(f"{name}: params must be an ArmParams, got {type(params).__name__}")
        n = params.n_links
        if action_type == "discrete" and n > MAX_DISCRETE_LINKS:
            raise ValueError(
                f"{name}: action_type='discrete' needs n_links <= {MAX_DISCRETE_LINKS} (3**n actions), got {n}"
            )
        self.params, self.n_links = params, n
        self.action_type, self.obs_type = action_type, obs_type
        self.image_shape = check_image_shape(name, "pixel_shape", kw["pixel_shape"])
        self.render_shape = check_image_shape(name, "render_size", kw["render_size"])
        self.channels = 1 if check_bool(name, "grayscale", kw["grayscale"]) else 3
        self.color_jitter = check_int(name, "color_jitter", kw["color_jitter"], 0, 255)
        self.width_jitter = check_number(name, "width_jitter", kw["width_jitter"], 0.0, MAX_WIDTH_JITTER)
        self.terminate_on_success = check_bool(name, "terminate_on_success", kw["terminate_on_success"])

        # Constants the kernels take.
        self.K, self.inertia = params.inertia_constants()
        self.lengths = params.per_joint("link_lengths")
        self.damping = params.per_joint("joint_damping")
        self.max_torque = params.per_joint("max_torque")
        self.consts2 = two_link_constants(params)
        self.h = params.dt / params.substeps
        self.rk4 = params.integrator == "rk4"
        self.link_radius = 0.1 * float(self.lengths.min())  # [m] drawn half-width of a link
        self.discrete_torques = _discrete_torques(n) if action_type == "discrete" else None

        # Spaces of one row.
        if action_type == "continuous":
            self.single_action_space: gym.Space = gym.spaces.Box(-1.0, 1.0, shape=(n,), dtype=np.float32)
        else:
            self.single_action_space = gym.spaces.Discrete(3**n)
        low, high = self._state_bounds()
        self.state_obs_space = gym.spaces.Box(
            low.astype(np.float32), high.astype(np.float32), dtype=np.float32
        )
        if obs_type == "state":
            self.single_observation_space: gym.Space = self.state_obs_space
        else:
            self.single_observation_space = gym.spaces.Box(
                0, 255, shape=(*self.image_shape, self.channels), dtype=np.uint8
            )

        # Batched state.
        B = self.batch
        self.q = np.zeros((B, n))  # [rad] joint angles
        self.qd = np.zeros((B, n))  # [rad/s] joint rates
        self.state_obs = np.zeros((B, low.size), dtype=np.float32)
        self.points = np.zeros((B, n + 1, 2))  # [m] base, joints, fingertip
        self.reward_terms = np.zeros((len(self.reward_keys), B))
        self.control = np.zeros((B, n))  # normalised torques of the last step
        self.palette = np.broadcast_to(DEFAULT_PALETTE, (B, *DEFAULT_PALETTE.shape)).copy()
        self.link_scale = np.ones(B)
        self.obs_palette = np.zeros((B, len(DEFAULT_PALETTE), self.channels), dtype=np.uint8)
        self._obs_transform = self._transform(*self.image_shape)
        if obs_type == "pixels":
            self._background = np.zeros((B, *self.image_shape, self.channels), dtype=np.uint8)
        # What the task kernels take, bundled: the arm's constants and its scratch arrays.
        self.arm_constants = (
            self.consts2, self.K, self.inertia, self.damping, float(params.max_joint_speed), self.h,
            int(params.substeps), self.rk4, self.lengths,
        )  # fmt: skip
        self.scratch = new_scratch(n)
        self._warm_up()

    # -- task hooks -----------------------------------------------------------------------------
    def _configure_task(self, kw: dict[str, Any]) -> None:
        """Validate and store the task's own kwargs (``task_defaults``) before the arm is built."""

    @abstractmethod
    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds (low, high) of the state observation."""

    @abstractmethod
    def _sample_start(self, rows: np.ndarray) -> None:
        """Draw the start states of ``rows`` from ``self.rng``."""

    @abstractmethod
    def _physics_step(self, torque: np.ndarray) -> None:
        """Integrate one env step; fill ``state_obs``, ``points`` and ``reward_terms``."""

    @abstractmethod
    def _observe(self) -> None:
        """Refresh ``state_obs`` and ``points`` after a reset."""

    @abstractmethod
    def success(self) -> np.ndarray:
        """(B,) bool: the task is solved in this state."""

    # -- the BatchCore protocol -----------------------------------------------------------------
    def _warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel now, so the first real step is fast."""
        rows = np.arange(self.batch)
        self.rng.seed(rows, np.zeros(self.batch, dtype=np.uint64))
        self.reset_rows(rows, {})
        self.step(self._zero_actions(), None)
        if self.obs_type == "pixels":
            self.observe()

    def _zero_actions(self) -> np.ndarray:
        if self.action_type == "discrete":
            return np.full(self.batch, (3**self.n_links - 1) // 2, dtype=np.int64)  # all-zero torques
        return np.zeros((self.batch, self.n_links))

    def reset_rows(self, rows: np.ndarray, options: dict[str, Any]) -> None:
        self._sample_start(rows)
        # Visual randomisation is drawn every episode whether or not it is on, so switching it on
        # changes the pictures only, never the physics or the start states.
        jitter = self.rng.uniform(rows, -1.0, 1.0, (len(DEFAULT_PALETTE), 3))
        width = self.rng.uniform(rows, -1.0, 1.0)
        if self.color_jitter:
            shifted = DEFAULT_PALETTE + self.color_jitter * jitter
            self.palette[rows] = np.clip(np.rint(shifted), 0, 255).astype(np.uint8)
        if self.width_jitter:
            self.link_scale[rows] = 1.0 + self.width_jitter * width
        if self.channels == 1:
            self.obs_palette[rows] = np.rint(self.palette[rows] @ LUMA).astype(np.uint8)[..., None]
        else:
            self.obs_palette[rows] = self.palette[rows]
        self.control[rows] = 0.0
        self._observe()
        if self.obs_type == "pixels":
            self._refresh_background(rows)

    def reset_info(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {"is_success": self.success()[rows]}

    def step(
        self, actions: np.ndarray, active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance every row by ``dt`` (the arm draws no random numbers while it moves)."""
        control = self.discrete_torques[actions] if self.action_type == "discrete" else actions
        self.control[...] = control
        self._physics_step(control * self.max_torque)
        success = self.success()
        info = {key: self.reward_terms[k].copy() for k, key in enumerate(self.reward_keys)}
        info["is_success"] = success
        terminated = success.copy() if self.terminate_on_success else np.zeros(self.batch, dtype=bool)
        return self.reward_terms.sum(axis=0), terminated, info

    def observe(self) -> np.ndarray:
        """A fresh array of the batch's observations: (B, obs_dim) float32 or (B, H, W, C) uint8."""
        return self.state_obs.copy() if self.obs_type == "state" else self.pixels()

    def frames(self, rows: np.ndarray) -> np.ndarray:
        return self.pixels(self.render_shape, rgb=True)[rows]

    # -- drawing --------------------------------------------------------------------------------
    def pixels(self, shape: tuple[int, int] | None = None, rgb: bool = False) -> np.ndarray:
        """Top-down images of every row: the observation (B, H, W, C), or ``shape`` RGB frames.

        The observation reuses a per-row background (floor, table, target/goal: fixed within an
        episode) drawn at reset, so a step copies it and draws only what moves."""
        if shape is None and not rgb:
            canvas = self._background.copy()
            self._draw_moving(canvas, self.obs_palette, *self._obs_transform)
            return canvas
        height, width = shape or self.image_shape
        transform = self._transform(height, width)
        palette = self.palette if rgb else self.obs_palette
        canvas = render.new_canvas(self.batch, height, width, palette.shape[-1], palette[:, BACKGROUND])
        self._draw_static(canvas, palette, *transform, slice(None))
        self._draw_moving(canvas, palette, *transform)
        return canvas

    def _transform(self, height: int, width: int) -> tuple[float, np.ndarray]:
        scale = min(height, width) / (2.0 * self.view_half_width)  # [px/m]
        return scale, np.array([width / 2.0, height / 2.0])  # [px] where the base is drawn

    def _refresh_background(self, rows: np.ndarray) -> None:
        palette = self.obs_palette[rows]
        canvas = render.new_canvas(len(rows), *self.image_shape, self.channels, palette[:, BACKGROUND])
        self._draw_static(canvas, palette, *self._obs_transform, rows)
        self._background[rows] = canvas

    def _draw_moving(self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray) -> None:
        self._draw_objects(canvas, palette, scale, offset)
        points = self.points * np.array([scale, -scale]) + offset  # y up in the world, down in pixels
        link_radius = self.link_radius * scale * self.link_scale[:, None]
        render.draw_capsules(canvas, points[:, :-1], points[:, 1:], link_radius, palette[:, None, ARM])
        render.draw_circles(canvas, points[:, :-1], 1.1 * link_radius, palette[:, None, JOINT])
        render.draw_circles(canvas, points[:, -1:], self.tip_radius * scale, palette[:, None, TIP])

    @abstractmethod
    def _draw_static(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray, rows: Any
    ) -> None:
        """Draw what stays put during an episode (table, target/goal) for ``rows``."""

    def _draw_objects(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray
    ) -> None:
        """Draw moving task objects below the arm (every row)."""
