"""Estimated marginal means and their contrasts, as R's emmeans computes them.

The reference grid holds every combination of the levels of the factors in
the fixed part; numeric covariates are held at their mean over the rows used
in the fit (emmeans' default), unless ``at`` gives values. The EMM of a
combination of the ``specs`` and ``by`` factors averages the grid rows over
the remaining factors with equal weights. Standard errors, degrees of
freedom, t tests and confidence intervals use the fit's df method (with the
Kenward–Roger adjusted covariance under ``kenward-roger``). p-values are not
adjusted for multiplicity.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
import pandas as pd
from patsy.eval import ast_names

from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models import inference
from trialanalysis.models.design import fixed_matrix

CONTRAST_METHODS = ("pairwise", "revpairwise", "trt.vs.ctrl")


def reference_grid(model, at: Mapping | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Build the reference grid of a fitted model; return it and its factor names."""
    at = dict(at or {})
    factors, numerics = _variables(model)
    unknown = set(at) - set(factors) - set(numerics)
    if unknown:
        raise ModelSpecificationError(
            f"'at' names {sorted(unknown)}, which are not variables of the fixed part"
        )
    frame = model.frame
    levels = {}
    for name in factors:
        observed = list(pd.unique(frame[name]))
        ordered = sorted(observed, key=_sort_key)
        levels[name] = list(at.get(name, ordered))
    grid_vars = list(factors)
    for name in numerics:
        if name in at:
            levels[name] = list(np.atleast_1d(at[name]))
            grid_vars.append(name)
    rows = list(itertools.product(*[levels[v] for v in reversed(grid_vars)]))
    grid = pd.DataFrame([tuple(reversed(r)) for r in rows], columns=grid_vars)
    for name in numerics:
        if name not in at:
            grid[name] = float(frame[name].mean())
    for name in factors:
        if pd.api.types.is_numeric_dtype(frame[name]):
            grid[name] = grid[name].astype(frame[name].dtype)
    return grid, grid_vars


def _sort_key(value):
    return (0, value) if isinstance(value, (int, float, np.number)) else (1, str(value))


def _variables(model) -> tuple[list[str], list[str]]:
    """Find the data columns behind categorical and numeric factors of the fixed part."""
    columns = set(model.frame.columns)
    factors, numerics = [], []
    for factor, info in model.fixed_design.factor_infos.items():
        names = [n for n in ast_names(factor.code) if n in columns]
        target = factors if info.type == "categorical" else numerics
        target.extend(n for n in names if n not in target)
    numerics = [n for n in numerics if n not in factors]
    return factors, numerics


class EstimatedMarginalMeans:
    """EMMs of a fit; ``.table`` holds them, :meth:`contrast` compares them."""

    def __init__(self, fit, specs, by=None, at=None, df_method=None, level=None):
        self.fit = fit
        self.specs = [specs] if isinstance(specs, str) else list(specs)
        self.by = [] if by is None else ([by] if isinstance(by, str) else list(by))
        self.df_method = inference.check_df_method(df_method or fit.df_method)
        self.level = level or fit.level
        grid, grid_vars = reference_grid(fit.model, at)
        wanted = self.specs + self.by
        missing = [v for v in wanted if v not in grid_vars]
        if missing:
            raise ModelSpecificationError(
                f"{missing} are not factors of the fixed part (or numeric variables given in "
                f"'at'); reference-grid variables are {grid_vars}"
            )
        X_grid = fixed_matrix(fit.model, grid)
        keys = list(grid[wanted].itertuples(index=False, name=None))
        combos = list(dict.fromkeys(keys))
        order = {v: list(pd.unique(grid[v])) for v in wanted}

        def sort_key(combo):
            positions = [order[v].index(x) for v, x in zip(wanted, combo, strict=True)]
            n_specs = len(self.specs)
            return (positions[n_specs:][::-1], positions[:n_specs][::-1])

        combos.sort(key=sort_key)
        self.labels = pd.DataFrame(combos, columns=wanted)
        self.L = np.array([X_grid[np.array([k == c for k in keys])].mean(axis=0) for c in combos])
        self.table = self._summarise(self.L, self.labels)

    def _summarise(self, L: np.ndarray, labels: pd.DataFrame) -> pd.DataFrame:
        fit = self.fit
        vcov = fit.vcov_for(self.df_method)
        estimates = L @ fit.beta
        std_errors = np.sqrt(np.einsum("ij,jk,ik->i", L, vcov, L))
        dfs = fit._df(L, self.df_method)
        stats = inference.t_table(
            list(range(len(L))), estimates, std_errors, dfs, self.df_method, self.level
        ).drop(columns="term")
        return pd.concat([labels.reset_index(drop=True), stats], axis=1)

    def contrast(self, method="pairwise", ref=None, interaction: Mapping | None = None):
        """Contrasts of the EMMs within each ``by`` group.

        Parameters
        ----------
        method : {"pairwise", "revpairwise", "trt.vs.ctrl"} or dict
            ``pairwise``: earlier minus later level (emmeans' ``A - B``);
            ``revpairwise``: later minus earlier; ``trt.vs.ctrl``: each level
            minus the reference ``ref`` (default the first level), e.g. change
            from baseline when the EMMs are time points. A dict maps labels to
            weights over the ``specs`` combinations (in ``.table`` order
            within a ``by`` group).
        ref : label or int, optional
            Reference level for ``trt.vs.ctrl`` (label, or 0-based position).
        interaction : dict, optional
            ``{factor: method}`` for every factor in ``specs``: interaction
            contrasts (e.g. ``{"arm": "pairwise", "timepoint": "trt.vs.ctrl"}``
            gives differences between arms in change from the reference time).

        Returns
        -------
        DataFrame
            ``contrast``, the ``by`` columns, then ``estimate, std_error, df,
            statistic, p_value, conf_low, conf_high, df_method``.
        """
        rows, labels = [], []
        groups = self._by_groups()
        for by_values, index in groups:
            spec_labels = self.labels.iloc[index][self.specs]
            if interaction is not None:
                weights, names = self._interaction_weights(spec_labels, interaction)
            else:
                weights, names = _contrast_weights(
                    [_label(r) for r in spec_labels.itertuples(index=False)], method, ref
                )
            for w, name in zip(weights, names, strict=True):
                rows.append(w @ self.L[index])
                labels.append({"contrast": name, **dict(zip(self.by, by_values, strict=True))})
        return self._summarise(np.array(rows), pd.DataFrame(labels))

    def _by_groups(self) -> list[tuple[tuple, np.ndarray]]:
        if not self.by:
            return [((), np.arange(len(self.labels)))]
        groups = []
        for values, frame in self.labels.groupby(self.by, sort=False):
            values = values if isinstance(values, tuple) else (values,)
            groups.append((values, frame.index.to_numpy()))
        return groups

    def _interaction_weights(self, spec_labels: pd.DataFrame, interaction: Mapping):
        if set(interaction) != set(self.specs):
            raise ModelSpecificationError(
                f"interaction contrasts need a method for each of {self.specs}"
            )
        per_factor = []
        for name in self.specs:
            levels = list(pd.unique(spec_labels[name]))
            weights, names = _contrast_weights([str(v) for v in levels], interaction[name], None)
            per_factor.append((name, levels, weights, names))
        rows, names = [], []
        for combo in itertools.product(*[range(len(f[2])) for f in per_factor]):
            w = np.ones(len(spec_labels))
            for (name, levels, weights, _), k in zip(per_factor, combo, strict=True):
                position = spec_labels[name].map({lv: i for i, lv in enumerate(levels)})
                w = w * weights[k][position.to_numpy()]
            rows.append(w)
            names.append(" : ".join(f[3][k] for f, k in zip(per_factor, combo, strict=True)))
        return rows, names


def _label(values: tuple) -> str:
    return " ".join(str(v) for v in values)


def _contrast_weights(levels: list[str], method, ref) -> tuple[list[np.ndarray], list[str]]:
    k = len(levels)
    eye = np.eye(k)
    if isinstance(method, Mapping):
        weights, names = [], []
        for name, w in method.items():
            w = np.asarray(w, dtype=float)
            if w.shape != (k,):
                raise ModelSpecificationError(
                    f"contrast {name!r} needs {k} weights, one per level of {levels}"
                )
            weights.append(w)
            names.append(str(name))
        return weights, names
    if method == "pairwise":
        pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
        return [eye[i] - eye[j] for i, j in pairs], [
            f"{levels[i]} - {levels[j]}" for i, j in pairs
        ]
    if method == "revpairwise":
        pairs = [(j, i) for i in range(k) for j in range(i + 1, k)]
        return [eye[i] - eye[j] for i, j in pairs], [
            f"{levels[i]} - {levels[j]}" for i, j in pairs
        ]
    if method == "trt.vs.ctrl":
        if ref is None:
            r = 0
        elif isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            r = int(ref)
        elif str(ref) in levels:
            r = levels.index(str(ref))
        else:
            raise ModelSpecificationError(f"reference {ref!r} is not one of {levels}")
        others = [i for i in range(k) if i != r]
        return [eye[i] - eye[r] for i in others], [f"{levels[i]} - {levels[r]}" for i in others]
    raise ModelSpecificationError(
        f"contrast method {method!r} is not one of {', '.join(CONTRAST_METHODS)} or a dict"
    )
