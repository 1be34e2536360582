"""Design effects of cluster designs: the GLS variance of the treatment effect.

The model is the cross-sectional linear mixed model of Hussey & Hughes (2007)
with, when the cluster autocorrelation ``cac`` is below 1, a cluster-period
random effect (Hooper et al. 2016; Girling & Hemming 2016)::

    y_ijk = beta_j + theta * X_ij + c_i + cp_ij + e_ijk

with period fixed effects ``beta_j``, ``c_i ~ N(0, icc * cac * sd^2)``,
``cp_ij ~ N(0, icc * (1 - cac) * sd^2)`` and ``e_ijk ~ N(0, (1 - icc) *
sd^2)``. Because the treatment is constant within a cluster-period, the
cluster-period means are sufficient for the fixed effects: cluster ``i``
contributes ``X_i' V_i^-1 X_i`` to the information, with ``V_i = s_c J +
diag(s_cp + s_e / m_ij)`` over the periods it is observed in (inverted by
Sherman-Morrison, for all clusters at once). This is exact for incomplete
designs (unobserved cluster-periods are left out, as in a dog-leg) and for
known unequal sizes ``m_ij``; it is the variance ``swCRTdesign::swPwr``
computes from the same model by dense GLS.

The **design effect** of a design (Hooper et al. 2016) is the factor by which
its total number of individuals must exceed that of an individually
randomised trial (1:1, no baseline, same outcome SD) of the same precision::

    DE = N_total * Var(theta_hat) / (4 sd^2)

For a parallel design (one period) with equal clusters this is Eldridge's
``1 + (m - 1) icc``; for a complete stepped wedge with ``cac = 1`` it is the
Hussey & Hughes closed form times ``N_total / (4 sd^2)``, and ``b + k t``
times Woertman et al.'s (2013) ``DE_sw`` (which counts individuals per
measurement occasion).

References
----------
Hussey MA, Hughes JP. Contemp Clin Trials 2007;28:182-91.
Woertman W, de Hoop E, Moerbeek M, et al. J Clin Epidemiol 2013;66:752-8.
Hooper R, Teerenstra S, de Hoop E, Eldridge S. Stat Med 2016;35:4718-28.
Girling AJ, Hemming K. Stat Med 2016;35:2149-66.
"""

from __future__ import annotations

import numpy as np

from trialanalysis.errors import ConfigError, ModelSpecificationError


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
    seen = ~np.isnan(treatment) & (sizes > 0)
    x = np.where(seen, treatment, 0.0)
    # weights of the cluster-period means, D^-1 of V_i = s_c J + D (Sherman-Morrison)
    w = np.zeros_like(sizes)
    w[seen] = 1.0 / (var_cluster_period + var_individual / sizes[seen])
    wx = w * x
    information = np.zeros((x.shape[1] + 1, x.shape[1] + 1))
    information[np.diag_indices(x.shape[1])] = w.sum(axis=0)
    information[:-1, -1] = information[-1, :-1] = wx.sum(axis=0)
    information[-1, -1] = (wx * x).sum()
    u = np.column_stack([w, wx.sum(axis=1)])
    shrink = var_cluster / (1.0 + var_cluster * w.sum(axis=1))
    information -= (u * shrink[:, None]).T @ u
    keep = np.r_[information.diagonal()[:-1] > 0, True]
    information = information[np.ix_(keep, keep)]
    if np.linalg.matrix_rank(information) < len(information):
        raise ConfigError(
            "the treatment effect is not estimable in this design (it is confounded with "
            "period); switch sequences at different periods"
        )
    return float(np.linalg.inv(information)[-1, -1])


def stepped_design_effect(
    treatment: np.ndarray, sizes: np.ndarray, icc: float, cac: float = 1.0
) -> dict:
    """Design effect of a (stepped, dog-leg or parallel) cluster design.

    Parameters
    ----------
    treatment : ndarray
        K x T treatment indicator per cluster and period (1 intervention,
        0 control, NaN not observed).
    sizes : ndarray
        K x T individuals analysed per cluster-period (0 = not observed).
    icc : float
        Intra-cluster correlation in [0, 1).
    cac : float, default 1
        Cluster autocorrelation in [0, 1]: the correlation of two
        cluster-period means of one cluster relative to that within a
        period (1 = Hussey & Hughes, a cluster effect constant over time).

    Returns
    -------
    dict
        ``design_effect``, ``variance`` (of the treatment effect, per unit
        outcome variance), ``variance_individual`` (``4 / N``), ``n_total``,
        ``n_clusters``, ``n_periods``.

    Raises
    ------
    ModelSpecificationError
        For an ICC or CAC outside its range, or a design in which the
        treatment effect is not estimable.

    Examples
    --------
    A parallel design, one period, two clusters of 10 per arm, ICC 0.05:
    Eldridge's ``1 + (10 - 1) * 0.05``.

    >>> x = np.array([[0.0], [0.0], [1.0], [1.0]])
    >>> round(stepped_design_effect(x, np.full(x.shape, 10), 0.05)["design_effect"], 6)
    1.45
    """
    if not 0 <= icc < 1:
        raise ModelSpecificationError(f"the ICC must lie in [0, 1), got {icc}")
    if not 0 <= cac <= 1:
        raise ModelSpecificationError(f"the cluster autocorrelation must lie in [0, 1], got {cac}")
    treatment = np.asarray(treatment, dtype=float)
    sizes = np.asarray(sizes, dtype=float)
    if treatment.shape != sizes.shape:
        raise ModelSpecificationError(
            f"treatment {treatment.shape} and sizes {sizes.shape} must have the same shape"
        )
    seen = ~np.isnan(treatment) & (sizes > 0)
    try:
        variance = gls_variance(treatment, sizes, icc * cac, icc * (1 - cac), 1 - icc)
    except ConfigError as exc:
        raise ModelSpecificationError(str(exc)) from exc
    total = float(sizes[seen].sum())
    return {
        "design_effect": total * variance / 4.0,
        "variance": variance,
        "variance_individual": 4.0 / total,
        "n_total": int(total),
        "n_clusters": int(seen.any(axis=1).sum()),
        "n_periods": int(seen.any(axis=0).sum()),
    }
