"""Missing-data sensitivity analyses of the PREPARE mixed models.

Three analyses of the same model and estimand (the between-arm difference at
each follow-up) are set side by side:

- likelihood-based: all available observations, valid when data are missing
  at random (MAR) given the variables in the model (the main analysis);
- multiple imputation: the wide data (one row per patient: the outcomes at
  every time point, auxiliary scores, patient predictors and covariates) are
  completed ``m`` times by chained predictive mean matching
  (:func:`trialanalysis.models.imputation.impute_chained`, seeded), separately
  per arm when ``by_arm``; the model is refitted on each completed data set and
  the differences are pooled by Rubin's rules with Barnard-Rubin degrees of
  freedom (:func:`trialanalysis.models.imputation.pool_rubin`), the model's
  small-sample df serving as complete-data df;
- complete cases: patients with the outcome observed at every time point.

Patient columns enter the imputation model as numbers (text columns as 0/1
indicators) and are imputed there when missing; in the analysis model numeric
covariates take their imputed values and text covariates are used as
observed. Time since randomisation (for random slopes) of an imputed visit is
the median observed at that time point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.analyses.prepare.data import PrepareData, numeric_columns
from trialanalysis.analyses.prepare.models import (
    arm_differences,
    diagnostics_row,
    fit_outcome_model,
)
from trialanalysis.models.imputation import impute_chained, pool_rubin

LIKELIHOOD = "likelihood-based (all available data, MAR)"
COMPLETE_CASES = "complete cases (observed at every time point)"


def imputation_label(m: int) -> str:
    """Label of the multiple-imputation analysis."""
    return f"multiple imputation (m = {m}, Rubin's rules)"


def imputation_frame(
    data: PrepareData, scores: Sequence[str], patient_columns: Sequence[str], with_arm: bool
) -> tuple[pd.DataFrame, list[str]]:
    """Build the numeric wide table of the imputation model; return it and its score columns.

    Returns
    -------
    (DataFrame, list of str)
        One row per patient (index ``patient_id``); ``<score>_<timepoint>``
        columns, the patient columns (text ones as 0/1 indicators) and, with
        ``with_arm``, ``treatment``.
    """
    wide = data.wide(scores)
    wide = wide.loc[:, wide.notna().any()]  # a time point never observed cannot be imputed
    patients = data.patients.set_index("patient_id")
    extra = numeric_columns(patients, list(dict.fromkeys(patient_columns)))
    if with_arm:
        extra["treatment"] = patients["treatment"].astype(float)
    return wide.join(extra), list(wide.columns)


def completed_long_tables(
    data: PrepareData,
    scores: Sequence[str],
    settings: Mapping,
    covariates: Sequence[str],
    seed: int,
) -> list[pd.DataFrame]:
    """Impute the wide data ``m`` times and return each completed data set in long form.

    Parameters
    ----------
    data : PrepareData
    scores : sequence of str
        Outcomes and auxiliary scores to impute (all time points).
    settings : mapping
        ``prepare.analyses.multiple_imputation``.
    covariates : sequence of str
        Model covariates (always predictors of the imputation model).
    seed : int
        The arm-``k`` imputation uses ``seed + k`` when imputing by arm.

    Returns
    -------
    list of DataFrame
        ``m`` long tables with every patient at every time point.
    """
    predictors = list(dict.fromkeys([*settings["predictors"], *covariates]))
    frame, targets = imputation_frame(data, scores, predictors, not settings["by_arm"])
    options = {k: settings[k] for k in ("m", "iterations", "donors")}
    if settings["by_arm"]:
        arms = data.patients.set_index("patient_id")["treatment"].reindex(frame.index)
        parts = [
            impute_chained(frame[arms == k], seed=seed + k, **options)
            for k in sorted(arms.unique())
        ]
        completed = [pd.concat(p).reindex(frame.index) for p in zip(*parts, strict=True)]
    else:
        completed = impute_chained(frame, seed=seed, **options)
    numeric_covariates = [c for c in covariates if c in frame.columns]
    return [_to_long(data, wide, scores, targets, numeric_covariates) for wide in completed]


def _to_long(data, wide, scores, targets, numeric_covariates) -> pd.DataFrame:
    skeleton = data.patients.merge(pd.DataFrame({"timepoint": data.timepoints}), how="cross")
    for column in numeric_covariates:
        skeleton[column] = skeleton["patient_id"].map(wide[column])
    index = pd.MultiIndex.from_frame(skeleton[["patient_id", "timepoint"]])
    for score in scores:
        values = np.full(len(skeleton), np.nan)
        for t in data.timepoints:
            column = f"{score}_{t}"
            if column in targets:
                rows = (skeleton["timepoint"] == t).to_numpy()
                values[rows] = skeleton.loc[rows, "patient_id"].map(wide[column]).to_numpy()
        skeleton[score] = values
    if "years" in data.long.columns:
        observed = data.long.set_index(["patient_id", data.long["timepoint"].astype(str)])["years"]
        typical = data.long.groupby("timepoint", observed=False)["years"].median()
        years = observed.reindex(index).to_numpy()
        fallback = skeleton["timepoint"].map(typical.astype(float)).to_numpy()
        skeleton["years"] = np.where(np.isnan(years), fallback, years)
    skeleton["timepoint"] = pd.Categorical(skeleton["timepoint"], categories=data.timepoints)
    return skeleton


def complete_case_long(data: PrepareData, outcome: str) -> pd.DataFrame:
    """Rows of the patients with ``outcome`` observed at every time point that has data."""
    wide = data.wide([outcome]).dropna(axis=1, how="all")
    complete = wide.index[wide.notna().all(axis=1)]
    return data.long[data.long["patient_id"].isin(complete)]


@dataclass(frozen=True)
class MissingDataResults:
    """The missing-data analyses: comparison, per-imputation estimates and diagnostics."""

    comparison: pd.DataFrame
    imputations: pd.DataFrame
    diagnostics: pd.DataFrame


def missing_data_analyses(data: PrepareData, analyses: Mapping, seed: int) -> MissingDataResults:
    """Likelihood-based, multiple-imputation and complete-case estimates side by side.

    Parameters
    ----------
    data : PrepareData
    analyses : mapping
        The resolved ``prepare.analyses`` settings.
    seed : int

    Returns
    -------
    MissingDataResults
        The comparison (``outcome, analysis, timepoint, contrast, estimate,
        std_error, df, statistic, p_value, conf_low, conf_high, n_patients,
        riv, fmi, m``), the per-imputation estimates (``outcome, imputation,
        timepoint, estimate, std_error, df``) and one diagnostics row per
        outcome and analysis.
    """
    settings = analyses["multiple_imputation"]
    mixed, covariates = analyses["mixed_model"], analyses["covariates"]
    level = analyses["conf_level"]
    outcomes = settings["outcomes"]
    scores = list(dict.fromkeys([*outcomes, *settings["auxiliary"]]))
    completed = completed_long_tables(data, scores, settings, covariates, seed)
    label = imputation_label(settings["m"])
    comparison, per_imputation, diagnostics = [], [], []
    for outcome in outcomes:
        main = fit_outcome_model(data, outcome, mixed, covariates, level)
        comparison.append(_summary(arm_differences(main), LIKELIHOOD, main))
        diagnostics.append(_diag(main, LIKELIHOOD))
        cases = fit_outcome_model(
            data, outcome, mixed, covariates, level, long=complete_case_long(data, outcome)
        )
        comparison.append(_summary(arm_differences(cases), COMPLETE_CASES, cases))
        diagnostics.append(_diag(cases, COMPLETE_CASES))
        tables, fits = [], []
        for i, long in enumerate(completed, start=1):
            model = fit_outcome_model(data, outcome, mixed, covariates, level, long=long)
            table = arm_differences(model).rename(columns={"timepoint": "term"})
            tables.append(table[["term", "estimate", "std_error", "df"]])
            per_imputation.append(table.assign(imputation=i))
            fits.append(model)
        pooled = pool_rubin(tables, level).rename(columns={"term": "timepoint"})
        pooled["contrast"] = fits[0].contrast_label
        pooled["n_patients"] = fits[0].used["patient_id"].nunique()
        comparison.append(pooled.assign(outcome=outcome, analysis=label))
        diagnostics.append(_pooled_diagnostics(fits, label))
    columns = [
        "outcome", "analysis", "timepoint", "contrast", "estimate", "std_error", "df",
        "statistic", "p_value", "conf_low", "conf_high", "n_patients", "riv", "fmi", "m",
    ]  # fmt: skip
    table = pd.concat(comparison, ignore_index=True).reindex(columns=columns)
    imputations = pd.concat(per_imputation, ignore_index=True).rename(
        columns={"term": "timepoint"}
    )
    imputations = imputations[
        ["outcome", "imputation", "timepoint", "estimate", "std_error", "df"]
    ]
    return MissingDataResults(table, imputations, pd.DataFrame(diagnostics))


def _summary(differences: pd.DataFrame, label: str, model) -> pd.DataFrame:
    return differences.assign(analysis=label, n_patients=model.used["patient_id"].nunique())


def _diag(model, label: str) -> dict:
    return diagnostics_row(model.fit.diagnostics, label, model.outcome, model.warnings)


def _pooled_diagnostics(models: Sequence, label: str) -> dict:
    rows = [_diag(m, label) for m in models]
    problems = [
        f"imputation {i}: {r['warnings']}" for i, r in enumerate(rows, start=1) if r["warnings"]
    ]
    notes = [f"imputation {i}: {r['notes']}" for i, r in enumerate(rows, start=1) if r["notes"]]
    return {
        "trial": rows[0]["trial"],
        "analysis": label,
        "outcome": rows[0]["outcome"],
        "converged": all(r["converged"] for r in rows),
        "optimizer": "; ".join(sorted({r["optimizer"] for r in rows})),
        "boundary": any(r["boundary"] for r in rows),
        "singular": any(r["singular"] for r in rows),
        "n_used": rows[0]["n_used"],
        "n_dropped": max(r["n_dropped"] for r in rows),
        "warnings": " | ".join(problems),
        "notes": " | ".join([*notes, f"{len(rows)} fits, one per imputation"]),
    }
