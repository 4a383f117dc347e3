"""rlsuite/Highway-v0: the traffic models and the behaviour a user relies on.

The contract every env meets (native vector env == SyncVectorEnv, check_env, determinism, pickling,
masked resets, render modes) is ``tests/envs/test_vector_contract.py``; here are Highway's own
settings and behaviour."""

from __future__ import annotations

from dataclasses import fields

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rlsuite  # noqa: F401  (registers the ids)
from rlsuite.envs import render
from rlsuite.envs.driving import traffic
from rlsuite.envs.driving.highway import HighwayEnv, HighwayVectorEnv
from rlsuite.envs.driving.highway_core import (
    BACKGROUND_COLOR,
    EGO_COLOR,
    FASTER,
    IDLE,
    LANE_LEFT,
    LANE_RIGHT,
    LENGTH,
    LINE_COLOR,
    ROAD_COLOR,
    SLOWER,
    TRAFFIC_COLOR,
    WIDTH,
    HighwayConfig,
    HighwayCore,
)
from rlsuite.envs.driving.highway_kernels import _observe_impl
from tests.envs.test_vector_contract import drive_both

ENV_ID = "rlsuite/Highway-v0"


# --------------------------------------------------------------------------------------------
# Highway's own settings under the vector contract (the shared test runs the common variants)
# --------------------------------------------------------------------------------------------
def test_vector_env_equals_sync_vector_env_at_15_hz_with_dense_traffic():
    kwargs = {"simulation_frequency": 15, "vehicles_density": 2.0, "vehicles_count": 30, "lanes_count": 3}
    ends = drive_both(ENV_ID, {**kwargs, "max_episode_steps": 40}, num_envs=2, steps=150, seed=11)
    assert ends["terminated"] + ends["truncated"] > 0, ends


def test_vector_env_equals_sync_vector_env_for_odd_sizes():
    kwargs = {"vehicles_count": 7, "observed_vehicles": 9, "policy_frequency": 1, "max_episode_steps": 30}
    drive_both(ENV_ID, kwargs, num_envs=7, steps=60, seed=2)


def test_make_vec_uses_the_native_vector_env_with_the_registered_time_limit():
    env = gym.make_vec(ENV_ID, num_envs=2)
    assert isinstance(env, HighwayVectorEnv)
    assert env.max_episode_steps == 200
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP


def test_render_fps_is_the_policy_frequency():
    assert gym.make(ENV_ID, policy_frequency=1, simulation_frequency=5).metadata["render_fps"] == 1
    assert gym.make_vec(ENV_ID, num_envs=2, policy_frequency=5).metadata["render_fps"] == 5


def test_info_values_are_python_scalars_of_the_documented_types():
    env = gym.make(ENV_ID)
    _, reset_info = env.reset(seed=0)
    _, _, _, _, info = env.step(IDLE)
    types = {"speed": float, "crashed": bool, "on_road": bool, "off_road": bool, "lane": int}
    for key, value in info.items():
        assert type(value) is types.get(key, float), (key, value)
    assert list(reset_info) == list(info)  # the same keys and types as a step's, neutral values
    assert all(type(reset_info[key]) is type(value) for key, value in info.items())
    assert reset_info["speed"] == 25.0 and reset_info["on_road"] and not reset_info["off_road"]
    assert not reset_info["crashed"] and reset_info["reward_collision"] == 0.0


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(lanes=3, vehicles=30, density=1.0, observed=1, continuous=False, seed=0)  # only the ego observed
@given(
    lanes=st.integers(1, 6),
    vehicles=st.integers(1, 40),
    density=st.floats(0.2, 3.0),
    observed=st.integers(1, 8),
    continuous=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_observations_stay_in_space_for_any_configuration(
    lanes, vehicles, density, observed, continuous, seed
):
    env = HighwayEnv(
        lanes_count=lanes,
        vehicles_count=vehicles,
        vehicles_density=density,
        observed_vehicles=observed,
        action_type="continuous" if continuous else "discrete",
    )
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(60):
        assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.isfinite(reward) and 0.0 <= reward <= 1.0
        if terminated or truncated:
            obs, _ = env.reset()


def test_state_observation_of_the_ego_alone_reads_no_neighbour_slot():
    """observed_vehicles=1 leaves no neighbour slot: the kernel (run here as plain Python, where an
    index out of bounds raises instead of corrupting memory) must not touch one."""
    x = np.array([[0.0, 5.0, -8.0, 40.0]])
    y = np.array([[0.0, 4.0, 0.0, 8.0]])
    heading, speed = np.zeros_like(x), np.full_like(x, 25.0)
    obs = np.full((1, 1, 5), np.nan, dtype=np.float32)
    _observe_impl(x, y, heading, speed, np.array([4.0]), 3, 180.0, obs)
    assert obs[0, 0, 0] == 1.0 and np.all(np.isfinite(obs))


# --------------------------------------------------------------------------------------------
# Traffic models: the compiled kernel agrees with the numpy reference formulas
# --------------------------------------------------------------------------------------------
def _random_scene(rng, batch=6, vehicles=15, lanes=4):
    x = np.sort(rng.uniform(0, 300, size=(batch, vehicles)), axis=1)
    x = rng.permuted(x, axis=1)
    lane = rng.integers(0, lanes, size=(batch, vehicles))
    lane_width = rng.uniform(3.5, 4.5, size=batch)
    y = lane * lane_width[:, None] + rng.uniform(-0.4, 0.4, size=(batch, vehicles))
    speed = rng.uniform(15, 30, size=(batch, vehicles))
    target_speed = rng.uniform(20, 30, size=(batch, vehicles))
    target_lane = np.clip(
        lane + rng.integers(-1, 2, size=(batch, vehicles)) * (rng.random((batch, vehicles)) < 0.3),
        0,
        lanes - 1,
    )
    return x, y, lane, lane_width, speed, target_speed, target_lane


@pytest.mark.parametrize("politeness", [0.0, 0.5])
@pytest.mark.parametrize("seed", range(4))
def test_traffic_kernel_matches_numpy_reference(seed, politeness):
    rng = np.random.default_rng(seed)
    lanes, length = 4, LENGTH
    x, y, lane, lane_width, speed, target_speed, target_lane = _random_scene(rng, lanes=lanes)
    idm, mobil = traffic.IDMParams(), traffic.MOBILParams(politeness=politeness)
    due = rng.random(x.shape[0]) < 0.6
    buffers = traffic.TrafficBuffers(*x.shape)
    new_target = target_lane.copy()
    accel = traffic.traffic_accelerations(
        x, y, lane_width, speed, target_speed, new_target, due, lanes, length, idm, mobil, buffers
    ).copy()

    np.testing.assert_array_equal(buffers.lane, lane)
    leaders, followers = traffic.lane_neighbours(x, lane)
    np.testing.assert_array_equal(buffers.leaders, leaders)
    np.testing.assert_array_equal(buffers.followers, followers)

    me = np.broadcast_to(np.arange(x.shape[1]), x.shape)
    slot = np.clip(target_lane - lane + 1, 0, 2)
    target_leader = np.take_along_axis(leaders, slot[..., None], axis=2)[..., 0]
    pairs = np.stack([leaders[..., traffic.OWN], target_leader], axis=-1)
    expected = traffic.pair_accelerations(
        x, speed, target_speed, np.stack([me, me], axis=-1), pairs, length, idm
    ).min(axis=-1)
    np.testing.assert_allclose(accel, expected, rtol=1e-12, atol=1e-12)

    wanted = traffic.mobil_lane_changes(
        x, speed, target_speed, lane, leaders, followers, lanes, length, idm, mobil
    )
    may_change = due[:, None] & (target_lane == lane) & (me >= 1)
    np.testing.assert_array_equal(new_target, np.where(may_change, wanted, target_lane))


def test_idm_free_road_and_following():
    idm = traffic.IDMParams()
    free = traffic.idm_acceleration(
        np.array([20.0, 25.0, 30.0]), np.full(3, 25.0), np.full(3, np.inf), np.zeros(3), idm
    )
    assert free[0] > 0 and free[1] == 0 and free[2] < 0  # towards the target speed
    # closing in on a slower leader at 15 m brakes hard; a 60 m gap at equal speed barely matters
    close = traffic.idm_acceleration(
        np.array([25.0]), np.array([30.0]), np.array([15.0]), np.array([20.0]), idm
    )
    far = traffic.idm_acceleration(
        np.array([25.0]), np.array([30.0]), np.array([60.0]), np.array([25.0]), idm
    )
    assert close[0] < -3.0 and far[0] > -1.0
    assert close[0] >= -idm.accel_limit


def test_mobil_overtakes_a_slow_leader_only_when_safe():
    idm, mobil = traffic.IDMParams(), traffic.MOBILParams()
    # vehicle 0 at 25 m/s wanting 30, stuck 20 m behind vehicle 1 at 15 m/s, both in lane 1 of 2
    x = np.array([[0.0, 20.0, 2.0]])
    speed = np.array([[25.0, 15.0, 25.0]])
    target = np.array([[30.0, 15.0, 25.0]])
    for blocker_lane, expected in ((1, 0), (0, 1)):  # lane 0 free (blocker behind us) vs blocked beside
        lane = np.array([[1, 1, blocker_lane]])
        if blocker_lane == 1:
            x_scene = x.copy()
            x_scene[0, 2] = -200.0  # the third car far behind, out of the way
        else:
            x_scene = x
        leaders, followers = traffic.lane_neighbours(x_scene, lane)
        wanted = traffic.mobil_lane_changes(
            x_scene, speed, target, lane, leaders, followers, 2, LENGTH, idm, mobil
        )
        assert wanted[0, 0] == expected, (blocker_lane, wanted)


# --------------------------------------------------------------------------------------------
# Behaviour of the env
# --------------------------------------------------------------------------------------------
def _place_ego_only(env: HighwayEnv, lane: int = 1):
    """Move all traffic far away so the ego drives alone (test scenes)."""
    core = env.unwrapped.core
    core.x[0, 1:] = 5000.0 + 100.0 * np.arange(core.vehicles - 1)
    core.y[0, 0] = lane * core.lane_width[0]
    core.target_lane[0, 0] = lane
    return core


def test_meta_actions_change_lane_and_speed():
    env = HighwayEnv(lanes_count=3)
    env.reset(seed=0)
    core = _place_ego_only(env, lane=1)
    env.step(LANE_LEFT)
    for _ in range(10):  # 2 s
        env.step(IDLE)
    assert abs(core.y[0, 0] - 0.0) < 0.2 and abs(core.heading[0, 0]) < 0.02
    env.step(LANE_RIGHT)
    for _ in range(10):
        _, _, _, _, info = env.step(IDLE)
    assert info["lane"] == 1
    env.step(FASTER)
    for _ in range(20):
        _, _, _, _, info = env.step(IDLE)
    assert info["speed"] == pytest.approx(30.0, abs=0.5)
    assert info["reward_high_speed"] == pytest.approx(1.0, abs=0.05)


def test_keeping_right_is_rewarded():
    rewards = {}
    for lane in (0, 2):
        env = HighwayEnv(lanes_count=3)
        env.reset(seed=0)
        _place_ego_only(env, lane=lane)
        _, rewards[lane], _, _, info = env.step(IDLE)
        assert info["reward_right_lane"] == lane / 2
    assert rewards[2] > rewards[0]
    assert rewards[2] == pytest.approx((0.1 * 1.0 + 0.4 * 0.5 + 1.0) / 1.5)  # normalised


def test_collision_terminates_with_the_lowest_reward():
    env = HighwayEnv()
    env.reset(seed=0)
    core = _place_ego_only(env, lane=1)
    core.x[0, 1], core.y[0, 1], core.speed[0, 1], core.target_speed[0, 1] = 8.0, core.y[0, 0], 5.0, 5.0
    core.target_lane[0, 1] = 1
    _, reward, terminated, truncated, info = env.step(IDLE)
    assert terminated and not truncated and info["crashed"]
    assert info["reward_collision"] == 1.0
    assert reward <= (0.1 + 0.4) / 1.5 + 1e-9  # a crash costs the whole "survival" part


def test_leaving_the_road_terminates():
    env = HighwayEnv(action_type="continuous")
    env.reset(seed=0)
    _place_ego_only(env, lane=1)
    for _ in range(50):
        _, reward, terminated, _, info = env.step(np.array([0.0, 1.0], dtype=np.float32))
        if terminated:
            break
    assert terminated and not info["on_road"] and not info["crashed"] and reward == 0.0


def test_time_limit_from_registration():
    env = gym.make(ENV_ID, vehicles_count=1)
    env.reset(seed=0)
    _place_ego_only(env.unwrapped)
    for _ in range(200):
        _, _, terminated, truncated, _ = env.step(IDLE)
        assert not terminated
    assert truncated


def test_state_observation_lists_nearest_vehicles_first():
    env = HighwayEnv(vehicles_count=30, observed_vehicles=6)
    obs, _ = env.reset(seed=3)
    for _ in range(20):
        obs, *_ = env.step(IDLE)
    assert obs[0, 0] == 1 and obs[0, 1] == 0
    present = obs[1:, 0] == 1
    distance = np.hypot(obs[1:, 1] * 100.0, obs[1:, 2] * 4 * env.core.lane_width[0])
    assert np.all(np.diff(distance[present]) >= -1e-3)
    core = env.core
    ego_speed = core.speed[0, 0] * np.cos(core.heading[0, 0])
    assert obs[0, 3] == pytest.approx(ego_speed / 40.0, abs=1e-6)


def _reference_state_observation(core: HighwayCore) -> np.ndarray:
    """The documented observation table, computed with plain numpy (checks the compiled kernel)."""
    c = core.config
    k = c.observed_vehicles
    vx, vy = core.speed * np.cos(core.heading), core.speed * np.sin(core.heading)
    dx, dy = core.x[:, 1:] - core.x[:, :1], core.y[:, 1:] - core.y[:, :1]
    road_width = c.lanes_count * core.lane_width[:, None]
    obs = np.zeros((core.batch, k, 5))
    obs[:, 0, 0] = 1
    obs[:, 0, 2] = (core.y[:, 0] - 0.5 * (c.lanes_count - 1) * core.lane_width) / (0.5 * road_width[:, 0])
    obs[:, 0, 3], obs[:, 0, 4] = vx[:, 0] / 40.0, vy[:, 0] / 10.0
    distance2 = np.where(np.abs(dx) < c.perception_distance, dx**2 + dy**2, np.inf)
    for b in range(core.batch):
        order = np.argsort(distance2[b], kind="stable")[: k - 1]
        order = order[np.isfinite(distance2[b, order])]
        rows = obs[b, 1 : 1 + len(order)]
        rows[:, 0] = 1
        rows[:, 1] = dx[b, order] / c.perception_distance
        rows[:, 2] = dy[b, order] / road_width[b]
        rows[:, 3] = (vx[b, order + 1] - vx[b, 0]) / 40.0
        rows[:, 4] = (vy[b, order + 1] - vy[b, 0]) / 10.0
    return np.clip(obs, -1, 1).astype(np.float32)


@pytest.mark.parametrize("observed", [1, 5, 30])
def test_state_observation_matches_its_documented_table(observed):
    env = HighwayVectorEnv(
        num_envs=4, observed_vehicles=observed, vehicles_count=25, perception_distance=60.0
    )
    obs, _ = env.reset(seed=7)
    rng = np.random.default_rng(0)
    for _ in range(40):
        np.testing.assert_allclose(obs, _reference_state_observation(env.core), rtol=1e-6, atol=1e-6)
        obs, *_ = env.step(rng.integers(0, 5, size=4))


def test_absent_vehicles_are_zero_rows():
    env = HighwayEnv(vehicles_count=2, observed_vehicles=5)
    obs, _ = env.reset(seed=0)
    assert np.all(obs[3:] == 0) and np.all(obs[1:3, 0] == 1)


def test_traffic_stays_around_the_ego():
    env = HighwayEnv(vehicles_count=20)
    env.reset(seed=1)
    core = _place_ego_only(env, lane=0)
    core.x[0, 1:] = core.x[0, 0] - 50.0 - np.arange(20)  # all behind, close to the despawn line
    core.speed[0, 0] = core.target_speed[0, 0] = 30.0
    for _ in range(30):
        env.step(IDLE)
    ahead = core.x[0, 1:] - core.x[0, 0]
    assert np.all(ahead >= -80.0 - 30.0 / 5)  # nothing left far behind: respawned ahead
    assert np.sum(ahead > 0) >= 10


DEFAULT_PALETTE = np.array([BACKGROUND_COLOR, ROAD_COLOR, LINE_COLOR, EGO_COLOR, TRAFFIC_COLOR])


def _palette_of(core: HighwayCore) -> np.ndarray:
    """Default colours of background, road, markings, ego and every traffic car, (3 + V, 3)."""
    return np.concatenate([DEFAULT_PALETTE, np.repeat(DEFAULT_PALETTE[-1:], core.vehicles - 2, axis=0)])


@pytest.mark.parametrize("jitter", [1, 40, 255])
def test_color_jitter_leaves_the_dynamics_alone(jitter):
    plain = HighwayEnv(obs_type="pixels")
    jittered = HighwayEnv(obs_type="pixels", color_jitter=jitter)
    state = HighwayEnv(obs_type="state")
    a, _ = plain.reset(seed=4)
    b, _ = jittered.reset(seed=4)
    state.reset(seed=4)
    assert not np.array_equal(a, b)
    for t, action in enumerate((IDLE, FASTER, LANE_LEFT, IDLE, IDLE) * 8):
        step_a, step_b = plain.step(action), jittered.step(action)
        assert step_a[1:] == step_b[1:], t  # rewards, flags and info
        state.step(action)
        if step_a[2]:
            plain.reset()
            jittered.reset()
            state.reset()
    for core in (jittered.core, state.core):  # the same draws, with or without jitter or pixels
        for name in ("x", "y", "heading", "speed", "lane_width"):
            np.testing.assert_array_equal(getattr(plain.core, name), getattr(core, name), err_msg=name)


def test_color_jitter_shifts_each_channel_of_each_colour_by_at_most_the_jitter():
    plain = HighwayVectorEnv(num_envs=16)
    plain.reset(seed=0)
    default = _palette_of(plain.core)
    assert np.all(plain.core.palette == default)  # no jitter: the default palette
    free = (default > 40) & (default < 255 - 40)  # channels that ±40 does not clip at 0 or 255
    for jitter in (5, 40, 255):
        env = HighwayVectorEnv(num_envs=16, color_jitter=jitter)
        shifts = []
        for seed in range(4):
            env.reset(seed=seed)
            shift = env.core.palette.astype(int) - default
            assert np.all(np.abs(shift) <= jitter)
            shifts.append(shift[:, free])
        shifts = np.concatenate(shifts, axis=1)
        if jitter < 255:  # the whole range is used, and each channel moves on its own
            assert shifts.max() == jitter and shifts.min() == -jitter
            assert len(np.unique(shifts)) == 2 * jitter + 1
        else:  # clipped at 0 and 255: every channel can reach both ends
            assert np.any(env.core.palette == 0) and np.any(env.core.palette == 255)


@pytest.mark.parametrize("obs_type", ["pixels", "rgb_array"])
def test_cars_are_filled_like_the_shared_rasteriser_fills_rectangles(obs_type):
    """The drawing kernel fills each car itself; pixel for pixel as ``render.draw_rects`` would."""
    env = HighwayVectorEnv(num_envs=3, obs_type="pixels", color_jitter=60, render_mode="rgb_array")
    env.reset(seed=5)
    core = env.core
    rng = np.random.default_rng(0)
    core.x[:, 1:] = core.x[:, :1] + rng.uniform(-40, 60, size=(3, core.vehicles - 1))
    core.y[:] += rng.uniform(-1.5, 1.5, size=core.y.shape)
    core.heading[:] = rng.uniform(-0.7, 0.7, size=core.heading.shape)
    rows = np.arange(3)
    draw = core.observe_pixels if obs_type == "pixels" else lambda: core.frames(rows)
    palette = core._obs_palette if obs_type == "pixels" else core.palette
    view = core._obs_view if obs_type == "pixels" else core._render_view
    frames = draw()
    core.x[:, 1:] += 1e6  # the road alone, then the cars through the shared rasteriser
    road = draw()
    core.x[:, 1:] -= 1e6
    centre_y = (
        core.y[:, :1] if view.follow_ego else 0.5 * (core.config.lanes_count - 1) * core.lane_width[:, None]
    )
    corners = render.rect_vertices(
        np.stack([core.x - core.x[:, :1], core.y], axis=-1), np.array([LENGTH / 2, WIDTH / 2]), core.heading
    )
    corners[..., 0] = corners[..., 0] * view.scale_x + view.ego_column
    corners[..., 1] = (corners[..., 1] - centre_y[..., None]) * view.scale_y + 0.5 * view.height
    expected = render.draw_polygons(road.copy(), corners, palette[:, 3:])
    np.testing.assert_array_equal(frames, expected)
    assert (frames != road).any(axis=-1).sum() > 100  # the cars are in the picture


def test_pixel_observation_shows_the_ego_at_its_anchor():
    env = HighwayEnv(obs_type="pixels")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (84, 84, 3) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[42, 25], EGO_COLOR)  # mid-height, 30 % of the width
    gray = HighwayEnv(obs_type="pixels", grayscale=True, pixel_shape=(64, 96))
    obs, _ = gray.reset(seed=0)
    assert obs.shape == (64, 96, 1)


def test_rgb_array_render_shows_the_whole_road():
    env = gym.make(ENV_ID, render_mode="rgb_array", lanes_count=3)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (110, 800, 3) and frame.dtype == np.uint8
    assert np.any(np.all(frame == EGO_COLOR, axis=-1))
    vec = gym.make_vec(ENV_ID, num_envs=2, render_mode="rgb_array")
    vec.reset(seed=0)
    frames = vec.render()
    assert len(frames) == 2 and frames[0].shape == (130, 800, 3)


def _careful_driver(obs: np.ndarray, lanes: int = 4) -> np.ndarray:
    """A hand-written policy on the state observation: overtake blockers when the lane is free."""
    lane_step = 1.0 / lanes  # one lane, in units of the road width (the observation's y scale)
    present = obs[:, 1:, 0] == 1
    dx, dy = obs[:, 1:, 1], obs[:, 1:, 2]

    def occupied(offset, ahead, behind):
        in_lane = present & (np.abs(dy - offset * lane_step) < 0.4 * lane_step)
        return (in_lane & (dx > -behind) & (dx < ahead)).any(axis=1)

    blocked = occupied(0, 0.3, 0.0)  # a car less than 30 m ahead in our lane
    settled = np.abs(obs[:, 0, 4]) < 0.05  # not in the middle of a lane change
    ego_y = obs[:, 0, 2]
    left_ok = ~occupied(-1, 0.35, 0.15) & (ego_y > -1 + 2 * lane_step)
    right_ok = ~occupied(1, 0.35, 0.15) & (ego_y < 1 - 2 * lane_step)
    action = np.where(blocked, SLOWER, IDLE)
    action = np.where(blocked & settled & right_ok, LANE_RIGHT, action)
    return np.where(blocked & settled & left_ok, LANE_LEFT, action)


def test_the_state_observation_lets_a_policy_avoid_crashes():
    """A policy reading the observation survives far longer than IDLE (issue 6 trains DQN on it)."""
    lengths = {}
    for name in ("idle", "careful"):
        env = HighwayVectorEnv(num_envs=32, max_episode_steps=200)
        obs, _ = env.reset(seed=0)
        alive = np.ones(32, dtype=bool)
        length = np.zeros(32)
        for _ in range(200):
            action = np.full(32, IDLE) if name == "idle" else _careful_driver(obs)
            obs, _, terminated, truncated, _ = env.step(action)
            length += alive
            alive &= ~(terminated | truncated)
        lengths[name] = length.mean()
    assert lengths["careful"] > 1.3 * lengths["idle"], lengths
    assert lengths["idle"] < 180, lengths  # IDLE does crash: the traffic is a real hazard


# --------------------------------------------------------------------------------------------
# Errors a user can act on
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"obs_type": "rgb"}, "obs_type"),
        ({"action_type": "meta"}, "action_type"),
        ({"lanes_count": 0}, r"Highway: lanes_count must be an integer in \[1, 10\], got 0"),
        ({"vehicles_count": 2.5}, "vehicles_count"),
        ({"vehicles_density": -1.0}, "vehicles_density"),
        ({"simulation_frequency": 7}, "simulation_frequency"),
        ({"pixel_shape": (84,)}, "pixel_shape"),
        ({"pixel_shape": 4}, "pixel_shape"),
        ({"color_jitter": 256}, r"color_jitter must be an integer in \[0, 255\], got 256"),
        ({"color_jitter": 0.5}, "color_jitter"),
        ({"randomize_colors": True}, "randomize_colors' was renamed: use color_jitter"),
        ({"lane_width": (5.0, 3.0)}, "lane_width"),
        ({"lane_width": 10.0}, "lane_width"),
        ({"grayscale": "yes"}, "grayscale"),
        ({"reward_speed_range": (30, 20)}, "reward_speed_range"),
        ({"collision_reward": 1.0}, "collision_reward"),
        ({"traffic_speed_range": (10, 50)}, "traffic_speed_range"),
        ({"perception_distance": 0}, "perception_distance"),
        ({"lanes": 3}, r"unknown kwarg\(s\) \['lanes'\]"),
        ({"render_mode": "video"}, "render_mode"),
    ],
)
def test_bad_kwargs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HighwayEnv(**kwargs)
    with pytest.raises(ValueError, match=match):
        HighwayVectorEnv(num_envs=2, **kwargs)


def test_time_limits_come_from_gymnasium_make():
    with pytest.raises(ValueError, match=r"max_episode_steps.*gymnasium.make\(id, max_episode_steps=N\)"):
        HighwayEnv(max_episode_steps=10)
    env = gym.make(ENV_ID, max_episode_steps=3, vehicles_count=1)
    env.reset(seed=0)
    assert [env.step(IDLE)[3] for _ in range(3)] == [False, False, True]
    assert HighwayVectorEnv(num_envs=2, max_episode_steps=3).max_episode_steps == 3


def test_pixel_shape_may_be_one_int():
    env = HighwayEnv(obs_type="pixels", pixel_shape=32, grayscale=True)
    assert env.observation_space.shape == (32, 32, 1)
    assert env.reset(seed=0)[0].shape == (32, 32, 1)


@pytest.mark.parametrize("action", [5, -1, 1.5, "LEFT", True, np.array([1, 2])])
def test_bad_discrete_actions_raise(action):
    env = HighwayEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Highway: action must be an integer in \[0, 5\)"):
        env.step(action)


@pytest.mark.parametrize("action", [np.zeros(3), np.array([0.0, 2.0]), np.array([np.nan, 0.0]), "fast", 1])
def test_bad_continuous_actions_raise(action):
    env = HighwayEnv(action_type="continuous")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Highway: action must .*(shape|\[-1, 1\])"):
        env.step(action)


def test_bad_vector_actions_and_masks_raise():
    env = HighwayVectorEnv(num_envs=3)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions \(a batch of 3\) must have shape \(3,\)"):
        env.step(np.array([1, 1]))
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.array([1, 0, 1])})
    continuous = HighwayVectorEnv(num_envs=2, action_type="continuous")
    continuous.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        continuous.step(np.zeros(2))


def test_config_is_shared_and_documented():
    config = HighwayConfig()
    assert config.simulation_frequency % config.policy_frequency == 0
    assert HighwayConfig.from_kwargs({"lane_width": (4, 4), "pixel_shape": 48}) == HighwayConfig(
        lane_width=4.0, pixel_shape=(48, 48)
    )
    core = HighwayCore(2, lanes_count=3)
    assert core.vehicles == config.vehicles_count + 1 and core.config.lanes_count == 3
    assert HighwayEnv.core_class is HighwayVectorEnv.core_class is HighwayCore
    for name in (f.name for f in fields(HighwayConfig)):
        assert f"``{name}``" in HighwayEnv.__doc__, name
