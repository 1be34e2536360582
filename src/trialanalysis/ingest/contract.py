"""The data contract: what every input table of both trials must look like.

Table layouts (columns, keys, references between tables) are fixed here, in
one place; time points, arms, file names and which instruments belong to which
table come from the config, and item columns and their valid ranges come from
the instrument definitions. The validation (:mod:`.schema`,
:mod:`.relations`) and the data dictionary (:mod:`.dictionary`) are both built
from these specifications, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from trialanalysis.errors import ConfigError
from trialanalysis.ingest.settings import DEFAULT_SETTINGS, TRIALS
from trialanalysis.instruments.definitions import Instrument

SEXES = ("female", "male")
CONDITIONS = ("control", "intervention")
PAIN_DURATIONS = ("lt3m", "3to12m", "gt12m")
DIAGNOSES = (
    "disc_herniation",
    "spinal_stenosis",
    "spondylolisthesis",
    "degenerative_disc_disease",
)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract.

    Attributes
    ----------
    name : str
        Column name in the long layout.
    kind : str
        ``id`` (text), ``category``, ``integer``, ``number``, ``item``
        (questionnaire item: a number, whole if the scale says so) or ``date``.
    description : str
        Meaning, shown in the data dictionary.
    required : bool
        Whether a blank cell is a problem.
    categories : tuple of str
        Allowed values of a category.
    ordered : bool
        Whether the categories are ordered (e.g. time points).
    minimum, maximum : float or None
        Allowed range of a number (inclusive).
    whole : bool
        Whether an ``item`` must be a whole number.
    source : str
        Where the range comes from (instrument definition), for messages.
    varying : bool
        Whether the column changes by time point (goes into ``<column>_<tp>``
        in the wide layout).
    """

    name: str
    kind: str
    description: str
    required: bool = False
    categories: tuple[str, ...] = ()
    ordered: bool = False
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False
    source: str = ""
    varying: bool = False

    @property
    def dtype(self) -> Any:
        """The pandas dtype of the column in the analysis-ready table."""
        if self.kind == "category":
            return pd.CategoricalDtype(list(self.categories), ordered=self.ordered)
        return {
            "id": pd.StringDtype(),
            "integer": pd.Int64Dtype(),
            "number": "float64",
            "item": "float64",
            "date": "datetime64[ns]",
        }[self.kind]


@dataclass(frozen=True)
class Reference:
    """Values of ``column`` must exist in ``table.target`` of the same trial."""

    column: str
    table: str
    target: str


@dataclass(frozen=True)
class DateOrder:
    """Within a row, ``earlier`` must not be after ``later`` (blanks skipped)."""

    earlier: str
    later: str


@dataclass(frozen=True)
class Anchor:
    """Response dates must not precede a date of the entity in another table.

    ``from_timepoint`` is the first time point (in design order) checked, so a
    baseline taken before randomisation is not flagged.
    """

    table: str
    date: str
    from_timepoint: str


@dataclass(frozen=True)
class TableSpec:
    """One input table of one trial.

    ``optional`` tables may be absent (validation then gives an empty table);
    ``free_text`` names free-text columns the file may have: scanned by the
    privacy guard and dropped on read, so they never reach results.
    """

    trial: str
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    timepoints: tuple[str, ...] = ()
    references: tuple[Reference, ...] = ()
    date_orders: tuple[DateOrder, ...] = ()
    anchor: Anchor | None = None
    instruments: tuple[str, ...] = ()
    path: str = ""
    layout: str = "auto"
    optional: bool = False
    free_text: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        """Column names in contract order."""
        return [c.name for c in self.columns]

    @property
    def file_columns(self) -> list[str]:
        """Headers a file of this table may have: the contract's, then its free-text ones."""
        return [*self.column_names, *self.free_text]

    def column(self, name: str) -> ColumnSpec:
        """Return the specification of one column."""
        return next(c for c in self.columns if c.name == name)

    @property
    def entity(self) -> str:
        """The column identifying the unit that is measured at each time point."""
        return self.key[0]

    @property
    def varying(self) -> list[str]:
        """Columns that change by time point (wide layout: ``<column>_<tp>``)."""
        return [c.name for c in self.columns if c.varying]


def _id(name: str, description: str) -> ColumnSpec:
    return ColumnSpec(name, "id", description, required=True)


def _category(name, values, description, required=False, ordered=False) -> ColumnSpec:
    return ColumnSpec(name, "category", description, required, tuple(values), ordered)


def _date(name: str, description: str, required=False, varying=False) -> ColumnSpec:
    return ColumnSpec(name, "date", description, required=required, varying=varying)


def _number(name, kind, description, minimum=None, maximum=None, required=False) -> ColumnSpec:
    return ColumnSpec(name, kind, description, required, minimum=minimum, maximum=maximum)


def item_columns(instrument: Instrument) -> list[ColumnSpec]:
    """Contract columns of an instrument's items, ranges from its definition."""
    columns = []
    for item, column in instrument.item_columns.items():
        scale = instrument.scale_of(item)
        label = instrument.item_labels.get(item, f"item {item}")
        columns.append(
            ColumnSpec(
                column,
                "item",
                f"{instrument.name.upper()} {label}",
                minimum=scale.min,
                maximum=scale.max,
                whole=scale.integer,
                source=f"{instrument.name} item {item}, defined in {instrument.source_file}",
                varying=True,
            )
        )
    return columns


YES_NO = ("yes", "no")
#: How the data dictionary describes a free-text column of the contract.
FREE_TEXT_NOTE = "Free text: scanned for personal data, then dropped on read; never in results"


def _adverse_events(group: str) -> dict:
    """Return the optional harms table of either trial (CONSORT item 19)."""
    return dict(
        description=(
            "Adverse events (harms), one row per event; optional. The free-text "
            "description is scanned by the privacy guard and dropped on read: results "
            f"report events by category and {group}, never descriptions."
        ),
        key=("event_id",),
        columns=[
            _id("event_id", "Event (pseudonymous)"),
            _id("patient_id", "Patient who had the event"),
            _date("event_date", "Date of onset", required=True),
            _category("serious", YES_NO, "Serious adverse event (yes/no)", True),
            _category("related", YES_NO, "Related to the trial treatment (yes/no)"),
            ColumnSpec("category", "id", "MedDRA-style category (e.g. system organ class)"),
        ],
        references=[Reference("patient_id", "patients", "patient_id")],
        optional=True,
        free_text=("description",),
    )


def _screening(included: str) -> dict:
    """Return the optional screening log of either trial (CONSORT: assessed for eligibility)."""
    return dict(
        description=(
            "Screening log, one row per person assessed for eligibility; optional. Only "
            f"counts reach the report: assessed, excluded with their reasons, {included}."
        ),
        key=("screening_id",),
        columns=[
            _id("screening_id", "Screened person (pseudonymous; not the patient ID)"),
            _date("screened_date", "Date of the eligibility assessment", required=True),
            _category("eligible", YES_NO, "Met the eligibility criteria (yes/no)", True),
            ColumnSpec(
                "reason_excluded", "id",
                "Why not included (a short code, e.g. not_eligible, declined); blank if included",
            ),
            _category("included", YES_NO, f"Included: {included} (yes/no)", True),
        ],
        optional=True,
    )  # fmt: skip


def _timepoint(values) -> ColumnSpec:
    return _category("timepoint", values, "Time point of the design", True, ordered=True)


def _betterback(settings: dict) -> dict[str, dict]:
    therapist_tps = tuple(settings["timepoints"]["therapist"])
    patient_tps = tuple(settings["timepoints"]["patient"])
    return {
        "clinics": dict(
            description="Clinics and the allocation cluster each belongs to.",
            key=("clinic_id",),
            columns=[
                _id("clinic_id", "Clinic (pseudonymous)"),
                _id("cluster_id", "Allocation cluster"),
            ],
            references=[Reference("cluster_id", "schedule", "cluster_id")],
        ),
        "schedule": dict(
            description=(
                "Cluster x period schedule. Periods a cluster is not observed in are absent "
                "(dog-leg); within a cluster, periods do not overlap and the intervention, "
                "once started, is never withdrawn."
            ),
            key=("cluster_id", "period"),
            columns=[
                _id("cluster_id", "Allocation cluster"),
                _number("period", "integer", "Period number", minimum=1, required=True),
                _category("condition", CONDITIONS, "Condition in this period", True),
                _date("period_start", "First day of the period", required=True),
                _date("period_end", "Last day of the period", required=True),
            ],
            references=[Reference("cluster_id", "clinics", "cluster_id")],
            date_orders=[DateOrder("period_start", "period_end")],
        ),
        "therapists": dict(
            description="Physiotherapists and their clinic.",
            key=("therapist_id",),
            columns=[
                _id("therapist_id", "Therapist (pseudonymous)"),
                _id("clinic_id", "Clinic the therapist works in"),
                _category("sex", SEXES, "Sex"),
                _number("age", "integer", "Age in years", 18, 80),
                _number("years_experience", "number", "Years of clinical experience", 0, 60),
                _date("training_date", "Date of the BetterBack workshop"),
            ],
            references=[Reference("clinic_id", "clinics", "clinic_id")],
        ),
        "therapist_responses": dict(
            description="Therapist questionnaires, one row per therapist and time point.",
            key=("therapist_id", "timepoint"),
            columns=[
                _id("therapist_id", "Therapist"),
                _timepoint(therapist_tps),
                _date("response_date", "Date the questionnaire was answered", varying=True),
            ],
            timepoints=therapist_tps,
            references=[Reference("therapist_id", "therapists", "therapist_id")],
        ),
        "patients": dict(
            description=(
                "Patients: clinic, treating therapist, period and condition at enrolment. "
                "The condition must match the schedule of the clinic's cluster in that period, "
                "the enrolment date must lie within the period, and the therapist must work in "
                "the patient's clinic."
            ),
            key=("patient_id",),
            columns=[
                _id("patient_id", "Patient (pseudonymous)"),
                _id("clinic_id", "Clinic"),
                _id("therapist_id", "Treating therapist"),
                _number("period", "integer", "Period of enrolment", minimum=1, required=True),
                _category("condition", CONDITIONS, "Condition at enrolment", True),
                _date("enrolment_date", "Date of enrolment", required=True),
                _category("sex", SEXES, "Sex"),
                _number("age", "integer", "Age in years", 18, 100),
                _category("pain_duration", PAIN_DURATIONS, "Duration of pain", ordered=True),
            ],
            references=[
                Reference("clinic_id", "clinics", "clinic_id"),
                Reference("therapist_id", "therapists", "therapist_id"),
            ],
        ),
        "patient_outcomes": dict(
            description="Patient questionnaires, one row per patient and time point.",
            key=("patient_id", "timepoint"),
            columns=[
                _id("patient_id", "Patient"),
                _timepoint(patient_tps),
                _date("response_date", "Date the questionnaire was answered", varying=True),
            ],
            timepoints=patient_tps,
            references=[Reference("patient_id", "patients", "patient_id")],
            anchor=Anchor("patients", "enrolment_date", patient_tps[0]),
        ),
        "care": dict(
            description="Care given (Clinical Practice Quality Index items), one row per patient.",
            key=("patient_id",),
            columns=[_id("patient_id", "Patient")],
            references=[Reference("patient_id", "patients", "patient_id")],
        ),
        "adverse_events": _adverse_events("condition"),
        "screening": _screening("recruited into the trial"),
    }


def _prepare(settings: dict) -> dict[str, dict]:
    timepoints = tuple(settings["timepoints"])
    return {
        "patients": dict(
            description="Randomised patients.",
            key=("patient_id",),
            columns=[
                _id("patient_id", "Patient (pseudonymous)"),
                _category("arm", settings["arms"], "Randomised arm", True),
                _category("diagnosis", DIAGNOSES, "Diagnosis leading to surgery"),
                _category("sex", SEXES, "Sex"),
                _number("age", "integer", "Age in years", 18, 100),
                _date("randomisation_date", "Date of randomisation", required=True),
                _date("surgery_date", "Date of surgery (blank if not operated)"),
                _number("sessions_attended", "integer", "Physiotherapy sessions attended", 0),
                _number("expectation", "integer", "Treatment expectation (0-10)", 0, 10),
            ],
            date_orders=[DateOrder("randomisation_date", "surgery_date")],
        ),
        "outcomes": dict(
            description="Patient questionnaires and tests, one row per patient and time point.",
            key=("patient_id", "timepoint"),
            columns=[
                _id("patient_id", "Patient"),
                _timepoint(timepoints),
                _date("response_date", "Date of the assessment", varying=True),
            ],
            timepoints=timepoints,
            references=[Reference("patient_id", "patients", "patient_id")],
            # Baseline is measured before randomisation; later time points are not.
            anchor=Anchor(
                "patients", "randomisation_date", timepoints[min(1, len(timepoints) - 1)]
            ),
        ),
        "adverse_events": _adverse_events("arm"),
        "screening": _screening("randomised"),
    }


def _path(entry: str | dict) -> str:
    """Return the path of a ``<trial>.files.<table>`` entry (a path, or a mapping)."""
    return entry if isinstance(entry, str) else entry["path"]


def build_contract(
    settings: dict, trial: str, instruments: dict[str, Instrument]
) -> dict[str, TableSpec]:
    """Build the specifications of every table of one trial.

    Parameters
    ----------
    settings : dict
        Resolved settings (:func:`~trialanalysis.ingest.settings.resolve_settings`).
    trial : str
        ``betterback`` or ``prepare``.
    instruments : dict of str to Instrument
        The loaded instrument definitions.

    Returns
    -------
    dict of str to TableSpec
        Keyed by table name, in the order of the data dictionary.

    Raises
    ------
    ConfigError
        If the trial is unknown, or the config names an unknown instrument or
        puts two columns of the same name in one table.
    """
    if trial not in TRIALS:
        raise ConfigError(f"unknown trial {trial!r}; expected one of {list(TRIALS)}")
    trial_settings = settings[trial]
    layouts = _betterback(trial_settings) if trial == "betterback" else _prepare(trial_settings)
    specs = {}
    problems = []
    for table, layout in layouts.items():
        columns = list(layout.pop("columns"))
        names = tuple(trial_settings["instruments"].get(table, []))
        for name in names:
            if name not in instruments:
                problems.append(
                    f"{trial}.instruments.{table}: no instrument definition {name!r} "
                    f"(known: {', '.join(instruments)})"
                )
                continue
            columns += item_columns(instruments[name])
        seen = [c.name for c in columns]
        duplicated = sorted({n for n in seen if seen.count(n) > 1})
        if duplicated:
            problems.append(f"{trial}.{table}: columns {duplicated} are defined twice")
        if not layout.get("timepoints"):
            # Without time points nothing varies; keep the flag for wide tables only.
            columns = [replace(c, varying=False) for c in columns]
        specs[table] = TableSpec(
            trial=trial,
            name=table,
            columns=tuple(columns),
            instruments=names,
            path=_path(trial_settings["files"][table]),
            layout=trial_settings["layout"].get(table, "auto"),
            **{k: tuple(v) if isinstance(v, list) else v for k, v in layout.items()},
        )
    if problems:
        raise ConfigError(f"invalid {trial} settings:\n" + "\n".join(problems))
    return specs


def default_contract(trial: str) -> dict[str, TableSpec]:
    """Return the tables of one trial under the default settings, without instrument items."""
    settings = {t: {**DEFAULT_SETTINGS[t], "instruments": {}} for t in TRIALS}
    return build_contract(settings, trial, {})


def contract_kinds() -> dict[str, str]:
    """Return the contract's kind of every column of every table of both trials.

    Built from the default settings without instruments: item columns are
    numbers and carry no kind a reader needs, and the kinds of the other
    columns do not depend on the settings (time points and arms only change
    the values of categories).

    Returns
    -------
    dict of str to str
        Column name -> ``id``, ``category``, ``integer``, ``number`` or
        ``date`` (see :class:`ColumnSpec`).

    Raises
    ------
    ConfigError
        If two tables give one column name different kinds (a contract bug).
    """
    kinds: dict[str, str] = {}
    for trial in TRIALS:
        for spec in default_contract(trial).values():
            for column in spec.columns:
                if kinds.setdefault(column.name, column.kind) != column.kind:
                    raise ConfigError(
                        f"data contract: column {column.name!r} is {kinds[column.name]} in one "
                        f"table and {column.kind} in {trial}.{spec.name}"
                    )
    return kinds
