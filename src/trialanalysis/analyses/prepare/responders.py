"""Responders by arm (randomised comparison) and outcome by dose (non-randomised, per protocol).

Responders
    A patient responds at a follow-up when the improvement from baseline is
    at least the threshold, in score points or in percent of the baseline
    value (``better`` says which direction is improvement). Patients observed
    at baseline and at the follow-up are counted (complete cases; a percent
    improvement is undefined for a baseline of 0, and such patients are left
    out and counted). Risk difference with Newcombe's hybrid score interval;
    odds ratio with the Woolf (logit) interval, with 0.5 added to every cell
    when one is empty (both from statsmodels).

Dose
    Within the intervention arm only, patients who attended at least the
    threshold number of sessions versus fewer. Attendance is not randomised,
    so the comparison is per protocol and confounded by whatever drives
    attendance; it is adjusted for the baseline value only (ANCOVA).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from trialanalysis.analyses.prepare.data import PrepareData
from trialanalysis.models.classical import fit_ols, two_proportions_interval
from trialanalysis.models.formula_syntax import design_matrices
from trialanalysis.models.gee import t_interval

DOSE_LABEL = "non-randomised, per-protocol comparison within the intervention arm"


def definition_label(definition: Mapping) -> str:
    """Readable label, e.g. ``odi_total improved >= 30% of baseline``."""
    unit = "% of baseline" if definition["unit"] == "percent" else " points"
    return f"{definition['outcome']} improved >= {definition['threshold']:g}{unit}"


def improvement(before, after, better: str, unit: str) -> np.ndarray:
    """Improvement from baseline (positive = better), in points or percent of baseline."""
    before, after = np.asarray(before, float), np.asarray(after, float)
    points = before - after if better == "lower" else after - before
    if unit == "points":
        return points
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(before != 0, 100 * points / np.abs(before), np.nan)


def compare_proportions(
    responders: Sequence[int], totals: Sequence[int], level: float = 0.95
) -> dict:
    """Risk difference and odds ratio (intervention vs control) with intervals.

    Parameters
    ----------
    responders, totals : sequence of int
        ``(control, intervention)`` counts.
    level : float

    Returns
    -------
    dict
        ``risk_difference, rd_conf_low, rd_conf_high, odds_ratio,
        or_conf_low, or_conf_high, or_method``.
    """
    (r0, r1), (n0, n1) = responders, totals
    nan = dict.fromkeys(
        ["risk_difference", "rd_conf_low", "rd_conf_high", "odds_ratio", "or_conf_low",
         "or_conf_high"], np.nan)  # fmt: skip
    if n0 == 0 or n1 == 0:
        return nan | {"or_method": "not estimable (an arm has no patients)"}
    alpha = 1 - level
    rd_low, rd_high = two_proportions_interval(
        r1, n1, r0, n0, method="newcomb", compare="diff", alpha=alpha
    )
    cells = np.array([r1, n1 - r1, r0, n0 - r0], float)
    if (cells > 0).all():
        method, odds = "logit", cells
    else:
        method, odds = "logit-adjusted", cells + 0.5
    or_low, or_high = two_proportions_interval(
        r1, n1, r0, n0, method=method, compare="odds-ratio", alpha=alpha
    )
    odds_ratio = (odds[0] / odds[1]) / (odds[2] / odds[3])
    return {
        "risk_difference": r1 / n1 - r0 / n0, "rd_conf_low": float(rd_low),
        "rd_conf_high": float(rd_high), "odds_ratio": float(odds_ratio),
        "or_conf_low": float(or_low), "or_conf_high": float(or_high),
        "or_method": "Woolf (logit)" if method == "logit" else "Woolf with 0.5 added to each cell",
    }  # fmt: skip


def responder_table(
    data: PrepareData,
    definitions: Sequence[Mapping],
    timepoints: Sequence[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """Responders per arm with risk difference and odds ratio, per definition and time point.

    Returns
    -------
    DataFrame
        ``definition, outcome, timepoint``, per arm ``<arm>_n``,
        ``<arm>_responders``, ``<arm>_percent``, ``<arm>_undefined`` (observed at
        both times but not classifiable), then ``n_undefined``
        (patients observed at both times who cannot be classified),
        ``undefined_reason`` and the comparison columns of :func:`compare_proportions`.
    """
    rows = []
    for definition in definitions:
        outcome = definition["outcome"]
        wide = data.wide([outcome]).join(data.patients.set_index("patient_id")["arm"])
        for t in timepoints:
            pairs = wide[[f"{outcome}_{data.baseline}", f"{outcome}_{t}", "arm"]].dropna()
            gain = improvement(
                pairs.iloc[:, 0], pairs.iloc[:, 1], definition["better"], definition["unit"]
            )
            defined = ~np.isnan(gain)
            row = {"definition": definition_label(definition), "outcome": outcome, "timepoint": t}
            counts, totals = [], []
            for arm in data.arms:
                mine = (pairs["arm"] == arm).to_numpy() & defined
                n, r = int(mine.sum()), int((gain[mine] >= definition["threshold"]).sum())
                undefined = int(((pairs["arm"] == arm).to_numpy() & ~defined).sum())
                row |= {f"{arm}_n": n, f"{arm}_responders": r,
                        f"{arm}_percent": 100 * r / n if n else np.nan,
                        f"{arm}_undefined": undefined}  # fmt: skip
                counts.append(r)
                totals.append(n)
            row["n_undefined"] = int((~defined).sum())
            row["undefined_reason"] = (
                f"baseline {definition['outcome']} = 0: improvement in % of baseline undefined"
                if row["n_undefined"]
                else ""
            )
            rows.append(row | compare_proportions(counts, totals, level))
    return pd.DataFrame(rows)


def dose_table(
    data: PrepareData,
    outcomes: Sequence[str],
    timepoints: Sequence[str],
    threshold: int,
    level: float = 0.95,
) -> pd.DataFrame:
    """Outcome by sessions attended within the intervention arm (non-randomised, per protocol).

    Returns
    -------
    DataFrame
        ``outcome, timepoint, n_full_dose, n_partial_dose, change_full_dose,
        change_partial_dose`` (observed mean changes), ``estimate,
        std_error, df, p_value, conf_low, conf_high`` (baseline-adjusted
        difference, full minus partial dose, OLS), ``threshold, analysis``.
    """
    treated = data.patients[data.patients["treatment"] == 1].set_index("patient_id")
    full = (treated["sessions_attended"] >= threshold).astype(int).rename("full_dose")
    rows = []
    for outcome in outcomes:
        wide = data.wide([outcome]).join(full, how="inner")
        for t in timepoints:
            frame = wide[[f"{outcome}_{data.baseline}", f"{outcome}_{t}", "full_dose"]].dropna()
            frame.columns = ["baseline", "y", "full_dose"]
            change = frame["y"] - frame["baseline"]
            groups = frame["full_dose"]
            row = {
                "outcome": outcome, "timepoint": t,
                "n_full_dose": int((groups == 1).sum()),
                "n_partial_dose": int((groups == 0).sum()),
                "change_full_dose": float(change[groups == 1].mean()),
                "change_partial_dose": float(change[groups == 0].mean()),
            }  # fmt: skip
            row |= _adjusted_difference(frame, level)
            rows.append(row | {"threshold": threshold, "analysis": DOSE_LABEL})
    return pd.DataFrame(rows)


def _adjusted_difference(frame: pd.DataFrame, level: float) -> dict:
    keys = ["estimate", "std_error", "df", "p_value", "conf_low", "conf_high"]
    counts = frame["full_dose"].value_counts()
    if len(frame) < 5 or counts.get(0, 0) < 2 or counts.get(1, 0) < 2:
        return dict.fromkeys(keys, np.nan)
    fit = fit_ols(*design_matrices("y ~ full_dose + baseline", frame))
    estimate, se, df = fit.params["full_dose"], fit.bse["full_dose"], float(fit.df_resid)
    limits = t_interval(estimate, se, df, level)
    return {
        "estimate": float(estimate), "std_error": float(se), "df": df,
        "p_value": float(limits["p_value"]), "conf_low": float(limits["conf_low"]),
        "conf_high": float(limits["conf_high"]),
    }  # fmt: skip
