"""Sensitivity analyses of the BetterBack patient trial (primary time point).

For each chosen outcome, beside the primary Hussey & Hughes estimate:

- cluster-level analysis: clinic means of covariate-adjusted residuals
  compared within calendar periods, t on cluster-level df
  (:func:`~trialanalysis.models.cluster_level.cluster_level_analysis`);
- randomization test: the schedule's sequences re-assigned to the allocation
  clusters, the primary model refitted for every feasible allocation
  (:func:`~trialanalysis.models.randomization.randomization_test`). With 3
  allocation clusters in a staircase each cluster is observed only in its own
  periods, so the observed allocation may be the only feasible one; the
  result then says the test cannot detect an effect, and that is reported;
- missing data: complete cases (patients observed at baseline and every
  follow-up) and all available follow-ups in one repeated-measures model with
  a patient random intercept (valid when missingness depends on observed
  earlier outcomes: missing at random);
- boundary: when a variance is estimated at zero, the model without that
  random effect (ordinary least squares with residual df when none is left).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.analyses.betterback.patients import (
    PatientResults,
    model_spec,
    primary_fit,
    treatment_term,
)
from trialanalysis.analyses.common.fits import (
    fit_mixed_recorded,
    mixed_diagnostics,
    mixed_formula,
    not_fitted_row,
)
from trialanalysis.errors import ModelFitError, ModelSpecificationError
from trialanalysis.models.classical import fit_ols
from trialanalysis.models.cluster_level import cluster_level_analysis
from trialanalysis.models.formula import parse_formula
from trialanalysis.models.formula_syntax import design_matrices
from trialanalysis.models.gee import t_interval
from trialanalysis.models.randomization import randomization_test

TRIAL = "betterback"
COLUMNS = [
    "outcome",
    "label",
    "timepoint",
    "analysis",
    "estimate",
    "std_error",
    "df",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_obs",
    "n_clinics",
    "note",
    "formula",
]


def _row(spec, timepoint, analysis, values: Mapping, note="", formula="") -> dict:
    row = {"outcome": spec.outcome.score, "label": spec.outcome.label, "timepoint": timepoint}
    row["analysis"] = analysis
    row.update({k: values.get(k, np.nan) for k in COLUMNS[4:13]})
    row.update({"note": note, "formula": formula})
    return row


def _model_row(fit, spec, settings, timepoint, analysis, note="") -> dict:
    coefficient = fit.coefficients.set_index("term").loc[treatment_term(settings, timepoint)]
    used = fit.model.frame
    if "timepoint" in used and used["timepoint"].nunique() > 1:
        used = used[used["timepoint"] == timepoint]
    values = coefficient.to_dict()
    values.update({"n_obs": len(used), "n_clinics": used["clinic_id"].nunique()})
    return _row(spec, timepoint, analysis, values, note, spec.formula)


def _numeric_covariates(data: pd.DataFrame, names: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Encode text covariates as 0/1 columns (first level as reference) for stage 1."""
    frame, columns = data.copy(), []
    for name in names:
        if pd.api.types.is_numeric_dtype(frame[name]):
            columns.append(name)
            continue
        dummies = pd.get_dummies(frame[name], prefix=name, drop_first=True, dtype=float)
        dummies[frame[name].isna()] = np.nan
        frame = pd.concat([frame, dummies], axis=1)
        columns += list(dummies.columns)
    return frame, columns


def cluster_level(data, spec, timepoint) -> dict:
    """Cluster-level (two-stage) analysis of one outcome at one time point."""
    frame, covariates = _numeric_covariates(data, spec.adjustment)
    table = cluster_level_analysis(
        frame, spec.response, "treatment", "clinic_id", covariates=covariates, period="period"
    )
    result = table.iloc[0].to_dict()
    result["n_clinics"] = result["n_clusters"]
    note = f"periods compared: {result['periods_used']}; {result['n_cells']} clinic-periods"
    if result["note"]:
        note += f"; {result['note']}"
    formula = f"stage 1: {spec.response} ~ {' + '.join(covariates) or '1'}"
    return _row(
        spec, timepoint, "cluster-level (clinic means within periods)", result, note, formula
    )


def randomization(data, spec, settings, schedule, max_permutations, seed) -> pd.DataFrame:
    """Randomization test with the primary model's treatment estimate as the statistic."""
    used = data.dropna(subset=[c for c in data.columns if c in _model_columns(spec)])
    term = treatment_term(settings, settings["primary_timepoint"])

    def statistic(frame: pd.DataFrame) -> float:
        fit = fit_mixed_recorded(frame, spec.formula, df_method="z")
        return float(fit.coefficients.set_index("term").loc[term, "estimate"])

    return randomization_test(
        used,
        schedule,
        statistic,
        unit="cluster_id",
        max_permutations=max_permutations,
        seed=seed,
    )


def _model_columns(spec) -> set[str]:
    return set(parse_formula(spec.formula).variables())


def without_boundary(fit, data, spec, settings, timepoint) -> tuple[dict | None, str]:
    """Refit without the random terms whose variance is at zero."""
    terms = fit.diagnostics["boundary_terms"]
    if not terms:
        return None, ""
    groups = {t.split(" | ", 1)[1] for t in terms}
    parsed = parse_formula(spec.formula)
    kept = [t.source for t in parsed.random if t.group_label not in groups]
    slopes = [t for t in terms if not t.startswith("(Intercept)")]
    if slopes:
        return None, f"not refitted: boundary slope variance(s) {slopes}; simplify by hand"
    note = f"without {', '.join(sorted(groups))} (variance estimated at 0)"
    if kept:
        formula = mixed_formula(spec.response, spec.fixed, kept)
        refit = fit_mixed_recorded(data, formula, df_method=settings["df_method"])
        row = _model_row(refit, spec, settings, timepoint, "without boundary random effect", note)
        row["formula"] = formula
        return row, ""
    formula = f"{spec.response} ~ " + " + ".join(spec.fixed)
    y, x = design_matrices(formula, data)
    ols = fit_ols(y, x)
    values = {
        "estimate": ols.params["treatment"],
        "std_error": ols.bse["treatment"],
        "df": float(ols.df_resid),
    }
    values.update(
        {
            k: float(v)
            for k, v in t_interval(values["estimate"], values["std_error"], values["df"]).items()
        }
    )
    values.update(
        {
            "n_obs": int(ols.nobs),
            "n_clinics": data.loc[y.index, "clinic_id"].nunique(),
        }
    )
    note += "; no random effect left: ordinary least squares, residual df"
    return _row(spec, timepoint, "without boundary random effect", values, note, formula), ""


@dataclass(frozen=True)
class SensitivityResults:
    """The sensitivity analyses: estimates, randomization tests and diagnostics."""

    table: pd.DataFrame
    randomization: pd.DataFrame
    diagnostics: pd.DataFrame


def sensitivity_analyses(
    results: PatientResults,
    settings: Mapping,
    sensitivity: Mapping,
    schedule: pd.DataFrame,
    patient_timepoints: list[str],
    seed: int,
) -> SensitivityResults:
    """Run the configured sensitivity analyses.

    Parameters
    ----------
    results : PatientResults
        The fitted primary analysis (:func:`~.betterback_patients.hussey_hughes`).
    settings, sensitivity : mapping
        ``betterback.analyses.patients`` and ``betterback.analyses.sensitivity``.
    schedule : DataFrame
        The allocation schedule (``cluster_id, period, condition``).
    patient_timepoints : list of str
        Design time points (the first is baseline).
    seed : int
        Seed of a Monte-Carlo randomization test.

    Returns
    -------
    table, randomization, diagnostics : DataFrame
    """
    timepoint = settings["primary_timepoint"]
    chosen = sensitivity["outcomes"] or [
        s for s, spec in results.specs.items() if spec.outcome.primary
    ]
    rows, tests, diagnostics = [], [], []
    for score in chosen:
        spec = results.specs[score]
        fit = primary_fit(results, settings, score)
        if fit is None:
            continue
        data = results.data[score]
        at = data[data["timepoint"] == timepoint]
        rows.append(_model_row(fit, spec, settings, timepoint, "primary analysis"))
        if sensitivity["cluster_level"]:
            try:
                rows.append(cluster_level(at, spec, timepoint))
            except ModelSpecificationError as exc:
                rows.append(_row(spec, timepoint, "cluster-level", {}, f"not possible: {exc}"))
        if sensitivity["randomization_test"]:
            subset = at if settings["model"] == "per_timepoint" else data
            try:
                test = randomization(
                    subset, spec, settings, schedule, sensitivity["max_permutations"], seed
                )
            except (ModelSpecificationError, ModelFitError) as exc:
                note = f"not possible: {exc}"
                rows.append(_row(spec, timepoint, "randomization test", {}, note))
                test = None
        else:
            test = None
        if test is not None:
            test.insert(0, "outcome", score)
            test.insert(1, "timepoint", timepoint)
            tests.append(test)
            entry = test.iloc[0]
            note = (
                f"{entry['n_feasible']} feasible of {entry['n_allocations']} allocations "
                f"({'exact' if entry['exact'] else 'Monte Carlo'}); smallest attainable p = "
                f"{entry['min_attainable_p']:.3g}"
            )
            if entry["note"]:
                note += ": the test cannot detect an effect in this design"
            values = {
                "estimate": entry["statistic"],
                "p_value": entry["p_value"],
                "n_obs": len(at.dropna(subset=[spec.response])),
            }
            rows.append(_row(spec, timepoint, "randomization test", values, note, spec.formula))
        if sensitivity["missing_data"]:
            rows += _missing_data_rows(results, spec, settings, patient_timepoints, diagnostics)
        if sensitivity["boundary_refit"]:
            subset = at if settings["model"] == "per_timepoint" else data
            try:
                row, note = without_boundary(fit, subset, spec, settings, timepoint)
            except (ModelSpecificationError, ModelFitError) as exc:
                row, note = None, f"refit not possible: {exc}"
            if row is not None:
                rows.append(row)
            elif note:
                rows.append(_row(spec, timepoint, "without boundary random effect", {}, note))
    randomization_table = pd.concat(tests, ignore_index=True) if tests else pd.DataFrame()
    return SensitivityResults(
        pd.DataFrame(rows, columns=COLUMNS), randomization_table, pd.DataFrame(diagnostics)
    )


def _missing_data_rows(results, spec, settings, patient_timepoints, diagnostics) -> list[dict]:
    score, timepoint = spec.outcome.score, settings["primary_timepoint"]
    data = results.data[score]
    labels = {"trial": TRIAL, "outcome": score, "timepoint": timepoint}
    rows = []
    # complete cases: outcome at baseline (if measured) and every follow-up, all covariates
    needed = [score, *spec.adjustment]
    complete = data.dropna(subset=needed).groupby("patient_id")["timepoint"].nunique()
    keep = complete[complete == len(settings["timepoints"])].index
    cases = data[data["patient_id"].isin(keep)]
    subset = (
        cases[cases["timepoint"] == timepoint] if settings["model"] == "per_timepoint" else cases
    )
    note = (
        f"{len(keep)} patients observed at every follow-up ({', '.join(settings['timepoints'])})"
    )
    try:
        fit = fit_mixed_recorded(subset, spec.formula, df_method=settings["df_method"])
        diagnostics.append(mixed_diagnostics(fit, **labels, analysis="complete_cases"))
        rows.append(_model_row(fit, spec, settings, timepoint, "complete cases", note))
    except (ModelSpecificationError, ModelFitError) as exc:
        diagnostics.append(not_fitted_row(str(exc), **labels, analysis="complete_cases"))
    # the other model structure: repeated measures (all follow-ups) or per time point
    other = dict(settings)
    if settings["model"] == "per_timepoint":
        other.update(
            model="repeated", random_effects=[*settings["random_effects"], "(1 | patient_id)"]
        )
        analysis = "all available follow-ups, repeated measures (MAR)"
    else:
        kept = [t for t in settings["random_effects"] if "patient_id" not in t]
        other.update(model="per_timepoint", random_effects=kept)
        analysis = "one model per time point"
    other_spec = model_spec(spec.outcome, other, spec.covariates)
    subset = data if other["model"] == "repeated" else data[data["timepoint"] == timepoint]
    try:
        fit = fit_mixed_recorded(subset, other_spec.formula, df_method=settings["df_method"])
        diagnostics.append(mixed_diagnostics(fit, **labels, analysis="missing_data_model"))
        row = _model_row(fit, other_spec, other, timepoint, analysis)
        rows.append(row)
    except (ModelSpecificationError, ModelFitError) as exc:
        diagnostics.append(not_fitted_row(str(exc), **labels, analysis="missing_data_model"))
    return rows
