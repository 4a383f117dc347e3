"""The RLlib baselines: their defaults are the installed RLlib's; each algorithm trains, reports,
checkpoints and evaluates through rlsuite's run directory; env runners step our native vector env;
impossible Ray resource requests fail fast; failed env runners restart; closing an agent releases what
it started; PPO learns from pixels through the CNN module.

All tests share one local Ray with 2 CPUs (the ``ray_session`` fixture in ``tests/conftest.py``).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pickle
import re
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

ray = pytest.importorskip("ray")

import torch  # noqa: E402
from ray.rllib.core.rl_module.rl_module import RLModule  # noqa: E402
from torch import nn  # noqa: E402

import rlsuite.cluster  # noqa: E402
from rlsuite.agents.rllib import AGENTS, ImageActorCriticModule, RLlibPPO, image_module_spec  # noqa: E402
from rlsuite.agents.rllib.params import as_yaml, rllib_default, rllib_setting  # noqa: E402
from rlsuite.config import ConfigError, from_dict  # noqa: E402
from rlsuite.envs.core import CoreVectorEnv  # noqa: E402
from rlsuite.training import evaluate_run, make_envs, train  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_session")

RACETRACK = "rlsuite/Racetrack-v0"
RACETRACK_KWARGS = {"action_type": "discrete", "max_episode_steps": 50}  # episodes end within an iteration

# Small batches: one iteration (one Algorithm.train() call) of a few hundred env steps each.
FAST: dict[str, dict[str, Any]] = {
    "rllib.ppo": {"train_batch_size": 256, "minibatch_size": 64, "num_epochs": 1},
    "rllib.appo": {
        "train_batch_size": 128,
        "rollout_fragment_length": 16,
        "min_time_s_per_iteration": 0,
        "min_sample_timesteps_per_iteration": 256,
    },
    "rllib.dqn": {
        "train_batch_size": 32,
        "buffer_size": 2_000,
        "num_steps_sampled_before_learning_starts": 64,
        "min_sample_timesteps_per_iteration": 256,
        "rollout_fragment_length": 8,
    },
    "rllib.sac": {
        "train_batch_size": 32,
        "buffer_size": 2_000,
        "num_steps_sampled_before_learning_starts": 64,
        "min_sample_timesteps_per_iteration": 200,
        "rollout_fragment_length": 8,
    },
}


def make_config(
    algo: str,
    env_id: str,
    tmp_path: Path,
    *,
    kwargs: dict[str, Any] | None = None,
    num_envs: int = 4,
    total_steps: int = 256,
    **params: Any,
):
    return from_dict(
        {
            "env": {"id": env_id, "num_envs": num_envs, "kwargs": kwargs or {}},
            "agent": {"algo": algo, "fcnet_hiddens": [32, 32], **FAST[algo], **params},
            "train": {"total_steps": total_steps, "eval_every": 0, "eval_episodes": 2, "eval_num_envs": 2},
            "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
        }
    )


def metrics(run_dir: Path) -> dict[str, list[float]]:
    values: dict[str, list[float]] = {}
    with open(run_dir / "metrics.csv", newline="") as f:
        for row in csv.DictReader(f):
            values.setdefault(row["tag"], []).append(float(row["value"]))
    return values


class RecordingMonitor:
    """A StepMonitor that keeps what the agent reports and can look into the live agent."""

    def __init__(self, probe=None) -> None:
        self.episodes: list[tuple[int, list[float], list[float]]] = []
        self.scalars: dict[str, float] = {}
        self.probe = probe
        self.probed: list[Any] = []

    def on_step(self, *args: Any, **kwargs: Any) -> bool:
        raise AssertionError("RLlib agents report whole episodes, not vector steps")

    def on_episodes(self, global_step: int, returns: Any, lengths: Any) -> bool:
        self.episodes.append((global_step, list(returns), list(lengths)))
        if self.probe is not None:
            self.probed.append(self.probe())
        return True

    def log(self, step: int, scalars: dict[str, float]) -> None:
        self.scalars.update(scalars)


# --------------------------------------------------------------------------------------------
# Hyper-parameters: RLlib's defaults, read from the installed RLlib
# --------------------------------------------------------------------------------------------
OWN_SETTINGS = {"model", "torch_threads", "address"}  # rlsuite's own: no RLlib default to take
ENVS = {
    "rllib.ppo": "CartPole-v1",
    "rllib.appo": "CartPole-v1",
    "rllib.dqn": "CartPole-v1",
    "rllib.sac": "Pendulum-v1",
}


def field_default(field: dataclasses.Field) -> Any:
    return field.default_factory() if field.default is dataclasses.MISSING else field.default


def stated_rllib_defaults(doc: str, algorithms: list[str]) -> dict[str, str]:
    """The RLlib default a field's doc states for each of ``algorithms``: ``RLlib: 0.99``, or one value
    per algorithm, ``RLlib: 2 (PPO, APPO), 0 (DQN, SAC)``."""
    statement = re.split(r"[;,] RLlib: ", doc)[-1]
    groups = re.findall(r"(?:^|, )([^,(]+) \(([A-Z]+(?:, [A-Z]+)*)\)", statement)
    if not groups:
        return dict.fromkeys(algorithms, statement)
    return {name: value for value, names in groups for name in names.split(", ")}


@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda agent_class: agent_class.algo)
def test_every_default_is_the_installed_rllib_s_or_says_it_is_ours(agent_class) -> None:
    """Each field backed by an RLlib setting states the installed RLlib's default for this algorithm and
    takes it, unless its doc says ``ours: X`` (then RLlib's differs somewhere); no field holds an RLlib
    default typed in by hand. Fails when RLlib's defaults move away from what the docs state."""
    rllib = agent_class.rllib_config_class()  # RLlib's defaults, as installed
    algorithm = agent_class.rllib_config_class.__name__.removesuffix("Config")
    for field in dataclasses.fields(agent_class.Params):
        if field.name in OWN_SETTINGS:
            assert "rllib" not in field.metadata and "RLlib:" not in field.metadata["doc"], field.name
            continue
        where = f"{agent_class.algo} agent.{field.name}"
        assert field.metadata.get("rllib") == field.name, f"{where}: declare it with rllib_hp"
        algorithms = field.metadata["rllib_algorithms"]
        assert agent_class.rllib_config_class in algorithms, f"{where}: its doc speaks of other algorithms"
        names = [a.__name__.removesuffix("Config") for a in algorithms]
        rllib_value = rllib_setting(field.name, rllib)
        stated = stated_rllib_defaults(field.metadata["doc"], names)
        assert stated[algorithm] == as_yaml(rllib_value), (where, field.metadata["doc"], rllib_value)
        default = field_default(field)
        if field.metadata["ours"]:
            assert f"; ours: {as_yaml(default)}, RLlib: " in field.metadata["doc"], where
            assert any(default != rllib_default(field.name, a) for a in algorithms), f"{where}: RLlib's now"
        else:
            assert (default, type(default)) == (rllib_value, type(rllib_value)), where


def changed(name: str, value: Any) -> Any:
    """Another valid value of setting ``name``."""
    other = {
        "rollout_fragment_length": 8,
        "target_entropy": -1.0,
        "gym_env_vectorize_mode": "sync",
        "fcnet_activation": "relu",
    }
    if name in other:
        return other[name]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.5
    if isinstance(value, list):
        return [16]
    assert value is None, (name, value)
    return 3


@pytest.mark.parametrize("agent_class", AGENTS, ids=lambda agent_class: agent_class.algo)
def test_every_setting_reaches_the_rllib_setting_its_default_is_read_from(agent_class) -> None:
    """The RLlib config an agent builds holds each RLlib-backed field's value, changed from its default,
    in the very setting that field's default is read from."""
    fields = [f for f in dataclasses.fields(agent_class.Params) if f.name not in OWN_SETTINGS]
    params = {f.name: changed(f.name, field_default(f)) for f in fields}
    config = from_dict(
        {
            "env": {"id": ENVS[agent_class.algo], "num_envs": 2},
            "agent": {"algo": agent_class.algo, **params, "address": "auto"},  # an address: no resource check
            "train": {"total_steps": 1_000_000},
        }
    )
    envs = make_envs(config.env)
    built = agent_class(config, envs).rllib_config
    envs.close()
    for name, value in params.items():
        assert rllib_setting(name, built) == value, (agent_class.algo, name)


# --------------------------------------------------------------------------------------------
# Each algorithm, end to end: train → metrics.csv → checkpoint → evaluate_run
# --------------------------------------------------------------------------------------------
OURS = [
    ("rllib.ppo", RACETRACK, RACETRACK_KWARGS),
    ("rllib.dqn", RACETRACK, RACETRACK_KWARGS),
    ("rllib.appo", RACETRACK, RACETRACK_KWARGS),
    ("rllib.sac", "rlsuite/Reacher-v0", {"max_episode_steps": 25}),
]
CLASSIC = [
    ("rllib.ppo", "CartPole-v1", {}),
    ("rllib.dqn", "CartPole-v1", {}),
    ("rllib.appo", "CartPole-v1", {}),
    ("rllib.sac", "Pendulum-v1", {"max_episode_steps": 50}),
]


@pytest.mark.parametrize(
    ("algo", "env_id", "kwargs"),
    OURS + [pytest.param(*case, marks=pytest.mark.slow) for case in CLASSIC],
    ids=[f"{algo}-{env_id}" for algo, env_id, _ in OURS + CLASSIC],
)
def test_trains_checkpoints_reloads_and_evaluates(
    algo: str, env_id: str, kwargs: dict, tmp_path: Path
) -> None:
    run_dir = train(make_config(algo, env_id, tmp_path, kwargs=kwargs))

    values = metrics(run_dir)
    assert values["charts/episode_return"], "episodes ended in the iteration and reached the monitor"
    assert "eval/return_mean" in values
    assert any(tag.startswith("losses/") for tag in values), sorted(values)
    if env_id == "CartPole-v1":  # +1 per step: each episode's return is its length
        assert values["charts/episode_return"] == values["charts/episode_length"]
    if "max_episode_steps" in kwargs:
        assert max(values["charts/episode_length"]) <= kwargs["max_episode_steps"]
    checkpoint = run_dir / "checkpoints" / "last"
    assert (checkpoint / "rllib" / "rllib_checkpoint.json").is_file()
    assert json.loads((checkpoint / "agent.json").read_text())["global_step"] >= 256

    result = evaluate_run(run_dir, episodes=2, checkpoint="last")
    assert result["episodes"] == 2
    assert np.isfinite(result["eval/return_mean"])


def test_observations_of_more_than_one_dimension_reach_rllib_flattened(tmp_path: Path) -> None:
    """Highway's state is (vehicles, features): RLlib's encoders take 1-D vectors only, SB3 flattens."""
    kwargs = {"obs_type": "state", "action_type": "discrete", "max_episode_steps": 30}
    assert len(gym.make("rlsuite/Highway-v0", **kwargs).observation_space.shape) == 2
    run_dir = train(make_config("rllib.dqn", "rlsuite/Highway-v0", tmp_path, kwargs=kwargs))

    assert metrics(run_dir)["charts/episode_return"]
    result = evaluate_run(run_dir, episodes=2, checkpoint="last")  # act() takes the unflattened batch
    assert np.isfinite(result["eval/return_mean"])


@pytest.mark.slow
def test_a_run_resumes_from_its_last_checkpoint(tmp_path: Path) -> None:
    run_dir = train(make_config("rllib.ppo", "CartPole-v1", tmp_path))
    first = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())["global_step"]

    resumed = train(
        make_config("rllib.ppo", "CartPole-v1", tmp_path, total_steps=first + 256), resume=run_dir
    )

    assert resumed == run_dir
    last = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())["global_step"]
    assert last >= first + 256, "RLlib's env-step counter continues from the checkpoint"
    with open(run_dir / "metrics.csv", newline="") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f) if row["tag"] == "losses/policy_loss"]
    assert steps == sorted(steps) and steps[-1] == last


def test_a_single_or_no_finished_episode_reaches_the_monitor(tmp_path: Path) -> None:
    """RLlib hands a one-item series over as the item itself, and an empty one as NaN."""
    config = make_config("rllib.ppo", "CartPole-v1", tmp_path)
    agent = RLlibPPO(config, make_envs(config.env))
    monitor = RecordingMonitor()
    for episodes in ([(10.0, 10), (12.0, 12)], (11.0, 11), float("nan")):
        agent._report({"env_runners": {"rlsuite_episodes": episodes}}, monitor)
    assert [(returns, lengths) for _, returns, lengths in monitor.episodes] == [
        ([10.0, 12.0], [10, 12]),
        ([11.0], [11]),
        ([], []),
    ]


def test_close_stops_the_algorithm_and_shuts_down_only_a_ray_the_agent_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutdowns: list[bool] = []
    monkeypatch.setattr(ray, "shutdown", lambda: shutdowns.append(True))
    config = make_config("rllib.ppo", "CartPole-v1", tmp_path)
    envs = make_envs(config.env)

    agent = RLlibPPO(config, envs)  # finds the session's Ray running
    agent.learn(256)
    observations, _ = envs.reset(seed=0)
    scratch = agent._workdir
    assert (scratch / "final").is_dir()
    closes: list[bool] = []
    close_envs = envs.close  # CartPole's vector env does not set `closed`: watch the call
    monkeypatch.setattr(envs, "close", lambda: (closes.append(True), close_envs()))
    agent.close()
    agent.close()
    assert shutdowns == [] and agent.algorithm is None and closes
    assert not scratch.exists(), "close() removes the final state learn() kept for save()"
    assert envs.action_space.contains(agent.act(observations)), "a closed agent still acts"
    with pytest.raises(RuntimeError, match=r"rllib\.ppo: save\(\) on a closed agent"):
        agent.save(tmp_path / "too-late")
    with pytest.raises(RuntimeError, match=r"learn\(\) on a closed agent"):
        agent.learn(512)

    monkeypatch.setattr(rlsuite.cluster, "connect", lambda address: True)  # as if it had started Ray
    envs = make_envs(config.env)
    owner = RLlibPPO(config, envs)
    algorithm = owner.start()
    stops: list[bool] = []
    stop = algorithm.stop
    monkeypatch.setattr(algorithm, "stop", lambda: (stops.append(True), stop()))
    owner.close()
    owner.close()
    assert stops == [True] and owner.algorithm is None, "the running Algorithm is stopped, once"
    assert shutdowns == [True], "a Ray the agent started is shut down, once"


def test_checkpoints_written_before_the_package_split_find_their_classes() -> None:
    """RLlib pickles the RLModule class, its encoder factory and the callbacks by module path; before the
    split they all lived in ``rlsuite.agents.rllib`` itself."""
    import rlsuite.agents.rllib as package

    for name in ("ImageActorCriticModule", "default_image_encoder", "pretrained_encoder", "EpisodeStats"):
        old_reference = f"crlsuite.agents.rllib\n{name}\n.".encode()  # pickle's GLOBAL opcode
        assert pickle.loads(old_reference) is getattr(package, name)


def test_train_address_flag_sets_agent_address_for_rllib_agents_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rlsuite.training
    from rlsuite.cli import main

    class Stop(Exception):
        pass

    seen = {}

    def fake_train(config, resume=None):
        seen["address"] = config.agent.params.address
        raise Stop

    monkeypatch.setattr(rlsuite.training, "train", fake_train)
    rllib_yaml = tmp_path / "rllib.yaml"
    rllib_yaml.write_text("env: {id: CartPole-v1}\nagent: {algo: rllib.ppo}\n")
    with pytest.raises(Stop):
        main(["train", str(rllib_yaml), "--address", "ray://head:10001"])
    assert seen == {"address": "ray://head:10001"}

    dqn_yaml = tmp_path / "dqn.yaml"
    dqn_yaml.write_text("env: {id: CartPole-v1}\nagent: {algo: dqn}\n")
    assert main(["train", str(dqn_yaml), "--address", "auto"]) == 2
    assert "--address: only rllib.* agents" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Env runners: our native vector env, two runners on two cores, restarts
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_two_env_runners_step_our_native_vector_env(tmp_path: Path) -> None:
    config = make_config(
        "rllib.ppo",
        RACETRACK,
        tmp_path,
        kwargs=RACETRACK_KWARGS,
        num_env_runners=2,
        num_cpus_per_env_runner=0.5,  # + 1 CPU for the driver and its learner = the 2 cores
    )
    envs = make_envs(config.env)
    agent = RLlibPPO(config, envs)

    def env_runner_envs() -> list[tuple[str, bool, int, int]]:
        return agent.algorithm.env_runner_group.foreach_env_runner(
            lambda runner: (
                type(runner.env.unwrapped).__name__,
                isinstance(runner.env.unwrapped, CoreVectorEnv),
                runner.env.num_envs,
                torch.get_num_threads(),  # Ray's OMP_NUM_THREADS: one per CPU reserved, at least 1
            ),
            local_env_runner=False,
        )

    monitor = RecordingMonitor(probe=env_runner_envs)
    agent.learn(512, monitor)  # 2 iterations: 64 steps per sub-env, so every sub-env ends an episode

    assert monitor.probed[0] == [("RacetrackVectorEnv", True, 4, 1)] * 2
    assert agent.global_step >= 512
    assert agent.algorithm is None, "learn() stops the Algorithm and its env runners"
    lengths = [n for _, _, iteration_lengths in monitor.episodes for n in iteration_lengths]
    returns = [r for _, iteration_returns, _ in monitor.episodes for r in iteration_returns]
    assert len(returns) == len(lengths) >= 8 and max(lengths) <= 50
    assert {"losses/policy_loss", "losses/vf_loss", "losses/entropy"} <= set(monitor.scalars)
    observations, _ = envs.reset(seed=0)
    actions = agent.act(observations)  # the final weights outlive the Algorithm
    assert actions.shape == (4,) and envs.action_space.contains(actions)
    envs.close()


def test_more_cpus_than_the_cluster_has_is_a_config_error_before_anything_runs(tmp_path: Path) -> None:
    config = make_config("rllib.ppo", "CartPole-v1", tmp_path, num_env_runners=64)
    start = time.perf_counter()
    with pytest.raises(
        ConfigError, match=r"asks Ray for 65 CPUs \(1 for the driver.*64 env runners × 1.*has 2"
    ):
        train(config)
    assert time.perf_counter() - start < 10
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    ("agent", "total_steps", "message"),
    [
        (
            "{algo: rllib.ppo}",
            2000,
            r"train\.total_steps: got 2,000, less than one rllib\.ppo iteration of 4,000 env steps "
            r"\(agent\.train_batch_size\).*at least 4,000, or lower agent\.train_batch_size",
        ),
        (
            "{algo: rllib.ppo, train_batch_size: 500, num_learners: 2, num_gpus: 0}",
            900,
            r"iteration of 1,000 env steps \(agent\.train_batch_size × agent\.num_learners\)",
        ),
        (
            "{algo: rllib.dqn}",
            500,
            r"rllib\.dqn iteration of 1,000 env steps \(agent\.min_sample_timesteps_per_iteration\)",
        ),
    ],
)
def test_a_budget_below_one_iteration_is_an_error_before_anything_runs(
    agent: str, total_steps: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from rlsuite.cli import main

    args = [f"agent={agent}", "env={id: CartPole-v1}", f"train.total_steps={total_steps}"]
    assert main(["train", *args, f"log.run_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


def test_the_driver_runs_torch_on_the_configured_threads(tmp_path: Path) -> None:
    """The learner and act() in the driver: 1 thread by default, 0 keeps torch's default (env runners
    get Ray's one thread per CPU they reserve)."""
    threads = torch.get_num_threads()
    try:
        for configured, expected in ((None, 1), (2, 2), (0, 3)):
            torch.set_num_threads(3)
            params = {} if configured is None else {"torch_threads": configured}
            config = make_config("rllib.ppo", "CartPole-v1", tmp_path, **params)
            envs = make_envs(config.env)
            RLlibPPO(config, envs)
            assert torch.get_num_threads() == expected
            envs.close()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize(
    ("algo", "env_id", "kwargs", "params", "message"),
    [
        (
            "rllib.ppo",
            "CartPole-v1",
            {},
            {"model": {"vf_share_layer": True}},
            "model.vf_share_layer: unknown",
        ),
        ("rllib.sac", "CartPole-v1", {}, {}, "rllib.sac needs a Box action space"),
        (
            "rllib.dqn",
            RACETRACK,
            {"obs_type": "pixels", "action_type": "discrete"},
            {},
            "rllib.dqn has no image RLModule here",
        ),
    ],
)
def test_settings_an_algorithm_cannot_take_are_config_errors(
    algo: str, env_id: str, kwargs: dict, params: dict, message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        train(make_config(algo, env_id, tmp_path, kwargs=kwargs, **params))


class FlakyCartPole(CartPoleEnv):
    """CartPole whose 30th step raises, once per test: the first env to get there leaves a marker file."""

    def __init__(self, marker: str, render_mode: str | None = None) -> None:
        super().__init__(render_mode=render_mode)
        self.marker = Path(marker)
        self.steps = 0

    def step(self, action: Any):
        self.steps += 1
        if self.steps == 30 and not self.marker.exists():
            self.marker.touch()
            raise RuntimeError("injected env failure")
        return super().step(action)


@pytest.mark.slow
def test_a_failed_env_runner_is_restarted_and_training_continues(tmp_path: Path) -> None:
    gym.register("rlsuite_test/FlakyCartPole-v0", entry_point=FlakyCartPole, max_episode_steps=500)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the env class travels to the runner
    marker = tmp_path / "failed-once"
    config = make_config(
        "rllib.ppo",
        "rlsuite_test/FlakyCartPole-v0",
        tmp_path,
        kwargs={"marker": str(marker)},
        total_steps=512,
        num_env_runners=1,
        num_cpus_per_env_runner=0.5,
        restart_failed_env_runners=True,
        delay_between_env_runner_restarts_s=0,
    )
    envs = make_envs(config.env)
    agent = RLlibPPO(config, envs)
    monitor = RecordingMonitor()
    agent.learn(512, monitor)
    envs.close()

    assert marker.exists(), "the env failed inside the env runner"
    assert agent.global_step >= 512
    assert monitor.scalars["charts/env_runner_restarts"] >= 1


# --------------------------------------------------------------------------------------------
# Pixels
# --------------------------------------------------------------------------------------------
def test_ppo_trains_on_racetrack_pixels_with_the_cnn_module(tmp_path: Path) -> None:
    kwargs = {**RACETRACK_KWARGS, "obs_type": "pixels", "pixel_shape": [48, 48]}
    run_dir = train(
        from_dict(
            {
                "env": {"id": RACETRACK, "num_envs": 4, "kwargs": kwargs},
                "agent": {"algo": "rllib.ppo", **FAST["rllib.ppo"]},
                "encoder": {"features_dim": 64},
                "train": {"total_steps": 256, "eval_every": 0, "eval_episodes": 2, "eval_num_envs": 2},
                "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
            }
        )
    )

    values = metrics(run_dir)
    assert values["losses/vf_loss"] and values["charts/episode_return"] and values["eval/return_mean"]
    module = RLModule.from_checkpoint(
        run_dir / "checkpoints/last/rllib/learner_group/learner/rl_module/default_policy"
    )
    assert isinstance(module, ImageActorCriticModule)
    assert module.encoder.features_dim == 64
    assert np.isfinite(evaluate_run(run_dir, episodes=2)["eval/return_mean"])


def test_the_image_module_takes_an_encoder_from_a_factory() -> None:
    class FlatEncoder(nn.Module):  # stands in for a pretrained encoder
        features_dim = 8

        def __init__(self, observation_space: gym.spaces.Box) -> None:
            super().__init__()
            self.linear = nn.Linear(int(np.prod(observation_space.shape)), self.features_dim)

        def forward(self, images):
            return self.linear(images.flatten(1).float() / 255.0)

    spec = image_module_spec(
        encoder_factory=lambda space, model_config: FlatEncoder(space), freeze_encoder=True
    )
    spec.observation_space = gym.spaces.Box(0, 255, (12, 12, 3), np.uint8)
    spec.action_space = gym.spaces.Discrete(5)
    module = spec.build()

    assert isinstance(module.encoder, FlatEncoder)
    assert not any(p.requires_grad for p in module.encoder.parameters())
    out = module.forward_inference({"obs": torch.zeros((3, 12, 12, 3), dtype=torch.uint8)})
    assert out["action_dist_inputs"].shape == (3, 5)


def test_a_frozen_pretrained_encoder_runs_inside_the_env_runners(tmp_path: Path) -> None:
    """`encoder: {checkpoint, freeze: true}`: the env runners wrap their native vector env in the feature
    env, so PPO trains its MLP module on the encoder's features; evaluation sees the same features."""
    from rlsuite.encoders.checkpoint import save_encoder
    from rlsuite.encoders.networks import build_encoder

    torch.manual_seed(0)
    stem = tmp_path / "encoder"
    save_encoder(
        build_encoder("compact", (40, 40, 2), 16), stem, {"frame_stack": 2, "frame_shape": [40, 40, 1]}
    )
    kwargs = {**RACETRACK_KWARGS, "obs_type": "pixels", "pixel_shape": 40, "grayscale": True}
    data = {
        "env": {"id": RACETRACK, "num_envs": 4, "kwargs": kwargs},
        "agent": {"algo": "rllib.ppo", "fcnet_hiddens": [32], **FAST["rllib.ppo"]},
        "encoder": {"checkpoint": str(stem), "freeze": True},
        "train": {"total_steps": 256, "eval_every": 0, "eval_episodes": 2, "eval_num_envs": 2},
        "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
    }
    run_dir = train(from_dict(data))

    values = metrics(run_dir)
    assert values["losses/vf_loss"] and values["charts/episode_return"]
    module = RLModule.from_checkpoint(
        run_dir / "checkpoints/last/rllib/learner_group/learner/rl_module/default_policy"
    )
    assert module.observation_space.shape == (16,)  # the encoder's features, not frames
    assert np.isfinite(evaluate_run(run_dir, episodes=2)["eval/return_mean"])

    data["encoder"] = {"checkpoint": str(stem), "lr_scale": 0.1}
    with pytest.raises(ConfigError, match="encoder.lr_scale: rllib.ppo trains the encoder with the policy's"):
        train(from_dict(data))
    data["agent"] = {"algo": "rllib.dqn", **FAST["rllib.dqn"]}
    data["encoder"] = {"checkpoint": str(stem)}
    with pytest.raises(
        ConfigError, match=r"rllib\.dqn cannot take a pretrained encoder trained further.*freeze it"
    ):
        train(from_dict(data))


def test_ppo_fine_tunes_a_pretrained_encoder_inside_its_pixel_module(tmp_path: Path) -> None:
    """`encoder: {checkpoint}` with rllib.ppo: the pretrained weights start the pixel RLModule's encoder and
    train with it on frames the env runners stack (2 here, as it was pretrained); evaluation stacks too."""
    from rlsuite.encoders.checkpoint import load_encoder, save_encoder
    from rlsuite.encoders.networks import build_encoder

    torch.manual_seed(0)
    stem = tmp_path / "encoder"
    save_encoder(
        build_encoder("compact", (40, 40, 2), 16), stem, {"frame_stack": 2, "frame_shape": [40, 40, 1]}
    )
    pretrained, _ = load_encoder(stem)
    kwargs = {**RACETRACK_KWARGS, "obs_type": "pixels", "pixel_shape": 40, "grayscale": True}
    data = {
        "env": {"id": RACETRACK, "num_envs": 4, "kwargs": kwargs},
        "agent": {"algo": "rllib.ppo", **FAST["rllib.ppo"]},
        "encoder": {"checkpoint": str(stem)},
        "train": {"total_steps": 256, "eval_every": 0, "eval_episodes": 2, "eval_num_envs": 2},
        "log": {"run_dir": str(tmp_path / "runs"), "progress": "none"},
    }
    run_dir = train(from_dict(data))

    module = RLModule.from_checkpoint(
        run_dir / "checkpoints/last/rllib/learner_group/learner/rl_module/default_policy"
    )
    assert isinstance(module, ImageActorCriticModule)
    assert module.observation_space.shape == (40, 40, 2)  # two stacked frames
    trained = module.encoder.state_dict()
    start = pretrained.state_dict()
    assert trained.keys() == start.keys()
    assert not all(torch.equal(trained[k], start[k]) for k in start)  # fine-tuned
    assert all(p.requires_grad for p in module.encoder.parameters())
    assert np.isfinite(evaluate_run(run_dir, episodes=2)["eval/return_mean"])

    data["encoder"]["freeze"], data["encoder"]["store_features"] = True, False  # frozen inside the module
    data["log"]["run_dir"] = str(tmp_path / "frozen")
    run_dir = train(from_dict(data))
    module = RLModule.from_checkpoint(
        run_dir / "checkpoints/last/rllib/learner_group/learner/rl_module/default_policy"
    )
    assert all(torch.equal(v, start[k]) for k, v in module.encoder.state_dict().items())
