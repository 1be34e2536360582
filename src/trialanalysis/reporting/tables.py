"""Manuscript tables: rounding rules, the four formats, and suppression applied to each.

A result table stays tidy and unrounded (its CSV copy is exactly the input);
rounding and suppression happen only when it is rendered as HTML, LaTeX or
Word. Rounding follows an ordered list of rules matched against column names
(the first match wins), so a statistician changes it in YAML, not code::

    - {columns: "p_value|.*_p_value", style: p_value, digits: 3}
    - {columns: "n|n_.*", style: integer}
    - {columns: ".*", style: fixed, digits: 2}

A rule with ``where`` (column -> regular expression) applies only to rows in
which that column matches, so a quantity is rounded by what it is, e.g. an
EQ-5D index estimate at 3 decimals beside ODI estimates at 2::

    - {columns: "estimate|conf_.*", where: {outcome: "eq5d_index"}, style: fixed, digits: 3}

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
from trialanalysis.reporting.labels import Labels, default_labels
from trialanalysis.reporting.suppression import SuppressionRule, default_rule, suppress_counts

#: A field of a combined display cell, ``{column}`` (names only: no attributes, no code).
FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
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
    where: tuple[tuple[str, str], ...] = ()

    def matches(self, column: str, row: Mapping | None = None) -> bool:
        """Return whether the rule applies to a column (full match of the name).

        With ``where`` (column -> regular expression), only in rows in which
        one of those columns exists and its value, as text, matches in full
        (case-insensitive); without a row such a rule never applies.
        """
        if re.fullmatch(self.columns, column) is None:
            return False
        if not self.where:
            return True
        if row is None:
            return False
        return any(
            name in row and re.fullmatch(pattern, _text(row[name]), re.IGNORECASE) is not None
            for name, pattern in self.where
        )

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


def number_text(value: float, digits: int = 2) -> str:
    """Format a number as the tables do (fixed decimals, never ``-0.00``), for figures and text."""
    return RoundingRule("x", "fixed", digits).format(value)


def value_text(
    value: float,
    column: str,
    row: Mapping | None = None,
    rules: Sequence[Mapping] | None = None,
) -> str:
    """Format a value exactly as a table column shows it (the rounding rules, ``where`` too).

    So a figure's annotation of an EQ-5D estimate has the 3 decimals of the
    tables, an ODI estimate 2 (:data:`DEFAULT_ROUNDING` unless ``rules``).
    """
    parsed = rounding_rules(rules)
    rule = next(r for r in parsed if r.matches(column, row))
    return _cell_text(value, rule, "")


def tick_text(value: float, position=None) -> str:
    """Format an axis tick with the tables' formatter: the fewest decimals (up to 3) it needs."""
    for digits in range(4):
        if abs(round(value, digits) - value) < 1e-9:
            return number_text(value, digits)
    return number_text(value, 3)


def p_text(p: float, digits: int = 3) -> str:
    """Quote a p-value in text exactly as tables show it: ``p = 0.004``, ``p < 0.001``.

    The same :class:`RoundingRule` (``p_value`` style) formats both, so text
    and tables cannot disagree.
    """
    shown = RoundingRule("p", "p_value", digits).format(p)
    return f"p < {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


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
        unknown = sorted(set(rule) - {"columns", "style", "digits", "where"})
        if unknown:
            problems.append(
                f"{where}: unknown key(s) {unknown}; allowed: columns, style, digits, where"
            )
        rows = rule.get("where") or {}
        if not isinstance(rows, Mapping):
            problems.append(f"{where}: where must map column names to regular expressions")
            rows = {}
        for name, pattern in rows.items():
            try:
                re.compile(str(pattern))
            except re.error as exc:
                problems.append(f"{where}: where.{name} is not a valid regular expression ({exc})")
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
            condition = tuple((str(k), str(v)) for k, v in rows.items())
            parsed.append(RoundingRule(str(rule["columns"]), style, digits, condition))
    if problems:
        raise ConfigError("invalid table rounding rules:\n" + "\n".join(problems))
    if not any(r.columns in (".*", ".+") and not r.where for r in parsed):
        parsed.append(RoundingRule(".*", "fixed", 2))
    return parsed


@dataclass
class RenderedTable:
    """A table ready to write: every cell a string, with its caption and notes.

    ``counts`` marks the cells that count individuals (shown columns; the
    HTML gives them ``class="count"`` so a check can find every one);
    ``other_counts`` names columns declared to count something else
    (``class="count-other"``).
    """

    cells: pd.DataFrame
    headers: list[str]
    numeric: list[bool]
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    counts: pd.DataFrame | None = None
    other_counts: tuple[str, ...] = ()


def format_table(
    table: pd.DataFrame,
    rules: Sequence[Mapping] | Sequence[RoundingRule] | None = None,
    *,
    suppression: Mapping | None = None,
    rule: SuppressionRule | None = None,
    labels: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    caption: str = "",
    notes: Sequence[str] = (),
    missing: str = "",
    combine: Mapping[str, Sequence[str]] | None = None,
    codes: Labels | None = None,
) -> RenderedTable:
    """Round, suppress and label a tidy table for display.

    Every table rendered for publication passes here, so every one is
    suppressed by the same rule (:mod:`trialanalysis.reporting.suppression`).

    Parameters
    ----------
    table : DataFrame
    rules : sequence, optional
        Rounding rules (see the module docstring); default :data:`DEFAULT_ROUNDING`.
    suppression : mapping, optional
        What the table declares about its counts of individuals (see
        :class:`~trialanalysis.reporting.suppression.CountDeclaration`);
        columns named like counts are counts even when nothing is declared.
    rule : SuppressionRule, optional
        The run's rule (from the config); default: the built-in config's.
    labels : mapping, optional
        Column name -> header; unlabelled columns use :data:`DEFAULT_LABELS`
        or the name with spaces for underscores.
    columns : sequence of str, optional
        Columns to show, in order (default: all).
    caption, notes : str, sequence of str
        Shown with the table; a note on suppression is added when cells were suppressed.
    missing : str
        Shown for missing values.
    combine : mapping of str to sequence of str, optional
        Display columns made of several table columns, after rounding and
        suppression: name -> templates such as ``"{control_n} ({control_percent}%)"``;
        in each row the first template whose fields are all shown (not blank)
        is used, so a row of means reads ``mean (SD)`` and a suppressed count
        only its marker. A combined cell counts individuals when one of its
        fields does. Named in ``columns`` like table columns.
    codes : Labels, optional
        The run's labels (:mod:`trialanalysis.reporting.labels`): codes in
        text cells (``waiting_list``, ``3m``) are shown as their labels after
        rounding (``where`` rules see the codes), and columns without a label
        take the config's header. Default: the built-in labels.

    Returns
    -------
    RenderedTable
    """
    if rules and all(isinstance(r, RoundingRule) for r in rules):
        parsed = list(rules)
    else:
        parsed = rounding_rules(rules)
    combine = {str(k): list(v) for k, v in (combine or {}).items()}
    columns = list(table.columns if columns is None else columns)
    fields = {f for templates in combine.values() for t in templates for f in FIELD.findall(t)}
    absent = [c for c in columns if c not in table.columns and c not in combine]
    absent += sorted(f for f in fields if f not in table.columns)
    if absent:
        raise ReportError(f"column(s) {absent} requested for display are not in the table")
    rule = rule or default_rule()
    table = table.reset_index(drop=True)
    suppressed = suppress_counts(table, suppression, rule)
    shown = suppressed.table
    notes = list(notes)
    if suppressed.any:
        notes.append(
            f"Counts of fewer than {rule.min_cell_size} individuals are suppressed "
            f"({rule.marker}), as are counts from which they could be derived "
            f"({rule.complement_marker}); values derived from them are blanked."
        )
    elif suppressed.exempt:
        notes.append("Flow counts are shown in full (privacy.exempt_flow_counts).")
    cells = {}
    records = table.to_dict("records")
    for column in [c for c in table.columns if c in columns or c in fields]:
        plain = next(r for r in parsed if r.matches(str(column)))
        conditional = any(r.where and re.fullmatch(r.columns, str(column)) for r in parsed)
        values = shown[column].tolist()
        if not conditional:
            cells[column] = [_cell_text(v, plain, missing) for v in values]
            continue
        cells[column] = [
            _cell_text(v, next(r for r in parsed if r.matches(str(column), record)), missing)
            for v, record in zip(values, records, strict=True)
        ]
    counts = suppressed.counts.set_axis(range(len(table)))
    for name, templates in combine.items():
        cells[name], counts[name] = _combine(templates, cells, counts, len(table), missing)
    codes = codes or default_labels()
    numeric = [c in combine or pd.api.types.is_numeric_dtype(table[c].dtype) for c in columns]
    shown_cells = codes.relabel(
        pd.DataFrame({c: cells[c] for c in columns}, columns=columns, index=range(len(table))),
        [c for c, is_number in zip(columns, numeric, strict=True) if not is_number],
    )
    labels = {**DEFAULT_LABELS, **codes.columns, **(labels or {})}
    return RenderedTable(
        cells=shown_cells,
        headers=[labels.get(str(c), _default_label(str(c))) for c in columns],
        numeric=numeric,
        caption=caption,
        notes=notes,
        counts=counts[columns],
        other_counts=tuple(c for c in columns if c in suppressed.other),
    )


def _combine(templates, cells, counts, n_rows: int, missing: str) -> tuple[list, list]:
    """Fill each row's first template whose fields are all shown; return texts and count flags."""
    texts, flags = [], []
    for row in range(n_rows):
        for template in templates:
            names = FIELD.findall(template)
            if all(cells[f][row] not in ("", missing) for f in names):
                texts.append(FIELD.sub(lambda m, r=row: cells[m.group(1)][r], template))
                flags.append(any(bool(counts.at[row, f]) for f in names))
                break
        else:
            texts.append(missing)
            flags.append(False)
    return texts, flags


def _default_label(column: str) -> str:
    text = column.replace("_", " ")
    return text[:1].upper() + text[1:]


def _text(value) -> str:
    """Return a cell as text for ``where`` conditions (missing values are empty)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


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
    rule: SuppressionRule | None = None,
    labels: Mapping[str, str] | None = None,
    columns: Sequence[str] | None = None,
    notes: Sequence[str] = (),
    formats: Sequence[str] = FORMATS,
    standalone_html: bool = False,
    missing: str = "",
    combine: Mapping[str, Sequence[str]] | None = None,
    codes: Labels | None = None,
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
    rules, suppression, rule, labels, columns, notes, missing, combine, codes
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
        rule=rule,
        labels=labels,
        columns=columns,
        caption=caption,
        notes=notes,
        missing=missing,
        combine=combine,
        codes=codes,
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
