"""BetterBack patient trial: the Hussey & Hughes model for each outcome.

For a stepped or dog-leg cluster design, Hussey & Hughes (2007) model an
individual outcome with fixed effects for calendar period and treatment and a
random intercept for cluster (here: clinic). With the baseline value of the
outcome as a covariate (ANCOVA) the model for outcome ``y`` at follow-up
``t`` is::

    y_change ~ C(period) + treatment + y_baseline [+ covariates] + (1 | clinic_id) [+ ...]

where ``y_change = y_t - y_baseline`` (``response: change``) or ``y_t``
itself (``response: value``); both give the same treatment estimate. In a
dog-leg design treatment is identified only by comparing clusters within
periods, through the random clinic effect: with clinic fixed effects it would
be confounded with period. ``model: repeated`` fits all follow-ups at once
with time-specific treatment and baseline terms (``timepoint:treatment``,
``timepoint:y_baseline``) and a patient random intercept.

Reference: Hussey MA, Hughes JP. Design and analysis of stepped wedge
cluster randomized trials. Contemp Clin Trials 2007;28(2):182-91.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trialanalysis.analyses.betterback.data import baseline_covariates, has_baseline, outcome_data
from trialanalysis.analyses.common.fits import (
    fit_mixed_recorded,
    mixed_diagnostics,
    mixed_formula,
    not_fitted_row,
)
from trialanalysis.errors import ConfigError, ModelFitError, ModelSpecificationError
from trialanalysis.models.inference import cluster_level_t
from trialanalysis.models.mixed import MixedModelResult
from trialanalysis.models.multiplicity import adjust

TRIAL = "betterback"
EFFECT_COLUMNS = [
    "outcome",
    "label",
    "timepoint",
    "role",
    "response",
    "estimate",
    "std_error",
    "df",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df_method",
    "n_obs",
    "n_control",
    "n_intervention",
    "n_clinics",
    "formula",
    "p_adjusted",
]


@dataclass(frozen=True)
class Outcome:
    """One configured patient outcome."""

    score: str
    label: str
    primary: bool
    baseline: bool


@dataclass(frozen=True)
class ModelSpec:
    """Response column, fixed terms and formula of one outcome's model."""

    outcome: Outcome
    response: str
    response_text: str
    fixed: tuple[str, ...]
    formula: str
    covariates: tuple[str, ...] = ()

    @property
    def adjustment(self) -> list[str]:
        """Baseline value (if any) and covariates: the individual-level adjustment columns."""
        baseline = [f"{self.outcome.score}_baseline"] if self.outcome.baseline else []
        return [*baseline, *self.covariates]


@dataclass
class PatientResults:
    """Everything the patient analysis produces (tidy tables and the fits)."""

    effects: pd.DataFrame
    coefficients: pd.DataFrame
    diagnostics: pd.DataFrame
    fits: dict[tuple[str, str], MixedModelResult] = field(repr=False)
    data: dict[str, pd.DataFrame] = field(repr=False)
    specs: dict[str, ModelSpec] = field(repr=False)


def outcomes_from_settings(
    settings: Mapping, scores: pd.DataFrame, labels: Mapping[str, str], baseline: str
) -> list[Outcome]:
    """Return the configured outcomes with labels and whether each has a baseline."""
    available = [c for c in scores.columns if c not in ("patient_id", "timepoint")]
    missing = [o["score"] for o in settings["outcomes"] if o["score"] not in available]
    if missing:
        raise ConfigError(
            f"betterback.analyses.patients.outcomes: {missing} are not scores of the patient "
            f"questionnaires; available: {', '.join(available)}"
        )
    return [
        Outcome(
            score=o["score"],
            label=o["label"] or labels.get(o["score"], o["score"]),
            primary=bool(o["primary"]),
            baseline=has_baseline(scores, o["score"], baseline),
        )
        for o in settings["outcomes"]
    ]


def model_spec(outcome: Outcome, settings: Mapping, covariates: Sequence[str]) -> ModelSpec:
    """Build the Hussey & Hughes formula of one outcome from the settings."""
    score = outcome.score
    if not outcome.baseline:
        response, text = score, "value at follow-up (no baseline measurement)"
    elif settings["response"] == "change":
        response, text = f"{score}_change", "change from baseline, adjusted for baseline"
    else:
        response, text = score, "value at follow-up, adjusted for baseline"
    baseline_terms = [f"{score}_baseline"] if outcome.baseline else []
    if settings["model"] == "repeated":
        fixed = ["timepoint", "C(period)", "timepoint:treatment"]
        fixed += [f"timepoint:{t}" for t in baseline_terms]
    else:
        fixed = ["C(period)", "treatment", *baseline_terms]
    fixed += list(covariates)
    formula = mixed_formula(response, fixed, settings["random_effects"])
    return ModelSpec(outcome, response, text, tuple(fixed), formula, tuple(covariates))


def treatment_term(settings: Mapping, timepoint: str) -> str:
    """Name of the treatment coefficient at a time point."""
    return (
        "treatment"
        if settings["model"] == "per_timepoint"
        else f"timepoint[{timepoint}]:treatment"
    )


def _effect_row(fit, spec: ModelSpec, settings, timepoint: str) -> dict:
    term = treatment_term(settings, timepoint)
    table = fit.coefficients.set_index("term")
    if term not in table.index:
        raise ModelSpecificationError(
            f"the model of {spec.outcome.score} has no coefficient {term!r} (terms: "
            f"{', '.join(table.index)}); treatment may be constant in the data used"
        )
    row = table.loc[term]
    if settings.get("df_policy") == "cluster-level":
        row = cluster_level_t(fit, term, "clinic_id", ("period",))
    used = fit.model.frame
    if settings["model"] == "repeated":
        used = used[used["timepoint"] == timepoint]
    primary = spec.outcome.primary and timepoint == settings["primary_timepoint"]
    return {
        "outcome": spec.outcome.score,
        "label": spec.outcome.label,
        "timepoint": timepoint,
        "role": "primary" if primary else "secondary",
        "response": spec.response_text,
        **{k: row[k] for k in EFFECT_COLUMNS[5:13]},
        "n_obs": len(used),
        # the patients analysed per condition (the CONSORT "analysed" counts)
        "n_control": int((used["treatment"] == 0).sum()),
        "n_intervention": int((used["treatment"] == 1).sum()),
        "n_clinics": int(used["clinic_id"].nunique()),
        "formula": spec.formula,
    }


@dataclass(frozen=True)
class OutcomeFits:
    """The models of one outcome: fits by time point, effect rows, diagnostics, coefficients."""

    fits: dict[str, MixedModelResult]
    effects: list[dict]
    diagnostics: list[dict]
    coefficients: list[pd.DataFrame]


def fit_outcome(data: pd.DataFrame, spec: ModelSpec, settings: Mapping) -> OutcomeFits:
    """Fit one outcome at every configured follow-up (or once, for ``repeated``).

    Returns
    -------
    OutcomeFits
    """
    score = spec.outcome.score
    labels = {"trial": TRIAL, "analysis": "hussey_hughes", "outcome": score}
    timepoints = list(settings["timepoints"])
    observed = [t for t in timepoints if data.loc[data["timepoint"] == t, score].notna().any()]
    fits, effects, diagnostics, coefficients = {}, [], [], []
    for t in timepoints:
        if t not in observed:
            diagnostics.append(
                not_fitted_row(f"{score} not observed at {t}", **labels, timepoint=t)
            )
    if not observed:
        return OutcomeFits(fits, effects, diagnostics, coefficients)
    groups = [[t] for t in observed] if settings["model"] == "per_timepoint" else [observed]
    for group in groups:
        subset = data[data["timepoint"].isin(group)]
        key = group[0] if len(group) == 1 else "all"
        try:
            fit = fit_mixed_recorded(subset, spec.formula, df_method=settings["df_method"])
        except (ModelSpecificationError, ModelFitError) as exc:
            for t in group:
                diagnostics.append(not_fitted_row(str(exc), **labels, timepoint=t))
            continue
        fits[key] = fit
        diagnostics.append(mixed_diagnostics(fit, **labels, timepoint=key))
        coefficients.append(
            fit.coefficients.assign(outcome=score, timepoint=key, formula=spec.formula)
        )
        effects.extend(_effect_row(fit, spec, settings, t) for t in group)
    return OutcomeFits(fits, effects, diagnostics, coefficients)


def hussey_hughes(
    design: pd.DataFrame,
    scores: pd.DataFrame,
    settings: Mapping,
    patient_timepoints: Sequence[str],
    labels: Mapping[str, str],
) -> PatientResults:
    """Fit the Hussey & Hughes model to every configured outcome and follow-up.

    Parameters
    ----------
    design : DataFrame
        Patients with ``cluster_id`` and ``treatment`` (see
        :func:`~trialanalysis.analyses.betterback.data.patient_design`).
    scores : DataFrame
        Scored patient questionnaires (``patient_id, timepoint`` and scores).
    settings : mapping
        ``betterback.analyses.patients`` of the validated config.
    patient_timepoints : sequence of str
        Design time points; the first is the baseline.
    labels : mapping
        Column -> label (from the instrument definitions).

    Returns
    -------
    PatientResults
    """
    baseline = patient_timepoints[0]
    outcomes = outcomes_from_settings(settings, scores, labels, baseline)
    design, covariates = baseline_covariates(
        design, scores, settings["covariates"], baseline, "betterback.analyses.patients"
    )
    effects, diagnostics, coefficients = [], [], []
    fits, data, specs = {}, {}, {}
    for outcome in outcomes:
        spec = model_spec(outcome, settings, covariates)
        frame = outcome_data(design, scores, outcome.score, settings["timepoints"], baseline)
        fitted = fit_outcome(frame, spec, settings)
        fits.update({(outcome.score, key): fit for key, fit in fitted.fits.items()})
        effects += fitted.effects
        diagnostics += fitted.diagnostics
        coefficients += fitted.coefficients
        data[outcome.score], specs[outcome.score] = frame, spec
    order = {t: i for i, t in enumerate(settings["timepoints"])}
    effect_table = pd.DataFrame(effects, columns=EFFECT_COLUMNS)
    effect_table = _ordered(effect_table, [o.score for o in outcomes], order)
    effect_table["p_adjusted"] = primary_family_p(effect_table, settings)
    coefficient_table = pd.concat(coefficients, ignore_index=True) if coefficients else None
    if coefficient_table is not None:
        first = ["outcome", "timepoint"]
        coefficient_table = coefficient_table[
            first + [c for c in coefficient_table.columns if c not in first]
        ]
    return PatientResults(
        effects=effect_table,
        coefficients=coefficient_table if coefficient_table is not None else pd.DataFrame(),
        diagnostics=pd.DataFrame(diagnostics),
        fits=fits,
        data=data,
        specs=specs,
    )


def primary_family_p(effects: pd.DataFrame, settings: Mapping) -> np.ndarray:
    """Multiplicity-adjusted p-values of the primary family (NaN for other rows).

    The family is the primary outcomes at the primary time point
    (``role == "primary"``); the strategy is ``settings["multiplicity"]``
    (:func:`~trialanalysis.models.multiplicity.adjust`; ``none`` keeps the raw
    p-values).
    """
    strategy = settings.get("multiplicity") or {"method": "none", "order": []}
    primary = (effects["role"] == "primary").to_numpy()
    adjusted = np.full(len(effects), np.nan)
    if primary.any():
        names = effects.loc[primary, "outcome"].tolist()
        unknown = [o for o in strategy.get("order") or [] if o not in names]
        if unknown:
            raise ConfigError(
                f"betterback.analyses.patients.multiplicity.order: {unknown} are not primary "
                f"outcomes with an estimate ({', '.join(names)})"
            )
        adjusted[primary] = adjust(
            effects.loc[primary, "p_value"].to_numpy(float),
            strategy["method"],
            names=names,
            order=strategy.get("order") or None,
        )
    return adjusted


def _ordered(table: pd.DataFrame, scores: list[str], order: Mapping[str, int]) -> pd.DataFrame:
    """Primary rows first, then outcomes in config order and time points in design order."""
    keys = pd.DataFrame(
        {
            "role": (table["role"] != "primary").astype(int),
            "outcome": table["outcome"].map({s: i for i, s in enumerate(scores)}),
            "timepoint": table["timepoint"].map(order),
        }
    )
    index = keys.sort_values(["role", "outcome", "timepoint"], kind="stable").index
    return table.loc[index].reset_index(drop=True)


def primary_fit(results: PatientResults, settings: Mapping, score: str):
    """Return the fit behind an outcome's primary-time-point estimate (or None)."""
    key = settings["primary_timepoint"] if settings["model"] == "per_timepoint" else "all"
    return results.fits.get((score, key))


def analysed_patients(
    results: PatientResults, settings: Mapping, primary_only: bool = True
) -> pd.DataFrame:
    """Patients in the outcomes' models: ``patient_id, timepoint, outcome``.

    ``primary_only``: the primary outcomes' models only (the cluster-period
    table); otherwise every outcome's (the CONSORT "analysed" counts).
    """
    rows = []
    for (score, _), fit in results.fits.items():
        if primary_only and not results.specs[score].outcome.primary:
            continue
        used = fit.model.frame[["patient_id", "timepoint"]].assign(outcome=score)
        rows.append(used)
    columns = ["patient_id", "timepoint", "outcome"]
    if not rows:
        return pd.DataFrame(columns=columns)
    order = {t: i for i, t in enumerate(settings["timepoints"])}
    table = pd.concat(rows, ignore_index=True)[columns].astype(str)
    table["_t"] = table["timepoint"].map(order)
    table = table.sort_values(["outcome", "_t", "patient_id"]).drop(columns="_t")
    return table.reset_index(drop=True)
