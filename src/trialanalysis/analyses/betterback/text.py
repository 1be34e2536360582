"""Sentences and report blocks for the BetterBack report fragments.

The numbers in the text come from the tidy result tables, so the prose cannot
drift from what was estimated.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trialanalysis.analyses.common.text import DF_TEXT, P_ADJUST_TEXT
from trialanalysis.models.multiplicity import METHOD_TEXT
from trialanalysis.reporting.tables import p_text


def estimate_text(row: Mapping, digits: int = 2) -> str:
    """``-3.36 (95% CI -5.93 to -0.80; Kenward-Roger df 55.4, p = 0.011)``."""
    method = DF_TEXT.get(str(row.get("df_method", "")), str(row.get("df_method", "")))
    return (
        f"{row['estimate']:.{digits}f} (95% CI {row['conf_low']:.{digits}f} to "
        f"{row['conf_high']:.{digits}f}; {method} df {row['df']:.1f}, {p_text(row['p_value'])})"
    )


def primary_summary(effects: pd.DataFrame, settings: Mapping) -> str:
    """One sentence per primary outcome with its estimate and CI."""
    primary = effects[effects["role"] == "primary"]
    if primary.empty:
        return "BetterBack: no primary outcome could be estimated (see diagnostics)."
    lines = [
        "BetterBack patient trial, Hussey & Hughes model (period and treatment fixed, "
        f"random part {' + '.join(settings['random_effects'])}); primary estimand: the "
        f"difference between intervention and routine care in the "
        f"{primary['response'].iloc[0]} at {settings['primary_timepoint']}:"
    ]
    strategy = settings.get("multiplicity") or {"method": "none"}
    adjusted = strategy["method"] != "none" and "p_adjusted" in primary
    items = [
        f"- {row['label']}: {estimate_text(row)}"
        + (f", {strategy['method']}-adjusted p = {row['p_adjusted']:.3f}" if adjusted else "")
        + f"; {row['n_obs']} patients in {row['n_clinics']} clinics"
        for _, row in primary.iterrows()
    ]
    text = lines[0] + "\n\n" + "\n".join(items)
    if len(primary) > 1:
        text += "\n\n" + (
            f"Multiplicity across the {len(primary)} primary outcomes: "
            + (METHOD_TEXT[strategy["method"]] if adjusted else "none (raw p-values)")
            + " (`betterback.analyses.patients.multiplicity`)."
        )
    estimand = settings.get("estimand")
    if estimand:
        text += (
            f"\n\nEstimand (ICH E9(R1)): population: {estimand['population']}; variable: "
            f"{estimand['variable']}; intercurrent events: "
            + "; ".join(f"{e['event']} ({e['strategy']})" for e in estimand["intercurrent_events"])
            + f"; summary: {estimand['summary']} ({estimand.get('level', 'individual')}-average "
            "effect)."
        )
    return text


#: How the therapist cohort's results are labelled wherever they appear.
THERAPIST_DESIGN = "uncontrolled before–after"


def therapist_summary(contrasts: pd.DataFrame, scores, unverified=()) -> str:
    """Change from the first time point of the therapist scores (not the domains).

    The cohort has no control group, so the changes are before-after
    differences, not effects of the training; scores in ``unverified`` (their
    direction is unverified, e.g. PCS) say so where they are quoted.
    """
    items = []
    for score in scores:
        flag = (
            " (direction of the scale unverified: a rise may mean less confidence)"
            if score in unverified
            else ""
        )
        for _, row in contrasts[contrasts["score"] == score].iterrows():
            items.append(f"- {row['label']}, {row['contrast']}: {estimate_text(row)}{flag}")
    head = (
        f"BetterBack therapist cohort, {THERAPIST_DESIGN} comparison (no control group: the "
        "changes are not effects of the training alone), mixed model (change from the first "
        "time point):"
    )
    return head + "\n\n" + "\n".join(items)


def design_note() -> str:
    """Why the randomization test is uninformative and treatment needs the clinic effect."""
    return (
        "In this dog-leg design each allocation cluster is observed in two consecutive "
        "periods (routine care, then intervention). Treatment is identified only by "
        "comparing clusters within periods, which the random clinic effect allows; with "
        "clinic fixed effects it would be confounded with period. With 3 allocation "
        "clusters, re-assigning the schedule's sequences to clusters leaves the observed "
        "allocation as the only one under which every observed cluster-period keeps a "
        "condition, so the randomization test cannot give a small p-value; it is shown "
        "as computed, not hidden."
    )


def randomization_text(tests: pd.DataFrame, labels: Mapping[str, str]) -> str:
    """Describe the randomization tests in words (not among the sensitivity results).

    Parameters
    ----------
    tests : DataFrame
        ``outcome, timepoint, p_value, n_allocations, n_feasible, exact,
        min_attainable_p`` (from the sensitivity analyses).
    labels : mapping
        Outcome -> label.
    """
    if tests.empty:
        return "No randomization test was run (`betterback.analyses.sensitivity`)."
    first = tests.iloc[0]
    kind = "exact" if bool(first["exact"]) else "Monte Carlo"
    results = "; ".join(
        f"{labels.get(r.outcome, r.outcome)} at {r.timepoint}: {p_text(r.p_value)}"
        for r in tests.itertuples()
    )
    text = (
        f"Randomization test ({kind}; the schedule's sequences re-assigned to the allocation "
        f"clusters, statistic: the primary model's treatment estimate): "
        f"{int(first['n_feasible'])} of {int(first['n_allocations'])} allocations keep "
        f"every observed cluster-period's condition, so the smallest attainable p is "
        f"{first['min_attainable_p']:.3g}. {results}."
    )
    if (tests["min_attainable_p"] >= 0.05).all():
        text += (
            " The test cannot detect an effect in this design, so it is reported here and "
            "not among the sensitivity analyses."
        )
    return text


def multiplicity_text(settings: Mapping) -> str:
    """How the therapist analyses handle multiplicity."""
    return (
        f"Domain contrasts are adjusted with the {P_ADJUST_TEXT[settings['p_adjust']]} "
        "method across domains within each contrast (column p_adjusted); the scores "
        "are not adjusted. The published analysis's paired comparisons use the "
        f"{P_ADJUST_TEXT[settings['anova_p_adjust']]} method within each score."
    )


def inference_note(n_units: int, n_clinics: int, periods_both: list, min_p: float | None) -> str:
    """Say what the BetterBack treatment effect rests on: model-based inference, assumptions."""
    floor = (
        f"its smallest attainable p-value is {min_p:.3g}"
        if min_p is not None and min_p == min_p
        else "it cannot give a small p-value"
    )
    both = ", ".join(str(p) for p in periods_both) or "none"
    return (
        f"The inference on the treatment effect is model-based, not design-based. The "
        f"{n_units} allocation units are one per sequence, so the randomization test over the "
        f"sequences has too few allocations to be informative ({floor}). The effect is "
        f"identified by comparing clinics within the periods that hold both conditions "
        f"(periods {both}); the other periods contribute only through the clinic random "
        "effect. The model assumes (1) a secular trend common to all clinics (period fixed "
        "effects), (2) no confounding of the condition by allocation unit (clinics of one "
        "unit as exchangeable as clinics of different units), and (3) a clinic effect that is "
        f"constant over periods. The sensitivity set relaxes each in turn: a clinic-by-period "
        "random effect (3), an allocation-unit random effect above clinic (2), the periods "
        f"with both conditions only (1), a therapist random effect, and t on cluster-level df "
        f"(K - p with K = {n_clinics} clinics; with {n_units} allocation units K - p would be "
        "negative, so no analysis can rest on the allocation units alone)."
    )


def design_effect_note() -> str:
    """How the stepped-design design effect is defined, beside Eldridge's parallel one."""
    return (
        "Stepped-design design effect (Hooper et al. 2016; Woertman et al. 2013): the "
        "variance of the treatment effect under the primary model's variance components, "
        "for the clinic x period pattern and the patients analysed per clinic-period as run, "
        "relative to an individually randomised 1:1 trial of the same number of patients "
        "(GLS on the cluster-period means, cluster autocorrelation 1 as in the primary "
        "model). It replaces the parallel-trial design effect 1 + ((CV² + 1) m − 1) ICC "
        "(Eldridge 2006), shown beside it for comparison, which ignores the periods and the "
        "within-clinic comparison."
    )


def df_policy_text(settings: Mapping) -> str:
    """State the df policy applied to the design's LMM and GEE treatment effects."""
    method = DF_TEXT.get(settings["df_method"], settings["df_method"])
    if settings.get("df_policy") == "cluster-level":
        return (
            "Degrees of freedom (`betterback.analyses.patients.df_policy`: cluster-level): "
            "the mixed models' treatment effects and the GEE of the binary outcomes alike use "
            "t on cluster-level df, K − p with K = 17 clinics and p the coefficients constant "
            "within clinic-periods (mixed models: model-based SE; GEE: bias-reduced sandwich)."
        )
    return (
        "Degrees of freedom (`betterback.analyses.patients.df_policy`: model): the mixed "
        f"models use {method} df, the GEE of the binary outcomes t on K − p (K = clinics), "
        "its small-sample rule. The two differ for one design; the inference sensitivity set "
        "shows each primary effect on cluster-level df (K − p) beside it, and `df_policy: "
        "cluster-level` applies K − p to both."
    )
