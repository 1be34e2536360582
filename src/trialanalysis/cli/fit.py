"""Fit one mixed model from a data file and write its tables (the ``fit`` command)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trialanalysis.cli.score import read_table_file, write_table_file
from trialanalysis.errors import DataValidationError, ModelSpecificationError, Problem
from trialanalysis.models.formula_syntax import formula_columns
from trialanalysis.models.mixed import fit_mixed


def typed_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Read ``NA`` as missing and convert columns of numbers to numbers.

    As R's ``read.csv``: a cell ``NA`` (how R writes a missing value) is
    missing in every column; a column whose every non-missing value is a
    number becomes numeric, other columns stay text and so enter a model as
    factors.
    """
    typed = table.mask(table == "NA")
    for column in typed.columns:
        converted = pd.to_numeric(typed[column], errors="coerce")
        if converted.notna().sum() == typed[column].notna().sum():
            typed[column] = converted
    return typed


def _check_numeric_response(data: pd.DataFrame, formula: str, file: str) -> None:
    """Point at every cell of the response column that is not a number."""
    names = formula_columns(formula) if isinstance(formula, str) and "~" in formula else []
    response = names[0] if names else None
    if response not in data.columns or pd.api.types.is_numeric_dtype(data[response]):
        return
    values = data[response]
    bad = values.notna() & pd.to_numeric(values, errors="coerce").isna()
    problems = [
        Problem(
            file,
            int(row),
            response,
            f"{str(value)[:20]!r} is not a number; the response "
            "must be numeric (leave missing values blank or write NA)",
        )
        for row, value in values[bad].items()
    ]
    raise DataValidationError(problems)


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
    data = typed_columns(read_table_file(data_path))
    _check_numeric_response(data, formula, str(data_path))
    data = data.reset_index(drop=True)
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
