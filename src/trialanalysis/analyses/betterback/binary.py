"""BetterBack binary outcomes: referrals, CPQI indicators and responders, by GEE.

Each outcome is modelled as ``logit P(y = 1) ~ C(period) + treatment
[+ covariates]`` with an exchangeable working correlation within clinics,
the Mancl-DeRouen bias-reduced sandwich covariance and t reference
distributions with K - p degrees of freedom (K clinics, p parameters), as
:func:`~trialanalysis.models.gee.fit_gee` implements. The odds ratio is the
exponentiated treatment coefficient; the risk difference is standardised
over the analysed patients (every patient predicted treated and untreated).

A responder improved by at least ``improvement_percent`` % of the baseline
value at the follow-up (missing when the baseline is 0 or either value is
missing). Patients observed at both times with a baseline of 0 cannot be
classified; they are counted (``n_unclassified``) and named in the note
instead of being dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from trialanalysis.analyses.betterback.data import check_columns, responder_status
from trialanalysis.analyses.common.fits import gee_diagnostics, not_fitted_row
from trialanalysis.errors import ConfigError, ModelFitError, ModelSpecificationError
from trialanalysis.models.gee import fit_gee

TRIAL = "betterback"
UNCLASSIFIED = "_unclassified"
COLUMNS = [
    "outcome",
    "label",
    "kind",
    "n_obs",
    "n_clinics",
    "n_control",
    "events_control",
    "n_intervention",
    "events_intervention",
    "odds_ratio",
    "or_conf_low",
    "or_conf_high",
    "or_p_value",
    "risk_control",
    "risk_intervention",
    "risk_difference",
    "rd_conf_low",
    "rd_conf_high",
    "rd_p_value",
    "df",
    "n_unclassified",
    "note",
    "formula",
]


def responder_columns(
    design: pd.DataFrame,
    scores: pd.DataFrame,
    responders: Sequence[Mapping],
    baseline: str,
    labels: Mapping[str, str],
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Add one 0/1 responder column per configured responder definition.

    Returns
    -------
    (DataFrame, dict)
        The design with ``<score>_responder_<timepoint>`` columns (and
        ``<column>_unclassified``: 1 for patients observed at both times whose
        baseline is 0, so that no relative improvement is defined), and
        their labels.
    """
    frame, names = design.copy(), {}
    for spec in responders:
        score, timepoint = spec["score"], spec["timepoint"]
        if score not in scores.columns:
            raise ConfigError(
                f"betterback.analyses.binary.responders: {score!r} is not a patient score"
            )
        known = set(scores["timepoint"].astype(str))
        if timepoint not in known:
            raise ConfigError(
                f"betterback.analyses.binary.responders: time point {timepoint!r} of {score} "
                f"is not in the data ({', '.join(sorted(known))})"
            )
        wide = scores.pivot(index="patient_id", columns="timepoint", values=score)
        column = f"{score}_responder_{timepoint}"
        before = frame["patient_id"].map(wide[baseline]) if baseline in wide else None
        if before is None:
            raise ConfigError(f"responders: {score} has no baseline ({baseline}) values")
        after = frame["patient_id"].map(wide[timepoint])
        frame[column] = responder_status(
            before.astype(float),
            after.astype(float),
            spec["improvement_percent"],
            spec["direction"],
        )
        frame[f"{column}{UNCLASSIFIED}"] = (after.notna() & (before == 0)).astype(int)
        names[column] = (
            f"Responder, {score}: {spec['direction']} of at least "
            f"{spec['improvement_percent']:g}% from {baseline} to {timepoint}"
        )
    return frame, names


def _counts(data: pd.DataFrame, outcome: str) -> dict:
    used = data[data[outcome].notna()]
    counts = {}
    for value, name in ((0, "control"), (1, "intervention")):
        part = used.loc[used["treatment"] == value, outcome]
        counts[f"n_{name}"] = len(part)
        counts[f"events_{name}"] = int(part.sum())
    return counts


@dataclass(frozen=True)
class BinaryFit:
    """One binary outcome: its effect row, coefficients (None: no estimate) and diagnostics row."""

    row: dict
    coefficients: pd.DataFrame | None
    diagnostics: dict


def fit_binary(
    data: pd.DataFrame,
    outcome: str,
    label: str,
    kind: str,
    covariates: Sequence[str],
    correlation: str,
) -> BinaryFit:
    """Fit one binary outcome; return its effect row, coefficients and diagnostics row.

    An outcome without events (or with only events) in a condition has no
    finite odds ratio; its row then holds the counts and a note, and no model
    is fitted. Coefficients are None when no estimate is reported.
    """
    formula = " + ".join([f"{outcome} ~ C(period)", "treatment", *covariates])
    names = {"trial": TRIAL, "analysis": "gee", "outcome": outcome, "model": "GEE (logit)"}
    counts = _counts(data.loc[data["clinic_id"].notna()], outcome)
    empty = [
        f"{'no' if counts[f'events_{c}'] == 0 else 'only'} events among {c} patients"
        for c in ("control", "intervention")
        if counts[f"events_{c}"] in (0, counts[f"n_{c}"])
    ]
    if empty:
        reason = "odds ratio not estimable: " + "; ".join(empty)
        row = {"outcome": outcome, "label": label, "kind": kind, **counts, "note": reason}
        return BinaryFit(row, None, not_fitted_row(reason, **names))
    try:
        result = fit_gee(data, formula, "clinic_id", correlation=correlation)
    except (ModelSpecificationError, ModelFitError) as exc:
        row = {"outcome": outcome, "label": label, "kind": kind, **counts, "note": str(exc)}
        return BinaryFit(row, None, not_fitted_row(str(exc), **names))
    if not result.diagnostics["converged"]:
        reason = "GEE did not converge; no estimate shown"
        row = {"outcome": outcome, "label": label, "kind": kind, **counts, "note": reason}
        return BinaryFit(row, None, gee_diagnostics(result, **names))
    odds = result.odds_ratios().set_index("term").loc["treatment"]
    difference = result.risk_difference("treatment").iloc[0]
    row = {
        "outcome": outcome,
        "label": label,
        "kind": kind,
        "n_obs": result.diagnostics["n_obs"],
        "n_clinics": result.diagnostics["n_clusters"],
        **counts,
        "odds_ratio": odds["odds_ratio"],
        "or_conf_low": odds["conf_low"],
        "or_conf_high": odds["conf_high"],
        "or_p_value": odds["p_value"],
        "risk_control": difference["risk_untreated"],
        "risk_intervention": difference["risk_treated"],
        "risk_difference": difference["estimate"],
        "rd_conf_low": difference["conf_low"],
        "rd_conf_high": difference["conf_high"],
        "rd_p_value": difference["p_value"],
        "df": result.df,
        "note": "",
        "formula": formula,
    }
    coefficients = result.coefficients.assign(outcome=outcome, formula=formula)
    return BinaryFit(row, coefficients, gee_diagnostics(result, **names))


@dataclass(frozen=True)
class BinaryResults:
    """Every binary outcome: effects, coefficients and diagnostics tables."""

    effects: pd.DataFrame
    coefficients: pd.DataFrame
    diagnostics: pd.DataFrame


def complements(data: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """Outcomes that are the complement (1 - y, same missing values) of an earlier one.

    Such a pair is one test (OR and 1/OR, the same p), so it is reported once.

    Returns
    -------
    dict
        Later column -> the earlier column it complements.
    """
    out: dict[str, str] = {}
    for j, later in enumerate(columns):
        for earlier in columns[:j]:
            if earlier in out or later in out:
                continue
            a, b = data[earlier], data[later]
            if not (a.isna() == b.isna()).all() or a.notna().sum() == 0:
                continue
            observed = a.notna()
            if (pd.to_numeric(a[observed]) + pd.to_numeric(b[observed]) == 1).all():
                out[later] = earlier
    return out


def binary_outcomes(
    data: pd.DataFrame,
    settings: Mapping,
    responder_labels: Mapping[str, str],
    labels: Mapping[str, str],
) -> BinaryResults:
    """Fit every configured binary outcome and responder definition.

    Parameters
    ----------
    data : DataFrame
        One row per patient: design columns, care columns, CPQI indicators
        and responder columns.
    settings : mapping
        ``betterback.analyses.binary``.
    responder_labels : mapping
        Responder column -> label (from :func:`responder_columns`).
    labels : mapping
        Column -> label for the care outcomes.

    Returns
    -------
    BinaryResults
    """
    check_columns(
        settings["outcomes"], data.columns, "betterback.analyses.binary.outcomes", "care"
    )
    check_columns(
        settings["covariates"], data.columns, "betterback.analyses.binary.covariates", "patients"
    )
    wanted = [(o, labels.get(o, o), "care process") for o in settings["outcomes"]]
    wanted += [(c, text, "responder") for c, text in responder_labels.items()]
    twins = complements(data, [o for o, _, _ in wanted])
    named = {o: label for o, label, _ in wanted}
    rows, coefficients, diagnostics = [], [], []
    for outcome, label, kind in wanted:
        if outcome in twins:
            continue
        fit = fit_binary(
            data, outcome, label, kind, settings["covariates"], settings["correlation"]
        )
        row = fit.row
        if f"{outcome}{UNCLASSIFIED}" in data.columns:
            n = int(data[f"{outcome}{UNCLASSIFIED}"].sum())
            row["n_unclassified"] = n
            if n:
                # the number is in n_unclassified, where the small-cell rule sees it
                reason = (
                    "patients with a baseline value of 0 cannot be classified (no relative "
                    'improvement; counted under "Not classifiable") and are not in the model'
                )
                row["note"] = "; ".join(filter(None, [row.get("note", ""), reason]))
        for twin in [t for t, of in twins.items() if of == outcome]:
            reason = (
                f"{named[twin]} is its complement (the same test: odds ratio inverted, "
                "risk difference negated), so it is reported once"
            )
            row["note"] = "; ".join(filter(None, [row.get("note", ""), reason]))
        diagnostics.append(fit.diagnostics)
        rows.append(row)
        if fit.coefficients is not None:
            coefficients.append(fit.coefficients)
    coefficient_table = pd.concat(coefficients, ignore_index=True) if coefficients else None
    if coefficient_table is not None:
        coefficient_table = coefficient_table[
            ["outcome"] + [c for c in coefficient_table.columns if c != "outcome"]
        ]
    return BinaryResults(
        pd.DataFrame(rows, columns=COLUMNS),
        coefficient_table if coefficient_table is not None else pd.DataFrame(),
        pd.DataFrame(diagnostics),
    )
