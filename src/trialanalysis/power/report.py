"""The "Design and power" report section: assumptions, table and power curves."""

from __future__ import annotations

from collections.abc import Mapping

from trialanalysis.power.analytic import RESULT_COLUMNS
from trialanalysis.power.trial import SCENARIO_COLUMNS

COLUMNS = [*SCENARIO_COLUMNS, *RESULT_COLUMNS]
LABELS = {
    "individuals": "Individuals per clinic-period",
    "power_mc_se": "Power MC SE",
    "type1_error": "Type I error",
    "type1_mc_se": "Type I MC SE",
    "se_effect": "SE of effect",
    "n_sims": "Simulations",
    "n_failed": "Failed fits",
    "n_singular": "Singular fits",
}
METHOD_ORDER = {"analytic-z": 0, "analytic-t": 1, "simulation": 2}


def assumptions(trial: Mapping, settings: Mapping, effect: float, simulated: bool) -> str:
    """State the assumptions of the power grid for the report."""
    cac = 1.0 if settings["cac"] is None else settings["cac"]
    schedule = "observed schedule" if not settings["schedule"] else "planned schedule"
    cv = trial["size_cv"] if settings["cluster_size_cv"] is None else settings["cluster_size_cv"]
    dropout = trial["dropout"] if settings["dropout"] is None else settings["dropout"]
    model = "no clinic-period effect, as Hussey & Hughes" if cac == 1 else "clinic-period effect"
    text = (
        "Design-based power: the power of each design under assumed effects, not post-hoc "
        "power of the effect this trial observed. Planned from the BetterBack primary model "
        f"of {trial['outcome']} at {trial['timepoint']} (baseline-adjusted, so the power is "
        f"that of the same adjusted analysis): total SD {trial['sd']:.2f} (clinic variance "
        f"{trial['var_cluster']:.2f}, individual-level variance {trial['var_individual']:.2f}), "
        f"ICC {trial['icc']:.3f} ('observed' in the table), cluster autocorrelation {cac:g} "
        f"({model}), the {schedule} with clusters per sequence as in each scenario, "
        f"cluster-size CV {cv:.2f} and "
        f"{dropout:.1%} of recruited patients not analysed (missing completely at random). "
        f"Scenario 'observed' is this trial's design: {trial['clinics']} clinics and the patients "
        "analysed in each clinic-period (known unequal sizes). "
        f"Effect of reference (MCID, `power.mcid`): {effect:g}. "
        "Analytic power: GLS variance of the treatment effect (Hussey & Hughes 2007; Hooper "
        "et al. 2016; exact for incomplete designs and known sizes, averaged over size draws "
        "otherwise), normal approximation (analytic-z) and noncentral t on "
        + ("clinics - 2" if settings["df"] is None else f"{settings['df']:g}")
        + f" df (analytic-t); two-sided alpha {settings['alpha']:g}."
    )  # fmt: skip
    if simulated:
        text += (
            f" Simulation: {settings['sims']} trials per scenario, each analysed by REML with "
            "the trial's Hussey & Hughes model (period, treatment, clinic intercept; the "
            "baseline's share of the variance is already removed from the residual) and "
            f"{settings['df_method']} df; type I error from the same trials at effect 0, CI "
            "coverage, Monte Carlo SEs; failed fits are counted and excluded."
        )
    return text
