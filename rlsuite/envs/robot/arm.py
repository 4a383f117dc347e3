"""The batched core Reacher and Pusher share: a planar arm on a table, its state, actions and pixels.

:class:`ArmCore` is a :class:`rlsuite.envs.core.BatchCore`; a task (Reacher, Pusher) subclasses it
with its start states, kernel (physics, observation and reward in one compiled pass), success test
and drawing. The dynamics are in :mod:`rlsuite.envs.robot.arm_dynamics`.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from rlsuite.envs import render
from rlsuite.envs.core import (
    BatchCore,
    EnvKwargs,
    TaskMetric,
    boolean,
    image_shape,
    integer,
    kwarg,
    number,
    one_of,
)
from rlsuite.envs.robot.arm_dynamics import ArmParams, arm_columns, arm_params_for, new_scratch, pack_arm

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

RENAMED = {
    "randomize_colors": "use color_jitter=<levels 0-255 per RGB channel> (randomize_colors=True was color_jitter=60)",
    "randomize_link_width": "use width_jitter=<fraction in [0, 0.9]> (the drawn link width × U(1 − w, 1 + w))",
}


def _check_params(env: str, name: str, value: Any) -> ArmParams | None:
    if value is None or isinstance(value, ArmParams):
        return value
    raise ValueError(
        f"{env}: {name} must be None or an ArmParams (rlsuite.envs.robot.arm_dynamics), got {type(value).__name__}"
    )


@dataclass(frozen=True)
class ArmConfig(EnvKwargs):
    """The kwargs every arm task takes, with their defaults and bounds; a task's config (e.g.
    :class:`rlsuite.envs.robot.reacher.ReacherConfig`) adds its own. ``params`` (an
    :class:`~rlsuite.envs.robot.arm_dynamics.ArmParams`) overrides ``n_links`` and the default arm."""

    renamed: ClassVar[dict[str, str]] = RENAMED

    n_links: int = kwarg(2, integer(1, 8))
    action_type: str = kwarg("continuous", one_of(*ACTION_TYPES))
    obs_type: str = kwarg("state", one_of(*OBS_TYPES))
    pixel_shape: tuple[int, int] = kwarg((84, 84), image_shape)
    grayscale: bool = kwarg(False, boolean)
    color_jitter: int = kwarg(0, integer(0, 255))  # [RGB levels]
    width_jitter: float = kwarg(0.0, number(0.0, MAX_WIDTH_JITTER))  # drawn link width × U(1 − w, 1 + w)
    render_size: tuple[int, int] = kwarg(256, image_shape)  # [px] of rgb_array frames
    terminate_on_success: bool = kwarg(False, boolean)
    params: ArmParams | None = kwarg(None, _check_params)

    @property
    def arm(self) -> ArmParams:
        """The arm's physical constants: ``params``, else the default arm of ``n_links`` links."""
        return self.params if self.params is not None else arm_params_for(self.n_links)

    def check_together(self) -> None:
        n = self.arm.n_links
        if self.action_type == "discrete" and n > MAX_DISCRETE_LINKS:
            raise ValueError(
                f"{self.env_name}: action_type='discrete' needs n_links <= {MAX_DISCRETE_LINKS} "
                f"(3**n actions), got {n}"
            )


ARM_DEFAULTS: dict[str, Any] = ArmConfig.defaults()  # the kwargs every arm task takes, with their defaults


def _discrete_torques(n_links: int) -> np.ndarray:
    """(3**n, n) normalised torques: digit ``j`` (base 3, joint 0 least significant) minus one.
    (The kernels compute the same digits, :func:`~rlsuite.envs.robot.arm_dynamics.control_of`.)"""
    index = np.arange(3**n_links)[:, None]
    return ((index // 3 ** np.arange(n_links)) % 3 - 1).astype(np.float64)


class ArmCore(BatchCore):
    """Batched core of an arm task: ``batch`` rows of arm state, actions, rewards and pixels.

    Subclasses define the task: ``kwargs_class`` (an :class:`ArmConfig` with their own kwargs),
    ``_configure_task`` (what they keep of them), ``task_columns`` and
    ``_bind_task_rows`` (their per-row float64 state, views of columns of ``self.rows``),
    ``_state_bounds()``, ``_task_constants()``, ``_start_bounds()`` and ``_sample_start(rows, draws)``
    (their start states from uniform draws), ``kernel`` (one compiled pass over the batch, see
    :meth:`_run`), ``_step_info``, ``success()``, ``task_distance()`` (what ``info["distance"]`` and the
    ``final_distance`` metric report), and what to draw: ``_draw_static`` (fixed within
    an episode, cached per row for pixel observations) and ``_draw_objects`` (moving, below the arm).

    Every per-row float64 array (``q``, ``qd``, ``control``, ``points`` and the task's) is a view of
    columns of one array ``rows`` (B, columns), and the constants are one vector ``constants``, so
    the kernel takes few arguments: at batch 1 numba's per-argument checks cost more than the physics.
    """

    render_fps = 50
    kwargs_class: ClassVar[type[ArmConfig]] = ArmConfig
    view_half_width: ClassVar[float] = 0.22  # [m] half the side of the square the camera sees
    reward_keys: ClassVar[tuple[str, ...]] = ()
    task_metrics = (
        TaskMetric("success_rate", "is_success", "last", "episodes that end with the task solved"),
        TaskMetric("final_distance", "distance", "last", "the task's distance at the episode's end [m]"),
    )
    task_columns: ClassVar[int] = 0  # the task's float64 state per row (after the arm's in ``rows``)
    kernel: Any  # the task kernel (a staticmethod), called by _run
    tip_radius: float = 0.012  # [m] drawn fingertip (Pusher: also its contact radius)
    # The task's probe variables besides the joint angles: name -> column of the state observation
    # after the arm's 3 n (cos q, sin q, q̇).
    probe_columns: ClassVar[dict[str, int]] = {}

    def __init__(self, batch: int, **kwargs: Any) -> None:
        super().__init__(batch)
        self.config = config = self.kwargs_class.from_kwargs(kwargs)
        self._configure_task(config)
        params = config.arm
        n = params.n_links
        self.params, self.n_links = params, n
        action_type, obs_type = config.action_type, config.obs_type
        self.action_type, self.obs_type = action_type, obs_type
        self.image_shape = config.pixel_shape
        self.render_shape = config.render_size
        self.channels = 1 if config.grayscale else 3
        self.color_jitter = config.color_jitter
        self.width_jitter = config.width_jitter
        self.terminate_on_success = config.terminate_on_success

        self.h = params.dt / params.substeps  # [s] integration substep
        self.link_radius = 0.1 * float(params.per_joint("link_lengths").min())  # [m] drawn half-width
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

        # Batched state: the per-row float64 arrays are views of columns of one array.
        B = self.batch
        self.rows = np.zeros((B, arm_columns(n)[-1] + self.task_columns))
        self._bind_rows()
        self.state_obs = np.zeros((B, low.size), dtype=np.float32)
        self.palette = np.broadcast_to(DEFAULT_PALETTE, (B, *DEFAULT_PALETTE.shape)).copy()
        self.link_scale = np.ones(B)
        self.obs_palette = np.zeros((B, len(DEFAULT_PALETTE), self.channels), dtype=np.uint8)
        self._obs_transform = self._transform(*self.image_shape)
        if obs_type == "pixels":
            self._background = np.zeros((B, *self.image_shape, self.channels), dtype=np.uint8)
        # What the kernel takes besides the state: the arm's and the task's constants, scratch.
        self.constants = np.concatenate([pack_arm(params), self._task_constants()])
        self.scratch = new_scratch(n)
        # Each reset draws, per row, the task's start numbers then the visual randomisation's, in one
        # call: a row's stream gives the same numbers as separate calls in that order would.
        start_low, start_high = self._start_bounds()
        self._start_draws = len(start_low)
        visual = np.ones(len(DEFAULT_PALETTE) * 3 + 1)  # colour jitter (palette × RGB), width
        self._draw_low = np.concatenate([np.asarray(start_low, dtype=np.float64), -visual])
        self._draw_high = np.concatenate([np.asarray(start_high, dtype=np.float64), visual])
        self._values_shape = (2 + len(self.reward_keys), B)  # the step's reward sum, terms, distance
        self._flags_shape = (2, B)  # the step's success and termination flags
        # Stand-ins for the step's actions and outputs when the kernel only observes (same types;
        # a tuple, so not part of a snapshot).
        self._observe_stand_ins = (
            self._zero_actions()[:0],
            np.zeros((self._values_shape[0], 0)),
            np.zeros((2, 0), dtype=bool),
        )
        self._warm_up()

    def _bind_rows(self) -> None:
        """Name the views of ``rows``: the arm's, then the task's (:meth:`_bind_task_rows`)."""
        q0, qd0, control0, points0, task0 = arm_columns(self.n_links)
        self.q = self.rows[:, q0:qd0]  # [rad] joint angles
        self.qd = self.rows[:, qd0:control0]  # [rad/s] joint rates
        self.control = self.rows[:, control0:points0]  # normalised torques of the last step
        # [m] base, joints, fingertip
        self.points = self.rows[:, points0:task0].reshape(self.batch, self.n_links + 1, 2)
        self._bind_task_rows(self.rows[:, task0:])

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (or deepcopy) ``rows`` once, without its views: a pickled view would come back as
        a copy that the kernels no longer write."""
        rows = self.rows
        return {k: v for k, v in self.__dict__.items() if not (isinstance(v, np.ndarray) and v.base is rows)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._bind_rows()

    # -- task hooks -----------------------------------------------------------------------------
    def _configure_task(self, config: Any) -> None:
        """Keep what the task needs of its validated kwargs (``config``, a ``kwargs_class``) before the
        arm is built."""

    @abstractmethod
    def _bind_task_rows(self, task_rows: np.ndarray) -> None:
        """Name views of the task's ``task_columns`` columns of ``rows`` (``task_rows``, B × columns)."""

    @abstractmethod
    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds (low, high) of the state observation."""

    @abstractmethod
    def _task_constants(self) -> np.ndarray:
        """The task's constants (float64), after the arm's in ``constants``, as its kernel reads them."""

    @abstractmethod
    def _start_bounds(self) -> tuple[list[float], list[float]]:
        """Bounds (low, high) of the uniform numbers each reset draws per row for the start state."""

    @abstractmethod
    def _sample_start(self, rows: np.ndarray, draws: np.ndarray) -> None:
        """Set the start states of ``rows`` from ``draws`` (len(rows), k): uniform numbers within
        :meth:`_start_bounds`, drawn from those rows' streams."""

    @abstractmethod
    def success(self) -> np.ndarray:
        """(B,) bool: the task is solved in this state."""

    @abstractmethod
    def task_distance(self) -> np.ndarray:
        """(B,) float64 view [m]: the distance the task closes (Reacher: fingertip to target; Pusher:
        puck to goal), as the kernel last wrote it."""

    @abstractmethod
    def _step_info(self, values: np.ndarray, flags: np.ndarray) -> dict[str, np.ndarray]:
        """The step's info from the kernel's outputs: ``reward_keys`` (rows 1… of ``values``, in
        order), ``is_success`` (``flags[0]``) and ``distance`` (the last row of ``values``: what
        :meth:`task_distance` holds after the step). (A dict literal per task: a loop here cost more
        than the rest of the step's Python.)"""

    def _run(self, physics: bool, actions: np.ndarray, values: np.ndarray, flags: np.ndarray) -> None:
        """The task kernel over the batch: when ``physics``, set ``control`` from ``actions`` and
        integrate one env step, then (always) refresh ``state_obs``, ``points`` and the task's
        derived columns; when ``physics``, also write ``values`` (2 + len(reward_keys), B) (the
        reward, each term, then the task's distance) and ``flags`` (2, B) (success, termination)."""
        self.kernel(physics, actions, self.constants, self.scratch, self.rows, self.state_obs, values, flags)

    def _observe(self) -> None:
        """Refresh ``state_obs``, ``points`` and the task's derived columns (after a reset)."""
        no_actions, no_values, no_flags = self._observe_stand_ins
        self._run(False, no_actions, no_values, no_flags)

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
        draws = self.rng.uniform(rows, self._draw_low, self._draw_high, self._draw_low.shape)
        k = self._start_draws
        self._sample_start(rows, draws[:, :k])
        # Visual randomisation is drawn every episode whether or not it is on, so switching it on
        # changes the pictures only, never the physics or the start states.
        jitter = draws[:, k:-1].reshape(len(rows), len(DEFAULT_PALETTE), 3)
        width = draws[:, -1]
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
        """The step info's keys with neutral values: reward terms 0, ``is_success`` and ``distance``
        of the start state."""
        info = {key: np.zeros(len(rows)) for key in self.reward_keys}
        info["is_success"] = self.success()[rows]
        info["distance"] = self.task_distance()[rows]
        return info

    def step(
        self, actions: np.ndarray, active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict]:
        """Advance every row by ``dt`` (the arm draws no random numbers while it moves)."""
        values = np.empty(self._values_shape)  # fresh arrays: the caller may keep them
        flags = np.empty(self._flags_shape, dtype=bool)
        self.kernel(True, actions, self.constants, self.scratch, self.rows, self.state_obs, values, flags)
        return values[0], flags[1], self._step_info(values, flags)

    def observe(self) -> np.ndarray:
        """A fresh array of the batch's observations: (B, obs_dim) float32 or (B, H, W, C) uint8."""
        return self.state_obs.copy() if self.obs_type == "state" else self.pixels()

    def frames(self, rows: np.ndarray) -> np.ndarray:
        return self.pixels(self.render_shape, rgb=True)[rows]

    # -- what code outside envs/ may ask (see BatchCore) -----------------------------------------
    def probe_variables(self) -> tuple[list[str], np.ndarray]:
        """The joint angles as cos and sin, the joint rates (``vel_q<i>``, rad/s: the motion a pixel
        encoder must see across its stacked frames), then the task's :attr:`probe_columns` (e.g. the
        target)."""
        n, obs = self.n_links, self.state_obs
        names = [f"{kind}_q{i}" for kind in ("cos", "sin", "vel") for i in range(n)] + list(
            self.probe_columns
        )
        columns = [obs[:, i] for i in range(3 * n)] + [obs[:, 3 * n + k] for k in self.probe_columns.values()]
        return names, np.stack(columns, axis=1).astype(np.float32)

    def privileged_state(self) -> tuple[list[str], np.ndarray]:
        """The whole state observation (joint angles and rates, and the task's), whatever ``obs_type``."""
        return [f"obs{i}" for i in range(self.state_obs.shape[1])], self.state_obs.astype(np.float32)

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
