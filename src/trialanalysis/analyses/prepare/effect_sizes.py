"""Standardised effect sizes (Hedges' g) of the PREPARE outcomes, each with the SD it divides by.

Between arms, at each follow-up time point
    The model-based difference (intervention - control) from the mixed model
    divided by the pooled baseline SD of the two arms (baseline is measured
    before randomisation, so its SD is not changed by treatment; Morris
    2008), times Hedges' small-sample correction ``J = 1 - 3 / (4 df - 1)``
    with ``df = n1 + n2 - 2`` of the pooled SD. Standard error by the delta
    method: ``J * sqrt(se_diff**2 / s**2 + d**2 / (2 df))`` (the second term
    is the uncertainty of the SD); interval with the model's df.

Within each arm, baseline to each follow-up
    The mean paired change of the patients observed at both times divided by
    their baseline SD, times ``J`` with ``df = n - 1`` (Becker 1988). Standard
    error ``J * sqrt(2 (1 - r) / n + d**2 / (2 (n - 1)))`` with ``r`` the
    baseline-follow-up correlation (Morris & DeShon 2002, eq. 13 with
    Becker's variance); normal-theory interval.

References
----------
Becker BJ. Synthesizing standardized mean-change measures. Br J Math Stat
Psychol 1988;41:257-78.
Morris SB, DeShon RP. Combining effect size estimates in meta-analysis with
repeated measures and independent-groups designs. Psychol Methods
2002;7:105-25.
Morris SB. Estimating effect sizes from pretest-posttest-control group
designs. Organ Res Methods 2008;11:364-86.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from trialanalysis.analyses.prepare.data import PrepareData

BETWEEN_STANDARDISER = "pooled baseline SD of both arms"
WITHIN_STANDARDISER = "baseline SD of the arm (patients observed at both times)"
COLUMNS = [
    "outcome", "comparison", "arm", "timepoint", "raw_estimate", "sd", "standardiser",
    "n_1", "n_2", "hedges_g", "std_error", "conf_low", "conf_high", "ci_method",
]  # fmt: skip


def hedges_correction(df: float) -> float:
    """Hedges' small-sample correction factor ``J = 1 - 3 / (4 df - 1)``."""
    return 1.0 - 3.0 / (4.0 * df - 1.0)


def pooled_sd(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Pooled SD of two samples and its degrees of freedom (``n_a + n_b - 2``)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    df = len(a) + len(b) - 2
    if df < 1:
        return np.nan, float(df)
    pooled = ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / df
    return float(np.sqrt(pooled)), float(df)


def between_arm_g(
    difference: float, std_error: float, model_df: float, sd: float, sd_df: float, level=0.95
) -> dict:
    """Standardised between-arm difference (see the module docstring).

    Returns
    -------
    dict
        ``hedges_g, std_error, conf_low, conf_high``.
    """
    j = hedges_correction(sd_df)
    d = difference / sd
    g = j * d
    se = j * np.sqrt(std_error**2 / sd**2 + d**2 / (2 * sd_df))
    q = (
        stats.t.ppf(0.5 + level / 2, model_df)
        if np.isfinite(model_df)
        else stats.norm.ppf(0.5 + level / 2)
    )
    return {"hedges_g": g, "std_error": se, "conf_low": g - q * se, "conf_high": g + q * se}


def within_arm_g(before: np.ndarray, after: np.ndarray, level: float = 0.95) -> dict:
    """Standardised mean change of paired values (Becker 1988; see the module docstring).

    Returns
    -------
    dict
        ``raw_estimate`` (mean change), ``sd`` (baseline SD), ``n``,
        ``correlation``, ``hedges_g``, ``std_error``, ``conf_low``, ``conf_high``.
    """
    before, after = np.asarray(before, float), np.asarray(after, float)
    n = len(before)
    if n < 3:
        nan = np.nan
        return dict.fromkeys(
            [
                "raw_estimate",
                "sd",
                "correlation",
                "hedges_g",
                "std_error",
                "conf_low",
                "conf_high",
            ],
            nan,
        ) | {"n": n}
    change = after - before
    sd = before.std(ddof=1)
    r = float(np.corrcoef(before, after)[0, 1])
    j = hedges_correction(n - 1)
    d = change.mean() / sd
    g = j * d
    se = j * np.sqrt(2 * (1 - r) / n + d**2 / (2 * (n - 1)))
    q = stats.norm.ppf(0.5 + level / 2)
    return {
        "raw_estimate": float(change.mean()), "sd": float(sd), "n": n, "correlation": r,
        "hedges_g": float(g), "std_error": float(se),
        "conf_low": float(g - q * se), "conf_high": float(g + q * se),
    }  # fmt: skip


def effect_size_table(
    data: PrepareData, differences: pd.DataFrame, level: float = 0.95
) -> pd.DataFrame:
    """Hedges' g between arms (from the model differences) and within arms, per outcome.

    Parameters
    ----------
    data : PrepareData
    differences : DataFrame
        From :func:`~trialanalysis.analyses.prepare.models.arm_differences`
        (one or more outcomes).
    level : float

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`; ``comparison`` is ``between_arms`` or
        ``within_arm``, ``n_1``/``n_2`` are the sizes behind the SD (control,
        intervention) or the pairs (``n_1``).
    """
    rows = []
    base = data.long[data.long["timepoint"] == data.baseline]
    for outcome, table in differences.groupby("outcome", sort=False):
        samples = [base.loc[base["arm"] == arm, outcome].dropna().to_numpy() for arm in data.arms]
        sd, sd_df = pooled_sd(*samples)
        for row in table.itertuples(index=False):
            g = between_arm_g(row.estimate, row.std_error, row.df, sd, sd_df, level)
            rows.append({
                "outcome": outcome, "comparison": "between_arms", "arm": row.contrast,
                "timepoint": row.timepoint, "raw_estimate": row.estimate, "sd": sd,
                "standardiser": BETWEEN_STANDARDISER, "n_1": len(samples[0]),
                "n_2": len(samples[1]), **g,
                "ci_method": "model difference and SD uncertainty (delta method), model df",
            })  # fmt: skip
        wide = data.wide([outcome])
        arms = data.patients.set_index("patient_id")["arm"]
        for arm in data.arms:
            mine = wide[arms.reindex(wide.index) == arm]
            for t in data.follow_ups:
                pairs = mine[[f"{outcome}_{data.baseline}", f"{outcome}_{t}"]].dropna()
                if len(pairs) == 0:
                    continue
                w = within_arm_g(pairs.iloc[:, 0], pairs.iloc[:, 1], level)
                rows.append({
                    "outcome": outcome, "comparison": "within_arm", "arm": arm, "timepoint": t,
                    "raw_estimate": w["raw_estimate"], "sd": w["sd"],
                    "standardiser": WITHIN_STANDARDISER, "n_1": w["n"], "n_2": np.nan,
                    "hedges_g": w["hedges_g"], "std_error": w["std_error"],
                    "conf_low": w["conf_low"], "conf_high": w["conf_high"],
                    "ci_method": "Becker (1988) variance, normal approximation",
                })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
