"""Typed, validated configs loaded from YAML, with ``key.sub=value`` command-line overrides.

A config has five sections::

    env:     id, num_envs, kwargs
    agent:   algo + that algorithm's own hyper-parameters (each agent declares a dataclass schema)
    train:   total_steps, device, eval_every, eval_episodes, checkpoint_every, seed
    encoder: optional pixel-encoder settings
    log:     run_dir, name, progress

Every section is a dataclass; :func:`build` checks a plain ``dict`` against it. An unknown key,
a wrong type or an impossible value raises :class:`ConfigError` naming the key, the value given
and what is allowed, before anything is built or written. Agents declare their hyper-parameters
the same way (a dataclass whose fields use :func:`hp`), so one mechanism validates everything.

Switching algorithm or env, RL Zoo-style: an override that changes ``agent.algo`` replaces the agent
section unless both algorithms take one schema, one that changes ``env.id`` drops ``env.kwargs``, and
:func:`load_config` with ``algo``/``env`` starts from the algorithm's defaults plus the preset shipped
for the pair (:mod:`rlsuite.presets`). An agent key the algorithm does not take names where it was
set: the config file, the embedded default, a preset or the command line.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

__all__ = [
    "AgentConfig",
    "Config",
    "ConfigError",
    "EncoderConfig",
    "EnvConfig",
    "LogConfig",
    "TrainConfig",
    "algorithm_class",
    "apply_overrides",
    "build",
    "hp",
    "load_config",
    "register_algorithm",
    "set_key",
    "to_dict",
]


MAX_NUM_ENVS = 2**20  # env.num_envs and train.eval_num_envs (as rlsuite.envs.core.MAX_NUM_ENVS)
MAX_RUN_NAME_BYTES = 200  # log.name: a file name holds 255 bytes, the timestamp suffix takes ~20


class ConfigError(ValueError):
    """A config key is unknown, has the wrong type, or an impossible value."""


def hp(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A documented, range-checked config field (``ge``/``gt``/``le``/``lt`` bound numbers)."""
    metadata = {"doc": doc, "ge": ge, "gt": gt, "le": le, "lt": lt}
    if default_factory is not dataclasses.MISSING:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------
@dataclass
class EnvConfig:
    id: str = hp("rlsuite/GridRacetrack-v0", "Gymnasium id (ours are rlsuite/<Name>-v<N>)")
    num_envs: int = hp(8, "environments stepped in one batch", ge=1, le=MAX_NUM_ENVS)
    kwargs: dict[str, Any] = hp(default_factory=dict, doc="constructor kwargs of the env")

    def __post_init__(self) -> None:
        _check_env_id(self.id)


@dataclass
class AgentConfig:
    """``algo`` names the agent; ``params`` holds that agent's validated hyper-parameter dataclass."""

    algo: str
    params: Any = None


@dataclass
class TrainConfig:
    total_steps: int = hp(50_000, "environment steps to train for (summed over the batch)", ge=1)
    device: Literal["auto", "cpu", "cuda"] = hp("auto", "torch device; auto picks cuda when present")
    eval_every: int = hp(10_000, "env steps between greedy evaluations (0: only at the end)", ge=0)
    eval_episodes: int = hp(10, "episodes per evaluation", ge=1)
    eval_num_envs: int = hp(4, "evaluation envs stepped in one batch", ge=1, le=MAX_NUM_ENVS)
    checkpoint_every: int = hp(
        0,
        "env steps between saves of checkpoints/last, which --resume continues from (0: at the end only)",
        ge=0,
    )
    seed: int = hp(0, "one seed for numpy, torch, the envs and the action spaces", ge=0)
    num_seeds: int = hp(
        1,
        "seeds trained side by side in one process, as one batched computation: seed, seed + 1, …, each "
        "exactly as its own run, written as ordinary run directories under one parent with a mean ± std "
        "summary (agents that declare it: pqn, dqn)",
        ge=1,
    )
    video_every: int = hp(
        0,
        "env steps between evaluation videos (one greedy episode as RUN_DIR/videos/*.gif and in "
        "TensorBoard's images tab; pixel agents also show what they see); 0: none",
        ge=0,
    )
    nonfinite: Literal["stop", "skip"] = hp(
        "stop",
        "NaN/inf in observations, rewards or losses stops training with the step and the last checkpoint; "
        "skip: our DQN and PQN skip (and count) updates whose loss or gradients are not finite instead",
    )
    perturb: list[str] = hp(
        default_factory=list,
        doc="domain randomisation over the training batch: perturbations of rlsuite.perturb as NAME:LEVEL "
        "(wrappers only: observation and action ones); with k of them, sub-env i trains under the "
        "(i mod (k + 1))-th, the 0th being none. Training only: evaluations, eval and the zoo run unperturbed. "
        "A --resume continues the agent but starts new episodes (the perturbations' streams are not "
        "checkpointed)",
    )


@dataclass
class EncoderConfig:
    type: str = hp(
        "nature_cnn",
        "pixel encoder architecture: compact | nature_cnn | resnet18 (ignored with a checkpoint)",
    )
    checkpoint: str | None = hp(
        None,
        "pretrained encoder: a shipped name (driving, arm) or a path stem of a .safetensors + .json pair",
    )
    freeze: bool = hp(False, "keep the encoder weights fixed while the agent trains")
    features_dim: int = hp(256, "size of the encoder's output (ignored with a checkpoint)", ge=1)
    lr_scale: float = hp(1.0, "the encoder's learning rate is the agent's times this (fine-tuning)", ge=0)
    store_features: bool = hp(
        True, "frozen checkpoint only: the agent sees and replays features instead of frames (much cheaper)"
    )

    @property
    def feeds_features(self) -> bool:
        """A frozen checkpoint whose features the agent sees instead of frames (the feature env)."""
        return bool(self.checkpoint and self.freeze and self.store_features)


@dataclass
class LogConfig:
    run_dir: str = hp("runs", "folder that holds run directories")
    name: str | None = hp(None, "run name (default: <algo>-<env name>)")
    # A YAML boolean is read as a switch (`log.progress=off` is YAML's false): false/off/no mean
    # 'none', true/on/yes mean 'auto'; the config keeps the word.
    progress: Literal["auto", "bar", "lines", "none"] | bool = hp(
        "auto", "progress display: a bar on a terminal, periodic lines otherwise; off = none, on = auto"
    )
    log_every_s: float = hp(5.0, "seconds between progress lines and SPS scalars", gt=0)

    def __post_init__(self) -> None:
        if isinstance(self.progress, bool):
            self.progress = "auto" if self.progress else "none"
        # The run directory is named <name>-<YYYYmmdd-HHMMSS>[-k]: it must fit in a file name.
        if self.name is not None and len(self.name.encode("utf-8")) > MAX_RUN_NAME_BYTES:
            raise ConfigError(
                f"log.name: got a name of {len(self.name.encode('utf-8'))} bytes; "
                f"at most {MAX_RUN_NAME_BYTES} (UTF-8), as it names the run directory"
            )


@dataclass
class Config:
    env: EnvConfig
    agent: AgentConfig
    train: TrainConfig
    log: LogConfig
    encoder: EncoderConfig | None = None


# --------------------------------------------------------------------------------------------
# Building dataclasses from plain data
# --------------------------------------------------------------------------------------------
def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "null"
    if origin is not None:
        return repr(tp).replace("typing.", "")
    return getattr(tp, "__name__", repr(tp))


_SCIENTIFIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it (ints widen to float)."""
    origin = typing.get_origin(tp)
    if tp in (int, float) and isinstance(value, str) and _SCIENTIFIC.match(value):
        value = float(value)  # YAML 1.1 reads 1e6 as a string; users mean the number
    if tp is Any:
        return value
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed or isinstance(value, bool) != any(isinstance(a, bool) for a in allowed):
            raise ConfigError(f"{key}: got {value!r}; allowed: {', '.join(repr(a) for a in allowed)}")
        return value
    if origin in (Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            try:
                return _convert(value, option, key)
            except ConfigError as error:
                errors.append(error)
        raise ConfigError(f"{key}: got {value!r} ({type(value).__name__}); expected {_type_name(tp)}")
    if tp is type(None):
        if value is not None:
            raise ConfigError(f"{key}: got {value!r}; expected null")
        return None
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping of {tp.__name__} keys, got {value!r}")
        return build(tp, value, prefix=key)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: got {value!r} ({type(value).__name__}); expected true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
                return int(value)  # 1e6 in YAML is a float; accept whole numbers
            raise ConfigError(f"{key}: got {value!r} ({type(value).__name__}); expected an integer")
        if not -(2**63) <= value < 2**63:  # numpy, torch and TensorBoard take 64-bit integers
            raise ConfigError(f"{key}: got {value!r}; expected an integer in [-2**63, 2**63)")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: got {value!r} ({type(value).__name__}); expected a number")
        try:
            number = float(value)
        except OverflowError:  # an int beyond 1.8e308
            number = math.inf
        if not math.isfinite(number):  # .nan / .inf in YAML: never a meaningful setting
            raise ConfigError(f"{key}: got {value!r}; expected a finite number")
        return number
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: got {value!r} ({type(value).__name__}); expected a string")
        return value
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: got {value!r}; expected a list")
        args = typing.get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: got {len(value)} items; expected {len(args)}")
            items = [_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args))]
        else:
            item_tp = args[0] if args else Any
            items = [_convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: got {value!r}; expected a mapping")
        args = typing.get_args(tp)
        value_tp = args[1] if args else Any
        return {str(k): _convert(v, value_tp, f"{key}.{k}") for k, v in value.items()}
    raise TypeError(f"config type {tp!r} of {key} is not supported")  # a bug in a schema, not input


def _check_range(value: Any, meta: typing.Mapping[str, Any], key: str) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    bounds = [
        ("ge", ">=", value >= (meta.get("ge") or 0)),
        ("gt", ">", value > (meta.get("gt") or 0)),
        ("le", "<=", value <= (meta.get("le") or 0)),
        ("lt", "<", value < (meta.get("lt") or 0)),
    ]
    for name, symbol, ok in bounds:
        if meta.get(name) is not None and not ok:
            raise ConfigError(f"{key}: got {value!r}; must be {symbol} {meta[name]}")


def build(cls: type, data: dict[str, Any] | None, prefix: str = "") -> Any:
    """Instantiate dataclass ``cls`` from ``data``, validating every key, type and range."""
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = unknown[0]
        reason = getattr(cls, "config_rejected_keys", {}).get(key)
        if reason:  # a key the schema refuses on purpose; the reason says where its value comes from
            raise ConfigError(f"{_join(prefix, key)}: {reason}")
        renamed = getattr(cls, "config_renamed_keys", {}).get(key)
        if renamed:
            raise ConfigError(f"{_join(prefix, key)}: renamed to {_join(prefix, renamed)}")
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"{_join(prefix, key)}: unknown key{hint}; allowed keys: {', '.join(sorted(fields))}"
        )
    kwargs = {}
    for name, f in fields.items():
        key = _join(prefix, name)
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: required key is missing")
            continue
        value = _convert(data[name], hints[name], key)
        _check_range(value, f.metadata, key)
        kwargs[name] = value
    try:
        return cls(**kwargs)
    except ConfigError as error:
        message = str(error)
        if prefix and not message.startswith(prefix):
            message = f"{prefix}.{message}"
        raise ConfigError(message) from None


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def to_dict(obj: Any) -> Any:
    """A config (or section) as plain YAML-able data."""
    if isinstance(obj, AgentConfig):
        return {"algo": obj.algo, **(to_dict(obj.params) or {})}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


# --------------------------------------------------------------------------------------------
# Whole configs
# --------------------------------------------------------------------------------------------
SECTIONS = ("env", "agent", "train", "encoder", "log")


def from_dict(data: dict[str, Any], origins: typing.Mapping[str, str] | None = None) -> Config:
    """Validate a whole config given as plain data (e.g. parsed YAML).

    ``origins`` maps dotted keys (``agent.buffer_size``) to where each was set (the config file, the
    embedded default, a preset, the command line): an agent key the algorithm does not take names it."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a mapping with sections {', '.join(SECTIONS)}; got {data!r}")
    unknown = [k for k in data if k not in SECTIONS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), SECTIONS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"{unknown[0]}: unknown section{hint}; allowed sections: {', '.join(SECTIONS)}")
    for section in SECTIONS:  # `agent: dqn` or the override `agent=dqn`: a value where a section belongs
        value = data.get(section)
        if value is not None and not isinstance(value, dict):
            example = "{algo: dqn, learning_rate: 0.001}" if section == "agent" else "{key: value, …}"
            raise ConfigError(
                f"{section}: expected a section (a mapping such as {example}), got {value!r}; "
                f"to set one key use {section}.<key>=<value>"
            )
    agent_data = dict(data.get("agent") or {})
    if "algo" not in agent_data:
        raise ConfigError(f"agent.algo: required key is missing; allowed: {', '.join(_algos())}")
    algo = agent_data.pop("algo")
    params_cls = algorithm_class(algo).Params  # raises ConfigError naming the allowed algos
    if origins:
        _check_agent_keys(algo, params_cls, agent_data, origins)
    env = build(EnvConfig, data.get("env"), "env")
    encoder = data.get("encoder")
    return Config(
        env=env,
        agent=AgentConfig(algo=algo, params=build(params_cls, agent_data, "agent")),
        train=build(TrainConfig, data.get("train"), "train"),
        log=build(LogConfig, data.get("log"), "log"),
        encoder=None if encoder is None else build(EncoderConfig, encoder, "encoder"),
    )


def _check_agent_keys(
    algo: str, params_cls: type, agent_data: dict[str, Any], origins: typing.Mapping[str, str]
) -> None:
    """An agent key that ``algo`` does not take, named with where it was set (the rest of the checks
    are :func:`build`'s)."""
    allowed = [f.name for f in dataclasses.fields(params_cls) if f.init]
    refused = {
        **getattr(params_cls, "config_rejected_keys", {}),
        **getattr(params_cls, "config_renamed_keys", {}),
    }
    # (build explains those itself)
    for key in agent_data:
        if key in allowed or key in refused:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        origin = origins.get(f"agent.{key}", "the config")
        raise ConfigError(
            f"agent.{key}: unknown key for agent.algo {algo!r}{hint}, set by {origin}; "
            f"allowed keys: {', '.join(sorted(allowed))}"
        )


def _algos() -> list[str]:
    return sorted(ALGORITHMS)


# --------------------------------------------------------------------------------------------
# The algorithm registry: agent families register here (rlsuite/agents/__init__.py); configs
# know algorithms only by name and import path, never by importing an agent module themselves.
# --------------------------------------------------------------------------------------------
ALGORITHMS: dict[str, str] = {}
"""``agent.algo`` name → ``"module:Class"`` of the agent; the class carries its ``Params`` schema."""


def register_algorithm(name: str, target: str) -> None:
    """Make ``agent.algo: name`` build the agent class at ``target`` (``"module:Class"``), imported
    only when a config asks for it (so choosing a tabular agent never imports torch)."""
    if ":" not in target:
        raise ValueError(f"register_algorithm: target must be 'module:Class', got {target!r}")
    ALGORITHMS[name] = target


def algorithm_class(name: str) -> Any:
    """The agent class registered as ``name`` (a :class:`ConfigError` names the allowed ones, or the
    extra to install when the algorithm's library is missing)."""
    import importlib

    if not isinstance(name, str) or name not in ALGORITHMS:
        raise ConfigError(f"agent.algo: unknown algorithm {name!r}; allowed: {', '.join(_algos())}")
    module_name, _, class_name = ALGORITHMS[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and error.name.startswith("rlsuite"):
            raise ConfigError(f"agent.algo: {name!r} is not available in this version of rlsuite") from None
        extra = {"stable_baselines3": "sb3", "ray": "ray"}.get((error.name or "").split(".")[0], "agents")
        raise ConfigError(
            f"agent.algo: {name!r} needs the package {error.name!r}; install it with "
            f"pip install 'rlsuite[{extra}]'"
        ) from None
    return getattr(module, class_name)


def parse_overrides(overrides: list[str]) -> list[tuple[list[str], Any]]:
    """``["agent.gamma=0.9", "env.kwargs={track: 2}"]`` → ``[(["agent", "gamma"], 0.9), …]``."""
    import yaml

    parsed = []
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r}: expected key.sub=value, e.g. train.total_steps=20000")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError as error:
            raise ConfigError(f"override {item!r}: value is not valid YAML ({_one_line(error)})") from None
        parsed.append((key.split("."), value))
    return parsed


def _one_line(error: BaseException) -> str:
    """A (YAML parser's) multi-line message on one line, for ``rlsuite …: error: …``."""
    return " ".join(str(error).split())


def apply_overrides(
    data: dict[str, Any], overrides: list[str], origins: dict[str, str] | None = None
) -> dict[str, Any]:
    """Return a copy of ``data`` with ``key.sub=value`` overrides applied (values parsed as YAML).

    An override that changes ``agent.algo`` replaces the agent section (the old algorithm's
    hyper-parameters are dropped, unless both algorithms take one schema, as the tabular update rules
    do), one that changes ``env.id`` drops ``env.kwargs`` (the old env's constructor arguments), and
    either drops ``log.name`` (named after the old pair); the other overrides of the list then apply on
    top, whatever their order. ``origins`` (dotted key → where it
    was set), when given, is updated in place: the keys set here come from the command line."""
    import copy

    data = copy.deepcopy(data)
    parsed = parse_overrides(overrides)
    given = {tuple(path) for path, _ in parsed}
    for path, value in parsed:  # first what a change of algorithm or env makes stale
        section = data.get(path[0])
        if path not in (["agent", "algo"], ["env", "id"]) or not isinstance(section, dict):
            continue
        if section.get(path[1]) == value:
            continue
        if path[0] == "env":
            section.pop("kwargs", None)
        elif not _same_schema(section.get("algo"), value):  # sarsa takes q_learning's: they stay
            section.clear()
        if isinstance(data.get("log"), dict) and ("log", "name") not in given:
            data["log"].pop("name", None)
        stale = [
            k for k in origins or {} if k.partition(".")[0] == path[0] and k.partition(".")[2] not in section
        ]
        for key in stale:
            del origins[key]
    for (path, value), item in zip(parsed, overrides):
        set_key(data, path, value)
        if origins is not None:
            _record_origin(origins, path, value, f"the command line ({item})")
    return data


def _same_schema(old_algo: Any, new_algo: Any) -> bool:
    """Whether two algorithms take one hyper-parameter schema (the tabular update rules do). Only
    algorithms of one module can: comparing theirs imports nothing that the new one does not."""
    names = (old_algo, new_algo)
    if not all(isinstance(name, str) and name in ALGORITHMS for name in names):
        return False
    if len({ALGORITHMS[name].partition(":")[0] for name in names}) > 1:
        return False
    return algorithm_class(old_algo).Params is algorithm_class(new_algo).Params


def _record_origin(origins: dict[str, str], path: list[str], value: Any, origin: str) -> None:
    """``origins[dotted key] = origin`` for the keys under ``path`` that ``value`` sets (a whole
    section given as a mapping sets each of its keys)."""
    if len(path) == 1 and isinstance(value, dict):
        for key in [k for k in origins if k.startswith(f"{path[0]}.")]:
            del origins[key]
        origins.update({f"{path[0]}.{k}": origin for k in value})
    else:
        origins[".".join(path[:2])] = origin


def set_key(data: dict[str, Any], path: list[str], value: Any) -> None:
    """``data[path[0]][path[1]]… = value`` in place, making missing sections on the way."""
    node = data
    for depth, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            where = ".".join(path[: depth + 1])
            raise ConfigError(f"override {'.'.join(path)}: {where} is {child!r}, not a section")
        node = child
    node[path[-1]] = value


DEFAULT_CONFIG_NAME = "default"


def migrate_renamed_keys(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a saved run's config) with agent keys its algorithm has since renamed
    (``Params.config_renamed_keys``) under their new names, so that a run made before a rename still
    evaluates and resumes. User configs are not migrated: there an old name is an error naming the new."""
    agent = data.get("agent")
    if (
        not isinstance(agent, dict)
        or not isinstance(agent.get("algo"), str)
        or agent["algo"] not in ALGORITHMS
    ):
        return data
    renamed = getattr(algorithm_class(agent["algo"]).Params, "config_renamed_keys", {})
    if not any(key in agent for key in renamed):
        return data
    return {**data, "agent": {renamed.get(key, key): value for key, value in agent.items()}}


def default_config_data() -> dict[str, Any]:
    """The embedded default config: the README's main job."""
    import importlib.resources

    import yaml

    text = importlib.resources.files("rlsuite").joinpath("default_config.yaml").read_text()
    return yaml.safe_load(text)


def read_yaml(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {_one_line(error)}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {_one_line(error)}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(path)!r}: expected a mapping of sections (env: …, agent: …), "
            f"got a {type(data).__name__}"
        )
    return {} if data is None else data


def load_config(
    path: str | Path | None = None,
    overrides: list[str] | None = None,
    *,
    algo: str | None = None,
    env: str | None = None,
) -> Config:
    """Load and validate a YAML config (``None``: the embedded default), applying overrides.

    With ``algo`` and/or ``env`` (``rlsuite train --algo sb3.ppo --env CartPole-v1``) and no ``path``,
    the config is that algorithm's defaults on that env plus the tuned preset shipped for the pair
    (:mod:`rlsuite.presets`), if one does; the one not given is the embedded default's. An agent key the
    algorithm does not take is an error that names where it was set::

        >>> load_config(algo="dqn", env="CartPole-v1").env.num_envs  # dqn's CartPole-v1 preset
        4
        >>> load_config(overrides=["agent.algo=q_learning", "env.id=Taxi-v3"]).agent.algo
        'q_learning'
    """
    data, origins = _config_data(path, algo, env)
    data = apply_overrides(data, list(overrides or []), origins)
    return from_dict(data, origins)


def _config_data(
    path: str | Path | None, algo: str | None, env: str | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """The config before overrides, and where each ``section.key`` of it comes from."""
    if algo is None and env is None:
        data = default_config_data() if path is None else read_yaml(path)
        origin = "the embedded default config" if path is None else f"the config file {str(path)!r}"
        return data, _origins(data, origin)
    if path is not None:
        raise ConfigError(
            f"algo/env (--algo/--env) build a config from the algorithm's defaults and its preset, not from "
            f"{str(path)!r}; to switch a config file's algorithm or env use agent.algo=… or env.id=…"
        )
    default = default_config_data()
    algo = default["agent"]["algo"] if algo is None else algo
    env = default["env"]["id"] if env is None else env
    data: dict[str, Any] = {"env": {"id": env}, "agent": {"algo": algo}}
    from rlsuite.presets import find_preset, preset_file

    preset = find_preset(algo, env) or {}
    for section, values in preset.items():
        data.setdefault(section, {}).update(values)
    return data, _origins(preset, f"the preset for {algo} on {env} ({preset_file(algo)})")


def _origins(data: dict[str, Any], origin: str) -> dict[str, str]:
    return {f"{s}.{k}": origin for s, keys in data.items() if isinstance(keys, dict) for k in keys}


def _check_env_id(env_id: str) -> None:
    import gymnasium as gym

    import rlsuite  # noqa: F401  (registers our ids)

    if ":" in env_id:  # "module:Name-v0" imports the module first, as gymnasium.make does
        module, _, name = env_id.partition(":")
        try:
            __import__(module)
        except ImportError as error:
            raise ConfigError(
                f"env.id: got {env_id!r}; module {module!r} cannot be imported ({error})"
            ) from None
        env_id = name
    if env_id in gym.registry:
        return
    ours = [i for i in gym.registry if i.startswith("rlsuite/")]
    close = difflib.get_close_matches(env_id, list(gym.registry), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(
        f"env.id: unknown environment {env_id!r}{hint}; rlsuite ids: {', '.join(sorted(ours))}; "
        "any other registered Gymnasium id works too (see `rlsuite envs`)"
    )
