"""Variance components with profile-likelihood intervals, ICC and design effect.

Intervals for standard deviations, correlations and the residual standard
deviation are by default profile-likelihood intervals on the fit's own
criterion (REML for REML fits; ``lme4::confint(method = "profile")``
profiles the ML deviance even then): the deviance is minimised over all
other variance parameters with one held fixed, and the interval holds the
values whose deviance is within ``χ²₁(level)`` of the minimum (see
:mod:`.profile`). Unlike Wald intervals on the variance scale these respect
the boundary at zero and behave with few clusters (e.g. 17 clinics).
Variance intervals are the squared standard-deviation intervals. Wald
intervals (log-SD / atanh-correlation scale) or none can be chosen instead.

The ICC of a random-intercept term is its share of the total variance,
``σ²_k / (Σ_j σ²_j + σ²)``; its interval is a profile-likelihood interval
for that ratio, computed from the deviance profiled over σ and the fixed
effects. Design effect for unequal cluster sizes: Eldridge, Ashby & Kerry
(2006, *Int J Epidemiol* 35:1292–1300), ``1 + ((CV² + 1) m̄ − 1) ρ``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.optimize
import scipy.stats

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.profile import VarianceProfile, wald_intervals

CI_METHOD = "profile likelihood"


#: Interval methods for variance components.
VARIANCE_CI_METHODS = ("profile", "wald", "none")


def check_variance_ci(method: str) -> str:
    """Validate a ``variance_ci`` choice ("profile", "wald" or "none")."""
    if method not in VARIANCE_CI_METHODS:
        raise ModelSpecificationError(
            f"variance_ci must be one of {', '.join(VARIANCE_CI_METHODS)}, got {method!r}"
        )
    return method


def variance_components(
    fit,
    level: float = 0.95,
    criterion: str | None = None,
    intervals: bool = True,
    method: str = "profile",
) -> pd.DataFrame:
    """Tidy table of variance components with profile-likelihood or Wald intervals.

    Parameters
    ----------
    fit : MixedModelResult
    level : float
        Confidence level.
    criterion : {"REML", "ML"}, optional
        Criterion to profile. Default: the fit's (REML for REML fits). "ML"
        refits by maximum likelihood and profiles that, which is what
        ``lme4::confint(method = "profile")`` does even for REML fits.
    intervals : bool
        False skips the intervals (same as ``method="none"``).
    method : {"profile", "wald", "none"}
        Profile-likelihood intervals (default), Wald intervals (log-sd and
        atanh-correlation scale, see :func:`wald_intervals`), or none.

    Returns
    -------
    DataFrame
        ``group, term, parameter, estimate, std_dev, conf_low, conf_high,
        ci_method``: one ``variance`` row per random effect (interval on the
        variance scale), one ``correlation`` row per pair, and the residual.
        Estimates are those of the fit. A limit that could not be found is
        NaN; why is said in ``fit.diagnostics["notes"]``. Never raises for a
        fitted model.
    """
    method = check_variance_ci("none" if not intervals else method)
    criterion = (criterion or ("REML" if fit.reml else "ML")).upper()
    if criterion not in ("REML", "ML"):
        raise ModelSpecificationError(f"criterion must be 'REML' or 'ML', got {criterion!r}")
    reference = VarianceProfile(fit.criterion, fit.theta, fit.sigma)
    estimates = reference.psi_hat
    limits = [(np.nan, np.nan)] * len(estimates)
    profile = reference
    if method != "none" and (criterion == "REML") != fit.reml:
        from trialanalysis.models.criterion import Criterion
        from trialanalysis.models.fitting import optimise

        other = Criterion(fit.model, reml=criterion == "REML")
        record = optimise(other, start=fit.theta)
        profile = VarianceProfile(other, record.theta, other.sigma(record.theta))
    if method == "profile":
        limits = [profile.interval(index, level) for index in range(len(estimates))]
    elif method == "wald":
        limits = wald_intervals(profile, level)
    notes = fit.diagnostics.setdefault("notes", [])
    notes.extend(note for note in dict.fromkeys(profile.notes) if note not in notes)
    rows = []
    for index, (kind, name) in enumerate(zip(reference.kinds, reference.names, strict=True)):
        estimate = estimates[index]
        low, high = limits[index]
        if kind == "sigma":
            group, term = "Residual", ""
        else:
            block, r, c = name
            group = block.term.group_label
            term = (
                block.column_names[r]
                if r == c
                else (f"{block.column_names[c]}, {block.column_names[r]}")
            )
        if kind == "cor":
            rows.append((group, term, "correlation", estimate, np.nan, low, high))
        else:
            rows.append((group, term, "variance", estimate**2, estimate, low**2, high**2))
    table = pd.DataFrame(
        rows,
        columns=["group", "term", "parameter", "estimate", "std_dev", "conf_low", "conf_high"],
    )
    labels = {"profile": f"{CI_METHOD} ({criterion})", "wald": f"Wald ({criterion})"}
    table["ci_method"] = labels.get(method, "none")
    return table


def icc_table(fit, level: float = 0.95) -> pd.DataFrame:
    """ICC of each random-intercept term with a profile-likelihood interval.

    Raises
    ------
    ModelSpecificationError
        If a term has random slopes (the ICC then depends on covariates).
    """
    blocks = fit.model.blocks
    if any(block.q != 1 or block.column_names != ["(Intercept)"] for block in blocks):
        raise ModelSpecificationError(
            "the ICC is defined here for random-intercept models only; with random slopes "
            "the intraclass correlation depends on the covariate values"
        )
    crit = scipy.stats.chi2.ppf(level, 1)
    theta_hat = fit.theta
    rows = []
    for k, block in enumerate(blocks):
        icc_hat = theta_hat[k] ** 2 / (np.sum(theta_hat**2) + 1)

        def excess(rho, k=k):
            return _icc_profile(fit, k, rho) - fit.deviance - crit

        low, high = _icc_limits(excess, icc_hat)
        if np.isnan(low) or np.isnan(high):
            fit.diagnostics.setdefault("notes", []).append(
                f"ICC of {block.term.group_label}: a profile limit was not found (NaN)"
            )
        total = fit.sigma**2 * (np.sum(theta_hat**2) + 1)
        rows.append(
            {
                "group": block.term.group_label,
                "variance": fit.sigma**2 * theta_hat[k] ** 2,
                "total_variance": total,
                "icc": icc_hat,
                "conf_low": low,
                "conf_high": high,
                "ci_method": CI_METHOD,
            }
        )
    return pd.DataFrame(rows)


def _icc_limits(excess, icc_hat: float) -> tuple[float, float]:
    """Profile limits of an ICC in [0, 1]; NaN where the root finder fails."""
    limits = []
    for lo, hi, edge in ((1e-12, icc_hat, 0.0), (icc_hat, 1 - 1e-9, 1.0)):
        try:
            end = excess(lo if edge == 0.0 else hi)
            if (edge == 0.0 and icc_hat == 0) or end <= 0:
                limits.append(edge)
            else:
                limits.append(float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-12)))
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            limits.append(np.nan)
    return limits[0], limits[1]


def _icc_profile(fit, k: int, rho: float) -> float:
    """Deviance (profiled over β, σ) minimised over θ with ICC_k fixed at ``rho``."""
    others = [j for j in range(len(fit.theta)) if j != k]

    def theta_for(z):
        theta = np.zeros(len(fit.theta))
        theta[others] = np.abs(z)
        theta[k] = np.sqrt(rho * (np.sum(theta[others] ** 2) + 1) / (1 - rho))
        return theta

    if not others:
        return fit.criterion.deviance(theta_for(np.array([])))
    result = scipy.optimize.minimize(
        lambda z: fit.criterion.deviance(theta_for(z)),
        fit.theta[others],
        method="L-BFGS-B",
        jac="3-point",
        bounds=[(0.0, None)] * len(others),
        options={"ftol": 1e-14, "gtol": 1e-9},
    )
    return float(result.fun)


def cluster_sizes(frame: pd.DataFrame, group: list[str], unit: list[str] | None) -> pd.Series:
    """Size of each cluster: rows, or distinct ``unit`` values, per level of ``group``."""
    from trialanalysis.models.design import combined_labels

    keys = combined_labels(frame, group)
    if unit is None:
        return keys.value_counts().sort_index()
    units = combined_labels(frame, unit)
    return units.groupby(keys).nunique().sort_index()


def design_effect(sizes, icc: float) -> float:
    """Design effect for unequal cluster sizes (Eldridge et al. 2006).

    ``1 + ((CV² + 1) m̄ − 1) ρ`` with ``m̄`` the mean cluster size and ``CV``
    its coefficient of variation using the population standard deviation
    (``ddof=0``), for which ``(CV² + 1) m̄ = Σm² / Σm`` exactly.

    Examples
    --------
    >>> round(design_effect([10, 10, 10], 0.05), 6)
    1.45
    """
    sizes = np.asarray(sizes, dtype=float)
    if sizes.size == 0 or np.any(sizes <= 0):
        raise ModelSpecificationError("cluster sizes must be positive and not empty")
    if not 0 <= icc <= 1:
        raise ModelSpecificationError(f"the ICC must lie in [0, 1], got {icc}")
    mean = sizes.mean()
    cv = sizes.std(ddof=0) / mean
    return float(1 + ((cv**2 + 1) * mean - 1) * icc)


def cluster_summary(sizes: pd.Series) -> dict:
    """Summarise the number of clusters and the distribution of their sizes."""
    values = sizes.to_numpy(dtype=float)
    mean = values.mean()
    return {
        "n_clusters": len(values),
        "total": int(values.sum()),
        "mean_size": float(mean),
        "sd_size": float(values.std(ddof=0)),
        "cv_size": float(values.std(ddof=0) / mean),
        "min_size": int(values.min()),
        "median_size": float(np.median(values)),
        "max_size": int(values.max()),
    }
