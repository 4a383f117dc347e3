"""Batched planar n-link arm: rigid-body dynamics, integrators, and the env core Reacher/Pusher share.

**Model.** ``n`` uniform rods joined by revolute joints, the first one fixed at the origin, moving in
the horizontal plane (so no gravity). Link ``a`` has length ``l_a`` [m] and mass ``m_a`` [kg], centre
of mass at ``r_a = l_a / 2`` and inertia ``m_a l_a² / 12`` [kg·m²] about it. Joint angles ``q``
[rad] are relative (``q_a`` is link ``a``'s angle to link ``a-1``); absolute link angles are
``φ = S q`` with ``S`` the lower-triangular matrix of ones.

The kinetic energy is ``T = ½ φ̇ᵀ H(φ) φ̇`` with ``H_ab = K_ab cos(φ_a − φ_b) + δ_ab I_a``, where
``K = Aᵀ diag(m) A`` is constant (``A_ia = l_a`` for ``a < i``, ``r_i`` for ``a = i``, 0 after) and
``I_a = m_a l_a² / 12``. The Euler–Lagrange equations in joint coordinates are

    M(q) q̈ = τ − D q̇ − Sᵀ w(φ, φ̇),     M(q) = Sᵀ H(φ) S,     w_a = Σ_b K_ab sin(φ_a − φ_b) φ̇_b²

with ``τ`` the joint torques [N·m] (clipped to ``±max_torque``), ``D`` the viscous joint damping
[N·m·s/rad] and ``Sᵀ w`` the Coriolis/centrifugal terms. For two links this is the textbook form
``M11 = I1 + I2 + m1 r1² + m2 (l1² + r2² + 2 l1 r2 cos q2)``, ``M12 = I2 + m2 (r2² + l1 r2 cos q2)``,
``M22 = I2 + m2 r2²``, ``c = m2 l1 r2 sin q2 · [−(2 q̇1 q̇2 + q̇2²), q̇1²]`` (tested against it).

**Integration.** Each env step of ``dt`` [s] runs ``substeps`` substeps of ``h = dt / substeps`` with
the torque held constant, by classical RK4 (the default) or semi-implicit Euler (``q̇ ← q̇ + h q̈``,
then ``q ← q + h q̇``; ``integrator="euler"``). RK4 is the default because the Coriolis terms make
semi-implicit Euler gain energy when undamped. Tested tolerance: with zero torque and damping, RK4 at
the default ``h = 10 ms`` keeps the kinetic energy within 1e-4 relative (two links; 5e-3 for three
shorter, faster links) over 2500 steps = 50 s from joint rates up to 3 rad/s. After each substep
the joint speeds are clipped to ``±max_joint_speed`` [rad/s], a motor speed limit that keeps the
observations bounded (the default torque and damping alone give a terminal speed of 10 rad/s).

**Speed.** The per-row arithmetic runs in ``numba.njit(cache=True)`` kernels (one call per env step
for the whole batch: integration, observation and reward), so there is no Python loop over rows,
links or substeps. The numpy functions here (:func:`mass_matrix`, :func:`bias_forces`, …) are the
readable batched reference the kernels are tested against.

The second half of the module is the env plumbing both tasks share: :class:`ArmTask` (the batched
core: state, per-row random streams, actions, pixels), :class:`ArmEnv` (a ``gymnasium.Env`` that is
the core with batch 1) and :class:`ArmVectorEnv` (a native ``gymnasium.vector.VectorEnv``).
"""

from __future__ import annotations

import math
import operator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import gymnasium as gym
import numba
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from numba import njit

from rlsuite.envs import render
from rlsuite.envs.rng import BatchRNG, row_seeds

INTEGRATORS = ("euler", "rk4")


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ArmParams:
    """Physical constants of an n-link planar arm (SI units).

    Scalars apply to every link/joint; tuples give one value per link/joint. The defaults are a
    small desk arm (two 10 cm, 100 g aluminium-tube links) with the scale of MuJoCo's Reacher.
    """

    link_lengths: tuple[float, ...] = (0.1, 0.1)  # [m] per link
    link_masses: tuple[float, ...] | float = 0.1  # [kg] per link (uniform rods)
    joint_damping: tuple[float, ...] | float = 0.005  # [N·m·s/rad] viscous, per joint
    max_torque: tuple[float, ...] | float = 0.05  # [N·m] per joint, at action ±1
    max_joint_speed: float = 20.0  # [rad/s] clip after each substep (motor speed limit)
    dt: float = 0.02  # [s] per env step (50 Hz control)
    substeps: int = 2  # integration substeps per env step (h = 10 ms)
    integrator: str = "rk4"  # "rk4" (classical Runge–Kutta) or "euler" (semi-implicit)

    def __post_init__(self) -> None:
        lengths = np.asarray(self.link_lengths, dtype=np.float64)
        if lengths.ndim != 1 or lengths.size < 1 or not np.all(np.isfinite(lengths) & (lengths > 0)):
            raise ValueError(f"link_lengths must be positive finite lengths [m], got {self.link_lengths!r}")
        n = lengths.size
        for name in ("link_masses", "max_torque"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.ndim > 1 or (values.ndim == 1 and values.size != n):
                raise ValueError(
                    f"{name} must be a number or one per link ({n}), got {getattr(self, name)!r}"
                )
            if not np.all(np.isfinite(values) & (values > 0)):
                raise ValueError(f"{name} must be positive and finite, got {getattr(self, name)!r}")
        damping = np.asarray(self.joint_damping, dtype=np.float64)
        if damping.ndim > 1 or (damping.ndim == 1 and damping.size != n):
            raise ValueError(
                f"joint_damping must be a number or one per joint ({n}), got {self.joint_damping!r}"
            )
        if not np.all(np.isfinite(damping) & (damping >= 0)):
            raise ValueError(f"joint_damping must be finite and >= 0, got {self.joint_damping!r}")
        if not (math.isfinite(self.max_joint_speed) and self.max_joint_speed > 0):
            raise ValueError(
                f"max_joint_speed must be a positive number [rad/s], got {self.max_joint_speed!r}"
            )
        if not (math.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"dt must be a positive number [s], got {self.dt!r}")
        if not (isinstance(self.substeps, int | np.integer) and self.substeps >= 1):
            raise ValueError(f"substeps must be an integer >= 1, got {self.substeps!r}")
        if self.integrator not in INTEGRATORS:
            raise ValueError(f"integrator must be one of {INTEGRATORS}, got {self.integrator!r}")

    @property
    def n_links(self) -> int:
        return len(np.atleast_1d(self.link_lengths))

    @property
    def reach(self) -> float:
        """Distance from the base to the fingertip with the arm straight [m]."""
        return float(np.sum(self.link_lengths))

    def per_joint(self, name: str) -> np.ndarray:
        """``name`` broadcast to one float64 value per link/joint."""
        return np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (self.n_links,)).copy()

    def inertia_constants(self) -> tuple[np.ndarray, np.ndarray]:
        """``K`` (n, n) [kg·m²] and the rods' own inertias ``I`` (n,) [kg·m²] (see the module docstring)."""
        lengths, masses = self.per_joint("link_lengths"), self.per_joint("link_masses")
        n = self.n_links
        lever = np.tril(np.broadcast_to(lengths, (n, n)), k=-1) + np.diag(lengths / 2.0)  # A_ia
        return lever.T @ (masses[:, None] * lever), masses * lengths**2 / 12.0


# --------------------------------------------------------------------------------------------
# Batched numpy reference (readable; tests hold the kernels to it)
# --------------------------------------------------------------------------------------------
def _selector(n: int) -> np.ndarray:
    return np.tril(np.ones((n, n)))  # S: φ = S q


def mass_matrix(q: np.ndarray, params: ArmParams) -> np.ndarray:
    """Joint-space mass matrix ``M(q)`` (B, n, n) [kg·m²] for joint angles ``q`` (B, n) [rad]."""
    K, inertia = params.inertia_constants()
    phi = np.cumsum(q, axis=-1)
    H = K * np.cos(phi[:, :, None] - phi[:, None, :]) + np.diag(inertia)
    S = _selector(params.n_links)
    return np.einsum("aj,iab,bk->ijk", S, H, S)


def bias_forces(q: np.ndarray, qd: np.ndarray, params: ArmParams) -> np.ndarray:
    """Coriolis/centrifugal generalised forces ``Sᵀ w`` (B, n) [N·m] at ``q`` [rad], ``q̇`` [rad/s]."""
    K, _ = params.inertia_constants()
    phi, phid = np.cumsum(q, axis=-1), np.cumsum(qd, axis=-1)
    w = np.einsum("ab,iab,ib->ia", K, np.sin(phi[:, :, None] - phi[:, None, :]), phid**2)
    return np.einsum("aj,ia->ij", _selector(params.n_links), w)


def joint_accelerations(q: np.ndarray, qd: np.ndarray, torque: np.ndarray, params: ArmParams) -> np.ndarray:
    """``q̈`` (B, n) [rad/s²] from the equations of motion, torques [N·m] taken as given (no clip)."""
    rhs = torque - params.per_joint("joint_damping") * qd - bias_forces(q, qd, params)
    return np.linalg.solve(mass_matrix(q, params), rhs[..., None])[..., 0]


def kinetic_energy(q: np.ndarray, qd: np.ndarray, params: ArmParams) -> np.ndarray:
    """``½ q̇ᵀ M(q) q̇`` (B,) [J]."""
    return 0.5 * np.einsum("ij,ijk,ik->i", qd, mass_matrix(q, params), qd)


def joint_positions(q: np.ndarray, params: ArmParams) -> np.ndarray:
    """Base, joints and fingertip (B, n + 1, 2) [m]."""
    phi = np.cumsum(q, axis=-1)
    links = params.per_joint("link_lengths") * np.stack([np.cos(phi), np.sin(phi)], axis=-1).transpose(
        2, 0, 1
    )
    points = np.zeros((q.shape[0], params.n_links + 1, 2))
    points[:, 1:] = np.cumsum(links.transpose(1, 2, 0), axis=1)
    return points


def fingertip_jacobian(q: np.ndarray, params: ArmParams) -> np.ndarray:
    """``∂ fingertip / ∂ q`` (B, 2, n) [m/rad]."""
    phi = np.cumsum(q, axis=-1)
    lengths = params.per_joint("link_lengths")
    columns = lengths * np.stack([-np.sin(phi), np.cos(phi)], axis=1)  # (B, 2, n): link a's own term
    return np.flip(np.cumsum(np.flip(columns, axis=-1), axis=-1), axis=-1)  # Σ over a >= j


# --------------------------------------------------------------------------------------------
# Kernels. Two paths with the same equations: scalar closed form for two links (the default arm;
# no arrays in the inner loop) and a general n-link path on small scratch vectors. Tests hold both
# to the numpy reference above. (Scratch vectors are passed one by one, never as rows of one array
# or as a tuple: numba reference-counts every view, which costs more than the dynamics. And
# error_model="numpy" drops the zero-division checks on every "/", which made the kernels ~1.6×
# faster; no divisor can be zero: mass-matrix determinants are positive, distances are guarded.)
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always", error_model="numpy")
def accel2(q1, w0, w1, t0, t1, consts):  # pragma: no cover - compiled
    """Two links: ``(q̈0, q̈1, M00, M01, M11)`` at elbow angle ``q1``, rates ``w``, torques ``t``.

    ``consts = (K00 + I0 + K11 + I1, K01, K11 + I1, D0, D1)`` (see :func:`two_link_constants`)."""
    base00, k01, m11, d0, d1 = consts
    coupling = k01 * math.cos(q1)
    centrifugal = k01 * math.sin(q1)
    m01 = m11 + coupling
    m00 = base00 + 2.0 * coupling
    rate1 = w0 + w1  # absolute rate of link 1
    f0 = t0 - d0 * w0 - centrifugal * (w0 * w0 - rate1 * rate1)
    f1 = t1 - d1 * w1 - centrifugal * w0 * w0
    inv_det = 1.0 / (m00 * m11 - m01 * m01)
    return (m11 * f0 - m01 * f1) * inv_det, (m00 * f1 - m01 * f0) * inv_det, m00, m01, m11


@njit(cache=True, inline="always", error_model="numpy")
def substep2(q0, q1, w0, w1, t0, t1, consts, h, max_speed, rk4):  # pragma: no cover - compiled
    """Two links: one substep of ``h`` [s]; returns the new ``(q0, q1, w0, w1)``."""
    if not rk4:  # semi-implicit Euler
        a0, a1, _, _, _ = accel2(q1, w0, w1, t0, t1, consts)
        w0 = min(max(w0 + h * a0, -max_speed), max_speed)
        w1 = min(max(w1 + h * a1, -max_speed), max_speed)
        return q0 + h * w0, q1 + h * w1, w0, w1
    a0, a1, _, _, _ = accel2(q1, w0, w1, t0, t1, consts)  # k1
    b0, b1, _, _, _ = accel2(q1 + 0.5 * h * w1, w0 + 0.5 * h * a0, w1 + 0.5 * h * a1, t0, t1, consts)
    v0, v1 = w0 + 0.5 * h * a0, w1 + 0.5 * h * a1  # k2 rates
    c0, c1, _, _, _ = accel2(q1 + 0.5 * h * v1, w0 + 0.5 * h * b0, w1 + 0.5 * h * b1, t0, t1, consts)
    u0, u1 = w0 + 0.5 * h * b0, w1 + 0.5 * h * b1  # k3 rates
    d0, d1, _, _, _ = accel2(q1 + h * u1, w0 + h * c0, w1 + h * c1, t0, t1, consts)
    x0, x1 = w0 + h * c0, w1 + h * c1  # k4 rates
    q0 = q0 + h / 6.0 * (w0 + 2.0 * v0 + 2.0 * u0 + x0)
    q1 = q1 + h / 6.0 * (w1 + 2.0 * v1 + 2.0 * u1 + x1)
    w0 = min(max(w0 + h / 6.0 * (a0 + 2.0 * b0 + 2.0 * c0 + d0), -max_speed), max_speed)
    w1 = min(max(w1 + h / 6.0 * (a1 + 2.0 * b1 + 2.0 * c1 + d1), -max_speed), max_speed)
    return q0, q1, w0, w1


@njit(cache=True, inline="always", error_model="numpy")
def arm_terms(q, qd, tau, K, inertia, damping, M, rhs, cphi, sphi, rates):  # pragma: no cover - compiled
    """General n: fill ``M`` (n, n), ``rhs = τ − D q̇ − Sᵀ w`` (n,), and ``cos φ``, ``sin φ``, ``φ̇``."""
    n = q.shape[0]
    angle = 0.0
    rate = 0.0
    for a in range(n):
        angle += q[a]
        rate += qd[a]
        cphi[a] = math.cos(angle)
        sphi[a] = math.sin(angle)
        rates[a] = rate
    for a in range(n):
        w = 0.0
        row_sum = 0.0
        for b in range(n - 1, -1, -1):
            h_ab = K[a, b] * (cphi[a] * cphi[b] + sphi[a] * sphi[b])  # K_ab cos(φa − φb)
            if a == b:
                h_ab += inertia[a]
            row_sum += h_ab
            M[a, b] = row_sum  # Σ_{b' >= b} H_ab'
            w += K[a, b] * (sphi[a] * cphi[b] - cphi[a] * sphi[b]) * rates[b] * rates[b]
        rhs[a] = w
    for a in range(n - 2, -1, -1):  # Σ_{a' >= a}: M = Sᵀ H S, bias = Sᵀ w
        for b in range(n):
            M[a, b] += M[a + 1, b]
        rhs[a] += rhs[a + 1]
    for a in range(n):
        rhs[a] = tau[a] - damping[a] * qd[a] - rhs[a]


@njit(cache=True, inline="always", error_model="numpy")
def solve_spd(M, rhs, out, chol):  # pragma: no cover - compiled
    """``out = M⁻¹ rhs`` for symmetric positive-definite ``M`` (n, n), by Cholesky (``chol``: scratch)."""
    n = M.shape[0]
    for i in range(n):
        for j in range(i + 1):
            total = M[i, j]
            for k in range(j):
                total -= chol[i, k] * chol[j, k]
            chol[i, j] = math.sqrt(total) if i == j else total / chol[j, j]
    for i in range(n):  # L y = rhs
        total = rhs[i]
        for k in range(i):
            total -= chol[i, k] * out[k]
        out[i] = total / chol[i, i]
    for i in range(n - 1, -1, -1):  # Lᵀ x = y
        total = out[i]
        for k in range(i + 1, n):
            total -= chol[k, i] * out[k]
        out[i] = total / chol[i, i]


@njit(cache=True, inline="always", error_model="numpy")
def _accel(q, qd, tau, K, inertia, damping, M, chol, rhs, cphi, sphi, rates, acc):  # pragma: no cover
    arm_terms(q, qd, tau, K, inertia, damping, M, rhs, cphi, sphi, rates)
    solve_spd(M, rhs, acc, chol)


@njit(cache=True, inline="always", error_model="numpy")
def substep_n(
    q, qd, tau, K, inertia, damping, max_speed, h, rk4, M, chol, rhs, cphi, sphi, rates, acc, qs, qds, dq, dqd
):  # pragma: no cover - compiled
    """General n: advance ``q``, ``q̇`` (n,) in place by ``h`` [s]; the rest are scratch."""
    n = q.shape[0]
    if not rk4:  # semi-implicit Euler
        _accel(q, qd, tau, K, inertia, damping, M, chol, rhs, cphi, sphi, rates, acc)
        for a in range(n):
            qd[a] = min(max(qd[a] + h * acc[a], -max_speed), max_speed)
            q[a] += h * qd[a]
        return
    for a in range(n):
        qs[a], qds[a], dq[a], dqd[a] = q[a], qd[a], 0.0, 0.0
    for stage in range(4):
        _accel(qs, qds, tau, K, inertia, damping, M, chol, rhs, cphi, sphi, rates, acc)
        weight = 1.0 if stage == 0 or stage == 3 else 2.0
        scale = 0.5 * h if stage < 2 else h
        for a in range(n):
            dq[a] += weight * qds[a]
            dqd[a] += weight * acc[a]
            if stage < 3:
                qs[a] = q[a] + scale * qds[a]
                qds[a] = qd[a] + scale * acc[a]
    for a in range(n):
        q[a] += h / 6.0 * dq[a]
        qd[a] = min(max(qd[a] + h / 6.0 * dqd[a], -max_speed), max_speed)


@njit(cache=True, error_model="numpy")
def new_scratch(n):  # pragma: no cover - compiled
    """Scratch for :func:`step_arm_row`: ``(work (14, n), M (n, n), chol (n, n))``."""
    return np.zeros((14, n)), np.zeros((n, n)), np.zeros((n, n))


@njit(cache=True, inline="always", error_model="numpy")
def step_arm_row(
    b, q, qd, torque, substeps, consts2, K, inertia, damping, max_speed, h, rk4, general, work, M, chol
):  # pragma: no cover - compiled
    """Advance row ``b`` of ``q``, ``q̇`` (B, n) in place by ``substeps`` substeps of ``h`` [s] under
    ``torque[b]`` [N·m]: the scalar two-link path, or the general one (``general`` forces it)."""
    n = q.shape[1]
    if n == 2 and not general:
        q0, q1, w0, w1 = q[b, 0], q[b, 1], qd[b, 0], qd[b, 1]
        for _ in range(substeps):
            q0, q1, w0, w1 = substep2(q0, q1, w0, w1, torque[b, 0], torque[b, 1], consts2, h, max_speed, rk4)
        q[b, 0], q[b, 1], qd[b, 0], qd[b, 1] = q0, q1, w0, w1
        return
    q_row, qd_row, tau_row = work[0], work[1], work[2]
    for a in range(n):
        q_row[a], qd_row[a], tau_row[a] = q[b, a], qd[b, a], torque[b, a]
    for _ in range(substeps):
        substep_n(
            q_row,
            qd_row,
            tau_row,
            K,
            inertia,
            damping,
            max_speed,
            h,
            rk4,
            M,
            chol,
            work[3],
            work[4],
            work[5],
            work[6],
            work[7],
            work[8],
            work[9],
            work[10],
            work[11],
        )
    for a in range(n):
        q[b, a], qd[b, a] = q_row[a], qd_row[a]


@njit(cache=True, inline="always", error_model="numpy")
def observe_arm_row(b, q, qd, lengths, state_obs, points):  # pragma: no cover - compiled
    """Write row ``b``'s ``cos q``, ``sin q``, ``q̇`` into ``state_obs[b, :3n]`` and its joint and
    fingertip positions into ``points[b]``; return the fingertip ``(x, y)`` [m]. Absolute link
    directions come from the angle-sum identities, so each joint costs one sin and one cos."""
    n = q.shape[1]
    c_abs, s_abs, x, y = 1.0, 0.0, 0.0, 0.0
    for a in range(n):
        c, s = math.cos(q[b, a]), math.sin(q[b, a])
        state_obs[b, a] = c
        state_obs[b, n + a] = s
        state_obs[b, 2 * n + a] = qd[b, a]
        c_abs, s_abs = c_abs * c - s_abs * s, s_abs * c + c_abs * s  # direction of link a
        x += lengths[a] * c_abs
        y += lengths[a] * s_abs
        points[b, a + 1, 0] = x
        points[b, a + 1, 1] = y
    return x, y


@njit(cache=True, error_model="numpy")
def _simulate_kernel(q, qd, torque, consts2, K, inertia, damping, max_speed, h, substeps, rk4, general):
    work, M, chol = new_scratch(q.shape[1])
    for b in range(q.shape[0]):
        step_arm_row(
            b,
            q,
            qd,
            torque,
            substeps,
            consts2,
            K,
            inertia,
            damping,
            max_speed,
            h,
            rk4,
            general,
            work,
            M,
            chol,
        )


@njit(cache=True, error_model="numpy")
def _accel_kernel(q, qd, torque, consts2, K, inertia, damping, general):  # pragma: no cover - compiled
    batch, n = q.shape
    out = np.empty((batch, n))
    M, chol = np.empty((n, n)), np.zeros((n, n))
    rhs, cphi, sphi, rates = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for b in range(batch):
        if n == 2 and not general:
            a0, a1, _, _, _ = accel2(q[b, 1], qd[b, 0], qd[b, 1], torque[b, 0], torque[b, 1], consts2)
            out[b, 0], out[b, 1] = a0, a1
        else:
            _accel(q[b], qd[b], torque[b], K, inertia, damping, M, chol, rhs, cphi, sphi, rates, out[b])
    return out


def two_link_constants(params: ArmParams) -> tuple[float, float, float, float, float]:
    """``(K00 + I0 + K11 + I1, K01, K11 + I1, D0, D1)`` for :func:`accel2` (two-link arms only)."""
    K, inertia = params.inertia_constants()
    damping = params.per_joint("joint_damping")
    if params.n_links != 2:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    return (
        float(K[0, 0] + inertia[0] + K[1, 1] + inertia[1]),
        float(K[0, 1]),
        float(K[1, 1] + inertia[1]),
        float(damping[0]),
        float(damping[1]),
    )


def kernel_accelerations(
    q: np.ndarray, qd: np.ndarray, torque: np.ndarray, params: ArmParams, general: bool = False
) -> np.ndarray:
    """``q̈`` (B, n) from the compiled kernels (``general=True`` forces the n-link path for two links)."""
    K, inertia = params.inertia_constants()
    return _accel_kernel(
        np.ascontiguousarray(q, dtype=np.float64),
        np.ascontiguousarray(qd, dtype=np.float64),
        np.ascontiguousarray(torque, dtype=np.float64),
        two_link_constants(params),
        K,
        inertia,
        params.per_joint("joint_damping"),
        general,
    )


def simulate(
    q: np.ndarray,
    qd: np.ndarray,
    torque: np.ndarray,
    params: ArmParams,
    steps: int = 1,
    general: bool = False,
) -> None:
    """Advance ``q``, ``q̇`` (B, n) in place by ``steps`` env steps of ``params.dt`` under constant
    ``torque`` (B, n) [N·m, clipped to ±max_torque] with the integrator the envs use.
    ``general=True`` forces the n-link path for a two-link arm (tests compare the two)."""
    K, inertia = params.inertia_constants()
    limit = params.per_joint("max_torque")
    torque = np.clip(np.asarray(torque, dtype=np.float64), -limit, limit)
    _simulate_kernel(
        q,
        qd,
        torque,
        two_link_constants(params),
        K,
        inertia,
        params.per_joint("joint_damping"),
        float(params.max_joint_speed),
        params.dt / params.substeps,
        int(params.substeps) * int(steps),
        params.integrator == "rk4",
        general,
    )


# --------------------------------------------------------------------------------------------
# Env plumbing shared by Reacher and Pusher: one batched core behind the single and vector envs
# --------------------------------------------------------------------------------------------
OBS_TYPES = ("state", "pixels")
ACTION_TYPES = ("continuous", "discrete")
MAX_DISCRETE_LINKS = 6  # 3**6 = 729 discrete actions

# Palette slots (RGB); visual randomisation jitters each one per episode.
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
COLOR_JITTER = 60  # [0-255 units] ± per channel with randomize_colors
LINK_WIDTH_RANGE = (0.5, 1.6)  # link radius scale with randomize_link_width
LUMA = np.array([0.299, 0.587, 0.114])


def _discrete_torques(n_links: int) -> np.ndarray:
    """(3**n, n) normalised torques: digit ``j`` (base 3, joint 0 least significant) minus one."""
    index = np.arange(3**n_links)[:, None]
    return ((index // 3 ** np.arange(n_links)) % 3 - 1).astype(np.float64)


def _image_shape(pixel_shape: Any, name: str = "pixel_shape") -> tuple[int, int]:
    size = (pixel_shape, pixel_shape) if isinstance(pixel_shape, int | np.integer) else pixel_shape
    try:
        height, width = (operator.index(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or (height, width) of ints, got {pixel_shape!r}") from None
    if not (8 <= height <= 1024 and 8 <= width <= 1024):
        raise ValueError(f"{name} must be between 8 and 1024 pixels, got {pixel_shape!r}")
    return height, width


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _check_bool(name: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _check_positive(name: str, value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return value


def _check_non_negative(name: str, value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return value


def arm_params_for(n_links: Any, **overrides: Any) -> ArmParams:
    """The default arm with ``n_links`` equal links: 0.2 m reach, 1 kg/m rods (so 2 × 10 cm, 100 g)."""
    if not isinstance(n_links, int | np.integer) or isinstance(n_links, bool) or not 1 <= n_links <= 8:
        raise ValueError(f"n_links must be an integer from 1 to 8, got {n_links!r}")
    length = 0.2 / n_links  # [m]
    return ArmParams(link_lengths=(length,) * n_links, link_masses=1.0 * length, **overrides)


@contextmanager
def _serial_numba():
    """Run the (``parallel=True``) render kernels on this thread only: on our shared 2-core machines
    a busy second core made them ~500× slower (16 ms instead of 27 µs for 256 circles)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


class ArmTask:
    """Batched core of an arm task: ``batch`` rows of state, per-row random streams, actions, pixels.

    Subclasses define the task: ``_state_bounds()``, ``_sample_start(rows)`` (draws from
    ``self.rng`` only), ``_physics_step(torque)`` (integrate, then fill ``self.state_obs``,
    ``self.points`` and ``self.reward_terms``), ``_observe()`` (refresh observations and points after
    a reset), ``success()``, and what to draw: ``_draw_static`` (fixed within an episode, cached per
    row for pixel observations) and ``_draw_objects`` (moving, below the arm).
    """

    view_half_width: ClassVar[float] = 0.22  # [m] half the side of the square the camera sees
    reward_keys: ClassVar[tuple[str, ...]] = ()
    tip_radius: float = 0.012  # [m] drawn fingertip (Pusher: also its contact radius)

    def __init__(
        self,
        batch: int,
        *,
        n_links: int = 2,
        action_type: str = "continuous",
        obs_type: str = "state",
        pixel_shape: int | tuple[int, int] = (84, 84),
        grayscale: bool = False,
        randomize_colors: bool = False,
        randomize_link_width: bool = False,
        render_size: int | tuple[int, int] = 256,
        params: ArmParams | None = None,
    ) -> None:
        _check_choice("action_type", action_type, ACTION_TYPES)
        _check_choice("obs_type", obs_type, OBS_TYPES)
        for name, flag in (
            ("grayscale", grayscale),
            ("randomize_colors", randomize_colors),
            ("randomize_link_width", randomize_link_width),
        ):
            _check_bool(name, flag)
        if params is None:
            params = self.default_params(n_links)
        elif not isinstance(params, ArmParams):
            raise ValueError(f"params must be an ArmParams, got {type(params).__name__}")
        n = params.n_links
        if action_type == "discrete" and n > MAX_DISCRETE_LINKS:
            raise ValueError(
                f"action_type='discrete' needs n_links <= {MAX_DISCRETE_LINKS} (3**n actions), got {n}"
            )
        self.batch, self.params, self.n_links = int(batch), params, n
        self.action_type, self.obs_type = action_type, obs_type
        self.image_shape = _image_shape(pixel_shape)
        self.render_shape = _image_shape(render_size, "render_size")
        self.channels = 1 if grayscale else 3
        self.randomize_colors, self.randomize_link_width = bool(randomize_colors), bool(randomize_link_width)

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
        self.rng = BatchRNG(B)
        self.seeded = np.zeros(B, dtype=bool)
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
        self._never_done = np.zeros(B, dtype=bool)
        self._warm_up()

    # -- task hooks -----------------------------------------------------------------------------
    @classmethod
    def default_params(cls, n_links: int) -> ArmParams:
        return arm_params_for(n_links)

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _sample_start(self, rows: np.ndarray) -> None:
        raise NotImplementedError

    def _physics_step(self, torque: np.ndarray) -> None:
        raise NotImplementedError

    def _observe(self) -> None:
        raise NotImplementedError

    def success(self) -> np.ndarray:
        """(B,) bool: the task is solved in this state."""
        raise NotImplementedError

    def terminated(self) -> np.ndarray:
        """(B,) bool: the episode ended in a terminal state (neither task has one)."""
        return self._never_done

    # -- shared machinery ------------------------------------------------------------------------
    def _warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel now, so the first real step is fast."""
        rows = np.arange(self.batch)
        self.rng.seed(rows, np.zeros(self.batch, dtype=np.uint64))
        self.reset_rows(rows, None)
        self.step(np.zeros((self.batch, self.n_links)))
        if self.obs_type == "pixels":
            self.pixels()
        self.seeded[:] = False

    def reset_rows(self, rows: np.ndarray, seeds: np.ndarray | None) -> None:
        """Start new episodes in ``rows`` (seeding their streams first when ``seeds`` is given)."""
        if seeds is not None:
            self.rng.seed(rows, seeds)
            self.seeded[rows] = True
        self._sample_start(rows)
        # Visual randomisation is drawn every episode whether or not it is on, so switching it on
        # changes the pictures only, never the physics or the start states.
        jitter = self.rng.uniform(rows, -COLOR_JITTER, COLOR_JITTER, (len(DEFAULT_PALETTE), 3))
        width = self.rng.uniform(rows, *LINK_WIDTH_RANGE)
        if self.randomize_colors:
            self.palette[rows] = np.clip(np.rint(DEFAULT_PALETTE + jitter), 0, 255).astype(np.uint8)
        if self.randomize_link_width:
            self.link_scale[rows] = width
        if self.channels == 1:
            self.obs_palette[rows] = np.rint(self.palette[rows] @ LUMA).astype(np.uint8)[..., None]
        else:
            self.obs_palette[rows] = self.palette[rows]
        self.control[rows] = 0.0
        self._observe()
        if self.obs_type == "pixels":
            self._refresh_background(rows)

    def step(self, control: np.ndarray) -> None:
        """Advance every row by ``dt`` under normalised torques ``control`` (B, n) in [-1, 1]."""
        self.control[...] = control
        self._physics_step(control * self.max_torque)

    def controls_from_actions(self, actions: Any) -> np.ndarray:
        """Validate a batch of actions ((B, n) floats or (B,) ints) → normalised torques (B, n)."""
        if self.action_type == "discrete":
            n_actions = len(self.discrete_torques)
            try:
                index = np.asarray(actions)
            except ValueError:  # ragged nested sequences
                index = np.zeros(0)
            if index.shape != (self.batch,) or not np.issubdtype(index.dtype, np.integer):
                raise ValueError(
                    f"actions must be {self.batch} integers in [0, {n_actions}); got {actions!r}"
                )
            if index.min() < 0 or index.max() >= n_actions:
                raise ValueError(f"actions must be integers in [0, {n_actions}), got {actions!r}")
            return self.discrete_torques[index]
        try:
            control = np.asarray(actions, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"actions must be numbers in [-1, 1], got {actions!r}") from None
        if control.shape != (self.batch, self.n_links):
            raise ValueError(
                f"actions must have shape ({self.batch}, {self.n_links}) (normalised joint torques), "
                f"got shape {control.shape}"
            )
        if not np.abs(control).max() <= 1.0 + 1e-6:  # also catches NaN
            raise ValueError(f"actions must be finite and in [-1, 1], got {actions!r}")
        return np.clip(control, -1.0, 1.0)

    def control_from_action(self, action: Any) -> np.ndarray:
        """Validate one action (single env) → normalised torques (1, n)."""
        if self.action_type == "discrete":
            n_actions = len(self.discrete_torques)
            try:
                index = operator.index(action)
            except TypeError:
                raise ValueError(f"action must be an integer in [0, {n_actions}), got {action!r}") from None
            if not 0 <= index < n_actions:
                raise ValueError(f"action must be an integer in [0, {n_actions}), got {action!r}")
            return self.discrete_torques[index : index + 1]
        try:
            control = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"action must be {self.n_links} numbers in [-1, 1], got {action!r}") from None
        if control.shape != (self.n_links,):
            raise ValueError(
                f"action must have shape ({self.n_links},) (normalised joint torques), got shape {control.shape}"
            )
        if not np.abs(control).max() <= 1.0 + 1e-6:  # also catches NaN
            raise ValueError(f"action must be finite and in [-1, 1], got {action!r}")
        return np.clip(control, -1.0, 1.0)[None]

    def observation(self) -> np.ndarray:
        """A fresh array of the batch's observations: (B, obs_dim) float32 or (B, H, W, C) uint8."""
        return self.state_obs.copy() if self.obs_type == "state" else self.pixels()

    def pixels(self, shape: tuple[int, int] | None = None, rgb: bool = False) -> np.ndarray:
        """Top-down images of every row: the observation (B, H, W, C), or ``shape`` RGB frames.

        The observation reuses a per-row background (floor, table, target/goal: fixed within an
        episode) drawn at reset, so a step copies it and draws only what moves."""
        with _serial_numba():
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
        with _serial_numba():
            self._draw_static(canvas, palette, *self._obs_transform, rows)
        self._background[rows] = canvas

    def _draw_moving(self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray) -> None:
        self._draw_objects(canvas, palette, scale, offset)
        points = self.points * np.array([scale, -scale]) + offset  # y up in the world, down in pixels
        link_radius = self.link_radius * scale * self.link_scale[:, None]
        render.draw_capsules(canvas, points[:, :-1], points[:, 1:], link_radius, palette[:, None, ARM])
        render.draw_circles(canvas, points[:, :-1], 1.1 * link_radius, palette[:, None, JOINT])
        render.draw_circles(canvas, points[:, -1:], self.tip_radius * scale, palette[:, None, TIP])

    def _draw_static(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray, rows: Any
    ) -> None:
        """Draw what stays put during an episode (table, target/goal) for ``rows``."""
        raise NotImplementedError

    def _draw_objects(
        self, canvas: np.ndarray, palette: np.ndarray, scale: float, offset: np.ndarray
    ) -> None:
        """Draw moving task objects below the arm (every row)."""

    def row_info(self) -> dict[str, np.ndarray]:
        """Per-row info arrays: reward components and ``is_success``."""
        info = {key: self.reward_terms[k] for k, key in enumerate(self.reward_keys)}
        info["is_success"] = self.success()
        return info


class _HumanWindow:
    """A pygame window for ``render_mode="human"`` (created on first use)."""

    def __init__(self, title: str) -> None:
        try:
            import pygame  # noqa: F401
        except ImportError:
            raise gym.error.DependencyNotInstalled(
                'render_mode="human" needs pygame: run `pip install pygame` (or use render_mode="rgb_array")'
            ) from None
        self.title, self.screen, self.clock = title, None, None

    def show(self, frame: np.ndarray, fps: int) -> None:
        import pygame

        if self.screen is None:
            pygame.init()
            pygame.display.set_caption(self.title)
            self.screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
            self.clock = pygame.time.Clock()
        pygame.event.pump()
        self.screen.blit(pygame.surfarray.make_surface(frame.transpose(1, 0, 2)), (0, 0))
        pygame.display.flip()
        self.clock.tick(fps)

    def close(self) -> None:
        if self.screen is not None:
            import pygame

            pygame.display.quit()
            self.screen = None


def _check_render_mode(render_mode: Any, allowed: list[str]) -> None:
    if render_mode is not None and render_mode not in allowed:
        raise ValueError(f"render_mode must be None or one of {allowed}, got {render_mode!r}")


class ArmEnv(gym.Env):
    """Single env: the batched :class:`ArmTask` with batch 1 (subclasses set ``task_class``).

    Constructed directly it never truncates; ``gymnasium.make`` adds the registered time limit.
    """

    task_class: ClassVar[type[ArmTask]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "human"], "render_fps": 50}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        _check_render_mode(render_mode, self.metadata["render_modes"])
        self.render_mode = render_mode
        self.task = self.task_class(1, **kwargs)
        self.observation_space = self.task.single_observation_space
        self.action_space = self.task.single_action_space
        self._window = _HumanWindow(type(self).__name__) if render_mode == "human" else None
        self._rows = np.zeros(1, dtype=np.intp)
        self._state = self.task.obs_type == "state"

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        task = self.task
        if seed is not None or not task.seeded[0]:  # the same row seed as sub-env 0 of vec.reset(seed)
            task.reset_rows(self._rows, row_seeds(seed, 1, self.np_random))
        else:
            task.reset_rows(self._rows, None)  # continue this row's own stream
        if self.render_mode == "human":
            self.render()
        obs = task.state_obs[0].copy() if self._state else task.pixels()[0]
        return obs, {"is_success": bool(task.success()[0])}

    def step(self, action: Any):
        task = self.task
        task.step(task.control_from_action(action))
        obs = task.state_obs[0].copy() if self._state else task.pixels()[0]
        terms = task.reward_terms[:, 0]
        info = {key: float(terms[k]) for k, key in enumerate(task.reward_keys)}
        info["is_success"] = bool(task.success()[0])
        if self.render_mode == "human":
            self.render()
        return obs, float(terms.sum()), bool(task.terminated()[0]), False, info

    def render(self) -> np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        frame = self.task.pixels(self.task.render_shape, rgb=True)[0]
        if self.render_mode == "human":
            self._window.show(frame, self.metadata["render_fps"])
            return None
        return frame

    def close(self) -> None:
        if getattr(self, "_window", None) is not None:  # also when __init__ failed early
            self._window.close()


class ArmVectorEnv(gym.vector.VectorEnv):
    """Native vector env over the batched :class:`ArmTask` (NEXT_STEP autoreset, partial resets)."""

    task_class: ClassVar[type[ArmTask]]
    default_max_episode_steps: ClassVar[int | None] = None
    metadata: ClassVar[dict[str, Any]] = {
        "autoreset_mode": AutoresetMode.NEXT_STEP,
        "render_modes": ["rgb_array", "human"],
        "render_fps": 50,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = -1,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(num_envs, int | np.integer) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        if max_episode_steps == -1:
            max_episode_steps = self.default_max_episode_steps
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, int | np.integer) or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps must be a positive integer or None, got {max_episode_steps!r}"
            )
        _check_render_mode(render_mode, self.metadata["render_modes"])
        self.num_envs = int(num_envs)
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.task = self.task_class(self.num_envs, **kwargs)
        self.single_observation_space = self.task.single_observation_space
        self.single_action_space = self.task.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._window = _HumanWindow(type(self).__name__) if render_mode == "human" else None
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        self._all_rows = np.arange(self.num_envs)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},)")
            rows = np.flatnonzero(mask)
            if seed is not None:  # row i as a single env reset with seed + i
                self.task.reset_rows(rows, row_seeds(seed, self.num_envs, self.np_random)[rows])
            else:  # continue each row's own stream (rows never seeded get one from np_random)
                continuing, fresh = rows[self.task.seeded[rows]], rows[~self.task.seeded[rows]]
                self.task.reset_rows(continuing, None)
                if len(fresh):
                    self.task.reset_rows(fresh, row_seeds(None, len(fresh), self.np_random))
        else:
            rows = self._all_rows
            self.task.reset_rows(rows, row_seeds(seed, self.num_envs, self.np_random))
        self._elapsed[rows] = 0
        self._needs_reset[rows] = False
        if self.render_mode == "human":
            self.render()
        reset_rows = np.zeros(self.num_envs, dtype=bool)
        reset_rows[rows] = True
        return self.task.observation(), {
            "is_success": self.task.success() & reset_rows,
            "_is_success": reset_rows,
        }

    def step(self, actions: Any):
        task = self.task
        task.step(task.controls_from_actions(actions))
        rewards = task.reward_terms.sum(axis=0)
        terminated = task.terminated().copy()
        self._elapsed += 1
        truncated = (
            self._elapsed >= self.max_episode_steps
            if self.max_episode_steps is not None
            else np.zeros(self.num_envs, dtype=bool)
        )
        resetting = self._needs_reset
        if resetting.any():  # NEXT_STEP autoreset: these rows start over; their actions were ignored
            rows = np.flatnonzero(resetting)
            task.reset_rows(rows, None)
            self._elapsed[rows] = 0
            rewards[rows] = 0.0
            terminated[rows] = False
            truncated[rows] = False
        infos = self._infos(~resetting)
        self._needs_reset = terminated | truncated
        if self.render_mode == "human":
            self.render()
        return self.task.observation(), rewards, terminated, truncated, infos

    def _infos(self, valid: np.ndarray) -> dict[str, np.ndarray]:
        infos: dict[str, np.ndarray] = {}
        for key, value in self.task.row_info().items():
            infos[key] = np.where(valid, value, np.zeros_like(value))
            infos["_" + key] = valid.copy()
        return infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' or 'human'")
            return None
        frames = self.task.pixels(self.task.render_shape, rgb=True)
        if self.render_mode == "human":
            columns = math.ceil(math.sqrt(min(self.num_envs, 16)))
            tiles = frames[: columns * columns]
            tiles = np.concatenate(
                [tiles, np.zeros((columns * columns - len(tiles), *tiles.shape[1:]), np.uint8)]
            )
            height, width = tiles.shape[1:3]
            grid = tiles.reshape(columns, columns, height, width, 3).transpose(0, 2, 1, 3, 4)
            self._window.show(grid.reshape(columns * height, columns * width, 3), self.metadata["render_fps"])
            return None
        return tuple(frames)

    def close_extras(self, **kwargs: Any) -> None:
        if getattr(self, "_window", None) is not None:  # also when __init__ failed early
            self._window.close()
