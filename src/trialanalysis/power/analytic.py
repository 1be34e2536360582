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
diag(s_cp + s_e / m_ij)`` over the periods it is observed in (inverted by
Sherman-Morrison, for all clusters at once). This is exact
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

from trialanalysis.models.stepped_design import gls_variance
from trialanalysis.power.spec import PowerSpec, draw_sizes

__all__ = ["analytic_power", "gls_variance", "power_normal", "power_t"]

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


def power_normal(effect: float, se, alpha: float):
    """Two-sided power of a Wald test with a normal reference (``se`` may be an array)."""
    z = scipy.stats.norm.ppf(1 - alpha / 2)
    shift = abs(effect) / np.asarray(se, dtype=float)
    power = scipy.stats.norm.cdf(shift - z) + scipy.stats.norm.cdf(-shift - z)
    return float(power) if power.ndim == 0 else power


def power_t(effect: float, se, df: float, alpha: float):
    """Two-sided power of a t test on ``df`` df (noncentral t; ``se`` may be an array)."""
    crit = scipy.stats.t.ppf(1 - alpha / 2, df)
    shift = abs(effect) / np.asarray(se, dtype=float)
    power = scipy.stats.nct.sf(crit, df, shift) + scipy.stats.nct.cdf(-crit, df, shift)
    return float(power) if power.ndim == 0 else power


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
                power = np.mean(power_normal(effect, se, spec.alpha))
            else:
                power = np.mean(power_t(effect, se, df, spec.alpha))
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
