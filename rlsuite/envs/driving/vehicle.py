"""Kinematic bicycle model, batched over rows, in SI units.

The state of ``B`` cars is a float64 array ``(B, 4)`` of ``[x, y, heading, speed]`` in
``[m, m, rad, m/s]``. The reference point is the centre of gravity, halfway between the axles, with
the slip angle of Kong et al., "Kinematic and dynamic vehicle models for autonomous driving control
design" (IV 2015):

    beta     = atan(tan(steer) * rear_axle_to_cog / wheelbase)
    x'       = speed * cos(heading + beta)
    y'       = speed * sin(heading + beta)
    heading' = speed * sin(beta) / rear_axle_to_cog
    speed'   = accel

Integration is semi-implicit Euler: the speed is updated first, then the pose with the new speed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

X, Y, HEADING, SPEED = 0, 1, 2, 3
STATE_SIZE = 4


@dataclass(frozen=True)
class VehicleParams:
    """Physical limits of a car (SI units). The defaults are a small road car."""

    wheelbase: float = 2.6  # [m] axle to axle
    length: float = 4.4  # [m] body, for drawing and collisions
    width: float = 1.8  # [m] body, for drawing and collisions
    max_steer: float = 0.5  # [rad] front-wheel angle at full lock (~29 deg)
    max_accel: float = 4.0  # [m/s^2] at full throttle
    max_brake: float = 8.0  # [m/s^2] at full brake
    max_speed: float = 30.0  # [m/s] (108 km/h)
    drag: float = 0.1  # [1/s] speed lost per second per m/s when coasting (rolling + air, linearised)
    # [m/s^2] grip limit: the path curvature is capped at max_lateral_accel / speed^2, so a fast car
    # understeers instead of turning on the spot (inf = no limit, the pure kinematic model)
    max_lateral_accel: float = float("inf")

    def __post_init__(self) -> None:
        for name in ("wheelbase", "length", "width", "max_steer", "max_accel", "max_brake", "max_speed"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"VehicleParams.{name} must be a positive finite number, got {value!r}")
        if not (self.max_lateral_accel > 0):
            raise ValueError(
                f"VehicleParams.max_lateral_accel must be > 0 (inf for no limit), got {self.max_lateral_accel!r}"
            )
        if not (np.isfinite(self.drag) and self.drag >= 0):
            raise ValueError(f"VehicleParams.drag must be a finite number >= 0, got {self.drag!r}")


def pedal_to_accel(pedal: np.ndarray, params: VehicleParams) -> np.ndarray:
    """Map a pedal in [-1, 1] (negative brakes, positive accelerates) to an acceleration [m/s^2]."""
    return np.where(pedal >= 0.0, pedal * params.max_accel, pedal * params.max_brake)


def step_bicycle(
    state: np.ndarray, steer: np.ndarray, accel: np.ndarray, params: VehicleParams, dt: float
) -> None:
    """Advance ``state`` ``(B, 4)`` in place by ``dt`` [s].

    ``steer`` [rad] is the front-wheel angle (clipped to ``±max_steer``), ``accel`` [m/s^2] the
    longitudinal acceleration before drag. The speed stays in ``[0, max_speed]``: braking stops the
    car, it never reverses. With a finite ``max_lateral_accel`` the slip angle is limited so that
    ``speed^2 * curvature <= max_lateral_accel`` (the car understeers at the grip limit).
    """
    steer = np.clip(steer, -params.max_steer, params.max_steer)
    speed = state[:, SPEED]
    speed += (accel - params.drag * speed) * dt
    np.clip(speed, 0.0, params.max_speed, out=speed)
    beta = np.arctan(0.5 * np.tan(steer))  # the centre of gravity is halfway: lr / L = 0.5
    if params.max_lateral_accel != float("inf"):
        # path curvature of the centre of gravity is sin(beta) / lr = 2 sin(beta) / L
        sin_limit = (0.5 * params.wheelbase * params.max_lateral_accel) / np.maximum(speed * speed, 1e-9)
        beta_limit = np.arcsin(np.minimum(sin_limit, 1.0))
        beta = np.clip(beta, -beta_limit, beta_limit)
    course = state[:, HEADING] + beta
    state[:, X] += speed * np.cos(course) * dt
    state[:, Y] += speed * np.sin(course) * dt
    heading = state[:, HEADING]
    heading += speed * np.sin(beta) * (2.0 / params.wheelbase) * dt
    # keep the heading in [-pi, pi) so float precision does not degrade over long episodes
    np.subtract(np.mod(heading + np.pi, 2.0 * np.pi), np.pi, out=heading)
