"""The definitions of solved (rlsuite/envs/solved.py): one per registered env, judged on an evaluation's
``<metric>_mean`` figures, with thresholds that follow the env's kwargs."""

import math
from pathlib import Path

import pytest

from rlsuite.envs.registration import ENV_SPECS
from rlsuite.envs.solved import DEFINITIONS, definition, grid_racetrack_optimum, is_solved

REPO = Path(__file__).parents[2]


def test_every_registered_env_has_a_definition_with_an_anchor():
    assert set(DEFINITIONS) == {spec.id for spec in ENV_SPECS}
    for env_id, solved in DEFINITIONS.items():
        assert solved.episodes >= 100, env_id
        assert solved.anchor.figure and solved.anchor.source and solved.anchor.gap, env_id
        assert (
            solved.anchor.url.startswith(("https://", "http://")) or (REPO / solved.anchor.url).is_file()
        ), env_id
        assert solved.thresholds({"track": "random"} if env_id == "rlsuite/Racetrack-v0" else {}), env_id


def test_highway_crash_rate_and_speed_range():
    good = {"crash_rate_mean": 0.05, "mean_speed_mean": 20.0, "return_mean": 1.0}
    assert is_solved("rlsuite/Highway-v0", {}, good)[0]
    assert not is_solved("rlsuite/Highway-v0", {}, {**good, "crash_rate_mean": 0.06})[0]
    assert not is_solved("rlsuite/Highway-v0", {}, {**good, "mean_speed_mean": 19.9})[0]
    assert not is_solved("rlsuite/Highway-v0", {}, {**good, "mean_speed_mean": 30.1})[0]
    ok, message = is_solved("rlsuite/Highway-v0", {}, {**good, "crash_rate_mean": 0.2})
    assert not ok and "crash_rate_mean = 0.2, needs <= 0.05" in message


def test_highway_speed_range_is_the_envs_reward_speed_range_kwarg():
    result = {"crash_rate_mean": 0.0, "mean_speed_mean": 24.0}
    assert is_solved("rlsuite/Highway-v0", {}, result)[0]
    ok, message = is_solved("rlsuite/Highway-v0", {"reward_speed_range": (25.0, 30.0)}, result)
    assert not ok and "in [25, 30]" in message


def test_robot_success_rates():
    assert is_solved("rlsuite/Reacher-v0", {}, {"success_rate_mean": 0.95})[0]
    assert not is_solved("rlsuite/Reacher-v0", {}, {"success_rate_mean": 0.94})[0]
    assert is_solved("rlsuite/Pusher-v0", {}, {"success_rate_mean": 0.80})[0]
    assert not is_solved("rlsuite/Pusher-v0", {}, {"success_rate_mean": 0.79})[0]


def test_racetrack_needs_unseen_layouts():
    assert is_solved("rlsuite/Racetrack-v0", {"track": "random"}, {"return_mean": 290.0})[0]
    assert is_solved("rlsuite/Racetrack-v0", {"track": 12345, "obs_type": "pixels"}, {"return_mean": 291.0})[
        0
    ]
    assert not is_solved("rlsuite/Racetrack-v0", {"track": "random"}, {"return_mean": 289.9})[0]
    ok, message = is_solved("rlsuite/Racetrack-v0", {}, {"return_mean": 300.0})
    assert not ok and "unseen layouts" in message and "'kidney'" in message


def test_grid_racetrack_is_within_five_percent_of_the_value_iteration_optimum():
    assert grid_racetrack_optimum({"track": "classic"}) == -11.0  # 11 steps from every start cell
    wide = grid_racetrack_optimum({"track": "wide", "noise": 0.1})
    assert wide < grid_racetrack_optimum({"track": "wide"}) < 0  # noise costs time
    bar = wide * 1.05
    assert is_solved(
        "rlsuite/GridRacetrack-v0", {"track": "wide", "noise": 0.1}, {"return_mean": bar + 1e-9}
    )[0]
    assert not is_solved(
        "rlsuite/GridRacetrack-v0", {"track": "wide", "noise": 0.1}, {"return_mean": bar - 1e-3}
    )[0]
    assert is_solved("rlsuite/GridRacetrack-v0", {}, {"return_mean": -11.5})[0]  # classic, noise 0
    assert not is_solved("rlsuite/GridRacetrack-v0", {}, {"return_mean": -11.6})[0]


def test_missing_nan_and_too_few_episodes_do_not_count():
    ok, message = is_solved("rlsuite/Reacher-v0", {}, {"return_mean": -3.0})
    assert not ok and "success_rate_mean missing" in message
    assert not is_solved("rlsuite/Reacher-v0", {}, {"success_rate_mean": math.nan})[0]
    ok, message = is_solved("rlsuite/Reacher-v0", {}, {"success_rate_mean": 1.0, "episodes": 20})
    assert not ok and "only 20 episodes" in message


def test_the_training_logs_names_are_read_too():
    assert is_solved("rlsuite/Reacher-v0", {}, {"eval/success_rate": 0.99})[0]
    assert is_solved("rlsuite/GridRacetrack-v0", {}, {"eval/return_mean": -11.0})[0]


def test_unknown_env_id_names_the_defined_ones():
    assert definition("rlsuite:rlsuite/Pusher-v0").env_id == "rlsuite/Pusher-v0"
    with pytest.raises(KeyError, match="rlsuite/Highway-v0"):
        definition("CartPole-v1")
