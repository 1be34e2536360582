"""Model fitting helpers shared by the trial analyses.

Fitting with recorded warnings, diagnostics rows and random-effects terms
from the config.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import pandas as pd

from trialanalysis.errors import ConfigError, ModelSpecificationError
from trialanalysis.models.formula import parse_formula
from trialanalysis.models.mixed import MixedModelResult, fit_mixed

DIAGNOSTICS_COLUMNS = [
    "trial",
    "analysis",
    "outcome",
    "timepoint",
    "model",
    "converged",
    "optimizer",
    "boundary",
    "singular",
    "n_used",
    "n_dropped",
    "warnings",
    "notes",
]


def fit_mixed_recorded(data: pd.DataFrame, formula: str, **kwargs) -> MixedModelResult:
    """Fit :func:`~trialanalysis.models.mixed.fit_mixed` and keep every warning in its diagnostics.

    Warnings raised during the fit (e.g. non-convergence) are added to
    ``fit.diagnostics["warnings"]`` so that they reach the diagnostics table.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_mixed(data, formula, **kwargs)
    recorded = fit.diagnostics["warnings"]
    recorded.extend(str(w.message) for w in caught if str(w.message) not in recorded)
    return fit


def diagnostics_record(info: Mapping, extra_warnings: Sequence[str] = (), **labels) -> dict:
    """One diagnostics row (see :data:`DIAGNOSTICS_COLUMNS`) from a fit's ``diagnostics``.

    Keys missing from ``info`` take neutral values (a closed-form fit has
    nothing to converge); ``extra_warnings`` are warnings recorded around
    the fit, added once each.
    """
    messages = list(dict.fromkeys([*info.get("warnings", []), *extra_warnings]))
    row = {key: labels.get(key, "") for key in ("trial", "analysis", "outcome", "timepoint")}
    row.update(
        {
            "model": labels.get("model", "linear mixed model"),
            "converged": bool(info.get("converged", True)),
            "optimizer": info.get("optimizer", ""),
            "boundary": bool(info.get("boundary", False)),
            "singular": bool(info.get("singular", False)),
            "n_used": int(info.get("n_used", 0)),
            "n_dropped": int(info.get("n_dropped", 0)),
            "warnings": " | ".join(messages),
            "notes": " | ".join(info.get("notes", [])),
        }
    )
    return row


def mixed_diagnostics(fit: MixedModelResult, **labels) -> dict:
    """One diagnostics row of a mixed model (see :data:`DIAGNOSTICS_COLUMNS`)."""
    return diagnostics_record(fit.diagnostics, **labels)


def gee_diagnostics(result, **labels) -> dict:
    """One diagnostics row of a GEE fit (see :data:`DIAGNOSTICS_COLUMNS`)."""
    info = result.diagnostics
    row = {key: labels.get(key, "") for key in ("trial", "analysis", "outcome", "timepoint")}
    row.update(
        {
            "model": labels.get("model", "GEE"),
            "converged": info["converged"],
            "optimizer": "GEE (statsmodels)",
            "boundary": False,
            "singular": False,
            "n_used": info["n_obs"],
            "n_dropped": info["n_dropped"],
            "warnings": " | ".join(info["warnings"]),
            "notes": f"working correlation {info['correlation']} "
            f"({info['working_correlation']:.3g}); {info['cov_type']} covariance; "
            f"t on {info['df']:g} df",
        }
    )
    return row


def not_fitted_row(reason: str, **labels) -> dict:
    """Diagnostics row of a model that could not be fitted, with the reason."""
    row = {key: labels.get(key, "") for key in ("trial", "analysis", "outcome", "timepoint")}
    row.update(
        {
            "model": labels.get("model", ""),
            "converged": False,
            "optimizer": "",
            "boundary": False,
            "singular": False,
            "n_used": 0,
            "n_dropped": 0,
            "warnings": f"not fitted: {reason}",
            "notes": "",
        }
    )
    return row


def mixed_formula(response: str, fixed: Sequence[str], random_effects: Sequence[str]) -> str:
    """Compose an lme4 formula from a response, fixed terms and random terms."""
    return f"{response} ~ " + " + ".join([*fixed, *random_effects])


def random_groups(random_effects: Sequence[str], where: str) -> list[tuple[str, ...]]:
    """Check lme4 random terms from the config and return their grouping factors.

    Raises
    ------
    ConfigError
        If a term cannot be parsed.
    """
    try:
        parsed = parse_formula(mixed_formula("y", ["1"], random_effects))
    except ModelSpecificationError as exc:
        raise ConfigError(
            f"{where}: cannot read the random terms {list(random_effects)}: {exc}"
        ) from exc
    return [tuple(term.group) for term in parsed.random]
