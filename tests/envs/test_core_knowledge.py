"""What code outside ``envs/`` may ask an env's batched core (``rlsuite.envs.core.BatchCore``):
probe variables, privileged state, a scripted behaviour policy and a policy picture, each ``None`` by
default; and the one way every env declares its kwargs (``EnvKwargs``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.envs.core import BatchCore, EnvKwargs, core_of
from rlsuite.envs.driving.grid_racetrack import GridRacetrackCore, plot_policy
from rlsuite.envs.registration import ENV_SPECS

NAMES = [spec.id.split("/")[1].split("-")[0] for spec in ENV_SPECS]  # "Racetrack", …
PIXEL_ENVS = ("Racetrack", "Highway", "Reacher", "Pusher")
SMALL = {"pixel_shape": 36}


def make_vec(name: str, num_envs: int = 3, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.make_vec(f"rlsuite/{name}-v0", num_envs=num_envs, **kwargs)


def core_class(name: str) -> type[BatchCore]:
    return core_of(gym.make(f"rlsuite/{name}-v0")).__class__


# --------------------------------------------------------------------------------------------
# Optional knowledge
# --------------------------------------------------------------------------------------------
class _Bare(BatchCore):
    """A core that implements only the required methods."""

    name = "Bare"

    def __init__(self, batch: int) -> None:
        super().__init__(batch)
        self.single_observation_space = gym.spaces.Discrete(2)
        self.single_action_space = gym.spaces.Discrete(2)

    def reset_rows(self, rows, options):
        pass

    def step(self, actions, active):
        return np.zeros(self.batch), np.zeros(self.batch, bool), {}

    def observe(self):
        return np.zeros(self.batch, np.int64)

    def frames(self, rows):
        return np.zeros((len(rows), 2, 2, 3), np.uint8)


def test_a_core_offers_no_knowledge_by_default(tmp_path):
    core = _Bare(2)
    assert core.probe_variables() is None
    assert core.privileged_state() is None
    assert core.scripted_policy(np.random.default_rng(0)) is None
    assert core.plot_policy(np.zeros(2), lambda obs: 0, tmp_path / "policy.png") is None
    assert not (tmp_path / "policy.png").exists()


def test_core_of_finds_the_core_through_wrappers_and_only_ours():
    single = gym.make("rlsuite/Reacher-v0")  # TimeLimit, OrderEnforcing, … around the env
    assert core_of(single) is single.unwrapped.core
    vector = make_vec("Reacher", 2)
    assert core_of(gym.wrappers.vector.RecordEpisodeStatistics(vector)) is vector.core
    assert core_of(gym.make("CartPole-v1")) is None
    assert core_of(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync")) is None


@pytest.mark.parametrize("name", PIXEL_ENVS)
@pytest.mark.parametrize("obs_type", ["state", "pixels"])
def test_probe_variables_and_privileged_state_are_named_fresh_float32_rows(name, obs_type):
    envs = make_vec(name, 3, obs_type=obs_type, **SMALL)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    envs.step(envs.action_space.sample())
    core = core_of(envs)
    for ask in (core.probe_variables, core.privileged_state):
        names, values = ask()
        assert values.dtype == np.float32 and values.shape == (3, len(names)) and len(names) > 0
        assert len(set(names)) == len(names) and np.isfinite(values).all()
        kept = values.copy()
        values[:] = 123.0  # the caller's own array: the core's state does not change
        np.testing.assert_array_equal(ask()[1], kept)


@pytest.mark.parametrize("name", PIXEL_ENVS)
def test_privileged_state_of_a_pixel_env_is_the_state_observation(name):
    """The pixel env's privileged state equals what the state env observes, step for step (the pixel
    Racetrack computes its look-ahead and lidar only once asked)."""
    state, pixels = make_vec(name, 2, obs_type="state"), make_vec(name, 2, obs_type="pixels", **SMALL)
    obs, _ = state.reset(seed=3)
    pixels.reset(seed=3)
    names, values = core_of(pixels).privileged_state()
    state.action_space.seed(3)
    for _ in range(30):
        np.testing.assert_array_equal(values, obs.reshape(2, -1))
        actions = state.action_space.sample()
        obs, *_ = state.step(actions)
        pixels.step(actions)
        values = core_of(pixels).privileged_state()[1]
    assert len(names) == obs.reshape(2, -1).shape[1]


@pytest.mark.parametrize("name", ["Racetrack", "Highway"])
def test_driving_probe_variables_are_the_ego_rows_of_the_state_observation(name):
    envs = make_vec(name, 4)
    obs, _ = envs.reset(seed=1)
    envs.action_space.seed(1)
    for _ in range(10):
        obs, *_ = envs.step(envs.action_space.sample())
    names, values = core_of(envs).probe_variables()
    if name == "Racetrack":  # obs: speed / 30, heading error / π, lateral offset / half-width
        assert names == ["speed", "heading_error", "lateral_offset"]
        np.testing.assert_allclose(values, np.clip(obs[:, :3], -3, 3), atol=1e-6)
    else:  # obs row 0: presence, x, y (lateral offset), vx / 40, vy / 10
        assert names == ["speed", "heading", "lateral_offset"]
        np.testing.assert_allclose(values[:, 2], obs[:, 0, 2], atol=1e-6)
        speed = np.hypot(obs[:, 0, 3] * 40.0, obs[:, 0, 4] * 10.0) / 40.0
        np.testing.assert_allclose(values[:, 0], speed, atol=1e-5)


@pytest.mark.parametrize("name", ["Reacher", "Pusher"])
def test_arm_probe_variables_are_joint_angles_rates_and_the_task_object(name):
    envs = make_vec(name, 2, n_links=3)
    envs.reset(seed=2)
    envs.step(envs.action_space.sample())  # the arm moves: its joint rates are not all zero
    names, values = core_of(envs).probe_variables()
    assert names[:9] == [f"{kind}_q{i}" for kind in ("cos", "sin", "vel") for i in range(3)]
    q, qd = core_of(envs).q, core_of(envs).qd
    assert np.abs(qd).max() > 0
    np.testing.assert_allclose(values[:, :6], np.concatenate([np.cos(q), np.sin(q)], axis=1), atol=1e-6)
    np.testing.assert_allclose(values[:, 6:9], qd, atol=1e-5)
    target = core_of(envs).target if name == "Reacher" else core_of(envs).puck[:, :2]
    np.testing.assert_allclose(values[:, 9:], target, atol=1e-6)


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_racetrack_scripted_driver_keeps_to_the_road_with_its_own_randomness(action_type):
    envs = make_vec("Racetrack", 8, action_type=action_type)
    envs.reset(seed=0)
    core = core_of(envs)
    driver = core.scripted_policy(np.random.default_rng(0))
    crashes = 0
    for _ in range(300):
        streams = core.rng.state.copy()
        actions = driver()
        np.testing.assert_array_equal(core.rng.state, streams)  # the rows' own streams are untouched
        assert all(envs.single_action_space.contains(a) for a in actions)
        crashes += envs.step(actions)[2].sum()
    assert crashes == 0
    envs.reset(seed=0)
    envs.action_space.seed(0)
    random_crashes = sum(envs.step(envs.action_space.sample())[2].sum() for _ in range(300))
    assert random_crashes > 0  # the same cars under random actions leave the road


@pytest.mark.parametrize("name", ["Highway", "Reacher", "Pusher", "GridRacetrack"])
def test_envs_without_a_scripted_driver_say_so(name):
    assert core_of(make_vec(name, 2)).scripted_policy(np.random.default_rng(0)) is None


def test_grid_racetrack_draws_its_policy_on_its_own_track(tmp_path):
    pytest.importorskip("matplotlib")
    custom = ["..ooF", ".ooo.", "SSoo."]
    core = core_of(make_vec("GridRacetrack", 2, track=custom))
    values = np.linspace(-10, 0, core.single_observation_space.n)
    values[::7] = np.nan
    path = core.plot_policy(values, lambda obs: 5, tmp_path / "core.png", title="test")
    reference = plot_policy(values, lambda obs: 5, tmp_path / "ref.png", track=custom, title="test")
    assert path.read_bytes() == reference.read_bytes()  # (the values fit only this track's states)


@pytest.mark.parametrize("name", ["Racetrack", "Highway", "Reacher", "Pusher"])
def test_other_envs_draw_no_policy_picture(name, tmp_path):
    core = core_of(make_vec(name, 1))
    assert core.plot_policy(np.zeros(3), lambda obs: 0, tmp_path / "policy.png") is None
    assert not (tmp_path / "policy.png").exists()


# --------------------------------------------------------------------------------------------
# One way to declare kwargs
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_env_declares_its_kwargs_in_one_checked_dataclass(name):
    config_class = core_class(name).kwargs_class
    assert issubclass(config_class, EnvKwargs) and config_class is not EnvKwargs
    assert config_class.env_name == name
    assert config_class.__dataclass_params__.frozen
    for spec in dataclasses.fields(config_class):
        assert spec.metadata.get("check") is not None, f"{name}.{spec.name} has no check"
    assert config_class.from_kwargs({}) == config_class()
    core = core_of(make_vec(name, 1))
    assert core.config == config_class()


@pytest.mark.parametrize("name", NAMES)
def test_unknown_kwargs_name_the_env_the_kwarg_and_the_allowed_ones(name):
    config_class = core_class(name).kwargs_class
    for build in (lambda: config_class.from_kwargs({"colour": 1}), lambda: make_vec(name, 2, colour=1)):
        with pytest.raises(ValueError) as error:
            build()
        message = str(error.value)
        assert message.startswith(f"{name}: unknown kwarg(s) ['colour']; allowed: ")
        assert all(repr(spec.name) in message for spec in dataclasses.fields(config_class))


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("GridRacetrack", {"noise": 2}, r"GridRacetrack: noise must be a finite number in \[0.0, 1.0\], got 2"),
        ("Racetrack", {"lidar_rays": -1}, r"Racetrack: lidar_rays must be an integer in \[0, 64\], got -1"),
        ("Highway", {"lanes_count": 0}, r"Highway: lanes_count must be an integer in \[1, 10\], got 0"),
        ("Reacher", {"success_tolerance": 0}, r"Reacher: success_tolerance must be a finite number > 0.0 m, got 0"),
        ("Pusher", {"puck_mass": -1}, r"Pusher: puck_mass must be a finite number > 0.0 kg, got -1"),
        ("Pusher", {"table_half_size": 0.2}, r"Pusher: table_half_size must exceed reach"),
        ("Reacher", {"n_links": 7, "action_type": "discrete"}, r"Reacher: action_type='discrete' needs n_links <= 6"),
        ("Highway", {"simulation_frequency": 7}, r"Highway: simulation_frequency must be a multiple of"),
        ("Reacher", {"params": "fast"}, r"Reacher: params must be None or an ArmParams"),
    ],
)  # fmt: skip
def test_a_bad_value_names_the_env_the_kwarg_the_value_and_what_is_allowed(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        core_class(name).kwargs_class.from_kwargs(kwargs)
    with pytest.raises(ValueError, match=message):
        make_vec(name, 2, **kwargs)


@pytest.mark.parametrize(
    ("name", "old", "replacement"),
    [
        ("Highway", "randomize_colors", "color_jitter"),
        ("Reacher", "randomize_colors", "color_jitter"),
        ("Pusher", "randomize_link_width", "width_jitter"),
    ],
)
def test_a_renamed_kwarg_names_its_replacement(name, old, replacement):
    with pytest.raises(ValueError, match=rf"{name}: the kwarg '{old}' was renamed: use {replacement}"):
        make_vec(name, 2, **{old: True})


def test_values_are_normalised_once_in_the_config():
    config = core_class("Racetrack").kwargs_class.from_kwargs(
        {"pixel_shape": 40, "color_jitter": np.int64(3)}
    )
    assert config.pixel_shape == (40, 40) and type(config.color_jitter) is int
    grid = GridRacetrackCore.kwargs_class.from_kwargs({"track": ["SoF"]})
    assert grid.track == ("SoF",)
