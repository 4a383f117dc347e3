"""The planar-arm and puck physics behind Reacher and Pusher, checked against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from rlsuite.envs.robot import arm_dynamics as arm
from rlsuite.envs.robot.arm_dynamics import ArmParams, arm_params_for
from rlsuite.envs.robot.pusher import PusherCore

RNG = np.random.default_rng(12345)


def _random_arm(n: int) -> ArmParams:
    return ArmParams(
        link_lengths=tuple(RNG.uniform(0.05, 0.15, n)),
        link_masses=tuple(RNG.uniform(0.05, 0.2, n)),
        joint_damping=tuple(RNG.uniform(0.0, 0.01, n)),
    )


# --------------------------------------------------------------------------------------------
# Equations of motion
# --------------------------------------------------------------------------------------------
def test_two_link_reference_matches_textbook_closed_form():
    params = _random_arm(2)
    (l1, l2), (m1, m2) = params.link_lengths, params.link_masses
    r1, r2, i1, i2 = l1 / 2, l2 / 2, m1 * l1**2 / 12, m2 * l2**2 / 12
    q, qd = RNG.uniform(-np.pi, np.pi, (32, 2)), RNG.uniform(-5, 5, (32, 2))
    c2, s2 = np.cos(q[:, 1]), np.sin(q[:, 1])
    M = arm.mass_matrix(q, params)
    np.testing.assert_allclose(
        M[:, 0, 0], i1 + i2 + m1 * r1**2 + m2 * (l1**2 + r2**2 + 2 * l1 * r2 * c2), rtol=1e-12
    )
    np.testing.assert_allclose(M[:, 0, 1], i2 + m2 * (r2**2 + l1 * r2 * c2), rtol=1e-12)
    np.testing.assert_allclose(M[:, 1, 0], M[:, 0, 1], rtol=1e-12)
    np.testing.assert_allclose(M[:, 1, 1], i2 + m2 * r2**2, rtol=1e-12)
    h = m2 * l1 * r2 * s2
    bias = arm.bias_forces(q, qd, params)
    np.testing.assert_allclose(bias[:, 0], -h * (2 * qd[:, 0] * qd[:, 1] + qd[:, 1] ** 2), atol=1e-15)
    np.testing.assert_allclose(bias[:, 1], h * qd[:, 0] ** 2, atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_kinetic_energy_matches_finite_differences_of_link_motion(n):
    """½ q̇ᵀ M q̇ equals Σ ½ m |v_com|² + ½ I φ̇² with v_com from differentiated link positions."""
    params = _random_arm(n)
    lengths, masses = np.array(params.link_lengths), np.array(params.link_masses)
    q, qd = RNG.uniform(-np.pi, np.pi, (8, n)), RNG.uniform(-4, 4, (8, n))

    def centres_of_mass(angles):
        points = arm.joint_positions(angles, params)
        return 0.5 * (points[:, :-1] + points[:, 1:])

    eps = 1e-6
    v_com = (centres_of_mass(q + eps * qd) - centres_of_mass(q - eps * qd)) / (2 * eps)
    phid = np.cumsum(qd, axis=1)
    expected = 0.5 * np.sum(masses * np.sum(v_com**2, axis=-1) + masses * lengths**2 / 12 * phid**2, axis=1)
    np.testing.assert_allclose(arm.kinetic_energy(q, qd, params), expected, rtol=1e-7)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_compiled_accelerations_match_numpy_reference(n):
    params = _random_arm(n)
    q, qd = RNG.uniform(-np.pi, np.pi, (16, n)), RNG.uniform(-8, 8, (16, n))
    torque = RNG.uniform(-0.05, 0.05, (16, n))
    reference = arm.joint_accelerations(q, qd, torque, params)
    scale = np.abs(reference).max()
    general = arm.kernel_accelerations(q, qd, torque, params, general=True)
    np.testing.assert_allclose(general, reference, atol=1e-12 * scale)
    fast = arm.kernel_accelerations(q, qd, torque, params)  # closed form when n == 2
    np.testing.assert_allclose(fast, reference, atol=1e-12 * scale)


def test_two_link_fast_path_integrates_like_general_path():
    params = arm_params_for(2)
    q, qd = RNG.uniform(-np.pi, np.pi, (8, 2)), RNG.uniform(-3, 3, (8, 2))
    torque = RNG.uniform(-0.05, 0.05, (8, 2))
    q2, qd2 = q.copy(), qd.copy()
    arm.simulate(q, qd, torque, params, steps=50)
    arm.simulate(q2, qd2, torque, params, steps=50, general=True)
    np.testing.assert_allclose(q, q2, atol=1e-9)
    np.testing.assert_allclose(qd, qd2, atol=1e-9)


# --------------------------------------------------------------------------------------------
# Conservation laws and analytic solutions
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "tolerance"), [(2, 1e-4), (3, 5e-3)])
def test_energy_and_base_momentum_conserved_without_torque_or_damping(n, tolerance):
    """Stated tolerance: RK4 at the envs' default step (2 × 10 ms per 0.02 s) keeps the kinetic
    energy within 1e-4 (two links) / 5e-3 (three) relative over 2500 steps = 50 s, from rates up to
    3 rad/s. The base joint is cyclic, so its generalised momentum (M q̇)_0 is conserved too."""
    params = arm_params_for(n, joint_damping=0.0, max_joint_speed=1e3)
    q, qd = RNG.uniform(-np.pi, np.pi, (16, n)), RNG.uniform(-3, 3, (16, n))
    energy0 = arm.kinetic_energy(q, qd, params)
    momentum0 = (arm.mass_matrix(q, params) @ qd[..., None])[:, 0, 0]
    arm.simulate(q, qd, np.zeros_like(q), params, steps=2500)
    np.testing.assert_allclose(arm.kinetic_energy(q, qd, params), energy0, rtol=tolerance)
    momentum = (arm.mass_matrix(q, params) @ qd[..., None])[:, 0, 0]
    np.testing.assert_allclose(momentum, momentum0, atol=tolerance * np.abs(momentum0).max())


def test_semi_implicit_euler_option_runs_and_conserves_a_single_link():
    params = arm_params_for(1, joint_damping=0.0, integrator="euler")
    q, qd = np.zeros((1, 1)), np.full((1, 1), 2.0)
    arm.simulate(q, qd, np.zeros((1, 1)), params, steps=100)
    np.testing.assert_allclose(qd, 2.0)
    np.testing.assert_allclose(q, 2.0 * 100 * params.dt, rtol=1e-12)


@pytest.mark.parametrize("damping", [0.0, 0.004])
def test_constant_torque_on_one_link_matches_analytic_solution(damping):
    """I θ̈ = τ − d θ̇ with I = m l²/3 about the joint."""
    params = ArmParams(link_lengths=(0.15,), link_masses=0.2, joint_damping=damping, max_torque=0.05)
    inertia = 0.2 * 0.15**2 / 3  # [kg·m²]
    torque, steps = 0.03, 40  # [N·m], 0.8 s
    q, qd = np.zeros((1, 1)), np.zeros((1, 1))
    arm.simulate(q, qd, np.full((1, 1), torque), params, steps=steps)
    t = steps * params.dt
    if damping == 0.0:
        angle, rate = torque * t**2 / (2 * inertia), torque * t / inertia
    else:
        tau_c = inertia / damping  # [s] time constant
        rate = torque / damping * (1 - np.exp(-t / tau_c))
        angle = torque / damping * (t - tau_c * (1 - np.exp(-t / tau_c)))
    np.testing.assert_allclose(qd[0, 0], rate, rtol=1e-7)
    np.testing.assert_allclose(q[0, 0], angle, rtol=1e-7)


def test_torque_is_clipped_and_speed_is_limited():
    params = arm_params_for(1, joint_damping=0.0, max_joint_speed=5.0)
    q, qd = np.zeros((2, 1)), np.zeros((2, 1))
    arm.simulate(q, qd, np.array([[0.05], [10.0]]), params, steps=3)
    np.testing.assert_allclose(qd[0], qd[1])  # 10 N·m is clipped to max_torque
    arm.simulate(q, qd, np.full((2, 1), 0.05), params, steps=200)
    assert np.all(np.abs(qd) <= 5.0)


def test_damping_only_removes_energy():
    params = arm_params_for(2)
    q, qd = RNG.uniform(-np.pi, np.pi, (8, 2)), RNG.uniform(-5, 5, (8, 2))
    energies = [arm.kinetic_energy(q, qd, params)]
    for _ in range(50):
        arm.simulate(q, qd, np.zeros_like(q), params)
        energies.append(arm.kinetic_energy(q, qd, params))
    assert np.all(np.diff(np.array(energies), axis=0) < 0)


# --------------------------------------------------------------------------------------------
# Puck: contact, friction, rims
# --------------------------------------------------------------------------------------------
def _pusher(**kwargs) -> PusherCore:
    task = PusherCore(1, **kwargs)
    task.reset_rows(np.zeros(1, dtype=np.intp), np.zeros(1, dtype=np.uint64))
    return task


def _set_state(task: PusherCore, q, qd, puck) -> None:
    task.q[0], task.qd[0], task.puck[0] = q, qd, puck
    task._observe()


@pytest.mark.parametrize("push", [0.0, 1.0])
def test_puck_does_not_tunnel_through_the_fingertip_at_maximum_speed(push):
    """Straight arm sweeping at the joint speed limit into a puck just ahead of its fingertip."""
    task = _pusher()
    speed = task.params.max_joint_speed  # [rad/s] the fastest the arm can go
    reach, contact = task.params.reach, task.tip_radius + task.puck_radius
    puck_angle = 0.25  # [rad] ahead of the fingertip (which moves counter-clockwise)
    _set_state(task, [0.0, 0.0], [speed, 0.0], [reach * np.cos(puck_angle), reach * np.sin(puck_angle), 0, 0])
    hit = False
    for _ in range(30):
        task.step(np.array([[push, 0.0]]))
        tip, puck = task.points[0, -1], task.puck[0, :2]
        gap = np.linalg.norm(puck - tip) - contact
        assert gap > -0.05 * contact, f"fingertip overlaps the puck by {-gap * 1000:.2f} mm"
        hit |= bool(np.linalg.norm(task.puck[0, 2:]) > 0)
        # The puck stays ahead of the fingertip along the sweep (it never ends up behind it).
        ahead = np.angle(np.exp(1j * (np.arctan2(puck[1], puck[0]) - np.arctan2(tip[1], tip[0]))))
        assert ahead > 0 or np.linalg.norm(puck) > reach + contact - 1e-9
    assert hit, "the sweep never reached the puck"


def test_fast_puck_does_not_pass_through_a_resting_fingertip():
    task = _pusher()
    tip_x = task.params.reach  # straight arm along +x, at rest
    _set_state(task, [0.0, 0.0], [0.0, 0.0], [tip_x, 0.15, 0.0, -task.max_puck_speed])
    contact = task.tip_radius + task.puck_radius
    for _ in range(4):  # contact within the first two steps; afterwards the puck slides off the tip
        task.step(np.zeros((1, 2)))
        tip, puck = task.points[0, -1], task.puck[0, :2]
        assert np.linalg.norm(puck - tip) > 0.95 * contact  # no overlap beyond 5 % of the radii
        assert puck[1] > tip[1]  # it pushes the fingertip ahead of it, never passing through
    assert task.puck[0, 3] > -0.8 * task.max_puck_speed  # the hit took momentum out of the puck


def test_contact_exchanges_momentum_with_the_arm():
    """A puck thrown at a resting arm sets it turning (the arm feels the contact)."""
    task = _pusher(puck_friction=0.0)
    _set_state(task, [0.0, 0.0], [0.0, 0.0], [task.params.reach, 0.1, 0.0, -1.0])
    for _ in range(10):
        task.step(np.zeros((1, 2)))
    assert task.qd[0, 0] < -0.1  # pushed clockwise


def test_sliding_friction_stops_the_puck_at_the_analytic_distance():
    """Coulomb friction: a puck at v0 stops after v0² / (2 μ g) (to within one substep of travel)."""
    task = _pusher(puck_friction=0.4)
    v0 = 1.0  # [m/s]
    _set_state(task, [np.pi, 0.0], [0.0, 0.0], [-0.1, 0.0, v0, 0.0])  # arm points away (−x)
    for _ in range(40):
        task.step(np.zeros((1, 2)))
    assert np.all(task.puck[0, 2:] == 0.0)
    travelled = task.puck[0, 0] + 0.1
    expected = v0**2 / (2 * 0.4 * 9.81)
    assert abs(travelled - expected) <= v0 * task.h


def test_rims_keep_the_puck_on_the_table_and_bounce_it():
    task = _pusher(puck_friction=0.0, wall_restitution=0.5)
    _set_state(task, [np.pi, 0.0], [0.0, 0.0], [0.2, 0.0, 4.0, 1.0])  # [m, m, m/s, m/s]
    wall = task.table_half_size - task.puck_radius
    for _ in range(10):
        task.step(np.zeros((1, 2)))
        assert np.all(np.abs(task.puck[0, :2]) <= wall + 1e-12)
    np.testing.assert_allclose(task.puck[0, 2:], [-0.5 * 4.0, 1.0])
