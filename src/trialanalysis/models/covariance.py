"""Residual (R-side) covariance structures of repeated measures, as R's mmrm writes them.

A term ``us(visit | id)`` in a formula says that the observations of one
``id`` are correlated with the within-subject covariance matrix ``Σ`` of the
visits (levels of ``visit``), unstructured; ``cs``, ``csh``, ``ar1``,
``ar1h``, ``toep`` and ``toeph`` constrain it (Pinheiro & Bates 2000, §5.3;
SAS PROC MIXED ``TYPE=``; mmrm's ``cov_types``). A subject observed at a
subset of the visits has the corresponding sub-matrix of ``Σ``.

Each structure has two parameterisations:

* ``theta`` (unconstrained, used by the optimiser): log standard deviations,
  a log-Cholesky factor for ``us`` (as mmrm), Fisher-z of correlations for
  ``ar1``/``ar1h``, a logistic map onto ``(−1/(T−1), 1)`` for ``cs``/``csh``,
  and Fisher-z of partial autocorrelations for ``toep``/``toeph`` (every
  value gives a positive-definite Toeplitz matrix, as nlme's ``corARMA``);
* ``natural`` (reported, and used by Kenward–Roger): the parameters SAS
  reports for the same ``TYPE=``: the elements of ``Σ`` for ``us``; the
  common covariance and the residual variance for ``cs`` (``Σ = σ₁J + σ²I``);
  the covariances per lag for ``toep``; variances and correlation(s) for the
  heterogeneous structures and ``ar1``. ``Σ`` is linear in the natural
  parameters of ``us``, ``cs`` and ``toep``.

Matrices are built with operations that accept complex numbers, so the
derivatives of ``Σ`` are exact complex-step derivatives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.formula_syntax import TERM_CALLS, top_level_terms

#: Structure name → description.
STRUCTURES = TERM_CALLS
_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_TERM = re.compile(rf"^\s*({'|'.join(STRUCTURES)})\s*\(\s*({_NAME})\s*\|\s*({_NAME})\s*\)\s*$")
_CALL = re.compile(rf"^\s*({'|'.join(STRUCTURES)})\s*\(")
_STEP = 1e-20


@dataclass(frozen=True)
class CovarianceTerm:
    """A covariance term ``structure(visit | subject)`` of a formula."""

    structure: str
    visit: str
    subject: str
    source: str

    @property
    def label(self) -> str:
        """The term as mmrm writes it."""
        return f"{self.structure}({self.visit} | {self.subject})"

    @property
    def description(self) -> str:
        """Plain-language name of the structure."""
        return STRUCTURES[self.structure]


def split_covariance_term(formula: str) -> tuple[str, CovarianceTerm | None]:
    """Split a covariance term off a formula before the formula parser reads it.

    Parameters
    ----------
    formula : str
        E.g. ``"y ~ visit * arm + base + us(visit | id)"``.

    Returns
    -------
    (str, CovarianceTerm or None)
        The formula without the term and the term (None if there is none).

    Raises
    ------
    ModelSpecificationError
        For more than one covariance term, or one not of the form
        ``structure(visit | subject)`` with column names.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        return formula, None
    lhs, chunks = top_level_terms(formula)
    kept, terms = [], []
    for chunk in chunks:
        match = _TERM.match(chunk)
        if match:
            terms.append(CovarianceTerm(*match.groups(), chunk.strip()))
        elif _CALL.match(chunk):
            raise ModelSpecificationError(
                f"covariance term {chunk.strip()!r} in {formula!r} must read "
                "structure(visit | subject) with column names, e.g. us(visit | patient_id); "
                f"structures: {', '.join(STRUCTURES)}"
            )
        else:
            kept.append(chunk.strip())
    if len(terms) > 1:
        raise ModelSpecificationError(
            f"formula {formula!r} has {len(terms)} covariance terms "
            f"({', '.join(t.source for t in terms)}); a model has one"
        )
    if not terms:
        return formula, None
    if terms[0].visit == terms[0].subject:
        raise ModelSpecificationError(
            f"{terms[0].source}: visit and subject must be different columns"
        )
    return f"{lhs.strip()} ~ {' + '.join(kept) if kept else '1'}", terms[0]


class Structure:
    """A covariance structure for ``n_visits`` ordered visits.

    Parameters
    ----------
    name : str
        One of :data:`STRUCTURES`.
    n_visits : int
    """

    def __init__(self, name: str, n_visits: int):
        if name not in STRUCTURES:
            raise ModelSpecificationError(
                f"covariance structure {name!r} is not one of {', '.join(STRUCTURES)}"
            )
        self.name, self.T = name, int(n_visits)
        self.heterogeneous = name in ("us", "csh", "ar1h", "toeph")
        lag = np.abs(np.subtract.outer(np.arange(self.T), np.arange(self.T)))
        self.lag = lag
        self.tril = [(r, c) for c in range(self.T) for r in range(c, self.T)]

    # ------------------------------------------------------------ dimensions
    @property
    def n_theta(self) -> int:
        """Number of covariance parameters."""
        T = self.T
        return {
            "us": T * (T + 1) // 2,
            "cs": 2,
            "csh": T + 1,
            "ar1": 2,
            "ar1h": T + 1,
            "toep": T,
            "toeph": 2 * T - 1,
        }[self.name]

    def _n_sd(self) -> int:
        return self.T if self.heterogeneous else 1

    # -------------------------------------------------------- parameterisation
    def start(self, variances: np.ndarray) -> np.ndarray:
        """Return a starting θ: the given variance per visit, no correlation."""
        variances = np.maximum(np.asarray(variances, dtype=float), 1e-8)
        log_sd = 0.5 * np.log(variances)
        if self.name == "us":
            theta = np.zeros(self.n_theta)
            diagonal = [k for k, (r, c) in enumerate(self.tril) if r == c]
            theta[diagonal] = log_sd
            return theta
        sds = log_sd if self.heterogeneous else [float(np.mean(log_sd))]
        n_cor = self.n_theta - len(sds)
        if self.name in ("cs", "csh"):
            return np.r_[sds, _logit_inverse_start(self.T)]
        return np.r_[sds, np.zeros(n_cor)]

    def correlation_from_theta(self, z):
        """Correlation parameters from their unconstrained values."""
        if self.name in ("cs", "csh"):
            low = -1.0 / (self.T - 1) if self.T > 1 else -1.0
            return low + (1 - low) / (1 + np.exp(-z))
        if self.name in ("ar1", "ar1h"):
            return np.tanh(z)
        return pacf_to_acf(np.tanh(z))

    def matrix(self, theta):
        """Σ from the unconstrained θ (complex θ allowed)."""
        theta = np.asarray(theta)
        if self.name == "us":
            L = np.zeros((self.T, self.T), dtype=theta.dtype)
            for k, (r, c) in enumerate(self.tril):
                L[r, c] = np.exp(theta[k]) if r == c else theta[k]
            return L @ L.T
        n_sd = self._n_sd()
        sd = np.exp(theta[:n_sd]) * np.ones(self.T)
        correlation = self._correlation_matrix(self.correlation_from_theta(theta[n_sd:]))
        return correlation * np.multiply.outer(sd, sd)

    def _correlation_matrix(self, rho):
        if self.name in ("cs", "csh"):
            return np.where(self.lag == 0, 1.0, rho[0] * np.ones_like(self.lag))
        if self.name in ("ar1", "ar1h"):
            return rho[0] ** self.lag
        return np.r_[1.0, rho][self.lag]

    def natural(self, theta) -> np.ndarray:
        """Natural (SAS) parameters from θ."""
        theta = np.asarray(theta, dtype=float)
        sigma = self.matrix(theta)
        if self.name == "us":
            return np.array([sigma[r, c] for r, c in self.tril])
        if self.name == "cs":
            return np.array([sigma[1, 0] if self.T > 1 else 0.0, sigma[0, 0] - sigma[1, 0]])
        if self.name == "toep":
            return sigma[0, : self.T].copy()
        n_sd = self._n_sd()
        variances = np.exp(2 * theta[:n_sd])
        return np.r_[variances, self.correlation_from_theta(theta[n_sd:])]

    def matrix_natural(self, psi):
        """Σ from natural parameters (complex allowed)."""
        psi = np.asarray(psi)
        T = self.T
        if self.name == "us":
            sigma = np.zeros((T, T), dtype=psi.dtype)
            for k, (r, c) in enumerate(self.tril):
                sigma[r, c] = sigma[c, r] = psi[k]
            return sigma
        if self.name == "cs":
            return psi[0] * np.ones((T, T)) + psi[1] * np.eye(T)
        if self.name == "toep":
            return psi[self.lag]
        n_sd = self._n_sd()
        sd = np.sqrt(psi[:n_sd]) * np.ones(T)
        return self._correlation_matrix(psi[n_sd:]) * np.multiply.outer(sd, sd)

    def natural_names(self, visits: list[str]) -> list[str]:
        """Labels of the natural parameters, e.g. ``cov(v1, v2)``, ``rho(lag 1)``."""
        v = [str(x) for x in visits]
        if self.name == "us":
            return [f"var({v[r]})" if r == c else f"cov({v[r]}, {v[c]})" for r, c in self.tril]
        if self.name == "cs":
            return ["common covariance", "residual variance"]
        if self.name == "toep":
            return ["variance", *[f"cov(lag {k})" for k in range(1, self.T)]]
        sds = [f"var({x})" for x in v] if self.heterogeneous else ["variance"]
        if self.name in ("csh", "ar1", "ar1h"):
            return [*sds, "correlation" if self.name == "csh" else "rho (lag 1)"]
        return [*sds, *[f"rho(lag {k})" for k in range(1, self.T)]]

    @property
    def linear(self) -> bool:
        """Whether Σ is linear in the natural parameters."""
        return self.name in ("us", "cs", "toep")

    # ------------------------------------------------------------ derivatives
    def jacobian(self, theta: np.ndarray) -> np.ndarray:
        """∂Σ/∂θ_k for every k (complex step); shape ``(n_theta, T, T)``."""
        return complex_step(self.matrix, theta)

    def jacobian_natural(self, psi: np.ndarray) -> np.ndarray:
        """∂Σ/∂ψ_k in the natural parameters; shape ``(n, T, T)``."""
        return complex_step(self.matrix_natural, psi)

    def hessian_natural(self, psi: np.ndarray) -> np.ndarray:
        """∂²Σ/∂ψ_k∂ψ_l; shape ``(n, n, T, T)`` (zero for linear structures)."""
        psi = np.asarray(psi, dtype=float)
        n = len(psi)
        out = np.zeros((n, n, self.T, self.T))
        if self.linear:
            return out
        for k in range(n):
            h = 1e-5 * max(1.0, abs(psi[k]))
            up, down = psi.copy(), psi.copy()
            up[k] += h
            down[k] -= h
            out[:, k] = (self.jacobian_natural(up) - self.jacobian_natural(down)) / (2 * h)
        return (out + out.transpose(1, 0, 2, 3)) / 2


def complex_step(func, x: np.ndarray) -> np.ndarray:
    """Differentiate a matrix-valued ``func`` at ``x`` by the complex step."""
    x = np.asarray(x, dtype=float)
    rows = []
    for k in range(len(x)):
        z = x.astype(complex)
        z[k] += 1j * _STEP
        rows.append(np.imag(func(z)) / _STEP)
    return np.array(rows)


def pacf_to_acf(pacf):
    """Autocorrelations at lags 1..m from partial autocorrelations (Durbin–Levinson)."""
    m = len(pacf)
    rho = [1.0 + 0 * pacf[0]] if m else []
    phi: list = []
    for k in range(m):
        p = pacf[k]
        phi = [phi[j] - p * phi[k - 1 - j] for j in range(k)] + [p]
        rho.append(sum(phi[j] * rho[k - j] for j in range(k + 1)))
    return np.array(rho[1:])


def _logit_inverse_start(n_visits: int) -> float:
    """Return the z giving correlation 0 under the compound-symmetry map."""
    low = -1.0 / (n_visits - 1) if n_visits > 1 else -1.0
    share = (0 - low) / (1 - low)
    return float(np.log(share / (1 - share)))
