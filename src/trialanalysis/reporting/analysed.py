"""CONSORT "analysed": the patients each analysis used, per outcome, time point and arm.

A patient is *analysed* for an outcome at a time point when a row of theirs
at that time point entered the outcome's model (the analysis reports those
rows; nothing is re-derived from the questionnaires). Patients allocated to
a group but not analysed are counted by the first reason that applies:

1. ``no_follow_up``: no value of the outcome at the time point;
2. ``no_baseline``: a value at the time point but none at baseline, which
   the model needs (e.g. change from baseline, or the baseline as covariate);
3. ``other``: observed at both, yet left out by the analysis (a missing
   covariate, say).

Responder analyses add ``unclassifiable`` (observed, but the improvement
cannot be classified, e.g. a percent change from a baseline of 0).
So ``n_allocated = n_analysed + n_no_follow_up + n_no_baseline + n_other
(+ n_unclassifiable)`` in every row, which the suppression declaration
:data:`ANALYSED_COUNTS` states so that a hidden small count cannot be
recovered from the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.errors import ReportError
from trialanalysis.reporting.sections import TableBlock

REASONS = ("no_follow_up", "no_baseline", "unclassifiable", "other")
COLUMNS = [
    "trial", "analysis", "outcome", "timepoint", "group", "n_allocated", "n_analysed",
    "n_no_follow_up", "n_no_baseline", "n_unclassifiable", "n_other",
]  # fmt: skip
PARTS = ["n_analysed", "n_no_follow_up", "n_no_baseline", "n_unclassifiable", "n_other"]
#: Counts of individuals; the parts add up to ``n_allocated``. Flow counts:
#: exempt from suppression only with ``privacy.exempt_flow_counts``.
ANALYSED_COUNTS = {
    "count_columns": ["n_allocated", *PARTS],
    "flow": True,
    "row_totals": [{"total": "n_allocated", "parts": PARTS}],
}
#: How each column reads in a table.
LABELS = {
    "n_allocated": "Allocated",
    "n_analysed": "Analysed",
    "n_no_follow_up": "Excluded: no value at the time point",
    "n_no_baseline": "Excluded: no baseline score",
    "n_unclassifiable": "Excluded: unclassifiable (responders)",
    "n_other": "Excluded: other (e.g. covariate missing)",
}


def _as_text_ids(groups: pd.Series, scores: pd.DataFrame) -> tuple[pd.Series, list, pd.DataFrame]:
    """Return groups and scores keyed by text IDs, and the groups in order (categories first)."""
    groups = groups.copy()
    groups.index = groups.index.astype(str)
    order = (
        list(groups.cat.categories)
        if isinstance(groups.dtype, pd.CategoricalDtype)
        else list(dict.fromkeys(groups))
    )
    scores = scores.assign(
        patient_id=scores["patient_id"].astype(str), timepoint=scores["timepoint"].astype(str)
    )
    return groups, order, scores


def analysed_counts(
    trial: str,
    groups: pd.Series,
    scores: pd.DataFrame,
    used: pd.DataFrame,
    timepoints: Sequence[str],
    baseline: str,
    analysis: str = "mixed model",
) -> pd.DataFrame:
    """Count the analysed patients of every outcome, time point and group, with reasons.

    Parameters
    ----------
    trial : str
    groups : Series
        Group (arm or condition) of every allocated patient, indexed by
        ``patient_id``; groups are listed in the order of first appearance
        unless the Series is categorical.
    scores : DataFrame
        Scored questionnaires: ``patient_id, timepoint`` and one column per
        outcome (missing = not observed).
    used : DataFrame
        The rows that entered each outcome's model: ``patient_id, timepoint,
        outcome`` (as the analysis step wrote them).
    timepoints : sequence of str
        Follow-up time points to count, in design order.
    baseline : str
        The baseline time point.
    analysis : str
        What the counts are of (shown in the table).

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, one row per outcome, time point and group
        (outcomes in the order of ``used``).
    """
    absent = [c for c in ("patient_id", "timepoint", "outcome") if c not in used.columns]
    if absent:
        raise ReportError(f"the analysed patients need column(s) {absent}")
    unknown = sorted(set(used["patient_id"].astype(str)) - set(groups.index.astype(str)))
    if unknown:
        raise ReportError(
            f"{len(unknown)} analysed patient(s) are not among the allocated "
            f"(first: {unknown[:3]}); the analysis and the data tables disagree"
        )
    groups, order, scores = _as_text_ids(groups, scores)
    used = used.assign(
        patient_id=used["patient_id"].astype(str), timepoint=used["timepoint"].astype(str)
    )
    rows = []
    for outcome in dict.fromkeys(used["outcome"]):
        if outcome not in scores.columns:
            raise ReportError(f"outcome {outcome!r} of the analysed patients is not a score")
        observed = scores.loc[scores[outcome].notna(), ["patient_id", "timepoint"]]
        at = {t: set(observed.loc[observed["timepoint"] == t, "patient_id"]) for t in timepoints}
        has_baseline = set(observed.loc[observed["timepoint"] == baseline, "patient_id"])
        mine = used[used["outcome"] == outcome]
        for timepoint in timepoints:
            analysed = set(mine.loc[mine["timepoint"] == timepoint, "patient_id"])
            if not analysed:
                continue  # the analysis does not estimate at this time point
            for group in order:
                ids = set(groups.index[groups == group])
                counted = ids & analysed
                rest = ids - counted
                no_follow = {p for p in rest if p not in at[timepoint]}
                no_baseline = {p for p in rest - no_follow if p not in has_baseline}
                rows.append({
                    "trial": trial, "analysis": analysis, "outcome": outcome,
                    "timepoint": timepoint, "group": group, "n_allocated": len(ids),
                    "n_analysed": len(counted), "n_no_follow_up": len(no_follow),
                    "n_no_baseline": len(no_baseline), "n_unclassifiable": 0,
                    "n_other": len(rest) - len(no_follow) - len(no_baseline),
                })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def responder_counts(
    trial: str,
    groups: pd.Series,
    scores: pd.DataFrame,
    responders: pd.DataFrame,
    baseline: str,
) -> pd.DataFrame:
    """Count the patients of every responder analysis per arm, with reasons.

    Parameters
    ----------
    trial : str
    groups : Series
        As in :func:`analysed_counts` (its groups are the ``<arm>_n`` prefixes).
    scores : DataFrame
        As in :func:`analysed_counts`.
    responders : DataFrame
        The responder table of the analysis (``definition, outcome, timepoint``,
        ``<arm>_n`` analysed and ``<arm>_undefined`` unclassifiable per arm).
    baseline : str

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``analysis`` names the responder definition.

    Raises
    ------
    ReportError
        If the responder table's counts and the questionnaires disagree.
    """
    groups, order, scores = _as_text_ids(groups, scores)
    rows = []
    for r in responders.to_dict("records"):
        outcome, timepoint = r["outcome"], str(r["timepoint"])
        observed = scores.loc[scores[outcome].notna(), ["patient_id", "timepoint"]]
        at = set(observed.loc[observed["timepoint"] == timepoint, "patient_id"])
        has_baseline = set(observed.loc[observed["timepoint"] == baseline, "patient_id"])
        for group in order:
            ids = set(groups.index[groups == group])
            no_follow = ids - at
            no_baseline = (ids & at) - has_baseline
            analysed, unclassifiable = int(r[f"{group}_n"]), int(r[f"{group}_undefined"])
            other = len(ids) - analysed - unclassifiable - len(no_follow) - len(no_baseline)
            if other < 0:
                raise ReportError(
                    f"responders {r['definition']!r} at {timepoint}: {group} counts "
                    f"{analysed} analysed and {unclassifiable} unclassifiable, more than the "
                    "patients observed at both times; the analysis and the data disagree"
                )
            rows.append({
                "trial": trial, "analysis": f"responders: {r['definition']}",
                "outcome": outcome, "timepoint": timepoint, "group": group,
                "n_allocated": len(ids), "n_analysed": analysed,
                "n_no_follow_up": len(no_follow), "n_no_baseline": len(no_baseline),
                "n_unclassifiable": unclassifiable, "n_other": other,
            })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def analysed_of(counts: pd.DataFrame, outcome: str, timepoint: str) -> dict[str, int]:
    """Group -> analysed patients of one outcome at one time point."""
    rows = counts[
        (counts["analysis"] == "mixed model")
        & (counts["outcome"] == outcome)
        & (counts["timepoint"] == timepoint)
    ]
    return dict(zip(rows["group"], rows["n_analysed"], strict=True))


def analysed_block(path: str, caption: str, labels: Mapping[str, str] | None = None) -> TableBlock:
    """Return the report table block of an analysed-counts CSV (suppressed as flow counts)."""
    return TableBlock(
        path,
        caption=caption,
        suppression=ANALYSED_COUNTS,
        columns=["analysis", "outcome", "timepoint", "group", *ANALYSED_COUNTS["count_columns"]],
        labels={**LABELS, **(labels or {})},
        max_rows=400,
    )
