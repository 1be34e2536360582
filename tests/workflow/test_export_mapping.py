"""A realistic export of data/example, mapped in a --configfile, gives byte-identical analyses."""

import hashlib
from pathlib import Path

import pytest
import yaml

from tests.ingest.export import swedish_export
from tests.workflow.test_workflow import copy_project, snakemake

pytestmark = pytest.mark.slow


def _analysis_tables(results: Path) -> dict[str, str]:
    """SHA-256 of every results CSV outside provenance (results/validation)."""
    return {
        path.relative_to(results).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(results.rglob("*.csv"))
        if path.relative_to(results).parts[0] != "validation"
    }


def test_swedish_export_with_a_mapping_gives_byte_identical_analysis_tables(tmp_path):
    (tmp_path / "reference").mkdir()
    (tmp_path / "mapped").mkdir()
    reference = copy_project(tmp_path / "reference")
    mapped = copy_project(tmp_path / "mapped")
    config = swedish_export(mapped / "data" / "example", mapped / "data" / "export")
    config["data_dir"] = "data/export"
    (mapped / "export.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")

    run = snakemake(mapped, "--configfile", "export.yaml")
    assert run.returncode == 0, run.stderr[-3000:]
    run = snakemake(reference)
    assert run.returncode == 0, run.stderr[-3000:]

    expected = _analysis_tables(reference / "results")
    got = _analysis_tables(mapped / "results")
    assert len(expected) > 40 and "data/betterback/patients.csv" in expected
    assert got == expected
    summary = (mapped / "results" / "validation" / "summary.csv").read_text("utf-8")
    assert "Patienter.xlsx" in summary and "patienter.sav" in summary
    assert "clinic_name (not in the contract)" in summary and "Kommentar (free text)" in summary
    mapping = (mapped / "results" / "validation" / "mapping.csv").read_text("utf-8")
    assert "recode,sex,Kvinna,female" in mapping
    report = (mapped / "results" / "report" / "report.html").read_text("utf-8")
    assert "Mapping from the exports onto the data contract" in report
    assert "Patienter.xlsx" in report
