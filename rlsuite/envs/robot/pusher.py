"""``rlsuite/Pusher-v0``: the planar arm pushes a puck across a table into a goal region."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numba import njit

from rlsuite.envs import render
from rlsuite.envs.core import MAX_REWARD_WEIGHT, Check, CoreEnv, CoreVectorEnv, kwarg, number
from rlsuite.envs.robot.arm import ARM_DEFAULTS, GOAL, PUCK, TABLE, ArmConfig, ArmCore
from rlsuite.envs.robot.arm_dynamics import (
    arm_rows,
    arm_terms,
    control_of,
    observe_arm_row,
    solve_spd,
    split_scratch,
    step_arm_row,
    unpack_arm,
)
from rlsuite.envs.robot.reacher import _polar

MAX_EPISODE_STEPS = 200  # registered horizon: 200 steps × 0.02 s = 4 s
GRAVITY = 9.81  # [m/s²]
MAX_TABLE_HALF_SIZE = 10.0  # [m]
PUCK_SPEED_RANGE = (0.01, 100.0)  # [m/s] of max_puck_speed (the puck's observation bounds)

# The task's columns in a row of arm state (after the arm's) and its constants (after the arm's).
PUCK_STATE, GOAL_XY, GOAL_DISTANCE, TIP_DISTANCE, TASK_COLUMNS = 0, 4, 6, 7, 8
(
    GOAL_WEIGHT, NEAR_WEIGHT, CONTROL_WEIGHT, GOAL_RADIUS, TERMINATE, HALF_SIZE, PUCK_RADIUS, TIP_RADIUS,
    PUCK_MASS, FRICTION_DECEL, RESTITUTION, MAX_PUCK_SPEED, OBS_BOUNDS,
) = range(13)  # fmt: skip


@njit(cache=True, inline="always", error_model="numpy")
def _fingertip(b, q, qd, lengths):  # pragma: no cover - compiled
    """Row ``b``'s fingertip position and velocity ``(x, y, vx, vy)`` [m, m/s]."""
    angle, rate, x, y, vx, vy = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    for a in range(q.shape[1]):
        angle += q[b, a]
        rate += qd[b, a]
        c, s = math.cos(angle), math.sin(angle)
        x += lengths[a] * c
        y += lengths[a] * s
        vx -= lengths[a] * s * rate
        vy += lengths[a] * c * rate
    return x, y, vx, vy


@njit(cache=True, inline="always", error_model="numpy")
def _contact_impulse(
    b, q, qd, puck, tip, lengths, consts2, K, inertia, radius_sum, puck_mass, h, work, M, chol
):
    """Speculative, frictionless, perfectly inelastic fingertip–puck contact for row ``b``.

    If closing at the current relative normal speed would overlap the circles within ``h``, apply
    the smallest impulse λ ≥ 0 along the normal ``n`` (tip → puck) that leaves a closing speed of at
    most ``gap / h``: the puck gets ``+λ n / m``, the arm ``q̇ −= M⁻¹ Jᵀ n λ``. A fast tip therefore
    stops at the puck's surface instead of passing through it, whatever the substep.
    """
    tx, ty, vtx, vty = tip
    dx, dy = puck[b, 0] - tx, puck[b, 1] - ty
    distance = math.sqrt(dx * dx + dy * dy)
    nx, ny = (dx / distance, dy / distance) if distance > 0.0 else (1.0, 0.0)
    gap = distance - radius_sum  # [m], negative when overlapping
    closing = (puck[b, 2] - vtx) * nx + (puck[b, 3] - vty) * ny  # [m/s], negative when approaching
    allowed = -max(gap, 0.0) / h
    if closing >= allowed:
        return
    # Rare path (a contact this substep): Jᵀ n, then the arm's response M⁻¹ Jᵀ n.
    n = q.shape[1]
    jn, response = work[12], work[13]
    angle = 0.0
    for a in range(n):
        angle += q[b, a]
        work[3, a], work[4, a] = math.cos(angle), math.sin(angle)
    total = 0.0
    for a in range(n - 1, -1, -1):
        total += lengths[a] * (-work[4, a] * nx + work[3, a] * ny)
        jn[a] = total
    if n == 2:
        coupling = consts2[1] * math.cos(q[b, 1])
        m11 = consts2[2]
        m01 = m11 + coupling
        m00 = consts2[0] + 2.0 * coupling
        det = m00 * m11 - m01 * m01
        response[0] = (m11 * jn[0] - m01 * jn[1]) / det
        response[1] = (m00 * jn[1] - m01 * jn[0]) / det
    else:
        q_row, qd_row = work[0], work[1]
        for a in range(n):
            q_row[a], qd_row[a] = q[b, a], qd[b, a]
        # Only M is needed: the torque and damping arguments (rhs) are placeholders.
        arm_terms(q_row, qd_row, qd_row, K, inertia, inertia, M, work[2], work[5], work[6], work[7])
        solve_spd(M, jn, response, chol)
    arm_inverse_mass = 0.0  # nᵀ J M⁻¹ Jᵀ n [1/kg]
    for a in range(n):
        arm_inverse_mass += jn[a] * response[a]
    impulse = (allowed - closing) / (1.0 / puck_mass + arm_inverse_mass)  # [N·s]
    puck[b, 2] += impulse * nx / puck_mass
    puck[b, 3] += impulse * ny / puck_mass
    for a in range(n):
        qd[b, a] -= impulse * response[a]


@njit(cache=True, inline="always", error_model="numpy")
def _separate_and_contain(b, puck, tip, radius_sum, wall, restitution):  # pragma: no cover - compiled
    """Push the puck out of any residual overlap with the fingertip, then bounce it off the rims."""
    x, y, vx, vy = puck[b, 0], puck[b, 1], puck[b, 2], puck[b, 3]
    dx, dy = x - tip[0], y - tip[1]
    distance = math.sqrt(dx * dx + dy * dy)
    overlap = radius_sum - distance
    if overlap > 0.0 and distance > 0.0:
        x += overlap * dx / distance
        y += overlap * dy / distance
    if x > wall or x < -wall:
        x = min(max(x, -wall), wall)
        if x * vx > 0.0:
            vx = -restitution * vx
    if y > wall or y < -wall:
        y = min(max(y, -wall), wall)
        if y * vy > 0.0:
            vy = -restitution * vy
    puck[b, 0], puck[b, 1], puck[b, 2], puck[b, 3] = x, y, vx, vy


@njit(cache=True, error_model="numpy")
def _pusher_kernel(physics, actions, constants, scratch, rows, state_obs, values, flags):  # pragma: no cover
    """One env step for every row (when ``physics``), then observations, points, distances and
    (when ``physics``) rewards and success flags (the arguments are described at
    :meth:`~rlsuite.envs.robot.arm.ArmCore._run`).

    Each substep: fingertip kinematics → remove residual overlap, rims → contact impulse → arm RK4
    under the torque → puck friction and motion. The puck's columns are ``(x, y, vx, vy)``."""
    arm = unpack_arm(constants)
    n, substeps, rk4, max_speed, h, consts2, K, inertia, damping, lengths, max_torque, c = arm
    obs_size = 3 * n + 8
    low, high = c + OBS_BOUNDS, c + OBS_BOUNDS + obs_size
    half, puck_radius = constants[c + HALF_SIZE], constants[c + PUCK_RADIUS]  # [m]
    tip_radius, puck_mass = constants[c + TIP_RADIUS], constants[c + PUCK_MASS]  # [m], [kg]
    friction_decel, restitution = constants[c + FRICTION_DECEL], constants[c + RESTITUTION]  # [m/s²], [-]
    max_puck_speed = constants[c + MAX_PUCK_SPEED]  # [m/s]
    wall = half - puck_radius  # [m] limit of the puck centre
    radius_sum = tip_radius + puck_radius
    work, M, chol, tau = split_scratch(scratch, n)
    q, qd, control, points, task = arm_rows(rows, n)
    puck = rows[:, task + PUCK_STATE : task + PUCK_STATE + 4]
    goal, goal_distance, tip_distance = task + GOAL_XY, task + GOAL_DISTANCE, task + TIP_DISTANCE
    for b in range(rows.shape[0]):
        if physics:
            for a in range(n):
                control[b, a] = control_of(actions, b, a)
                tau[a] = control[b, a] * max_torque[a]
            for _ in range(substeps):
                tip = _fingertip(b, q, qd, lengths)
                _separate_and_contain(b, puck, tip, radius_sum, wall, restitution)
                _contact_impulse(
                    b, q, qd, puck, tip, lengths, consts2, K, inertia, radius_sum, puck_mass, h, work, M, chol
                )
                step_arm_row(
                    b, q, qd, tau, 1, consts2, K, inertia, damping, max_speed, h, rk4, False, work, M, chol
                )
                # Coulomb sliding friction: decelerate by μ g, never reversing the motion.
                vx, vy = puck[b, 2], puck[b, 3]
                speed = math.sqrt(vx * vx + vy * vy)
                if speed > 0.0:
                    keep = max(0.0, 1.0 - friction_decel * h / speed)
                    if speed * keep > max_puck_speed:
                        keep = max_puck_speed / speed
                    puck[b, 2], puck[b, 3] = vx * keep, vy * keep
                    puck[b, 0] += h * puck[b, 2]
                    puck[b, 1] += h * puck[b, 3]
        tx, ty = observe_arm_row(b, q, qd, lengths, state_obs, points)
        if physics:  # the overlap and rims check that closes the last substep
            _separate_and_contain(b, puck, (tx, ty, 0.0, 0.0), radius_sum, wall, restitution)
        px, py = puck[b, 0], puck[b, 1]
        gx, gy = rows[b, goal], rows[b, goal + 1]
        k = 3 * n
        state_obs[b, k], state_obs[b, k + 1] = px - tx, py - ty
        state_obs[b, k + 2], state_obs[b, k + 3] = gx - px, gy - py
        state_obs[b, k + 4], state_obs[b, k + 5] = px, py
        state_obs[b, k + 6], state_obs[b, k + 7] = puck[b, 2], puck[b, 3]
        for i in range(obs_size):
            state_obs[b, i] = min(max(state_obs[b, i], constants[low + i]), constants[high + i])
        to_goal = math.sqrt((gx - px) ** 2 + (gy - py) ** 2)
        to_puck = math.sqrt((px - tx) ** 2 + (py - ty) ** 2)
        rows[b, goal_distance], rows[b, tip_distance] = to_goal, to_puck
        if physics:
            effort = 0.0
            for a in range(n):
                effort += control[b, a] * control[b, a]
            reward_goal = -constants[c + GOAL_WEIGHT] * to_goal
            reward_near = -constants[c + NEAR_WEIGHT] * to_puck
            reward_ctrl = -constants[c + CONTROL_WEIGHT] * effort
            values[0, b] = reward_goal + reward_near + reward_ctrl
            values[1, b], values[2, b], values[3, b] = reward_goal, reward_near, reward_ctrl
            values[4, b] = to_goal
            success = to_goal < constants[c + GOAL_RADIUS]
            flags[0, b] = success
            flags[1, b] = success and constants[c + TERMINATE] != 0.0


def _positive(unit: str, high: float = math.inf) -> Check:
    """Check: a finite number in ``(0, high]``."""
    return number(0.0, high, open_low=True, unit=unit)


REWARD_WEIGHT = number(0.0, MAX_REWARD_WEIGHT)


@dataclass(frozen=True)
class PusherConfig(ArmConfig):
    """Every kwarg of the Pusher envs with its default and its bounds (see :class:`PusherEnv`)."""

    env_name: ClassVar[str] = "Pusher"

    goal_weight: float = kwarg(1.0, REWARD_WEIGHT)
    near_weight: float = kwarg(0.5, REWARD_WEIGHT)
    control_weight: float = kwarg(0.1, REWARD_WEIGHT)
    goal_radius: float = kwarg(0.03, _positive("m"))
    table_half_size: float = kwarg(0.3, _positive("m", MAX_TABLE_HALF_SIZE))
    puck_radius: float = kwarg(0.025, _positive("m"))
    puck_mass: float = kwarg(0.05, _positive("kg"))
    puck_friction: float = kwarg(0.4, number(0.0))  # Coulomb μ
    wall_restitution: float = kwarg(0.5, number(0.0, 1.0))
    tip_radius: float = kwarg(0.012, _positive("m"))
    max_puck_speed: float = kwarg(5.0, number(*PUCK_SPEED_RANGE, unit="m/s"))

    def check_together(self) -> None:
        super().check_together()
        # The fingertip must not be able to wedge the puck against a rim (the rims are outside reach).
        reach = self.params.reach if self.params is not None else 0.2  # [m] every default arm's reach
        if reach + self.tip_radius + 2 * self.puck_radius >= self.table_half_size:
            raise ValueError(
                f"{self.env_name}: table_half_size must exceed reach + tip_radius + 2 * puck_radius "
                f"({reach:g} + {self.tip_radius:g} + 2 * {self.puck_radius:g} m), "
                f"got {self.table_half_size!r}"
            )


# Pusher's own kwargs (besides every arm's), with their defaults.
TASK_DEFAULTS = {k: v for k, v in PusherConfig.defaults().items() if k not in ARM_DEFAULTS}


class PusherCore(ArmCore):
    """Batched Pusher core (see :class:`PusherEnv` for the specification)."""

    name = "Pusher"
    kwargs_class = PusherConfig
    task_defaults: ClassVar[dict[str, Any]] = TASK_DEFAULTS
    reward_keys: ClassVar[tuple[str, ...]] = ("reward_goal", "reward_near", "reward_ctrl")
    task_columns: ClassVar[int] = TASK_COLUMNS
    kernel = staticmethod(_pusher_kernel)
    probe_columns: ClassVar[dict[str, int]] = {"puck_x": 4, "puck_y": 5}

    def _configure_task(self, config: PusherConfig) -> None:
        self.weights = np.array([config.goal_weight, config.near_weight, config.control_weight])
        self.goal_radius = config.goal_radius
        self.table_half_size = config.table_half_size
        self.puck_radius = config.puck_radius
        self.puck_mass = config.puck_mass
        self.puck_friction = config.puck_friction  # Coulomb μ
        self.wall_restitution = config.wall_restitution
        self.tip_radius = config.tip_radius
        self.max_puck_speed = config.max_puck_speed
        self.view_half_width = 1.07 * self.table_half_size  # [m] the camera sees the table and a margin

    def _bind_task_rows(self, task_rows: np.ndarray) -> None:
        self.puck = task_rows[:, PUCK_STATE : PUCK_STATE + 4]  # [m, m, m/s, m/s]
        self.goal = task_rows[:, GOAL_XY : GOAL_XY + 2]  # [m]
        self.goal_distance = task_rows[:, GOAL_DISTANCE]  # [m] puck to goal
        self.tip_distance = task_rows[:, TIP_DISTANCE]  # [m] fingertip to puck

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        n, reach, speed = self.n_links, self.params.reach, self.params.max_joint_speed
        half = self.table_half_size
        high = np.concatenate(
            [
                np.ones(2 * n),
                np.full(n, speed),
                np.full(2, half + reach),
                np.full(2, 2 * half),
                np.full(2, half),
                np.full(2, self.max_puck_speed),
            ]
        )
        return -high, high

    def _task_constants(self) -> np.ndarray:
        head = [
            *self.weights,
            self.goal_radius,
            float(self.terminate_on_success),
            self.table_half_size,
            self.puck_radius,
            self.tip_radius,
            self.puck_mass,
            self.puck_friction * GRAVITY,  # [m/s²] sliding deceleration
            self.wall_restitution,
            self.max_puck_speed,
        ]
        space = self.state_obs_space  # the kernel clips the observations to its bounds
        return np.concatenate([head, space.low, space.high]).astype(np.float64)

    def _start_bounds(self) -> tuple[list[float], list[float]]:
        n = self.n_links
        # puck angle [rad], puck radius / reach, turn to the goal, goal radius / reach, bends [rad]
        low = [-np.pi, 0.45, -1.0, 0.45] + [-0.5] * n
        high = [np.pi, 0.85, 1.0, 0.85] + [0.5] * n
        return low, high

    def _sample_start(self, rows: np.ndarray, draws: np.ndarray) -> None:
        n, reach = self.n_links, self.params.reach
        puck_angle = np.ascontiguousarray(draws[:, 0])
        self.puck[rows, :2] = _polar(reach * draws[:, 1], puck_angle)
        self.puck[rows, 2:] = 0.0
        turn = draws[:, 2]  # goal 0.6–1.6 rad around the base from the puck
        goal_angle = puck_angle + np.sign(turn) * (0.6 + np.abs(turn))
        self.goal[rows] = _polar(reach * draws[:, 3], goal_angle)
        # The arm starts pointing away from the puck, gently bent.
        bend = draws[:, 4 : 4 + n]
        self.q[rows] = bend / max(1, n - 1)
        self.q[rows, 0] = puck_angle + np.pi + bend[:, 0]
        self.qd[rows] = 0.0

    def success(self) -> np.ndarray:
        return self.goal_distance < self.goal_radius

    def task_distance(self) -> np.ndarray:
        """Puck to goal [m]."""
        return self.goal_distance

    def _step_info(self, values: np.ndarray, flags: np.ndarray) -> dict[str, np.ndarray]:
        return {
            "reward_goal": values[1],
            "reward_near": values[2],
            "reward_ctrl": values[3],
            "is_success": flags[0],
            "distance": values[4],
        }

    def _draw_static(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray, rows: Any
    ) -> None:
        batch = len(palette)
        center = np.broadcast_to(offset, (batch, 1, 2))
        half = np.full((batch, 1, 2), self.table_half_size * scale)
        render.draw_rects(canvas, center, half, np.zeros((batch, 1)), palette[:, None, TABLE])
        goal = self.goal[rows][:, None] * np.array([scale, -scale]) + offset
        render.draw_circles(canvas, goal, self.goal_radius * scale, palette[:, None, GOAL])

    def _draw_objects(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray
    ) -> None:
        center = self.puck[:, None, :2] * np.array([scale, -scale]) + offset
        render.draw_circles(canvas, center, self.puck_radius * scale, palette[:, None, PUCK])


class PusherEnv(CoreEnv):
    """Push a puck across a table into a goal region with a planar arm.

    The arm of :class:`~rlsuite.envs.robot.reacher.ReacherEnv` (same rigid-body dynamics, RK4) sits at
    the centre of a square table; a puck slides on the table and a goal region is marked on it. Only
    the fingertip touches the puck (the links pass above it).

    ## Physics (defaults; kwargs and ``params=ArmParams(...)`` override them)
    | quantity | value |
    |---|---|
    | arm | ``n_links`` equal rods, reach 0.2 m, 1 kg/m; 0.05 N·m max torque, 0.005 N·m·s/rad damping |
    | control step ``dt`` | 0.02 s (50 Hz), 2 RK4 substeps of 10 ms (contact solved every substep) |
    | fingertip | circle of ``tip_radius=0.012`` m |
    | puck | disc of ``puck_radius=0.025`` m, ``puck_mass=0.05`` kg, speed ≤ ``max_puck_speed=5`` m/s (0.01–100) |
    | sliding friction | Coulomb, ``puck_friction=0.4`` (deceleration μ·9.81 m/s², never reverses the puck) |
    | table | square, ``table_half_size=0.3`` m (≤ 10), rims with ``wall_restitution=0.5`` (out of the arm's reach) |
    | goal | circle of ``goal_radius=0.03`` m |

    **Contact** (fingertip–puck, circle–circle) is an impulse model, solved at the start of every
    substep: speculative, frictionless and perfectly inelastic. When the relative normal velocity
    would close the gap within the substep, an impulse ``λ ≥ 0`` along the centre line makes the
    closing speed exactly ``gap / h``, using the arm's effective mass at the fingertip
    ``1 / (nᵀ J M⁻¹ Jᵀ n)`` and the puck's mass, so momentum passes both ways (the arm feels the
    puck). Any residual overlap after the substep (the torque acts after the solve) is removed by
    moving the puck out along the normal. The puck cannot tunnel through the fingertip at any speed
    (tested at the joint speed limit).

    ## Action space
    As Reacher: ``Box(-1, 1, (n_links,), float32)`` normalised torques, or with
    ``action_type="discrete"`` ``Discrete(3**n_links)`` per-joint {−1, 0, +1} torques.

    ## Observation space
    ``obs_type="state"``: ``Box(float32, (3 n + 8,))``

    | index | observation | unit | bounds |
    |---|---|---|---|
    | 0 … n−1 | cos of joint angles | – | ±1 |
    | n … 2n−1 | sin of joint angles | – | ±1 |
    | 2n … 3n−1 | joint rates | rad/s | ±20 |
    | 3n, 3n+1 | puck − fingertip | m | ±(half size + reach) |
    | 3n+2, 3n+3 | goal − puck | m | ±2 half size |
    | 3n+4, 3n+5 | puck position (base frame) | m | ±half size |
    | 3n+6, 3n+7 | puck velocity | m/s | ±max puck speed |

    ``obs_type="pixels"``: ``Box(0, 255, (H, W, C), uint8)`` top-down view of table, goal, puck and
    arm (0.64 m across), ``pixel_shape=84``, ``grayscale=False`` as for Reacher.

    ## Reward
    ``reward_goal + reward_near + reward_ctrl``: ``−goal_weight·|puck − goal|`` (1.0),
    ``−near_weight·|fingertip − puck|`` (0.5) [m], ``−control_weight·Σ action²`` (0.1), weights in
    [0, 1e6]; each is in ``info``, with ``is_success`` = the puck's centre lies in the goal circle.

    ## Starting state
    Puck at 0.45–0.85 of the reach from the base, uniform in angle; goal at 0.45–0.85 of the reach,
    0.6–1.6 rad around the base from the puck (either way); the arm at rest, pointing away from the
    puck (first joint opposite it ±0.5 rad, the others bent by ±0.5 rad in total).

    ## Episode end
    Never terminates (the puck cannot leave the table), unless ``terminate_on_success=True``: then
    the step that brings the puck into the goal terminates. Truncated after 200 steps (4 s) by the
    registration's ``max_episode_steps``.

    ## Arguments
    (Declared once, with their bounds, in :class:`PusherConfig`.)
    ``n_links``, ``action_type``, ``obs_type``, ``pixel_shape``, ``grayscale``, ``color_jitter``,
    ``width_jitter``, ``terminate_on_success``, ``render_mode``, ``render_size``, ``params`` as for
    Reacher; the weights and physical quantities named above.

    ## Info
    ``reward_goal``, ``reward_near``, ``reward_ctrl`` (float), ``is_success`` (bool: the puck's
    centre is in the goal circle) and ``distance`` [m] (float: puck centre to goal centre) after a
    step; after a reset the same keys, types and shapes, with the reward terms 0 and ``is_success``
    and ``distance`` of the start state.

    ## Task metrics
    Per episode (:attr:`~rlsuite.envs.core.BatchCore.task_metrics`, reported by every evaluation as
    ``eval/<name>``): ``success_rate`` (``is_success`` at the episode's last step) and
    ``final_distance`` [m] (``distance`` at its last step).

    ## Version history
    - v0: first version.
    """

    core_class = PusherCore


class PusherVectorEnv(CoreVectorEnv):
    """Native vector version of :class:`PusherEnv` with the semantics of Gymnasium's
    ``SyncVectorEnv`` over it (:mod:`rlsuite.envs.core`)."""

    core_class = PusherCore


__all__ = ["PusherConfig", "PusherCore", "PusherEnv", "PusherVectorEnv"]
