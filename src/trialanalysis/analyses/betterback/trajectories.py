"""Mean outcome trajectories by condition (descriptive, for the figure).

For each outcome one mixed model over every time point with data,
``y ~ condition * timepoint + (1 | clinic_id) + (1 | patient_id)``, gives the
mean per condition and time point with a 95% CI that respects clustering in
clinics and repeated measures in patients (all available data; missing at
random). Condition is the patient's enrolment condition; the means are not
adjusted for period, so they describe the groups and do not estimate the
treatment effect (the Hussey & Hughes model does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from trialanalysis.analyses.betterback.data import outcome_data
from trialanalysis.analyses.betterback.patients import Outcome
from trialanalysis.analyses.common.fits import (
    fit_mixed_recorded,
    mixed_diagnostics,
    not_fitted_row,
)
from trialanalysis.errors import ModelFitError, ModelSpecificationError

COLUMNS = [
    "outcome",
    "label",
    "condition",
    "timepoint",
    "estimate",
    "std_error",
    "df",
    "conf_low",
    "conf_high",
    "n",
    "df_method",
]


@dataclass(frozen=True)
class Trajectories:
    """Model-based means per outcome, condition and time point, and the models' diagnostics."""

    table: pd.DataFrame
    diagnostics: list[dict]


def condition_trajectories(
    design: pd.DataFrame,
    scores: pd.DataFrame,
    outcomes: Sequence[Outcome],
    timepoints: Sequence[str],
    df_method: str,
) -> Trajectories:
    """Model-based means with 95% CIs per outcome, condition and time point.

    Returns
    -------
    Trajectories
        The means (:data:`COLUMNS`; ``n`` = patients observed) and
        diagnostics rows.
    """
    tables, diagnostics = [], []
    for outcome in outcomes:
        data = outcome_data(design, scores, outcome.score, timepoints, timepoints[0])
        data = data[data[outcome.score].notna()]
        observed = [t for t in timepoints if (data["timepoint"] == t).any()]
        if not observed:
            continue
        fixed = "condition * timepoint" if len(observed) > 1 else "condition"
        formula = f"{outcome.score} ~ {fixed} + (1 | clinic_id) + (1 | patient_id)"
        labels = {"trial": "betterback", "analysis": "trajectories", "outcome": outcome.score}
        try:
            fit = fit_mixed_recorded(data, formula, df_method=df_method)
        except (ModelSpecificationError, ModelFitError) as exc:
            diagnostics.append(not_fitted_row(str(exc), **labels, timepoint="all"))
            continue
        diagnostics.append(mixed_diagnostics(fit, **labels, timepoint="all"))
        by = "timepoint" if len(observed) > 1 else None
        table = fit.emmeans("condition", by=by).table
        if by is None:
            table["timepoint"] = observed[0]
        counts = data.groupby(["condition", "timepoint"]).size().rename("n").reset_index()
        table["timepoint"] = table["timepoint"].astype(str)
        counts["condition"] = counts["condition"].astype(str)
        counts["timepoint"] = counts["timepoint"].astype(str)
        table["condition"] = table["condition"].astype(str)
        table = table.merge(counts, on=["condition", "timepoint"], how="left")
        tables.append(table.assign(outcome=outcome.score, label=outcome.label))
    if not tables:
        return Trajectories(pd.DataFrame(columns=COLUMNS), diagnostics)
    table = pd.concat(tables, ignore_index=True)[COLUMNS]
    order = {t: i for i, t in enumerate(timepoints)}
    rank = {o.score: i for i, o in enumerate(outcomes)}
    keys = pd.DataFrame(
        {
            "o": table["outcome"].map(rank),
            "t": table["timepoint"].map(order),
            "c": table["condition"],
        }
    )
    ordered = table.loc[keys.sort_values(["o", "t", "c"]).index].reset_index(drop=True)
    return Trajectories(ordered, diagnostics)
