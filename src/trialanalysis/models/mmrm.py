"""Mixed models for repeated measures (MMRM): fixed effects with a residual covariance structure.

``fit_mixed(data, "y ~ visit * arm + base + us(visit | id)")`` comes here:
the covariance term (see :mod:`.covariance`) is split off before the
formula parser reads the fixed part, which is then built exactly as for a
random-effects model, so coefficients, contrasts, type III tests and EMMs
come from the same result API (:class:`MMRMResult` is a
:class:`~.mixed.MixedModelResult`).

Estimation maximises the (restricted) likelihood of ``y_i ~ N(X_iβ,
Σ_i(θ))`` over θ with the exact gradient (BFGS, then L-BFGS-B and
Nelder–Mead if needed), polished by Newton steps; convergence is accepted
when the Hessian-scaled gradient is below ``GRADIENT_TOL`` and the Hessian
is positive definite. The covariance of β̂ is ``(Σ_i X_i'Σ̂_i⁻¹X_i)⁻¹``.
Results agree with ``nlme::gls`` (corSymm + varIdent, corCompSymm, corAR1,
corARMA) to about 1e-7; see ``tests/models/golden/mmrm``.

Differences from R's mmrm: the visit must be a column (a factor or
numbers; ``ar1``/``toep`` treat its levels as equally spaced, as mmrm
does); Kenward–Roger uses SAS's natural parameters (see
:mod:`.mmrm_inference`); combining the covariance term with random-effect
terms is refused; ``between-within`` df are not defined for MMRMs.
"""

from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.optimize

from trialanalysis.errors import ModelFitError, ModelSpecificationError
from trialanalysis.models import inference
from trialanalysis.models.covariance import CovarianceTerm, Structure
from trialanalysis.models.criterion import single_threaded
from trialanalysis.models.design import build_model_data
from trialanalysis.models.formula import parse_formula
from trialanalysis.models.formula_syntax import check_columns
from trialanalysis.models.mixed import MixedModelConvergenceWarning, MixedModelResult
from trialanalysis.models.mmrm_criterion import MMRMCriterion, make_patterns
from trialanalysis.models.mmrm_inference import (
    MMRMKenwardRoger,
    MMRMSatterthwaite,
    deviance_hessian,
)
from trialanalysis.models.newton import newton_polish

GRADIENT_TOL = 1e-6
_NOT_FOR_MMRM = (
    "{what} is defined for random-effect models; an MMRM ({term}) has no random effects. "
    "Use .covariance_matrix and .covariance_parameters for its covariance."
)


def fit_mmrm(
    data: pd.DataFrame,
    formula: str,
    term: CovarianceTerm,
    df_method: str = "satterthwaite",
    reml: bool = True,
    level: float = 0.95,
) -> MMRMResult:
    """Fit an MMRM; ``formula`` is the fixed part, ``term`` the covariance term.

    Called by :func:`~trialanalysis.models.mixed.fit_mixed`, which splits
    the term off the formula the user wrote and checks the arguments.
    """
    if "|" in formula:
        raise ModelSpecificationError(
            f"{term.source} cannot yet be combined with random-effect terms ({formula!r}); fit "
            "the repeated-measures covariance alone, or a random-effects model without it"
        )
    if not isinstance(data, pd.DataFrame):
        raise ModelSpecificationError("data must be a pandas DataFrame in long format")
    check_columns(f"{formula} + {term.source}", data.columns)
    frame = data.reset_index(drop=True)
    keep = frame[[term.visit, term.subject]].notna().all(axis=1)
    parsed = parse_formula(f"{formula} + (1 | {term.subject})")
    try:
        model = build_model_data(parsed, frame.loc[keep].reset_index(drop=True))
    except ModelSpecificationError as exc:
        if parsed.random[0].source in str(exc) or "grouping factor" in str(exc):
            raise ModelSpecificationError(
                f"{term.source}: every {term.subject} has at most one complete observation; "
                "a repeated-measures covariance needs repeated observations"
            ) from exc
        raise
    model.n_dropped += int((~keep).sum())
    model.rows_used = np.flatnonzero(keep.to_numpy())[model.rows_used]
    visits, visit_index = _visit_codes(model.frame[term.visit])
    subject_codes, subjects = pd.factorize(model.frame[term.subject].astype(str), sort=True)
    _check_design(term, visits, visit_index, subject_codes, model.rows_used)
    structure = Structure(term.structure, len(visits))
    patterns = make_patterns(model.y, model.X, subject_codes, visit_index)
    criterion = MMRMCriterion(patterns, structure, reml)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = single_threaded(_optimise)(criterion, _start(model, structure, visit_index))
    if not np.isfinite(record["deviance"]):
        raise ModelFitError(
            f"no optimiser could evaluate the likelihood of {term.source}; check the data "
            "(e.g. a visit with one observation) or choose a simpler structure (cs, ar1)"
        )
    result = MMRMResult(
        model, criterion, term, record, visits, len(subjects), df_method, level, len(data)
    )
    result.diagnostics["warnings"].extend(str(w.message) for w in caught)
    if not record["converged"]:
        warnings.warn(
            f"MMRM {term.source} did not meet the convergence criteria; see .diagnostics "
            "before using the estimates",
            MixedModelConvergenceWarning,
            stacklevel=3,
        )
    return result


def _visit_codes(values: pd.Series) -> tuple[list, np.ndarray]:
    """Visit levels in order (categories, numbers, or sorted text) and each row's index."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = [c for c in values.cat.categories if c in set(values)]
    elif pd.api.types.is_numeric_dtype(values):
        levels = sorted(pd.unique(values))
    else:
        levels = sorted(pd.unique(values.astype(str)))
        values = values.astype(str)
    position = {level: i for i, level in enumerate(levels)}
    return list(levels), values.map(position).to_numpy(dtype=np.int64)


def _check_design(term, visits, visit_index, subject_codes, rows_used) -> None:
    if len(visits) < 2:
        raise ModelSpecificationError(
            f"{term.source}: {term.visit} has {len(visits)} level in the rows used; a "
            "repeated-measures covariance needs at least 2 visits"
        )
    pairs = pd.Series(list(zip(subject_codes, visit_index, strict=True)))
    duplicated = pairs.duplicated(keep=False).to_numpy()
    if duplicated.any():
        rows = ", ".join(str(r + 1) for r in rows_used[duplicated][:5])
        raise ModelSpecificationError(
            f"{term.source}: {int(duplicated.sum())} rows repeat a {term.subject}-"
            f"{term.visit} pair (data rows {rows}{', ...' if duplicated.sum() > 5 else ''}); "
            "each subject has one row per visit"
        )
    if term.structure == "us":
        seen = np.zeros((len(visits), len(visits)), dtype=int)
        for s in np.unique(subject_codes):
            v = visit_index[subject_codes == s]
            seen[np.ix_(v, v)] += 1
        pairs = zip(*np.nonzero(np.tril(seen == 0)), strict=True)
        never = [(visits[a], visits[b]) for a, b in pairs]
        if never:
            shown = "; ".join(f"{a} and {b}" for a, b in never[:5])
            raise ModelSpecificationError(
                f"{term.source}: no subject is observed at both {shown}, so their covariance "
                "cannot be estimated; use a structured covariance (e.g. toep, ar1h, csh)"
            )


def _start(model, structure: Structure, visit_index: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(model.X, model.y, rcond=None)
    residual = model.y - model.X @ coef
    variances = np.array([np.mean(residual[visit_index == v] ** 2) for v in range(structure.T)])
    fallback = np.mean(residual**2) if np.mean(residual**2) > 0 else 1.0
    variances = np.where(np.isfinite(variances) & (variances > 0), variances, fallback)
    return structure.start(variances)


def _optimise(criterion: MMRMCriterion, theta0: np.ndarray) -> dict:
    """Minimise the deviance; return θ̂, the deviance, convergence and the attempts."""
    best = {"theta": theta0, "deviance": criterion.deviance(theta0), "optimizer": ""}
    attempts = []
    for method in ("BFGS", "L-BFGS-B", "Nelder-Mead"):
        start = best["theta"]
        try:
            if method == "Nelder-Mead":
                result = scipy.optimize.minimize(
                    criterion.deviance, start, method=method,
                    options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-12},
                )  # fmt: skip
            else:
                result = scipy.optimize.minimize(
                    criterion.deviance_and_gradient, start, jac=True, method=method,
                    options={"maxiter": 5000, "gtol": 1e-10},
                )  # fmt: skip
            theta, message = _polish(criterion, np.asarray(result.x, float)), str(result.message)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            theta, message = start, f"failed: {exc}"
        value = criterion.deviance(theta)
        converged, scaled, hessian = _check(criterion, theta)
        attempts.append(
            {"optimizer": method, "deviance": value, "converged": converged, "message": message}
        )
        if not best["optimizer"] or value < best["deviance"] - 1e-10 or converged:
            best = {"theta": theta, "deviance": value, "optimizer": method}
            best.update(converged=converged, scaled_gradient=scaled, hessian=hessian)
        if best.get("converged"):
            break
    best["attempts"] = attempts
    return best


def _polish(criterion: MMRMCriterion, theta: np.ndarray, steps: int = 6) -> np.ndarray:
    """Newton steps with the exact gradient."""
    every = np.arange(len(theta))

    def derivatives(current: np.ndarray):
        return every, criterion.gradient(current), deviance_hessian(criterion, current)

    return newton_polish(criterion.deviance, theta, derivatives, steps)


def _check(criterion: MMRMCriterion, theta: np.ndarray) -> tuple[bool, float, np.ndarray]:
    if not np.isfinite(criterion.deviance(theta)):
        return False, np.inf, np.full((len(theta), len(theta)), np.nan)
    hess = deviance_hessian(criterion, theta)
    grad = criterion.gradient(theta)
    if np.linalg.eigvalsh(hess).min() <= 0:
        return False, float(np.max(np.abs(grad))), hess
    scaled = float(np.max(np.abs(np.linalg.solve(hess, grad))))
    return scaled < GRADIENT_TOL, scaled, hess


class MMRMResult(MixedModelResult):
    """A fitted MMRM: the :class:`~.mixed.MixedModelResult` API without random effects.

    Attributes
    ----------
    covariance_term : CovarianceTerm
    visits : list
        Visit levels in order (rows and columns of :attr:`covariance_matrix`).
    covariance_matrix : DataFrame
        Estimated Σ.
    theta : array
        Optimiser parameters of the covariance (see :mod:`.covariance`).
    """

    def __init__(self, model, criterion, term, record, visits, n_subjects, df_method, level, n):
        self.model, self.criterion, self.covariance_term = model, criterion, term
        self.structure = criterion.structure
        self.theta = np.asarray(record["theta"], dtype=float)
        self.reml, self.df_method, self.level = criterion.reml, df_method, level
        self.deviance = float(record["deviance"])
        self.visits = list(visits)
        solution = criterion.solve(self.structure.matrix(self.theta))
        self.beta, self.vcov = solution["beta"], solution["vcov"]
        self.sigma = None
        self.fixed_names = list(model.fixed_names)
        self._hessian = record["hessian"]
        labels = [str(v) for v in self.visits]
        self.covariance_matrix = pd.DataFrame(
            self.structure.matrix(self.theta), index=labels, columns=labels
        )
        self.diagnostics = {
            "converged": bool(record["converged"]),
            "optimizer": record["optimizer"],
            "optimizer_attempts": record["attempts"],
            "reml": self.reml,
            "deviance": self.deviance,
            "scaled_gradient": float(record["scaled_gradient"]),
            "boundary": False,
            "singular": False,
            "boundary_terms": [],
            "n_rows": int(n),
            "n_used": len(model.y),
            "n_dropped": int(model.n_dropped),
            "missing_by_column": dict(model.missing_by_column),
            "groups": {term.subject: int(n_subjects)},
            "covariance": f"{term.label} ({term.description})",
            "visits": len(self.visits),
            "missingness_patterns": len(criterion.patterns),
            "warnings": [],
            "notes": [],
        }

    @property
    def correlation_matrix(self) -> pd.DataFrame:
        """Estimated within-subject correlations between visits."""
        sd = np.sqrt(np.diag(self.covariance_matrix.to_numpy()))
        return self.covariance_matrix / np.outer(sd, sd)

    @property
    def covariance_parameters(self) -> pd.DataFrame:
        """Natural covariance parameters (as SAS reports them): ``parameter, estimate``."""
        return pd.DataFrame(
            {
                "parameter": self.structure.natural_names(self.visits),
                "estimate": self.structure.natural(self.theta),
            }
        )

    @cached_property
    def _satterthwaite(self) -> MMRMSatterthwaite:
        engine = single_threaded(MMRMSatterthwaite)(self.criterion, self.theta, self._hessian)
        self.diagnostics["warnings"].extend(engine.warnings)
        return engine

    @cached_property
    def _kenward_roger(self) -> MMRMKenwardRoger:
        if not self.reml:
            raise ModelSpecificationError(
                "Kenward-Roger needs a REML fit; refit with reml=True or use satterthwaite"
            )
        return single_threaded(MMRMKenwardRoger)(self.criterion, self.theta)

    @property
    def _between_within(self):
        raise ModelSpecificationError(
            f"between-within df are defined for random-effect models, not for the MMRM "
            f"{self.covariance_term.label}; use satterthwaite, kenward-roger or residual"
        )

    @cached_property
    def variance_components(self) -> pd.DataFrame:
        """Variances, covariances and correlations of the visits, as a long table."""
        return self.variance_components_table()

    def variance_components_table(self, level=None, criterion=None, intervals=True):
        """Estimated Σ as a long table; no profile intervals for an MMRM."""
        sigma, corr = self.covariance_matrix, self.correlation_matrix
        rows = []
        labels = list(sigma.index)
        for c, b in enumerate(labels):
            for a in labels[c:]:
                if a == b:
                    rows.append(("variance", a, sigma.loc[a, a]))
                else:
                    rows.append(("covariance", f"{a}, {b}", sigma.loc[a, b]))
                    rows.append(("correlation", f"{a}, {b}", corr.loc[a, b]))
        table = pd.DataFrame(rows, columns=["parameter", "term", "estimate"])
        table.insert(0, "group", f"{self.covariance_term.label}")
        return table.assign(ci_method="none")

    def random_effects(self):
        """Not defined: an MMRM has no random effects."""
        raise ModelSpecificationError(
            _NOT_FOR_MMRM.format(what="random_effects()", term=self.covariance_term.label)
        )

    def icc(self, level=None):
        """Not defined for an MMRM."""
        raise ModelSpecificationError(
            _NOT_FOR_MMRM.format(what="an ICC", term=self.covariance_term.label)
        )

    def cluster_sizes(self, group=None, unit=None):
        """Not defined for an MMRM."""
        raise ModelSpecificationError(
            _NOT_FOR_MMRM.format(what="cluster_sizes()", term=self.covariance_term.label)
        )

    def design_effect(self, group=None, unit=None, icc=None):
        """Not defined for an MMRM."""
        raise ModelSpecificationError(
            _NOT_FOR_MMRM.format(what="a design effect", term=self.covariance_term.label)
        )


def check_mmrm_df_method(df_method: str) -> str:
    """Validate a df method for an MMRM (every engine method but between-within)."""
    method = inference.check_df_method(df_method)
    if method == "between-within":
        raise ModelSpecificationError(
            "between-within df are defined for random-effect models, not for an MMRM; use "
            "satterthwaite, kenward-roger or residual"
        )
    return method
