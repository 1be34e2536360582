"""Provenance: what went into a run, so a reviewer can trace every number.

Everything here is deterministic for the same inputs, config, code and
environment, except the run timestamp, which :func:`run_stamp` produces
separately so the report can isolate it in one marked place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

import pandas as pd
import yaml

PACKAGES = (
    "trialanalysis",
    "numpy",
    "scipy",
    "pandas",
    "statsmodels",
    "pingouin",
    "matplotlib",
    "snakemake",
    "pandera",
    "pyreadstat",
    "openpyxl",
    "jinja2",
    "python-docx",
    "jsonschema",
    "pyyaml",
)


def sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(paths: Iterable[str | Path], root: str | Path | None = None) -> pd.DataFrame:
    """Tabulate size and SHA-256 of files.

    Parameters
    ----------
    paths : iterable of path
    root : path, optional
        Paths under this folder are shown relative to it; others as given.

    Returns
    -------
    DataFrame
        Columns ``file, bytes, sha256``, sorted by file.
    """
    rows = []
    for path in paths:
        path = Path(path)
        shown = path
        if root is not None and path.resolve().is_relative_to(Path(root).resolve()):
            shown = path.resolve().relative_to(Path(root).resolve())
        rows.append(
            {"file": shown.as_posix(), "bytes": path.stat().st_size, "sha256": sha256(path)}
        )
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"]).sort_values(
        "file", ignore_index=True
    )


def package_versions(packages: Iterable[str] = PACKAGES) -> pd.DataFrame:
    """Tabulate installed versions of the packages the analysis depends on."""
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        rows.append({"package": name, "version": version})
    return pd.DataFrame(rows)


def git_state(repository: str | Path = ".") -> dict[str, str]:
    """Return the git commit of the code and whether tracked files were modified.

    Returns ``{"commit": "unknown", "dirty": "unknown"}`` outside a git
    checkout (e.g. an unpacked archive).
    """

    def run(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repository, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = run("rev-parse", "HEAD")
        dirty = run("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "dirty": "unknown"}
    return {"commit": commit, "dirty": "yes" if dirty else "no"}


def run_stamp() -> str:
    """Return the current UTC time, ISO 8601 to the second (the one volatile value)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def row_counts(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Tabulate rows and columns of named tables (e.g. ``{"betterback/patients": df}``)."""
    rows = [
        {"table": name, "rows": len(frame), "columns": frame.shape[1]}
        for name, frame in sorted(tables.items())
    ]
    return pd.DataFrame(rows, columns=["table", "rows", "columns"])


def provenance_section(
    *,
    input_files: Iterable[str | Path],
    config: Mapping,
    root: str | Path = ".",
    tables: Mapping[str, pd.DataFrame] | None = None,
    validation_summary: pd.DataFrame | str | Path | None = None,
    mapping: pd.DataFrame | str | Path | None = None,
    packages: pd.DataFrame | None = None,
    git: Mapping[str, str] | None = None,
    config_source: str = "config/config.yaml",
    section_id: str = "provenance",
):
    """Build the provenance section of the report.

    Parameters
    ----------
    input_files : iterable of path
        Every raw input file; each is listed with its size and SHA-256.
    config : mapping
        The full effective config (after defaults), shown as YAML.
    root : path
        Paths are shown relative to this folder.
    tables : mapping of str to DataFrame, optional
        The validated tables, for their row counts.
    validation_summary : DataFrame or path, optional
        The summary written by the validation step (a CSV path is shown as its source):
        per table the file read, its sheet and SHA-256.
    mapping : DataFrame or path, optional
        The renames and recodes applied to each table between export and
        analysis, with the number of values each changed (written by the
        validation step).
    packages : DataFrame, optional
        Default :func:`package_versions`.
    git : mapping, optional
        Default :func:`git_state` of ``root``.

    Returns
    -------
    trialanalysis.reporting.sections.Section
    """
    from trialanalysis.reporting.sections import CodeBlock, Section, TableBlock, TextBlock

    text_only = [{"columns": ".*", "style": "text"}]
    git = dict(git or git_state(root))
    root_path = Path(root).resolve()
    files = [Path(f) for f in input_files]
    hashes = file_hashes(files, root=root_path)
    if git.get("dirty") == "yes":
        state = (
            "Tracked files differed from this commit: the code that ran is not exactly the commit."
        )
    else:
        state = "No tracked file differed from this commit."
    blocks = [
        TextBlock(
            f"Code: git commit `{git.get('commit', 'unknown')}`. {state} "
            f"Inputs: {len(files)} file(s), listed with their SHA-256 below."
        ),
        TableBlock(
            hashes,
            caption="Input files",
            source="computed from the input files when the report was built",
            rounding=text_only,
            suppression={},
        ),
    ]
    if tables is not None:
        blocks.append(
            TableBlock(
                row_counts(tables),
                caption="Rows and columns of the validated tables",
                source="computed from the validated tables",
                suppression={},
            )
        )
    if validation_summary is not None:
        is_frame = isinstance(validation_summary, pd.DataFrame)
        blocks.append(
            TableBlock(
                validation_summary,
                caption="Validation summary",
                source="the validation step" if is_frame else "",
                rounding=text_only,
                suppression={},
            )
        )
    if mapping is not None:
        blocks.append(_mapping_block(mapping, text_only))
    blocks.append(
        CodeBlock(
            yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True),
            caption=f"Effective configuration (from {config_source}, defaults filled in)",
            language="yaml",
        )
    )
    blocks.append(
        TableBlock(
            package_versions() if packages is None else packages,
            caption="Software versions",
            source="the Python environment that built the report",
            rounding=text_only,
        )
    )
    return Section("Provenance", blocks=blocks, id=section_id)


def _mapping_block(mapping: pd.DataFrame | str | Path, rounding):
    """Show the renames and recodes, or say there were none."""
    from trialanalysis.reporting.sections import TableBlock, TextBlock

    frame = mapping if isinstance(mapping, pd.DataFrame) else pd.read_csv(mapping, dtype=str)
    if frame.empty:
        return TextBlock(
            "Mapping from the exports onto the data contract: none (every file carried the "
            "contract's column names and codes)."
        )
    return TableBlock(
        mapping,
        caption="Mapping from the exports onto the data contract (renames and recodes, with "
        "the number of values each changed)",
        source="the validation step" if isinstance(mapping, pd.DataFrame) else "",
        rounding=rounding,
        suppression={},
        max_rows=1000,
    )


def _plain(value):
    """Turn mappings and sequences into plain dicts and lists for YAML output."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
