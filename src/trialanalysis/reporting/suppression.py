"""Small-cell suppression: one rule, from the config, for every publication table and text.

The rule (:class:`SuppressionRule`) comes from ``privacy.min_cell_size``,
``privacy.exempt_flow_counts`` and ``reporting.tables.suppression``; no table
sets its own threshold. A table *declares* which of its columns count
individuals (:class:`CountDeclaration`, the ``suppression`` key of a report
table block), but columns whose names look like counts of individuals
(``n``, ``n_*``, ``*_n``, ``*_missing``, ``*_events``, ... by the regular
expressions of ``reporting.tables.suppression.count_columns``) are counts
whether declared or not, so a new table is suppressed by construction; a
table opts a column *out* only by naming it in ``not_counts`` (counts of
clinics, imputations, bootstrap resamples, ...).

Suppression is primary (a count of individuals above zero and below the
threshold; zeros too with ``suppress_zero``) and complementary: wherever the
table publishes a total and its parts (:class:`Relation`), a total minus the
published parts (a count "implied by a difference") that is small, or a
single hidden cell of a relation, would let a reader recover a small count,
so the smallest further part is hidden too, until no relation leaks. Values
derived from a hidden count (percentages, means, SDs of that cell) are
blanked with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialanalysis.errors import ConfigError, ReportError

DECLARATION_KEYS = (
    "count_columns",
    "dependent_columns",
    "complementary_groups",
    "part_columns",
    "rows",
    "relations",
    "row_totals",
    "not_counts",
    "flow",
    # legacy keys: accepted, but the rule from the config decides them
    "min_cell_size",
    "marker",
    "suppress_zero",
    "blank",
)


@dataclass(frozen=True)
class SuppressionRule:
    """The one suppression rule of a run.

    Attributes
    ----------
    min_cell_size : int
        Counts of individuals above zero and below this are suppressed.
    marker : str
        Shown instead of a suppressed count (default ``"<min_cell_size"``).
    complement_marker : str
        Shown instead of a count hidden only so that a suppressed one cannot
        be derived (it may be large, so it is not shown as ``"<5"``).
    suppress_zero : bool
        Also suppress zero counts.
    exempt_flow : bool
        CONSORT flow tables (declared ``flow: true``) are shown unsuppressed.
    count_patterns, not_count_patterns : tuple of str
        Regular expressions (full match) of column names that count
        individuals, and of names that do not (checked first).
    dependents : tuple of str
        Columns blanked with a suppressed count of their row in tables that
        declare no ``dependent_columns`` (e.g. ``percent``).
    """

    min_cell_size: int = 5
    marker: str = ""
    complement_marker: str = "suppr."
    suppress_zero: bool = False
    exempt_flow: bool = False
    count_patterns: tuple[str, ...] = ()
    not_count_patterns: tuple[str, ...] = ()
    dependents: tuple[str, ...] = ()

    def __post_init__(self):
        size = self.min_cell_size
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1:
            raise ConfigError(f"privacy.min_cell_size must be a positive integer, not {size!r}")
        if not self.marker:
            object.__setattr__(self, "marker", f"<{size}")

    @classmethod
    def from_config(cls, config: Mapping) -> SuppressionRule:
        """Build the rule from the validated config (``privacy``, ``reporting.tables``)."""
        settings = config["reporting"]["tables"]["suppression"]
        privacy = config["privacy"]
        return cls(
            min_cell_size=int(privacy["min_cell_size"]),
            marker=settings.get("marker") or "",
            suppress_zero=bool(settings.get("suppress_zero", False)),
            exempt_flow=bool(privacy.get("exempt_flow_counts", False)),
            count_patterns=tuple(settings.get("count_columns", ())),
            not_count_patterns=tuple(settings.get("not_count_columns", ())),
            dependents=tuple(settings.get("dependent_columns", ())),
        )

    def is_small(self, n) -> bool:
        """Whether a count of individuals must be suppressed."""
        if n is None or pd.isna(n):
            return False
        n = float(n)
        return n < self.min_cell_size and (n > 0 or (self.suppress_zero and n == 0))

    def count(self, n) -> str:
        """Return a count as report text quotes it: the marker when it must be suppressed."""
        return self.marker if self.is_small(n) else str(int(n))

    def part_of(self, part: int, total: int) -> str:
        """``"part of total"``, hiding a small part or a small remainder ``total - part``.

        The percentage is added only when neither is hidden.
        """
        if self.is_small(part):
            return f"{self.marker} of {total}"
        if self.is_small(total - part):
            return f"all but {self.marker} of {total}"
        percent = f" ({100 * part / total:.1f}%)" if total else ""
        return f"{part} of {total}{percent}"

    def statement(self) -> str:
        """Return what the rule does, for the methods text (true by construction)."""
        zero = " or of none" if self.suppress_zero else ""
        text = (
            f"Counts of fewer than {self.min_cell_size} individuals{zero} (including counts "
            "of missing values and counts that follow from a total and the other counts "
            f"shown) are suppressed in tables and text (shown as {self.marker}); values "
            "derived from them are blanked."
        )
        if self.exempt_flow:
            text += (
                " By configuration (privacy.exempt_flow_counts), the CONSORT participant "
                "flow counts are exempt and shown in full."
            )
        else:
            text += " The rule applies to the CONSORT participant flow too."
        return text

    def is_count_name(self, column: str) -> bool | None:
        """Return True / False when a name matches a count / non-count pattern, else None."""
        if any(re.fullmatch(p, column) for p in self.not_count_patterns):
            return False
        if any(re.fullmatch(p, column) for p in self.count_patterns):
            return True
        return None


def default_rule() -> SuppressionRule:
    """Return the rule of the built-in config (the schema's defaults)."""
    from trialanalysis.config import validate_config

    return SuppressionRule.from_config(validate_config({}, source="defaults"))


@dataclass(frozen=True)
class Relation:
    """Published cells that add up: ``total = sum(parts) + remainder``.

    ``total`` is a (row position, column) cell or None when the total is not in
    this table but published elsewhere (complementary groups); ``parts`` are
    cells. With a total, the remainder (parts not shown, e.g. lost to
    follow-up) is what a reader computes by difference.
    """

    total: tuple[int, str] | None
    parts: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class CountDeclaration:
    """Which cells of one table count individuals and which add up.

    Parameters (keys of a report block's ``suppression`` mapping)
    ----------
    count_columns : list of str
        Columns counting individuals, besides those the rule's patterns find.
    dependent_columns : list of str or mapping
        Values derived from a count, blanked with it (a mapping ties them
        to one count column, for wide tables).
    complementary_groups : list of str
        Rows with equal values in these columns are parts of a total
        published elsewhere (e.g. the categories of one characteristic).
    part_columns : list of list of str
        Count columns whose cells in one complementary group are parts of
        the same total (e.g. ``[[control_n, control_missing]]``); by default
        each count column is its own.
    rows : mapping of str to list
        Only rows whose values are in these lists count individuals (e.g.
        ``{level: [patient, therapist]}`` in a flow table of clinics too).
    relations : list of mapping
        Long-table sums: ``{total: {column: value}, parts: {column: [values]},
        by: [columns], within: [columns]}``: in each group of ``by``, the row
        matching ``total`` equals the sum of the ``parts`` rows of each
        ``within`` group, plus what is not shown.
    row_totals : list of mapping
        Wide-table sums within a row: ``{total: column, parts: [columns]}``.
    not_counts : list of str
        Columns named like counts that do not count individuals.
    flow : bool
        A CONSORT flow table (exempt when the rule says so).
    """

    count_columns: tuple[str, ...] = ()
    dependent_columns: Mapping | tuple = ()
    complementary_groups: tuple[str, ...] = ()
    part_columns: tuple[tuple[str, ...], ...] = ()
    rows: Mapping = field(default_factory=dict)
    relations: tuple[Mapping, ...] = ()
    row_totals: tuple[Mapping, ...] = ()
    not_counts: tuple[str, ...] = ()
    flow: bool = False

    @classmethod
    def parse(cls, block: Mapping | None) -> CountDeclaration:
        """Read a block's ``suppression`` mapping (None or ``{}``: nothing declared)."""
        block = dict(block or {})
        unknown = sorted(set(block) - set(DECLARATION_KEYS))
        if unknown:
            raise ReportError(
                f"unknown suppression key(s) {unknown}; allowed: {', '.join(DECLARATION_KEYS)}"
            )
        dependents = block.get("dependent_columns") or ()
        if not isinstance(dependents, Mapping):
            dependents = tuple(dependents)
        return cls(
            count_columns=tuple(block.get("count_columns") or ()),
            dependent_columns=dependents,
            complementary_groups=tuple(block.get("complementary_groups") or ()),
            part_columns=tuple(tuple(p) for p in block.get("part_columns") or ()),
            rows=dict(block.get("rows") or {}),
            relations=tuple(block.get("relations") or ()),
            row_totals=tuple(block.get("row_totals") or ()),
            not_counts=tuple(block.get("not_counts") or ()),
            flow=bool(block.get("flow", False)),
        )


@dataclass
class Suppressed:
    """A table after suppression.

    Attributes
    ----------
    table : DataFrame
        Small counts replaced by the marker, counts hidden to protect them
        by the complement marker, dependent values by ``""``.
    counts : DataFrame of bool
        Cells that count individuals (table's index and columns).
    hidden : DataFrame of bool
        Count cells that were suppressed.
    exempt : bool
        The table was left as is because flow counts are exempt.
    other : tuple of str
        Columns the table declares as counts of something else (clinics, ...).
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    hidden: pd.DataFrame
    exempt: bool = False
    other: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        """Whether anything was suppressed."""
        return bool(self.hidden.to_numpy().any())


def count_columns(table: pd.DataFrame, declaration: CountDeclaration, rule: SuppressionRule):
    """Columns of ``table`` that count individuals: declared or named like counts."""
    absent = [c for c in declaration.count_columns if c not in table.columns]
    if absent:
        raise ReportError(
            f"cannot suppress small cells: count column(s) {absent} not in the table "
            f"(columns: {list(table.columns)})"
        )
    out = []
    for column in table.columns:
        name = str(column)
        if name in declaration.not_counts:
            continue
        if name in declaration.count_columns or rule.is_count_name(name):
            out.append(column)
    return out


def _numbers(table: pd.DataFrame, columns) -> dict[str, np.ndarray]:
    """Return counts as floats; text columns named like counts (``"12 (40%)"``) are skipped."""
    values = {}
    for column in columns:
        numbers = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(numbers).all() and table[column].notna().any():
            continue
        values[column] = numbers
    return values


def _matches(table: pd.DataFrame, condition: Mapping) -> np.ndarray:
    ok = np.ones(len(table), dtype=bool)
    for column, values in condition.items():
        if column not in table.columns:
            raise ReportError(f"suppression relation names column {column!r}, not in the table")
        values = values if isinstance(values, list | tuple) else [values]
        ok &= table[column].astype(object).isin(values).to_numpy()
    return ok


def _relations(table, declaration: CountDeclaration, columns) -> list[Relation]:
    relations = []
    if declaration.complementary_groups:
        together = [[c for c in s if c in columns] for s in declaration.part_columns]
        together += [[c] for c in columns if not any(c in s for s in together)]
        groups = table.groupby(list(declaration.complementary_groups), sort=False, dropna=False)
        for rows in groups.indices.values():
            for stems in together:
                cells = tuple((int(p), c) for c in stems for p in rows)
                relations.append(Relation(None, cells))
    for column in columns:
        for spec in declaration.relations:
            by, within = list(spec.get("by", [])), list(spec.get("within", []))
            is_total = _matches(table, spec["total"])
            is_part = _matches(table, spec["parts"])
            for total in np.flatnonzero(is_total):
                same = np.ones(len(table), dtype=bool)
                for key in by:
                    same &= (table[key].astype(object) == table[key].iloc[total]).to_numpy() | (
                        table[key].isna().to_numpy() & pd.isna(table[key].iloc[total])
                    )
                parts = np.flatnonzero(same & is_part)
                groups = (
                    table.iloc[parts].groupby(within, sort=False, dropna=False).indices.values()
                    if within
                    else [np.arange(len(parts))]
                )
                for members in groups:
                    cells = tuple((int(parts[i]), column) for i in members)
                    relations.append(Relation((int(total), column), cells))
    for spec in declaration.row_totals:
        for row in range(len(table)):
            relations.append(
                Relation((row, spec["total"]), tuple((row, c) for c in spec["parts"]))
            )
    return relations


def suppress_counts(
    table: pd.DataFrame,
    declaration: CountDeclaration | Mapping | None,
    rule: SuppressionRule | None = None,
) -> Suppressed:
    """Apply the rule to one table: primary, complementary and dependent suppression.

    Parameters
    ----------
    table : DataFrame
        A tidy (long or wide) table; not modified.
    declaration : CountDeclaration or mapping or None
        What the table declares (see :class:`CountDeclaration`).
    rule : SuppressionRule, optional
        Default :func:`default_rule`.

    Returns
    -------
    Suppressed

    Examples
    --------
    >>> t = pd.DataFrame({"arm": ["a", "b"], "n": [3, 40], "percent": [7.0, 93.0]})
    >>> out = suppress_counts(t, {"dependent_columns": ["percent"]}, SuppressionRule(5))
    >>> out.table["n"].tolist(), out.table["percent"].tolist()
    (['<5', 40], ['', 93.0])
    """
    rule = rule or default_rule()
    if not isinstance(declaration, CountDeclaration):
        declaration = CountDeclaration.parse(declaration)
    columns = count_columns(table, declaration, rule)
    values = _numbers(table, columns)
    columns = [c for c in columns if c in values]
    individual = np.ones(len(table), dtype=bool)
    if declaration.rows:
        individual = _matches(table, declaration.rows)
    counts = pd.DataFrame(False, index=table.index, columns=table.columns)
    hidden = pd.DataFrame(False, index=table.index, columns=table.columns)
    if declaration.flow and rule.exempt_flow:
        for column in columns:
            counts[column] = individual & ~np.isnan(values[column])
        return Suppressed(table.copy(), counts, hidden, exempt=True, other=declaration.not_counts)
    cells = set()
    for column in columns:
        counts[column] = individual & ~np.isnan(values[column])
        small = np.array([rule.is_small(v) for v in values[column]], dtype=bool) & individual
        cells |= {(int(p), column) for p in np.flatnonzero(small)}
    primary = set(cells)
    _complement(cells, _relations(table, declaration, columns), values, rule)
    for row, column in cells:
        hidden.iloc[row, table.columns.get_loc(column)] = True
    shown = _blank(table, hidden, declaration, columns, rule)
    for row, column in cells - primary:
        shown.iloc[row, table.columns.get_loc(column)] = rule.complement_marker
    return Suppressed(shown, counts, hidden, other=declaration.not_counts)


def _complement(cells: set, relations: Sequence[Relation], values, rule) -> None:
    """Hide further parts until no relation reveals a hidden cell or a small remainder."""

    def value(cell):
        row, column = cell
        return values[column][row] if column in values else np.nan

    changed = True
    while changed:
        changed = False
        for relation in relations:
            parts = [c for c in relation.parts if not np.isnan(value(c))]
            if not parts or (relation.total is not None and np.isnan(value(relation.total))):
                continue
            members = [*parts, *([relation.total] if relation.total else [])]
            hidden = [c for c in members if c in cells]
            remainder = 0.0
            if relation.total is not None:
                remainder = value(relation.total) - sum(value(c) for c in parts)
            unknown = len(hidden) + (1 if remainder > 0 else 0)
            leaks = unknown == 1 and (hidden or rule.is_small(remainder))
            if not leaks:
                continue
            shown = [c for c in parts if c not in cells and value(c) > 0]
            if not shown and relation.total is not None and relation.total not in cells:
                shown = [relation.total]
            if shown:
                cells.add(min(shown, key=lambda c: (value(c), c[0], str(c[1]))))
                changed = True


def _blank(table, hidden, declaration, columns, rule) -> pd.DataFrame:
    dependents = declaration.dependent_columns or rule.dependents
    if isinstance(dependents, Mapping):
        unknown = sorted(set(dependents) - set(table.columns))
        if unknown:
            raise ReportError(f"dependent_columns names {unknown}, which are not in the table")
        tied = {c: [d for d in dependents.get(c, []) if d in table.columns] for c in columns}
    else:
        tied = {c: [d for d in dependents if d in table.columns] for c in columns}
    out = table.copy()
    blanked = pd.DataFrame(False, index=table.index, columns=table.columns)
    for column in columns:
        for dependent in tied.get(column, []):
            blanked[dependent] |= hidden[column]
    for column in table.columns:
        marked, cleared = hidden[column], blanked[column] & ~hidden[column]
        if marked.any() or cleared.any():
            out[column] = out[column].astype(object)
            out.loc[marked.to_numpy(), column] = rule.marker
            out.loc[cleared.to_numpy(), column] = ""
    return out
