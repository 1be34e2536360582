"""Analytic power: the GLS variance of the treatment effect in a cluster design.

``Var(theta_hat)`` comes from
:func:`~trialanalysis.models.stepped_design.gls_variance`, whose module
states the model (Hussey & Hughes 2007, with a cluster-period effect when
the cluster autocorrelation is below 1) and why it is exact for incomplete
designs and known unequal cluster-period sizes.

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
