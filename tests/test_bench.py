"""`rlsuite bench`: one command for the env and agent throughput tables; ours and the peers are
timed by the same routine, and a missing peer is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlsuite import bench
from rlsuite.cli import main


def test_ours_and_the_env_peers_are_timed_by_the_same_routine(monkeypatch) -> None:
    calls: list[tuple[str, float, int]] = []

    def fake_time_single(env_id, kwargs, seconds, repeats=3, seed=0):
        calls.append((env_id, seconds, repeats))
        return 100.0

    monkeypatch.setattr(bench, "time_single", fake_time_single)
    monkeypatch.setattr(bench, "time_vector", lambda *args, **kwargs: 1000.0)
    case = bench.CASES[1]  # Racetrack state, whose peer is highway-env's racetrack
    monkeypatch.setattr(bench, "PEERS", {case.peer: ("gymnasium", "CartPole-v1", {})})
    table, missing = bench.run_envs([case.env_id], seconds=0.3, peers=True, repeats=2)
    # our two Racetrack rows (state, pixels), then the peer: one routine, the same budget
    assert calls == [(case.env_id, 0.3, 2), (case.env_id, 0.3, 2), ("CartPole-v1", 0.3, 2)]
    assert f"| {case.peer} | 100 | {case.label} | 1.0× |" in table and not missing


def test_ours_and_the_agent_peers_are_timed_by_the_same_routine(monkeypatch) -> None:
    calls: list[tuple[str, int, int]] = []

    def fake_time_agent(config, steps, repeats=3, seed=0):
        calls.append((config["agent"]["algo"], steps, repeats))
        return 50.0 if config["agent"]["algo"].startswith("sb3.") else 100.0

    monkeypatch.setattr(bench, "time_agent", fake_time_agent)
    table, missing = bench.run_agents(quick=True, peers=True, repeats=2)
    case = bench.AGENT_CASES[0]
    assert calls[:2] == [("dqn", case.steps // 4, 2), ("sb3.dqn", case.steps // 4, 2)]
    assert "| 100 | Stable-Baselines3 sb3.dqn, same settings | 50 | 2.0× |" in table and not missing


def test_a_missing_peer_is_named_with_how_to_install_it(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setattr(bench, "_peer_available", lambda module: False)
    monkeypatch.setattr(bench, "time_agent", lambda config, steps, repeats=3, seed=0: 10.0)
    out = tmp_path / "bench.md"
    ids = ["--ids", "rlsuite/Racetrack-v0"]
    assert main(["bench", "all", "--quick", *ids, "--output", str(out)]) == 0
    report = out.read_text()
    assert "| highway-env racetrack-v0 | not installed |" in report
    assert "| Stable-Baselines3: not installed |" in report
    assert (
        "Peers not installed (their rows are empty): highway-env racetrack-v0 (`pip install highway-env`)"
        in report
    )


@pytest.mark.slow
def test_bench_quick_times_every_row_for_real(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    assert main(["bench", "--quick", "--no-peers", "--output", str(out)]) == 0
    report = out.read_text()
    rows = [line for line in report.splitlines() if line.startswith("| ") and not line.startswith("| env ")]
    env_rows = [r for r in rows if any(r.startswith(f"| {c.label} |") for c in bench.CASES)]
    agent_rows = [r for r in rows if any(r.startswith(f"| {c.label} |") for c in bench.AGENT_CASES)]
    assert len(env_rows) == len(bench.CASES) and len(agent_rows) == len(bench.AGENT_CASES)
    for row in env_rows:  # single and vector steps/s measured
        cells = row.split("|")
        assert float(cells[2].replace(",", "")) > 0 and float(cells[4].split("(")[0].replace(",", "")) > 0
    for row in agent_rows:
        assert float(row.split("|")[3].replace(",", "")) > 0
    assert "Peers not timed (`--no-peers`)." in report
