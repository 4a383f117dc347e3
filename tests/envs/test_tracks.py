"""Race tracks: named layouts, procedural generation from a seed, the rasterised edge field."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlsuite.envs.driving import tracks
from rlsuite.envs.driving.vehicle import SPEED, VehicleParams, step_bicycle


def _check_valid(track: tracks.Track) -> None:
    p = tracks.N_POINTS
    assert track.centre.shape == (p, 2) and track.half_width.shape == (p,)
    assert np.all(np.isfinite(track.centre)) and np.all(track.half_width > 3.0)
    steps = np.hypot(*np.diff(np.vstack([track.centre, track.centre[:1]]), axis=0).T)
    np.testing.assert_allclose(steps, track.ds, rtol=0.02)  # evenly spaced by arc length
    assert steps.sum() == pytest.approx(track.length, rel=1e-3)
    x, y = track.centre.T
    assert np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0  # counter-clockwise
    # a full lap turns the heading by exactly +2 pi
    turn = np.diff(np.unwrap(np.concatenate([track.heading, track.heading[:1]])))
    assert turn.sum() == pytest.approx(2 * np.pi, abs=1e-6)
    assert tracks._problems(track, tracks.MAX_WIDTH_MARGIN) == []


@pytest.mark.parametrize("name", sorted(tracks.LAYOUTS))
def test_named_layouts_are_valid_and_fixed(name):
    track = tracks.make_track(name)
    _check_valid(track)
    assert tracks.make_track(name) is track  # built once
    assert not track.centre.flags.writeable


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**63 - 1))
def test_procedural_tracks_are_valid_and_reproducible(seed):
    track = tracks.procedural_track(seed)
    _check_valid(track)
    assert 400.0 < track.length < 850.0
    np.testing.assert_array_equal(track.centre, tracks.procedural_track(seed).centre)


def test_different_seeds_give_different_tracks():
    a, b = tracks.make_track(1), tracks.make_track(2)
    assert abs(a.length - b.length) > 1.0 or not np.allclose(a.centre, b.centre)


def test_oval_curvature_matches_its_radius():
    oval = tracks.make_track("oval")
    bends = oval.curvature > 0.01
    assert np.median(oval.curvature[bends]) == pytest.approx(1 / 45.0, rel=0.02)
    assert np.mean(np.abs(oval.curvature[~bends]) < 1e-3) > 0.95  # the straights (but where they join)


def test_problems_detects_touching_sections_and_folded_bends():
    oval = tracks.make_track("oval")
    squeezed = tracks._track_from_curve("squeezed", oval.centre * [1.0, 0.12], 7.0)  # straights 11 m apart
    assert any("too close" in p or "folds" in p for p in tracks._problems(squeezed, 0.0))


@pytest.mark.parametrize("spec", ["monza", -3, 1.5, None, True])
def test_bad_specs_name_what_is_allowed(spec):
    with pytest.raises(ValueError, match="track"):
        tracks.make_track(spec)


def test_edge_field_marks_road_kerb_and_grass():
    track = tracks.make_track("oval")
    field = tracks.edge_field(track)
    edge = (field.cells[..., 0].astype(float) - 128) * tracks.EDGE_QUANTUM  # [m] beyond the edge

    def at(x, y):
        row = int((field.y_top - y) / field.resolution)
        col = int((x - field.x_left) / field.resolution)
        return edge[row, col], field.cells[row, col, 1]

    assert at(0.0, -45.0)[0] == pytest.approx(-6.4, abs=0.1)  # mid-road (stored range ends at -6.4 m)
    assert at(0.0, -45.0 + 5.0)[0] == pytest.approx(-2.0, abs=0.3)  # 5 m left of centre, 2 m to the edge
    assert at(0.0, -45.0 + 7.5)[0] == pytest.approx(0.5, abs=0.3)  # just beyond the inner edge
    assert at(0.0, 0.0)[0] > 3.5  # the infield: grass
    start_x, start_y = track.centre[0]
    assert at(start_x + 0.6, start_y)[1] & 2  # the start line is painted just after s = 0
    assert not at(start_x + 20.0, start_y)[1] & 2


def test_bicycle_model_turns_with_the_expected_radius_and_respects_limits():
    params = VehicleParams()
    state = np.array([[0.0, 0.0, 0.0, 10.0], [0.0, 0.0, 0.0, 10.0]])
    steer = np.array([0.2, -0.2])
    heading = []
    for _ in range(10):
        step_bicycle(state, steer, np.zeros(2), params, 0.01)
        heading.append(state[:, 2].copy())
    rate = heading[-1] / 0.1  # [rad/s]
    beta = np.arctan(0.5 * np.tan(0.2))
    expected = state[0, SPEED] * np.sin(beta) / (params.wheelbase / 2)
    assert rate[0] == pytest.approx(expected, rel=0.02) and rate[1] == pytest.approx(-expected, rel=0.02)
    step_bicycle(state, steer, np.full(2, -100.0), params, 1.0)
    assert np.all(state[:, SPEED] == 0.0)  # braking stops, never reverses
    step_bicycle(state, steer, np.full(2, 1000.0), params, 1.0)
    assert np.all(state[:, SPEED] == params.max_speed)
    with pytest.raises(ValueError, match="wheelbase"):
        VehicleParams(wheelbase=0.0)
