"""``rlsuite/Reacher-v0``: move the fingertip of a planar n-link arm to a random target."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numba import njit

from rlsuite.envs import render
from rlsuite.envs.core import MAX_REWARD_WEIGHT, CoreEnv, CoreVectorEnv, kwarg, number
from rlsuite.envs.robot.arm import ARM_DEFAULTS, GOAL, TABLE, ArmConfig, ArmCore
from rlsuite.envs.robot.arm_dynamics import (
    ArmParams,
    arm_rows,
    control_of,
    observe_arm_row,
    split_scratch,
    step_arm_row,
    unpack_arm,
)

MAX_EPISODE_STEPS = 100  # registered horizon: 100 steps × 0.02 s = 2 s


# The task's columns in a row of arm state (after the arm's) and its constants (after the arm's).
TARGET, DISTANCE, TASK_COLUMNS = 0, 2, 3  # target x, y [m]; fingertip to target [m]
DISTANCE_WEIGHT, CONTROL_WEIGHT, TOLERANCE, TERMINATE, OBS_BOUNDS = range(5)


@njit(cache=True, error_model="numpy")
def _reacher_kernel(physics, actions, constants, scratch, rows, state_obs, values, flags):  # pragma: no cover
    """Integrate every row by one env step (when ``physics``), then write observations, fingertip
    points, distances and (when ``physics``) rewards and success flags. One pass, no Python per row
    (the arguments are described at :meth:`~rlsuite.envs.robot.arm.ArmCore._run`)."""
    arm = unpack_arm(constants)
    n, substeps, rk4, max_speed, h, consts2, K, inertia, damping, lengths, max_torque, c = arm
    obs_size = 3 * n + 4
    low, high = c + OBS_BOUNDS, c + OBS_BOUNDS + obs_size
    work, M, chol, tau = split_scratch(scratch, n)
    q, qd, control, points, task = arm_rows(rows, n)
    target, distance = task + TARGET, task + DISTANCE
    for b in range(rows.shape[0]):
        if physics:
            for a in range(n):
                control[b, a] = control_of(actions, b, a)
                tau[a] = control[b, a] * max_torque[a]
            step_arm_row(
                b, q, qd, tau, substeps, consts2, K, inertia, damping, max_speed, h, rk4, False, work, M, chol
            )
        x, y = observe_arm_row(b, q, qd, lengths, state_obs, points)
        dx, dy = rows[b, target] - x, rows[b, target + 1] - y
        state_obs[b, 3 * n] = rows[b, target]
        state_obs[b, 3 * n + 1] = rows[b, target + 1]
        state_obs[b, 3 * n + 2] = dx
        state_obs[b, 3 * n + 3] = dy
        for i in range(obs_size):
            state_obs[b, i] = min(max(state_obs[b, i], constants[low + i]), constants[high + i])
        rows[b, distance] = math.sqrt(dx * dx + dy * dy)
        if physics:
            effort = 0.0
            for a in range(n):
                effort += control[b, a] * control[b, a]
            reward_dist = -constants[c + DISTANCE_WEIGHT] * rows[b, distance]
            reward_ctrl = -constants[c + CONTROL_WEIGHT] * effort
            values[0, b] = reward_dist + reward_ctrl
            values[1, b], values[2, b], values[3, b] = reward_dist, reward_ctrl, rows[b, distance]
            success = rows[b, distance] < constants[c + TOLERANCE]
            flags[0, b] = success
            flags[1, b] = success and constants[c + TERMINATE] != 0.0


@njit(cache=True, error_model="numpy")
def _polar(radius, angle):  # pragma: no cover - compiled
    """(B, 2) points at ``radius`` [m], ``angle`` [rad] (compiled: identical bits for any batch size)."""
    out = np.empty((radius.shape[0], 2))
    for b in range(radius.shape[0]):
        out[b, 0] = radius[b] * math.cos(angle[b])
        out[b, 1] = radius[b] * math.sin(angle[b])
    return out


@dataclass(frozen=True)
class ReacherConfig(ArmConfig):
    """Every kwarg of the Reacher envs with its default and its bounds (see :class:`ReacherEnv`)."""

    env_name: ClassVar[str] = "Reacher"

    distance_weight: float = kwarg(1.0, number(0.0, MAX_REWARD_WEIGHT))
    control_weight: float = kwarg(0.1, number(0.0, MAX_REWARD_WEIGHT))
    success_tolerance: float = kwarg(0.02, number(0.0, open_low=True, unit="m"))
    target_radius: float = kwarg(0.015, number(0.0, open_low=True, unit="m"))  # drawn only


# Reacher's own kwargs (besides every arm's), with their defaults.
TASK_DEFAULTS = {k: v for k, v in ReacherConfig.defaults().items() if k not in ARM_DEFAULTS}


class ReacherCore(ArmCore):
    """Batched Reacher core (see :class:`ReacherEnv` for the specification)."""

    name = "Reacher"
    kwargs_class = ReacherConfig
    task_defaults: ClassVar[dict[str, Any]] = TASK_DEFAULTS
    reward_keys: ClassVar[tuple[str, ...]] = ("reward_dist", "reward_ctrl")
    task_columns: ClassVar[int] = TASK_COLUMNS
    kernel = staticmethod(_reacher_kernel)
    view_half_width: ClassVar[float] = 0.22  # [m]: the 0.2 m reach plus a margin
    probe_columns: ClassVar[dict[str, int]] = {"target_x": 0, "target_y": 1}

    def _configure_task(self, config: ReacherConfig) -> None:
        self.weights = np.array([config.distance_weight, config.control_weight])
        self.success_tolerance = config.success_tolerance
        self.target_radius = config.target_radius

    def _bind_task_rows(self, task_rows: np.ndarray) -> None:
        self.target = task_rows[:, TARGET : TARGET + 2]  # [m]
        self.distance = task_rows[:, DISTANCE]  # [m] fingertip to target

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        n, reach, speed = self.n_links, self.params.reach, self.params.max_joint_speed
        high = np.concatenate([np.ones(2 * n), np.full(n, speed), np.full(2, reach), np.full(2, 2 * reach)])
        return -high, high

    def _task_constants(self) -> np.ndarray:
        space = self.state_obs_space  # the kernel clips the observations to its bounds
        head = [*self.weights, self.success_tolerance, float(self.terminate_on_success)]
        return np.concatenate([head, space.low, space.high]).astype(np.float64)

    def _start_bounds(self) -> tuple[list[float], list[float]]:
        n = self.n_links
        # q [rad], q̇ [rad/s], (target radius / reach)², target angle [rad]
        low = [-np.pi] * n + [-0.1] * n + [0.1**2, -np.pi]
        high = [np.pi] * n + [0.1] * n + [0.95**2, np.pi]
        return low, high

    def _sample_start(self, rows: np.ndarray, draws: np.ndarray) -> None:
        n, reach = self.n_links, self.params.reach
        self.q[rows] = draws[:, :n]
        self.qd[rows] = draws[:, n : 2 * n]
        # Uniform over the annulus 0.1 reach .. 0.95 reach (area-uniform radius).
        radius = reach * np.sqrt(draws[:, 2 * n])
        self.target[rows] = _polar(radius, np.ascontiguousarray(draws[:, 2 * n + 1]))

    def success(self) -> np.ndarray:
        return self.distance < self.success_tolerance

    def task_distance(self) -> np.ndarray:
        """Fingertip to target [m]."""
        return self.distance

    def _step_info(self, values: np.ndarray, flags: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "reward_dist": values[1],
            "reward_ctrl": values[2],
            "is_success": flags[0],
            "distance": values[3],
        }

    def _draw_static(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray, rows: Any
    ) -> None:
        workspace = np.broadcast_to(offset, (len(palette), 1, 2))
        render.draw_circles(canvas, workspace, 1.05 * self.params.reach * scale, palette[:, None, TABLE])
        center = self.target[rows][:, None] * np.array([scale, -scale]) + offset
        render.draw_circles(canvas, center, self.target_radius * scale, palette[:, None, GOAL])


class ReacherEnv(CoreEnv):
    """Move the fingertip of a planar arm to a random target.

    A planar arm of ``n_links`` (default 2) uniform rods with revolute joints moves in the horizontal
    plane (no gravity); its base is fixed at the origin. Rigid-body dynamics — mass matrix,
    Coriolis/centrifugal terms, viscous joint damping, torque limits — integrated by RK4, see
    :mod:`rlsuite.envs.robot.arm_dynamics` for the equations. A new target appears at each reset.

    ## Physical constants (defaults; ``params=ArmParams(...)`` overrides them)
    | constant | value |
    |---|---|
    | links | ``n_links`` equal rods, total reach 0.2 m, 1 kg/m (two links: 0.1 m, 0.1 kg each) |
    | max joint torque | 0.05 N·m per joint, at action ±1 |
    | joint damping | 0.005 N·m·s/rad |
    | joint speed limit | 20 rad/s (clip after each substep) |
    | control step ``dt`` | 0.02 s (50 Hz), 2 RK4 substeps of 10 ms |

    ## Action space
    - ``action_type="continuous"`` (default): ``Box(-1, 1, (n_links,), float32)``, normalised joint
      torques (``±1`` = ±max torque). Values outside [-1, 1] or a wrong shape raise ``ValueError``.
    - ``action_type="discrete"``: ``Discrete(3**n_links)``; action ``k`` sets joint ``j``'s torque to
      ``(k // 3**j) % 3 - 1`` ∈ {−1, 0, +1} × max torque (so DQN or a table can drive the arm).

    ## Observation space
    ``obs_type="state"`` (default): ``Box(float32, (3 n + 4,))``

    | index | observation | unit | bounds |
    |---|---|---|---|
    | 0 … n−1 | cos of joint angles ``q`` (relative) | – | ±1 |
    | n … 2n−1 | sin of joint angles | – | ±1 |
    | 2n … 3n−1 | joint rates ``q̇`` | rad/s | ±20 |
    | 3n, 3n+1 | target x, y (base frame) | m | ±reach |
    | 3n+2, 3n+3 | target − fingertip, x and y | m | ±2 reach |

    ``obs_type="pixels"``: ``Box(0, 255, (H, W, C), uint8)`` top-down view of the arm and target,
    0.44 m across with the base in the centre; ``pixel_shape=(84, 84)`` (``(H, W)``, or an int for
    a square), ``C = 1`` with ``grayscale=True`` else 3. Joint rates are not visible in one frame: stack frames.

    ## Reward
    ``reward = reward_dist + reward_ctrl`` with ``reward_dist = −distance_weight · |fingertip −
    target|`` [m] and ``reward_ctrl = −control_weight · Σ action²`` (normalised torques); both are in
    ``info`` along with ``is_success`` (fingertip within ``success_tolerance`` of the target).

    ## Starting state
    Joint angles uniform in [−π, π), joint rates uniform in [−0.1, 0.1) rad/s; the target uniform by
    area over the annulus from 0.1 to 0.95 of the reach, so always reachable.

    ## Episode end
    Never terminates, unless ``terminate_on_success=True``: then the step that reaches the target
    terminates. Truncated after 100 steps (2 s) by the registration's ``max_episode_steps`` (the
    class constructed directly never truncates; the vector env takes ``max_episode_steps``).

    ## Arguments
    (Declared once, with their bounds, in :class:`ReacherConfig`.)
    ``gymnasium.make("rlsuite/Reacher-v0", ...)`` /
    ``gymnasium.make_vec("rlsuite/Reacher-v0", num_envs, ...)`` accept:
    ``n_links=2`` (1–8; discrete needs ≤ 6), ``action_type``, ``obs_type``, ``pixel_shape=84``,
    ``grayscale=False``, ``color_jitter=0`` (each RGB channel of each palette colour shifted by
    up to ± this many levels, 0–255, every episode), ``width_jitter=0.0`` (drawn link width ×
    U(1 − w, 1 + w) every episode, w ≤ 0.9), ``terminate_on_success=False``,
    ``render_mode`` (None, ``"rgb_array"``, ``"human"`` — needs pygame),
    ``render_size=256``, ``distance_weight=1.0``, ``control_weight=0.1`` (weights in [0, 1e6]),
    ``success_tolerance=0.02`` [m], ``target_radius=0.015`` [m, drawn only], ``params`` (an
    :class:`~rlsuite.envs.robot.arm_dynamics.ArmParams`). Visual randomisation changes pixels only:
    the states and rewards are the same with it on or off.

    ## Info
    ``reward_dist``, ``reward_ctrl`` (float), ``is_success`` (bool: the fingertip is within
    ``success_tolerance`` of the target) and ``distance`` [m] (float: fingertip to target) after a
    step; after a reset the same keys, types and shapes, with the reward terms 0 and ``is_success``
    and ``distance`` of the start state.

    ## Task metrics
    Per episode (:attr:`~rlsuite.envs.core.BatchCore.task_metrics`, reported by every evaluation as
    ``eval/<name>``): ``success_rate`` (``is_success`` at the episode's last step) and
    ``final_distance`` [m] (``distance`` at its last step).

    ## Version history
    - v0: first version.
    """

    core_class = ReacherCore


class ReacherVectorEnv(CoreVectorEnv):
    """Native vector version of :class:`ReacherEnv` with the semantics of Gymnasium's
    ``SyncVectorEnv`` over it (:mod:`rlsuite.envs.core`)."""

    core_class = ReacherCore


__all__ = ["ArmParams", "ReacherConfig", "ReacherCore", "ReacherEnv", "ReacherVectorEnv"]
