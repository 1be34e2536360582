"""Repeated-measures models of the PREPARE outcomes (intention to treat).

The within-patient covariance over time points is set by
``mixed_model.covariance``: ``us`` (default; an MMRM with unstructured
covariance, ``us(timepoint | patient_id)``), another residual structure of
:mod:`trialanalysis.models.covariance` (``cs``, ``csh``, ``ar1``, ``ar1h``,
``toep``, ``toeph``), or ``random_intercept`` (exchangeable, through a random
patient intercept, optionally with a random slope in time). The structures
in ``mixed_model.sensitivity`` are fitted too and reported beside the main
model. Below, ``<cov>`` stands for the covariance term.

Two ways of handling the baseline value are offered (``mixed_model.baseline``):

``covariate`` (ANCOVA-type LMM)
    The follow-up values are the response; the baseline value is a covariate
    (with a separate slope per follow-up time point when
    ``baseline_by_time``)::

        y ~ timepoint * treatment + y_baseline * timepoint + covariates + <cov>

    Patients without a baseline value are left out. Baseline means by arm
    are shown as observed (descriptive) values.

``response`` (constrained longitudinal data analysis, cLDA; Liang & Zeger 2000)
    Every time point, baseline included, is a response; both arms share one
    baseline mean (randomisation) and differ from the first follow-up on::

        y ~ timepoint + treatment_<t1> + treatment_<t2> + ... + covariates + <cov>

    where ``treatment_<t>`` is 1 for intervention-arm rows at follow-up
    ``t``. Patients with any observed value contribute. With ``us`` this is
    the original cLDA with unstructured covariance.

Either way the estimated marginal means (EMMs) of each arm at each time
point and the between-arm differences come from linear contrasts of the fixed
effects (numeric covariates at their mean over the rows used, factor
covariates averaged with equal weights, as emmeans does), with the
configured small-sample degrees of freedom.

References
----------
Liang KY, Zeger SL. Longitudinal data analysis of continuous and discrete
responses for pre-post designs. Sankhya B 2000;62:134-48.
Coffman CJ et al. A comparison of the constrained longitudinal data analysis
and ANCOVA-type models. Stat Med 2016;35:4253-67.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.analyses.common.fits import diagnostics_record
from trialanalysis.analyses.prepare.data import PrepareData
from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.classical import fit_ols
from trialanalysis.models.covariance import STRUCTURES
from trialanalysis.models.design import fixed_matrix
from trialanalysis.models.emmeans import reference_grid
from trialanalysis.models.formula_syntax import design_matrices
from trialanalysis.models.gee import t_interval
from trialanalysis.models.mixed import MixedModelResult, fit_mixed

TRIAL = "prepare"
RANDOM_INTERCEPT = "random_intercept"
COVARIANCES = (*STRUCTURES, RANDOM_INTERCEPT)


def covariance_label(covariance: str, random_slope: bool = False) -> str:
    """Plain-language name of a within-patient covariance choice."""
    if covariance == RANDOM_INTERCEPT:
        slope = " and slope in time" if random_slope else ""
        return f"random patient intercept{slope} (exchangeable)"
    return f"{STRUCTURES[covariance]} ({covariance}; MMRM)"


@dataclass
class OutcomeModel:
    """One fitted repeated-measures model.

    Attributes
    ----------
    outcome : str
    design : {"covariate", "response"}
    formula : str
        lme4 notation, as fitted.
    fit : MixedModelResult
    frame : DataFrame
        The rows given to the fit (incomplete rows are dropped by the fit).
    used : DataFrame
        ``patient_id, arm, timepoint`` of the rows used.
    timepoints : list of str
        Time points of the response.
    follow_ups : list of str
        Follow-up time points with data.
    arms : list of str
    warnings : list of str
        Warnings raised while fitting.
    covariance : str
        Within-patient covariance (one of :data:`COVARIANCES`).
    """

    outcome: str
    design: str
    formula: str
    fit: MixedModelResult
    frame: pd.DataFrame
    used: pd.DataFrame
    timepoints: list[str]
    follow_ups: list[str]
    arms: list[str]
    warnings: list[str]
    covariance: str = RANDOM_INTERCEPT

    @property
    def contrast_label(self) -> str:
        """Label of the between-arm difference (intervention minus control)."""
        return f"{self.arms[1]} - {self.arms[0]}"


def baseline_column(outcome: str) -> str:
    """Name of the baseline covariate of an outcome."""
    return f"{outcome}_baseline"


def model_frame(
    data: PrepareData, outcome: str, design: str, long: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Rows and derived columns for the model of one outcome.

    Parameters
    ----------
    data : PrepareData
    outcome : str
    design : {"covariate", "response"}
    long : DataFrame, optional
        Long table to use instead of ``data.long`` (e.g. a completed
        imputation); same columns.

    Returns
    -------
    (DataFrame, list of str)
        The model rows and the follow-up time points with at least one
        observed value (the time points the model can estimate).
    """
    long = data.long if long is None else long
    observed = long.loc[long[outcome].notna(), "timepoint"].astype(str)
    follow = [t for t in data.follow_ups if t in set(observed)]
    if not follow:
        raise ModelSpecificationError(f"{outcome}: no follow-up values observed; nothing to model")
    if design == "covariate":
        if len(follow) < 2:
            raise ModelSpecificationError(
                f"{outcome}: only one follow-up time point ({follow}) has data; a repeated-"
                "measures model needs repeated follow-ups: set prepare.analyses.mixed_model."
                "baseline to response, or use the ANCOVA check"
            )
        base = long.loc[long["timepoint"] == data.baseline, ["patient_id", outcome]]
        base = base.rename(columns={outcome: baseline_column(outcome)})
        frame = long[long["timepoint"].isin(follow)].merge(base, on="patient_id", how="left")
        frame["timepoint"] = pd.Categorical(frame["timepoint"].astype(str), categories=follow)
        return frame, follow
    frame = long[long["timepoint"].isin([data.baseline, *follow])].copy()
    frame["timepoint"] = pd.Categorical(
        frame["timepoint"].astype(str), categories=[data.baseline, *follow]
    )
    for t in follow:
        frame[f"treatment_{t}"] = frame["treatment"] * (frame["timepoint"] == t).astype(int)
    return frame, follow


def model_formula(
    outcome: str,
    design: str,
    follow: Sequence[str],
    covariates: Sequence[str] = (),
    baseline_by_time: bool = True,
    random_slope: bool = False,
    covariance: str = RANDOM_INTERCEPT,
) -> str:
    """Return the formula of the model (see the module docstring).

    ``random_slope`` applies to ``covariance="random_intercept"`` only.
    """
    if design == "covariate":
        base = baseline_column(outcome)
        terms = ["timepoint * treatment", f"{base} * timepoint" if baseline_by_time else base]
    elif design == "response":
        terms = ["timepoint", *[f"treatment_{t}" for t in follow]]
    else:
        raise ModelSpecificationError(
            f"mixed_model.baseline {design!r}: use covariate or response"
        )
    terms += list(covariates)
    if covariance in STRUCTURES:
        random = f"{covariance}(timepoint | patient_id)"
    elif covariance == RANDOM_INTERCEPT:
        random = "(1 + years | patient_id)" if random_slope else "(1 | patient_id)"
    else:
        raise ModelSpecificationError(
            f"mixed_model.covariance {covariance!r}: use one of {', '.join(COVARIANCES)}"
        )
    return f"{outcome} ~ {' + '.join(terms)} + {random}"


def fit_outcome_model(
    data: PrepareData,
    outcome: str,
    settings: Mapping,
    covariates: Sequence[str] = (),
    level: float = 0.95,
    long: pd.DataFrame | None = None,
    covariance: str | None = None,
) -> OutcomeModel:
    """Fit the repeated-measures model of one outcome.

    Parameters
    ----------
    data : PrepareData
    outcome : str
    settings : mapping
        ``prepare.analyses.mixed_model`` (baseline, baseline_by_time,
        covariance, random_slope, df_method, reml).
    covariates : sequence of str
        Patient columns added as fixed effects.
    level : float
        Confidence level.
    long : DataFrame, optional
        Long data to fit instead of ``data.long`` (e.g. one imputation).
    covariance : str, optional
        Covariance to fit instead of ``settings["covariance"]`` (a
        sensitivity analysis).

    Returns
    -------
    OutcomeModel
    """
    design = settings["baseline"]
    covariance = covariance or settings["covariance"]
    slope = bool(settings["random_slope"]) and covariance == RANDOM_INTERCEPT
    frame, follow = model_frame(data, outcome, design, long)
    if slope and "years" not in frame.columns:
        raise ModelSpecificationError(
            "a random slope needs response_date (outcomes) and randomisation_date (patients)"
        )
    formula = model_formula(
        outcome, design, follow, covariates, settings["baseline_by_time"], slope, covariance
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_mixed(
            frame, formula, df_method=settings["df_method"], reml=settings["reml"], level=level
        )
    columns = [outcome, *covariates] + (
        [baseline_column(outcome)] if design == "covariate" else []
    )
    columns += ["years"] if slope else []
    used = frame.loc[frame[columns].notna().all(axis=1), ["patient_id", "arm", "timepoint"]]
    used = used.assign(timepoint=used["timepoint"].astype(str)).reset_index(drop=True)
    timepoints = follow if design == "covariate" else [data.baseline, *follow]
    return OutcomeModel(
        outcome, design, formula, fit, frame, used, timepoints, follow, list(data.arms),
        [f"{w.category.__name__}: {w.message}" for w in caught], covariance,
    )  # fmt: skip


def _cell_weights(model: OutcomeModel, treatment: int, timepoint: str) -> np.ndarray:
    """Fixed-effect weights of the mean of one arm at one time point (emmeans-style grid)."""
    grid, _ = reference_grid(model.fit.model)
    grid = grid[grid["timepoint"].astype(str) == timepoint].copy()
    if model.design == "covariate":
        grid["treatment"] = treatment
    else:
        for t in model.follow_ups:
            grid[f"treatment_{t}"] = treatment if t == timepoint else 0
    return fixed_matrix(model.fit.model, grid).mean(axis=0)


def cell_means(model: OutcomeModel, baseline: str = "baseline") -> pd.DataFrame:
    """Estimated marginal means of each arm at each time point, baseline included, from one model.

    With the baseline as covariate the model's means are those of patients
    at the mean baseline of the model's data (emmeans' reference grid), so the
    baseline rows are that value for both arms (``source`` = covariate; no
    interval: the model conditions on it), and a drawn change from baseline
    is the model's adjusted change. With the baseline as a response the
    baseline rows are the model's own means.

    Parameters
    ----------
    model : OutcomeModel
    baseline : str
        The baseline time point (named in the rows of a covariate model).

    Returns
    -------
    DataFrame
        ``outcome, arm, timepoint, estimate, std_error, df, conf_low,
        conf_high, n, source``.
    """
    rows, labels = {}, []
    for timepoint in model.timepoints:
        for treatment, arm in enumerate(model.arms):
            key = f"{arm}@{timepoint}"
            rows[key] = _cell_weights(model, treatment, timepoint)
            labels.append((arm, timepoint))
    table = model.fit.contrast(rows)
    counts = model.used.groupby(["arm", "timepoint"]).size()
    out = pd.DataFrame(labels, columns=["arm", "timepoint"])
    for column in ("estimate", "std_error", "df", "conf_low", "conf_high"):
        out[column] = table[column].to_numpy()
    out["n"] = [int(counts.get(key, 0)) for key in labels]
    out["source"] = "model"
    if model.design == "covariate":
        grid, _ = reference_grid(model.fit.model)
        value = float(grid[baseline_column(model.outcome)].iloc[0])
        patients = model.used.groupby("arm")["patient_id"].nunique()
        baseline = pd.DataFrame(
            {
                "arm": model.arms,
                "timepoint": baseline,
                "estimate": value,
                "n": [int(patients.get(arm, 0)) for arm in model.arms],
                "source": "covariate",
            }
        )
        out = pd.concat([baseline, out], ignore_index=True)
    return out.assign(outcome=model.outcome)[["outcome", *out.columns]]


def arm_differences(model: OutcomeModel) -> pd.DataFrame:
    """Between-arm differences (intervention - control) at each follow-up time point.

    Returns
    -------
    DataFrame
        ``outcome, timepoint, contrast, estimate, std_error, df, statistic,
        p_value, conf_low, conf_high, df_method, n_control, n_intervention,
        design, covariance``.
    """
    weights = {
        t: _cell_weights(model, 1, t) - _cell_weights(model, 0, t) for t in model.follow_ups
    }
    table = model.fit.contrast(weights).rename(columns={"contrast": "timepoint"})
    counts = model.used.groupby(["arm", "timepoint"]).size()
    table.insert(0, "outcome", model.outcome)
    table.insert(2, "contrast", model.contrast_label)
    table["n_control"] = [int(counts.get((model.arms[0], t), 0)) for t in model.follow_ups]
    table["n_intervention"] = [int(counts.get((model.arms[1], t), 0)) for t in model.follow_ups]
    table["design"] = model.design
    table["covariance"] = model.covariance
    return table


def coefficient_table(model: OutcomeModel) -> pd.DataFrame:
    """Fixed-effect coefficients with the outcome and formula."""
    table = model.fit.coefficients.copy()
    table.insert(0, "outcome", model.outcome)
    table["formula"] = model.formula
    return table


MISSING_BASELINE_TEXT = {
    "clda": "modelled with the baseline as a response (cLDA, common baseline mean), so "
    "patients without a baseline value are kept",
    "impute": "the missing baseline covariate replaced by the mean of the observed baselines "
    "(White & Thompson 2005), so patients without a baseline value are kept",
    "exclude": "patients without a baseline value left out",
}


def without_baseline(data: PrepareData, outcome: str) -> list[str]:
    """Patients with a follow-up value of ``outcome`` but none at baseline."""
    observed = data.long[data.long[outcome].notna()]
    at_baseline = set(observed.loc[observed["timepoint"] == data.baseline, "patient_id"])
    followed = observed.loc[observed["timepoint"] != data.baseline, "patient_id"]
    return sorted(set(followed) - at_baseline)


@dataclass(frozen=True)
class SecondaryInputs:
    """What a secondary outcome's model is fitted with under ``missing_baseline``.

    Attributes
    ----------
    mixed : dict
        The mixed-model settings.
    long : DataFrame or None
        The long data to fit (None = ``data.long``).
    note : str
        A note for the report ("" when nothing changed).
    """

    mixed: dict
    long: pd.DataFrame | None
    note: str


def secondary_model_inputs(
    data: PrepareData, outcome: str, mixed: Mapping, how: str, count=str
) -> SecondaryInputs:
    """Model settings and data of a secondary outcome under ``missing_baseline``.

    Only when the baseline is a covariate and some patients lack it does
    ``how`` change anything: ``clda`` fits the outcome with the baseline as a
    response, ``impute`` fills the missing baseline with the observed mean
    (White & Thompson 2005), ``exclude`` leaves such patients out. ``count``
    writes the number of patients in the note (the report passes the
    small-cell rule's ``SuppressionRule.count``).

    Returns
    -------
    SecondaryInputs
    """
    lacking = without_baseline(data, outcome)
    if mixed["baseline"] != "covariate" or not lacking:
        return SecondaryInputs(dict(mixed), None, "")
    who = "patient" if len(lacking) == 1 else "patients"
    note = f"{count(len(lacking))} {who} without a baseline value: {MISSING_BASELINE_TEXT[how]}"
    if how == "clda":
        return SecondaryInputs({**mixed, "baseline": "response"}, None, note)
    if how == "exclude":
        return SecondaryInputs(dict(mixed), None, note)
    mean = float(data.long.loc[data.long["timepoint"] == data.baseline, outcome].mean())
    long = data.long.copy()
    at_baseline = long["timepoint"] == data.baseline
    fill = at_baseline & long[outcome].isna()
    long.loc[fill, outcome] = mean
    present = set(long.loc[at_baseline, "patient_id"])
    absent = [p for p in lacking if p not in present]
    if absent:
        rows = data.patients[data.patients["patient_id"].isin(absent)].assign(
            timepoint=data.baseline, **{outcome: mean}
        )
        long = pd.concat([long, rows[[c for c in long.columns if c in rows.columns]]])
        long["timepoint"] = pd.Categorical(
            long["timepoint"].astype(str), categories=data.timepoints
        )
        long = long.sort_values(["patient_id", "timepoint"]).reset_index(drop=True)
    return SecondaryInputs(dict(mixed), long, note)


def ancova_check(
    data: PrepareData,
    outcome: str,
    timepoint: str,
    covariates: Sequence[str] = (),
    level: float = 0.95,
) -> dict:
    """ANCOVA (ordinary least squares) at one follow-up: ``y_t ~ treatment + y_baseline``.

    Complete cases at the time point; a check on the mixed model's estimate.

    Returns
    -------
    dict
        ``outcome, timepoint, analysis, estimate, std_error, df, statistic,
        p_value, conf_low, conf_high, n, formula``.
    """
    base = baseline_column(outcome)
    wide = data.wide([outcome], [data.baseline, timepoint])
    frame = data.patients.set_index("patient_id").join(wide)
    frame = frame.rename(
        columns={f"{outcome}_{data.baseline}": base, f"{outcome}_{timepoint}": "y"}
    )
    terms = ["treatment", base, *[_ols_term(frame, c) for c in covariates]]
    formula = f"y ~ {' + '.join(terms)}"
    used = frame[["y", "treatment", base, *covariates]].dropna()
    if len(used) < len(terms) + 3:
        raise ModelSpecificationError(
            f"ANCOVA of {outcome} at {timepoint}: too few complete cases"
        )
    fit = fit_ols(*design_matrices(formula, used))
    estimate, se, df = fit.params["treatment"], fit.bse["treatment"], float(fit.df_resid)
    limits = t_interval(estimate, se, df, level)
    return {
        "outcome": outcome, "timepoint": timepoint,
        "analysis": "ANCOVA (OLS, complete cases at the time point)",
        "estimate": float(estimate), "std_error": float(se), "df": df,
        "statistic": float(limits["statistic"]), "p_value": float(limits["p_value"]),
        "conf_low": float(limits["conf_low"]), "conf_high": float(limits["conf_high"]),
        "n": len(used), "formula": f"{outcome}[{timepoint}] ~ treatment + {outcome}[baseline]"
        + "".join(f" + {c}" for c in covariates),
    }  # fmt: skip


def _ols_term(frame: pd.DataFrame, column: str) -> str:
    return column if pd.api.types.is_numeric_dtype(frame[column]) else f"C({column})"


def diagnostics_row(
    diagnostics: Mapping, analysis: str, outcome: str, extra_warnings: Sequence[str] = ()
) -> dict:
    """One row of the diagnostics table from a mixed model's ``diagnostics``."""
    return diagnostics_record(
        diagnostics, extra_warnings, trial=TRIAL, analysis=analysis, outcome=outcome
    )


def least_squares_row(
    analysis: str, outcome: str, n_used: int, n_dropped: int, caught: Sequence = ()
) -> dict:
    """Diagnostics row of a least-squares fit (closed form: nothing to converge).

    ``caught`` holds the warnings recorded during the fit.
    """
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    info = {"optimizer": "least squares", "n_used": n_used, "n_dropped": n_dropped}
    return diagnostics_record(
        info, messages, trial=TRIAL, analysis=analysis, outcome=outcome, model="least squares"
    )


def model_diagnostics(model: OutcomeModel, analysis: str) -> dict:
    """Diagnostics row of a fitted outcome model (call after its contrasts)."""
    return diagnostics_row(model.fit.diagnostics, analysis, model.outcome, model.warnings)
