"""Fit one mixed model from a data file and write its tables (the ``fit`` command)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trialanalysis.cli.score import read_table_file, write_table_file
from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.mixed import fit_mixed


def typed_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Convert columns whose every non-missing value is a number to numbers.

    Other columns stay text and so enter a model as factors (as R's
    ``read.csv`` would make them).
    """
    typed = table.copy()
    for column in typed.columns:
        converted = pd.to_numeric(typed[column], errors="coerce")
        if converted.notna().sum() == typed[column].notna().sum():
            typed[column] = converted
    return typed


def fit_file(
    data_path: str | Path,
    formula: str,
    output: str | Path,
    df_method: str = "satterthwaite",
    reml: bool = True,
    level: float = 0.95,
    variance_ci: str = "profile",
    weights: str | None = None,
) -> list[Path]:
    """Fit ``formula`` to a CSV/XLSX file; write coefficients, variance components, diagnostics.

    Parameters
    ----------
    data_path : path
        Long-format data (.csv or .xlsx).
    formula : str
        lme4-style formula.
    output : path
        Coefficient table (.csv or .xlsx). The variance components and the
        fit diagnostics are written beside it as ``<stem>_variance`` and
        ``<stem>_diagnostics`` with the same suffix.
    df_method, reml, level, variance_ci, weights
        As in :func:`~trialanalysis.models.mixed.fit_mixed`.

    Returns
    -------
    list of Path
        The files written.
    """
    output = Path(output)
    if output.suffix.lower() not in (".csv", ".xlsx"):
        raise ModelSpecificationError(f"{output}: output must end in .csv or .xlsx")
    data = typed_columns(read_table_file(data_path)).reset_index(drop=True)
    fit = fit_mixed(
        data,
        formula,
        df_method=df_method,
        reml=reml,
        level=level,
        variance_ci=variance_ci,
        weights=weights,
    )
    stem = output.with_suffix("")
    written = [write_table_file(fit.coefficients, output)]
    # The fit succeeded: its coefficients are written whatever happens to the
    # optional variance intervals (which report failures as notes, not errors).
    written.append(
        write_table_file(fit.variance_components, Path(f"{stem}_variance{output.suffix}"))
    )
    written.append(
        write_table_file(fit.diagnostics_table(), Path(f"{stem}_diagnostics{output.suffix}"))
    )
    return written
