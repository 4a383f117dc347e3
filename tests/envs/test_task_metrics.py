"""Task metrics (``rlsuite.envs.core.TaskMetric``): what each env's episodes achieved besides the
return, computed from info keys by ``rlsuite.rollout.run_episodes`` and logged by every evaluation.

Also the schema they rest on: every env's ``reset()`` info has exactly the keys, types, shapes and
dtypes of its ``step()`` info, single and vector, so tools that record infos take our envs (Minari's
``DataCollector(env, record_infos=True)`` asserts this with ``_check_infos_same_shape``, mirrored
below: its collector needs jax, which the dev environment does not install).
"""

from __future__ import annotations

import csv
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlsuite
from rlsuite.config import EnvConfig
from rlsuite.envs.core import TaskMetric, core_of, task_metrics
from rlsuite.envs.driving.racetrack_kernels import DT
from rlsuite.envs.registration import ENV_SPECS
from rlsuite.rollout import make_envs, run_episodes
from rlsuite.training import _run_episodes_side_by_side, evaluate_run

IDS = [spec.id for spec in ENV_SPECS]
SMALL = {"pixel_shape": (24, 24)}


def _obs_variants(env_id: str) -> list[dict[str, Any]]:
    """Both observation types where the env has them (pixels kept small)."""
    kwargs = core_of(gym.make(env_id)).kwargs_class.defaults()
    return [{}, {"obs_type": "pixels", **SMALL}] if "obs_type" in kwargs else [{}]


CASES = [(env_id, variant) for env_id in IDS for variant in _obs_variants(env_id)]
CASE_IDS = [f"{env_id.split('/')[1]}-{variant.get('obs_type', 'state')}" for env_id, variant in CASES]


def _same_schema(reset_info: dict, step_info: dict) -> bool:
    """Minari's ``_check_infos_same_shape``, for every key: the same keys, the same type per key,
    and the same shape and dtype for arrays."""
    if reset_info.keys() != step_info.keys():
        return False
    for key, value in reset_info.items():
        other = step_info[key]
        if type(value) is not type(other):
            return False
        if isinstance(value, np.ndarray) and (value.shape != other.shape or value.dtype != other.dtype):
            return False
    return True


def _constant_action(space: gym.Space, value: float = 0.0) -> Any:
    if isinstance(space, gym.spaces.Discrete):
        return int(space.start)
    return np.full(space.shape, value, dtype=space.dtype)


# --------------------------------------------------------------------------------------------
# reset() info == step() info: keys, types, shapes, dtypes
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("env_id", "variant"), CASES, ids=CASE_IDS)
def test_single_env_reset_info_has_the_step_info_schema(env_id: str, variant: dict) -> None:
    env = gym.make(env_id, max_episode_steps=4, **variant)
    env.action_space.seed(0)
    _, reset_info = env.reset(seed=0)
    for _ in range(6):  # across an episode's end: the reset info after it too
        _, _, terminated, truncated, step_info = env.step(env.action_space.sample())
        assert _same_schema(reset_info, step_info), (env_id, reset_info, step_info)
        if terminated or truncated:
            _, reset_info = env.reset()
    for key, value in reset_info.items():
        if key.startswith("reward_"):
            assert value == 0.0, f"{env_id}: reset info {key} = {value}, not a neutral 0"
    env.close()


@pytest.mark.parametrize(("env_id", "variant"), CASES, ids=CASE_IDS)
def test_vector_env_reset_infos_have_the_step_infos_schema_like_sync_vector_env(
    env_id: str, variant: dict
) -> None:
    native = gym.make_vec(env_id, 3, vectorization_mode="vector_entry_point", max_episode_steps=2, **variant)
    sync = gym.make_vec(env_id, 3, vectorization_mode="sync", max_episode_steps=2, **variant)
    _, reset_infos = native.reset(seed=0)
    _, sync_reset_infos = sync.reset(seed=0)
    assert _same_schema(reset_infos, sync_reset_infos)
    actions = np.stack([_constant_action(native.single_action_space)] * 3)
    for _ in range(3):  # the third step is every sub-env's autoreset step
        step_infos = native.step(actions)[4]
        assert _same_schema(reset_infos, step_infos), (env_id, sorted(reset_infos), sorted(step_infos))
        assert all(step_infos[key].all() for key in step_infos if key.startswith("_")), "masks all True"
        assert _same_schema(step_infos, sync.step(actions)[4])
    native.close()
    sync.close()


# --------------------------------------------------------------------------------------------
# The declarations, and finding them through wrappers
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", IDS)
def test_every_env_declares_task_metrics_of_its_own_info_keys(env_id: str) -> None:
    env = gym.make(env_id)
    metrics = task_metrics(env)
    assert metrics, f"{env_id} declares no task metrics"
    names = [m.name for m in metrics]
    assert len(set(names)) == len(names)
    _, info = env.reset(seed=0)
    for metric in metrics:
        assert metric.key in info, f"{env_id}: {metric.name} reads info[{metric.key!r}], which it lacks"
        assert metric.reduce in ("any", "mean", "last") and metric.doc
        if metric.reduce == "any":
            assert type(info[metric.key]) is bool, f"{env_id}: 'any' of {metric.key} needs a bool"


def test_task_metrics_are_found_through_wrappers_and_vector_envs() -> None:
    from rlsuite.perturb import parse_perturbation

    expected = task_metrics(gym.make("rlsuite/Highway-v0").unwrapped)
    assert [m.name for m in expected] == ["crash_rate", "off_road_rate", "mean_speed"]
    native = gym.make_vec("rlsuite/Highway-v0", 2)
    config = EnvConfig(id="rlsuite/Highway-v0", num_envs=2)
    perturbed = parse_perturbation("observation_noise", seed=0, env=config).wrap(make_envs(config))
    for env in (
        gym.make("rlsuite/Highway-v0"),  # TimeLimit, OrderEnforcing, PassiveEnvChecker
        gym.wrappers.RecordEpisodeStatistics(gym.make("rlsuite/Highway-v0")),
        native,
        gym.make_vec("rlsuite/Highway-v0", 2, vectorization_mode="sync"),
        gym.vector.SyncVectorEnv([lambda: gym.make("rlsuite/Highway-v0")]),  # no spec: its sub-env's
        perturbed,
    ):
        assert task_metrics(env) == expected, type(env)
    assert task_metrics(gym.make("CartPole-v1")) == ()
    assert task_metrics(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync")) == ()


def test_a_metric_with_an_unknown_reduction_is_refused() -> None:
    with pytest.raises(ValueError, match="reduce must be one of"):
        TaskMetric("crash_rate", "crashed", "sum", "a typo")


# --------------------------------------------------------------------------------------------
# run_episodes: the reductions, on episodes whose answer is known
# --------------------------------------------------------------------------------------------
def _run(env_id: str, kwargs: dict, policy: Any, episodes: int, num_envs: int = 2):
    envs = make_envs(EnvConfig(id=env_id, num_envs=num_envs, kwargs=kwargs))
    try:
        return run_episodes(policy, envs, episodes, seed=0)
    finally:
        envs.close()


def test_highway_driving_into_the_car_ahead_is_a_crash_and_leaving_the_road_is_off_road() -> None:
    faster = _run(  # one lane, always FASTER: the ego runs into the car ahead
        "rlsuite/Highway-v0", {"lanes_count": 1}, lambda obs, starts: np.full(len(obs), 3), 3
    )
    assert faster.metrics["crash_rate"] == [1.0, 1.0, 1.0]
    assert faster.metrics["off_road_rate"] == [0.0, 0.0, 0.0]
    assert all(25.0 < v <= 40.0 for v in faster.metrics["mean_speed"])  # it sped up from 25 m/s
    steer = np.array([0.0, 0.5], np.float32)  # no throttle, steering right: off the road at 25 m/s
    off_road = _run(
        "rlsuite/Highway-v0",
        {"action_type": "continuous"},
        lambda obs, starts: np.tile(steer, (len(obs), 1)),
        2,
    )
    assert off_road.metrics == {
        "crash_rate": [0.0, 0.0],
        "off_road_rate": [1.0, 1.0],
        "mean_speed": [25.0, 25.0],
    }


def _reaching_policy(obs: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Jacobian-transpose control of the default two-link Reacher arm towards its target."""
    c0, c1, s0, s1 = obs[:, 0], obs[:, 1], obs[:, 2], obs[:, 3]
    c01, s01 = c0 * c1 - s0 * s1, s0 * c1 + c0 * s1  # absolute angle of link 2
    error = obs[:, 8:10]  # target - fingertip [m]
    link = 0.1  # [m]
    tau0 = (-link * s0 - link * s01) * error[:, 0] + (link * c0 + link * c01) * error[:, 1]
    tau1 = -link * s01 * error[:, 0] + link * c01 * error[:, 1]
    return np.clip(400.0 * np.stack([tau0, tau1], axis=1) - 0.1 * obs[:, 4:6], -1, 1).astype(np.float32)


def test_reacher_reaching_the_target_is_a_success_at_a_final_distance_within_tolerance() -> None:
    reached = _run("rlsuite/Reacher-v0", {"terminate_on_success": True}, _reaching_policy, 4)
    assert reached.metrics["success_rate"] == [1.0] * 4 == reached.successes
    assert all(0.0 <= d < 0.02 for d in reached.metrics["final_distance"])  # success_tolerance 0.02 m
    assert max(reached.lengths) < 100  # terminated, not truncated
    still = _run("rlsuite/Reacher-v0", {"max_episode_steps": 3, "success_tolerance": 1e-6}, _still(2), 2)
    assert still.metrics["success_rate"] == [0.0, 0.0] and all(d > 0 for d in still.metrics["final_distance"])


def _still(n_links: int):
    return lambda obs, starts: np.zeros((len(obs), n_links), np.float32)


def test_grid_racetrack_steps_to_finish_finish_rate_and_crashes() -> None:
    straight = ["FFF", "ooo", "ooo", "SSS"]  # up 1 row, then 2: the finish on the second step
    up = _run(
        "rlsuite/GridRacetrack-v0",
        {"track": straight, "max_episode_steps": 10},
        lambda obs, starts: np.full(len(obs), 7),  # vy + 1
        3,
    )
    assert up.metrics == {"finish_rate": [1.0] * 3, "steps_to_finish": [2.0] * 3, "crashes": [0.0] * 3}
    assert up.lengths == [2, 2, 2]
    narrow = [".F.", ".o.", ".S."]
    right = _run(
        "rlsuite/GridRacetrack-v0",
        {"track": narrow, "max_episode_steps": 3},
        lambda obs, starts: np.full(len(obs), 5),  # vx + 1: off the road, back to the start, 3 times
        2,
    )
    assert right.metrics["finish_rate"] == [0.0, 0.0] and right.metrics["crashes"] == [3.0, 3.0]
    assert all(math.isnan(v) for v in right.metrics["steps_to_finish"])


def test_racetrack_crash_off_track_and_the_first_lap_time() -> None:
    full_left = np.array([1.0, 1.0], np.float32)
    crash = _run("rlsuite/Racetrack-v0", {}, lambda obs, starts: np.tile(full_left, (len(obs), 1)), 2)
    assert crash.metrics["crash_rate"] == [1.0, 1.0] == crash.metrics["off_track_rate"]
    assert all(math.isnan(t) for t in crash.metrics["lap_time"])  # no lap completed

    # A lane-keeping driver on the oval from the start line, and the lap time read off the single env.
    kwargs = {"track": "oval", "random_start": False, "max_episode_steps": 700}
    env = gym.make("rlsuite/Racetrack-v0", **kwargs)
    env.reset(seed=0)
    core, first_lap, speeds = core_of(env), None, []
    for step in range(1, 701):
        info = env.step(_lane_keeping(core)[0])[4]
        speeds.append(info["speed"])
        if first_lap is None and info["laps"] == 1:
            first_lap = step
            assert info["lap_time"] == pytest.approx(step * DT)
    assert first_lap is not None and 300 < first_lap < 700
    envs = make_envs(EnvConfig(id="rlsuite/Racetrack-v0", num_envs=1, kwargs=kwargs))
    vector_core = core_of(envs)
    results = run_episodes(lambda obs, starts: _lane_keeping(vector_core), envs, 1, seed=0)
    envs.close()
    assert results.metrics["lap_time"] == [pytest.approx(first_lap * DT)]
    assert results.metrics["mean_speed"] == [pytest.approx(np.mean(speeds))]
    assert results.metrics["crash_rate"] == [0.0] == results.metrics["off_track_rate"]


def _lane_keeping(core: Any) -> np.ndarray:
    steer = np.clip(-1.5 * core.heading_error - 0.6 * core.lateral / core.road_half_width, -1, 1)
    pedal = np.clip((15.0 - core.car[:, 3]) / 3.0, -1, 1)  # towards 15 m/s
    return np.stack([steer, pedal], axis=1).astype(np.float32)


@pytest.mark.parametrize("env_id", IDS)
def test_run_episodes_reduces_each_episode_s_own_step_infos(env_id: str) -> None:
    """The metrics of ``run_episodes`` on a vector env (NEXT_STEP autoreset) equal the reductions
    computed by hand from the single env's step infos (each episode from its reset to its end)."""
    kwargs = {"max_episode_steps": 7}
    metrics = task_metrics(gym.make(env_id))
    env = gym.make(env_id, **kwargs)
    action = _constant_action(env.action_space, 0.3)
    expected: dict[str, list[float]] = {m.name: [] for m in metrics}
    env.reset(seed=0)
    for _ in range(3):
        infos = []
        while True:
            _, _, terminated, truncated, info = env.step(action)
            infos.append(info)
            if terminated or truncated:
                break
        for m in metrics:
            values = np.array([float(i[m.key]) for i in infos])
            reduced = {"any": float(values.any()), "mean": values.mean(), "last": values[-1]}[m.reduce]
            expected[m.name].append(float(reduced) if np.isfinite(reduced) else math.nan)  # not defined
        env.reset()
    results = _run(env_id, kwargs, lambda obs, starts: np.stack([action] * len(obs)), 3, num_envs=1)
    assert list(results.metrics) == list(expected) and len(results.returns) == 3
    for name, values in expected.items():  # NaN equals NaN; a mean's sum may differ in the last bit
        np.testing.assert_allclose(results.metrics[name], values, rtol=1e-12, err_msg=name)


def test_run_episodes_on_an_env_without_metrics_returns_none() -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=2, vectorization_mode="sync")
    results = run_episodes(lambda obs, starts: np.zeros(len(obs), dtype=np.int64), envs, 3, seed=0)
    assert results.metrics == {} and len(results.returns) == 3


def test_side_by_side_evaluation_of_seeds_gets_each_seed_s_own_metrics() -> None:
    config = EnvConfig(id="rlsuite/Highway-v0", num_envs=2, kwargs={"max_episode_steps": 15})
    seeds = [3, 8]
    shared = make_envs(config, num_envs=2 * len(seeds))
    together = _run_episodes_side_by_side(
        lambda obs: np.full(obs.shape[:2], 3), [shared], episodes=3, seeds=seeds
    )
    shared.close()
    for seed, result in zip(seeds, together):
        envs = make_envs(config)
        alone = run_episodes(lambda obs, starts: np.full(len(obs), 3), envs, 3, seed=seed)
        envs.close()
        assert result == alone and set(result.metrics) == {"crash_rate", "off_road_rate", "mean_speed"}


# --------------------------------------------------------------------------------------------
# Training evaluations and `rlsuite eval`
# --------------------------------------------------------------------------------------------
def test_training_logs_eval_metrics_and_evaluate_run_reports_their_mean_and_std(tmp_path, capsys) -> None:
    run = rlsuite.train(
        {"env": {"id": "rlsuite/GridRacetrack-v0", "num_envs": 4}, "agent": {"algo": "q_learning"}},
        overrides={
            "train.total_steps": 400,
            "train.eval_every": 200,
            "train.eval_episodes": 4,
            "env.kwargs": {"max_episode_steps": 50},
            "log.progress": "none",
            "log.run_dir": str(tmp_path),
        },
    )
    with open(run.run_dir / "metrics.csv", newline="") as f:
        tags = {row["tag"] for row in csv.DictReader(f)}
    assert {"eval/return_mean", "eval/finish_rate", "eval/steps_to_finish", "eval/crashes"} <= tags
    result = evaluate_run(run.run_dir, episodes=4)
    for name in ("finish_rate", "steps_to_finish", "crashes"):
        assert f"{name}_mean" in result and f"{name}_std" in result
    assert 0.0 <= result["finish_rate_mean"] <= 1.0 and result["crashes_mean"] >= 0.0
    assert "eval/finish_rate" not in result  # the training scalar's name is for the logs
    with rlsuite.load(run.run_dir) as policy:  # the Python API's evaluation records them the same way
        assert {"finish_rate_mean", "finish_rate_std"} <= set(rlsuite.evaluate(policy, episodes=2))
    from rlsuite.cli import main

    assert main(["eval", str(run.run_dir), "--episodes", "4"]) == 0
    printed = capsys.readouterr().out
    assert "finish_rate: " in printed and " ± " in printed and "finish_rate_std" not in printed


@pytest.mark.parametrize(
    ("env_id", "kwargs", "added"),
    [
        ("rlsuite/Racetrack-v0", {"action_type": "discrete"}, ("core.steps", "core.lap_time")),
        ("rlsuite/GridRacetrack-v0", {}, ("core.steps",)),
    ],
)
def test_a_snapshot_from_before_the_task_metrics_still_resumes_exactly(env_id, kwargs, added) -> None:
    """Checkpoints saved before the step counters existed lack them: the core fills them in from the
    env's steps since each row's reset, and the env continues exactly as from the full snapshot."""

    def actions(envs: Any, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(0, envs.single_action_space.n, size=envs.num_envs)

    envs = gym.make_vec(env_id, num_envs=6, **kwargs)
    envs.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(150):  # past some resets
        envs.step(actions(envs, rng))
    arrays, numbers = envs.get_state()
    for key in added:
        assert key in arrays
        np.testing.assert_array_equal(arrays["core.steps"], arrays["env._elapsed"])
    old = {k: v for k, v in arrays.items() if k not in added}
    full, upgraded = gym.make_vec(env_id, num_envs=6, **kwargs), gym.make_vec(env_id, num_envs=6, **kwargs)
    for env, snapshot in ((full, arrays), (upgraded, old)):
        env.reset(seed=99)
        env.set_state(snapshot, numbers)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(300):
        a, b = full.step(actions(full, rng_a)), upgraded.step(actions(upgraded, rng_b))
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
        assert a[4].keys() == b[4].keys()
        for key in ("steps_to_finish", "speed", "crashed"):
            if key in a[4]:
                np.testing.assert_array_equal(a[4][key], b[4][key])
