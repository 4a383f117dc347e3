"""What the env runners step: the Ray env creator for an env id, and the observation layout RLlib takes.

RLlib asks the creator for our **native** vector env (it passes ``num_envs``) or for one single env, which
it batches in its own ``SyncVectorEnv``. The env's :class:`~gymnasium.envs.registration.EnvSpec` travels
with the creator, so an env registered only in the driver process works in the env runners too.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from rlsuite.agents.base import is_image_space

__all__ = ["env_spec", "flattens_observations", "make_env"]


def make_env(
    spec: gym.envs.registration.EnvSpec,
    env_config: dict[str, Any],
    encoder: str | None = None,
    frame_stack: int = 1,
) -> Any:
    """The Ray env creator: RLlib adds ``num_envs`` when it wants our native vector env; without it, one
    single env (RLlib batches those in a ``SyncVectorEnv``). With ``encoder`` (a frozen pretrained
    encoder's checkpoint) the native vector env is wrapped in the feature env, inside the env runner;
    with ``frame_stack`` > 1 (a pretrained encoder trained in the module) it stacks frames."""
    kwargs = dict(env_config)
    num_envs = kwargs.pop("num_envs", None)
    if num_envs is None:
        env = gym.make(spec, **kwargs)
        return gym.wrappers.FlattenObservation(env) if flattens_observations(env.observation_space) else env
    env = gym.make_vec(spec, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    if encoder is not None:
        from rlsuite.encoders.checkpoint import load_encoder
        from rlsuite.encoders.transfer import FeatureObservations

        network, meta = load_encoder(encoder)
        return FeatureObservations(env, network, meta["frame_stack"], "cpu")
    if frame_stack > 1:
        from rlsuite.encoders.transfer import StackedFrames

        return StackedFrames(env, frame_stack)
    if flattens_observations(env.single_observation_space):
        return gym.wrappers.vector.FlattenObservation(env)
    return env


def flattens_observations(space: gym.Space) -> bool:
    """RLlib's default encoders take 1-D vectors and images only: other Box observations (Highway's
    vehicles × features) reach it flattened, as SB3's MlpPolicy flattens them itself."""
    return isinstance(space, spaces.Box) and len(space.shape) > 1 and not is_image_space(space)


def env_spec(env_id: str) -> gym.envs.registration.EnvSpec:
    """The registered spec of ``env_id`` (ours, or ``module:Name-v0`` after importing ``module``)."""
    import rlsuite  # noqa: F401  (registers our ids)

    if ":" in env_id:  # "module:Name-v0", as gymnasium.make reads it
        module, _, env_id = env_id.partition(":")
        importlib.import_module(module)
    return gym.spec(env_id)
