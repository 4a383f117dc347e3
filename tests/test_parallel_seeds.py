"""train.num_seeds: K seeds side by side in one process give each seed exactly its own run.

The reference is the single run itself: a K-seed run and K single runs with those seeds must write the
same ``metrics.csv`` rows (returns, lengths, losses, evaluations; not the timings) and the same final
weights and optimiser state, bit for bit."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rlsuite.agents.networks import Adam, SeedAdam
from rlsuite.agents.pqn import RAdam
from rlsuite.config import ConfigError, from_dict
from rlsuite.training import SEEDS_SUMMARY, evaluate_run, train

TIMINGS = {"charts/sps", "time/eval_seconds"}  # wall-clock scalars: never equal across two runs


DQN = {  # small enough to learn, fill and sample the buffer, update the target network in 1,600 steps
    "algo": "dqn",
    "learning_rate": 1e-3,
    "buffer_size": 1_000,
    "learning_starts": 200,
    "batch_size": 16,
    "train_freq": 2,
    "gradient_steps": 2,
    "target_update_interval": 400,
    "max_grad_norm": 0.5,  # small: the clipping is exercised
    "net_arch": [16, 16],
    "exploration_fraction": 0.3,
    "log_interval": 1,
}


def _config(tmp_path: Path, env: dict, agent: dict | None = None, **train: object) -> dict:
    return {
        "env": env,
        "agent": agent
        or {
            "algo": "pqn",
            "learning_rate": 1e-3,
            "optimizer": "adam",
            "num_steps": 4,
            "num_epochs": 2,
            "num_minibatches": 2,
            "max_grad_norm": 0.5,  # small: the clipping is exercised
            "net_arch": [16, 16],
            "td_lambda": 0.9,
            "exploration_fraction": 0.3,
            "log_interval": 1,
        },
        "train": {
            "total_steps": 1_600,
            "eval_every": 800,
            "eval_episodes": 8,  # 8 envs: the seeds' evaluations share batched (bmm) forward passes
            "eval_num_envs": 8,
            "seed": 3,
            **train,
        },
        "log": {"run_dir": str(tmp_path), "progress": "none"},
    }


def _rows(run_dir: Path) -> list[tuple[str, str, str]]:
    with (run_dir / "metrics.csv").open() as f:
        return [(r["step"], r["tag"], r["value"]) for r in csv.DictReader(f) if r["tag"] not in TIMINGS]


def _weights(run_dir: Path) -> dict:
    return load_file(run_dir / "checkpoints" / "last" / "model.safetensors")


CARTPOLE = {"id": "CartPole-v1", "num_envs": 8}  # Gymnasium's vector env: one env per seed
RACETRACK = {  # our native vector env: one env of K * n rows
    "id": "rlsuite/Racetrack-v0",
    "num_envs": 5,
    "kwargs": {"obs_type": "state", "action_type": "discrete"},
}


@pytest.mark.parametrize(
    ("env", "agent"),
    [(CARTPOLE, None), (RACETRACK, None), (CARTPOLE, DQN), (RACETRACK, {**DQN, "tau": 0.5, "loss": "mse"})],
    ids=["pqn-cartpole", "pqn-racetrack", "dqn-cartpole", "dqn-racetrack-polyak-mse"],
)
def test_k_seeds_equal_k_single_runs(tmp_path: Path, env: dict, agent: dict | None) -> None:
    parent = train(from_dict(_config(tmp_path / "together", env, agent, num_seeds=3)))
    summary = json.loads((parent / SEEDS_SUMMARY).read_text())
    assert summary["seeds"] == [3, 4, 5]
    seed_dirs = [parent / name for name in summary["runs"]]
    for seed, together in zip([3, 4, 5], seed_dirs):
        alone = train(from_dict(_config(tmp_path / "alone", env, agent, seed=seed)))
        rows = _rows(alone)
        assert any(tag == "losses/td_loss" for _, tag, _ in rows) and any(
            tag == "charts/episode_return" for _, tag, _ in rows
        )
        assert _rows(together) == rows, f"seed {seed}: metrics differ from its own run"
        mine, theirs = _weights(together), _weights(alone)
        assert mine.keys() == theirs.keys()
        for key in mine:
            assert mine[key].equal(theirs[key]), f"seed {seed}: {key} differs"
        assert (together / "config.yaml").read_text() == (alone / "config.yaml").read_text().replace(
            "alone", "together"
        )
    finals = [f["eval/return_mean"] for f in summary["final_eval"]]
    assert summary["mean"]["eval/return_mean"] == pytest.approx(sum(finals) / 3)
    assert evaluate_run(seed_dirs[1], episodes=1)["episodes"] == 1  # an ordinary run directory


def test_bad_num_seeds_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    config = _config(tmp_path, CARTPOLE)
    with pytest.raises(ConfigError, match="num_seeds"):
        from_dict({**config, "train": {**config["train"], "num_seeds": 0}})
    tabular = {**config, "agent": {"algo": "q_learning"}, "train": {**config["train"], "num_seeds": 2}}
    with pytest.raises(ConfigError, match=r"q_learning trains one seed per process.*: dqn, pqn"):
        train(from_dict(tabular))
    dueling = {**config, "agent": {**DQN, "dueling": True}, "train": {**config["train"], "num_seeds": 2}}
    with pytest.raises(ConfigError, match=r"dqn trains seeds side by side without agent.dueling"):
        train(from_dict(dueling))
    with pytest.raises(ConfigError, match="not supported yet"):
        train(from_dict({**config, "train": {**config["train"], "num_seeds": 2}}), resume=tmp_path)
    skip = {**config, "train": {**config["train"], "num_seeds": 2, "nonfinite": "skip"}}
    with pytest.raises(ConfigError, match="nonfinite"):
        train(from_dict(skip))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("optimizer", [Adam, RAdam], ids=["adam", "radam"])
def test_seed_adam_steps_each_seed_as_its_own_optimizer(optimizer: type[Adam]) -> None:
    """SeedAdam over [K, ...] stacked weights: each seed's weights and state exactly its own optimiser's
    steps (sizes in whole vector lanes, stepped stacked, and not, stepped seed by seed)."""
    k, shapes = 3, [(64, 4), (64,), (16, 14), (9,), (2, 64), (2,)]
    generator = torch.Generator().manual_seed(0)
    stacked = [torch.randn(k, *shape, generator=generator).requires_grad_(True) for shape in shapes]
    alone = [[w[s].detach().clone().requires_grad_(True) for w in stacked] for s in range(k)]
    views = [[w.detach()[s] for w in stacked] for s in range(k)]
    reference = [optimizer([{"params": weights, "lr": 1e-2}]) for weights in alone]
    together = SeedAdam([optimizer([{"params": weights, "lr": 1e-2}]) for weights in views], views, stacked)
    assert together.joint == (optimizer is Adam)
    for _ in range(4):
        grads = [torch.randn(w.shape, generator=generator) for w in stacked]
        for w, grad in zip(stacked, grads):
            w.grad = grad.clone()
        for s, opt in enumerate(reference):
            for w, grad in zip(alone[s], grads):
                w.grad = grad[s].clone()
            opt.step()
        together.step()
    for s, opt in enumerate(reference):
        for i, w in enumerate(alone[s]):
            assert stacked[i][s].equal(w), f"seed {s}, weight {i}"
            mine, theirs = together.optimizers[s].state[views[s][i]], opt.state[w]
            assert all(mine[key].equal(theirs[key]) for key in theirs), f"seed {s}, state of weight {i}"
