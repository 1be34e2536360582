"""Classical (single-level) statistics the analyses use: OLS, RM-ANOVA, proportions, p-values.

Thin wrappers, so that the analyses take every statistic from
:mod:`trialanalysis.models`: ordinary least squares (statsmodels), the
one-way repeated-measures ANOVA with the Greenhouse-Geisser correction
(pingouin), the confidence interval of a
difference or odds ratio of two independent proportions (statsmodels) and
multiplicity adjustment of p-values (statsmodels ``multipletests``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pingouin
import statsmodels.api as sm
from statsmodels.regression.linear_model import RegressionResultsWrapper
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from trialanalysis.errors import ConfigError

#: Config names of multiplicity adjustments -> statsmodels ``multipletests`` methods.
P_ADJUST_METHODS = {"holm": "holm", "fdr": "fdr_bh", "bonferroni": "bonferroni", "none": None}


def fit_ols(y: pd.Series, x: pd.DataFrame) -> RegressionResultsWrapper:
    """Fit ordinary least squares to a response and a design matrix.

    The matrices come e.g. from
    :func:`~trialanalysis.models.formula_syntax.design_matrices`.

    Returns
    -------
    statsmodels RegressionResults
        With ``params``, ``bse``, ``df_resid`` and ``nobs`` by term name.
    """
    return sm.OLS(y, x).fit()


def rm_anova(data: pd.DataFrame, dv: str, within: str, subject: str) -> pd.DataFrame:
    """One-way repeated-measures ANOVA with partial eta squared and the GG correction.

    Returns
    -------
    DataFrame
        pingouin's detailed table: the effect row first, then the error row
        (``F``, ``DF``, ``p_unc``, ``np2``, ``eps``, ``p_GG_corr``).
    """
    with warnings.catch_warnings():
        # pingouin calls a pandas method with a deprecated argument; nothing statistical
        warnings.filterwarnings("ignore", message="The inplace keyword")
        return pingouin.rm_anova(
            data=data,
            dv=dv,
            within=within,
            subject=subject,
            detailed=True,
            effsize="np2",
            correction=True,
        )


def two_proportions_interval(
    count1: int, n1: int, count0: int, n0: int, method: str, compare: str, alpha: float
) -> tuple[float, float]:
    """Confidence interval of the difference (``diff``) or odds ratio of two proportions."""
    return confint_proportions_2indep(
        count1, n1, count0, n0, method=method, compare=compare, alpha=alpha
    )


def adjust_p(p_values: Sequence[float], method: str) -> np.ndarray:
    """Adjust p-values for multiplicity; missing p-values stay missing.

    Parameters
    ----------
    p_values : sequence of float
    method : {"holm", "fdr", "bonferroni", "none"}
        ``fdr`` is Benjamini-Hochberg.

    Returns
    -------
    ndarray
    """
    if method not in P_ADJUST_METHODS:
        raise ConfigError(
            f"p-value adjustment {method!r} is not one of {', '.join(P_ADJUST_METHODS)}"
        )
    values = np.asarray(p_values, dtype=float)
    adjusted = values.copy()
    present = ~np.isnan(values)
    if P_ADJUST_METHODS[method] is not None and present.any():
        adjusted[present] = multipletests(values[present], method=P_ADJUST_METHODS[method])[1]
    return adjusted
