"""CONSORT flow counts computed from the validated data tables, never typed in.

BetterBack follows the CONSORT 2010 extension for cluster trials (item 13):
allocation clusters and clinics per allocation sequence, therapists and
patients recruited, patients followed up and analysed at each time point per
condition, with losses. The therapist cohort has its own flow. PREPARE has the
individual-level flow per arm. Every function returns a tidy table with
columns :data:`COLUMNS`; the diagrams (:mod:`trialanalysis.reporting.flowchart`)
are drawn from these tables, so figure and table cannot disagree.

Stages: ``allocated``, ``recruited``, ``randomised``, ``recruiting`` (clinics
with at least one patient in a condition), ``treating`` (therapists with at
least one patient in a condition), ``followed_up`` (a questionnaire row
exists at the time point), ``lost_to_follow_up`` (recruited minus followed
up, per time point; not necessarily monotone), ``analysed`` (as reported by
the analysis) and ``not_analysed``; for PREPARE also ``attended_any_session``
and ``operated``. With a screening log (the optional ``screening`` table),
level ``screened`` adds ``assessed`` (for eligibility), ``excluded`` per
reason and ``included``. Reasons for losses are not in the data and are not
invented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from trialanalysis.errors import ReportError
from trialanalysis.reporting.labels import Labels, default_labels, in_sentence, plural
from trialanalysis.reporting.suppression import SuppressionRule, default_rule

COLUMNS = ["trial", "level", "group", "stage", "timepoint", "n"]
BETTERBACK_COLUMNS = {
    "clinics": ["clinic_id", "cluster_id"],
    "schedule": ["cluster_id", "period", "condition"],
    "therapists": ["therapist_id", "clinic_id"],
    "therapist_responses": ["therapist_id", "timepoint"],
    "patients": ["patient_id", "clinic_id", "therapist_id", "condition"],
    "patient_outcomes": ["patient_id", "timepoint"],
}
PREPARE_COLUMNS = {"patients": ["patient_id", "arm"], "outcomes": ["patient_id", "timepoint"]}
CONDITIONS = ("control", "intervention")
#: What the flow tables declare to the suppression rule: patients and
#: therapists (and people screened) are individuals (clusters and clinics are
#: not), and which rows
#: add up (recruited = returned + lost at each time point; returned =
#: analysed + excluded; randomised = the arms; an arm = attended + not, ...).
FLOW_COUNTS = {
    "count_columns": ["n"],
    "rows": {"level": ["patient", "therapist", "screened"]},
    "flow": True,
    "relations": [
        {"total": {"stage": "recruited"}, "parts": {"stage": ["followed_up", "lost_to_follow_up"]},
         "by": ["level", "group"], "within": ["timepoint"]},
        {"total": {"stage": "recruited"}, "parts": {"stage": ["analysed", "not_analysed"]},
         "by": ["level", "group", "timepoint"]},
        {"total": {"stage": "allocated"}, "parts": {"stage": ["followed_up", "lost_to_follow_up"]},
         "by": ["level", "group"], "within": ["timepoint"]},
        {"total": {"stage": "followed_up"}, "parts": {"stage": ["analysed"]},
         "by": ["level", "group", "timepoint"]},
        {"total": {"stage": "randomised"}, "parts": {"stage": ["allocated"]}, "by": ["level"]},
        {"total": {"stage": "allocated"}, "parts": {"stage": ["attended_any_session"]},
         "by": ["level", "group"]},
        {"total": {"stage": "allocated"}, "parts": {"stage": ["operated"]},
         "by": ["level", "group"]},
        {"total": {"stage": "assessed"}, "parts": {"stage": ["excluded", "included"]},
         "by": ["level"]},
    ],
}  # fmt: skip
#: Cluster sizes: the smallest and largest clinic are counts of patients.
SIZE_COUNTS = {"count_columns": ["n_individuals", "size_min", "size_max"]}


def _check_tables(tables: Mapping[str, pd.DataFrame], required: dict[str, list[str]]) -> None:
    problems = []
    for name, columns in required.items():
        if name not in tables:
            problems.append(f"table {name!r} is missing (needs columns {columns})")
            continue
        absent = [c for c in columns if c not in tables[name].columns]
        if absent:
            problems.append(f"table {name!r} lacks column(s) {absent}")
    if problems:
        raise ReportError(
            "cannot count the CONSORT flow; pass the validated tables:\n" + "\n".join(problems)
        )


def _check_timepoints(table: pd.DataFrame, name: str, timepoints: Sequence[str]) -> None:
    unknown = sorted(set(table["timepoint"].dropna().astype(str)) - set(timepoints))
    if unknown:
        raise ReportError(
            f"table {name!r} has time point(s) {unknown} that are not in the configured "
            f"time points {list(timepoints)}; add them to the config"
        )


def _row(trial, level, group, stage, n, timepoint=None) -> dict:
    return {
        "trial": trial,
        "level": level,
        "group": group,
        "stage": stage,
        "timepoint": timepoint,
        "n": int(n),
    }


def _screening_rows(trial: str, tables: Mapping[str, pd.DataFrame]) -> list[dict]:
    """Assessed for eligibility, excluded per reason, included (when a screening log exists).

    Level ``screened``; the excluded rows' group is the reason (``not_eligible``
    when no reason is given but the person was not eligible, ``not_given``
    otherwise).
    """
    log = tables.get("screening")
    if log is None or log.empty:
        return []
    absent = [c for c in ("eligible", "included") if c not in log.columns]
    if absent:
        raise ReportError(f"table 'screening' lacks column(s) {absent}")
    included = log["included"].astype(str) == "yes"
    excluded = log[~included]
    reasons = excluded.get("reason_excluded", pd.Series(index=excluded.index, dtype=object))
    default = excluded["eligible"].astype(str).map({"no": "not_eligible"}).fillna("not_given")
    reasons = reasons.where(reasons.notna() & (reasons.astype(str) != ""), default).astype(str)
    rows = [_row(trial, "screened", "all", "assessed", len(log))]
    rows += [
        _row(trial, "screened", reason, "excluded", n)
        for reason, n in reasons.value_counts(sort=False).sort_index().items()
    ]
    rows.append(_row(trial, "screened", "all", "included", included.sum()))
    return rows


def sequence_labels(schedule: pd.DataFrame) -> pd.Series:
    """Label each allocation cluster by its sequence, e.g. ``P1 control → P2 intervention``.

    Returns
    -------
    Series
        Indexed by ``cluster_id``.
    """
    ordered = schedule.sort_values(["cluster_id", "period"])
    steps = ordered["period"].astype(str).radd("P") + " " + ordered["condition"].astype(str)
    return steps.groupby(ordered["cluster_id"]).agg(" → ".join).rename("sequence")


def _followup_rows(trial, level, ids, responses, id_column, timepoints, group) -> list[dict]:
    """Followed-up and lost counts per time point for one group of recruited ids."""
    rows = []
    ids = set(ids)
    for timepoint in timepoints:
        seen = set(responses.loc[responses["timepoint"] == timepoint, id_column]) & ids
        rows.append(_row(trial, level, group, "followed_up", len(seen), timepoint))
        rows.append(
            _row(trial, level, group, "lost_to_follow_up", len(ids) - len(seen), timepoint)
        )
    return rows


def _analysed_rows(trial, level, group, ids, analysed, id_column, timepoints) -> list[dict]:
    """Analysed counts for one group: overall, or per time point when given."""
    if analysed is None:
        return []
    ids = set(ids)
    mine = analysed[analysed[id_column].isin(ids)]
    if "timepoint" not in analysed.columns:
        n = mine[id_column].nunique()
        return [
            _row(trial, level, group, "analysed", n),
            _row(trial, level, group, "not_analysed", len(ids) - n),
        ]
    # Only time points the analysis used (e.g. not a baseline it adjusts for).
    used = set(analysed["timepoint"])
    rows = []
    for timepoint in timepoints:
        if timepoint in used:
            n = mine.loc[mine["timepoint"] == timepoint, id_column].nunique()
            rows.append(_row(trial, level, group, "analysed", n, timepoint))
    return rows


def _check_analysed(analysed, id_column, recruited, timepoints) -> None:
    if analysed is None:
        return
    if id_column not in analysed.columns:
        raise ReportError(f"the analysed table needs a {id_column!r} column")
    unknown = sorted(set(analysed[id_column]) - set(recruited))
    if unknown:
        raise ReportError(
            f"{len(unknown)} analysed {id_column} value(s) are not among the recruited "
            f"(first: {unknown[:3]}); the analysis and the data tables disagree"
        )
    if "timepoint" in analysed.columns:
        _check_timepoints(analysed, "analysed", timepoints)


def betterback_flow(
    tables: Mapping[str, pd.DataFrame],
    patient_timepoints: Sequence[str],
    therapist_timepoints: Sequence[str],
    analysed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Count the BetterBack flow of clusters, clinics, therapists and patients.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The validated tables ``clinics, schedule, therapists,
        therapist_responses, patients, patient_outcomes``.
    patient_timepoints, therapist_timepoints : sequence of str
        Time points in design order (from the config).
    analysed : DataFrame, optional
        The patients in the primary analysis, as reported by it: column
        ``patient_id`` and optionally ``timepoint``. Without it no
        ``analysed`` rows are produced.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`. Levels ``allocation_cluster, clinic,
        therapist, patient``; groups are allocation sequences
        (:func:`sequence_labels`) for the allocation rows, conditions for the
        patient flow, and ``all`` for the therapist questionnaire cohort.
    """
    _check_tables(tables, BETTERBACK_COLUMNS)
    clinics, schedule = tables["clinics"], tables["schedule"]
    therapists, patients = tables["therapists"], tables["patients"]
    _check_timepoints(tables["patient_outcomes"], "patient_outcomes", patient_timepoints)
    _check_timepoints(tables["therapist_responses"], "therapist_responses", therapist_timepoints)
    _check_analysed(analysed, "patient_id", patients["patient_id"], patient_timepoints)
    unknown = sorted(set(patients["condition"]) - set(CONDITIONS))
    if unknown:
        raise ReportError(f"patients: condition(s) {unknown} are not one of {CONDITIONS}")

    trial = "betterback"
    rows = _screening_rows(trial, tables)
    sequence = sequence_labels(schedule)
    first_period = schedule.groupby("cluster_id")["period"].min()
    cluster_of = clinics.set_index("clinic_id")["cluster_id"]
    unallocated = sorted(set(cluster_of) - set(sequence.index))
    if unallocated:
        raise ReportError(f"clinics: cluster(s) {unallocated} have no rows in the schedule")
    order = sorted(sequence.index, key=lambda c: (first_period[c], sequence[c]))
    for label in dict.fromkeys(sequence[order]):
        clusters = set(sequence.index[sequence == label])
        in_clinics = set(clinics.loc[clinics["cluster_id"].isin(clusters), "clinic_id"])
        rows += [
            _row(trial, "allocation_cluster", label, "allocated", len(clusters)),
            _row(trial, "clinic", label, "allocated", len(in_clinics)),
            _row(
                trial,
                "therapist",
                label,
                "recruited",
                therapists["clinic_id"].isin(in_clinics).sum(),
            ),
            _row(
                trial, "patient", label, "recruited", patients["clinic_id"].isin(in_clinics).sum()
            ),
        ]

    outcomes = tables["patient_outcomes"]
    for condition in CONDITIONS:
        mine = patients[patients["condition"] == condition]
        rows += [
            _row(trial, "clinic", condition, "recruiting", mine["clinic_id"].nunique()),
            _row(trial, "therapist", condition, "treating", mine["therapist_id"].nunique()),
            _row(trial, "patient", condition, "recruited", len(mine)),
        ]
        ids = mine["patient_id"]
        rows += _followup_rows(
            trial, "patient", ids, outcomes, "patient_id", patient_timepoints, condition
        )
        rows += _analysed_rows(
            trial, "patient", condition, ids, analysed, "patient_id", patient_timepoints
        )

    ids = therapists["therapist_id"]
    rows.append(_row(trial, "therapist", "all", "recruited", len(ids)))
    rows += _followup_rows(
        trial,
        "therapist",
        ids,
        tables["therapist_responses"],
        "therapist_id",
        therapist_timepoints,
        "all",
    )
    return pd.DataFrame(rows, columns=COLUMNS)


def prepare_flow(
    tables: Mapping[str, pd.DataFrame],
    timepoints: Sequence[str],
    arms: Sequence[str],
    analysed: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Count the PREPARE flow of individuals per arm.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        The validated tables ``patients`` and ``outcomes``. When ``patients``
        has ``sessions_attended`` (``surgery_date``), the number who attended
        at least one session (were operated) is added per arm.
    timepoints, arms : sequence of str
        From the config, in order (the first arm is the control).
    analysed : DataFrame, optional
        As in :func:`betterback_flow`.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, level ``patient``.
    """
    _check_tables(tables, PREPARE_COLUMNS)
    patients, outcomes = tables["patients"], tables["outcomes"]
    _check_timepoints(outcomes, "outcomes", timepoints)
    _check_analysed(analysed, "patient_id", patients["patient_id"], timepoints)
    unknown = sorted(set(patients["arm"].astype(str)) - set(arms))
    if unknown:
        raise ReportError(
            f"patients: arm(s) {unknown} are not among the configured arms {list(arms)}"
        )
    trial = "prepare"
    rows = _screening_rows(trial, tables)
    rows.append(_row(trial, "patient", "all", "randomised", len(patients)))
    for arm in arms:
        mine = patients[patients["arm"] == arm]
        rows.append(_row(trial, "patient", arm, "allocated", len(mine)))
        if "sessions_attended" in mine.columns:
            attended = (pd.to_numeric(mine["sessions_attended"], errors="coerce") > 0).sum()
            rows.append(_row(trial, "patient", arm, "attended_any_session", attended))
        if "surgery_date" in mine.columns:
            rows.append(
                _row(trial, "patient", arm, "operated", mine["surgery_date"].notna().sum())
            )
        ids = mine["patient_id"]
        rows += _followup_rows(trial, "patient", ids, outcomes, "patient_id", timepoints, arm)
        rows += _analysed_rows(trial, "patient", arm, ids, analysed, "patient_id", timepoints)
    return pd.DataFrame(rows, columns=COLUMNS)


def patients_per_clinic(
    individuals: pd.DataFrame, cluster: str = "clinic_id", group: str = "condition"
) -> pd.DataFrame:
    """Summarise cluster sizes per group (CONSORT cluster extension: sizes per arm).

    Parameters
    ----------
    individuals : DataFrame
        One row per individual, with the cluster and group columns.
    cluster, group : str
        Column names.

    Returns
    -------
    DataFrame
        Columns ``group, n_clusters, n_individuals, size_min, size_median,
        size_max, size_mean`` (clusters with no individuals in a group are
        not counted for that group).
    """
    absent = [c for c in (cluster, group) if c not in individuals.columns]
    if absent:
        raise ReportError(f"patients_per_clinic: column(s) {absent} not in the table")
    sizes = individuals.groupby([group, cluster], observed=True).size()
    summary = sizes.groupby(level=0, observed=True).agg(
        n_clusters="size",
        n_individuals="sum",
        size_min="min",
        size_median="median",
        size_max="max",
        size_mean="mean",
    )
    return summary.rename_axis("group").reset_index()


def flow_summary(
    counts: pd.DataFrame, rule: SuppressionRule | None = None, labels: Labels | None = None
) -> str:
    """Summarise a flow table in one or two sentences for the report's trial summary.

    Parameters
    ----------
    counts : DataFrame
        From :func:`betterback_flow` or :func:`prepare_flow`.
    rule : SuppressionRule, optional
        Small counts (and small remainders of "x of y") are quoted as the
        rule's marker unless flow counts are exempt; default the built-in rule.
    labels : Labels, optional
        Names of arms, conditions and time points (default: the built-in labels).

    Returns
    -------
    str
        Numbers only from ``counts``; follow-up is given for the last time point.
    """
    rule = rule or default_rule()
    labels = labels or default_labels()
    if rule.exempt_flow:
        rule = replace(rule, min_cell_size=1)  # is_small is then never true

    def total(level, stage, groups=None, timepoint=None):
        rows = counts[(counts["level"] == level) & (counts["stage"] == stage)]
        if groups is not None:
            rows = rows[rows["group"].isin(groups)]
        rows = (
            rows[rows["timepoint"].isna()]
            if timepoint is None
            else rows[rows["timepoint"] == timepoint]
        )
        return int(rows["n"].sum())

    trial = str(counts["trial"].iloc[0])
    patient_follow = counts[(counts["level"] == "patient") & (counts["stage"] == "followed_up")]
    last = patient_follow["timepoint"].iloc[-1]
    when = in_sentence(labels(last))
    if trial == "betterback":
        sequences = counts.loc[counts["level"] == "allocation_cluster", "group"]
        recruited = total("patient", "recruited", CONDITIONS)
        by_condition = ", ".join(
            f"{rule.count(total('patient', 'recruited', [c]))} {in_sentence(labels(c))}"
            for c in CONDITIONS
        )
        returned = total("patient", "followed_up", CONDITIONS, last)
        clinics = total("clinic", "allocated", sequences)
        units = total("allocation_cluster", "allocated")
        text = (
            f"BetterBack: {plural(units, 'allocation cluster')} ({plural(clinics, 'clinic')}) "
            f"in {plural(len(sequences), 'sequence')}; "
            f"{rule.count(total('therapist', 'recruited', ['all']))} therapists; "
            f"{rule.count(recruited)} patients recruited ({by_condition}). Questionnaires "
            f"returned at {when}: {rule.part_of(returned, recruited)}."
        )
    else:
        arms = list(counts.loc[counts["stage"] == "allocated", "group"])
        randomised = total("patient", "randomised")
        by_arm = ", ".join(
            f"{rule.count(total('patient', 'allocated', [a]))} {in_sentence(labels(a))}"
            for a in arms
        )
        returned = total("patient", "followed_up", arms, last)
        text = (
            f"{trial.upper()}: {rule.count(randomised)} randomised "
            f"({by_arm}). Questionnaires returned at {when}: "
            f"{rule.part_of(returned, randomised)}."
        )
    return text
