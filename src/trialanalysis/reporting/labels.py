"""Human labels for the codes the report shows, and the clinical order of categories.

One place for every label (``reporting.labels`` in the config, merged over
the schema's defaults): score columns get the instrument's label with its
direction (``Disability (ODI, 0-100, higher = worse)``; ``direction
unverified`` where the instrument definition says so), arms, conditions and
time points get their names (``waiting_list`` -> ``Waiting list``, ``3m`` ->
``3 months``), categorical values their labels in clinical order
(``lt3m, 3to12m, gt12m``), and table columns their headers. A code without a
label is shown as it is, so other data work without configuring anything::

    labels = Labels.from_config(config, instruments)
    labels("odi_total")            # 'Disability (ODI, 0-100, higher = worse)'
    labels("post_intervention")    # 'Post-intervention'
    labels.order("pain_duration", ["gt12m", "lt3m", "3to12m"])  # lt3m, 3to12m, gt12m
    labels.relabel(table, ["outcome", "arm", "timepoint"])      # cells replaced
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from trialanalysis.config import validate_config
from trialanalysis.instruments import load_instruments

#: ``reporting.labels`` of the built-in config (the schema's defaults).
DEFAULTS: dict = validate_config({}, source="defaults")["reporting"]["labels"]
UNVERIFIED = "direction unverified"
#: A code is a whole word: not inside a longer name, a path or a dotted key.
_BEFORE, _AFTER = r"(?<![\w./-])", r"(?![\w/-])"
#: Where a label keeps its capital: the start of a text, a sentence, a line or a list item.
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*(?:- )?)$")


def looks_like_code(text: str) -> bool:
    """Whether a text reads as a code, not a word (``odi_total``, ``3m``, ``lt3m``)."""
    return bool(re.search(r"[_0-9]", text)) and " " not in text


def plural(n, noun: str) -> str:
    """Return a count with its noun in the right number: ``1 sequence``, ``3 sequences``."""
    return f"{n} {noun}" if str(n) == "1" else f"{n} {noun}s"


def in_sentence(label: str) -> str:
    """Return a label as it reads inside a sentence (``waiting list``; ``EQ-5D`` stays)."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def score_label(score) -> str:
    """Return a score's label with its direction, e.g. ``Back pain (NRS 0-10, higher = worse)``.

    Parameters
    ----------
    score : Score
        An instrument definition's score
        (:class:`~trialanalysis.instruments.definitions.Score`); its
        ``direction`` says what a higher value means.
    """
    label = score.label
    if not getattr(score, "direction", None):
        return label
    extra = f"higher = {score.direction}"
    if not getattr(score, "direction_verified", True):
        extra += f", {UNVERIFIED}"
    if label.endswith(")"):
        return f"{label[:-1]}, {extra})"
    return f"{label} ({extra})"


def instrument_labels(instruments: Mapping) -> dict[str, str]:
    """Score column -> label with direction, classification column -> label."""
    labels = {}
    for instrument in instruments.values():
        for score in instrument.scores.values():
            labels[score.column] = score_label(score)
        for classification in instrument.classifications.values():
            labels[classification.column] = classification.label
    return labels


def _unverified(instruments: Mapping) -> frozenset[str]:
    return frozenset(
        score.column
        for instrument in instruments.values()
        for score in instrument.scores.values()
        if getattr(score, "direction", None) and not getattr(score, "direction_verified", True)
    )


@dataclass(frozen=True)
class Labels:
    """Code -> label lookups for outcomes, values, categories and columns.

    Build it with :meth:`from_config`; calling it (``labels(code)``) looks the
    code up in outcomes, values and categories, in that order, and returns
    the code itself when nothing matches.
    """

    outcomes: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    categories: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    unverified: frozenset[str] = frozenset()
    _compiled: tuple | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_config(cls, config: Mapping | None = None, instruments: Mapping | None = None):
        """Labels of ``config['reporting']['labels']`` over the defaults and the instruments.

        Parameters
        ----------
        config : mapping, optional
            The validated config (or any mapping with ``reporting.labels``);
            missing keys take the schema's defaults.
        instruments : mapping, optional
            Instrument definitions (:func:`trialanalysis.instruments.load_instruments`);
            their score labels and directions are the outcome labels unless
            ``reporting.labels.outcomes`` replaces them.
        """
        given = ((config or {}).get("reporting") or {}).get("labels") or {}
        instruments = instruments or {}
        categories = {k: dict(v) for k, v in DEFAULTS["categories"].items()}
        for variable, mapping in (given.get("categories") or {}).items():
            categories[variable] = {**categories.get(variable, {}), **mapping}
        return cls(
            outcomes={**instrument_labels(instruments), **(given.get("outcomes") or {})},
            values={**DEFAULTS["values"], **(given.get("values") or {})},
            categories=categories,
            columns={**DEFAULTS["columns"], **(given.get("columns") or {})},
            unverified=_unverified(instruments) - set(given.get("outcomes") or {}),
        )

    def __call__(self, code) -> str:
        """Return the label of any code (outcome, arm, time point, category value)."""
        text = str(code)
        if text in self.outcomes:
            return self.outcomes[text]
        if text in self.values:
            return self.values[text]
        for mapping in self.categories.values():
            if text in mapping:
                return mapping[text]
        return text

    def outcome(self, score: str) -> str:
        """Return an outcome's label (with its direction)."""
        return self.outcomes.get(str(score), str(score))

    def category(self, variable: str, code) -> str:
        """Return the label of one value of a categorical variable."""
        mapping = self.categories.get(str(variable), {})
        return mapping.get(str(code), self(code))

    def column(self, name: str) -> str | None:
        """Return a column's header, or None when the config gives none."""
        return self.columns.get(str(name))

    def join(self, codes: Iterable) -> str:
        """Labels of several codes, comma-separated (``3 months, 12 months``)."""
        return ", ".join(self(c) for c in codes)

    def order(self, variable: str, values: Iterable) -> list:
        """Return ``values`` in the clinical order of ``variable`` (others after, as given)."""
        values = list(dict.fromkeys(values))
        known = list(self.categories.get(str(variable), {}))
        first = [v for code in known for v in values if str(v) == code]
        return first + [v for v in values if v not in first]

    def flagged(self, score: str) -> bool:
        """Whether the outcome's direction is unverified (its statements carry the flag)."""
        return str(score) in self.unverified

    def relabel(self, table: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Replace codes in the text cells of ``columns`` (default: all) by their labels.

        A column named like a categorical variable uses that variable's labels;
        other cells take outcome and value labels, and category labels only
        where the cell reads as a code (:func:`looks_like_code`: ``lt3m`` but
        not ``high``, which may mean something else in another table).
        Numbers and cells without a label are left as they are.
        """
        table = table.copy()
        for column in table.columns if columns is None else columns:
            if column not in table.columns:
                continue
            values = table[column]
            if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
                values.dtype
            ):
                continue
            mapping = self.categories.get(str(column), {})
            table[column] = [self._cell(v, mapping) for v in values]
        return table

    def _cell(self, value, mapping: Mapping[str, str]):
        if not isinstance(value, str):
            return value
        if value in mapping:
            return mapping[value]
        if value in self.outcomes:
            return self.outcomes[value]
        if value in self.values:
            return self.values[value]
        if looks_like_code(value):
            return self(value)
        return value if "~" in value else self.text(value)

    def text(self, text: str) -> str:
        """Replace the codes in running text by their labels (``at 3m`` -> ``at 3 months``).

        Only codes that read as codes (:meth:`codes`) are replaced, as whole
        words; spans in backticks (code: formulas, config keys) and paths
        (``results/x_3m.csv``) are left as they are.
        """
        pattern, codes = self._pattern()
        if pattern is None or not text:
            return text

        def label(match: re.Match) -> str:
            code, whole = match.group(0), match.string
            shown = codes[code]
            start = _SENTENCE_START.search(whole[: match.start()]) is not None
            if code in self.outcomes or start:
                return shown
            return in_sentence(shown)  # "at post-intervention", "waiting list"

        parts = text.split("`")
        for i in range(0, len(parts), 2):  # even parts are outside backticks
            parts[i] = pattern.sub(label, parts[i])
        return "`".join(parts)

    def _pattern(self):
        if self._compiled is None:
            codes = self.codes()
            alternatives = "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
            pattern = re.compile(rf"{_BEFORE}(?:{alternatives}){_AFTER}") if codes else None
            object.__setattr__(self, "_compiled", (pattern, codes))
        return self._compiled

    def codes(self) -> dict[str, str]:
        """Every code that reads as one (:func:`looks_like_code`) and has a label: code -> label.

        These are the codes a rendered report must not show where their label
        belongs.
        """
        pairs = {**self.values, **self.outcomes}
        for mapping in self.categories.values():
            pairs.update(mapping)
        return {c: lab for c, lab in pairs.items() if looks_like_code(c) and c != lab}


def run_labels(config: Mapping) -> Labels:
    """Return the labels of a run: its config's ``reporting.labels`` and its instruments.

    ``config['instruments_dir']`` names the instrument definitions (default:
    those shipped with the package).
    """
    return Labels.from_config(config, _instruments(str(config.get("instruments_dir") or "")))


@functools.cache
def _instruments(directory: str) -> dict:
    return load_instruments(directory or None)


@functools.cache
def default_labels() -> Labels:
    """Return the built-in labels (the schema's defaults and the shipped instruments)."""
    return run_labels({})


def codes_in_text(text: str, codes: Iterable[str]) -> list[str]:
    """Return the codes that appear in ``text`` as whole words (for report checks)."""
    return [c for c in codes if re.search(rf"{_BEFORE}{re.escape(c)}{_AFTER}", text)]
