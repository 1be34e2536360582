"""Clustering in the BetterBack patient trial: ICCs, design effects, clinic effects.

The ICC of a primary outcome (CONSORT cluster extension, item 17a) is
reported twice: from the primary model (conditional on period, treatment and
the baseline value) and for the outcome at the primary time point without
covariates, ``y ~ 1 + (1 | clinic_id)``, the figure a future trial would
plan with. The design effect uses the patients per clinic in the analysed
data (Eldridge et al. 2006, unequal cluster sizes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from trialanalysis.analyses.betterback.patients import Outcome, PatientResults, primary_fit
from trialanalysis.analyses.common.fits import (
    fit_mixed_recorded,
    mixed_diagnostics,
    not_fitted_row,
)
from trialanalysis.errors import ModelFitError, ModelSpecificationError

CLINIC = "clinic_id"
ICC_COLUMNS = [
    "outcome",
    "label",
    "timepoint",
    "model",
    "group",
    "icc",
    "conf_low",
    "conf_high",
    "design_effect",
    "design_effect_low",
    "design_effect_high",
    "n_clusters",
    "n_patients",
    "size_mean",
    "size_cv",
    "size_min",
    "size_max",
    "formula",
]


def _icc_rows(fit, outcome: Outcome, timepoint: str, model: str, formula: str) -> list[dict]:
    rows = []
    icc = fit.icc()
    for _, entry in icc.iterrows():
        row = {
            "outcome": outcome.score,
            "label": outcome.label,
            "timepoint": timepoint,
            "model": model,
            "group": entry["group"],
            "icc": entry["icc"],
            "conf_low": entry["conf_low"],
            "conf_high": entry["conf_high"],
            "formula": formula,
        }
        if entry["group"] == CLINIC:
            effect = fit.design_effect(group=CLINIC, unit="patient_id").iloc[0]
            row.update(
                {
                    "design_effect": effect["design_effect"],
                    "design_effect_low": effect["conf_low"],
                    "design_effect_high": effect["conf_high"],
                    "n_clusters": int(effect["n_clusters"]),
                    "n_patients": int(effect["total"]),
                    "size_mean": effect["mean_size"],
                    "size_cv": effect["cv_size"],
                    "size_min": int(effect["min_size"]),
                    "size_max": int(effect["max_size"]),
                }
            )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class OutcomeIccs:
    """ICCs of the primary outcomes (:data:`ICC_COLUMNS`), diagnostics of the unadjusted models."""

    table: pd.DataFrame
    diagnostics: list[dict]


def outcome_icc_table(results: PatientResults, settings: Mapping, df_method: str) -> OutcomeIccs:
    """ICC and design effect of every primary outcome, adjusted and unadjusted.

    Returns
    -------
    OutcomeIccs
        The table (:data:`ICC_COLUMNS`) and diagnostics rows of the
        unadjusted models.
    """
    timepoint = settings["primary_timepoint"]
    rows, diagnostics = [], []
    for score, spec in results.specs.items():
        if not spec.outcome.primary:
            continue
        fit = primary_fit(results, settings, score)
        if fit is not None:
            rows += _icc_rows(
                fit, spec.outcome, timepoint, "primary model (adjusted)", spec.formula
            )
        data = results.data[score]
        data = data[data["timepoint"] == timepoint]
        formula = f"{score} ~ 1 + (1 | {CLINIC})"
        labels = {"trial": "betterback", "analysis": "icc_unadjusted", "outcome": score}
        try:
            plain = fit_mixed_recorded(data, formula, df_method=df_method)
        except (ModelSpecificationError, ModelFitError) as exc:
            diagnostics.append(not_fitted_row(str(exc), **labels, timepoint=timepoint))
            continue
        diagnostics.append(mixed_diagnostics(plain, **labels, timepoint=timepoint))
        rows += _icc_rows(plain, spec.outcome, timepoint, "outcome only (unadjusted)", formula)
    return OutcomeIccs(pd.DataFrame(rows, columns=ICC_COLUMNS), diagnostics)


def variance_component_table(results: PatientResults, settings: Mapping) -> pd.DataFrame:
    """Variance components of the primary models, intervals as ``settings["variance_ci"]``."""
    tables = []
    for score, spec in results.specs.items():
        fit = primary_fit(results, settings, score) if spec.outcome.primary else None
        if fit is not None:
            table = fit.variance_components_table(method=settings.get("variance_ci", "profile"))
            tables.append(table.assign(outcome=score, timepoint=settings["primary_timepoint"]))
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    first = ["outcome", "timepoint"]
    return table[first + [c for c in table.columns if c not in first]]


def clinic_effects(
    results: PatientResults, settings: Mapping, scores: Sequence[str] | None = None
) -> pd.DataFrame:
    """Conditional modes of the clinic effects (with conditional SDs) of the primary models."""
    tables = []
    for score, spec in results.specs.items():
        if not spec.outcome.primary or (scores is not None and score not in scores):
            continue
        fit = primary_fit(results, settings, score)
        if fit is None:
            continue
        effects = fit.random_effects()
        effects = effects[effects["group"] == CLINIC]
        tables.append(effects.assign(outcome=score, label=spec.outcome.label))
    columns = ["outcome", "label", "group", "level", "term", "estimate", "cond_sd"]
    if not tables:
        return pd.DataFrame(columns=columns)
    return pd.concat(tables, ignore_index=True)[columns]
