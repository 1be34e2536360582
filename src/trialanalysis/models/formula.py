"""Parse mixed-model formulas written in lme4 syntax.

Statisticians write ``odi_total ~ period + treatment + odi_baseline +
(1 | clinic_id) + (1 | clinic_id:patient_id)``; this module splits such a
formula into its fixed part (a patsy formula) and its random-effect terms,
expanding nesting (``(1 | a/b)`` → ``(1 | a) + (1 | a:b)``) and uncorrelated
terms (``(1 + x || g)`` → ``(1 | g) + (0 + x | g)``) exactly as lme4 does.

:func:`statsmodels_spec` translates a parsed formula into the ``groups``,
``re_formula`` and ``vc_formula`` arguments of statsmodels' ``MixedLM`` where
that is possible, and says why not where it is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.formula_syntax import safe_formula

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effect term ``(expr | group)`` after expansion.

    Attributes
    ----------
    expr : str
        Right-hand side of a patsy formula for the random-effect columns,
        e.g. ``"1"``, ``"1 + time"`` or ``"0 + x"``.
    group : tuple of str
        Data columns whose combination defines the grouping factor
        (``("clinic_id", "patient_id")`` for ``clinic_id:patient_id``).
    source : str
        The term as the user wrote it, for messages.
    """

    expr: str
    group: tuple[str, ...]
    source: str

    @property
    def group_label(self) -> str:
        """Grouping factor written as in lme4 (``a:b``)."""
        return ":".join(self.group)


@dataclass(frozen=True)
class MixedFormula:
    """A parsed lme4-style formula.

    Attributes
    ----------
    text : str
        The formula as given.
    response : str
        Name of the response column.
    fixed : str
        Right-hand side of the fixed-effect part, as a patsy formula.
    random : tuple of RandomTerm
        Random-effect terms in the order written (after expansion).
    """

    text: str
    response: str
    fixed: str
    random: tuple[RandomTerm, ...]

    @property
    def grouping_factors(self) -> list[str]:
        """Distinct grouping factors (``a:b`` notation), in order of appearance."""
        return list(dict.fromkeys(term.group_label for term in self.random))

    def variables(self) -> list[str]:
        """Names of data columns the random part and response refer to."""
        names = [self.response]
        for term in self.random:
            names.extend(term.group)
        return list(dict.fromkeys(names))


def parse_formula(formula: str) -> MixedFormula:
    """Parse an lme4-style mixed-model formula.

    Parameters
    ----------
    formula : str
        ``response ~ fixed terms + (expr | group) + ...``. Grouping may be a
        column, an interaction ``a:b`` or nesting ``a/b`` (expanded to
        ``a + a:b``). ``||`` declares uncorrelated random effects. R's
        ``factor(x)`` is accepted and read as patsy's ``C(x)``.

    Returns
    -------
    MixedFormula

    Raises
    ------
    ModelSpecificationError
        If the formula cannot be parsed or uses syntax that cannot be fitted;
        the message says what to write instead.

    Examples
    --------
    >>> f = parse_formula("y ~ treatment + (1 | clinic/patient)")
    >>> [t.group_label for t in f.random]
    ['clinic', 'clinic:patient']
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ModelSpecificationError(
            f"formula {formula!r} must have exactly one '~', e.g. 'y ~ x + (1 | cluster)'"
        )
    _check_parentheses(formula)
    lhs, rhs = (part.strip() for part in safe_formula(formula, random=True).split("~", 1))
    quoted = re.fullmatch(r'Q\("(.*)"\)', lhs)
    lhs = quoted.group(1) if quoted else lhs
    if not quoted and not _NAME.match(lhs):
        raise ModelSpecificationError(
            f"response {lhs!r} in formula {formula!r} must be a column name; "
            "create transformed outcomes as new columns before fitting"
        )
    fixed_parts: list[str] = []
    random_terms: list[RandomTerm] = []
    for chunk in _split_top_level(rhs, "+"):
        chunk = chunk.strip()
        if not chunk:
            raise ModelSpecificationError(f"empty term in formula {formula!r}")
        if "|" in chunk:
            random_terms.extend(_parse_random_chunk(chunk, formula))
        else:
            fixed_parts.append(chunk)
    fixed = " + ".join(fixed_parts) if fixed_parts else "1"
    fixed = re.sub(r"\bfactor\(", "C(", fixed)
    if not random_terms:
        raise ModelSpecificationError(
            f"formula {formula!r} has no random-effect term such as (1 | cluster); "
            "a model without random effects is not a mixed model: use ordinary regression"
        )
    _check_duplicates(random_terms, formula)
    return MixedFormula(formula, lhs, fixed, tuple(random_terms))


def _check_parentheses(formula: str) -> None:
    depth = 0
    for char in formula:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise ModelSpecificationError(f"unbalanced parentheses in formula {formula!r}")


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` occurring outside parentheses."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_random_chunk(chunk: str, formula: str) -> list[RandomTerm]:
    if (
        not (chunk.startswith("(") and chunk.endswith(")"))
        or _closing_index(chunk) != len(chunk) - 1
    ):
        raise ModelSpecificationError(
            f"cannot read {chunk!r} in formula {formula!r}: write each random-effect term "
            "on its own, joined with '+', as (expr | group), e.g. '+ (1 | clinic_id)'"
        )
    inner = chunk[1:-1].strip()
    uncorrelated = "||" in inner
    bar = "||" if uncorrelated else "|"
    if inner.count(bar) != 1 or (not uncorrelated and inner.count("|") != 1):
        raise ModelSpecificationError(
            f"random-effect term {chunk!r} must contain exactly one '|' (or '||')"
        )
    expr, group_text = (part.strip() for part in inner.split(bar))
    if not expr:
        raise ModelSpecificationError(f"random-effect term {chunk!r} has nothing before '|'")
    expr = re.sub(r"\bfactor\(", "C(", expr)
    groups = _expand_grouping(group_text, chunk)
    exprs = _split_uncorrelated(expr, chunk) if uncorrelated else [_normalise_expr(expr, chunk)]
    return [RandomTerm(e, g, chunk) for g in groups for e in exprs]


def _closing_index(text: str) -> int:
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index
    return -1


def _expand_grouping(text: str, chunk: str) -> list[tuple[str, ...]]:
    """``a/b:c`` → ``[(a,), (a, b, c)]``; validate column names."""
    if not text:
        raise ModelSpecificationError(f"random-effect term {chunk!r} has no grouping factor")
    if any(op in text for op in ("+", "*", "(", "-")):
        raise ModelSpecificationError(
            f"grouping {text!r} in {chunk!r} is not supported: use a column, an interaction "
            "'a:b' or nesting 'a/b'; for crossed factors write separate terms "
            "'(1 | a) + (1 | b)'"
        )
    expanded: list[tuple[str, ...]] = []
    prefix: tuple[str, ...] = ()
    for level in text.split("/"):
        names = tuple(name.strip() for name in level.split(":"))
        bad = [name for name in names if not _NAME.match(name)]
        if bad:
            raise ModelSpecificationError(
                f"grouping factor {text!r} in {chunk!r}: {bad[0]!r} is not a column name"
            )
        prefix = prefix + names
        expanded.append(prefix)
    return expanded


def _normalise_expr(expr: str, chunk: str) -> str:
    try:
        desc = patsy.ModelDesc.from_formula("~ " + expr)
    except patsy.PatsyError as exc:
        raise ModelSpecificationError(f"cannot read {expr!r} in {chunk!r}: {exc}") from exc
    if not desc.rhs_termlist:
        raise ModelSpecificationError(
            f"random-effect term {chunk!r} has no random effect: write (1 | group) for a "
            "random intercept"
        )
    return expr


def _split_uncorrelated(expr: str, chunk: str) -> list[str]:
    """Split ``1 + x + z`` into independent terms, as lme4 does for ``||``."""
    desc = patsy.ModelDesc.from_formula("~ " + _normalise_expr(expr, chunk))
    parts = []
    for term in desc.rhs_termlist:
        parts.append("1" if not term.factors else "0 + " + term.name())
    return parts


def _check_duplicates(terms: list[RandomTerm], formula: str) -> None:
    seen: dict[tuple[str, ...], str] = {}
    for term in terms:
        key = tuple(sorted(term.group))
        has_intercept = (
            patsy.ModelDesc.from_formula("~ " + term.expr).rhs_termlist[0].factors == ()
        )
        if has_intercept:
            if key in seen:
                raise ModelSpecificationError(
                    f"formula {formula!r} gives grouping factor {term.group_label!r} two random "
                    f"intercepts ({seen[key]} and {term.source}); they are not identifiable: "
                    "keep one"
                )
            seen[key] = term.source


def statsmodels_spec(parsed: MixedFormula, data: pd.DataFrame) -> dict:
    """Translate a parsed formula into statsmodels ``MixedLM.from_formula`` arguments.

    statsmodels has one grouping factor (``groups``) with correlated random
    effects (``re_formula``) and independent variance components nested in
    it (``vc_formula``). Crossed factors are fitted with one all-covering
    group and a variance component per factor. A random intercept of the
    group is kept by writing ``re_formula="1"`` explicitly (statsmodels drops
    it when ``vc_formula`` is given).

    Parameters
    ----------
    parsed : MixedFormula
    data : DataFrame
        Needed to decide whether grouping factors are nested.

    Returns
    -------
    dict
        Keys ``formula`` (fixed part), ``groups`` (column name or array),
        ``re_formula`` and ``vc_formula``.

    Raises
    ------
    ModelSpecificationError
        When statsmodels cannot represent the model (e.g. correlated random
        slopes of a factor nested in, or crossed with, the group); the
        message says which term and what to write instead.
    """
    outer = _outermost_group(parsed, data)
    fixed = f"{parsed.response} ~ {parsed.fixed}"
    vc: dict[str, str] = {}
    re_parts: list[str] = []
    for term in parsed.random:
        columns = _expr_columns(term.expr)
        if outer is not None and term.group == outer:
            if len(columns) > 1 and any(t.group == outer and t is not term for t in parsed.random):
                raise ModelSpecificationError(
                    f"statsmodels cannot combine {term.source} with other terms for "
                    f"{term.group_label!r}: write a single correlated term for that factor"
                )
            if len(columns) > 1 or columns == ["1"]:
                re_parts.extend(columns)
            else:
                vc[f"{term.group_label}:{columns[0]}"] = f"0 + {columns[0]}"
            continue
        if len(columns) > 1:
            raise ModelSpecificationError(
                f"statsmodels cannot fit correlated random effects {term.source} for a factor "
                "that is not the outermost group; write it as uncorrelated terms with '||' or "
                "fit it with trialanalysis.fit_mixed"
            )
        level = "C(" + "):C(".join(term.group) + ")"
        column = columns[0]
        vc[f"{term.group_label}:{column}"] = (
            f"0 + {level}" if column == "1" else f"0 + {level}:{column}"
        )
    re_formula = " + ".join(re_parts) if re_parts else "0"
    if outer is None:
        return {
            "formula": fixed,
            "groups": np.zeros(len(data), dtype=int),
            "re_formula": "0",
            "vc_formula": vc,
        }
    if len(outer) == 1:
        groups = outer[0]
    else:
        groups = data[outer[0]].astype(str)
        for column in outer[1:]:
            groups = groups + ":" + data[column].astype(str)
        groups = groups.to_numpy()
    return {"formula": fixed, "groups": groups, "re_formula": re_formula, "vc_formula": vc}


def _expr_columns(expr: str) -> list[str]:
    desc = patsy.ModelDesc.from_formula("~ " + expr)
    has_intercept = any(not t.factors for t in desc.rhs_termlist)
    names = [t.name() for t in desc.rhs_termlist if t.factors]
    return (["1"] if has_intercept else []) + names


def _outermost_group(parsed: MixedFormula, data: pd.DataFrame) -> tuple[str, ...] | None:
    """Find the grouping factor every other one is nested in (None if crossed)."""
    groups = list(dict.fromkeys(term.group for term in parsed.random))
    for candidate in sorted(groups, key=len):
        if all(is_nested(data, inner, candidate) for inner in groups):
            return candidate
    return None


def is_nested(data: pd.DataFrame, inner: tuple[str, ...], outer: tuple[str, ...]) -> bool:
    """Whether each level of ``inner`` lies within a single level of ``outer``."""
    if set(outer) <= set(inner):
        return True
    frame = data[list(dict.fromkeys(inner + outer))].dropna()
    counts = frame.groupby(list(inner), sort=False, observed=True)[list(outer)].nunique()
    return bool((counts <= 1).all().all())
