"""Analytic power: the GLS variance of the treatment effect in a cluster design.

The model is the cross-sectional linear mixed model of Hussey & Hughes (2007)
with, when the cluster autocorrelation is below 1, a cluster-period random
effect (Hooper et al. 2016; Kasza et al. 2019)::

    y_ijk = beta_j + theta * X_ij + c_i + cp_ij + e_ijk

with period fixed effects ``beta_j``, ``c_i ~ N(0, icc * cac * sd^2)``,
``cp_ij ~ N(0, icc * (1 - cac) * sd^2)`` and ``e_ijk ~ N(0, (1 - icc) *
sd^2)``. Because the treatment is constant within a cluster-period, the
cluster-period means are sufficient for the fixed effects: cluster ``i``
contributes ``X_i' V_i^-1 X_i`` to the information, with ``V_i = s_c J +
diag(s_cp + s_e / m_ij)`` over the periods it is observed in. This is exact
for incomplete designs (unobserved cluster-periods are left out) and for
known unequal sizes ``m_ij``. ``Var(theta_hat)`` is the treatment element of
the inverse information.

Power (two-sided, level ``alpha``) uses the normal approximation
``Phi(|theta|/se - z) + Phi(-|theta|/se - z)``, and a t reference on stated
df with the noncentral t distribution.

References
----------
Hussey MA, Hughes JP. Contemp Clin Trials 2007;28:182-91.
Hooper R, Teerenstra S, de Hoop E, Eldridge S. Stat Med 2016;35:4718-28.
Kasza J, Hemming K, Hooper R, Matthews JNS, Forbes AB. Stat Methods Med Res
2019;28:703-16.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.stats

from trialanalysis.errors import ConfigError
from trialanalysis.power.spec import PowerSpec, draw_sizes

RESULT_COLUMNS = [
    "method",
    "effect",
    "power",
    "power_mc_se",
    "type1_error",
    "type1_mc_se",
    "coverage",
    "se_effect",
    "df",
    "n_sims",
    "n_failed",
]


def gls_variance(
    treatment: np.ndarray,
    sizes: np.ndarray,
    var_cluster: float,
    var_cluster_period: float,
    var_individual: float,
) -> float:
    """Variance of the GLS treatment estimate in a cross-sectional cluster design.

    Parameters
    ----------
    treatment : ndarray
        K x T treatment indicator (1 intervention, 0 control, NaN not observed).
    sizes : ndarray
        K x T individuals with the outcome per cluster-period; a size of 0
        counts as not observed.
    var_cluster, var_cluster_period, var_individual : float
        Variance components (individual variance > 0).

    Returns
    -------
    float
        ``Var(theta_hat)``.

    Raises
    ------
    ConfigError
        If the treatment effect is not estimable in the design.
    """
    treatment = np.asarray(treatment, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    n_periods = treatment.shape[1]
    information = np.zeros((n_periods + 1, n_periods + 1))
    for x_row, m_row in zip(treatment, sizes, strict=True):
        seen = np.flatnonzero(~np.isnan(x_row) & (m_row > 0))
        if len(seen) == 0:
            continue
        design = np.zeros((len(seen), n_periods + 1))
        design[np.arange(len(seen)), seen] = 1.0
        design[:, -1] = x_row[seen]
        v = np.full((len(seen), len(seen)), var_cluster)
        v[np.diag_indices(len(seen))] += var_cluster_period + var_individual / m_row[seen]
        information += design.T @ np.linalg.solve(v, design)
    keep = np.r_[information.diagonal()[:-1] > 0, True]
    information = information[np.ix_(keep, keep)]
    if np.linalg.matrix_rank(information) < len(information):
        raise ConfigError(
            "the treatment effect is not estimable in this design (it is confounded with "
            "period); switch sequences at different periods"
        )
    return float(np.linalg.inv(information)[-1, -1])


def power_normal(effect: float, se: float, alpha: float) -> float:
    """Two-sided power of a Wald test with a normal reference."""
    z = scipy.stats.norm.ppf(1 - alpha / 2)
    shift = abs(effect) / se
    return float(scipy.stats.norm.cdf(shift - z) + scipy.stats.norm.cdf(-shift - z))


def power_t(effect: float, se: float, df: float, alpha: float) -> float:
    """Two-sided power of a t test on ``df`` degrees of freedom (noncentral t)."""
    crit = scipy.stats.t.ppf(1 - alpha / 2, df)
    shift = abs(effect) / se
    return float(scipy.stats.nct.sf(crit, df, shift) + scipy.stats.nct.cdf(-crit, df, shift))


def _variances(spec: PowerSpec) -> np.ndarray:
    components = spec.variance_components()
    keep = 1.0 - spec.dropout
    if spec.cluster_size_cv == 0:
        return np.array([gls_variance(spec.treatment, spec.sizes * keep, *components)])
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 0]))
    draws = [draw_sizes(spec, rng) * keep for _ in range(spec.size_draws)]
    return np.array([gls_variance(spec.treatment, m, *components) for m in draws])


def analytic_power(spec: PowerSpec) -> pd.DataFrame:
    """Analytic power of a spec for each effect, with a normal and a t reference.

    With ``cluster_size_cv > 0`` the power is averaged over
    ``spec.size_draws`` seeded draws of the cluster sizes and ``se_effect``
    is the root mean variance. Dropout scales the sizes by ``1 - dropout``.

    Returns
    -------
    DataFrame
        :data:`RESULT_COLUMNS`; ``method`` is ``analytic-z`` or
        ``analytic-t``. Type I error, coverage and the Monte Carlo columns
        are not estimated (empty): analytically they equal their nominal
        values.
    """
    variances = _variances(spec)
    se = np.sqrt(variances)
    rows = []
    for effect in spec.effects:
        for method, df in (("analytic-z", np.inf), ("analytic-t", spec.t_df)):
            if np.isinf(df):
                power = np.mean([power_normal(effect, s, spec.alpha) for s in se])
            else:
                power = np.mean([power_t(effect, s, df, spec.alpha) for s in se])
            rows.append(
                {
                    "method": method,
                    "effect": effect,
                    "power": float(power),
                    "se_effect": float(np.sqrt(variances.mean())),
                    "df": df,
                    "n_sims": 0,
                    "n_failed": 0,
                }
            )
    return pd.DataFrame(rows).reindex(columns=RESULT_COLUMNS)
