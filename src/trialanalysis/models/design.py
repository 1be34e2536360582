"""Model matrices of a linear mixed model in lme4's sparse formulation.

The model is ``y = X β + Z b + ε`` with ``b = Λ_θ u``, ``u ~ N(0, σ² I)`` and
``ε ~ N(0, σ² I)`` (Bates, Mächler, Bolker & Walker 2015, *J Stat Softw*
67(1)). Each random term ``(expr | g)`` contributes ``q`` columns per level of
``g``; its relative covariance factor is a lower-triangular ``q × q`` matrix
whose entries (column-major lower triangle, as in lme4) are elements of θ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.formula import MixedFormula, RandomTerm
from trialanalysis.models.formula_syntax import SAFE_ENV, check_columns, r_column_label


@dataclass
class RandomBlock:
    """Columns of ``Z`` and entries of θ belonging to one random term."""

    term: RandomTerm
    column_names: list[str]
    model_matrix: np.ndarray
    codes: np.ndarray
    levels: list[str]
    z_offset: int
    theta_offset: int

    @property
    def q(self) -> int:
        """Number of random effects per level."""
        return self.model_matrix.shape[1]

    @property
    def n_levels(self) -> int:
        """Number of levels of the grouping factor in the data used."""
        return len(self.levels)

    @property
    def n_theta(self) -> int:
        """Number of covariance parameters of the term."""
        return self.q * (self.q + 1) // 2

    def lower_triangle(self) -> list[tuple[int, int]]:
        """(row, column) of θ entries in lme4's column-major order."""
        return [(r, c) for c in range(self.q) for r in range(c, self.q)]


@dataclass
class ModelData:
    """Everything the deviance function needs, built once per fit."""

    formula: MixedFormula
    frame: pd.DataFrame
    y: np.ndarray
    X: np.ndarray
    fixed_names: list[str]
    fixed_design: patsy.DesignInfo
    column_order: np.ndarray
    term_columns: dict[str, list[int]]
    Z: sp.csc_matrix
    blocks: list[RandomBlock]
    rows_used: np.ndarray
    n_dropped: int
    missing_by_column: dict[str, int]
    block_of_row: np.ndarray = field(repr=False)
    dropped_columns: list[str] = field(default_factory=list)
    weights: np.ndarray | None = None
    _lambda_pattern: tuple = field(repr=False, default=())

    @property
    def n_theta(self) -> int:
        """Length of θ."""
        return sum(block.n_theta for block in self.blocks)

    @property
    def theta_lower_bounds(self) -> np.ndarray:
        """0 for diagonal entries of the covariance factors, -inf otherwise."""
        bounds = []
        for block in self.blocks:
            bounds.extend(0.0 if r == c else -np.inf for r, c in block.lower_triangle())
        return np.array(bounds)

    def theta_start(self) -> np.ndarray:
        """lme4's default start: identity covariance factors."""
        return np.where(np.isfinite(self.theta_lower_bounds), 1.0, 0.0)

    def make_lambda(self, theta: np.ndarray) -> sp.csc_matrix:
        """Build the sparse block-diagonal covariance factor Λ_θ."""
        indptr, indices, theta_index, shape = self._lambda_pattern
        return sp.csc_matrix((np.asarray(theta)[theta_index], indices, indptr), shape=shape)


def build_model_data(
    formula: MixedFormula,
    data: pd.DataFrame,
    protected: tuple[str, ...] = (),
    weights: str | None = None,
) -> ModelData:
    """Build y, X and Z from a data frame, dropping incomplete rows.

    Parameters
    ----------
    formula : MixedFormula
        A parsed formula (see :func:`~trialanalysis.models.formula.parse_formula`).
    data : DataFrame
        Long-format data, one row per observation.
    protected : tuple of str
        Variables (e.g. the treatment) whose columns must not be dropped as
        collinear; the model is refused instead.
    weights : str, optional
        Column of prior weights (residual variance ``σ²/w``, as lme4's
        ``weights=``); rows with a missing weight are dropped.

    Returns
    -------
    ModelData
        ``dropped_columns`` lists fixed-effect columns dropped as linear
        combinations of earlier ones (as lme4 does).

    Raises
    ------
    ModelSpecificationError
        For missing columns, a non-numeric response, collinear fixed effects,
        or random terms that cannot be identified.
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelSpecificationError("data must be a pandas DataFrame in long format")
    frame = data.reset_index(drop=True)
    check_columns(formula.text, frame.columns)
    complete = _complete_rows(formula, frame)
    missing_by_column = _missing_counts(formula, frame)
    if weights is not None:
        complete &= _weight_column(frame, weights).notna()
    used = frame.loc[complete].reset_index(drop=True)
    if len(used) == 0:
        raise ModelSpecificationError("no complete rows: every row misses a variable of the model")
    y = _response(used, formula.response)
    X_frame = patsy.dmatrix(
        formula.fixed, used, NA_action="raise", return_type="dataframe", eval_env=SAFE_ENV
    )
    order, term_columns = _r_column_order(X_frame.design_info, formula.fixed)
    X = np.asarray(X_frame, dtype=float)[:, order]
    fixed_names = [r_column_label(str(X_frame.columns[i])) for i in order]
    keep, dropped = aliased_columns(X, fixed_names, protected)
    if dropped:
        order = order[keep]
        X = X[:, keep]
        fixed_names = [fixed_names[i] for i in keep]
        position = {old: new for new, old in enumerate(keep)}
        term_columns = {
            term: [position[c] for c in cols if c in position]
            for term, cols in term_columns.items()
            if any(c in position for c in cols)
        }
    blocks = []
    z_offset = theta_offset = 0
    for term in formula.random:
        block = _random_block(term, used, z_offset, theta_offset)
        _check_identifiable(block, len(used))
        blocks.append(block)
        z_offset += block.q * block.n_levels
        theta_offset += block.n_theta
    model = ModelData(
        formula=formula,
        frame=used,
        y=y,
        X=X,
        fixed_names=fixed_names,
        fixed_design=X_frame.design_info,
        column_order=order,
        term_columns=term_columns,
        Z=_assemble_z(blocks, len(used)),
        blocks=blocks,
        rows_used=np.flatnonzero(complete.to_numpy()),
        n_dropped=int((~complete).sum()),
        missing_by_column=missing_by_column,
        block_of_row=_independent_blocks(blocks, len(used)),
        dropped_columns=dropped,
        weights=None if weights is None else used[weights].to_numpy(dtype=float),
    )
    model._lambda_pattern = _lambda_pattern(blocks)
    return model


def combined_labels(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Level labels of the interaction of ``columns`` (values joined with ``:``)."""
    labels = frame[columns[0]].astype(str)
    for column in columns[1:]:
        labels = labels + ":" + frame[column].astype(str)
    return labels


def fixed_matrix(model: ModelData, frame: pd.DataFrame) -> np.ndarray:
    """Fixed-effect model matrix for new data (e.g. a reference grid), columns as in X."""
    (matrix,) = patsy.build_design_matrices([model.fixed_design], frame, NA_action="raise")
    return np.asarray(matrix, dtype=float)[:, model.column_order]


def _r_column_order(design: patsy.DesignInfo, fixed: str) -> tuple[np.ndarray, dict]:
    """Order columns as R does: terms by degree, then as written in the formula.

    patsy groups terms by their numeric factors instead; R's order is the one
    statisticians read in lme4 output, so it is restored here.
    """
    written = patsy.ModelDesc.from_formula("~ " + fixed).rhs_termlist
    position = {term: i for i, term in enumerate(written)}
    terms = sorted(design.terms, key=lambda t: (len(t.factors), position.get(t, len(written))))
    order, term_columns = [], {}
    for term in terms:
        piece = design.term_slices[term]
        indices = list(range(piece.start, piece.stop))
        term_columns[term.name()] = list(range(len(order), len(order) + len(indices)))
        order.extend(indices)
    return np.array(order, dtype=np.int64), term_columns


def _referenced_columns(formula: MixedFormula, frame: pd.DataFrame) -> list[str]:
    words = set(re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", formula.text))
    return [column for column in frame.columns if column in words]


def _weight_column(frame: pd.DataFrame, name: str) -> pd.Series:
    if not isinstance(name, str) or name not in frame.columns:
        raise ModelSpecificationError(f"weights column {name!r} is not in the data")
    values = frame[name]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise ModelSpecificationError(f"weights column {name!r} must be numeric")
    bad = values.notna() & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        raise ModelSpecificationError(
            f"weights column {name!r} must be positive and finite; "
            f"{int(bad.sum())} row(s) are not (first: row {int(np.flatnonzero(bad)[0]) + 1})"
        )
    return values


def _complete_rows(formula: MixedFormula, frame: pd.DataFrame) -> pd.Series:
    complete = frame[formula.variables()].notna().all(axis=1)
    for rhs in [formula.fixed] + [term.expr for term in formula.random]:
        try:
            kept = patsy.dmatrix(
                rhs, frame, NA_action="drop", return_type="dataframe", eval_env=SAFE_ENV
            ).index
        except patsy.PatsyError as exc:
            raise ModelSpecificationError(f"cannot build model terms {rhs!r}: {exc}") from exc
        complete &= frame.index.isin(kept)
    return complete


def _missing_counts(formula: MixedFormula, frame: pd.DataFrame) -> dict[str, int]:
    counts = frame[_referenced_columns(formula, frame)].isna().sum()
    return {str(name): int(count) for name, count in counts.items() if count}


def _response(frame: pd.DataFrame, name: str) -> np.ndarray:
    values = frame[name]
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        raise ModelSpecificationError(
            f"response {name!r} must be numeric (found {values.dtype}); convert it first"
        )
    y = values.to_numpy(dtype=float)
    if np.ptp(y) == 0:
        raise ModelSpecificationError(
            f"response {name!r} is constant in the rows used; there is nothing to model"
        )
    return y


def aliased_columns(
    X: np.ndarray, names: list[str], protected: tuple[str, ...] = ()
) -> tuple[list[int], list[str]]:
    """Columns to keep and to drop so that the fixed-effect matrix has full rank.

    As lme4 (``fixef.drop.cols``): going left to right, a column that is a
    linear combination of the columns before it (relative residual below
    1e-7 in an unpivoted QR decomposition) is dropped.

    Raises
    ------
    ModelSpecificationError
        If a dropped column belongs to a ``protected`` variable (e.g. the
        treatment): its effect would not be estimable.
    """
    if X.shape[1] == 0:
        return [], []
    r = scipy.linalg.qr(X, mode="r")[0]
    norms = np.linalg.norm(X, axis=0)
    diag = np.abs(np.diag(r))[: X.shape[1]]
    aliased = (norms == 0) | (diag <= 1e-7 * np.where(norms > 0, norms, 1.0))
    dropped = [names[i] for i in np.flatnonzero(aliased)]
    hit = [
        name
        for name in dropped
        if any(
            re.search(rf"(^|[^A-Za-z0-9_.]){re.escape(v)}($|[^A-Za-z0-9_.])", name)
            for v in protected
        )
    ]
    if hit:
        raise ModelSpecificationError(
            f"fixed effects are collinear: {', '.join(hit)} can be written as a combination "
            "of the other columns, so the treatment effect is not estimable (e.g. a "
            "cluster-level variable that equals a sum of period effects, or an empty factor "
            "combination); remove or recode the collinear columns"
        )
    return [i for i in range(X.shape[1]) if not aliased[i]], dropped


def _random_block(term: RandomTerm, used: pd.DataFrame, z_offset: int, theta_offset: int):
    matrix = patsy.dmatrix(
        term.expr, used, NA_action="raise", return_type="dataframe", eval_env=SAFE_ENV
    )
    names = ["(Intercept)" if c == "Intercept" else r_column_label(str(c)) for c in matrix.columns]
    codes, levels = pd.factorize(combined_labels(used, list(term.group)), sort=True)
    return RandomBlock(
        term=term,
        column_names=names,
        model_matrix=np.asarray(matrix, dtype=float),
        codes=codes.astype(np.int64),
        levels=[str(level) for level in levels],
        z_offset=z_offset,
        theta_offset=theta_offset,
    )


def _check_identifiable(block: RandomBlock, n: int) -> None:
    label = block.term.group_label
    if block.n_levels < 2:
        raise ModelSpecificationError(
            f"grouping factor {label!r} has {block.n_levels} level in the data used; a random "
            "effect needs at least 2 (with so few groups, use a fixed effect instead)"
        )
    if block.n_levels >= n:
        raise ModelSpecificationError(
            f"grouping factor {label!r} has as many levels ({block.n_levels}) as observations "
            f"({n}); its variance cannot be told apart from the residual: drop "
            f"{block.term.source}"
        )
    if block.q * block.n_levels >= n:
        raise ModelSpecificationError(
            f"{block.term.source} has {block.q * block.n_levels} random effects for {n} "
            "observations; simplify it (e.g. use '||' or a random intercept only)"
        )


def _assemble_z(blocks: list[RandomBlock], n: int) -> sp.csc_matrix:
    rows, cols, vals = [], [], []
    for block in blocks:
        for j in range(block.q):
            rows.append(np.arange(n))
            cols.append(block.z_offset + block.codes * block.q + j)
            vals.append(block.model_matrix[:, j])
    width = sum(block.q * block.n_levels for block in blocks)
    coo = sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, width)
    )
    return coo.tocsc()


def _lambda_pattern(blocks: list[RandomBlock]) -> tuple:
    rows, cols, index = [], [], []
    for block in blocks:
        base = block.z_offset + np.arange(block.n_levels) * block.q
        for k, (r, c) in enumerate(block.lower_triangle()):
            rows.append(base + r)
            cols.append(base + c)
            index.append(np.full(block.n_levels, block.theta_offset + k))
    width = sum(block.q * block.n_levels for block in blocks)
    rows_a, cols_a, index_a = map(np.concatenate, (rows, cols, index))
    # Tag each entry with its position to read off the CSC order once.
    tagged = sp.csc_matrix(
        (np.arange(1, len(rows_a) + 1, dtype=float), (rows_a, cols_a)), shape=(width, width)
    )
    tagged.sort_indices()
    order = tagged.data.astype(np.int64) - 1
    return tagged.indptr.copy(), tagged.indices.copy(), index_a[order], (width, width)


def _independent_blocks(blocks: list[RandomBlock], n: int) -> np.ndarray:
    """Label rows by connected component of shared grouping levels.

    Observations in different components are independent, so V is block
    diagonal over these labels (clusters of a nested design; one block for
    fully crossed factors).
    """
    offsets = np.cumsum([0] + [block.n_levels for block in blocks])
    rows = np.concatenate([np.arange(n)] * len(blocks))
    cols = np.concatenate([offsets[i] + block.codes for i, block in enumerate(blocks)])
    incidence = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, offsets[-1]))
    graph = (incidence.T @ incidence).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels[offsets[0] + blocks[0].codes]
