"""The zoo: trained agents shipped inside the package, loadable offline by name.

Each entry is a folder ``rlsuite/zoo/<name>/`` holding

- ``config.yaml``: the config of the run it was packed from (a shipped pretrained encoder is named
  there, never copied);
- ``model.safetensors``: the greedy policy's weights only (no optimiser, target network or replay
  buffer; at most 1 MB: :mod:`rlsuite.zoo.weights`);
- ``card.json``: env and kwargs, algorithm, training budget and wall-clock, the return and task
  metrics as mean ± std over 100 held-out episodes, whether it solves the env (:mod:`rlsuite.zoo.solved`),
  ``check`` (the exact returns of a few greedy episodes, replayed by ``tests/test_zoo.py``), commit and date.

::

    >>> import rlsuite
    >>> rlsuite.zoo.names()                                   # doctest: +SKIP
    ['racetrack-dqn', ...]
    >>> policy = rlsuite.load_pretrained("racetrack-dqn")     # doctest: +SKIP
    >>> action, _ = policy.predict(obs)                       # doctest: +SKIP

``rlsuite enjoy NAME`` watches one; ``rlsuite zoo add RUN_DIR --name NAME`` packs a run into an entry;
``rlsuite zoo cards`` re-evaluates the entries and rewrites their cards' figures (and the docs'
animations, ``docs/assets/zoo/<name>.gif``). The zoo read is the package's own, or the folder in the
environment variable ``RLSUITE_ZOO`` (or a function's ``root``): a zoo of your own, or a test's.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlsuite.config import ConfigError

if TYPE_CHECKING:
    from rlsuite.api import Policy

__all__ = [
    "CARD",
    "CONFIG",
    "MAX_WEIGHTS_BYTES",
    "REQUIRED_CARD_KEYS",
    "WEIGHTS",
    "ZOO_ENV_VAR",
    "animation",
    "card",
    "entries_for_env",
    "entry_dir",
    "load_pretrained",
    "names",
    "zoo_root",
]

PACKAGE_ZOO = Path(__file__).parent
ZOO_ENV_VAR = "RLSUITE_ZOO"  # a folder of entries to read instead of the package's own
CONFIG, WEIGHTS, CARD = "config.yaml", "model.safetensors", "card.json"
MAX_WEIGHTS_BYTES = 1_000_000  # [bytes] what one entry's model.safetensors may weigh (1 MB)
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")  # folder names that are no module of this package
REQUIRED_CARD_KEYS = (
    "name",
    "env_id",
    "env_kwargs",
    "algo",
    "config",
    "train",
    "eval",
    "solved",
    "check",
    "commit",
    "date",
)
"""The keys every card holds (``tests/test_zoo.py`` checks each shipped card for them)."""

ANIMATIONS = PACKAGE_ZOO.parents[1] / "docs" / "assets" / "zoo"
"""Where ``rlsuite zoo cards`` writes the docs' animations (in a clone; an installed wheel has none)."""


def zoo_root(root: str | Path | None = None) -> Path:
    """The folder of entries: ``root``, else ``$RLSUITE_ZOO``, else the package's own."""
    if root is not None:
        return Path(root)
    return Path(os.environ[ZOO_ENV_VAR]) if os.environ.get(ZOO_ENV_VAR) else PACKAGE_ZOO


def names(root: str | Path | None = None) -> list[str]:
    """The zoo's entry names, sorted (folders holding a ``card.json``)."""
    folder = zoo_root(root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / CARD).is_file() and NAME_PATTERN.fullmatch(p.name))


def entry_dir(name: str, root: str | Path | None = None) -> Path:
    """The folder of entry ``name``; a :class:`ConfigError` listing the known names for an unknown one."""
    known = names(root)
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        listed = ", ".join(known) if known else f"none (the zoo in {zoo_root(root)} is empty)"
        raise ConfigError(f"zoo: no entry named {name!r}{hint} Known names: {listed}")
    return zoo_root(root) / name


def card(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """The card of entry ``name`` (its ``card.json``)."""
    return json.loads((entry_dir(name, root) / CARD).read_text())


def entries_for_env(env_id: str, root: str | Path | None = None) -> list[str]:
    """The names of the entries that play ``env_id`` (``rlsuite/Racetrack-v0``; the ``rlsuite:`` module
    prefix of a Gymnasium id is ignored on both sides)."""
    wanted = env_id.split(":")[-1]
    return [n for n in names(root) if card(n, root)["env_id"].split(":")[-1] == wanted]


def animation(name: str, root: str | Path | None = None) -> Path | None:
    """The docs' animation of entry ``name`` (``docs/assets/zoo/<name>.gif``, written by ``rlsuite zoo
    cards``), or ``None`` when there is none (an installed wheel ships no docs)."""
    entry_dir(name, root)  # an unknown name is an error, not a missing animation
    path = ANIMATIONS / f"{name}.gif"
    return path if path.is_file() else None


def load_pretrained(
    name: str,
    *,
    device: str = "cpu",
    env_kwargs: dict[str, Any] | None = None,
    root: str | Path | None = None,
) -> Policy:
    """The zoo agent ``name`` as a :class:`rlsuite.api.Policy` — the object ``rlsuite.load(RUN_DIR)``
    gives for the run it was packed from, with the same greedy actions. Offline: the weights, the
    config and any pretrained encoder it names ship in the package.

    ``device``: where the network runs (``cpu`` by default, where the cards' figures were measured;
    ``auto``/``cuda`` to use a GPU); ``env_kwargs``: added to the entry's env kwargs for the policy's
    own env (e.g. ``{"render_mode": "rgb_array"}``); ``root``: another zoo folder.
    """
    from rlsuite.zoo.pack import load_entry

    return load_entry(entry_dir(name, root), device, env_kwargs)
