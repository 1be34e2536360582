"""Checks across rows and tables: references, dates in order, the allocation schedule."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from trialanalysis.errors import Problem
from trialanalysis.ingest.contract import TableSpec
from trialanalysis.ingest.layout import Arranged
from trialanalysis.ingest.parse import show


@dataclass
class CheckedTable:
    """A typed table with its contract and the origin of its rows."""

    spec: TableSpec
    frame: pd.DataFrame
    arranged: Arranged

    @property
    def file(self) -> str:
        """File name used in problems."""
        return self.arranged.file

    def has(self, *columns: str) -> bool:
        """Whether all these columns were read."""
        return all(c in self.frame.columns for c in columns)

    def problem(self, index: int, column: str, message: str) -> Problem:
        """Return a problem at one cell of the long table, located in the source file."""
        row, where = self.arranged.locate(index, column)
        return Problem(self.file, row, where, message)

    def row_of(self, index: int) -> int:
        """Source row of one row of the long table."""
        return self.arranged.source_rows[index]


def _day(value) -> str:
    return pd.Timestamp(value).date().isoformat()


def relation_problems(tables: dict[str, CheckedTable]) -> list[Problem]:
    """Run every check that needs more than one row or table.

    Parameters
    ----------
    tables : dict of str to CheckedTable
        The tables of one trial that could be read (checks needing a missing
        table or column are skipped; that absence is reported elsewhere).

    Returns
    -------
    list of Problem
    """
    problems = []
    for table in tables.values():
        problems += _references(table, tables)
        problems += _dates_in_row(table)
        problems += _dates_over_time(table)
        problems += _anchor_dates(table, tables)
    if "schedule" in tables:
        problems += _schedule(tables["schedule"])
    if {"clinics", "schedule", "patients"} <= set(tables):
        problems += _patients_in_schedule(tables)
    if {"therapists", "patients"} <= set(tables):
        problems += _therapist_clinic(tables["patients"], tables["therapists"])
    return problems


def _references(table: CheckedTable, tables: dict[str, CheckedTable]) -> list[Problem]:
    problems = []
    for ref in table.spec.references:
        target = tables.get(ref.table)
        if target is None or not table.has(ref.column) or not target.has(ref.target):
            continue
        known = set(target.frame[ref.target].dropna())
        for index, value in table.frame[ref.column].items():
            if pd.notna(value) and value not in known:
                message = f"{show(value)} is not a {ref.target} in {target.file}"
                problems.append(table.problem(index, ref.column, message))
    return problems


def _dates_in_row(table: CheckedTable) -> list[Problem]:
    problems = []
    for order in table.spec.date_orders:
        if not table.has(order.earlier, order.later):
            continue
        earlier, later = table.frame[order.earlier], table.frame[order.later]
        for index in table.frame.index[(later < earlier).fillna(False).astype(bool)]:
            message = (
                f"{order.later} {_day(later[index])} is before "
                f"{order.earlier} {_day(earlier[index])}"
            )
            problems.append(table.problem(index, order.later, message))
    return problems


def _dates_over_time(table: CheckedTable) -> list[Problem]:
    """Within a unit, response dates must follow the design order of time points."""
    spec = table.spec
    if not spec.timepoints or not table.has(spec.entity, "timepoint", "response_date"):
        return []
    frame = table.frame.dropna(subset=[spec.entity, "timepoint", "response_date"])
    frame = frame.assign(_order=frame["timepoint"].cat.codes).sort_values(
        ["_order"], kind="stable"
    )
    problems = []
    for _, group in frame.groupby(spec.entity, sort=False, observed=True):
        latest = None
        for index, row in group.iterrows():
            if latest is not None and row["response_date"] < latest[1]:
                earlier = group.loc[latest[0]]
                message = (
                    f"response date {_day(row['response_date'])} at {row['timepoint']} is before "
                    f"the {earlier['timepoint']} response ({_day(earlier['response_date'])}, "
                    f"row {table.row_of(latest[0])})"
                )
                problems.append(table.problem(index, "response_date", message))
            if latest is None or row["response_date"] >= latest[1]:
                latest = (index, row["response_date"])
    return problems


def _anchor_dates(table: CheckedTable, tables: dict[str, CheckedTable]) -> list[Problem]:
    anchor = table.spec.anchor
    entity = table.spec.entity
    if anchor is None or anchor.table not in tables:
        return []
    other = tables[anchor.table]
    if not table.has(entity, "timepoint", "response_date") or not other.has(entity, anchor.date):
        return []
    dates = other.frame.dropna(subset=[entity]).drop_duplicates(entity).set_index(entity)
    first = list(table.spec.timepoints).index(anchor.from_timepoint)
    problems = []
    for index, row in table.frame.iterrows():
        if pd.isna(row["response_date"]) or pd.isna(row["timepoint"]):
            continue
        if table.spec.timepoints.index(row["timepoint"]) < first or row[entity] not in dates.index:
            continue
        anchor_date = dates.loc[row[entity], anchor.date]
        if pd.notna(anchor_date) and row["response_date"] < anchor_date:
            message = (
                f"response date {_day(row['response_date'])} is before the {anchor.date} "
                f"{_day(anchor_date)} of this {entity.removesuffix('_id')} ({other.file})"
            )
            problems.append(table.problem(index, "response_date", message))
    return problems


def _schedule(schedule: CheckedTable) -> list[Problem]:
    """Within a cluster: periods do not overlap and the intervention is never withdrawn."""
    needed = ("cluster_id", "period", "condition", "period_start", "period_end")
    if not schedule.has(*needed):
        return []
    frame = schedule.frame.dropna(subset=["cluster_id", "period"]).sort_values(
        ["cluster_id", "period"], kind="stable"
    )
    problems = []
    for _, group in frame.groupby("cluster_id", sort=True):
        previous = None
        for index, row in group.iterrows():
            if previous is not None:
                before = group.loc[previous]
                if before["condition"] == "intervention" and row["condition"] == "control":
                    message = (
                        f"control in period {row['period']} after intervention in period "
                        f"{before['period']} (row {schedule.row_of(previous)}); in a stepped "
                        "design the intervention is never withdrawn"
                    )
                    problems.append(schedule.problem(index, "condition", message))
                start, end = row["period_start"], before["period_end"]
                if pd.notna(start) and pd.notna(end) and start <= end:
                    message = (
                        f"period {row['period']} starts on {_day(start)}, before period "
                        f"{before['period']} of this cluster ends ({_day(end)}, "
                        f"row {schedule.row_of(previous)})"
                    )
                    problems.append(schedule.problem(index, "period_start", message))
            previous = index
    return problems


def _patients_in_schedule(tables: dict[str, CheckedTable]) -> list[Problem]:
    """Check that a patient's condition and enrolment date fit the cluster's schedule."""
    patients, clinics, schedule = tables["patients"], tables["clinics"], tables["schedule"]
    if not (
        patients.has("clinic_id", "period", "condition", "enrolment_date")
        and clinics.has("clinic_id", "cluster_id")
        and schedule.has("cluster_id", "period", "condition", "period_start", "period_end")
    ):
        return []
    cluster_of = clinics.frame.dropna().drop_duplicates("clinic_id")
    cluster_of = dict(zip(cluster_of["clinic_id"], cluster_of["cluster_id"], strict=True))
    slots = {}
    for index, row in schedule.frame.iterrows():
        if pd.notna(row["cluster_id"]) and pd.notna(row["period"]):
            slots.setdefault((row["cluster_id"], int(row["period"])), index)
    problems = []
    for index, row in patients.frame.iterrows():
        cluster = cluster_of.get(row["clinic_id"])
        if cluster is None or pd.isna(row["period"]):
            continue
        slot = slots.get((cluster, int(row["period"])))
        if slot is None:
            observed = sorted(p for c, p in slots if c == cluster)
            message = (
                f"period {row['period']} is not in the schedule of cluster {show(cluster)} "
                f"(clinic {show(row['clinic_id'])}); its periods are "
                f"{', '.join(map(str, observed)) or 'none'} ({schedule.file})"
            )
            problems.append(patients.problem(index, "period", message))
            continue
        planned = schedule.frame.loc[slot]
        where = f"{schedule.file} row {schedule.row_of(slot)}"
        if pd.notna(row["condition"]) and pd.notna(planned["condition"]):
            if row["condition"] != planned["condition"]:
                message = (
                    f"condition {row['condition']} contradicts the schedule: cluster "
                    f"{show(cluster)} is in {planned['condition']} in period {row['period']} "
                    f"({where})"
                )
                problems.append(patients.problem(index, "condition", message))
        date, start, end = row["enrolment_date"], planned["period_start"], planned["period_end"]
        if pd.notna(date) and pd.notna(start) and pd.notna(end) and not start <= date <= end:
            message = (
                f"enrolment date {_day(date)} is outside period {row['period']} of cluster "
                f"{show(cluster)} ({_day(start)} to {_day(end)}, {where})"
            )
            problems.append(patients.problem(index, "enrolment_date", message))
    return problems


def _therapist_clinic(patients: CheckedTable, therapists: CheckedTable) -> list[Problem]:
    """Check that a patient's therapist works in the patient's clinic."""
    if not patients.has("therapist_id", "clinic_id") or not therapists.has(
        "therapist_id", "clinic_id"
    ):
        return []
    known = therapists.frame.dropna(subset=["therapist_id", "clinic_id"])
    known = known.drop_duplicates("therapist_id")
    clinic_of = dict(zip(known["therapist_id"], known["clinic_id"], strict=True))
    row_of = {t: therapists.row_of(i) for i, t in known["therapist_id"].items()}
    problems = []
    for index, row in patients.frame.iterrows():
        clinic = clinic_of.get(row["therapist_id"])
        if clinic is not None and pd.notna(row["clinic_id"]) and clinic != row["clinic_id"]:
            message = (
                f"therapist {show(row['therapist_id'])} works in clinic {show(clinic)} "
                f"({therapists.file} row {row_of[row['therapist_id']]}), not in the patient's "
                f"clinic {show(row['clinic_id'])}"
            )
            problems.append(patients.problem(index, "therapist_id", message))
    return problems
