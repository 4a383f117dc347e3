"""``rlsuite/Highway-v0``: an ego car on a multi-lane highway with IDM/MOBIL traffic.

The env classes only: the simulation is :class:`rlsuite.envs.driving.highway_core.HighwayCore`
(a :class:`rlsuite.envs.core.BatchCore`), its numba kernels are in
:mod:`rlsuite.envs.driving.highway_kernels`, and the single and the native vector env around it
are :class:`rlsuite.envs.core.CoreEnv` and :class:`rlsuite.envs.core.CoreVectorEnv`, shared by
every rlsuite env.
"""

from __future__ import annotations

from rlsuite.envs.core import CoreEnv, CoreVectorEnv
from rlsuite.envs.driving.highway_core import ACTIONS, HighwayConfig, HighwayCore

__all__ = ["ACTIONS", "HighwayConfig", "HighwayCore", "HighwayEnv", "HighwayVectorEnv"]


class HighwayEnv(CoreEnv):
    """Drive fast on a multi-lane highway through IDM/MOBIL traffic without crashing.

    ``rlsuite/Highway-v0``. A straight road of ``lanes_count`` lanes (lane 0 leftmost) and
    ``vehicles_count`` traffic cars. Traffic follows the Intelligent Driver Model for its speed and
    MOBIL for lane changes (:mod:`rlsuite.envs.driving.traffic`; highway-env's parameters: a_max
    3 m/s², b 5 m/s², s0 5 m bumper to bumper, T 1.5 s, δ 4; politeness 0, gain threshold 0.2 m/s², b_safe 2 m/s²,
    one decision per vehicle per second); every car, ego included, is a 5 m × 2 m kinematic bicycle
    steered by highway-env's lane-keeping controller. Modelled closely on highway-env's
    ``highway-v0``, vectorised over vehicles and over a batch of roads.

    ## Action space
    ``action_type="discrete"`` (default): ``Discrete(5)`` meta-actions executed by controllers

    | action | name       | effect                                                            |
    |--------|------------|-------------------------------------------------------------------|
    | 0      | LANE_LEFT  | target lane − 1 (clipped to the road; ignored if that lane centre |
    |        |            | is more than 2 lane widths away, like highway-env)                |
    | 1      | IDLE       | keep target lane and target speed                                 |
    | 2      | LANE_RIGHT | target lane + 1                                                   |
    | 3      | FASTER     | next target speed up of (20, 25, 30) m/s from the current speed   |
    | 4      | SLOWER     | next target speed down                                            |

    ``action_type="continuous"``: ``Box(-1, 1, (2,), float32)`` = [acceleration, steering], scaled
    to ±5 m/s² and ±π/4 rad front-wheel angle (highway-env's ranges). Speeds stay in [0, 40] m/s.
    Actions outside the space raise ``ValueError`` (:func:`rlsuite.envs.core.parse_actions`).

    ## Observation space
    ``obs_type="state"`` (default): ``Box(-1, 1, (observed_vehicles, 5), float32)``, highway-env's
    normalised kinematics. Row 0 is the ego; rows 1.. are the nearest other vehicles (Euclidean
    distance, only those within ``perception_distance`` along the road), nearest first; missing
    vehicles are all-zero rows. Values are clipped to [-1, 1].

    | column | name     | ego row (0)                                  | other rows                          |
    |--------|----------|----------------------------------------------|-------------------------------------|
    | 0      | presence | 1                                            | 1 if a vehicle fills the row, else 0 |
    | 1      | x        | 0                                            | Δx / perception_distance [m/m]      |
    | 2      | y        | (y − road centre) / (road width / 2) [m/m]   | Δy / road width [m/m]               |
    | 3      | vx       | vx / 40 m/s                                  | Δvx / 40 m/s                        |
    | 4      | vy       | vy / 10 m/s                                  | Δvy / 10 m/s                        |

    ``x`` runs along the road, ``y`` across it to the right; Δ are other − ego; velocities are
    world-frame (speed · cos/sin heading).

    ``obs_type="pixels"``: ``Box(0, 255, (H, W, C), uint8)`` with ``(H, W) = pixel_shape`` (default
    84 × 84) and ``C = 1`` if ``grayscale`` else 3: an egocentric top-down view, driving direction to
    the right, the ego at 30 % of the width and mid-height, 80 m of road lengthwise and 28 m across
    (so ≈ 1.05 px/m along and 3 px/m across at 84 × 84: lanes and gaps stay legible). Dashed lane
    markings scroll with the ego's motion, so stacked frames show its speed.

    ## Rewards
    highway-env's, per policy step: ``collision_reward · crashed + right_lane_reward · lane/(lanes−1)
    + high_speed_reward · clip((v_forward − 20) / (30 − 20), 0, 1)`` (``reward_speed_range`` sets the
    20–30 m/s), then with ``normalize_reward`` (default) mapped affinely from
    [collision_reward, high_speed_reward + right_lane_reward] to [0, 1], then multiplied by 1 if the
    ego is on the road else 0. Defaults −1, 0.1, 0.4: surviving is worth up to 1 per step, so
    longer collision-free episodes earn more.

    ## Info
    ``step()``: the reward's components ``reward_collision``, ``reward_right_lane``,
    ``reward_high_speed``, ``reward_on_road`` (unweighted, in [0, 1]), and the ego's ``speed`` [m/s],
    ``crashed`` (it collided), ``on_road``, ``off_road`` (``not on_road``: its centre is beyond the
    outer lane edges), ``lane`` (Python ``float``, ``bool`` and ``int``; float64, bool and int64
    arrays in the vector env). ``reset()``: the same keys, types and shapes, with the reward
    components 0, ``crashed`` False, and the ego's start speed, lane and road flags.

    ## Task metrics
    Per episode (:attr:`~rlsuite.envs.core.BatchCore.task_metrics`, reported by every evaluation as
    ``eval/<name>``): ``crash_rate`` (any ``crashed``), ``off_road_rate`` (any ``off_road``),
    ``mean_speed`` [m/s] (mean ``speed`` over the policy steps).

    ## Starting state
    From the sub-env's random stream: lane width (if a range is given), the ego in a random lane at
    x = 0, 25 m/s, heading along the road; traffic placed ahead of it one after the other in random
    lanes, highway-env's spacing ``(12 m + v·1 s) · exp(−5 lanes/40) / vehicles_density · U(0.9,
    1.1)``, speeds and IDM target speeds U(``traffic_speed_range``) = U(21, 24) m/s. A traffic car
    that falls more than 80 m behind the ego is moved to ahead of the front-most car with a new lane
    and speed (same spacing rule), so the density around the ego stays steady.

    ## Episode end
    Terminated when the ego collides with a traffic car (oriented-rectangle overlap at any
    simulation step) or, with ``offroad_terminal`` (default), leaves the road (its centre beyond the
    outer lane edges). Traffic cars do not collide with each other (IDM keeps them apart; a rare
    overlap is ignored). Truncated after ``max_episode_steps`` policy steps: 200 (40 s at 5 Hz) from
    the registration; ``gymnasium.make`` adds the ``TimeLimit`` (``gymnasium.make(id,
    max_episode_steps=N)`` changes it). Constructed directly the env has no limit, and takes no
    ``max_episode_steps`` (wrap it in ``gymnasium.wrappers.TimeLimit``).

    ## Arguments
    ``gymnasium.make("rlsuite/Highway-v0", **kwargs)`` (declared once, with their bounds, in
    :class:`HighwayConfig`):

    * ``obs_type`` ("state") — "state" or "pixels".
    * ``action_type`` ("discrete") — "discrete" or "continuous".
    * ``lanes_count`` (4, in [1, 10]), ``vehicles_count`` (20, traffic cars besides the ego, in
      [1, 200]), ``vehicles_density`` (1.0, in [0.01, 3]).
    * ``policy_frequency`` (5) [Hz, 1–100], ``simulation_frequency`` (5) [Hz, a multiple of
      ``policy_frequency``, 5–100]: each step runs ``simulation_frequency / policy_frequency``
      simulation steps of the traffic and the ego. 5 Hz is highway-env's ``highway-fast-v0`` rate
      and about 2.5x faster here; 15 Hz is highway-env's ``highway-v0`` rate: smoother lane changes
      (peak heading ≈ 0.18 rad instead of ≈ 0.27 rad; the lateral path of a lane change differs by
      about 0.3 m at most) and a finer collision check.
    * ``observed_vehicles`` (5, ego included, at most 201), ``perception_distance`` (100.0) [m].
    * ``pixel_shape`` ((84, 84): an int for a square or ``(height, width)``, each in [8, 1024] px),
      ``grayscale`` (False).
    * ``lane_width`` (4.0) [m], or a range ``(low, high)`` within [2.5, 6] drawn per episode.
    * ``color_jitter`` (0) [levels, 0–255]: at every reset each RGB channel of every palette colour
      (background, road, markings, the ego and each traffic car) is shifted by a random amount of up
      to ± this many levels, clipped to [0, 255] (visual randomisation for transfer experiments;
      at 255 any colour can occur). Dynamics and start states are the same with or without it.
      (Replaces ``randomize_colors``.)
    * ``traffic_speed_range`` ((21.0, 24.0)) [m/s], within [1, 40].
    * ``collision_reward`` (−1.0), ``right_lane_reward`` (0.1), ``high_speed_reward`` (0.4) (each in
      [−1e6, 1e6]; normalising needs ``high_speed_reward + right_lane_reward − collision_reward ≥ 0.001``),
      ``reward_speed_range`` ((20.0, 30.0)) [m/s, low + 0.1 ≤ high within [0, 40]], ``normalize_reward`` (True),
      ``offroad_terminal`` (True).
    * ``render_mode`` (None): "rgb_array" gives an 800 px wide RGB frame of 160 m of the whole road
      (5 px/m); "human" shows it in a pygame window (needs ``pip install pygame``).

    Bad values raise ``ValueError`` naming the argument, what is allowed and the value given
    (``Highway: lanes_count must be an integer in [1, 10], got 0``); so do unknown kwargs.

    ## Vector env
    :class:`HighwayVectorEnv` (``gymnasium.make_vec``) runs the same core over ``num_envs`` rows and
    equals Gymnasium's ``SyncVectorEnv`` over this env (see :mod:`rlsuite.envs.core`): sub-env ``i``
    of ``reset(seed=s)`` equals this env reset with ``seed=s + i``, step for step.

    ## Version history
    * v0: initial version.
    """

    core_class = HighwayCore


class HighwayVectorEnv(CoreVectorEnv):
    """``num_envs`` Highway roads in one batched core (see :class:`HighwayEnv` for the spec).

    Equals Gymnasium's ``SyncVectorEnv`` over :class:`HighwayEnv` (the semantics are
    :mod:`rlsuite.envs.core`'s): NEXT_STEP autoreset; ``reset(seed=s)`` seeds sub-env ``i`` like
    ``HighwayEnv.reset(seed=s + i)`` and ``reset(seed=[s0, s1, …])`` each sub-env with its own seed;
    ``reset(options={"reset_mask": mask})`` resets only the masked sub-envs; ``info`` is a dict of
    ``(num_envs,)`` arrays with ``_key`` masks; ``render()`` returns a tuple with one RGB frame per
    sub-env ("human" shows up to 16 of them tiled in one window). ``max_episode_steps`` truncates
    each sub-env's episodes (``gymnasium.make_vec`` passes the registered 200).
    """

    core_class = HighwayCore
