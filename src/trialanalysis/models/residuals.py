"""Residuals, fitted values and QQ coordinates of fitted models (model checking).

For a linear mixed model the residuals are conditional on the random
effects, as ``lme4``'s ``fitted()``/``residuals()`` give them
(``y - X beta - Z b``), standardised by the residual SD. For an MMRM
(no random effects) they are marginal (``y - X beta``) and "normalized" as
``nlme``'s ``residuals(gls, type = "normalized")``: each subject's residual
vector premultiplied by the inverse Cholesky factor of its visits'
covariance, so that under the model they are independent N(0, 1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from trialanalysis.models.mmrm import MMRMResult


def residual_table(fit) -> pd.DataFrame:
    """Fitted values and residuals of the rows a model used.

    Parameters
    ----------
    fit : MixedModelResult or MMRMResult

    Returns
    -------
    DataFrame
        ``row`` (position in the fitted frame), ``fitted``, ``residual``,
        ``standardized`` (conditional residual / sigma for an LMM; the
        normalized residual for an MMRM).
    """
    model = fit.model
    y = np.asarray(model.y, dtype=float)
    fixed = np.asarray(model.X) @ np.asarray(fit.beta)
    if isinstance(fit, MMRMResult):
        fitted = fixed
        residual = y - fitted
        standardized = _normalized(fit, residual)
    else:
        b = fit.criterion.random_effects(fit.theta)
        fitted = fixed + np.asarray(model.Z @ b).ravel()
        residual = y - fitted
        standardized = residual / fit.sigma
    return pd.DataFrame(
        {
            "row": np.arange(len(y)),
            "fitted": fitted,
            "residual": residual,
            "standardized": standardized,
        }
    )


def _normalized(fit: MMRMResult, residual: np.ndarray) -> np.ndarray:
    sigma = fit.covariance_matrix.to_numpy()
    out = np.empty_like(residual)
    for pattern in fit.criterion.patterns:
        chol = np.linalg.cholesky(sigma[np.ix_(pattern.visits, pattern.visits)])
        block = residual[pattern.rows]  # (subjects, visits)
        out[pattern.rows] = scipy.linalg.solve_triangular(chol, block.T, lower=True).T
    return out


def qq_points(values) -> pd.DataFrame:
    """Return normal QQ coordinates (Blom's plotting positions, as R's ``qqnorm``).

    Returns
    -------
    DataFrame
        ``theoretical, sample`` sorted by ``sample``; missing values dropped.
    """
    sample = np.sort(np.asarray(values, dtype=float)[~np.isnan(np.asarray(values, float))])
    n = len(sample)
    a = 3 / 8 if n <= 10 else 1 / 2
    positions = (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)
    return pd.DataFrame({"theoretical": stats.norm.ppf(positions), "sample": sample})
