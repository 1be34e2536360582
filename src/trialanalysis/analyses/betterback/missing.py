"""BetterBack multiple imputation using earlier follow-ups, and delta-adjusted MI.

The patients' primary outcomes at baseline and at every follow-up (wide: one
row per enrolled patient) are imputed ``m`` times together by chained
predictive mean matching (:func:`~trialanalysis.models.imputation.impute_chained`),
with treatment, calendar period and clinic (as fixed-effect indicators: the
clustering enters the imputation model as clinic fixed effects) and the
numeric covariates as complete predictors. A score at 6 or 12 months is
therefore imputed from the earlier follow-up scores as well as from
baseline, so dropout that depends on an earlier follow-up is MAR given the
imputation model, which the likelihood analysis of each follow-up on its own
(conditioning on baseline only) does not cover.

Each completed data set is analysed with the primary Hussey & Hughes model
of each outcome and follow-up (:func:`~.patients.fit_outcome`), and the
treatment effects are pooled by Rubin's rules with Barnard-Rubin df (the
model's df as complete-data df).

The delta-adjusted analysis shifts the imputed values of an outcome at the
primary time point by ``delta`` in the configured condition(s) and refits
(:mod:`trialanalysis.models.delta_adjust`); ``delta`` runs over a grid in
units of the outcome's baseline SD and the tipping point (the delta at which
the 95% CI reaches 0) is found by Brent's method between grid points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialanalysis.analyses.betterback.data import outcome_data
from trialanalysis.analyses.betterback.patients import fit_outcome
from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.delta_adjust import pooled_at, shifted_rows, tipping_points
from trialanalysis.models.imputation import impute_chained, pool_rubin

MI_LABEL = "multiple imputation with earlier follow-ups (m = {m}, clinic fixed effects)"


def imputation_frame(
    design: pd.DataFrame,
    scores: pd.DataFrame,
    outcomes: Sequence[str],
    timepoints: Sequence[str],
    covariates: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Wide table of the imputation model and its missingness mask.

    Returns
    -------
    (DataFrame, DataFrame)
        One row per enrolled patient (index ``patient_id``): ``<score>@<t>``
        for every outcome and time point, ``treatment``, period and clinic
        indicators, numeric covariates; and the boolean mask of the score
        cells that are missing.
    """
    frame = design.set_index("patient_id")
    wide = pd.DataFrame(index=frame.index)
    for score in outcomes:
        spread = scores.pivot(index="patient_id", columns="timepoint", values=score)
        for t in timepoints:
            column = spread[t] if t in spread.columns else pd.Series(dtype=float)
            wide[f"{score}@{t}"] = column.reindex(wide.index).astype(float)
    observed = wide.columns[wide.notna().sum() >= 7]  # impute only what was measured
    wide = wide[observed]
    missing = wide.isna()
    predictors = pd.DataFrame(index=frame.index)
    for name in ("period", "clinic_id"):
        dummies = pd.get_dummies(frame[name].astype(str), prefix=name, drop_first=True)
        predictors = predictors.join(dummies.astype(float))
    predictors["treatment"] = frame["treatment"].astype(float)
    for column in covariates:
        values = pd.to_numeric(frame[column], errors="coerce")
        if values.notna().all():
            predictors[column] = values.astype(float)
    return wide.join(_independent(predictors)), missing


def _independent(predictors: pd.DataFrame) -> pd.DataFrame:
    """Drop predictors in the span of earlier ones.

    In a dog-leg design treatment is a combination of clinic and period
    indicators; they then carry the condition.
    """
    kept: list[str] = []
    for column in predictors.columns:
        trial = np.column_stack([np.ones(len(predictors)), predictors[[*kept, column]].to_numpy()])
        if np.linalg.matrix_rank(trial) == trial.shape[1]:
            kept.append(column)
    return predictors[kept]


def completed_scores(wide: pd.DataFrame, outcomes: Sequence[str], timepoints) -> pd.DataFrame:
    """Long score table (``patient_id, timepoint, <scores>``) of one completed wide table."""
    parts = []
    for t in timepoints:
        columns = {f"{s}@{t}": s for s in outcomes if f"{s}@{t}" in wide.columns}
        if not columns:
            continue
        part = wide[list(columns)].rename(columns=columns).reset_index()
        parts.append(part.assign(timepoint=t))
    return pd.concat(parts, ignore_index=True)


def impute(design, scores, outcomes, timepoints, covariates, settings, seed):
    """Impute the wide table ``m`` times; return the completed tables and the mask."""
    frame, missing = imputation_frame(design, scores, outcomes, timepoints, covariates)
    options = {k: settings[k] for k in ("m", "iterations", "donors")}
    return impute_chained(frame, seed=seed, columns=list(missing.columns), **options), missing


def _effects(design, wide, spec, settings, outcomes, timepoints, baseline) -> pd.DataFrame:
    long_scores = completed_scores(wide, outcomes, timepoints)
    data = outcome_data(design, long_scores, spec.outcome.score, settings["timepoints"], baseline)
    fitted = fit_outcome(data, spec, settings)
    effects, diagnostics = fitted.effects, fitted.diagnostics
    if not effects:
        reasons = "; ".join(str(d.get("warnings", "")) for d in diagnostics)
        raise ModelSpecificationError(
            f"the model of {spec.outcome.score} could not be fitted on an imputed data set: "
            f"{reasons}"
        )
    table = pd.DataFrame(effects)
    return table.rename(columns={"timepoint": "term"})[["term", "estimate", "std_error", "df"]]


def mi_effects(design, completed, specs, settings, outcomes, timepoints, level=0.95):
    """Pooled treatment effect per primary outcome and follow-up.

    Returns
    -------
    DataFrame
        ``outcome, timepoint, analysis, estimate, std_error, df, statistic,
        p_value, conf_low, conf_high, riv, fmi, m``.
    """
    baseline = timepoints[0]
    rows = []
    for score, spec in specs.items():
        tables = [
            _effects(design, w, spec, settings, outcomes, timepoints, baseline) for w in completed
        ]
        pooled = pool_rubin(tables, level).rename(columns={"term": "timepoint"})
        rows.append(pooled.assign(outcome=score, analysis=MI_LABEL.format(m=len(completed))))
    columns = ["outcome", "timepoint", "analysis", "estimate", "std_error", "df", "statistic",
               "p_value", "conf_low", "conf_high", "riv", "fmi", "m"]  # fmt: skip
    return pd.concat(rows, ignore_index=True)[columns]


def delta_adjusted(
    design, completed, missing, specs, settings, delta, outcomes, timepoints, level=0.95
):
    """Delta grid and tipping points at the primary time point for each primary outcome.

    Parameters
    ----------
    delta : mapping
        ``betterback.analyses.sensitivity.delta_adjustment`` (``arms``,
        ``grid_sd``, ``tolerance_sd``).

    Returns
    -------
    (DataFrame, DataFrame)
        The grid (``outcome, delta, delta_sd, estimate, std_error, df,
        p_value, conf_low, conf_high, conclusion, arms``) and one row of
        tipping points per outcome (``significance_low/high`` and
        ``sign_low/high``, in outcome units and in baseline SDs).
    """
    baseline, primary = timepoints[0], settings["primary_timepoint"]
    single = {**settings, "timepoints": [primary]}
    treatment = design.set_index("patient_id")["treatment"].reindex(completed[0].index)
    rows = shifted_rows(treatment, delta["arms"])
    grids, points = [], []
    for score, spec in specs.items():
        column = f"{score}@{primary}"
        observed = completed[0].loc[~missing[f"{score}@{baseline}"], f"{score}@{baseline}"]
        sd = float(observed.std(ddof=1))

        def analyse(wide, spec=spec):
            table = _effects(design, wide, spec, single, outcomes, timepoints, baseline)
            return table[table["term"] == primary]

        def evaluate(d, column=column, analyse=analyse):
            return pooled_at(completed, missing[[column]], rows, analyse, primary, d, level)

        grid, found = tipping_points(
            evaluate, [g * sd for g in delta["grid_sd"]], xtol=delta["tolerance_sd"] * sd
        )
        grids.append(grid.assign(outcome=score, delta_sd=grid["delta"] / sd, arms=delta["arms"]))
        points.append(
            {
                "outcome": score,
                "timepoint": primary,
                "arms": delta["arms"],
                "baseline_sd": sd,
                **found,
                **{f"{k}_sd": v / sd for k, v in found.items()},
            }
        )
    return pd.concat(grids, ignore_index=True), pd.DataFrame(points)
