"""Read-only settings shared by the trials' settings modules.

Resolved settings are frozen (:func:`freeze`): mappings become
:class:`FrozenMap`, lists become tuples. A frozen value pickles, so the
Snakefile resolves the settings once and passes them to the jobs as
``params`` (Snakemake pickles a script's ``params``), and its ``repr`` is
deterministic, so Snakemake reruns a job when a setting it gets changes.
:func:`thaw` gives a plain, mutable copy for code that takes dicts and lists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any


class FrozenMap(Mapping):
    """An immutable mapping that pickles and compares equal to any mapping with its items."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping | None = None) -> None:
        object.__setattr__(self, "_items", dict(items or {}))

    def __getitem__(self, key: Any) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenMap is read-only")

    def __reduce__(self):
        return (FrozenMap, (self._items,))

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))


def freeze(value: Any) -> Any:
    """Return a read-only copy: mappings become :class:`FrozenMap`, lists become tuples."""
    if isinstance(value, Mapping):
        return FrozenMap({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Return a plain copy of a frozen value: mappings become dicts, tuples become lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


def unknown_names(
    key: str, values: Sequence[str] | None, known: Sequence[str], what: str
) -> list[str]:
    """Return the problem (at most one) of a setting naming values outside ``known``.

    Parameters
    ----------
    key : str
        The full config key, e.g. ``betterback.analyses.patients.outcomes``.
    values : sequence of str or None
        The names the setting gives (``None``: nothing to check).
    known : sequence of str
        The names it may give.
    what : str
        What the known names are, for the message.

    Returns
    -------
    list of str
        Empty, or one message naming the key, the unknown values and the known ones.
    """
    missing = [v for v in values or [] if v not in known]
    if not missing:
        return []
    return [f"{key}: unknown {missing}, not among the {what}: {', '.join(known) or 'none'}"]
