"""Variance components with profile-likelihood intervals, ICC and design effect.

Intervals for standard deviations, correlations and the residual standard
deviation are profile-likelihood intervals on the fit's criterion (REML or
ML), as ``lme4::confint(method = "profile")``: the deviance is minimised over
all other variance parameters with one held fixed, and the interval holds
the values whose deviance is within ``χ²₁(level)`` of the minimum. Unlike
Wald intervals on the variance scale these respect the boundary at zero and
behave with few clusters (e.g. 17 clinics). Variance intervals are the
squared standard-deviation intervals.

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

CI_METHOD = "profile likelihood"


def _psd_cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a positive semi-definite matrix (zero pivots allowed)."""
    q = len(cov)
    factor = np.zeros((q, q))
    scale = max(float(np.max(np.abs(np.diag(cov)))), 1e-300)
    for j in range(q):
        pivot = cov[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot <= 1e-12 * scale:
            continue
        factor[j, j] = np.sqrt(pivot)
        for i in range(j + 1, q):
            factor[i, j] = (cov[i, j] - factor[i, :j] @ factor[j, :j]) / factor[j, j]
    return factor


class VarianceProfile:
    """Variance parameters of a fit on the sd/correlation scale, and their profiles.

    ``psi`` lists, per random term, the entries of its lower triangle in
    lme4's order (a standard deviation on the diagonal, a correlation below
    it), then the residual standard deviation.
    """

    def __init__(self, criterion, theta: np.ndarray, sigma: float):
        self.criterion = criterion
        self.blocks = criterion.model.blocks
        self.psi_hat = self.to_psi(theta, sigma)
        self.deviance_hat = self.criterion.deviance_varpar(np.r_[theta, sigma])
        self.kinds, self.names = [], []
        for block in self.blocks:
            for r, c in block.lower_triangle():
                self.kinds.append("sd" if r == c else "cor")
                self.names.append((block, r, c))
        self.kinds.append("sigma")
        self.names.append(None)

    def to_psi(self, theta: np.ndarray, sigma: float) -> np.ndarray:
        """(θ, σ) → standard deviations and correlations, then σ."""
        psi = []
        for block in self.blocks:
            cov = sigma**2 * self._relative_cov(block, theta)
            sd = np.sqrt(np.diag(cov))
            for r, c in block.lower_triangle():
                if r == c:
                    psi.append(sd[r])
                else:
                    psi.append(cov[r, c] / (sd[r] * sd[c]) if sd[r] * sd[c] > 0 else 0.0)
        return np.array([*psi, sigma])

    def to_varpar(self, psi: np.ndarray) -> np.ndarray:
        """Map standard deviations and correlations, then σ, to (θ, σ)."""
        sigma = psi[-1]
        theta = []
        for block in self.blocks:
            values = psi[block.theta_offset : block.theta_offset + block.n_theta]
            sd = np.zeros(block.q)
            cor = np.eye(block.q)
            for value, (r, c) in zip(values, block.lower_triangle(), strict=True):
                if r == c:
                    sd[r] = value
                else:
                    cor[r, c] = cor[c, r] = value
            factor = _psd_cholesky(np.outer(sd, sd) * cor) / sigma
            theta.extend(factor[r, c] for r, c in block.lower_triangle())
        return np.array([*theta, sigma])

    @staticmethod
    def _relative_cov(block, theta: np.ndarray) -> np.ndarray:
        factor = np.zeros((block.q, block.q))
        for k, (r, c) in enumerate(block.lower_triangle()):
            factor[r, c] = theta[block.theta_offset + k]
        return factor @ factor.T

    def _bounds(self) -> list[tuple[float | None, float | None]]:
        limits = {"sd": (0.0, None), "cor": (-1.0, 1.0), "sigma": (1e-8 * self.psi_hat[-1], None)}
        return [limits[kind] for kind in self.kinds]

    def _deviance(self, psi: np.ndarray) -> float:
        try:
            value = self.criterion.deviance_varpar(self.to_varpar(psi))
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            return np.inf
        return value if np.isfinite(value) else np.inf

    def profile(self, index: int, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """Minimum deviance with ``psi[index] = value``; returns it and the minimiser."""
        free = [i for i in range(len(start)) if i != index]
        bounds = [self._bounds()[i] for i in free]
        point = start.copy()
        point[index] = value

        def objective(z):
            full = point.copy()
            full[free] = z
            return self._deviance(full)

        lows = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
        highs = np.array([b[1] if b[1] is not None else np.inf for b in bounds])
        z0 = np.clip(point[free], lows, highs)
        result = scipy.optimize.minimize(
            objective,
            z0,
            method="L-BFGS-B",
            jac="3-point",
            bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 500},
        )
        best = point.copy()
        best[free] = np.clip(result.x, lows, highs)
        return float(min(result.fun, objective(z0))), best

    def interval(self, index: int, level: float) -> tuple[float, float]:
        """Profile-likelihood interval for ``psi[index]``."""
        crit = scipy.stats.chi2.ppf(level, 1)
        estimate = self.psi_hat[index]
        kind = self.kinds[index]
        low_edge, high_edge = {"sd": (0.0, np.inf), "cor": (-1.0, 1.0)}.get(kind, (0.0, np.inf))
        cache: dict[float, tuple[float, np.ndarray]] = {}

        def excess(value):
            if value not in cache:
                # Warm start from the nearest point already profiled.
                nearest = min(cache, key=lambda v: abs(v - value), default=None)
                start = self.psi_hat if nearest is None else cache[nearest][1]
                cache[value] = self.profile(index, value, start)
            return cache[value][0] - self.deviance_hat - crit

        limits = []
        for direction in (-1, 1):
            edge = low_edge if direction < 0 else high_edge
            limits.append(self._limit(excess, estimate, edge, direction, kind))
        return limits[0], limits[1]

    def _limit(self, excess, estimate, edge, direction, kind) -> float:
        """Where the profile crosses the threshold between the estimate and ``edge``."""
        if estimate == edge:
            return float(edge)
        probe = None
        if kind == "sd" and direction < 0:
            probe = 0.0
        elif kind == "cor":
            probe = edge - direction * 1e-9
        if probe is not None and excess(probe) < 0:
            return float(edge)
        scale = max(abs(estimate), 1e-3 * self.psi_hat[-1], 1e-12)
        step = 0.1 if kind == "cor" else 0.25 * scale
        inner = outer = estimate
        for _ in range(60):
            if kind == "sigma" and direction < 0:
                outer = outer / 2
            else:
                outer = outer + direction * step
                step *= 2
            if probe is not None and direction * (outer - probe) >= 0:
                outer = probe
            if excess(outer) > 0:
                break
            inner = outer
        else:
            return float(direction * np.inf)
        lo, hi = sorted((inner, outer))
        return float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-8 * scale, rtol=1e-8))


def variance_components(
    fit, level: float = 0.95, criterion: str | None = None, intervals: bool = True
) -> pd.DataFrame:
    """Tidy table of variance components with profile-likelihood intervals.

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
        False skips the (slower) interval computation.

    Returns
    -------
    DataFrame
        ``group, term, parameter, estimate, std_dev, conf_low, conf_high,
        ci_method``: one ``variance`` row per random effect (interval on the
        variance scale), one ``correlation`` row per pair, and the residual.
        Estimates are those of the fit.
    """
    criterion = (criterion or ("REML" if fit.reml else "ML")).upper()
    if criterion not in ("REML", "ML"):
        raise ModelSpecificationError(f"criterion must be 'REML' or 'ML', got {criterion!r}")
    estimates = VarianceProfile(fit.criterion, fit.theta, fit.sigma).psi_hat
    profile = None
    if intervals:
        if (criterion == "REML") == fit.reml:
            profile = VarianceProfile(fit.criterion, fit.theta, fit.sigma)
        else:
            from trialanalysis.models.criterion import Criterion
            from trialanalysis.models.fitting import optimise

            other = Criterion(fit.model, reml=criterion == "REML")
            record = optimise(other, start=fit.theta)
            profile = VarianceProfile(other, record.theta, other.sigma(record.theta))
    reference = VarianceProfile(fit.criterion, fit.theta, fit.sigma)
    rows = []
    for index, (kind, name) in enumerate(zip(reference.kinds, reference.names, strict=True)):
        estimate = estimates[index]
        low, high = profile.interval(index, level) if profile else (np.nan, np.nan)
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
    table["ci_method"] = f"{CI_METHOD} ({criterion})" if intervals else "none"
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

        low = 0.0
        if icc_hat > 0 and excess(1e-12) > 0:
            low = scipy.optimize.brentq(excess, 1e-12, icc_hat, xtol=1e-12)
        top = 1 - 1e-9
        high = 1.0 if excess(top) < 0 else scipy.optimize.brentq(excess, icc_hat, top, xtol=1e-12)
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
