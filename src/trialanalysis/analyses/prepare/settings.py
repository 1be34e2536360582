"""The ``prepare.analyses`` config, checked before any job runs and against the data.

The config schema fills in defaults; what it cannot know is whether the
scores and time points it names exist. :func:`resolve_prepare` checks every
name that the design and the instrument definitions decide, before any job
runs (the Snakefile and the CLI call it), and returns the settings frozen;
:func:`resolve_settings` replaces the ``null`` choices (e.g. "the outcomes of
the mixed models") by their values and checks the columns against the data.
Each collects every problem into one error.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from trialanalysis.analyses.common.settings import freeze, unknown_names
from trialanalysis.analyses.prepare.data import PrepareData
from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import Instrument, table_score_columns

KEY = "prepare.analyses"


@dataclass(frozen=True)
class PrepareSettings:
    """The checked ``prepare`` analysis settings (read-only).

    Attributes
    ----------
    timepoints, arms : tuple of str
        The design's time points (baseline first) and arms (control first).
    analyses : mapping
        ``prepare.analyses``, defaults filled in; the ``null`` choices that
        depend on the data are filled in by :func:`resolve_settings`.

    The settings pickle, so the Snakefile passes them to the jobs as
    ``params.settings``.
    """

    timepoints: tuple[str, ...]
    arms: tuple[str, ...]
    analyses: Mapping


def resolve_prepare(config: Mapping, instruments: Mapping[str, Instrument]) -> PrepareSettings:
    """Check ``prepare.analyses`` against the design and the instruments; return it frozen.

    Parameters
    ----------
    config : mapping
        The validated workflow config (defaults filled in).
    instruments : mapping of str to Instrument
        The instrument definitions (``instruments_dir``).

    Returns
    -------
    PrepareSettings

    Raises
    ------
    ConfigError
        Listing every problem at once, each with its config key.
    """
    trial = config["prepare"]
    s = trial["analyses"]
    timepoints = list(trial["timepoints"])
    follow = timepoints[1:]
    scores = table_score_columns(instruments, trial, "outcomes")
    problems: list[str] = []

    def need_scores(key: str, columns: Sequence[str] | None) -> None:
        what = "scores of prepare.instruments.outcomes"
        problems.extend(unknown_names(f"{KEY}.{key}", columns, scores, what))

    def need_times(key: str, values: Sequence[str] | None, allowed: Sequence[str]) -> None:
        for value in values or []:
            if value not in allowed:
                problems.append(f"{KEY}.{key}: time point {value!r} is not one of {allowed}")

    need_scores("outcomes", s["outcomes"])
    if s["primary_outcome"] not in s["outcomes"]:
        problems.append(
            f"{KEY}.primary_outcome {s['primary_outcome']!r} must also be listed in {KEY}.outcomes"
        )
    need_times("primary_timepoint", [s["primary_timepoint"]], follow)
    mixed = s["mixed_model"]
    residual = [c for c in [mixed["covariance"], *mixed["sensitivity"]] if c != "random_intercept"]
    if mixed["df_method"] == "between-within" and residual:
        problems.append(
            f"{KEY}.mixed_model.df_method between-within is defined for random_intercept models "
            f"only, not for {', '.join(residual)}; use kenward-roger or satterthwaite"
        )
    need_times("responders.timepoints", s["responders"]["timepoints"], follow)
    need_scores("responders.definitions", [d["outcome"] for d in s["responders"]["definitions"]])
    need_scores("dose.outcomes", s["dose"]["outcomes"])
    need_times("dose.timepoints", s["dose"]["timepoints"], follow)
    mediation = s["mediation"]
    need_scores("mediation.mediators", mediation["mediators"])
    need_scores("mediation.outcomes", mediation["outcomes"])
    overlap = sorted(set(mediation["mediators"]) & set(mediation["outcomes"]))
    if overlap:
        problems.append(f"{KEY}.mediation: {overlap} cannot be both mediator and outcome")
    ends = (mediation["from_timepoint"], mediation["to_timepoint"])
    need_times("mediation.from_timepoint", [ends[0]], timepoints)
    need_times("mediation.to_timepoint", [ends[1]], timepoints)
    if set(ends) <= set(timepoints) and timepoints.index(ends[1]) <= timepoints.index(ends[0]):
        problems.append(f"{KEY}.mediation: to_timepoint must come after from_timepoint")
    imputation = s["multiple_imputation"]
    need_scores("multiple_imputation.outcomes", imputation["outcomes"])
    missing_models = [o for o in imputation["outcomes"] or [] if o not in s["outcomes"]]
    if missing_models:
        problems.append(
            f"{KEY}.multiple_imputation.outcomes {missing_models} must also be in {KEY}.outcomes"
        )
    need_scores("multiple_imputation.auxiliary", imputation["auxiliary"])
    need_scores("table1.baseline_scores", s["table1"]["baseline_scores"])
    need_scores("cace.outcomes", s["cace"]["outcomes"])
    need_times("cace.timepoints", s["cace"]["timepoints"], follow)
    if problems:
        raise ConfigError("the PREPARE analysis config has problems:\n" + "\n".join(problems))
    return PrepareSettings(tuple(timepoints), tuple(trial["arms"]), freeze(s))


def _numeric(frame: pd.DataFrame, column: str) -> bool:
    return column in frame.columns and pd.api.types.is_numeric_dtype(frame[column])


def resolve_settings(analyses: Mapping, data: PrepareData) -> dict:
    """Fill the ``null`` choices of ``prepare.analyses`` and check the names against the data.

    The checks the config alone decides are :func:`resolve_prepare`'s.

    Parameters
    ----------
    analyses : mapping
        The validated ``prepare.analyses`` config (defaults filled in).
    data : PrepareData
        The analysis data.

    Returns
    -------
    dict
        A copy with ``dose.outcomes``, ``responders.timepoints``,
        ``multiple_imputation.outcomes``, ``cace`` (threshold, outcomes, time
        points) and ``table1.baseline_scores`` filled in.

    Raises
    ------
    ConfigError
        Listing every column or time point that the data lack.
    """
    s = copy.deepcopy(dict(analyses))
    scores, patients = data.long, data.patients
    follow = data.follow_ups
    problems: list[str] = []

    def need_scores(key: str, columns) -> None:
        for column in columns:
            if not _numeric(scores, column):
                what = "is not numeric" if column in scores.columns else "is not a score column"
                problems.append(
                    f"{KEY}.{key}: {column!r} {what} of the outcome table; numeric score columns: "
                    f"{', '.join(c for c in scores.columns if _numeric(scores, c))}"
                )

    def need_patient(key: str, columns) -> None:
        for column in columns:
            if column not in patients.columns or column in ("patient_id", "arm", "treatment"):
                problems.append(
                    f"{KEY}.{key}: {column!r} is not a usable column of the patients table "
                    f"(columns: {', '.join(patients.columns)})"
                )

    def need_times(key: str, values, allowed) -> None:
        for value in values:
            if value not in allowed:
                problems.append(f"{KEY}.{key}: time point {value!r} is not one of {allowed}")

    need_scores("outcomes", s["outcomes"])
    need_times("primary_timepoint", [s["primary_timepoint"]], follow)
    need_patient("covariates", s["covariates"])

    responders = s["responders"]
    if responders["timepoints"] is None:
        responders["timepoints"] = list(follow)
    need_times("responders.timepoints", responders["timepoints"], follow)
    need_scores("responders.definitions", [d["outcome"] for d in responders["definitions"]])

    dose = s["dose"]
    if dose["outcomes"] is None:
        dose["outcomes"] = list(s["outcomes"])
    need_scores("dose.outcomes", dose["outcomes"])
    need_times("dose.timepoints", dose["timepoints"], follow)
    need_patient("dose (sessions_attended)", ["sessions_attended"])
    if "sessions_attended" in patients.columns and not _numeric(patients, "sessions_attended"):
        problems.append(f"{KEY}.dose: sessions_attended must be numeric")

    mediation = s["mediation"]
    need_scores("mediation.mediators", mediation["mediators"])
    need_scores("mediation.outcomes", mediation["outcomes"])
    need_times("mediation.from_timepoint", [mediation["from_timepoint"]], data.timepoints)
    need_times("mediation.to_timepoint", [mediation["to_timepoint"]], data.timepoints)
    if mediation["moderator"] is not None:
        need_patient("mediation.moderator", [mediation["moderator"]])
        if mediation["moderator"] in patients.columns and not _numeric(
            patients, mediation["moderator"]
        ):
            problems.append(f"{KEY}.mediation.moderator must be a numeric patient column")

    imputation = s["multiple_imputation"]
    if imputation["outcomes"] is None:
        imputation["outcomes"] = [s["primary_outcome"]]
    need_scores("multiple_imputation.outcomes", imputation["outcomes"])
    need_scores("multiple_imputation.auxiliary", imputation["auxiliary"])
    need_patient("multiple_imputation.predictors", imputation["predictors"])

    cace = s["cace"]
    cace["threshold"] = dose["threshold"] if cace["threshold"] is None else cace["threshold"]
    cace["outcomes"] = cace["outcomes"] or [s["primary_outcome"]]
    cace["timepoints"] = cace["timepoints"] or [s["primary_timepoint"]]
    need_scores("cace.outcomes", cace["outcomes"])

    table1 = s["table1"]
    if table1["baseline_scores"] is None:
        table1["baseline_scores"] = list(s["outcomes"])
    need_patient("table1.variables", table1["variables"])
    for column in table1["baseline_scores"]:
        if column not in scores.columns:
            problems.append(f"{KEY}.table1.baseline_scores: {column!r} is not a score column")
    if problems:
        raise ConfigError(
            "the PREPARE analysis config does not fit the data:\n" + "\n".join(problems)
        )
    return s
