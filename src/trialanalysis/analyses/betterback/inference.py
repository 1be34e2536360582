"""What the BetterBack treatment effect rests on: the inference sensitivity set.

With 3 allocation units, one per sequence, the treatment effect of the dog-leg
design is identified only within the periods that hold both conditions, and
its inference rests on the model. For each chosen outcome at the primary time
point, beside the primary Hussey & Hughes estimate (analysis ``primary``):

``clinic_period``
    a clinic-by-period random effect, ``(1 | clinic_id) + (1 | clinic_id:period)``:
    the nested exchangeable model of Hooper et al. (2016) and Girling & Hemming
    (2016), in which the correlation of two patients of one clinic is lower
    across periods than within one;
``allocation_unit``
    an allocation-unit random effect above clinic, ``(1 | cluster_id/clinic_id)``:
    clinics of one allocation unit are no longer independent;
``cluster_df``
    the primary model with t on cluster-level df ``K − p_c``
    (:func:`~trialanalysis.models.inference.cluster_level_df`), K = clinics: the
    clinic is the unit of the random effect and of the cluster-level analysis;
    with K = 3 allocation units ``K − p_c`` would be negative (3 − 5), so the
    design cannot support inference at that level;
``both_conditions``
    the analysis restricted to the periods in which the schedule has both
    conditions (2 and 3 in the dog-leg), the only within-period comparisons;
``therapist``
    a therapist random effect within clinic, ``(1 | clinic_id:therapist_id)``.

All models are fitted by REML with the primary analysis's df method; the
``cluster_df`` row uses the model's unadjusted standard error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trialanalysis.analyses.betterback.patients import PatientResults, primary_fit, treatment_term
from trialanalysis.analyses.common.fits import (
    fit_mixed_recorded,
    mixed_diagnostics,
    mixed_formula,
    not_fitted_row,
)
from trialanalysis.errors import ConfigError, ModelFitError, ModelSpecificationError
from trialanalysis.models.inference import cluster_level_t
from trialanalysis.models.randomization import randomization_test

ANALYSES = ("clinic_period", "allocation_unit", "cluster_df", "both_conditions", "therapist")
#: Row label of each analysis in tables and text.
LABELS = {
    "primary": "primary model",
    "clinic_period": "clinic-by-period random effect",
    "allocation_unit": "allocation-unit random effect above clinic",
    "cluster_df": "cluster-level df (K − p, K = clinics)",
    "both_conditions": "periods with both conditions only",
    "therapist": "therapist random effect (within clinic)",
}
#: Random terms added to the primary model's random part.
EXTRA_TERMS = {
    "clinic_period": ["(1 | clinic_id:period)"],
    "allocation_unit": ["(1 | cluster_id)"],
    "therapist": ["(1 | clinic_id:therapist_id)"],
}
COLUMNS = [
    "outcome",
    "label",
    "timepoint",
    "analysis",
    "description",
    "estimate",
    "std_error",
    "df",
    "df_method",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "n_obs",
    "n_clinics",
    "periods",
    "note",
    "formula",
]


def both_condition_periods(schedule: pd.DataFrame) -> list:
    """Periods in which the schedule has both conditions (sorted)."""
    conditions = schedule.groupby("period")["condition"].nunique()
    return sorted(conditions.index[conditions > 1])


def _row(spec, timepoint: str, analysis: str, values: Mapping, **extra) -> dict:
    row = {
        "outcome": spec.outcome.score,
        "label": spec.outcome.label,
        "timepoint": timepoint,
        "analysis": analysis,
        "description": LABELS[analysis],
    }
    row.update({k: values.get(k, np.nan) for k in COLUMNS[5:13]})
    row.update({k: extra.get(k, "") for k in ("n_obs", "n_clinics", "periods", "note", "formula")})
    return row


def _fit_row(fit, spec, settings, timepoint, analysis, formula, note="") -> dict:
    term = treatment_term(settings, timepoint)
    values = fit.coefficients.set_index("term").loc[term].to_dict()
    used = fit.model.frame
    if "timepoint" in used and used["timepoint"].nunique() > 1:
        used = used[used["timepoint"] == timepoint]
    periods = ", ".join(str(p) for p in sorted(used["period"].unique()))
    notes = [note] if note else []
    if fit.diagnostics["boundary_terms"]:
        notes.append("variance at 0: " + ", ".join(fit.diagnostics["boundary_terms"]))
    return _row(
        spec,
        timepoint,
        analysis,
        values,
        n_obs=len(used),
        n_clinics=int(used["clinic_id"].nunique()),
        periods=periods,
        note="; ".join(notes),
        formula=formula,
    )


def cluster_df_row(fit, spec, settings, timepoint) -> dict:
    """Return the primary fit's treatment effect on cluster-level df (unadjusted SE)."""
    values = cluster_level_t(fit, treatment_term(settings, timepoint), "clinic_id", ("period",))
    row = _fit_row(fit, spec, settings, timepoint, "cluster_df", spec.formula)
    row.update({k: values[k] for k in COLUMNS[5:13]})
    units = int(fit.model.frame["cluster_id"].nunique())
    p_cluster = values["p_cluster"]
    row["note"] = (
        f"K = {values['n_clusters']} clinics, p = {p_cluster} coefficients constant within "
        f"clinic-periods (intercept, periods, treatment); on {units} allocation units "
        f"K - p = {units - p_cluster}"
    )
    return row


@dataclass(frozen=True)
class InferenceResults:
    """The inference sensitivity set: one tidy table and the models' diagnostics."""

    table: pd.DataFrame
    diagnostics: pd.DataFrame


def inference_set(
    results: PatientResults,
    settings: Mapping,
    analyses: Sequence[str],
    outcomes: Sequence[str],
    schedule: pd.DataFrame,
) -> InferenceResults:
    """Fit the inference sensitivity set of each chosen outcome.

    Parameters
    ----------
    results : PatientResults
        The fitted primary analysis.
    settings : mapping
        ``betterback.analyses.patients``.
    analyses : sequence of str
        Members of :data:`ANALYSES` to run.
    outcomes : sequence of str
        Outcome scores (the primary outcomes when empty).
    schedule : DataFrame
        The allocation schedule (``cluster_id, period, condition``).

    Returns
    -------
    InferenceResults
        ``table`` (:data:`COLUMNS`, the primary row first for each outcome)
        and ``diagnostics`` (one row per refitted model).
    """
    unknown = [a for a in analyses if a not in ANALYSES]
    if unknown:
        raise ConfigError(
            f"betterback.analyses.sensitivity.inference: {unknown} are not among "
            f"{', '.join(ANALYSES)}"
        )
    timepoint = settings["primary_timepoint"]
    chosen = list(outcomes) or [s for s, sp in results.specs.items() if sp.outcome.primary]
    missing = [s for s in chosen if s not in results.specs]
    if missing:
        raise ConfigError(
            f"betterback.analyses.sensitivity.outcomes: {missing} are not patient outcomes "
            f"({', '.join(results.specs)})"
        )
    both = both_condition_periods(schedule)
    rows, diagnostics = [], []
    for score in chosen:
        spec, fit = results.specs[score], primary_fit(results, settings, score)
        if fit is None:
            continue
        data = results.data[score]
        if settings["model"] == "per_timepoint":
            data = data[data["timepoint"] == timepoint]
        rows.append(_fit_row(fit, spec, settings, timepoint, "primary", spec.formula))
        labels = {"trial": "betterback", "outcome": score, "timepoint": timepoint}
        for analysis in analyses:
            if analysis == "cluster_df":
                try:
                    rows.append(cluster_df_row(fit, spec, settings, timepoint))
                except ModelSpecificationError as exc:
                    rows.append(_row(spec, timepoint, analysis, {}, note=f"not possible: {exc}"))
                continue
            subset, random = data, list(settings["random_effects"])
            random += EXTRA_TERMS.get(analysis, [])
            if analysis == "both_conditions":
                subset = data[data["period"].isin(both)]
            formula = mixed_formula(spec.response, spec.fixed, random)
            try:
                refit = fit_mixed_recorded(subset, formula, df_method=settings["df_method"])
            except (ModelSpecificationError, ModelFitError) as exc:
                rows.append(_row(spec, timepoint, analysis, {}, note=f"not fitted: {exc}"))
                diagnostics.append(
                    not_fitted_row(str(exc), **labels, analysis=f"inference_{analysis}")
                )
                continue
            diagnostics.append(
                mixed_diagnostics(refit, **labels, analysis=f"inference_{analysis}")
            )
            rows.append(_fit_row(refit, spec, settings, timepoint, analysis, formula))
    return InferenceResults(pd.DataFrame(rows, columns=COLUMNS), pd.DataFrame(diagnostics))


def min_attainable_p(design: pd.DataFrame, schedule: pd.DataFrame) -> float:
    """Smallest p-value the randomization test over the schedule's sequences can give.

    One over the number of allocations of sequences to allocation units under
    which every observed unit-period keeps a condition (the statistic does not
    matter for this count).
    """
    test = randomization_test(
        design[["cluster_id", "period", "treatment"]],
        schedule,
        lambda frame: float(frame["treatment"].mean()),
        unit="cluster_id",
        max_permutations=10000,
    )
    return float(test["min_attainable_p"].iloc[0])
