"""Score a table file (CSV or XLSX): the body of ``trialanalysis score``.

Every column is read as text, so identifiers such as ``0012`` and all other
columns are written back unchanged; only the item columns are read as
numbers, by the scoring engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from trialanalysis.errors import ConfigError, ScoringError
from trialanalysis.ingest.readers import read_frame
from trialanalysis.instruments.definitions import instruments_path, load_instruments
from trialanalysis.instruments.scoring import score_instrument
from trialanalysis.steps.io import write_csv


def parse_options(pairs: Sequence[str]) -> dict[str, str]:
    """Turn ``["key=value", ...]`` (as typed on the command line) into a dict.

    Raises
    ------
    ScoringError
        If an entry has no ``=`` or an empty key, or a key is repeated.
    """
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScoringError(
                f"option {pair!r} must be KEY=VALUE, e.g. value_set=se_experience_burstrom2014"
            )
        if key in options:
            raise ScoringError(f"option {key!r} given twice")
        options[key] = value.strip()
    return options


def read_table_file(path: str | Path) -> pd.DataFrame:
    """Read a CSV, XLSX or SAV file as text (see :func:`trialanalysis.ingest.readers.read_frame`).

    The index holds the line (row) number of each record in the file, header
    = 1, so error messages point at the line a user sees in an editor.
    """
    return read_frame(path)


def write_table_file(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV or XLSX (by the file suffix), without the index."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ScoringError(f"{path}: unsupported output format: use .csv or .xlsx")
    if suffix == ".csv":
        write_csv(table, path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_excel(path, index=False)
    return path


def score_file(
    instrument: str,
    input_path: str | Path,
    output_path: str | Path,
    instruments_dir: str | Path | None = None,
    options: Mapping | None = None,
) -> Path:
    """Add one instrument's score columns to a table file.

    Parameters
    ----------
    instrument : str
        Instrument name, e.g. ``"eq5d"``.
    input_path, output_path : str or Path
        ``.csv`` or ``.xlsx`` files.
    instruments_dir : str or Path, optional
        Folder of instrument definitions (default: the built-in ones).
    options : mapping, optional
        Scoring options (see :mod:`trialanalysis.instruments.scoring`).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        If the instrument is not defined.
    ScoringError
        If item values are invalid; rows are line numbers of the input file.
    """
    definitions = load_instruments(instruments_dir)
    if instrument not in definitions:
        raise ConfigError(
            f"no instrument {instrument!r} in {instruments_path(instruments_dir)}; "
            f"defined: {', '.join(definitions)}"
        )
    table = read_table_file(input_path)
    try:
        scored = score_instrument(table, definitions[instrument], **dict(options or {}))
    except ScoringError as exc:
        raise ScoringError(
            f"{input_path} (rows are row numbers in the file, header = 1): {exc}"
        ) from None
    return write_table_file(scored, output_path)
