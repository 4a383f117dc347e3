"""`rlsuite bench`: one command for the env and agent throughput tables; ours and the peers are
timed by the same routine, and a missing peer is named."""

from __future__ import annotations

import json
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


# --------------------------------------------------------------------------------------------
# The speed check (`rlsuite bench --check`): real timings, a real slow step
# --------------------------------------------------------------------------------------------
def _slowed_step(monkeypatch, seconds: float) -> None:
    """Every GridRacetrack single-env step also sleeps ``seconds`` (a regression on the hot path)."""
    import time

    from rlsuite.envs.driving.grid_racetrack import GridRacetrackEnv

    step = GridRacetrackEnv.step

    def slow_step(self, action):
        time.sleep(seconds)
        return step(self, action)

    monkeypatch.setattr(GridRacetrackEnv, "step", slow_step)


def test_the_speed_check_fails_on_a_slowed_step(monkeypatch, tmp_path: Path) -> None:
    _slowed_step(monkeypatch, 0.002)  # ~400x the step: far below the 1x floor against CliffWalking
    out = tmp_path / "check.md"
    code = main(["bench", "--check", "--only", "grid_racetrack", "--seconds", "0.05", "--output", str(out)])
    report = out.read_text()
    assert code == 1
    assert "| GridRacetrack |" in report and "**NO**" in report and "FAILED" in report


def test_the_speed_check_passes_when_every_floor_holds(tmp_path: Path) -> None:
    table = bench.load_floors()
    table["rows"]["grid_racetrack"]["floor"] = 1e-6  # a floor any working env holds
    path = tmp_path / "floors.json"
    path.write_text(json.dumps(table))
    ok, report, measured = bench.check(["grid_racetrack"], seconds=0.05, repeats=1, path=path)
    assert ok and "every ratio holds its floor" in report
    assert measured["grid_racetrack"]["ours"] > 0 and measured["grid_racetrack"]["peer"] > 0


def test_the_speed_check_names_an_unknown_row() -> None:
    with pytest.raises(ValueError, match=r"unknown check\(s\) \['reacher'\]; allowed: \['reacher_state'"):
        bench.check(["reacher"], seconds=0.01, repeats=1)


def test_every_check_has_one_row_in_the_table_with_a_floor() -> None:
    rows = bench.load_floors()["rows"]
    assert [c.key for c in bench.CHECKS] == [key for key, row in rows.items() if "study" not in row]
    assert all(row["floor"] > 0 for row in rows.values())


def test_readme_and_env_study_quote_the_published_figures_of_the_table() -> None:
    """The README's speed table is the table's, rendered; the env study's check record is what the
    table publishes (so the three cannot drift apart)."""
    repo = Path(__file__).resolve().parents[1]
    table = bench.load_floors()
    assert bench.floors_markdown(table) in (repo / "README.md").read_text()
    record = json.loads((repo / "experiments" / "envs" / "check.json").read_text())
    for key, row in record["rows"].items():
        assert table["rows"][key]["published"] == round(row["ours"] / row["peer"], 3)
    assert table["measured"]["commit"] == record["measured"]["commit"]


def test_bench_prints_each_table_once(monkeypatch, capsys) -> None:
    """Rows are printed as they are measured, and the table is not printed a second time at the end."""
    monkeypatch.setattr(bench, "time_single", lambda *args, **kwargs: 100.0)
    monkeypatch.setattr(bench, "time_vector", lambda *args, **kwargs: 1000.0)
    assert main(["bench", "envs", "--quick", "--no-peers", "--ids", "rlsuite/GridRacetrack-v0"]) == 0
    out = capsys.readouterr().out
    assert out.count("| env | single steps/s |") == 1 and out.count("| GridRacetrack | 100 |") == 1
