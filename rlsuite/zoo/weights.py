"""The weights a zoo entry ships: only what the greedy policy computes with, per agent family.

A run's checkpoint holds everything training needs (DQN: the online and target networks, Adam's
moments, the replay buffer; SB3: critics and target networks in a pickled zip). A zoo entry keeps the
tensors its greedy ``act`` reads, in ``model.safetensors``, and loads them into an agent built fresh
from the entry's config — the same class, so ``rlsuite.load_pretrained(NAME)`` acts exactly as
``rlsuite.load(RUN_DIR)`` of the run it was packed from:

=============  =============================================================================
family         tensors kept
=============  =============================================================================
table          ``q``: the Q table(s), ``(tables, states, actions)`` (Double Q acts on their sum)
q_network      ``q_network.*``: DQN's and PQN's online Q-network (no target network, no optimiser)
sb3            ``policy.*``: SB3's policy without critics, target networks and the value head
=============  =============================================================================

A pretrained encoder shipped in the package (``rlsuite/encoders/pretrained/``) and kept frozen is
not copied: the config names it, and the agent's constructor loads it as training did. The families
are those of :mod:`rlsuite.export` (its ``_family``); RLlib's are not packed (their modules are
restored from RLlib's own checkpoint tree).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlsuite.config import ConfigError

if TYPE_CHECKING:
    import gymnasium as gym

    from rlsuite.agents.base import Agent
    from rlsuite.config import Config

__all__ = ["PACKED_FAMILIES", "build_agent", "policy_tensors"]

PACKED_FAMILIES = ("table", "q_network", "sb3")
"""The families of :func:`rlsuite.export._family` whose greedy policy a zoo entry can hold."""

SUPPORTED = (
    "dqn, pqn, the tabular family (q_learning, sarsa, expected_sarsa, double_q_learning, tabular), sb3.*"
)

# SB3 policy modules the greedy action never reads: critics, target networks, the value head, and
# the feature extractors that alias `features_extractor` (pi_) or serve the value function only (vf_).
SB3_DROPPED = (
    "q_net_target.",
    "critic.",
    "critic_target.",
    "actor_target.",
    "value_net.",
    "mlp_extractor.value_net.",
    "vf_features_extractor.",
    "pi_features_extractor.",
)


PACKED_MODULES = ("rlsuite.agents.tabular", "rlsuite.agents.dqn", "rlsuite.agents.pqn", "rlsuite.agents.sb3")
"""Where the packed families' agents live: an algorithm registered elsewhere is refused by its name,
before its config is validated (an RLlib config's validation imports Ray, seconds for a refusal)."""


def check_packable(algo: str) -> None:
    """Refuse an algorithm whose registered agent is not of a packed family (an unknown name is left
    to the config's own validation, which suggests the closest)."""
    from rlsuite.config import ALGORITHMS

    target = ALGORITHMS.get(algo)
    if target is not None and not target.partition(":")[0].startswith(PACKED_MODULES):
        _refuse(algo)


def family_of(algo: str) -> str:
    """The packing family of ``algo`` (importing its agent class); a :class:`ConfigError` for the
    families a zoo entry cannot hold."""
    from rlsuite.config import algorithm_class
    from rlsuite.export import _family

    check_packable(algo)
    family = _family(algorithm_class(algo))
    if family not in PACKED_FAMILIES:
        _refuse(algo)
    return family


def _refuse(algo: str) -> None:
    raise ConfigError(
        f"agent.algo: {algo} cannot be packed into a zoo entry (its greedy policy is not kept as plain "
        f"tensors); zoo entries hold {SUPPORTED}. `rlsuite export RUN_DIR` writes an ONNX file of it instead"
    )


def _frozen_shipped_encoder(config: Config) -> bool:
    """The config's encoder is a shipped pretrained one, kept frozen: its weights are not copied."""
    encoder = config.encoder
    return encoder is not None and bool(encoder.checkpoint) and encoder.freeze


def policy_tensors(agent: Agent, family: str) -> dict[str, np.ndarray]:
    """The tensors of ``agent``'s greedy policy, as numpy arrays (C-contiguous, on the host)."""
    if family == "table":
        return {"q": np.ascontiguousarray(agent.q)}  # type: ignore[attr-defined]
    if family == "q_network":
        network = agent.q_network  # type: ignore[attr-defined]
        skip = _frozen_parameters(network, "encoder.") if _frozen_shipped_encoder(agent.config) else set()
        return {f"q_network.{k}": _host(v) for k, v in network.state_dict().items() if k not in skip}
    policy = agent.model.policy  # type: ignore[attr-defined]
    skip = _frozen_parameters(policy, "") if _frozen_shipped_encoder(agent.config) else set()
    return {
        f"policy.{k}": _host(v)
        for k, v in policy.state_dict().items()
        if not k.startswith(SB3_DROPPED) and k not in skip
    }


def _frozen_parameters(module: Any, prefix: str) -> set[str]:
    """State-dict keys (under ``prefix``) of parameters that training never changed (a frozen encoder)."""
    return {
        name
        for name, weight in module.named_parameters()
        if name.startswith(prefix) and not weight.requires_grad
    }


def _host(tensor: Any) -> np.ndarray:
    import torch

    if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16
        raise ConfigError("the policy's weights are bfloat16; zoo entries hold float32 weights")
    return np.ascontiguousarray(tensor.detach().cpu().numpy())


def build_agent(config: Config, envs: gym.vector.VectorEnv, weights: Path) -> Agent:
    """An agent of ``config`` on ``envs`` with the greedy policy of ``weights`` (a zoo entry's
    ``model.safetensors``); a :class:`ConfigError` naming the file when they do not fit the config."""
    from safetensors.numpy import load_file

    from rlsuite.config import algorithm_class

    family = family_of(config.agent.algo)
    tensors = load_file(weights)
    agent = algorithm_class(config.agent.algo)(config, envs)
    try:
        if family == "table":
            q = tensors["q"]
            if q.shape != agent.q.shape:  # type: ignore[attr-defined]
                raise ValueError(f"its table has shape {q.shape}; this config's has {agent.q.shape}")  # type: ignore[attr-defined]
            agent.q[...] = q  # type: ignore[attr-defined]
        elif family == "q_network":
            _load_module(agent.q_network, tensors, "q_network.", config)  # type: ignore[attr-defined]
        else:
            _load_module(agent.model.policy, tensors, "policy.", config, SB3_DROPPED)  # type: ignore[attr-defined]
    except (KeyError, ValueError, RuntimeError) as error:
        agent.close()
        raise ConfigError(f"{weights} does not fit its config ({config.agent.algo}): {error}") from None
    return agent


def _load_module(
    module: Any, tensors: dict[str, np.ndarray], prefix: str, config: Config, dropped: tuple[str, ...] = ()
) -> None:
    """Load ``tensors`` (keys under ``prefix``) into ``module``: every tensor must fit, and every
    weight of the module must come from them unless the greedy policy never reads it (``dropped``) or
    it is a frozen shipped encoder's, which the agent's constructor has already loaded."""
    import torch

    state = {k[len(prefix) :]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith(prefix)}
    if len(state) != len(tensors):
        raise KeyError(
            f"tensors outside {prefix}*: {sorted(k for k in tensors if not k.startswith(prefix))[:4]}"
        )
    missing, unexpected = module.load_state_dict(state, strict=False)
    frozen = _frozen_parameters(module, "") if _frozen_shipped_encoder(config) else set()
    missing = [k for k in missing if not k.startswith(dropped) and k not in frozen]
    if missing or unexpected:
        raise KeyError(f"missing weights {missing[:4]}, unexpected {list(unexpected)[:4]}")
