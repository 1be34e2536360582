"""Mediation of the PREPARE effect through change in self-efficacy, depression and fear-avoidance.

For each outcome: the arm (``treatment`` 0/1) -> change in each mediator ->
change in the outcome, all changes over the same interval (default baseline
to after the intervention, before surgery), the mediators in parallel
(PROCESS model 4) and, when a moderator is configured, with the arm ->
mediator paths moderated by it (PROCESS model 7: conditional indirect
effects at chosen values and the index of moderated mediation). Every
equation is adjusted for the start values of the mediators and the outcome
when ``adjust_for_baseline``. Estimation and the bias-corrected bootstrap are
those of :func:`trialanalysis.models.mediation.mediation_analysis`; patients
with every variable observed are used (complete cases; ``n`` in the table).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from trialanalysis.analyses.prepare.data import PrepareData
from trialanalysis.analyses.prepare.models import least_squares_row
from trialanalysis.models.mediation import ASSUMPTIONS, mediation_analysis

MODEL_4 = "parallel mediators (PROCESS model 4)"
MODEL_7 = "moderated a-paths (PROCESS model 7)"


def mediation_frame(data: PrepareData, settings: Mapping, outcome: str) -> pd.DataFrame:
    """Per-patient changes of the mediators and one outcome, with start values and moderator."""
    extra = [settings["moderator"]] if settings["moderator"] else []
    return data.changes(
        [*settings["mediators"], outcome],
        settings["from_timepoint"],
        settings["to_timepoint"],
        extra=extra,
    )


def _rename(name: str) -> str:
    return name.removesuffix("_change")


@dataclass(frozen=True)
class MediationResults:
    """The mediation analyses: effects, path coefficients and diagnostics tables."""

    effects: pd.DataFrame
    paths: pd.DataFrame
    diagnostics: pd.DataFrame


def run_mediation(
    data: PrepareData, settings: Mapping, seed: int, level: float = 0.95
) -> MediationResults:
    """Mediation analyses of every configured outcome.

    Parameters
    ----------
    data : PrepareData
    settings : mapping
        ``prepare.analyses.mediation``.
    seed : int
        Seed of the bootstrap (the same for every outcome).
    level : float

    Returns
    -------
    MediationResults
        Effects (``outcome, model, effect, mediator, moderator_value,
        estimate, boot_se, conf_low, conf_high, n, n_boot, from_timepoint,
        to_timepoint``) and path coefficients (``outcome, model, equation,
        term, estimate, std_error, df, statistic, p_value, conf_low,
        conf_high``). Mediators and outcomes are named by their score column;
        every value is a change over the interval; one diagnostics row per
        outcome and model (patients used and left out, warnings raised during
        the fit).
    """
    mediators = [f"{m}_change" for m in settings["mediators"]]
    effects, paths, diagnostics = [], [], []
    for outcome in settings["outcomes"]:
        frame = mediation_frame(data, settings, outcome)
        covariates = (
            [f"{c}_start" for c in [*settings["mediators"], outcome]]
            if settings["adjust_for_baseline"]
            else []
        )
        common = {"covariates": covariates, "n_boot": settings["n_boot"], "seed": seed}
        runs = [(MODEL_4, {})]
        if settings["moderator"]:
            runs.append(
                (
                    MODEL_7,
                    {
                        "moderator": settings["moderator"],
                        "moderator_values": settings["moderator_values"],
                    },
                )
            )
        for label, extra in runs:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = mediation_analysis(
                    frame, "treatment", mediators, f"{outcome}_change", level=level,
                    **common, **extra,
                )  # fmt: skip
            head = {"outcome": outcome, "model": label}
            n_used = int(result.effects["n"].iloc[0])
            diagnostics.append(
                least_squares_row(
                    f"mediation, {label}", outcome, n_used, len(frame) - n_used, caught
                )
            )
            effects.append(
                result.effects.assign(**head, mediator=result.effects["mediator"].map(_rename))
            )
            paths.append(
                result.paths.assign(
                    **head,
                    equation=result.paths["equation"].map(_rename),
                    term=result.paths["term"].map(_rename),
                )
            )
    effects_table = pd.concat(effects, ignore_index=True).assign(
        n_boot=settings["n_boot"],
        from_timepoint=settings["from_timepoint"],
        to_timepoint=settings["to_timepoint"],
    )
    first = ["outcome", "model"]
    effects_table = effects_table[first + [c for c in effects_table if c not in first]]
    paths_table = pd.concat(paths, ignore_index=True)
    paths_table = paths_table[first + [c for c in paths_table if c not in first]]
    return MediationResults(effects_table, paths_table, pd.DataFrame(diagnostics))


def assumptions_text(settings: Mapping) -> str:
    """Describe the identifying assumptions and the interval used, for the report."""
    return (
        f"{ASSUMPTIONS} Here mediators and outcomes are changes from "
        f"{settings['from_timepoint']} to {settings['to_timepoint']}, so the mediator is not "
        "measured before the outcome. Intervals: bias-corrected percentile bootstrap "
        f"({settings['n_boot']} resamples of patients, seeded)."
    )
