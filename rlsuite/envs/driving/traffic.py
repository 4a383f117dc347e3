"""Batched highway traffic: IDM car following and MOBIL lane changes over ``(B, V)`` vehicle arrays.

Every function here works on a batch of ``B`` independent roads with ``V`` vehicles each, vehicles
along the last axis. Positions are road coordinates: ``x`` [m] along the road (driving direction),
lanes numbered ``0 .. lanes_count - 1`` from left to right.

* **IDM** — Intelligent Driver Model (Treiber, Hennecke & Helbing, "Congested traffic states in
  empirical observations and microscopic simulations", Phys. Rev. E 62, 2000):

      a = a_max * (1 - (v / v0)^delta - (s* / s)^2),   s* = s0 + max(0, v T + v dv / (2 sqrt(a_max b)))

  with ``s`` the bumper-to-bumper gap to the leader and ``dv = v - v_leader``.
* **MOBIL** — "Minimizing Overall Braking Induced by Lane changes" (Kesting, Treiber & Helbing,
  Transp. Res. Rec. 1999, 2007): change lane when the new follower need not brake harder than
  ``b_safe`` and ``a_self_new - a_self_old + p * (Δa_new_follower + Δa_old_follower) > a_threshold``.

Parameter defaults are highway-env's (``IDMVehicle``), so traffic behaves like the reference. One
difference: the gap here is bumper to bumper with ``s0 = 5 m`` (the textbook IDM, with
``max(0, ·)`` on the dynamic term), where highway-env divides by the centre-to-centre distance
with ``s0 = 5 m + one car length``.

The model runs as one numba kernel per simulation step, :func:`traffic_accelerations`: a
per-lane neighbour search (sort each road by ``x``, sweep for the nearest leader and follower in
the own and adjacent lanes) that evaluates IDM and MOBIL right where it finds the neighbours.
Gathering the neighbours' states into numpy arrays first and evaluating the formulas there costs
about five times more (measured at batch 1024; the gathers and the 11 IDM evaluations per vehicle
that MOBIL needs dominate), so the evaluation lives in the kernel. Its source is
``highway_kernels._traffic_impl``, beside the Highway step kernel that calls it (numba's cache
sees edits to a kernel's own file only). The plain numpy functions below (:func:`lane_neighbours`,
:func:`idm_acceleration`, :func:`mobil_lane_changes`) are the readable reference; the tests check
that the kernel agrees with them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from rlsuite.envs.driving.highway_kernels import _traffic_kernel

__all__ = [
    "IDMParams",
    "traffic_accelerations",
    "MOBILParams",
    "LEFT",
    "OWN",
    "RIGHT",
    "TrafficBuffers",
    "gather",
    "idm_acceleration",
    "kernel_terms",
    "lane_neighbours",
    "mobil_lane_changes",
    "pair_accelerations",
]

# Lane slots of the neighbour arrays: the lane to the left, the own lane, the lane to the right.
LEFT, OWN, RIGHT = 0, 1, 2


@dataclass(frozen=True)
class IDMParams:
    """Intelligent Driver Model parameters (highway-env's ``IDMVehicle`` values)."""

    max_accel: float = 3.0  # [m/s^2] a_max, comfortable acceleration
    comfort_decel: float = 5.0  # [m/s^2] b, comfortable deceleration (positive)
    min_gap: float = 5.0  # [m] s0, jam distance bumper to bumper
    time_headway: float = 1.5  # [s] T, desired time gap to the leader
    delta: float = 4.0  # [-] acceleration exponent
    accel_limit: float = 6.0  # [m/s^2] hard clip on |a| (highway-env ACC_MAX)

    def __post_init__(self) -> None:
        for name in ("max_accel", "comfort_decel", "min_gap", "time_headway", "delta", "accel_limit"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"IDMParams.{name} must be a positive finite number, got {value!r}")


@dataclass(frozen=True)
class MOBILParams:
    """MOBIL lane-change parameters (highway-env's ``IDMVehicle`` values)."""

    politeness: float = 0.0  # [-] p, weight of the followers' acceleration changes
    min_accel_gain: float = 0.2  # [m/s^2] a_threshold, incentive needed to change lane
    max_braking_imposed: float = 2.0  # [m/s^2] b_safe, strongest braking forced on the new follower
    decision_period: float = 1.0  # [s] how often each vehicle reconsiders its lane

    def __post_init__(self) -> None:
        if not (np.isfinite(self.politeness) and self.politeness >= 0):
            raise ValueError(f"MOBILParams.politeness must be a finite number >= 0, got {self.politeness!r}")
        for name in ("min_accel_gain", "max_braking_imposed", "decision_period"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"MOBILParams.{name} must be a positive finite number, got {value!r}")


# --------------------------------------------------------------------------------------------
# Neighbour search
# --------------------------------------------------------------------------------------------
def lane_neighbours(x: np.ndarray, lane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest leader and follower of every vehicle in the lanes left of, at and right of its own.

    ``x`` (B, V) [m], ``lane`` (B, V) int. Returns ``leaders, followers`` (B, V, 3) int64 vehicle
    indices, slot ``LEFT``/``OWN``/``RIGHT``; ``-1`` where there is no such vehicle or no such lane
    (no vehicle drives in a lane off the road). Vehicles at the same ``x`` are ordered by index.
    Reference version: all pairs, O(B V^2).
    """
    vehicles = x.shape[1]
    dx = x[:, None, :] - x[:, :, None]  # [b, i, j] = x_j - x_i
    index = np.arange(vehicles)
    ahead = (dx > 0) | ((dx == 0) & (index[None, None, :] > index[None, :, None]))
    other = index[:, None] != index[None, :]
    slot = lane[:, None, :] - lane[:, :, None] + 1
    leaders = np.empty((*x.shape, 3), dtype=np.int64)
    followers = np.empty((*x.shape, 3), dtype=np.int64)
    for s in (LEFT, OWN, RIGHT):
        in_lane = (slot == s) & other
        for out, candidates, distance in ((leaders, ahead, dx), (followers, ~ahead, -dx)):
            gaps = np.where(in_lane & candidates, distance, np.inf)
            nearest = np.argmin(gaps, axis=2)
            out[..., s] = np.where(np.isfinite(np.min(gaps, axis=2)), nearest, -1)
    return leaders, followers


# --------------------------------------------------------------------------------------------
# IDM (numpy)
# --------------------------------------------------------------------------------------------
def idm_acceleration(
    speed: np.ndarray, target_speed: np.ndarray, gap: np.ndarray, leader_speed: np.ndarray, p: IDMParams
) -> np.ndarray:
    """IDM acceleration [m/s^2], clipped to ``±accel_limit``; ``gap = inf`` means a free road."""
    speed = np.maximum(speed, 0.0)
    ratio = speed / np.maximum(target_speed, 0.1)
    if p.delta == 4.0:  # the default: two squarings are much cheaper than a general power
        ratio = ratio * ratio
        free_road = 1.0 - ratio * ratio
    else:
        free_road = 1.0 - ratio**p.delta
    dynamic_gap = speed * p.time_headway + speed * (speed - leader_speed) / (
        2.0 * np.sqrt(p.max_accel * p.comfort_decel)
    )
    desired_gap = p.min_gap + np.maximum(dynamic_gap, 0.0)
    interaction = desired_gap / np.maximum(gap, 1e-2)  # 0 for gap = inf
    accel = p.max_accel * (free_road - interaction * interaction)
    return np.minimum(np.maximum(accel, -p.accel_limit), p.accel_limit)


def gather(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[b, index[b, ...]]`` for ``values`` (B, V) and ``index`` (B, ...) of vehicle indices."""
    batch, vehicles = values.shape
    offsets = (np.arange(batch) * vehicles).reshape((batch,) + (1,) * (index.ndim - 1))
    return values.ravel()[index + offsets]


def pair_accelerations(
    x: np.ndarray,
    speed: np.ndarray,
    target_speed: np.ndarray,
    followers: np.ndarray,
    leaders: np.ndarray,
    length: float,
    p: IDMParams,
) -> np.ndarray:
    """IDM acceleration of vehicle ``followers[...]`` if it followed ``leaders[...]`` (index -1: none).

    State arrays are (B, V); ``followers`` and ``leaders`` (B, ...) index the same rows. A missing
    leader means a free road; a missing follower gives 0 (it contributes nothing to MOBIL sums).
    """
    has_follower = followers >= 0
    has_leader = leaders >= 0
    f = np.maximum(followers, 0)
    l = np.maximum(leaders, 0)
    follower_speed = gather(speed, f)
    gap = np.where(has_leader, gather(x, l) - gather(x, f) - length, np.inf)
    leader_speed = np.where(has_leader, gather(speed, l), follower_speed)
    accel = idm_acceleration(follower_speed, gather(target_speed, f), gap, leader_speed, p)
    return np.where(has_follower, accel, 0.0)


# --------------------------------------------------------------------------------------------
# MOBIL (numpy)
# --------------------------------------------------------------------------------------------
def mobil_lane_changes(
    x: np.ndarray,
    speed: np.ndarray,
    target_speed: np.ndarray,
    lane: np.ndarray,
    leaders: np.ndarray,
    followers: np.ndarray,
    lanes_count: int,
    length: float,
    idm: IDMParams,
    mobil: MOBILParams,
) -> np.ndarray:
    """Lane each vehicle wants after a MOBIL decision (B, V) int: ``lane``, ``lane - 1`` or ``lane + 1``.

    Left is tried first (highway-env's order), then right. The caller decides which vehicles may
    act on the decision (e.g. not the ego, not vehicles already changing lane).
    """
    batch, vehicles = x.shape
    me = np.broadcast_to(np.arange(vehicles), (batch, vehicles))
    old_leader, old_follower = leaders[..., OWN], followers[..., OWN]
    pairs_f, pairs_l = [me], [old_leader]  # pair 0: me behind my current leader
    for side in (LEFT, RIGHT):
        new_leader, new_follower = leaders[..., side], followers[..., side]
        pairs_f += [me, new_follower, new_follower, old_follower, old_follower]
        pairs_l += [new_leader, new_leader, me, me, old_leader]
    accel = pair_accelerations(
        x, speed, target_speed, np.stack(pairs_f, axis=-1), np.stack(pairs_l, axis=-1), length, idm
    )
    me_now = accel[..., 0]
    wanted = lane.copy()
    for side, step in ((RIGHT, 1), (LEFT, -1)):  # left last, so that it wins when both pass
        base = 6 if side == RIGHT else 1
        me_new, nf_now, nf_new, of_now, of_new = (accel[..., base + i] for i in range(5))
        exists = (lane + step >= 0) & (lane + step < lanes_count)
        safe = nf_new >= -mobil.max_braking_imposed
        gain = me_new - me_now + mobil.politeness * (nf_new - nf_now + of_new - of_now)
        wanted = np.where(exists & safe & (gain >= mobil.min_accel_gain), lane + step, wanted)
    return wanted


# --------------------------------------------------------------------------------------------
# The compiled kernel the envs use
# --------------------------------------------------------------------------------------------
class TrafficBuffers:
    """Scratch arrays of :func:`traffic_accelerations` for a (B, V) batch (allocated once)."""

    def __init__(self, batch: int, vehicles: int) -> None:
        self.order = np.tile(np.arange(vehicles), (batch, 1))  # any permutation per row will do
        self.lane = np.zeros((batch, vehicles), dtype=np.int64)
        self.leaders = np.zeros((batch, vehicles, 3), dtype=np.int64)
        self.followers = np.zeros((batch, vehicles, 3), dtype=np.int64)
        self.accel = np.zeros((batch, vehicles))


@functools.lru_cache(maxsize=16)
def kernel_terms(idm: IDMParams, mobil: MOBILParams) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The parameters as the traffic kernel takes them: ``(a_max, s0, T, delta, accel_limit,
    2 sqrt(a_max b))`` and ``(politeness, a_threshold, b_safe)``."""
    idm_terms = (
        idm.max_accel,
        idm.min_gap,
        idm.time_headway,
        idm.delta,
        idm.accel_limit,
        2.0 * np.sqrt(idm.max_accel * idm.comfort_decel),
    )
    mobil_terms = (mobil.politeness, mobil.min_accel_gain, mobil.max_braking_imposed)
    return tuple(float(t) for t in idm_terms), tuple(float(t) for t in mobil_terms)


def traffic_accelerations(
    x: np.ndarray,
    y: np.ndarray,
    lane_width: np.ndarray,
    speed: np.ndarray,
    target_speed: np.ndarray,
    target_lane: np.ndarray,
    due: np.ndarray,
    lanes_count: int,
    length: float,
    idm: IDMParams,
    mobil: MOBILParams,
    buffers: TrafficBuffers,
) -> np.ndarray:
    """One traffic decision step for (B, V) vehicles; returns the IDM accelerations (B, V) [m/s^2].

    ``x``, ``y`` [m] are positions (lane ``k``'s centre at ``y = k * lane_width[b]``), ``speed`` and
    ``target_speed`` [m/s]. Each vehicle's acceleration is the IDM acceleration behind its leader
    in its own lane, or the smaller one of that and behind the leader in its target lane while it
    changes lane. In rows where ``due`` (B,) is set, every traffic vehicle (index >= 1) that is not
    changing lane runs MOBIL, left before right, and ``target_lane`` is updated **in place**.
    Afterwards ``buffers.lane`` holds the current lanes and ``buffers.leaders``/``followers`` the
    neighbours (as :func:`lane_neighbours` gives them). The returned array is ``buffers.accel``.
    """
    idm_terms, mobil_terms = kernel_terms(idm, mobil)
    _traffic_kernel(
        x, y, lane_width, speed, target_speed, target_lane, due, lanes_count, float(length), idm_terms,
        mobil_terms, buffers.order, buffers.lane, buffers.leaders, buffers.followers, buffers.accel,
    )  # fmt: skip
    return buffers.accel
