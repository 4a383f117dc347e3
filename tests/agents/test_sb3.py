"""The Stable-Baselines3 baselines: the vector-env adapter against SB3's own DummyVecEnv, the five
algorithms end to end through ``rlsuite.training.train``, config errors, and a short learning check."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("stable_baselines3")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from stable_baselines3.common.env_checker import check_env  # noqa: E402
from stable_baselines3.common.vec_env import DummyVecEnv, VecCheckNan, VecEnv  # noqa: E402

import rlsuite  # noqa: E402, F401  (registers our ids)
from rlsuite.agents.sb3 import SB3PPO, SB3VecEnv, unpack_infos  # noqa: E402
from rlsuite.config import ConfigError, algorithm_class, from_dict, load_config, to_dict  # noqa: E402
from rlsuite.training import evaluate_run, make_envs, train  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small networks on a shared CPU: one thread is both faster and far steadier."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Small episodes so that a few hundred random steps see terminations and truncations (random driving
# reaches GridRacetrack's finish line more often on the wide track, and over more steps).
ADAPTER_STEPS = {"racetrack": (4, 300), "reacher": (4, 300), "grid_racetrack": (4, 600)}
ADAPTER_CASES = {
    "racetrack": (
        "rlsuite/Racetrack-v0",
        {"obs_type": "state", "action_type": "discrete", "max_episode_steps": 25},
    ),
    "reacher": (
        "rlsuite/Reacher-v0",
        {"terminate_on_success": True, "success_tolerance": 0.06, "max_episode_steps": 25},
    ),
    "grid_racetrack": ("rlsuite/GridRacetrack-v0", {"track": "wide", "max_episode_steps": 25}),
}


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types (arrays: equal dtype and contents)."""
    if isinstance(a, (dict, list)):
        items = zip(a.values(), b.values()) if isinstance(a, dict) else zip(a, b)
        same_keys = a.keys() == b.keys() if isinstance(a, dict) else len(a) == len(b)
        return type(a) is type(b) and same_keys and all(_same(x, y) for x, y in items)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


def _run_side_by_side(ours: VecEnv, theirs: VecEnv, steps: int, seed: int = 3) -> tuple[int, int]:
    """Step both with the same random actions; assert identical returns; count terminations/truncations."""
    assert ours.seed(seed) == theirs.seed(seed)
    first, expected = ours.reset(), theirs.reset()
    assert _same(first, expected)
    assert _same(ours.reset_infos, theirs.reset_infos)
    actions = theirs.action_space
    actions.seed(seed)
    terminations = truncations = 0
    for t in range(steps):
        batch = np.stack([actions.sample() for _ in range(ours.num_envs)])
        obs, rewards, dones, infos = ours.step(batch)
        obs_, rewards_, dones_, infos_ = theirs.step(batch)
        assert _same(obs, obs_), t
        assert _same(rewards, rewards_) and rewards.dtype == np.float32, t
        assert _same(dones, dones_) and dones.dtype == np.bool_, t
        assert isinstance(infos, list) and len(infos) == ours.num_envs
        assert _same(infos, infos_), (t, infos, infos_)  # TimeLimit.truncated, terminal_observation too
        assert _same(ours.reset_infos, theirs.reset_infos), t
        limit = np.array([info["TimeLimit.truncated"] for info in infos])
        terminations += int((dones & ~limit).sum())
        truncations += int((dones & limit).sum())
    return terminations, truncations


@pytest.mark.parametrize("case", sorted(ADAPTER_CASES))
def test_adapter_gives_what_dummy_vec_env_gives(case: str) -> None:
    env_id, kwargs = ADAPTER_CASES[case]
    n, steps = ADAPTER_STEPS[case]
    ours = SB3VecEnv(gym.make_vec(env_id, num_envs=n, **kwargs))
    theirs = DummyVecEnv([lambda: gym.make(env_id, **kwargs) for _ in range(n)])
    terminations, truncations = _run_side_by_side(ours, theirs, steps=steps)
    assert terminations > 0 and truncations > 0, (terminations, truncations)
    ours.close()
    theirs.close()


def test_adapter_over_gymnasiums_sync_vector_env() -> None:
    kwargs = {"max_episode_steps": 25}
    ours = SB3VecEnv(gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync", **kwargs))
    theirs = DummyVecEnv([lambda: gym.make("CartPole-v1", **kwargs) for _ in range(3)])
    terminations, truncations = _run_side_by_side(ours, theirs, steps=200)
    assert terminations > 0 and truncations > 0
    # Sub-envs are real objects here: attributes and methods reach them one by one.
    assert ours.get_attr("spec", indices=[1])[0].id == "CartPole-v1"
    assert ours.env_is_wrapped(gym.wrappers.TimeLimit) == [True] * 3
    ours.set_attr("custom", 7, indices=[2])
    assert ours.get_attr("custom", indices=2) == [7]


def test_reset_options_per_sub_env_and_seeds_given_as_a_list() -> None:
    env_id, kwargs = ADAPTER_CASES["racetrack"]
    ours = SB3VecEnv(gym.make_vec(env_id, num_envs=3, **kwargs))
    singles = [gym.make(env_id, **kwargs) for _ in range(3)]
    ours._seeds = [11, None, 5]  # what a caller of SB3's API may leave there
    ours.reset()
    ours.seed(20)
    obs = ours.reset()
    expected = np.stack([env.reset(seed=20 + i)[0] for i, env in enumerate(singles)])
    np.testing.assert_array_equal(obs, expected)
    ours.set_options([{}, {}, {}])
    assert ours.reset().shape == (3, 14)
    assert ours._seeds == [None] * 3 and ours._options == [{}] * 3  # used once, as SB3 does


@pytest.mark.parametrize("case", sorted(ADAPTER_CASES))
def test_adapter_passes_sb3s_checks(case: str) -> None:
    env_id, kwargs = ADAPTER_CASES[case]
    check_env(gym.make(env_id, **kwargs), warn=False)  # SB3's checker is for single envs
    venv = SB3VecEnv(gym.make_vec(env_id, num_envs=4, **kwargs))
    assert venv.observation_space == venv.venv.single_observation_space  # per-env spaces, as SB3 wants
    assert venv.action_space == venv.venv.single_action_space
    assert venv.get_attr("observation_space") == [venv.observation_space] * 4
    assert venv.get_attr("render_mode") == [None] * 4 and venv.render_mode is None
    assert venv.env_is_wrapped(gym.wrappers.TimeLimit, indices=[0, 1]) == [True, True]
    assert venv.has_attr("max_episode_steps") and not venv.has_attr("no_such_attribute")
    with pytest.raises(ValueError, match="all of them"):
        venv.env_method("render", indices=[0])
    checked = VecCheckNan(venv, raise_exception=True, check_inf=True)
    assert checked.seed(0) == [0, 1, 2, 3]
    obs = checked.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (4, *venv.observation_space.shape)
    assert all(venv.observation_space.contains(o) for o in obs)
    venv.action_space.seed(0)
    dones_seen = 0
    for _ in range(100):
        obs, rewards, dones, infos = checked.step(np.stack([venv.action_space.sample() for _ in range(4)]))
        assert all(venv.observation_space.contains(o) for o in obs)
        assert rewards.shape == (4,) and rewards.dtype == np.float32
        assert dones.shape == (4,) and dones.dtype == np.bool_
        for i in np.flatnonzero(dones):
            assert venv.observation_space.contains(infos[i]["terminal_observation"])
            dones_seen += 1
    assert dones_seen > 0
    checked.close()


def test_render_and_get_images_give_rgb_frames() -> None:
    venv = SB3VecEnv(gym.make_vec("rlsuite/Reacher-v0", num_envs=4, render_mode="rgb_array"))
    venv.reset()
    images = venv.get_images()
    assert len(images) == 4 and all(image.ndim == 3 and image.shape[2] == 3 for image in images)
    tiled = venv.render()
    height, width = images[0].shape[:2]
    assert tiled.shape == (2 * height, 2 * width, 3)  # SB3 tiles the frames in a square grid
    assert venv.metadata["render_fps"] == venv.venv.metadata["render_fps"]
    with pytest.warns(UserWarning, match="rgb_array"):
        assert SB3VecEnv(gym.make_vec("rlsuite/Reacher-v0", num_envs=2)).get_images() == [None, None]


def test_unpack_infos_follows_the_masks_and_nested_dicts() -> None:
    info = {
        "a": np.array([1.5, 0.0, 2.5]),
        "_a": np.array([True, False, True]),
        "frame": np.arange(6).reshape(3, 2),
        "_frame": np.array([False, True, False]),
        "episode": {"r": np.array([0.0, 3.0, 0.0]), "_r": np.array([False, True, False])},
        "_episode": np.array([False, True, False]),
    }
    infos = unpack_infos(info, 3)
    assert infos[0] == {"a": 1.5} and infos[2] == {"a": 2.5}
    assert infos[1]["episode"] == {"r": 3.0} and list(infos[1]["frame"]) == [2, 3]
    assert type(infos[0]["a"]) is float  # Python scalars, as a single env reports them


# --------------------------------------------------------------------------------------------
# The five algorithms end to end
# --------------------------------------------------------------------------------------------
SMALL_NET = {"net_arch": [32, 32]}
FAST = {
    "sb3.ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 2, "policy_kwargs": SMALL_NET},
    "sb3.a2c": {"n_steps": 8, "policy_kwargs": SMALL_NET},
    "sb3.dqn": {"learning_starts": 100, "buffer_size": 2_000, "batch_size": 32, "policy_kwargs": SMALL_NET},
    "sb3.sac": {"learning_starts": 100, "buffer_size": 2_000, "batch_size": 32, "policy_kwargs": SMALL_NET},
    "sb3.td3": {
        "learning_starts": 100,
        "buffer_size": 2_000,
        "batch_size": 32,
        "policy_kwargs": SMALL_NET,
        "action_noise": {"type": "normal", "sigma": 0.1},
    },
}
RACETRACK = (
    "rlsuite/Racetrack-v0",
    {"obs_type": "state", "action_type": "discrete", "max_episode_steps": 50},
)
REACHER = ("rlsuite/Reacher-v0", {"max_episode_steps": 50})
CASES = [
    ("sb3.ppo", *RACETRACK),
    ("sb3.a2c", *RACETRACK),
    ("sb3.dqn", *RACETRACK),
    ("sb3.sac", *REACHER),
    ("sb3.td3", *REACHER),
    ("sb3.ppo", "CartPole-v1", {}),
    ("sb3.a2c", "CartPole-v1", {}),
    ("sb3.dqn", "CartPole-v1", {}),
    ("sb3.sac", "Pendulum-v1", {"max_episode_steps": 50}),
    ("sb3.td3", "Pendulum-v1", {"max_episode_steps": 50}),
]


def make_config(
    algo: str,
    env_id: str,
    kwargs: dict[str, Any],
    run_dir: Path | str,
    total_steps: int = 400,
    num_envs: int = 2,
    **params: Any,
):
    return from_dict(
        {
            "env": {"id": env_id, "num_envs": num_envs, "kwargs": kwargs},
            "agent": {"algo": algo, **FAST.get(algo, {}), **params},
            "train": {
                "total_steps": total_steps,
                "device": "cpu",
                "seed": 0,
                "eval_every": 0,
                "eval_episodes": 2,
                "eval_num_envs": 2,
            },
            "log": {"run_dir": str(run_dir), "progress": "none"},
        }
    )


def _tags(run_dir: Path) -> dict[str, list[float]]:
    tags: dict[str, list[float]] = {}
    with open(run_dir / "metrics.csv") as file:
        for row in csv.DictReader(file):
            tags.setdefault(row["tag"], []).append(float(row["value"]))
    return tags


@pytest.mark.parametrize(("algo", "env_id", "kwargs"), CASES)
def test_trains_logs_saves_reloads_and_evaluates(
    algo: str, env_id: str, kwargs: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run_dir = train(make_config(algo, env_id, kwargs, tmp_path))
    assert capsys.readouterr().out == ""  # no SB3 tables or messages on stdout
    tags = _tags(run_dir)
    for tag in ("charts/episode_return", "charts/sps", "eval/return_mean", "charts/learning_rate"):
        assert tag in tags, (tag, sorted(tags))
    losses = [tag for tag in tags if tag.startswith("losses/")]
    assert losses, sorted(tags)
    assert all(np.isfinite(v) for tag in losses for v in tags[tag])
    if algo == "sb3.dqn":
        assert "charts/epsilon" in tags
    assert not [p for p in run_dir.iterdir() if p.name.startswith(("PPO", "A2C", "DQN", "SAC", "TD3"))]
    meta = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())
    assert meta["algo"] == algo and meta["global_step"] >= 400
    assert (run_dir / "checkpoints" / "best" / "model.zip").is_file()
    result = evaluate_run(run_dir, episodes=2, checkpoint="last")
    assert np.isfinite(result["eval/return_mean"]) and result["checkpoint"] == "last"
    assert list((run_dir / "eval").glob("eval-last-*.json"))


def test_a_reloaded_agent_acts_as_the_saved_one_and_resume_continues(tmp_path: Path) -> None:
    env_id, kwargs = RACETRACK
    config = make_config("sb3.ppo", env_id, kwargs, tmp_path, total_steps=256)
    run_dir = train(config)
    saved = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())
    envs = make_envs(config.env)
    agent = SB3PPO.load(run_dir / "checkpoints" / "last", config, envs)
    obs, _ = envs.reset(seed=1)
    again = SB3PPO.load(run_dir / "checkpoints" / "last", config, envs)
    np.testing.assert_array_equal(agent.act(obs), again.act(obs))
    assert agent.global_step == saved["global_step"] == 256
    resumed = make_config("sb3.ppo", env_id, kwargs, tmp_path, total_steps=512)
    assert train(resumed, resume=run_dir) == run_dir
    meta = json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())
    assert meta["global_step"] == 512
    envs.close()


def test_config_round_trips_through_the_run_directory(tmp_path: Path) -> None:
    config = make_config(
        "sb3.sac",
        *REACHER,
        tmp_path,
        train_freq=[2, "step"],
        ent_coef="auto_0.5",
        learning_rate="3e-4",  # YAML 1.1 reads 3e-4 as a string; the config layer makes it a number
        policy_kwargs={"net_arch": {"pi": [32], "qf": [32, 32]}, "activation_fn": "tanh"},
    )
    assert config.agent.params.learning_rate == 3e-4 and config.agent.params.train_freq == (2, "step")
    assert from_dict(to_dict(config)) == config
    assert from_dict(yaml.safe_load(yaml.safe_dump(to_dict(config)))) == config


def test_image_observations_pick_the_cnn_policy(tmp_path: Path) -> None:
    config = make_config(
        "sb3.ppo", "rlsuite/Racetrack-v0", {"obs_type": "pixels", "action_type": "discrete"}, tmp_path
    )
    envs = make_envs(config.env)
    agent = SB3PPO(config, envs)
    assert type(agent.model.policy).__name__ == "ActorCriticCnnPolicy"
    assert agent.act(envs.reset(seed=0)[0]).shape == (2,)
    envs.close()


@pytest.mark.parametrize("name", ["sb3_ppo_racetrack.yaml", "sb3_dqn_cartpole.yaml", "sb3_sac_reacher.yaml"])
def test_example_configs_validate_and_build_their_agent(name: str) -> None:
    config = load_config(CONFIGS / name, ["train.device=cpu"])
    envs = make_envs(config.env)
    agent = algorithm_class(config.agent.algo)(config, envs)
    assert agent.model.n_envs == config.env.num_envs
    agent.on_train_end(Path("unused"))
    envs.close()


def test_close_releases_the_env_the_agent_built_once_and_the_callers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Other ids: the agent builds SB3's DummyVecEnv; ``on_train_end`` releases it once (training's
    final evaluation still has the given envs), ``close`` releases it and the given envs, however
    often it is called."""
    config = make_config("sb3.ppo", "CartPole-v1", {}, "unused")
    envs = make_envs(config.env)
    agent = SB3PPO(config, envs)
    closes: list[str] = []
    monkeypatch.setattr(agent.vec_env, "close", lambda: closes.append("DummyVecEnv"))
    # (a spy: Gymnasium's CartPoleVectorEnv.close never sets `closed`)
    monkeypatch.setattr(envs, "close", lambda: closes.append("given envs"))
    assert isinstance(agent.vec_env, DummyVecEnv) and closes == []
    agent.on_train_end(Path("unused"))
    assert closes == ["DummyVecEnv"]
    agent.close()
    assert closes == ["DummyVecEnv", "given envs"]

    config = make_config("sb3.ppo", *RACETRACK, "unused")
    envs = make_envs(config.env)
    agent = SB3PPO(config, envs)
    agent.on_train_end(Path("unused"))
    obs, _ = envs.reset(seed=0)
    assert agent.act(obs).shape == (config.env.num_envs,)
    with agent:
        pass
    assert envs.closed


# --------------------------------------------------------------------------------------------
# Config errors: all before anything runs or is written
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"learning_rat": 1e-3},
            r"agent\.learning_rat: unknown key \(did you mean 'learning_rate'\?\); allowed",
        ),
        ({"learning_rate": "fast"}, r"agent\.learning_rate: got 'fast' \(str\); expected a number"),
        ({"n_steps": "64"}, r"agent\.n_steps: got '64' \(str\); expected an integer"),
        ({"normalize_advantage": 1}, r"agent\.normalize_advantage: got 1 .*expected true or false"),
        ({"gamma": 1.5}, r"agent\.gamma: got 1\.5; must be <= 1"),
        ({"seed": 3}, r"agent\.seed: .*train\.seed"),
        ({"device": "cpu"}, r"agent\.device: .*train\.device"),
        ({"env": "CartPole-v1"}, r"agent\.env: .*env section"),
        ({"verbose": 1}, r"agent\.verbose: "),
        ({"tensorboard_log": "tb"}, r"agent\.tensorboard_log: .*run directory"),
        ({"policy": "MLP"}, r"agent\.policy: got 'MLP' .*'MlpPolicy'"),
        ({"policy_kwargs": {"net_arc": [64]}}, r"agent\.policy_kwargs\.net_arc: .*did you mean 'net_arch'"),
        ({"policy_kwargs": {"net_arch": [64, -1]}}, r"agent\.policy_kwargs\.net_arch: got \[64, -1\]"),
        ({"policy_kwargs": {"activation_fn": "swish"}}, r"agent\.policy_kwargs\.activation_fn: .*relu"),
        ({"policy_kwargs": {"ortho_init": "yes"}}, r"agent\.policy_kwargs\.ortho_init: .*true or false"),
        ({"policy_kwargs": {"use_sde": True}}, r"agent\.policy_kwargs\.use_sde: .*agent\.use_sde"),
    ],
)
def test_bad_hyper_parameters_are_config_errors_naming_the_key(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_config("sb3.ppo", "CartPole-v1", {}, "unused", **params)


@pytest.mark.parametrize(
    ("algo", "params", "message"),
    [
        ("sb3.sac", {"ent_coef": "lots"}, r"agent\.ent_coef: got 'lots'"),
        ("sb3.sac", {"train_freq": [1, "steps"]}, r"agent\.train_freq: got \[1, 'steps'\]"),
        ("sb3.td3", {"action_noise": {"type": "gaussian"}}, r"agent\.action_noise\.type: .*normal"),
        ("sb3.td3", {"policy_kwargs": {"net_arch": {"pi": [8], "vf": [8]}}}, r"\{pi: \[\.\.\.\], qf"),
        (
            "sb3.dqn",
            {"replay_buffer_class": "HerReplayBuffer"},
            r"agent\.replay_buffer_class: .*Python class",
        ),
        ("sb3.dqn", {"exploration_fraction": 2}, r"agent\.exploration_fraction: got 2\.0; must be <= 1"),
    ],
)
def test_algorithm_specific_errors(algo: str, params: dict, message: str) -> None:
    env = REACHER if algo in ("sb3.sac", "sb3.td3") else RACETRACK
    with pytest.raises(ConfigError, match=message):
        make_config(algo, *env, "unused", **params)


@pytest.mark.parametrize(
    ("algo", "env_id", "kwargs", "message"),
    [
        (
            "sb3.dqn",
            "rlsuite/Reacher-v0",
            {},
            r"agent\.algo: sb3\.dqn needs a Discrete action space; rlsuite/Reacher-v0 has Box\(.*\): "
            r"pass env\.kwargs\.action_type=discrete",
        ),
        (
            "sb3.sac",
            "rlsuite/Racetrack-v0",
            {"action_type": "discrete"},
            r"sb3\.sac needs a Box action space; .* pass env\.kwargs\.action_type=continuous",
        ),
        ("sb3.td3", "CartPole-v1", {}, r"sb3\.td3 needs a Box action space; CartPole-v1 has Discrete\(2\)"),
    ],
)
def test_action_space_mismatch_fails_before_a_run_directory_exists(
    algo: str, env_id: str, kwargs: dict, message: str, tmp_path: Path
) -> None:
    config = make_config(algo, env_id, kwargs, tmp_path / "runs")
    with pytest.raises(ConfigError, match=message):
        train(config)
    assert not (tmp_path / "runs").exists()


def test_sb3s_own_objections_are_config_errors_before_a_run_directory_exists(tmp_path: Path) -> None:
    config = make_config("sb3.ppo", "CartPole-v1", {}, tmp_path / "runs", num_envs=1, n_steps=1)
    with pytest.raises(ConfigError, match=r"agent: sb3\.ppo rejects these settings"):
        train(config)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("agent", "env", "total_steps", "message"),
    [
        (  # issue 29: SB3 trained one whole rollout of 65,536 steps and showed "step 65,536/2,048 (3200%)"
            "{algo: sb3.ppo}",
            "{id: CartPole-v1, num_envs: 32}",
            2048,
            r"train\.total_steps: got 2,048, less than one sb3\.ppo rollout of agent\.n_steps × env\.num_envs "
            r"= 2,048 × 32 = 65,536 env steps.*at least 65,536, or lower agent\.n_steps or env\.num_envs",
        ),
        (
            "{algo: sb3.dqn, train_freq: 8}",
            "{id: CartPole-v1, num_envs: 16}",
            100,
            r"train\.total_steps: got 100, less than one sb3\.dqn rollout of agent\.train_freq × env\.num_envs "
            r"= 8 × 16 = 128 env steps",
        ),
        (
            "{algo: sb3.sac, train_freq: [1, episode]}",
            "{id: Pendulum-v1, num_envs: 2}",
            1000,
            r"agent\.train_freq: got \[1, 'episode'\]; SB3 collects whole episodes with one env only, and "
            r"env\.num_envs is 2: set env\.num_envs=1 or count in steps",
        ),
    ],
)
def test_a_budget_below_one_rollout_is_an_error_before_anything_runs(
    agent: str, env: str, total_steps: int, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from rlsuite.cli import main

    args = [f"agent={agent}", f"env={env}", f"train.total_steps={total_steps}", f"log.run_dir={tmp_path}"]
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err and not list(tmp_path.iterdir())


def test_progress_ends_at_the_steps_taken_never_past_100_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Rollouts of 64 × 2 = 128 steps: a budget of 200 ends after the second, at 256 steps."""
    config = make_config("sb3.ppo", "CartPole-v1", {}, tmp_path, total_steps=200, n_steps=64)
    config.log.progress = "lines"
    config.log.log_every_s = 1e-9  # a line after every vector step
    run_dir = train(config)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    percents = [int(re.search(r"\((\d+)%\)", line).group(1)) for line in lines]
    assert len(lines) > 100 and max(percents) == 100, lines[-3:]
    assert lines[-1].startswith("step 256/256 (100%)"), lines[-1]
    assert json.loads((run_dir / "checkpoints" / "last" / "agent.json").read_text())["global_step"] == 256


def test_the_agent_runs_torch_on_the_configured_threads(tmp_path: Path) -> None:
    """Like our DQN, 1 thread by default (torch's one per core made the shipped Racetrack config 5×
    slower); 0 keeps torch's default. Training, evaluation and recording load the agent alike."""
    seen: list[int] = []
    torch.set_num_threads(3)
    run_dir = train(
        make_config("sb3.ppo", "CartPole-v1", {}, tmp_path, total_steps=128, n_steps=64),
        on_evaluation=lambda monitor, step, result: seen.append(torch.get_num_threads()),
    )
    assert seen == [1]
    torch.set_num_threads(3)
    evaluate_run(run_dir, episodes=2, checkpoint="last")
    assert torch.get_num_threads() == 1
    for threads, expected in ((2, 2), (0, 3)):
        torch.set_num_threads(3)
        config = make_config("sb3.ppo", "CartPole-v1", {}, tmp_path, torch_threads=threads)
        envs = make_envs(config.env)
        SB3PPO(config, envs)
        assert torch.get_num_threads() == expected
        envs.close()


# --------------------------------------------------------------------------------------------
# Learning
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ppo_beats_random_on_racetrack(tmp_path: Path) -> None:
    """A random driver scores about -20 (it crashes), one that stands still about 0; PPO through
    SB3VecEnv learns to drive (the settings of experiments/configs/sb3_ppo_racetrack.yaml, 70k steps)."""
    data = yaml.safe_load(CONFIGS.joinpath("sb3_ppo_racetrack.yaml").read_text())
    data["train"] = {"total_steps": 70_000, "device": "cpu", "seed": 0, "eval_every": 0, "eval_episodes": 5}
    data["log"] = {"run_dir": str(tmp_path), "progress": "none"}
    run_dir = train(from_dict(data))
    assert _tags(run_dir)["eval/return_mean"][-1] > 100
