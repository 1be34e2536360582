"""BetterBack therapist cohort: the published analysis and the recommended one.

Published (Schröder et al. 2020): a one-way repeated-measures ANOVA over the
time points on therapists who answered at every time point (complete cases),
partial η², and paired comparisons of each time point with the first.

Recommended: a linear mixed model per score with time as a factor and random
intercepts for clinic and therapist within clinic,
``score ~ timepoint + (1 | clinic_id) + (1 | clinic_id:therapist_id)``, which
uses every answered questionnaire (valid when data are missing at random)
and respects the clustering of therapists in clinics. Estimated marginal
means per time point and contrasts with the first time point use
small-sample degrees of freedom; the p-values of the domains (DIBQ) are
adjusted for multiplicity across domains within each contrast.

Associations: at one time point (12 months), one mixed model per outcome and
domain, ``outcome ~ domain + (1 | clinic_id)``, with the domain score scaled
per ``per`` points; p-values adjusted across domains within each outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.stats

from trialanalysis.analyses.common.fits import (
    fit_mixed_recorded,
    mixed_diagnostics,
    mixed_formula,
    not_fitted_row,
)
from trialanalysis.errors import ModelFitError, ModelSpecificationError
from trialanalysis.models import classical
from trialanalysis.models.classical import adjust_p

TRIAL = "betterback"
DOMAIN_FAMILY = "domains"


def rm_anova(long: pd.DataFrame, score: str, timepoints: Sequence[str]) -> dict | None:
    """One-way repeated-measures ANOVA of one score on complete cases.

    Returns
    -------
    dict or None
        ``n_complete, f_value, df_effect, df_error, p_value, partial_eta_sq,
        gg_epsilon, gg_p_value``; None with fewer than 2 complete therapists.
    """
    wide = long.pivot(index="therapist_id", columns="timepoint", values=score)
    wide = wide.reindex(columns=list(timepoints)).dropna()
    if len(wide) < 2:
        return None
    data = wide.reset_index().melt(id_vars="therapist_id", var_name="timepoint", value_name=score)
    table = classical.rm_anova(data, dv=score, within="timepoint", subject="therapist_id")
    effect, error = table.iloc[0], table.iloc[1]
    return {
        "n_complete": len(wide),
        "f_value": float(effect["F"]),
        "df_effect": int(effect["DF"]),
        "df_error": int(error["DF"]),
        "p_value": float(effect["p_unc"]),
        "partial_eta_sq": float(effect["np2"]),
        "gg_epsilon": float(effect["eps"]),
        "gg_p_value": float(effect.get("p_GG_corr", effect["p_unc"])),
    }


def paired_comparisons(
    long: pd.DataFrame, score: str, timepoints: Sequence[str], p_adjust: str
) -> pd.DataFrame:
    """Paired t tests of every time point with the first, on complete cases."""
    wide = long.pivot(index="therapist_id", columns="timepoint", values=score)
    wide = wide.reindex(columns=list(timepoints)).dropna()
    rows = []
    reference = timepoints[0]
    for timepoint in timepoints[1:]:
        difference = (wide[timepoint] - wide[reference]).to_numpy()
        n = len(difference)
        if n < 2:
            continue
        mean, sd = difference.mean(), difference.std(ddof=1)
        se = sd / np.sqrt(n)
        df = n - 1
        statistic = mean / se if se > 0 else np.nan
        quantile = scipy.stats.t.ppf(0.975, df)
        rows.append(
            {
                "contrast": f"{timepoint} - {reference}",
                "estimate": mean,
                "std_error": se,
                "df": float(df),
                "statistic": statistic,
                "p_value": 2 * scipy.stats.t.sf(abs(statistic), df),
                "conf_low": mean - quantile * se,
                "conf_high": mean + quantile * se,
                "n_complete": n,
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        table["p_adjusted"] = adjust_p(table["p_value"], p_adjust)
        table["p_adjust"] = p_adjust
    return table


@dataclass(frozen=True)
class PublishedAnalysis:
    """The published therapist analysis: RM-ANOVA per score and paired comparisons."""

    anova: pd.DataFrame
    pairwise: pd.DataFrame


def published_analysis(
    long: pd.DataFrame,
    scores: Sequence[str],
    timepoints: Sequence[str],
    p_adjust: str,
    labels: Mapping[str, str],
) -> PublishedAnalysis:
    """Repeated-measures ANOVA and paired comparisons for every score."""
    anova_rows, pairwise = [], []
    for score in scores:
        result = rm_anova(long, score, timepoints)
        head = {"score": score, "label": labels.get(score, score)}
        if result is None:
            anova_rows.append({**head, "n_complete": 0})
            continue
        anova_rows.append({**head, **result})
        pairwise.append(paired_comparisons(long, score, timepoints, p_adjust).assign(**head))
    anova = pd.DataFrame(anova_rows)
    pairs = pd.concat(pairwise, ignore_index=True) if pairwise else pd.DataFrame()
    if len(pairs):
        pairs = pairs[
            ["score", "label"] + [c for c in pairs.columns if c not in ("score", "label")]
        ]
    return PublishedAnalysis(anova, pairs)


@dataclass(frozen=True)
class TherapistModels:
    """The therapist mixed models: EMMs, contrasts with the first time point, diagnostics."""

    emmeans: pd.DataFrame
    contrasts: pd.DataFrame
    diagnostics: pd.DataFrame


def mixed_analysis(
    long: pd.DataFrame,
    scores: Sequence[str],
    domains: Sequence[str],
    timepoints: Sequence[str],
    settings: Mapping,
    labels: Mapping[str, str],
) -> TherapistModels:
    """Mixed model per score: EMMs per time point and contrasts with the first.

    Returns
    -------
    TherapistModels
    """
    order = {t: i for i, t in enumerate(timepoints)}
    emm_tables, contrast_tables, diagnostics = [], [], []
    for score in [*scores, *domains]:
        family = DOMAIN_FAMILY if score in domains else score
        formula = mixed_formula(score, ["timepoint"], settings["random_effects"])
        names = {"trial": TRIAL, "analysis": "therapist_mixed", "outcome": score}
        try:
            fit = fit_mixed_recorded(long, formula, df_method=settings["df_method"])
        except (ModelSpecificationError, ModelFitError) as exc:
            diagnostics.append(not_fitted_row(str(exc), **names, timepoint="all"))
            continue
        diagnostics.append(mixed_diagnostics(fit, **names, timepoint="all"))
        head = {"score": score, "label": labels.get(score, score), "family": family}
        means = fit.emmeans("timepoint")
        table = means.table.assign(**head)
        table["timepoint"] = table["timepoint"].astype(str)
        counts = fit.model.frame.groupby("timepoint").size()
        table["n"] = table["timepoint"].map(counts.rename(index=str)).astype(int)
        table = table.sort_values("timepoint", key=lambda s: s.map(order))
        emm_tables.append(table)
        contrasts = means.contrast("trt.vs.ctrl", ref=timepoints[0]).assign(**head)
        contrasts["formula"] = formula
        contrasts["_order"] = contrasts["contrast"].str.split(" - ").str[0].map(order)
        contrast_tables.append(contrasts.sort_values("_order").drop(columns="_order"))
    emmeans = pd.concat(emm_tables, ignore_index=True)
    contrasts = pd.concat(contrast_tables, ignore_index=True)
    contrasts["p_adjusted"] = contrasts["p_value"]
    contrasts["p_adjust"] = "none"
    in_family = contrasts["family"] == DOMAIN_FAMILY
    for _, index in contrasts[in_family].groupby("contrast").groups.items():
        contrasts.loc[index, "p_adjusted"] = adjust_p(
            contrasts.loc[index, "p_value"], settings["p_adjust"]
        )
        contrasts.loc[index, "p_adjust"] = settings["p_adjust"]
    first = ["score", "label", "family"]
    emmeans = emmeans[first + [c for c in emmeans.columns if c not in first]]
    contrasts = contrasts[first + [c for c in contrasts.columns if c not in first]]
    return TherapistModels(emmeans, contrasts, pd.DataFrame(diagnostics))


@dataclass(frozen=True)
class Associations:
    """Associations of the domains with the outcomes, and the diagnostics of their models."""

    table: pd.DataFrame
    diagnostics: pd.DataFrame


def associations(
    long: pd.DataFrame,
    domains: Sequence[str],
    settings: Mapping,
    labels: Mapping[str, str],
    df_method: str,
    p_adjust: str,
) -> Associations:
    """Association of each domain with each outcome at one time point.

    Returns
    -------
    Associations
        ``table``: ``outcome, outcome_label, domain, domain_label, per,
        estimate, ..., p_adjusted, n_obs, n_clinics``, the difference in the
        outcome per ``per`` points of the domain score; ``diagnostics``: one
        row per model.
    """
    data = long[long["timepoint"] == settings["timepoint"]].copy()
    per = float(settings["per"])
    rows, diagnostics = [], []
    for outcome in settings["outcomes"]:
        for domain in domains:
            frame = data.assign(**{domain: data[domain] / per})
            formula = mixed_formula(outcome, [domain], settings["random_effects"])
            names = {
                "trial": TRIAL,
                "analysis": f"association_{outcome}",
                "outcome": domain,
                "timepoint": settings["timepoint"],
            }
            try:
                fit = fit_mixed_recorded(frame, formula, df_method=df_method)
            except (ModelSpecificationError, ModelFitError) as exc:
                diagnostics.append(not_fitted_row(str(exc), **names))
                continue
            diagnostics.append(mixed_diagnostics(fit, **names))
            row = fit.coefficients.set_index("term").loc[domain]
            rows.append(
                {
                    "outcome": outcome,
                    "outcome_label": labels.get(outcome, outcome),
                    "domain": domain,
                    "domain_label": labels.get(domain, domain),
                    "per": per,
                    **row.drop("df_method").to_dict(),
                    "df_method": row["df_method"],
                    "n_obs": len(fit.model.frame),
                    "n_clinics": int(fit.model.frame["clinic_id"].nunique()),
                    "formula": formula,
                }
            )
    table = pd.DataFrame(rows)
    if len(table):
        table["p_adjusted"] = np.nan
        for _, index in table.groupby("outcome").groups.items():
            table.loc[index, "p_adjusted"] = adjust_p(table.loc[index, "p_value"], p_adjust)
        table["p_adjust"] = p_adjust
    return Associations(table, pd.DataFrame(diagnostics))
