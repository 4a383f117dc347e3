"""How fast can a car go round a Racetrack layout? A reference speed bound per layout, and a trained
Racetrack agent's return on layouts it never saw, measured against it.

    python experiments/zoo/racetrack_layouts.py RUN_DIR [--layouts 50] [--first 10000] [--out FILE.json]
    python experiments/zoo/racetrack_layouts.py --bound-only [--layouts 50]

The **centre-line bound** of a layout is the return of a car that follows the centre line at the
fastest speed the env's physics allows there: at most 30 m/s, at most ``sqrt(10 m/s² / |curvature|)``
(the 10 m/s² grip limit), reached from the previous point at 6 m/s² of throttle and left for the
next at 10 m/s² of braking (a forward and a backward pass over three laps, so the profile is
periodic), for the 100 s of an episode (1,000 steps of 0.1 s) at 0.1 reward per metre. It ignores
the start (5–10 m/s, not the profile's speed) and drag, which make it optimistic, and the road's
width, which a racing line uses to straighten bends and which makes it pessimistic: on the kidney
layout the best agents of this repository score 283 against a centre-line bound of 282. It is a
reference, not a ceiling.

Layouts are the env's procedural tracks ``track=SEED`` for ``SEED`` in ``[first, first + layouts)``:
a run trained with ``track="random"`` draws its layouts from its own random stream, so these are
layouts it never saw (the chance of drawing one of them is ~2^-63 per reset). One greedy episode per
layout, started at random with the episode seed ``first + i``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

EPISODE_SECONDS = 100.0  # 1,000 steps of DT = 0.1 s
REWARD_PER_METRE = 0.1
TOP_SPEED, GRIP, THROTTLE, BRAKE = 30.0, 10.0, 6.0, 10.0  # [m/s], [m/s²] ×3 (racetrack.py's docstring)


def centre_line_bound(track) -> float:
    """The return of the fastest centre-line speed profile the physics allows (see the module doc)."""
    curvature = np.abs(np.asarray(track.curvature, dtype=np.float64))
    ds, count = track.ds, len(curvature)
    limit = np.minimum(TOP_SPEED, np.sqrt(GRIP / np.maximum(curvature, 1e-12)))
    speed = np.tile(limit, 3)
    for i in range(1, len(speed)):  # throttle: v² grows by at most 2 a ds per point
        speed[i] = min(speed[i], np.sqrt(speed[i - 1] ** 2 + 2 * THROTTLE * ds))
    for i in range(len(speed) - 2, -1, -1):  # braking ahead of a bend
        speed[i] = min(speed[i], np.sqrt(speed[i + 1] ** 2 + 2 * BRAKE * ds))
    lap_seconds = float(np.sum(ds / speed[count : 2 * count]))
    return track.length / lap_seconds * EPISODE_SECONDS * REWARD_PER_METRE


def layout_bounds(first: int, layouts: int) -> list[float]:
    from rlsuite.envs.driving.tracks import make_track

    return [centre_line_bound(make_track(seed)) for seed in range(first, first + layouts)]


def evaluate_on_layouts(run_dir: Path, first: int, layouts: int, checkpoint: str = "last") -> list[float]:
    """One greedy episode of the run's policy on each layout ``first … first + layouts - 1``."""
    import dataclasses

    from rlsuite.api import load
    from rlsuite.rollout import run_episodes
    from rlsuite.training import make_agent_envs, seed_everything

    returns = []
    with load(run_dir, checkpoint=checkpoint) as policy:
        config = policy.config
        for seed in range(first, first + layouts):
            env = dataclasses.replace(config.env, kwargs={**config.env.kwargs, "track": seed})
            seed_everything(seed)
            envs = make_agent_envs(dataclasses.replace(config, env=env), 1)
            try:
                result = run_episodes(
                    lambda obs, starts: policy.predict(obs, episode_start=starts)[0], envs, 1, seed
                )
            finally:
                envs.close()
            returns.append(float(result.returns[0]))
    return returns


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli.add_argument("run_dir", type=Path, nargs="?", help="a Racetrack run directory")
    cli.add_argument("--layouts", type=int, default=50)
    cli.add_argument("--first", type=int, default=10_000, help="the first layout seed")
    cli.add_argument("--checkpoint", default="last")
    cli.add_argument("--bound-only", action="store_true", help="print the layouts' bounds only")
    cli.add_argument("--out", type=Path, help="write the per-layout figures as JSON")
    args = cli.parse_args()
    if args.run_dir is None and not args.bound_only:
        cli.error("give a RUN_DIR, or --bound-only")
    bounds = layout_bounds(args.first, args.layouts)
    result = {"first": args.first, "layouts": args.layouts, "bounds": bounds}
    print(f"centre-line bound over {args.layouts} layouts: mean {np.mean(bounds):.1f}, "
          f"min {np.min(bounds):.1f}, max {np.max(bounds):.1f}")  # fmt: skip
    if not args.bound_only:
        returns = evaluate_on_layouts(args.run_dir, args.first, args.layouts, args.checkpoint)
        ratios = np.asarray(returns) / np.asarray(bounds)
        result.update(run_dir=str(args.run_dir), checkpoint=args.checkpoint, returns=returns)
        print(f"return: mean {np.mean(returns):.1f} ± {np.std(returns):.1f}; return / bound: "
              f"mean {ratios.mean():.3f}, min {ratios.min():.3f}; layouts at >= 290: "
              f"{int(np.sum(np.asarray(returns) >= 290))}/{args.layouts}")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
