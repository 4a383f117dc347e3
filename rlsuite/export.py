"""Exported policies: a run's greedy policy as one file that runs without rlsuite's agents or torch.

``rlsuite export RUN_DIR`` (or :func:`export_run`) writes a directory with two files (``rlsuite export NAME``
does the same for a zoo agent, into ``./export/NAME-<format>``):

- ``policy.onnx`` (``--format onnx``, for onnxruntime), ``policy.pt`` (``--format torchscript``, for
  ``torch.jit.load``) or ``policy.npz`` (``--format table``, the tabular agents: numpy only, read by
  :func:`table_actions`);
- ``policy.json``: the env id and kwargs, the observation and action spaces, and the **input
  contract**: the dtype and shape the graph takes, and the frame stack the caller keeps.

The graph holds everything between the env's observation and the env's action, as ``rlsuite eval``'s
policy computes it: the agent's preprocessing (its encoder's ``uint8 / 255``, SB3's channel-first
transpose and ``preprocess_obs``, RLlib's flattening), a frozen pretrained encoder whose features the
agent sees (``encoder.store_features: true``), the network, and the greedy action (``argmax``, or for
continuous actions the mean, squashed and scaled to the action space as the framework does it). Its
input ``observation`` is a batch ``(n, *shape)`` with a dynamic ``n``; its outputs are ``action``
(``(n,)`` int64 or ``(n, *action_shape)`` float32) and ``values`` (the Q-values, the logits or the
action mean before squashing: what parity is checked on).

**Frame stacks** are an input contract, not state inside the graph: with ``frame_stack: k`` the
caller passes its last ``k`` observations concatenated along the last axis, oldest first; at an
episode's first step the missing frames are that first frame repeated (our agents' stacks) or zeros
(SB3's ``VecFrameStack``), as ``policy.json`` says under ``input.episode_start_fill``.

Parity with the agent's own ``act(obs, deterministic=True)`` is tested per family in
``tests/test_export.py``. Which families have a graph: ``dqn``, ``pqn``, every ``sb3.*`` algorithm and
``rllib.*`` modules with a categorical or diagonal-Gaussian action distribution; the tabular family
exports its table. This module imports torch (and the agent's framework) only when exporting a graph.
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rlsuite.config import ConfigError

if TYPE_CHECKING:
    import gymnasium as gym
    import torch

    from rlsuite.api import Policy
    from rlsuite.config import Config

__all__ = [
    "EXPORT_FORMAT",
    "FORMATS",
    "Exported",
    "export_run",
    "load_table",
    "policy_module",
    "table_actions",
]

EXPORT_FORMAT = 1  # the layout of policy.json; bumped when a key changes meaning
FORMATS: dict[str, str] = {"onnx": "policy.onnx", "torchscript": "policy.pt", "table": "policy.npz"}
METADATA = "policy.json"
OPSET = 18  # ONNX opset of the exported graphs (onnxruntime >= 1.14 runs it)
EXAMPLE_BATCH = 2  # the batch the exporters trace with; the batch axis stays dynamic

# The agent families with something to export, as (family, "module:Class" of their base class). A class
# is looked up only when its module is already imported (the run's own agent imported it), so exporting
# a DQN never imports Stable-Baselines3 or Ray.
_FAMILY_BASES = (
    ("table", "rlsuite.agents.tabular:TabularAgent"),
    ("q_network", "rlsuite.agents.dqn:DQNAgent"),
    ("q_network", "rlsuite.agents.pqn:PQNAgent"),
    ("sb3", "rlsuite.agents.sb3.agents:SB3Agent"),
    ("rllib", "rlsuite.agents.rllib.agents:RLlibAgent"),
)


@dataclass(frozen=True)
class Exported:
    """What :func:`export_run` wrote: the directory, the policy file in it and ``policy.json``'s content."""

    directory: Path
    policy: Path
    metadata: dict[str, Any]


# --------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------
def export_run(
    run_dir: str | Path,
    out: str | Path | None = None,
    fmt: str | None = None,
    checkpoint: str = "best",
    force: bool = False,
    *,
    root: str | Path | None = None,
) -> Exported:
    """Export the greedy policy of ``run_dir``'s ``checkpoint`` (``best``, else ``last``; or ``step_<N>``),
    or of a zoo entry: ``run_dir`` may be a zoo entry's name (in the package's zoo, ``$RLSUITE_ZOO`` or
    ``root``) or folder (:func:`rlsuite.zoo.resolve.resolve_source`), which holds one policy (no
    ``checkpoint`` but the default).

    ``fmt``: ``onnx`` or ``torchscript`` for the agents with a network, ``table`` for the tabular ones;
    ``None`` picks ``onnx`` or ``table``. ``out``: the directory to write (default
    ``RUN_DIR/export/<checkpoint>-<fmt>``; for a zoo entry ``./export/<name>-<fmt>``, never inside the
    zoo); an existing one is refused unless ``force`` (then replaced). Every refusal is a
    :class:`~rlsuite.config.ConfigError` raised before anything is written.
    """
    from rlsuite.config import algorithm_class
    from rlsuite.training import load_run_config
    from rlsuite.zoo.resolve import check_no_checkpoint, resolve_source

    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"format: got {fmt!r}; allowed: {', '.join(FORMATS)}")
    source = resolve_source(run_dir, root)
    if source.is_zoo:
        check_no_checkpoint(checkpoint, source)
    config = load_run_config(source.path)
    algo = config.agent.algo
    family = _family(algorithm_class(algo))
    fmt = _check_format(algo, family, fmt)
    ckpt = None
    if source.is_zoo:
        ckpt_name = json.loads((source.path / "card.json").read_text()).get("source", {}).get("checkpoint")
        default_out = Path("export") / f"{source.name}-{fmt}"
    else:
        from rlsuite.training import resolve_run_checkpoint

        ckpt = resolve_run_checkpoint(source.path, checkpoint)
        ckpt_name, default_out = ckpt.name, source.path / "export" / f"{ckpt.name}-{fmt}"
    out = Path(out) if out is not None else default_out
    if out.exists() and not force:
        raise ConfigError(f"output {str(out)!r} exists; choose another --out or pass --force to replace it")
    if fmt != "table":
        _check_exporter(fmt)

    policy = _policy(source, ckpt)
    agent, envs, config = policy.agent, policy.agent.envs, policy.config
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=_made(out.parent)))
        try:
            if family == "table":
                metadata = _write_table(agent, config, staging / FORMATS[fmt])
            else:
                module, contract = policy_module(agent, envs)
                _write_graph(module, contract, fmt, staging / FORMATS[fmt])
                metadata = _graph_metadata(config, agent, contract, fmt)
            origin = (
                {"zoo_entry": source.name, "run_dir": None}
                if source.is_zoo
                else {"run_dir": str(source.path)}
            )
            metadata = {
                "format": EXPORT_FORMAT,
                "rlsuite_version": _version(),
                "algo": algo,
                "family": family,
                **origin,
                "checkpoint": ckpt_name,
                "file": FORMATS[fmt],
                "file_format": fmt,
                **metadata,
            }
            (staging / METADATA).write_text(json.dumps(metadata, indent=2) + "\n")
            if out.exists():  # force: replaced only once the new export is complete
                shutil.rmtree(out) if out.is_dir() else out.unlink()
            staging.rename(out)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        policy.close()
    return Exported(out, out / FORMATS[fmt], metadata)


def _policy(source: Any, checkpoint: Path | None) -> Policy:
    """The policy to export: a run's checkpoint as ``rlsuite.load`` loads it, or a zoo entry as
    :func:`rlsuite.load_pretrained` does (on CPU)."""
    if source.is_zoo:
        from rlsuite.zoo.resolve import load_source_entry

        return load_source_entry(source)
    from rlsuite.api import load

    return load(source.path, checkpoint.name)


def _family(agent_cls: type) -> str | None:
    for family, target in _FAMILY_BASES:
        module_name, _, name = target.partition(":")
        module = sys.modules.get(module_name)
        if module is not None and issubclass(agent_cls, getattr(module, name)):
            return family
    return None


def _check_format(algo: str, family: str | None, fmt: str | None) -> str:
    if family is None:
        raise ConfigError(
            f"agent.algo: {algo} has no policy to export (exported: dqn, pqn, sb3.*, rllib.*, tabular)"
        )
    if family == "table":
        if fmt not in (None, "table"):
            raise ConfigError(
                f"format: {algo} is a tabular agent without a network, so there is no {fmt} graph; "
                "use --format table (a .npz table and a numpy function)"
            )
        return "table"
    if fmt == "table":
        raise ConfigError(
            f"format: table is for the tabular agents; {algo} has a network: use onnx or torchscript"
        )
    return fmt or "onnx"


def _check_exporter(fmt: str) -> None:
    """The packages an export needs, named before any file is written."""
    missing = []
    for package in ("torch", *(("onnx", "onnxscript") if fmt == "onnx" else ())):
        try:
            __import__(package)
        except ImportError:
            missing.append(package)
    if missing:
        raise ConfigError(f"format: {fmt} export needs {', '.join(missing)}: pip install 'rlsuite[export]'")


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _version() -> str:
    import rlsuite

    return rlsuite.__version__


# --------------------------------------------------------------------------------------------
# Tables (the tabular family): numpy only
# --------------------------------------------------------------------------------------------
def _write_table(agent: Any, config: Config, path: Path) -> dict[str, Any]:
    values = agent.q[0] if len(agent.q) == 1 else agent.q[0] + agent.q[1]  # Double Q acts on QA + QB
    arrays: dict[str, np.ndarray] = {
        "actions": values.argmax(axis=1).astype(np.int64) + int(agent.action_space.start),
        "values": values,
    }
    discretizer = agent.discretizer
    if discretizer is not None:
        strides = np.cumprod(np.concatenate([discretizer.bins[1:], [1]])[::-1])[::-1].astype(np.int64)
        arrays.update(low=discretizer.low, high=discretizer.high, bins=discretizer.bins, strides=strides)
    else:
        arrays["obs_start"] = np.asarray(int(agent.observation_space.start), np.int64)
    np.savez(path, **arrays)
    return {
        "env": _env_json(config),
        "observation_space": _space_json(agent.observation_space),
        "action_space": _space_json(agent.action_space),
        "input": {
            "dtype": str(agent.observation_space.dtype),
            "shape": [None, *agent.observation_space.shape],
            "frame_stack": 1,
            "caller": "actions = rlsuite.export.table_actions(rlsuite.export.load_table(path), observations): "
            "a batch of observations in, a batch of actions out (its 5 lines of numpy can be copied)",
        },
        "outputs": {"action": "the greedy action of the observation's table row", "values": "none"},
        "table": {
            "states": len(values),
            "discretisation": None if discretizer is None else discretizer.to_dict(),
        },
    }


def load_table(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an exported ``policy.npz`` (no pickles: ``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def table_actions(table: dict[str, np.ndarray], observations: np.ndarray) -> np.ndarray:
    """The tabular agent's greedy actions for a batch of observations, from an exported table: the
    row of each observation (uniform bins of a ``Box``, or a ``Discrete`` index) and its action."""
    if "bins" in table:  # as rlsuite.envs.wrappers.Discretizer: clipped uniform cells, row-major index
        scale = table["bins"] / (table["high"] - table["low"])
        cells = np.floor((np.asarray(observations, np.float64) - table["low"]) * scale).astype(np.int64)
        return table["actions"][np.clip(cells, 0, table["bins"] - 1) @ table["strides"]]
    return table["actions"][np.asarray(observations, np.int64) - table["obs_start"]]


# --------------------------------------------------------------------------------------------
# Graphs: the policy as one torch module, observation -> (action, values)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputContract:
    """What the graph's caller passes: ``frame_stack`` observations of ``frame_space`` (the env's own),
    concatenated along the last axis, oldest first; at an episode's start the missing ones are filled
    with ``episode_start_fill`` (``first``: the first frame repeated; ``zeros``)."""

    frame_space: gym.spaces.Box
    frame_stack: int
    episode_start_fill: str
    values: str  # what the graph's `values` output holds
    encoder: dict[str, Any] | None = None  # the frozen pretrained encoder inside the graph, if any

    @property
    def shape(self) -> tuple[int, ...]:
        *leading, last = self.frame_space.shape
        return (*leading, last * self.frame_stack)


def policy_module(agent: Any, envs: gym.vector.VectorEnv) -> tuple[torch.nn.Module, InputContract]:
    """The agent's greedy policy as an eval-mode torch module ``observation -> (action, values)`` and
    the input contract it needs; ``envs`` are the agent's (as :func:`rlsuite.training.make_agent_envs`
    made them: a feature env puts its frozen encoder into the module). The caller stacks frames of the
    agent's observation space (or, under a feature or stacking env, of the env's own frames)."""
    family = _family(type(agent))
    builders: dict[str, Callable[[Any], tuple[torch.nn.Module, int, str, str]]] = {
        "q_network": _q_network_policy,
        "sb3": _sb3_policy,
        "rllib": _rllib_policy,
    }
    if family not in builders:
        raise ConfigError(f"agent.algo: {agent.config.agent.algo} has no network to export")
    module, frame_stack, fill, values = builders[family](agent)
    encoder = getattr(envs, "encoder", None) if getattr(envs, "stores_features", False) else None
    contract_encoder = None
    frame_space = agent.observation_space
    if encoder is not None:  # features env: the frozen encoder and its frame stack go into the graph
        module = _with_frozen_encoder(copy.deepcopy(encoder).eval(), module)
        frame_space, frame_stack, fill = envs.env.single_observation_space, envs.frame_stack, "first"
        contract_encoder = {"checkpoint": agent.config.encoder.checkpoint, "frozen": True}
    elif hasattr(envs, "frame_stack"):  # StackedFrames: the agent sees frames the envs stacked
        frame_space, frame_stack, fill = envs.env.single_observation_space, envs.frame_stack, "first"
    module = module.eval().requires_grad_(False)
    return module, InputContract(frame_space, frame_stack, fill, values, contract_encoder)


def _torch_modules() -> tuple[Any, Any]:
    import torch
    from torch import nn

    return torch, nn


def _with_frozen_encoder(encoder: Any, policy: Any) -> Any:
    torch, nn = _torch_modules()

    class FrozenEncoderPolicy(nn.Module):
        """A frozen encoder's features (``.float()``, as the feature env hands them) into a policy."""

        def __init__(self, encoder: nn.Module, policy: nn.Module) -> None:
            super().__init__()
            self.encoder = encoder
            self.policy = policy

        def forward(self, observation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.policy(self.encoder(observation).float())

    return FrozenEncoderPolicy(encoder, policy)


def _q_network_policy(agent: Any) -> tuple[Any, int, str, str]:
    """DQN and PQN: the Q-network (its encoder converts the env's layout itself) and ``argmax``."""
    torch, nn = _torch_modules()

    class GreedyQ(nn.Module):
        def __init__(self, q_network: nn.Module, action_start: int) -> None:
            super().__init__()
            self.q_network = q_network
            self.action_start = action_start

        def forward(self, observation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            q_values = self.q_network(observation).float()
            return q_values.argmax(dim=1) + self.action_start, q_values

    module = GreedyQ(copy.deepcopy(agent.q_network).cpu(), int(agent.action_space.start))
    return module, int(agent.frame_stack), "first", "q_values"


def _sb3_policy(agent: Any) -> tuple[Any, int, str, str]:
    """SB3's ``policy.predict(obs, deterministic=True)`` without its numpy steps: the channel-first
    transpose, ``extract_features`` (SB3's ``preprocess_obs``), the deterministic action of the
    policy's distribution, then ``unscale_action`` (squashed policies) or the clip to the bounds."""
    torch, nn = _torch_modules()
    from gymnasium import spaces
    from stable_baselines3.common.distributions import CategoricalDistribution
    from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
    from stable_baselines3.dqn.policies import DQNPolicy
    from stable_baselines3.sac.policies import SACPolicy
    from stable_baselines3.td3.policies import TD3Policy

    policy = copy.deepcopy(agent.model.policy).cpu()
    action_space = agent.action_space
    env_shape = tuple(agent.observation_space.shape)  # one frame (SB3's VecFrameStack stacks after it)
    policy_shape = tuple(policy.observation_space.shape)
    image = len(env_shape) == 3
    transpose = image and policy_shape[1:] == env_shape[:2] and policy_shape != env_shape  # VecTransposeImage
    frame_stack = (policy_shape[0] if transpose else policy_shape[-1]) // env_shape[-1] if image else 1
    if isinstance(policy, ActorCriticPolicy):
        if not isinstance(action_space, spaces.Box | spaces.Discrete):
            raise ConfigError(f"{agent.config.agent.algo}: only Discrete and Box action spaces are exported")
        kind = "categorical" if isinstance(policy.action_dist, CategoricalDistribution) else "gaussian"
    elif isinstance(policy, DQNPolicy):
        kind = "q"
    elif isinstance(policy, SACPolicy):
        kind = "sac"
    elif isinstance(policy, TD3Policy):
        kind = "td3"
    else:
        raise ConfigError(f"{agent.config.agent.algo}: SB3 policy {type(policy).__name__} is not exported")
    box = isinstance(action_space, spaces.Box)

    class SB3Greedy(nn.Module):
        def __init__(self, policy: BasePolicy) -> None:
            super().__init__()
            self.policy = policy
            if box:
                self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32))
                self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32))

        def forward(self, observation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            policy = self.policy
            if transpose:  # SB3's maybe_transpose: channel-last env frames to its channel-first policy
                observation = observation.permute(0, 3, 1, 2)
            if kind == "q":
                values = policy.q_net(observation)
                return values.argmax(dim=1), values
            if kind == "sac":
                values, _, _ = policy.actor.get_action_dist_params(observation)
                actions = torch.tanh(values)  # the mode of SAC's squashed Gaussian (gSDE too)
            elif kind == "td3":
                values = actions = policy.actor(observation)  # tanh inside TD3's actor
            else:
                features = policy.extract_features(observation, policy.pi_features_extractor)
                values = policy.action_net(policy.mlp_extractor.forward_actor(features))
                if kind == "categorical":
                    return values.argmax(dim=1), values
                actions = torch.tanh(values) if policy.squash_output else values
            if policy.squash_output:  # BasePolicy.unscale_action: [-1, 1] -> [low, high]
                return self.low + (0.5 * (actions + 1.0) * (self.high - self.low)), values
            return torch.minimum(torch.maximum(actions, self.low), self.high), values

    values = {"q": "q_values", "categorical": "logits"}.get(kind, "action_mean")
    return SB3Greedy(policy), frame_stack, "zeros", values


def _rllib_policy(agent: Any) -> tuple[Any, int, str, str]:
    """RLlib's RLModule ``forward_inference``, then its inference distribution's deterministic sample
    (``argmax`` of the logits, or the Gaussian's mean) and, for ``Box`` actions, what the agent's act
    does after it (RLlib's ``unsquash_action`` with ``normalize_actions``, else ``clip_action``)."""
    torch, nn = _torch_modules()
    from gymnasium import spaces
    from ray.rllib.core.columns import Columns

    from rlsuite.agents.rllib.envs import flattens_observations

    module = copy.deepcopy(agent._inference_module())
    dist_name = module.get_inference_action_dist_cls().__name__
    if dist_name not in ("TorchCategorical", "TorchDiagGaussian"):
        raise ConfigError(
            f"{agent.config.agent.algo}: RLlib's {dist_name} action distribution is not exported "
            "(exported: TorchCategorical, TorchDiagGaussian)"
        )
    action_space = agent.action_space
    box = isinstance(action_space, spaces.Box)
    normalize = bool(agent.rllib_config.normalize_actions)
    flatten = flattens_observations(agent.observation_space)

    class RLlibGreedy(nn.Module):
        def __init__(self, rl_module: nn.Module) -> None:
            super().__init__()
            self.rl_module = rl_module
            if box:
                self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32))
                self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32))

        def forward(self, observation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            if flatten:
                observation = observation.flatten(1)
            out = self.rl_module.forward_inference({Columns.OBS: observation})
            if Columns.ACTIONS in out:  # DQN's module picks its greedy actions itself
                return out[Columns.ACTIONS], out[Columns.ACTIONS].float()
            values = out[Columns.ACTION_DIST_INPUTS]
            if not box:
                return values.argmax(dim=-1), values
            actions = values.chunk(2, dim=-1)[0]  # the Gaussian's mean: the first half of its inputs
            if normalize:  # unsquash_action: [-1, 1] -> [low, high], then clipped
                actions = self.low + (actions + 1.0) * (self.high - self.low) / 2.0
            return torch.minimum(torch.maximum(actions, self.low), self.high), values

    return RLlibGreedy(module), 1, "first", "logits" if not box else "action_dist_inputs"


# --------------------------------------------------------------------------------------------
# Writing a graph and its metadata
# --------------------------------------------------------------------------------------------
def _example_input(contract: InputContract) -> torch.Tensor:
    import torch

    space = contract.frame_space
    rng = np.random.default_rng(0)
    if np.issubdtype(space.dtype, np.integer):
        low, high = int(np.min(space.low)), int(np.max(space.high))
        array = rng.integers(low, high + 1, (EXAMPLE_BATCH, *contract.shape)).astype(space.dtype)
    else:
        array = rng.standard_normal((EXAMPLE_BATCH, *contract.shape)).astype(space.dtype)
    return torch.from_numpy(array)


def _write_graph(module: Any, contract: InputContract, fmt: str, path: Path) -> None:
    import logging
    import warnings

    import torch

    example = _example_input(contract)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and exporter notes about Python values frozen in the graph
        if fmt == "torchscript":
            traced = torch.jit.trace(module, (example,), check_trace=False)
            torch.jit.save(traced, str(path))
            return
        batch = torch.export.Dim("batch", min=1)
        # its registry logs a warning per torchvision operator it skips: none of ours uses torchvision
        logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
        program = torch.onnx.export(
            module,
            (example,),
            input_names=["observation"],
            output_names=["action", "values"],
            dynamic_shapes=({0: batch},),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        program.save(str(path))


def _graph_metadata(config: Config, agent: Any, contract: InputContract, fmt: str) -> dict[str, Any]:
    space = contract.frame_space
    k = contract.frame_stack
    stack = (
        "pass the observation as the env returns it, with a batch axis in front"
        if k == 1
        else f"keep the last {k} observations of each env and pass them concatenated along the last axis, "
        f"oldest first; at an episode's first step fill the missing ones with "
        + ("that first observation repeated" if contract.episode_start_fill == "first" else "zeros")
    )
    return {
        "env": _env_json(config),
        "observation_space": _space_json(space),
        "action_space": _space_json(agent.action_space),
        "input": {
            "name": "observation",
            "dtype": str(space.dtype),
            "shape": [None, *contract.shape],
            "frame_stack": k,
            "stack_axis": -1,
            "stack_order": "oldest first",
            "episode_start_fill": contract.episode_start_fill,
            "caller": stack,
        },
        "outputs": {
            "action": "the greedy action for each observation (int64 for Discrete, float32 for Box), "
            "ready for env.step",
            "values": contract.values,
        },
        "encoder": contract.encoder,
        "opset": OPSET if fmt == "onnx" else None,
    }


def _env_json(config: Config) -> dict[str, Any]:
    return {"id": config.env.id, "kwargs": dict(config.env.kwargs)}


def _space_json(space: Any) -> dict[str, Any]:
    """A space as JSON: ``Discrete`` n and start; ``Box`` shape, dtype and bounds (one number when the
    bound is the same everywhere, as for images)."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.Box):

        def bound(values: np.ndarray) -> Any:
            unique = np.unique(values)
            return _number(unique[0]) if len(unique) == 1 else [_number(v) for v in values.reshape(-1)]

        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": bound(space.low),
            "high": bound(space.high),
        }
    return {"type": type(space).__name__, "repr": str(space)}


def _number(value: Any) -> float | int | str:
    value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return "inf" if value > 0 else "-inf"
    return value
