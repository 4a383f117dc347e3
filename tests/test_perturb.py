"""The robustness suite (rlsuite/perturb.py): every wrapper perturbation on our native vector envs and
on the single env, level 0 as the identity, seeding, NEXT_STEP autoreset, where pixels change, the
env-kwarg perturbations, and ``rlsuite eval --perturb`` on a tiny trained run."""

from __future__ import annotations

import json
from collections import deque

import gymnasium as gym
import numpy as np
import pytest

import rlsuite  # noqa: F401  (registers the envs)
from rlsuite.config import ConfigError, EnvConfig
from rlsuite.perturb import PERTURBATIONS, applicable, parse_perturbation

STEPS = 40
LIMIT = 9  # max_episode_steps: several autoresets within STEPS
PIXELS = {"obs_type": "pixels", "pixel_shape": 32}
# A wrapper perturbation -> the env kwargs it is tested on (ids and kwargs of our envs).
WRAPPERS = {
    "observation_noise": ("rlsuite/Racetrack-v0", {}),
    "color_shift": ("rlsuite/Racetrack-v0", PIXELS),
    "brightness": ("rlsuite/Highway-v0", PIXELS),
    "background": ("rlsuite/Racetrack-v0", PIXELS),
    "distractors": ("rlsuite/Reacher-v0", PIXELS),
    "action_delay": ("rlsuite/Racetrack-v0", {}),
    "actuation_noise": ("rlsuite/Racetrack-v0", {}),
}
DISCRETE = ("rlsuite/Highway-v0", {})  # actuation noise and delay on Discrete actions too


def _vector(env_id: str, kwargs: dict, n: int = 3) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=n, max_episode_steps=LIMIT, **kwargs)


def _actions(envs: gym.vector.VectorEnv, steps: int = STEPS, seed: int = 7) -> list[np.ndarray]:
    space = envs.action_space
    space.seed(seed)
    return [space.sample() for _ in range(steps)]


def _rollout(envs: gym.vector.VectorEnv, actions: list[np.ndarray], seed: int = 3) -> list[tuple]:
    obs, _ = envs.reset(seed=seed)
    out = [(obs.copy(),)]
    for a in actions:
        obs, rewards, terminated, truncated, _ = envs.step(a)
        out.append((obs.copy(), rewards.copy(), terminated.copy(), truncated.copy()))
    envs.close()
    return out


def _same(a: list[tuple], b: list[tuple]) -> bool:
    return all(np.array_equal(x, y) for s, t in zip(a, b, strict=True) for x, y in zip(s, t, strict=True))


def _cases() -> list[tuple[str, str, dict]]:
    return [(name, *WRAPPERS[name]) for name in WRAPPERS] + [
        ("actuation_noise", *DISCRETE),
        ("action_delay", *DISCRETE),
    ]


# --------------------------------------------------------------------------------------------
# Wrappers: identity, seeding, single env = sub-env of the vector env
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, env_id, kwargs", _cases())
def test_level_zero_is_the_identity_and_levels_perturb(name, env_id, kwargs):
    actions = _actions(_vector(env_id, kwargs))
    plain = _rollout(_vector(env_id, kwargs), actions)
    assert any(s[2].any() or s[3].any() for s in plain[1:])  # episodes ended: autoresets were exercised
    level0 = _rollout(parse_perturbation(f"{name}:0").wrap(_vector(env_id, kwargs)), actions)
    assert _same(level0, plain)
    strong = _rollout(parse_perturbation(f"{name}:3").wrap(_vector(env_id, kwargs)), actions)
    assert not _same(strong, plain)


@pytest.mark.parametrize("name, env_id, kwargs", _cases())
def test_the_same_seed_gives_the_same_perturbed_episodes(name, env_id, kwargs):
    actions = _actions(_vector(env_id, kwargs))
    first = _rollout(parse_perturbation(f"{name}:2", seed=1).wrap(_vector(env_id, kwargs)), actions)
    again = _rollout(parse_perturbation(f"{name}:2", seed=1).wrap(_vector(env_id, kwargs)), actions)
    other = _rollout(parse_perturbation(f"{name}:2", seed=2).wrap(_vector(env_id, kwargs)), actions)
    assert _same(first, again)
    assert _same(first, other) is not PERTURBATIONS[name].random  # action delay draws nothing


@pytest.mark.parametrize("name, env_id, kwargs", _cases())
def test_a_sub_env_sees_what_the_single_env_sees(name, env_id, kwargs):
    """Sub-env 1 of the perturbed vector env (reset with seed s) against the perturbed single env reset
    with seed s + 1, through autoresets: the reset step's observation is the single env's reset()."""
    perturbation = parse_perturbation(f"{name}:3", seed=4)
    envs = perturbation.wrap(_vector(env_id, kwargs, n=2))
    single = perturbation.wrap_env(gym.make(env_id, max_episode_steps=LIMIT, **kwargs))
    actions = _actions(envs)
    obs, _ = envs.reset(seed=10)
    single_obs, _ = single.reset(seed=11)
    np.testing.assert_array_equal(obs[1], single_obs)
    waiting = False  # sub-env 1 is in its reset step
    for a in actions:
        obs, rewards, terminated, truncated, _ = envs.step(a)
        if waiting:
            single_obs, _ = single.reset()
        else:
            single_obs, reward, term, trunc, _ = single.step(a[1])
            assert (reward, term, trunc) == (rewards[1], terminated[1], truncated[1])
        np.testing.assert_array_equal(obs[1], single_obs)
        waiting = bool(terminated[1] or truncated[1])
    envs.close()
    single.close()


def test_a_masked_reset_leaves_the_other_sub_envs_alone():
    envs = parse_perturbation("observation_noise:3").wrap(_vector("rlsuite/Racetrack-v0", {}))
    obs, _ = envs.reset(seed=0)
    again, _ = envs.reset(seed=5, options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(again[[0, 2]], obs[[0, 2]])  # no new noise for the others
    assert not np.array_equal(again[1], obs[1])
    envs.close()


# --------------------------------------------------------------------------------------------
# Action delay: against a hand-written loop
# --------------------------------------------------------------------------------------------
def test_action_delay_matches_a_hand_written_loop_through_autoresets():
    k = PERTURBATIONS["action_delay"].levels[2]
    actions = _actions(_vector("rlsuite/Racetrack-v0", {}))
    delayed = _rollout(
        parse_perturbation("action_delay:2").wrap(_vector("rlsuite/Racetrack-v0", {})), actions
    )

    envs = _vector("rlsuite/Racetrack-v0", {})  # by hand: one buffer per sub-env, cleared by a reset step
    buffers: list[deque] = [deque() for _ in range(envs.num_envs)]
    obs, _ = envs.reset(seed=3)
    expected = [(obs.copy(),)]
    resetting = np.zeros(envs.num_envs, dtype=bool)
    for a in actions:
        sent = a.copy()
        for i, buffer in enumerate(buffers):
            if resetting[i]:  # the reset step: its action is ignored; the new episode starts empty
                buffer.clear()
                continue
            if not buffer:
                buffer.extend([a[i]] * k)
            buffer.append(a[i])
            sent[i] = buffer.popleft()
        obs, rewards, terminated, truncated, _ = envs.step(sent)
        expected.append((obs.copy(), rewards.copy(), terminated.copy(), truncated.copy()))
        resetting = terminated | truncated
    envs.close()
    assert any(s[2].any() or s[3].any() for s in expected[1:])
    assert _same(delayed, expected)


# --------------------------------------------------------------------------------------------
# Pixels change where each perturbation says
# --------------------------------------------------------------------------------------------
def _first_frames(name: str, env_id: str = "rlsuite/Racetrack-v0", level: int = 2):
    plain, _ = _vector(env_id, PIXELS).reset(seed=0)
    perturbed, _ = parse_perturbation(f"{name}:{level}").wrap(_vector(env_id, PIXELS)).reset(seed=0)
    return plain.astype(np.int64), perturbed.astype(np.int64)


def test_background_replaces_only_the_background_colour():
    plain, perturbed = _first_frames("background")
    for frame, new in zip(plain, perturbed, strict=True):
        grass = np.all(frame == frame[0, 0], axis=-1)  # a corner is grass at these starts
        changed = np.any(frame != new, axis=-1)
        assert changed.sum() > 0.3 * changed.size
        assert not (changed & ~grass).any()  # the road, kerbs and car are kept


def test_color_shift_moves_every_channel_by_the_level():
    m = PERTURBATIONS["color_shift"].levels[2]
    plain, perturbed = _first_frames("color_shift")
    inside = (plain >= m) & (plain <= 255 - m)  # not clipped either way
    assert np.all(np.abs(perturbed - plain)[inside] == m)


def test_brightness_scales_every_pixel():
    b = PERTURBATIONS["brightness"].levels[2]
    plain, perturbed = _first_frames("brightness", "rlsuite/Highway-v0")
    for frame, new in zip(plain, perturbed, strict=True):
        factor = 1 + b if new.sum() > frame.sum() else 1 - b
        np.testing.assert_array_equal(new, np.clip(np.rint(frame * factor), 0, 255))


def test_distractors_cover_discs_of_the_stated_size_only():
    count, radius, _ = PERTURBATIONS["distractors"].levels[3]
    plain, perturbed = _first_frames("distractors", "rlsuite/Reacher-v0", level=3)
    disc = np.pi * (radius * 32 + 1) ** 2  # [px] with the rim
    for frame, new in zip(plain, perturbed, strict=True):
        changed = np.any(frame != new, axis=-1).sum()
        assert 0 < changed <= count * disc


# --------------------------------------------------------------------------------------------
# Env-kwarg perturbations
# --------------------------------------------------------------------------------------------
def test_traffic_density_multiplies_density_and_count_within_bounds():
    env = EnvConfig(id="rlsuite/Highway-v0", num_envs=2, kwargs={"vehicles_density": 1.2})
    assert parse_perturbation("traffic_density:2").configure(env).kwargs == {
        "vehicles_density": 2.4,
        "vehicles_count": 40,
    }
    assert parse_perturbation("traffic_density:3").configure(env).kwargs["vehicles_density"] == 3.0  # bound


@pytest.mark.parametrize(
    "name, env_id",
    [
        ("link_mass", "rlsuite/Reacher-v0"),
        ("friction", "rlsuite/Pusher-v0"),
        ("traffic_density", "rlsuite/Highway-v0"),
        ("unseen_tracks", "rlsuite/Racetrack-v0"),
    ],
)
def test_kwarg_perturbations_rebuild_the_env_level_zero_unchanged(name, env_id):
    env = EnvConfig(id=env_id, num_envs=2)

    def episodes(config: EnvConfig) -> list[tuple]:
        envs = gym.make_vec(config.id, num_envs=2, max_episode_steps=LIMIT, **config.kwargs)
        return _rollout(envs, _actions(envs, 12))

    plain = episodes(env)
    assert _same(episodes(parse_perturbation(f"{name}:0").configure(env)), plain)
    assert not _same(episodes(parse_perturbation(f"{name}:3").configure(env)), plain)


def test_friction_and_link_mass_scale_the_arm():
    env = EnvConfig(id="rlsuite/Pusher-v0", num_envs=1)
    kwargs = parse_perturbation("friction:2").configure(env).kwargs
    assert kwargs["puck_friction"] == pytest.approx(0.4 * 2.5)
    assert kwargs["params"].joint_damping == pytest.approx((0.005 * 2.5,) * 2)
    masses = parse_perturbation("link_mass:3").configure(env).kwargs["params"].link_masses
    assert masses == pytest.approx((0.3, 0.3))


def test_unseen_tracks_levels():
    env = EnvConfig(id="rlsuite/Racetrack-v0", num_envs=1, kwargs={"track": "oval"})
    tracks = [parse_perturbation(f"unseen_tracks:{k}").configure(env).kwargs for k in range(4)]
    assert tracks[0]["track"] == "oval" and isinstance(tracks[1]["track"], int)
    assert tracks[2]["track"] == tracks[3]["track"] == "random" and tracks[3]["width_jitter"] > 0


# --------------------------------------------------------------------------------------------
# Which perturbations apply, and the errors
# --------------------------------------------------------------------------------------------
def test_applicable_perturbations_per_env():
    assert applicable(EnvConfig(id="CartPole-v1")) == ["observation_noise", "action_delay", "actuation_noise"]
    racetrack_pixels = applicable(EnvConfig(id="rlsuite/Racetrack-v0", kwargs=PIXELS))
    assert "background" in racetrack_pixels and "unseen_tracks" in racetrack_pixels
    assert "observation_noise" not in racetrack_pixels and "traffic_density" not in racetrack_pixels
    assert "unseen_tracks" not in applicable(EnvConfig(id="rlsuite/GridRacetrack-v0"))  # no procedural tracks
    assert {"link_mass", "friction"} <= set(applicable(EnvConfig(id="rlsuite/Reacher-v0")))


@pytest.mark.parametrize(
    "spec, message",
    [
        ("colour_shift", "did you mean 'color_shift'"),
        ("brightness:4", "level must be one of 0 (none)"),
        ("brightness:x", "level must be one of"),
        ("color_shift:1", "pixel observations only"),
        ("traffic_density", "'vehicles_density' kwarg only (Highway)"),
    ],
)
def test_bad_perturbations_are_config_errors_naming_what_is_allowed(spec, message):
    with pytest.raises(ConfigError, match="perturb") as error:
        parse_perturbation(spec, env=EnvConfig(id="rlsuite/Racetrack-v0"))
    assert message in str(error.value)


def test_every_perturbation_has_four_levels_documented_and_is_in_the_help():
    from rlsuite.cli import PERTURB_HELP

    for name, cls in PERTURBATIONS.items():
        assert set(cls.levels) == {0, 1, 2, 3} and cls.__doc__ and "Levels" in cls.__doc__
        assert name in PERTURB_HELP


# --------------------------------------------------------------------------------------------
# rlsuite eval --perturb on a tiny trained run
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from rlsuite.config import from_dict
    from rlsuite.training import train

    config = {
        "env": {"id": "FrozenLake-v1", "num_envs": 2},
        "agent": {"algo": "q_learning", "learning_rate": 0.3},
        "train": {"total_steps": 600, "eval_every": 300, "eval_episodes": 4, "seed": 1},
        "log": {"run_dir": str(tmp_path_factory.mktemp("runs")), "progress": "none"},
    }
    return train(from_dict(config))


def test_eval_perturb_writes_the_perturbation_into_the_eval_json(tiny_run, capsys):
    from rlsuite.cli import main

    assert main(["eval", str(tiny_run), "--perturb", "actuation_noise:2", "--episodes", "4"]) == 0
    assert "actuation_noise:2 (strong" in capsys.readouterr().out
    (saved,) = (tiny_run / "eval").glob("eval-best-actuation_noise2-*.json")
    record = json.loads(saved.read_text())["perturbation"]
    assert record["name"] == "actuation_noise" and record["level"] == 2 and record["seed"] == record["seed"]

    assert main(["eval", str(tiny_run), "--perturb", "all", "--episodes", "2"]) == 0
    out = capsys.readouterr().out
    assert "drop" in out and out.count("action_delay") == 3 and out.count("actuation_noise") == 3
    (summary,) = (tiny_run / "eval").glob("robustness-*.json")
    assert len(json.loads(summary.read_text())["rows"]) == 1 + 2 * 3


def test_eval_perturb_errors_before_anything_runs(tiny_run, capsys):
    from rlsuite.cli import main

    assert main(["eval", str(tiny_run), "--perturb", "background"]) == 2
    err = capsys.readouterr().err
    assert "does not apply to FrozenLake-v1 (pixel observations only" in err
    assert "perturbations that do: action_delay, actuation_noise" in err
    assert not list((tiny_run / "eval").glob("eval-best-background*"))


# --------------------------------------------------------------------------------------------
# Training under perturbations: train.perturb, a batch mixture
# --------------------------------------------------------------------------------------------
def test_a_batch_mixture_perturbs_each_share_of_the_batch_only():
    """Sub-env i under the (i mod 3)-th of [none, observation noise, actuation noise]: the unperturbed
    share sees exactly the plain env's episodes, each perturbed share only its own perturbation."""
    from rlsuite.perturb import BatchMixture

    n = 6
    actions = _actions(_vector("rlsuite/Racetrack-v0", {}, n))
    plain = _rollout(_vector("rlsuite/Racetrack-v0", {}, n), actions)
    noise, actuation = (
        parse_perturbation("observation_noise:3", 1),
        parse_perturbation("actuation_noise:3", 1),
    )
    mixed = _rollout(BatchMixture([noise, actuation]).wrap(_vector("rlsuite/Racetrack-v0", {}, n)), actions)

    def rows(steps, chosen):
        return [tuple(x[chosen] for x in step) for step in steps]

    assert _same(rows(mixed, [0, 3]), rows(plain, [0, 3]))
    assert not _same(rows(mixed, [1, 4]), rows(plain, [1, 4]))
    # observation noise changes what is seen, never the dynamics: its rows' rewards are the plain ones
    assert all(np.array_equal(m[1][[1, 4]], p[1][[1, 4]]) for m, p in zip(mixed[1:], plain[1:], strict=True))
    assert not _same(rows(mixed, [2, 5]), rows(plain, [2, 5]))  # actuation noise: other actions were taken
    single = BatchMixture([noise]).wrap_env(gym.make("rlsuite/Racetrack-v0"))
    assert not hasattr(single, "transform")  # a single env is sub-env 0, the unperturbed share
    single.close()


@pytest.mark.parametrize(
    "perturb, message",
    [
        (["traffic_density:1"], "does not apply to rlsuite/Racetrack-v0"),
        (["unseen_tracks:1"], "changes the env's kwargs, which every sub-env of a batch shares"),
        (["observation_noise:1", "observation_noise:2"], "observation_noise given twice"),
        (["observation_nois:1"], "did you mean 'observation_noise'"),
        (["actuation_noise:5"], "level must be one of"),
    ],
)
def test_train_perturb_errors_name_the_key(perturb, message):
    from rlsuite.config import from_dict
    from rlsuite.perturb import training_perturbation

    config = from_dict(
        {"env": {"id": "rlsuite/Racetrack-v0"}, "agent": {"algo": "pqn"}, "train": {"perturb": perturb}}
    )
    with pytest.raises(ConfigError, match="train.perturb") as error:
        training_perturbation(config)
    assert message in str(error.value)


def test_train_perturb_trains_on_perturbed_envs_and_evaluates_on_plain_ones(tmp_path, monkeypatch):
    """A run with train.perturb: its training envs are a batch mixture, its evaluation envs are plain,
    its config records the option; a K-seed run refuses it before writing anything."""
    import rlsuite.training as training
    from rlsuite.config import from_dict
    from rlsuite.perturb import PerturbedVectorEnv

    seen = []
    make = training.make_agent_envs

    def spy(config, num_envs=None, perturbation=None):
        seen.append(perturbation)
        return make(config, num_envs, perturbation)

    monkeypatch.setattr(training, "make_agent_envs", spy)
    config = {
        "env": {"id": "rlsuite/Racetrack-v0", "num_envs": 6,
                "kwargs": {"max_episode_steps": 20, "action_type": "discrete"}},
        "agent": {"algo": "pqn", "num_steps": 8, "net_arch": [16]},
        "train": {"total_steps": 96, "eval_every": 0, "eval_episodes": 2, "device": "cpu",
                  "perturb": ["observation_noise:1", "actuation_noise:1"]},
        "log": {"run_dir": str(tmp_path), "progress": "none"},
    }  # fmt: skip
    run_dir = training.train(from_dict(config))
    assert [p.name if p else None for p in seen][:1] == ["batch_mixture"]
    assert all(p is None for p in seen[1:]) and len(seen) > 1  # the evaluation's envs: unperturbed
    assert "observation_noise:1" in (run_dir / "config.yaml").read_text()
    envs = seen[0].wrap(gym.make_vec("rlsuite/Racetrack-v0", num_envs=6))
    assert isinstance(envs, PerturbedVectorEnv) and isinstance(envs.env, PerturbedVectorEnv)
    envs.close()
    config["train"]["num_seeds"] = 2
    with pytest.raises(ConfigError, match="train.perturb: .* one seed per process"):
        training.train(from_dict(config))


# --------------------------------------------------------------------------------------------
# The robustness study's statistics (experiments/robustness/run.py)
# --------------------------------------------------------------------------------------------
def _study():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "experiments" / "robustness" / "run.py"
    spec = importlib.util.spec_from_file_location("robustness_study", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_study_drop_is_relative_with_an_interval_around_it_for_either_sign():
    study = _study()
    reference = [100.0, 110.0, 90.0, 100.0]
    drop, low, high = study.relative_drop([80.0, 90.0, 70.0, 80.0], reference)
    assert drop == pytest.approx(0.2) and low < drop < high
    assert study.relative_drop(reference, reference)[0] == 0.0
    # negative returns: further below zero is a loss too
    drop, low, high = study.relative_drop([-12.0, -12.0, -12.0], [-10.0, -10.0, -10.0])
    assert drop == pytest.approx(0.2) and low == pytest.approx(0.2) and high == pytest.approx(0.2)


def test_the_study_summary_recomputes_from_raw_episodes():
    study = _study()

    def entry(perturbation, level, returns, lap_times):
        return {
            "key": ["agent", "id", perturbation, level],
            "label": "agent",
            "id": "id",
            "group": "zoo",
            "perturbation": perturbation,
            "level": level,
            "description": perturbation,
            "returns": returns,
            "metrics": {"lap_time": lap_times},
        }

    rows = study.summarise(
        [
            entry("observation_noise", 1, [50.0, 70.0], [None, 30.0]),
            entry("none", 0, [100.0, 100.0], [20.0, 22.0]),
        ]
    )["agent"]
    assert [r["perturbation"] for r in rows] == ["none", "observation_noise"]  # unperturbed first
    assert rows[0]["drop"] is None and rows[1]["drop"] == pytest.approx(0.4)
    assert rows[1]["metrics"]["lap_time"] == 30.0  # over the episodes where it is defined
    assert rows[1]["return_ci"][0] <= 60.0 <= rows[1]["return_ci"][1]
    table = study.agent_table(rows)
    assert "| observation_noise:1 | 60.0 [" in table[3] and "**>10 %**" in table[3] and "30 (+9)" in table[3]
