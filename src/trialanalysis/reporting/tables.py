"""Manuscript tables: rounding rules, small-cell suppression and the four formats.

A result table stays tidy and unrounded (its CSV copy is exactly the input);
rounding and suppression happen only when it is rendered as HTML, LaTeX or
Word. Rounding follows an ordered list of rules matched against column names
(the first match wins), so a statistician changes it in YAML, not code::

    - {columns: "p_value|.*_p_value", style: p_value, digits: 3}
    - {columns: "n|n_.*", style: integer}
    - {columns: ".*", style: fixed, digits: 2}

Styles: ``fixed`` (``digits`` decimals), ``integer``, ``p_value`` (``digits``
decimals, values below ``10**-digits`` shown as ``<0.001``), ``significant``
(``digits`` significant digits) and ``text`` (shown as is). Values of integer
type are always shown as integers; missing values as the ``missing`` text.
Rounding is Python's (round half to even on the binary value, as R's
``sprintf``); a rounded negative zero is shown without its sign.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from trialanalysis.config import validate_config
from trialanalysis.errors import ConfigError, ReportError

STYLES = ("fixed", "integer", "p_value", "significant", "text")
#: Default rounding rules: those of the config schema (reporting.tables.rounding).
DEFAULT_ROUNDING: tuple[dict, ...] = tuple(
    validate_config({}, source="defaults")["reporting"]["tables"]["rounding"]
)
DEFAULT_LABELS = {
    "term": "Term",
    "estimate": "Estimate",
    "std_error": "SE",
    "df": "df",
    "statistic": "Statistic",
    "p_value": "p",
    "conf_low": "95% CI lower",
    "conf_high": "95% CI upper",
    "n": "n",
}
#: Rendered manuscript formats; the unrounded CSV copy is written by
#: :func:`trialanalysis.steps.io.write_table` (with the one CSV writer).
FORMATS = ("html", "tex", "docx")


@dataclass(frozen=True)
class RoundingRule:
    """How the columns whose names match ``columns`` (a regular expression) are shown."""

    columns: str
    style: str = "fixed"
    digits: int = 2

    def matches(self, column: str) -> bool:
        """Return whether the rule applies to a column (full match of the name)."""
        return re.fullmatch(self.columns, column) is not None

    def format(self, value) -> str:
        """Format one number by this rule."""
        if self.style == "text":
            return str(value)
        if isinstance(value, int | np.integer):
            return str(int(value))
        value = float(value)
        if math.isinf(value):
            return "-Inf" if value < 0 else "Inf"
        if self.style == "integer":
            text = f"{value:.0f}"
        elif self.style == "p_value":
            threshold = 10.0**-self.digits
            if value < threshold:
                return f"<{threshold:.{self.digits}f}"
            text = f"{value:.{self.digits}f}"
        elif self.style == "significant":
            text = np.format_float_positional(
                value, precision=max(self.digits, 1), unique=False, fractional=False, trim="k"
            ).rstrip(".")
        else:
            text = f"{value:.{self.digits}f}"
        if text.startswith("-") and float(text) == 0:
            text = text[1:]
        return text


def rounding_rules(rules: Sequence[Mapping] | None = None) -> list[RoundingRule]:
    """Check rounding rules from the config and turn them into objects.

    Parameters
    ----------
    rules : sequence of mapping, optional
        Each with ``columns`` (regular expression, full match), ``style``
        (one of ``fixed, integer, p_value, significant, text``) and
        ``digits`` (int >= 0; default 2). None gives :data:`DEFAULT_ROUNDING`.
        A catch-all rule (``.*``, fixed, 2 digits) is appended when none is given.

    Returns
    -------
    list of RoundingRule

    Raises
    ------
    ConfigError
        Listing every invalid rule.
    """
    rules = DEFAULT_ROUNDING if rules is None else rules
    problems, parsed = [], []
    for i, rule in enumerate(rules):
        where = f"rounding rule {i + 1}"
        if not isinstance(rule, Mapping):
            problems.append(f"{where}: must be a mapping with columns, style, digits")
            continue
        unknown = sorted(set(rule) - {"columns", "style", "digits"})
        if unknown:
            problems.append(f"{where}: unknown key(s) {unknown}; allowed: columns, style, digits")
        style = rule.get("style", "fixed")
        digits = rule.get("digits", 2)
        if style not in STYLES:
            problems.append(f"{where}: style {style!r} is not one of {', '.join(STYLES)}")
        if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 15:
            problems.append(f"{where}: digits must be an integer from 0 to 15, not {digits!r}")
        try:
            re.compile(str(rule.get("columns", "")))
        except re.error as exc:
            problems.append(f"{where}: columns is not a valid regular expression ({exc})")
        if "columns" not in rule:
            problems.append(f"{where}: columns (a regular expression) is required")
        else:
            parsed.append(RoundingRule(str(rule["columns"]), style, digits))
    if problems:
        raise ConfigError("invalid table rounding rules:\n" + "\n".join(problems))
    if not any(r.columns in (".*", ".+") for r in parsed):
        parsed.append(RoundingRule(".*", "fixed", 2))
    return parsed


def _dependents(
    count_columns: Sequence[str], dependent_columns: Mapping | Sequence | None
) -> dict[str, list[str]]:
    if dependent_columns is None:
        return {c: [] for c in count_columns}
    if isinstance(dependent_columns, Mapping):
        unknown = sorted(set(dependent_columns) - set(count_columns))
        if unknown:
            raise ReportError(
                f"dependent_columns names {unknown}, which are not count columns "
                f"{list(count_columns)}; key each dependent column by its count column"
            )
        return {c: list(dependent_columns.get(c, [])) for c in count_columns}
    return {c: list(dependent_columns) for c in count_columns}


def small_cell_mask(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    min_cell_size: int,
    *,
    suppress_zero: bool = False,
    complementary_groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mark the count cells that must be suppressed.

    A count is suppressed when it is below ``min_cell_size`` (and above zero,
    unless ``suppress_zero``). With ``complementary_groups``, a group of rows
    (same values in those columns) with exactly one suppressed count also
    loses its smallest other non-zero count, so the suppressed one cannot be
    recovered from a published total.

    Returns
    -------
    DataFrame of bool
        Same index as ``table``, one column per count column.
    """
    if isinstance(min_cell_size, bool) or not isinstance(min_cell_size, int | np.integer):
        raise ConfigError(f"min_cell_size must be a positive integer, not {min_cell_size!r}")
    if min_cell_size < 1:
        raise ConfigError(f"min_cell_size must be a positive integer, not {min_cell_size!r}")
    groups = list(complementary_groups or [])
    missing = [c for c in [*count_columns, *groups] if c not in table.columns]
    if missing:
        raise ReportError(
            f"cannot suppress small cells: column(s) {missing} not in the table "
            f"(columns: {list(table.columns)}); fix count_columns in the config"
        )
    flags = {}
    for column in count_columns:
        counts = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(counts).all() and table[column].notna().any():
            raise ReportError(f"count column {column!r} holds no numbers; check count_columns")
        with np.errstate(invalid="ignore"):
            small = (counts < min_cell_size) & ~np.isnan(counts)
        if not suppress_zero:
            small &= counts != 0
        if groups:
            # positions, not labels, so a table with a repeated index works too
            for positions in table.groupby(groups, sort=False, dropna=False).indices.values():
                if small[positions].sum() != 1:
                    continue
                others = [p for p in positions if not small[p] and counts[p] > 0]
                if others:
                    small[min(others, key=lambda p: counts[p])] = True
        flags[column] = small
    return pd.DataFrame(flags, index=table.index, columns=list(count_columns))


def suppress_small_cells(
    table: pd.DataFrame,
    count_columns: Sequence[str],
    min_cell_size: int,
    dependent_columns: Mapping[str, Sequence[str]] | Sequence[str] | None = None,
    *,
    marker: str | None = None,
    blank: str = "",
    suppress_zero: bool = False,
    complementary_groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Replace small counts, and every value derived from them, for publication.

    Parameters
    ----------
    table : DataFrame
        A tidy (long or wide) table; not modified.
    count_columns : sequence of str
        Columns that count individuals.
    min_cell_size : int
        Counts below this (and above zero, unless ``suppress_zero``) are suppressed.
    dependent_columns : mapping or sequence of str, optional
        Values derived from a count (percentages, means, SDs of that cell),
        blanked in the same row when the count is suppressed. A mapping
        ``{count_column: [columns]}`` ties them to one count column (wide
        tables); a plain list ties them to every count column (long tables).
    marker : str, optional
        Shown instead of a suppressed count; default ``"<{min_cell_size}"``.
    blank : str
        Shown instead of a dependent value.
    suppress_zero : bool
        Also suppress zero counts.
    complementary_groups : sequence of str, optional
        Columns defining groups of rows whose counts add up to a published
        total; see :func:`small_cell_mask`.

    Returns
    -------
    DataFrame
        A copy; columns with suppressed cells become object dtype holding the
        marker and blank strings among the original numbers.

    Examples
    --------
    >>> t = pd.DataFrame({"arm": ["a", "b"], "n": [3, 40], "percent": [7.0, 93.0]})
    >>> suppress_small_cells(t, ["n"], 5, ["percent"])["percent"].tolist()
    ['', 93.0]
    """
    count_columns = list(count_columns)
    dependents = _dependents(count_columns, dependent_columns)
    missing = sorted({d for ds in dependents.values() for d in ds} - set(table.columns))
    if missing:
        raise ReportError(f"dependent column(s) {missing} not in the table; check the config")
    mask = small_cell_mask(
        table,
        count_columns,
        min_cell_size,
        suppress_zero=suppress_zero,
        complementary_groups=complementary_groups,
    )
    marker = f"<{min_cell_size}" if marker is None else marker
    blanked = pd.DataFrame(False, index=table.index, columns=table.columns)
    for column in count_columns:
        for dependent in dependents[column]:
            blanked[dependent] |= mask[column]
    out = table.copy()
    no_marks = pd.Series(False, index=table.index)
    for column in table.columns:
        marked = mask[column] if column in mask.columns else no_marks
        cleared = blanked[column] & ~marked
        if not (marked.any() or cleared.any()):
            continue
        out[column] = out[column].astype(object)
        out.loc[marked.to_numpy(), column] = marker
        out.loc[cleared.to_numpy(), column] = blank
    return out


@dataclass
class RenderedTable:
    """A table ready to write: every cell a string, with its caption and notes."""

    cells: pd.DataFrame
    headers: list[str]
    numeric: list[bool]
    caption: str = ""
    notes: list[str] = field(default_factory=list)


def format_table(
    table: pd.DataFrame,
    rules: Sequence[Mapping] | Sequence[RoundingRule] | None = None,
    *,
    suppression: Mapping | None = None,
    labels: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    caption: str = "",
    notes: Sequence[str] = (),
    missing: str = "",
) -> RenderedTable:
    """Round, suppress and label a tidy table for display.

    Parameters
    ----------
    table : DataFrame
    rules : sequence, optional
        Rounding rules (see the module docstring); default :data:`DEFAULT_ROUNDING`.
    suppression : mapping, optional
        Keyword arguments of :func:`suppress_small_cells` (``count_columns``,
        ``min_cell_size``, ``dependent_columns``, ...). None = no suppression.
    labels : mapping, optional
        Column name -> header; unlabelled columns use :data:`DEFAULT_LABELS`
        or the name with spaces for underscores.
    columns : sequence of str, optional
        Columns to show, in order (default: all).
    caption, notes : str, sequence of str
        Shown with the table; a note on suppression is added when cells were suppressed.
    missing : str
        Shown for missing values.

    Returns
    -------
    RenderedTable
    """
    if rules and all(isinstance(r, RoundingRule) for r in rules):
        parsed = list(rules)
    else:
        parsed = rounding_rules(rules)
    columns = list(table.columns if columns is None else columns)
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise ReportError(f"column(s) {absent} requested for display are not in the table")
    shown = table
    notes = list(notes)
    if suppression:
        _check_suppression(suppression)
        shown = suppress_small_cells(table, **suppression)
        if not shown.equals(table):
            size = suppression["min_cell_size"]
            marker = suppression.get("marker") or f"<{size}"
            notes.append(
                f"Counts of fewer than {size} individuals are suppressed ({marker}); "
                "values derived from them are blanked."
            )
    cells = {}
    for column in columns:
        rule = next(r for r in parsed if r.matches(str(column)))
        cells[column] = [_cell_text(v, rule, missing) for v in shown[column].tolist()]
    labels = {**DEFAULT_LABELS, **(labels or {})}
    return RenderedTable(
        cells=pd.DataFrame(cells, columns=columns, index=range(len(table))),
        headers=[labels.get(str(c), _default_label(str(c))) for c in columns],
        numeric=[pd.api.types.is_numeric_dtype(table[c].dtype) for c in columns],
        caption=caption,
        notes=notes,
    )


SUPPRESSION_KEYS = (
    "count_columns",
    "min_cell_size",
    "dependent_columns",
    "marker",
    "blank",
    "suppress_zero",
    "complementary_groups",
)


def _check_suppression(suppression: Mapping) -> None:
    problems = [
        f"missing key {k!r}" for k in ("count_columns", "min_cell_size") if k not in suppression
    ]
    unknown = sorted(set(suppression) - set(SUPPRESSION_KEYS))
    if unknown:
        problems.append(f"unknown key(s) {unknown}; allowed: {', '.join(SUPPRESSION_KEYS)}")
    if problems:
        raise ConfigError("invalid small-cell suppression settings: " + "; ".join(problems))


def _default_label(column: str) -> str:
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


def _cell_text(value, rule: RoundingRule, missing: str) -> str:
    if isinstance(value, str):
        return value
    if value is None or value is pd.NA or value is pd.NaT:
        return missing
    if isinstance(value, bool | np.bool_):
        return str(bool(value)).lower()
    if isinstance(value, int | float | np.integer | np.floating):
        return missing if np.isnan(value) else rule.format(value)
    return str(value)


def write_rendered_table(
    table: pd.DataFrame,
    path: str | Path,
    *,
    caption: str = "",
    source: str = "",
    rules: Sequence[Mapping] | None = None,
    suppression: Mapping | None = None,
    labels: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    notes: Sequence[str] = (),
    formats: Sequence[str] = FORMATS,
    standalone_html: bool = False,
    missing: str = "",
) -> dict[str, Path]:
    """Render one tidy table as a manuscript table in several formats and write them.

    Parameters
    ----------
    table : DataFrame
        Tidy, unrounded results.
    path : str or Path
        Output path; its suffix is replaced by each format's (``.html``,
        ``.tex``, ``.docx``).
    caption, source : str
        Caption, and the file or step the numbers came from (shown as a note).
    rules, suppression, labels, columns, notes, missing
        See :func:`format_table`.
    formats : sequence of str
        Any of ``html`` (a fragment, or a whole page with ``standalone_html``),
        ``tex`` (booktabs) and ``docx``; the CSV copy (exactly the input) is
        written by :func:`trialanalysis.steps.io.write_table`.

    Returns
    -------
    dict of str to Path
        Format -> file written. Every file is byte-identical on rerun.
    """
    from trialanalysis.reporting.markup import standalone_page, table_html, table_latex
    from trialanalysis.reporting.word import write_docx

    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ConfigError(f"unknown table format(s) {unknown}; choose from {', '.join(FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    notes = [*notes, f"Source: {source}"] if source else list(notes)
    rendered = format_table(
        table,
        rules,
        suppression=suppression,
        labels=labels,
        columns=columns,
        caption=caption,
        notes=notes,
        missing=missing,
    )
    written = {}
    for fmt in formats:
        target = path.with_suffix(f".{fmt}")
        if fmt == "html":
            fragment = table_html(rendered)
            text = standalone_page(fragment, caption or path.stem) if standalone_html else fragment
            target.write_text(text, encoding="utf-8", newline="\n")
        elif fmt == "tex":
            target.write_text(table_latex(rendered), encoding="utf-8", newline="\n")
        else:
            write_docx(rendered, target)
        written[fmt] = target
    return written
