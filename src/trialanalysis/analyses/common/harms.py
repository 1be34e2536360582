"""Harms (CONSORT item 19): adverse events by arm or condition, from the validated tables.

Both trials report the same table: patients with at least one adverse event,
with a serious one and with one related to the treatment (n and % of the
patients of the arm), then the events: all, serious, and per category. Only
categories are reported, never the free-text description (which validation
drops). Counts are of individuals (patients) or of events (each at least one
patient); both are suppressed by the report's small-cell rule, with the
relations the table declares (:func:`harms_counts`): the patients of an arm
minus those with an event, and all events minus the categories shown, are
counts a reader could derive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from trialanalysis.errors import ReportError

#: Rows of the harms table: (key, unit, label).
PATIENT_ROWS = (
    ("patients", "patients", "Patients"),
    ("any", "patients", "Patients with at least one adverse event"),
    ("serious", "patients", "Patients with at least one serious adverse event"),
    ("related", "patients", "Patients with at least one treatment-related adverse event"),
)
EVENT_ROWS = (
    ("events", "events", "Adverse events, all"),
    ("serious_events", "events", "Serious adverse events"),
)


def harms_counts(groups: Sequence[str]) -> dict:
    """Return what the harms table declares to the suppression rule.

    Percentages are blanked with their count; the relations say which counts
    add up (an arm's patients = those with an event + those without; all
    events = the categories), so a reader cannot recover a hidden count.
    """
    return {
        "count_columns": [f"{g}_n" for g in groups],
        "dependent_columns": {f"{g}_n": [f"{g}_percent"] for g in groups},
        "relations": [
            {"total": {"row": "patients"}, "parts": {"row": ["any"]}},
            {"total": {"row": "any"}, "parts": {"row": ["serious"]}},
            {"total": {"row": "any"}, "parts": {"row": ["related"]}},
            {"total": {"row": "events"}, "parts": {"row": ["serious_events"]}},
            {"total": {"row": "events"}, "parts": {"unit": ["events by category"]}},
        ],
    }


@dataclass(frozen=True)
class Harms:
    """The harms of one trial.

    Attributes
    ----------
    table : DataFrame
        Columns ``row, unit, label`` then ``<group>_n`` and ``<group>_percent``
        per arm or condition (percent of the arm's patients, patient rows only).
    recorded : bool
        Whether the data had an adverse-events table with any row.
    """

    table: pd.DataFrame
    recorded: bool


def harms_table(
    events: pd.DataFrame,
    patients: pd.DataFrame,
    group: str,
    groups: Sequence[str],
    category_labels: Mapping[str, str] | None = None,
) -> Harms:
    """Count adverse events by arm or condition.

    Parameters
    ----------
    events : DataFrame
        The validated ``adverse_events`` table (``patient_id``, ``serious``,
        ``related``, ``category``; may be empty).
    patients : DataFrame
        The validated patients (``patient_id`` and the ``group`` column).
    group : str
        ``condition`` (BetterBack) or ``arm`` (PREPARE).
    groups : sequence of str
        The arms or conditions, in report order.
    category_labels : mapping, optional
        Category code -> label; unlabelled codes are shown with spaces.

    Returns
    -------
    Harms
    """
    absent = [c for c in ("patient_id", "serious", "category") if c not in events.columns]
    if absent or group not in patients.columns:
        raise ReportError(
            f"harms: the adverse_events table needs {['patient_id', 'serious', 'category']} "
            f"and the patients table {['patient_id', group]}; validate the data first"
        )
    owner = patients.set_index("patient_id")[group].astype(str)
    unknown = sorted(set(events["patient_id"]) - set(owner.index))
    if unknown:
        raise ReportError(f"harms: {len(unknown)} event(s) of patients not in the patients table")
    events = events.assign(_group=events["patient_id"].map(owner))
    serious = events["serious"].astype(str) == "yes"
    related = events["related"].astype(str) == "yes" if "related" in events else serious & False
    category = events["category"].astype("string").fillna("uncategorised")
    labels = dict(category_labels or {})
    rows = []

    def add(key, unit, label, counts, percent=False):
        row = {"row": key, "unit": unit, "label": label}
        for g in groups:
            n = int(counts.get(g, 0))
            row[f"{g}_n"] = n
            size = int((owner == g).sum())
            row[f"{g}_percent"] = 100 * n / size if percent and size else float("nan")
        rows.append(row)

    patients_with = {
        "patients": owner.value_counts(),
        "any": events.groupby("_group")["patient_id"].nunique(),
        "serious": events[serious].groupby("_group")["patient_id"].nunique(),
        "related": events[related].groupby("_group")["patient_id"].nunique(),
    }
    for key, unit, label in PATIENT_ROWS:
        add(key, unit, label, patients_with[key], percent=key != "patients")
    add(*EVENT_ROWS[0], events["_group"].value_counts())
    add(*EVENT_ROWS[1], events.loc[serious, "_group"].value_counts())
    for code in sorted(category.unique()):
        mine = events.loc[category == code, "_group"].value_counts()
        add(f"category:{code}", "events by category", labels.get(code, _label(code)), mine)
    return Harms(pd.DataFrame(rows), recorded=len(events) > 0)


def _label(code: str) -> str:
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]


def harms_text(harms: Harms, trial_label: str, present: bool) -> str:
    """Describe what the harms table shows (or why there is none)."""
    if not present:
        return (
            f"{trial_label}: no adverse-events table was supplied, so harms cannot be "
            "reported (CONSORT item 19); add `adverse_events` to the data."
        )
    if not harms.recorded:
        return f"{trial_label}: the adverse-events table has no events."
    return (
        f"{trial_label}: patients with at least one adverse event, a serious one and one "
        "related to the treatment (n, % of the patients of each group), and events by "
        "MedDRA-style category as recorded; descriptions are not reported. No tests "
        "(descriptive, as CONSORT advises for harms)."
    )
