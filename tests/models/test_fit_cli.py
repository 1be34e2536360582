"""The ``trialanalysis fit`` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from trialanalysis import fit_mixed
from trialanalysis.cli.main import main

DATA = Path(__file__).parent / "golden" / "data" / "stepped_wedge.csv"
FORMULA = (
    "odi_total ~ period + treatment + odi_baseline + (1 | clinic_id) + (1 | clinic_id:patient_id)"
)


def test_fit_writes_coefficients_variance_and_diagnostics(tmp_path, capsys):
    out = tmp_path / "sw.csv"
    status = main(
        ["fit", str(DATA), "--formula", FORMULA, "--df-method", "kenward-roger", "-o", str(out)]
    )
    assert status == 0
    printed = capsys.readouterr().out.split()
    assert printed == [
        str(out),
        str(tmp_path / "sw_variance.csv"),
        str(tmp_path / "sw_diagnostics.csv"),
    ]
    written = pd.read_csv(out)
    expected = fit_mixed(pd.read_csv(DATA), FORMULA).coefficients_for("kenward-roger")
    pd.testing.assert_frame_equal(written, expected, check_exact=False, rtol=1e-12)
    variance = pd.read_csv(tmp_path / "sw_variance.csv")
    assert list(variance["group"]) == ["clinic_id", "clinic_id:patient_id", "Residual"]
    diagnostics = pd.read_csv(tmp_path / "sw_diagnostics.csv").set_index("item")["value"]
    assert diagnostics["converged"] == "True"


def test_fit_is_byte_identical_on_rerun(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    for out in (first, second):
        assert (
            main(
                [
                    "fit",
                    str(DATA),
                    "--formula",
                    FORMULA,
                    "--ml",
                    "--df-method",
                    "z",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
    assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "a_variance.csv").read_bytes() == (tmp_path / "b_variance.csv").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--formula", "odi_total ~ period"], "no random-effect term"),
        (["--formula", "odi_total ~ period + (1 | clinic)"], "not in the data"),
        (["--formula", FORMULA, "-o", "x.txt"], "must end in .csv or .xlsx"),
    ],
)
def test_fit_errors_exit_2_with_a_message(tmp_path, capsys, args, message):
    if "-o" not in args:
        args = [*args, "-o", str(tmp_path / "out.csv")]
    assert main(["fit", str(DATA), *args]) == 2
    assert message in capsys.readouterr().err
