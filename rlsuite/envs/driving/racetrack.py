"""``rlsuite/Racetrack-v0``: a car on a closed track, as a single env and a native vector env.

Both are :mod:`rlsuite.envs.core` envs over one batched core,
:class:`rlsuite.envs.driving.racetrack_core.RacetrackCore` (the single env is the batch of one);
the numba kernels are in :mod:`rlsuite.envs.driving.racetrack_kernels`.
"""

from __future__ import annotations

from rlsuite.envs.core import CoreEnv, CoreVectorEnv
from rlsuite.envs.driving.racetrack_core import DISCRETE_ACTIONS, RacetrackCore

__all__ = ["DISCRETE_ACTIONS", "RacetrackEnv", "RacetrackVectorEnv"]


class RacetrackEnv(CoreEnv):
    """A car on a closed track; the reward is progress along the centre line.

    ## Dynamics
    Kinematic bicycle model (:mod:`rlsuite.envs.driving.vehicle`) with ``DT = 0.1`` s per step:
    wheelbase 2.6 m, body 4.4 × 1.8 m, steering ±0.45 rad, throttle 6 m/s², brake 10 m/s²,
    speed in [0, 30] m/s (no reverse), drag 0.05 1/s, and a 10 m/s² lateral grip limit (the path
    curvature is capped at ``10 / speed²``: a fast car understeers, so it must brake for bends).

    ## Tracks (``track=``)
    A closed centre line of 512 points evenly spaced by arc length, with a half-width per point
    (:mod:`rlsuite.envs.driving.tracks`). ``"kidney"`` (default), ``"oval"``, ``"hairpin"`` are fixed
    layouts; an int in [0, 2**63) is the seed of a fixed procedural layout (random control points
    smoothed by a truncated Fourier series, 450–800 m long, rejected and redrawn if an edge folds or
    two sections touch); ``"random"`` draws a new procedural layout at every reset.

    ## Action space
    ``action_type="continuous"`` (default): ``Box(-1, 1, (2,), float32)`` = (steer, pedal); steer +1
    is full left lock, pedal > 0 accelerates (×6 m/s²), pedal < 0 brakes (×10 m/s²).
    ``action_type="discrete"``: ``Discrete(9)``, action ``i`` = ``DISCRETE_ACTIONS[i]`` =
    (steer, pedal) with steer in {-1 right, 0, +1 left} (major) × pedal in {-1 brake, 0 coast,
    +1 throttle} (minor): 0 right+brake, 1 right, 2 right+throttle, 3 brake, 4 coast, 5 throttle,
    6 left+brake, 7 left, 8 left+throttle. An action outside the space (wrong shape, out of
    bounds, NaN) is a ``ValueError``.

    ## Observation space
    ``obs_type="state"`` (default): ``Box(float32, (9 + lidar_rays,))``, 14 values by default

    | index       | observation                                                        | range     |
    |-------------|--------------------------------------------------------------------|-----------|
    | 0           | speed / 30 m/s                                                     | [0, 1]    |
    | 1           | heading error to the centre-line direction [rad] / π (+ = left)    | [-1, 1]   |
    | 2           | lateral offset / road half-width (+ = left of centre; ±1 = edge)   | [-3, 3]   |
    | 3           | road half-width at the car [m] / 10                                | [0, 2]    |
    | 4–8         | centre-line curvature 5, 15, 25, 35, 50 m ahead [1/(10 m)], + left | [-2, 2]   |
    | 9–          | lidar: distance to the road edge / ``lidar_range`` (50 m) along    | [0, 1]    |
    |             | ``lidar_rays`` (5) rays over ±90° of the heading, right to left;   |           |
    |             | 0 when the car is off the road                                     |           |

    The lidar marches each ray against the road edge measured across the centre line (accurate to
    ~1 cm; on rare grazing rays past the inside of a bend it may skip a sliver of grass under 4 m).

    ``obs_type="pixels"``: ``Box(uint8, (H, W, C))`` with ``(H, W) = pixel_shape`` (84×84; an int
    is a square) and ``C = 1`` if ``grayscale`` else 3: a top-down view that turns with the car
    (heading up), 56 m across, the car at 3/4 of the height: grass, grey road, red/white kerb
    stripes, white start line, blue car.

    ## Reward
    ``0.1 × progress`` [per metre of arc length the car's foot on the centre line advanced this step;
    negative when driving backwards, so circling earns nothing] ``− off_track_penalty`` (0.5) on
    every step the car's centre is beyond the road edge ``− crash_penalty`` (10) on the step that
    terminates.

    ## Info
    ``step()``: each reward component, ``reward_progress``, ``reward_off_track``, ``reward_crash``
    (float), and the state: ``progress`` [m since the reset] (float), ``laps`` (completed, from the
    start point; int), ``speed`` [m/s] (float), ``off_track`` (bool: the car's centre is beyond the
    road edge), ``crashed`` (bool: it is more than ``off_track_tolerance`` beyond, which ends the
    episode), ``lap_time`` [s] (float: the time of the first completed lap, inf until one is).
    ``reset()``: the same keys, types and shapes, with the reward terms, ``progress`` and ``laps`` 0,
    ``crashed`` False, ``lap_time`` inf, and ``speed`` and ``off_track`` of the start state. (The
    vector env's info holds these as float64 / int64 / bool arrays with ``_key`` masks; on a
    sub-env's autoreset step it has that sub-env's reset info.)

    ## Task metrics
    Per episode (:attr:`~rlsuite.envs.core.BatchCore.task_metrics`, reported by every evaluation as
    ``eval/<name>``): ``crash_rate`` (the episode ended by leaving the track: any ``crashed``),
    ``off_track_rate`` (any step ``off_track``), ``mean_speed`` [m/s] (mean ``speed`` over the
    steps), ``lap_time`` [s] (the first completed lap's, NaN when the episode completed none).

    ## Starting state
    The car's foot is at a uniformly random point of the centre line (the start line if
    ``random_start=False``), up to a quarter of the road width to either side, heading along the
    track ± 0.15 rad, at 5–10 m/s.

    ## Episode end
    Terminates when the car's centre is more than ``off_track_tolerance`` (1.5 m) beyond the road
    edge. Truncates after ``max_episode_steps`` (1000 through ``gymnasium.make``; the class on its
    own never truncates).

    ## Arguments
    (Declared once, with their bounds, in :class:`~rlsuite.envs.driving.racetrack_core.RacetrackConfig`.)
    ``track`` ("kidney" | "oval" | "hairpin" | int seed | "random"), ``obs_type`` ("state" |
    "pixels"), ``action_type`` ("continuous" | "discrete"), ``pixel_shape`` ((84, 84): (height,
    width) or an int, 8–1024 px), ``grayscale`` (False), ``lidar_rays`` (5; 0–64, 0 for none),
    ``lidar_range`` (50 m; 1–500), ``off_track_penalty`` (0.5; 0–1e6), ``crash_penalty`` (10; 0–1e6),
    ``off_track_tolerance`` (1.5 m; 0–20), ``random_start`` (True), and visual randomisation for
    transfer experiments, off by default and drawn anew at every reset: ``color_jitter`` (0; each
    RGB channel of grass, road, kerbs, line and car shifted by up to ± this many levels, 0–255) and
    ``width_jitter`` (0 m; the road's half-width changes by up to ± this much, at most 2 m — it
    changes where the edge is, not just its look), ``render_mode`` (None | "rgb_array": a 600×600
    north-up view of the whole track, the car drawn 3× enlarged | "human": that view in a pygame
    window, at 10 fps). An unknown or bad kwarg is a ``ValueError`` that names it, e.g.
    ``Racetrack: lidar_rays must be an integer in [0, 64], got -1``.

    ## Version history
    * v0: initial version.
    """

    core_class = RacetrackCore


class RacetrackVectorEnv(CoreVectorEnv):
    """``num_envs`` Racetrack cars stepped as one batch; see :class:`RacetrackEnv` for the spec.

    It equals ``SyncVectorEnv`` over ``num_envs`` :class:`RacetrackEnv` (see
    :mod:`rlsuite.envs.core`): sub-env ``i`` of ``reset(seed=s)`` is the single env reset with
    ``seed=s + i`` (a list of seeds gives one per sub-env) and continues like it through its later
    (auto)resets; NEXT_STEP autoreset; ``reset(options={"reset_mask": mask})`` resets only the
    masked sub-envs and cancels their pending autoreset. With ``track="random"`` each sub-env has its
    own track (and, for pixels, its own ~0.9 MB rasterised field). Truncates after
    ``max_episode_steps``. ``info``: the single env's keys as arrays with ``_key`` masks.
    """

    core_class = RacetrackCore
