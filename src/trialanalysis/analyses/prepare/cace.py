"""Adherence-adjusted (complier-average causal) effect of PREPARE, beside ITT and per protocol.

Randomisation is the instrument of receipt of the intervention: receipt is
``sessions_attended >= threshold`` in the intervention arm (waiting-list
patients cannot receive it: one-sided non-compliance). Under the
instrumental-variable assumptions (randomisation affects the outcome only
through receipt, no defiers: Angrist, Imbens & Rubin 1996) the two-stage
least squares (2SLS) coefficient of receipt is the complier-average causal
effect (CACE): the effect among patients who would attend at least
``threshold`` sessions if offered the intervention. Both stages adjust for
the baseline value of the outcome; SEs are heteroskedasticity-consistent
sandwich (``HC1`` by default, as ``sandwich::vcovHC``) or classical, with t
intervals on n - k df (:func:`~trialanalysis.models.iv.two_stage_least_squares`).

Three estimates of the same outcome and time point are set side by side, on
the patients with the outcome observed at baseline and at that time point:

- ITT: the baseline-adjusted difference by randomised arm (the same
  regression with arm in place of receipt; randomised);
- CACE: as above (randomised, adherence-adjusted);
- per protocol: full versus partial dose within the intervention arm
  (:func:`~.responders.dose_table`; not randomised, confounded by whatever
  drives attendance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.iv import two_stage_least_squares

ITT = "ITT: baseline-adjusted difference by randomised arm (same patients)"
CACE = "CACE: complier-average causal effect (2SLS, randomisation as instrument)"
COLUMNS = [
    "outcome", "timepoint", "analysis", "estimate", "std_error", "df", "p_value",
    "conf_low", "conf_high", "n", "n_control", "n_intervention", "n_received",
    "compliance", "first_stage_f", "threshold", "vcov",
]  # fmt: skip


def cace_frame(data, outcome: str, timepoint: str, threshold: int) -> pd.DataFrame:
    """Patients with ``outcome`` at baseline and ``timepoint``: ``y, baseline, arm, received``.

    ``arm`` is the 0/1 randomised treatment; ``received`` is 1 for
    intervention-arm patients with at least ``threshold`` sessions attended.
    """
    wide = data.wide([outcome], [data.baseline, timepoint])
    patients = data.patients.set_index("patient_id")
    frame = pd.DataFrame(
        {
            "y": wide[f"{outcome}_{timepoint}"],
            "baseline": wide[f"{outcome}_{data.baseline}"],
            "arm": patients["treatment"].reindex(wide.index).astype(float),
            "sessions": pd.to_numeric(
                patients["sessions_attended"].reindex(wide.index), errors="coerce"
            ),
        }
    )
    frame = frame.dropna(subset=["y", "baseline", "arm"])
    if frame.loc[frame["arm"] == 1, "sessions"].isna().any():
        raise ModelSpecificationError(
            f"CACE of {outcome} at {timepoint}: sessions_attended is missing for "
            f"{int(frame.loc[frame['arm'] == 1, 'sessions'].isna().sum())} intervention-arm "
            "patient(s); receipt cannot be classified"
        )
    frame["received"] = ((frame["arm"] == 1) & (frame["sessions"] >= threshold)).astype(float)
    return frame.reset_index()


def cace_table(
    data,
    outcomes: Sequence[str],
    timepoints: Sequence[str],
    threshold: int,
    dose: pd.DataFrame,
    vcov: str = "HC1",
    level: float = 0.95,
) -> pd.DataFrame:
    """ITT, CACE and the per-protocol dose comparison per outcome and time point.

    Parameters
    ----------
    data : PrepareData
    outcomes, timepoints : sequence of str
    threshold : int
        Sessions attended that count as receipt.
    dose : DataFrame
        The per-protocol dose comparison (:func:`~.responders.dose_table`),
        whose rows for the same outcome and time point are carried over.
    vcov : {"HC1", "HC0", "classical"}
    level : float

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, three rows (ITT, CACE, per protocol) per outcome
        and time point.
    """
    rows = []
    for outcome in outcomes:
        for timepoint in timepoints:
            frame = cace_frame(data, outcome, timepoint, threshold)
            counts = {
                "outcome": outcome,
                "timepoint": timepoint,
                "n": len(frame),
                "n_control": int((frame["arm"] == 0).sum()),
                "n_intervention": int((frame["arm"] == 1).sum()),
                "n_received": int(frame["received"].sum()),
                "threshold": threshold,
                "vcov": vcov,
            }
            itt = two_stage_least_squares(
                frame, "y", ["arm"], ["arm"], ["baseline"], vcov=vcov, level=level
            )
            iv = two_stage_least_squares(
                frame, "y", ["received"], ["arm"], ["baseline"], vcov=vcov, level=level
            )
            first = iv.first_stage.iloc[0]
            rows.append(counts | _estimate(itt, "arm") | {"analysis": ITT})
            rows.append(
                counts
                | _estimate(iv, "received")
                | {
                    "analysis": CACE,
                    "compliance": float(first["instrument_estimate"]),
                    "first_stage_f": float(first["f_statistic"]),
                }
            )
            per_protocol = dose[(dose["outcome"] == outcome) & (dose["timepoint"] == timepoint)]
            for record in per_protocol.to_dict("records"):
                rows.append(
                    {
                        **counts,
                        "analysis": f"per protocol: {record['analysis']}",
                        **{
                            k: record[k]
                            for k in (
                                "estimate",
                                "std_error",
                                "df",
                                "p_value",
                                "conf_low",
                                "conf_high",
                            )
                        },
                        "n": record["n_full_dose"] + record["n_partial_dose"],
                        "n_control": np.nan,
                        "n_intervention": record["n_full_dose"] + record["n_partial_dose"],
                        "n_received": record["n_full_dose"],
                        "vcov": "classical (OLS)",
                    }
                )
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def _estimate(fit, term: str) -> dict:
    row = fit.coefficients.set_index("term").loc[term]
    keys = ("estimate", "std_error", "df", "p_value", "conf_low", "conf_high")
    return {k: float(row[k]) for k in keys}
