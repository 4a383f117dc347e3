"""Planar n-link arm dynamics: parameters, the batched numpy reference, and the numba kernels.

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

The batched env core that Reacher and Pusher share is :mod:`rlsuite.envs.robot.arm`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numba.extending import overload

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
# to the numpy reference above. (The n-link integrator takes its scratch vectors one by one, never
# as rows of one array or as a tuple: numba reference-counts every view, which costs more than the
# dynamics inside its stages. And error_model="numpy" drops the zero-division checks on every "/",
# which made the kernels ~1.6× faster; no divisor can be zero: mass-matrix determinants are
# positive, distances are guarded.)
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


SCRATCH_WORK_ROWS = 15  # work vectors of one row: 0-11 the n-link path, 12-13 contact, 14 torques


def new_scratch(n: int) -> np.ndarray:
    """Scratch of the kernels, one array ``(15 + 2 n, n)``: see :func:`split_scratch`."""
    return np.zeros((SCRATCH_WORK_ROWS + 2 * n, n))


@njit(cache=True, inline="always", error_model="numpy")
def split_scratch(scratch, n):  # pragma: no cover - compiled
    """``(work (15, n), M (n, n), chol (n, n), tau (n,))`` views of :func:`new_scratch`'s array;
    ``tau = work[14]`` holds the row's joint torques [N·m] during a step."""
    work = scratch[:SCRATCH_WORK_ROWS]
    M, chol = scratch[SCRATCH_WORK_ROWS : SCRATCH_WORK_ROWS + n], scratch[SCRATCH_WORK_ROWS + n :]
    return work, M, chol, work[14]


@njit(cache=True, inline="always", error_model="numpy")
def step_arm_row(
    b, q, qd, tau, substeps, consts2, K, inertia, damping, max_speed, h, rk4, general, work, M, chol
):  # pragma: no cover - compiled
    """Advance row ``b`` of ``q``, ``q̇`` (B, n) in place by ``substeps`` substeps of ``h`` [s] under
    the torques ``tau`` (n,) [N·m]: the scalar two-link path, or the general one (``general`` forces it)."""
    n = q.shape[1]
    if n == 2 and not general:
        q0, q1, w0, w1 = q[b, 0], q[b, 1], qd[b, 0], qd[b, 1]
        t0, t1 = tau[0], tau[1]
        for _ in range(substeps):
            q0, q1, w0, w1 = substep2(q0, q1, w0, w1, t0, t1, consts2, h, max_speed, rk4)
        q[b, 0], q[b, 1], qd[b, 0], qd[b, 1] = q0, q1, w0, w1
        return
    q_row, qd_row, tau_row = work[0], work[1], work[2]
    for a in range(n):
        q_row[a], qd_row[a], tau_row[a] = q[b, a], qd[b, a], tau[a]
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
    fingertip positions into ``points[b]`` (``(B, 2 (n + 1))``: x, y of the base, the joints and the
    fingertip); return the fingertip ``(x, y)`` [m]. Absolute link directions come from the
    angle-sum identities, so each joint costs one sin and one cos."""
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
        points[b, 2 * a + 2] = x
        points[b, 2 * a + 3] = y
    return x, y


# --------------------------------------------------------------------------------------------
# What a task kernel takes, packed so that a call has few arguments: numba checks the type of
# every argument on every call (~50-75 ns an array, more for a tuple), which at batch 1 cost more
# than the physics. Constants are one float64 vector (:func:`pack_arm`, then the task's own); the
# per-row float64 state is one (B, columns) array whose column blocks the env exposes as views
# (:func:`arm_columns`); the scratch is one array (:func:`new_scratch`).
# --------------------------------------------------------------------------------------------
ARM_HEADER = 10  # n, substeps, rk4, max_speed, h, then the five two-link constants


def pack_arm(params: ArmParams) -> np.ndarray:
    """The arm's constants as one float64 vector (read back by :func:`unpack_arm`)."""
    K, inertia = params.inertia_constants()
    header = [
        params.n_links,
        params.substeps,
        1.0 if params.integrator == "rk4" else 0.0,
        float(params.max_joint_speed),
        params.dt / params.substeps,
        *two_link_constants(params),
    ]
    parts = [header, K.ravel(), inertia, params.per_joint("joint_damping")]
    parts += [params.per_joint("link_lengths"), params.per_joint("max_torque")]
    return np.concatenate([np.asarray(part, dtype=np.float64) for part in parts])


@njit(cache=True, inline="always", error_model="numpy")
def unpack_arm(packed):  # pragma: no cover - compiled
    """``(n, substeps, rk4, max_speed, h, consts2, K, inertia, damping, lengths, max_torque, end)``
    from :func:`pack_arm`'s vector; ``end`` is the index of the first constant after the arm's."""
    n, substeps, rk4 = int(packed[0]), int(packed[1]), packed[2] != 0.0
    consts2 = (packed[5], packed[6], packed[7], packed[8], packed[9])
    k = ARM_HEADER
    K = packed[k : k + n * n].reshape((n, n))
    k += n * n
    inertia, damping = packed[k : k + n], packed[k + n : k + 2 * n]
    lengths, max_torque = packed[k + 2 * n : k + 3 * n], packed[k + 3 * n : k + 4 * n]
    max_speed, h = packed[3], packed[4]
    return n, substeps, rk4, max_speed, h, consts2, K, inertia, damping, lengths, max_torque, k + 4 * n


@njit(cache=True, inline="always", error_model="numpy")
def arm_columns(n):  # pragma: no cover - compiled (and called from Python)
    """First columns of ``q`` (n), ``q̇`` (n), ``control`` (n), ``points`` (2 (n + 1)) and of the task's
    own state in a row of arm state."""
    return 0, n, 2 * n, 3 * n, 5 * n + 2


@njit(cache=True, inline="always", error_model="numpy")
def arm_rows(rows, n):  # pragma: no cover - compiled
    """Views ``(q, q̇, control, points)`` of the per-row state ``rows`` and the task's first column."""
    q0, qd0, control0, points0, task0 = arm_columns(n)
    return rows[:, q0:qd0], rows[:, qd0:control0], rows[:, control0:points0], rows[:, points0:task0], task0


def control_of(actions, b, a):  # pragma: no cover - only its compiled overloads run
    """Row ``b``'s normalised torque on joint ``a``: ``actions[b, a]`` for a ``Box`` batch (B, n);
    for a ``Discrete`` batch (B,) of indices, digit ``a`` (base 3) of ``actions[b]`` minus one."""
    if actions.ndim == 1:
        return float((actions[b] // 3**a) % 3 - 1)
    return actions[b, a]


@overload(control_of, inline="always")
def _control_of(actions, b, a):  # pragma: no cover - compiled
    if actions.ndim == 1:
        return lambda actions, b, a: float((actions[b] // 3**a) % 3 - 1)
    return lambda actions, b, a: actions[b, a]


@njit(cache=True, error_model="numpy")
def _simulate_kernel(
    q, qd, torque, consts2, K, inertia, damping, max_speed, h, substeps, rk4, general, scratch
):
    work, M, chol, _ = split_scratch(scratch, q.shape[1])
    for b in range(q.shape[0]):
        step_arm_row(
            b,
            q,
            qd,
            torque[b],
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
        new_scratch(params.n_links),
    )


def arm_params_for(n_links: Any, **overrides: Any) -> ArmParams:
    """The default arm with ``n_links`` equal links: 0.2 m reach, 1 kg/m rods (so 2 × 10 cm, 100 g)."""
    if not isinstance(n_links, int | np.integer) or isinstance(n_links, bool) or not 1 <= n_links <= 8:
        raise ValueError(f"n_links must be an integer from 1 to 8, got {n_links!r}")
    length = 0.2 / n_links  # [m]
    return ArmParams(link_lengths=(length,) * n_links, link_masses=1.0 * length, **overrides)
