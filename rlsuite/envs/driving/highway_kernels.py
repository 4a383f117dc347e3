"""The numba kernels of ``rlsuite/Highway-v0`` (see :mod:`rlsuite.envs.driving.highway_core`).

A simulation step is three kernel calls over every row and vehicle, with numpy's ``arcsin`` of
the whole batch in between: :func:`_steer_kernel` (the ego's meta-action on the first simulation
step of a policy step; the traffic, :func:`_traffic_impl`: per-lane neighbour search, IDM and
MOBIL; the lane-keeping controller up to its first arcsin), :func:`_slip_kernel` (up to the
second) and :func:`_move_kernel` (every car's kinematic bicycle, the ego's collision test; after
the last simulation step the reward and the rows whose traffic must respawn, which
:func:`_respawn_kernel` moves with the random numbers the core draws for them). Resets
(:func:`_reset_kernel`), the state observation (:func:`_observe_kernel`) and top-down frames
(:func:`_draw_kernel`) are one call each. Written as numpy over ``(B, V)`` arrays the same step
made some 60 passes over the batch and cost about 3x more at batch 1024 and 15x more at batch 1.

The equations and their order of evaluation are those of the numpy version, so the episodes are
the same to the last bit: numpy's float64 ``arcsin`` (a SIMD implementation here) and libm's, which
compiled code calls, differ in the last bit for ~1.5 % of arguments, hence the arcsins stay numpy
calls; ``sin``, ``cos`` and the rest agree.

Two rules keep these kernels fast and their on-disk cache true:

* A helper called inside a loop takes scalars, never arrays: numba reference-counts the array
  arguments of every call (atomic increments and decrements), which made one IDM evaluation cost
  ~25 ns instead of ~3 ns.
* Every function compiled into a kernel lives in this file, the constants it reads too: numba's
  cache (``cache=True``) is keyed by the kernel's own source file only, so a callee edited in
  another file would go on running its old machine code.

The kernels are serial; see :func:`_traffic_impl` for why. The ``_impl`` functions are the
plain-Python sources, which the tests also run uncompiled (an index out of bounds then raises
instead of corrupting memory).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["VX_SCALE", "VY_SCALE"]

# --------------------------------------------------------------------------------------------
# Constants (highway-env's Vehicle / ControlledVehicle / MDPVehicle values)
# --------------------------------------------------------------------------------------------
LENGTH = 5.0  # [m] every car's body length
WIDTH = 2.0  # [m] every car's body width
COLLISION_REACH = float(np.hypot(LENGTH, WIDTH))  # [m] centres closer than this along x may overlap
MAX_SPEED = 40.0  # [m/s] speed clip (no car reverses: speeds stay >= 0)
ACCEL_LIMIT = 6.0  # [m/s^2] |acceleration| clip of the controllers
MAX_STEERING = np.pi / 3  # [rad] front-wheel angle limit of the steering controller
KP_SPEED = 1.0 / 0.6  # [1/s] speed controller gain (time constant 0.6 s)
KP_HEADING = 1.0 / 0.2  # [1/s] heading controller gain (time constant 0.2 s)
KP_LATERAL = 1.0 / 0.6  # [1/s] lateral-position controller gain (time constant 0.6 s)
MAX_HEADING_COMMAND = np.pi / 4  # [rad] largest heading the lateral controller asks for
SIN_MAX_HEADING = float(np.sin(MAX_HEADING_COMMAND))
SIN_MAX_SLIP = float(np.sin(np.arctan(0.5 * np.tan(MAX_STEERING))))  # slip angle at MAX_STEERING
EGO_TARGET_SPEEDS = (20.0, 25.0, 30.0)  # [m/s] the speeds FASTER / SLOWER choose from
EGO_INITIAL_SPEED = 25.0  # [m/s]
CONTINUOUS_ACCEL = 5.0  # [m/s^2] acceleration at action[0] = ±1
CONTINUOUS_STEERING = np.pi / 4  # [rad] front-wheel angle at action[1] = ±1
DESPAWN_BEHIND = 80.0  # [m] traffic this far behind the ego is moved ahead of the traffic
VX_SCALE = 40.0  # [m/s] normalisation of longitudinal velocities in the state observation
VY_SCALE = 10.0  # [m/s] normalisation of lateral velocities in the state observation
LANE_LEFT, IDLE, LANE_RIGHT, FASTER, SLOWER = range(5)  # the meta-actions
# [rad] below this, float64 sin(a) = a and cos(a) = 1 exactly (correctly rounded, and what libm and
# numpy return): traffic settling into its lane spends many steps there
TINY_ANGLE = 2.0**-27


@njit(cache=True, inline="always")
def _clip(value, low, high):  # pragma: no cover - compiled
    return min(max(value, low), high)


@njit(cache=True, inline="always")
def _unit(value):  # pragma: no cover - compiled
    return min(max(value, -1.0), 1.0)


@njit(cache=True, inline="always")
def _cos_sin(angle):  # pragma: no cover - compiled
    """``cos(angle), sin(angle)`` (one libm sincos call, none for a tiny angle)."""
    if abs(angle) < TINY_ANGLE:
        return 1.0, angle
    return np.cos(angle), np.sin(angle)


@njit(cache=True, inline="always")
def _ego_heading(heading, vehicle, discrete):  # pragma: no cover - compiled
    """The heading [rad] a car steps from: wrapped to [-pi, pi) for the ego under raw steering (the
    lane-keeping controller keeps every other heading within ±MAX_HEADING_COMMAND)."""
    if vehicle == 0 and not discrete:
        return np.mod(heading + np.pi, 2.0 * np.pi) - np.pi
    return heading


# --------------------------------------------------------------------------------------------
# Traffic: IDM car following and MOBIL lane changes (the model of rlsuite.envs.driving.traffic)
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always", error_model="numpy")
def _free_road(speed, target_speed, idm):  # pragma: no cover - compiled
    """IDM's free-road term ``1 - (v / v0)^delta`` of a car (the same for every leader it may get)."""
    delta = idm[3]
    ratio = max(speed, 0.0) / max(target_speed, 0.1)
    if delta == 4.0:
        ratio = ratio * ratio
        return 1.0 - ratio * ratio
    return 1.0 - ratio**delta


@njit(cache=True, inline="always", error_model="numpy")
def _idm(speed, free_road, leader_speed, gap, idm):  # pragma: no cover - compiled
    """IDM acceleration [m/s^2] of a car behind a leader ``gap`` [m] ahead (``inf``: free road)."""
    a_max, s0, headway, _, accel_limit, sqrt_ab2 = idm
    accel = a_max * free_road
    if gap < np.inf:
        v = max(speed, 0.0)
        dynamic_gap = v * headway + v * (v - leader_speed) / sqrt_ab2
        desired_gap = s0 + max(dynamic_gap, 0.0)
        interaction = desired_gap / max(gap, 1e-2)
        accel = a_max * (free_road - interaction * interaction)
    return min(max(accel, -accel_limit), accel_limit)


@njit(cache=True, inline="always")
def _gap(x_follower, x_leader, leader, length):  # pragma: no cover - compiled
    """Bumper-to-bumper gap [m] to vehicle ``leader`` at ``x_leader`` (index -1: none, ``inf``)."""
    return x_leader - x_follower - length if leader >= 0 else np.inf


def _traffic_impl(
    x, y, lane_width, speed, target_speed, target_lane, due, lanes_count, length, idm, mobil,
    order, lane, leaders, followers, accel,
):  # fmt: skip  # pragma: no cover - compiled
    """One traffic step of every road: see :func:`rlsuite.envs.driving.traffic.traffic_accelerations`.

    Serial on purpose: on the shared 2-core machines numba's OpenMP pool made batched steps
    slower, not faster (measured: 20k vs 56k steps/s for the pixel env at batch 256 under load);
    parallelism across envs belongs to processes (Ray workers), not to threads inside one step.
    """
    batch, vehicles = x.shape
    politeness, min_gain, b_safe = mobil
    accel_limit = idm[4]
    nearest = np.empty(lanes_count + 2, dtype=np.int64)  # last vehicle seen per lane, one spare each side
    free = np.empty(vehicles)  # free-road term of each vehicle of the row
    for b in range(batch):
        for i in range(vehicles):  # current lane: the nearest lane centre
            lane[b, i] = min(max(np.rint(y[b, i] / lane_width[b]), 0.0), lanes_count - 1.0)
        # -- neighbour search: sort by (x, index), then one sweep each way. Insertion sort starting
        # from the previous step's order: nearly sorted already, so it costs about V comparisons.
        for k in range(1, vehicles):
            i = order[b, k]
            m = k
            while m > 0:
                j = order[b, m - 1]
                if x[b, j] < x[b, i] or (x[b, j] == x[b, i] and j < i):
                    break
                order[b, m] = j
                m -= 1
            order[b, m] = i
        nearest[:] = -1
        for k in range(vehicles - 1, -1, -1):  # from the front: the last one seen leads
            i = order[b, k]
            own = lane[b, i] + 1
            for slot in range(3):
                leaders[b, i, slot] = nearest[own - 1 + slot]
            nearest[own] = i
        nearest[:] = -1
        for k in range(vehicles):  # from the back: the last one seen follows
            i = order[b, k]
            own = lane[b, i] + 1
            for slot in range(3):
                followers[b, i, slot] = nearest[own - 1 + slot]
            nearest[own] = i
        # -- IDM behind the own-lane leader and, while changing lane, the target-lane leader
        for i in range(vehicles):
            v, x_i = speed[b, i], x[b, i]
            free[i] = _free_road(v, target_speed[b, i], idm)
            leader = leaders[b, i, 1]
            own = _idm(v, free[i], speed[b, leader], _gap(x_i, x[b, leader], leader, length), idm)
            slot = min(max(target_lane[b, i] - lane[b, i] + 1, 0), 2)
            if slot != 1:
                leader = leaders[b, i, slot]
                other = _idm(v, free[i], speed[b, leader], _gap(x_i, x[b, leader], leader, length), idm)
                own = min(own, other)
            accel[b, i] = own
        if not due[b]:
            continue
        # -- MOBIL for traffic (not the ego, vehicle 0) that is not already changing lane
        for i in range(1, vehicles):
            if target_lane[b, i] != lane[b, i]:
                continue
            v, x_i = speed[b, i], x[b, i]
            me_now = accel[b, i]
            if politeness == 0.0:
                # the incentive alone decides, and no leader gives more than the free road: most
                # cars have nothing to gain anywhere (exact, as IDM is monotonic in the gap)
                if not min(max(idm[0] * free[i], -accel_limit), accel_limit) - me_now >= min_gain:
                    continue
                for slot, step in ((0, -1), (2, 1)):  # left first (highway-env's order)
                    if lane[b, i] + step < 0 or lane[b, i] + step >= lanes_count:
                        continue
                    new_leader, new_follower = leaders[b, i, slot], followers[b, i, slot]
                    gap = _gap(x_i, x[b, new_leader], new_leader, length)
                    if not _idm(v, free[i], speed[b, new_leader], gap, idm) - me_now >= min_gain:
                        continue
                    if new_follower >= 0:  # safety: the new follower need not brake hard
                        gap = x_i - x[b, new_follower] - length
                        if _idm(speed[b, new_follower], free[new_follower], v, gap, idm) < -b_safe:
                            continue
                    target_lane[b, i] = lane[b, i] + step
                    break
                continue
            old_leader, old_follower = leaders[b, i, 1], followers[b, i, 1]
            for slot, step in ((0, -1), (2, 1)):
                if lane[b, i] + step < 0 or lane[b, i] + step >= lanes_count:
                    continue
                new_leader, new_follower = leaders[b, i, slot], followers[b, i, slot]
                nf_new = nf_now = of_now = of_new = 0.0
                if new_follower >= 0:
                    v_nf, x_nf = speed[b, new_follower], x[b, new_follower]
                    nf_new = _idm(v_nf, free[new_follower], v, x_i - x_nf - length, idm)
                    if nf_new < -b_safe:
                        continue
                    gap = _gap(x_nf, x[b, new_leader], new_leader, length)
                    nf_now = _idm(v_nf, free[new_follower], speed[b, new_leader], gap, idm)
                gap = _gap(x_i, x[b, new_leader], new_leader, length)
                gain = _idm(v, free[i], speed[b, new_leader], gap, idm) - me_now
                if old_follower >= 0:
                    v_of, x_of = speed[b, old_follower], x[b, old_follower]
                    of_now = _idm(v_of, free[old_follower], v, x_i - x_of - length, idm)
                    gap = _gap(x_of, x[b, old_leader], old_leader, length)
                    of_new = _idm(v_of, free[old_follower], speed[b, old_leader], gap, idm)
                gain += politeness * (nf_new - nf_now + of_new - of_now)
                if gain >= min_gain:
                    target_lane[b, i] = lane[b, i] + step
                    break


_traffic_kernel = njit(cache=True, error_model="numpy")(_traffic_impl)


# --------------------------------------------------------------------------------------------
# The policy step
# --------------------------------------------------------------------------------------------
@njit(cache=True, error_model="numpy")
def _rectangles_overlap(dx, dy, heading_a, heading_b):  # pragma: no cover - compiled
    """Separating-axis test for two LENGTH x WIDTH rectangles, b's centre at (dx, dy) from a's."""
    half_l, half_w = 0.5 * LENGTH, 0.5 * WIDTH
    ca, sa, cb, sb = np.cos(heading_a), np.sin(heading_a), np.cos(heading_b), np.sin(heading_b)
    cos_ab = abs(ca * cb + sa * sb)  # |cos| of the angle between the two forward axes
    sin_ab = abs(ca * sb - sa * cb)
    # half extent of both rectangles together along a forward axis and along a lateral axis
    reach_forward = half_l + half_l * cos_ab + half_w * sin_ab
    reach_lateral = half_w + half_l * sin_ab + half_w * cos_ab
    return (
        abs(dx * ca + dy * sa) <= reach_forward
        and abs(dx * cb + dy * sb) <= reach_forward
        and abs(-dx * sa + dy * ca) <= reach_lateral
        and abs(-dx * sb + dy * cb) <= reach_lateral
    )


def _steer_impl(
    x, y, heading, speed, target_speed, target_lane, lane_width, sim_steps, crashed, meta_actions, discrete,
    first, mobil_period, lanes_count, idm, mobil, due, order, lane, leaders, followers, accel, steering,
):  # fmt: skip  # pragma: no cover - compiled
    """Part 1 of a simulation step: traffic accelerations and lane choices, then the argument of the
    lane-keeping controller's arcsin, ``steering[0]``, and ``1 / speed``, ``steering[1]``.

    On the ``first`` simulation step of a policy step, the ego's meta-action (``meta_actions``
    (B,), read when ``discrete``) first sets its target lane and speed and the crash flags are cleared.
    """
    batch, vehicles = x.shape
    speed_low, speed_high = EGO_TARGET_SPEEDS[0], EGO_TARGET_SPEEDS[-1]
    levels = len(EGO_TARGET_SPEEDS)
    for b in range(batch):
        if first:
            crashed[b] = False
        if first and discrete:
            # -- meta-action: a target lane the lane-keeping controller steers to, a target speed
            action, lw = meta_actions[b], lane_width[b]
            current = target_lane[b, 0]
            wanted = current - (action == LANE_LEFT) + (action == LANE_RIGHT)
            wanted = min(max(wanted, 0), lanes_count - 1)
            if abs(y[b, 0] - wanted * lw) <= 2.0 * lw:  # highway-env ignores lanes out of reach
                target_lane[b, 0] = wanted
            if action == FASTER or action == SLOWER:
                position = (speed[b, 0] - speed_low) / (speed_high - speed_low)
                index = int(_clip(np.rint(position * (levels - 1)), 0.0, levels - 1.0))
                index = min(max(index + (action == FASTER) - (action == SLOWER), 0), levels - 1)
                target_speed[b, 0] = EGO_TARGET_SPEEDS[index]
        # -- IDM accelerations; every MOBIL decision period, new target lanes for the traffic
        due[b] = sim_steps[b] % mobil_period == 0
        if not discrete:
            target_speed[b, 0] = speed[b, 0]  # how the ego counts as a follower in MOBIL
    _traffic_kernel(
        x, y, lane_width, speed, target_speed, target_lane, due, lanes_count, LENGTH, idm, mobil, order, lane,
        leaders, followers, accel,
    )  # fmt: skip
    # -- highway-env's lane-keeping controller towards each target lane's centre: the sine of the
    # heading it asks for (headings stay within ±MAX_HEADING_COMMAND under it: no angle wrapping)
    for b in range(batch):
        lw = lane_width[b]
        for i in range(vehicles):
            inverse_speed = 1.0 / max(speed[b, i], 1e-2)
            lateral_error = y[b, i] - target_lane[b, i] * lw
            sine = _clip(-KP_LATERAL * lateral_error * inverse_speed, -SIN_MAX_HEADING, SIN_MAX_HEADING)
            steering[0, b, i] = sine
            steering[1, b, i] = inverse_speed


_steer_kernel = njit(cache=True, error_model="numpy")(_steer_impl)


def _slip_impl(heading, steering):  # pragma: no cover - compiled
    """Part 2: the sine of the slip angle, ``steering[2]``, from the heading command in ``steering[0]``.

    highway-env steers arctan(2 tan(slip)) with slip = arcsin(L/2 * yaw rate / v), clipped to
    MAX_STEERING, and the bicycle turns the steering back into the slip angle arctan(tan(steering)
    / 2). Together: the slip angle is the arcsin of the clipped ratio written here.
    """
    batch, vehicles = heading.shape
    for b in range(batch):
        for i in range(vehicles):
            yaw_rate_command = KP_HEADING * (steering[0, b, i] - heading[b, i])
            ratio = 0.5 * LENGTH * yaw_rate_command * steering[1, b, i]
            steering[2, b, i] = _clip(ratio, -SIN_MAX_SLIP, SIN_MAX_SLIP)


_slip_kernel = njit(cache=True, error_model="numpy")(_slip_impl)


def _move_impl(
    x, y, heading, speed, target_speed, lane_width, sim_steps, crashed, on_road, controls, ego_slip,
    discrete, dt, accel, steering, courses, last, active, lanes_count, rewards, normalize_reward,
    offroad_terminal,
    reward, terminated, info_speed, info_crashed, info_on_road, info_lane, collision, right_lane, high_speed,
    on_road_weight, info_off_road, respawn_rows,
):  # fmt: skip  # pragma: no cover - compiled
    """Part 3: every vehicle's kinematic bicycle with the slip angle ``steering[3]`` (the ego's from
    ``controls`` and ``ego_slip`` (2, B), its slip and sine, unless ``discrete``), then the ego's
    collision test. After the ``last`` simulation step of a policy step: the reward, ``terminated``
    and the info arrays, and the rows whose traffic must respawn (``respawn_rows[:count]``, active
    rows only); returns that ``count``. ``steering[0]`` and ``steering[1]`` (no longer needed) take
    the cosine and sine of each car's course, ``courses`` (B V,) is scratch.
    """
    batch, vehicles = x.shape
    # -- the course (heading + slip) of every car; its cosine and sine. Cars settling into their
    # lane have tiny courses (cos = 1, sin = course); the others' go to one tight loop of libm calls
    # (mixing the two in one loop made each call cost ~25 ns instead of ~10 ns)
    cos_course, sin_course = steering[0], steering[1]
    count = 0
    for b in range(batch):
        for i in range(vehicles):
            course = _ego_heading(heading[b, i], i, discrete) + (
                steering[3, b, i] if i > 0 or discrete else ego_slip[0, b]
            )
            cos_course[b, i] = 1.0
            sin_course[b, i] = course
            if not abs(course) < TINY_ANGLE:
                courses[count] = b * vehicles + i
                count += 1
    for k in range(count):
        b, i = courses[k] // vehicles, courses[k] % vehicles
        course = sin_course[b, i]
        cos_course[b, i] = np.cos(course)
        sin_course[b, i] = np.sin(course)
    for b in range(batch):
        for i in range(vehicles):
            v, h = speed[b, i], _ego_heading(heading[b, i], i, discrete)
            sin_slip = steering[2, b, i]
            if i > 0:
                a = accel[b, i]
            elif discrete:
                a = _clip(KP_SPEED * (target_speed[b, 0] - v), -ACCEL_LIMIT, ACCEL_LIMIT)
            else:  # raw acceleration and steering
                a = controls[b, 0] * CONTINUOUS_ACCEL
                sin_slip = ego_slip[1, b]
            # kinematic bicycle, reference point halfway between the axles (highway-env's Vehicle.step)
            step = v * dt
            x[b, i] += step * cos_course[b, i]
            y[b, i] += step * sin_course[b, i]
            heading[b, i] = h + step * sin_slip * (2.0 / LENGTH)
            speed[b, i] = _clip(v + a * dt, 0.0, MAX_SPEED)
        sim_steps[b] += 1
        # -- the ego against every traffic car (oriented rectangles, separating axes)
        if not crashed[b]:
            for j in range(1, vehicles):
                dx = x[b, j] - x[b, 0]
                if abs(dx) < COLLISION_REACH and _rectangles_overlap(
                    dx, y[b, j] - y[b, 0], heading[b, 0], heading[b, j]
                ):
                    crashed[b] = True
                    break
    if not last:
        return 0

    collision_reward, right_lane_reward, high_speed_reward, low, high, best = rewards
    count = 0
    for b in range(batch):
        # -- traffic left far behind the ego respawns ahead (drawn by the caller: active rows only)
        if active[b]:
            for j in range(1, vehicles):
                if x[b, j] - x[b, 0] < -DESPAWN_BEHIND:
                    respawn_rows[count] = b
                    count += 1
                    break
        # -- reward: highway-env's terms
        lw, ego_y = lane_width[b], y[b, 0]
        on_road[b] = ego_y >= -0.5 * lw and ego_y <= (lanes_count - 0.5) * lw
        lane_index = _clip(np.rint(ego_y / lw), 0.0, lanes_count - 1.0)
        right = lane_index / max(lanes_count - 1, 1)
        forward_speed = speed[b, 0] * _cos_sin(heading[b, 0])[0]
        fast = _clip((forward_speed - low) / (high - low), 0.0, 1.0)
        total = collision_reward * crashed[b] + right_lane_reward * right + high_speed_reward * fast
        if normalize_reward:
            total = (total - collision_reward) / (best - collision_reward)
        reward[b] = total * on_road[b]
        terminated[b] = crashed[b] or (offroad_terminal and not on_road[b])
        info_speed[b] = speed[b, 0]
        info_crashed[b] = crashed[b]
        info_on_road[b] = on_road[b]
        info_lane[b] = int(lane_index)
        collision[b] = crashed[b]
        right_lane[b] = right
        high_speed[b] = fast
        on_road_weight[b] = on_road[b]
        info_off_road[b] = not on_road[b]
    return count


_move_kernel = njit(cache=True, error_model="numpy")(_move_impl)


def _respawn_impl(
    rows, draws, x, y, heading, speed, target_speed, target_lane, lane_width, lanes_count, speed_range,
    spacing_scale,
):  # fmt: skip  # pragma: no cover - compiled
    """Move the traffic of ``rows`` that is left far behind the ego to ahead of the front-most
    vehicle, one after the other, with new lanes and speeds from ``draws`` (n, 3, V - 1)."""
    vehicles = x.shape[1]
    for r in range(rows.shape[0]):
        b = rows[r]
        front = x[b, 0]
        for j in range(1, vehicles):
            front = max(front, x[b, j])
        offset = 0.0  # [m] ahead of the front-most vehicle
        for j in range(1, vehicles):
            if not x[b, j] - x[b, 0] < -DESPAWN_BEHIND:
                continue
            new_lane, new_speed, gap = _spawn(draws[r, 0, j - 1], draws[r, 1, j - 1], draws[r, 2, j - 1],
                                             lanes_count, speed_range, spacing_scale)  # fmt: skip
            offset += gap
            x[b, j] = front + offset
            target_lane[b, j] = new_lane
            y[b, j] = new_lane * lane_width[b]
            heading[b, j] = 0.0
            speed[b, j] = new_speed
            target_speed[b, j] = new_speed


_respawn_kernel = njit(cache=True, error_model="numpy")(_respawn_impl)


@njit(cache=True, inline="always")
def _spawn(lane_draw, speed_draw, gap_draw, lanes_count, speed_range, spacing_scale):  # pragma: no cover
    """Lane, speed [m/s] and gap [m] to the car in front of a new traffic car, from uniform draws;
    highway-env's spacing ``(12 m + v * 1 s) * spacing_scale * U(0.9, 1.1)``."""
    lane = min(int(lane_draw * lanes_count), lanes_count - 1)
    low, high = speed_range
    speed = low + (high - low) * speed_draw
    gap = (12.0 + speed) * spacing_scale * (0.9 + 0.2 * gap_draw)
    return lane, speed, max(gap, LENGTH + 1.0)


def _reset_impl(
    rows, draws, x, y, heading, speed, target_speed, target_lane, lane_width, sim_steps, crashed, on_road,
    lanes_count, lane_width_range, speed_range, spacing_scale,
):  # fmt: skip  # pragma: no cover - compiled
    """New episodes in ``rows`` from uniform ``draws`` (n, 2 + 3 (V - 1) + ...): the lane width, the
    ego's lane, then the lanes, speeds and spacing of the traffic (3 draws per car, by kind)."""
    vehicles = x.shape[1]
    traffic = vehicles - 1
    low, high = lane_width_range
    for r in range(rows.shape[0]):
        b = rows[r]
        lw = low + (high - low) * draws[r, 0]
        lane_width[b] = lw
        target_lane[b, 0] = min(int(draws[r, 1] * lanes_count), lanes_count - 1)
        x[b, 0] = 0.0
        speed[b, 0] = EGO_INITIAL_SPEED
        ahead = 0.0  # [m] the cars are placed ahead of the ego one after the other
        for j in range(1, vehicles):
            new_lane, new_speed, gap = _spawn(
                draws[r, 1 + j], draws[r, 1 + traffic + j], draws[r, 1 + 2 * traffic + j], lanes_count,
                speed_range, spacing_scale,
            )  # fmt: skip
            ahead += gap
            x[b, j] = ahead
            target_lane[b, j] = new_lane
            speed[b, j] = new_speed
        for i in range(vehicles):
            y[b, i] = target_lane[b, i] * lw
            heading[b, i] = 0.0
            target_speed[b, i] = speed[b, i]
        sim_steps[b] = 0
        crashed[b] = False
        on_road[b] = True


_reset_kernel = njit(cache=True, error_model="numpy")(_reset_impl)


# --------------------------------------------------------------------------------------------
# Observations
# --------------------------------------------------------------------------------------------
def _observe_impl(x, y, heading, speed, lane_width, lanes_count, perception, obs):  # pragma: no cover
    """The state observation (see HighwayEnv): a nearest-neighbour query per road, then features."""
    batch, vehicles = x.shape
    slots = obs.shape[1] - 1
    nearest = np.empty(slots, dtype=np.int64)
    nearest_d2 = np.empty(slots)
    for b in range(batch):
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
        cos, sin = _cos_sin(heading[b, 0])
        ego_vx, ego_vy = speed[b, 0] * cos, speed[b, 0] * sin
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
            cos, sin = _cos_sin(heading[b, j])
            obs[b, k + 1, 3] = _unit((speed[b, j] * cos - ego_vx) / VX_SCALE)
            obs[b, k + 1, 4] = _unit((speed[b, j] * sin - ego_vy) / VY_SCALE)


_observe_kernel = njit(cache=True)(_observe_impl)


def _draw_impl(
    canvas, x, y, heading, lane_width, palette, lanes, scale_x, scale_y, ego_column, follow_ego, dashes,
    dash_period, dash_length, half_line,
):  # fmt: skip  # pragma: no cover - compiled
    """Top-down frames of straight roads: ``canvas`` (B, H, W, C), one row per road.

    The view puts the ego at column ``ego_column`` [px], ``x`` along columns at ``scale_x`` [px/m]
    and ``y`` along rows at ``scale_y`` [px/m], centred on the ego (``follow_ego``) or the road.
    ``palette`` (B, 3 + V, C) holds background, road, markings, then one colour per vehicle.

    First the road, a pixel row at a time (a straight road is horizontal stripes, which a polygon
    rasteriser would test pixel by pixel): background, road surface, the two edge lines and the
    ``dashes`` dashes (``dash_length`` [px] every ``dash_period`` [m], on a grid fixed to the road
    so that they scroll past) of the inner lane markings, lines ``half_line`` [px] thick either
    side. Then every vehicle, the ego first, a LENGTH x WIDTH rectangle filled like
    ``render.draw_polygons`` fills one. A pixel belongs to a shape when its centre does (edges
    included, as in :mod:`rlsuite.envs.render`).
    """
    batch, height, width, channels = canvas.shape
    vehicles = x.shape[1]
    half_height = 0.5 * height
    corner_signs = ((1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0))
    px = np.empty(4)
    py = np.empty(4)
    for b in range(batch):
        lw = lane_width[b]
        ego_x = x[b, 0]
        centre_y = y[b, 0] if follow_ego else 0.5 * (lanes - 1) * lw
        # -- the road
        top = (-0.5 * lw - centre_y) * scale_y + half_height  # [px] rows of the road's edges
        bottom = ((lanes - 0.5) * lw - centre_y) * scale_y + half_height
        first = np.floor((ego_x - ego_column / scale_x) / dash_period) * dash_period
        for row in range(height):
            centre = row + 0.5
            kind = 0  # background, road, dashed marking, solid line
            if top <= centre <= bottom:
                kind = 1
            for m in range(1, lanes):
                if abs(centre - (((m - 0.5) * lw - centre_y) * scale_y + half_height)) <= half_line:
                    kind = 2
            if abs(centre - top) <= half_line or abs(centre - bottom) <= half_line:
                kind = 3
            colour = 0 if kind == 0 else (1 if kind <= 2 else 2)
            for col in range(width):
                for c in range(channels):
                    canvas[b, row, col, c] = palette[b, colour, c]
            if kind != 2:
                continue
            for d in range(dashes):
                start = (first + dash_period * d - ego_x) * scale_x + ego_column
                col0 = max(int(np.ceil(start - 0.5)), 0)
                col1 = min(int(np.floor(start + dash_length - 0.5)), width - 1)
                for col in range(col0, col1 + 1):
                    for c in range(channels):
                        canvas[b, row, col, c] = palette[b, 2, c]
        # -- the vehicles, rotated in metres, then scaled per axis
        for k in range(vehicles):
            cos, sin = _cos_sin(heading[b, k])
            centre_x = x[b, k] - ego_x
            for v in range(4):
                local_x, local_y = corner_signs[v][0] * (0.5 * LENGTH), corner_signs[v][1] * (0.5 * WIDTH)
                px[v] = (centre_x + (local_x * cos - local_y * sin)) * scale_x + ego_column
                py[v] = (y[b, k] + (local_x * sin + local_y * cos) - centre_y) * scale_y + half_height
            # filled like render.draw_polygons fills a convex polygon
            xmin, xmax, ymin, ymax = np.inf, -np.inf, np.inf, -np.inf
            area2 = 0.0  # twice the signed area: its sign gives the winding
            for v in range(4):
                w = (v + 1) % 4
                xmin, xmax = min(xmin, px[v]), max(xmax, px[v])
                ymin, ymax = min(ymin, py[v]), max(ymax, py[v])
                area2 += px[v] * py[w] - px[w] * py[v]
            if area2 == 0.0 or not np.isfinite(xmin + xmax + ymin + ymax):
                continue
            sign = 1.0 if area2 > 0.0 else -1.0
            col0, col1 = max(int(np.floor(xmin)), 0), min(int(np.ceil(xmax)), width)
            row0, row1 = max(int(np.floor(ymin)), 0), min(int(np.ceil(ymax)), height)
            for row in range(row0, row1):
                pixel_y = row + 0.5
                for col in range(col0, col1):
                    pixel_x = col + 0.5
                    inside = True
                    for v in range(4):
                        w = (v + 1) % 4
                        edge = (px[w] - px[v]) * (pixel_y - py[v]) - (py[w] - py[v]) * (pixel_x - px[v])
                        if sign * edge < 0.0:
                            inside = False
                            break
                    if inside:
                        for c in range(channels):
                            canvas[b, row, col, c] = palette[b, 3 + k, c]


_draw_kernel = njit(cache=True)(_draw_impl)
