"""The ``trialanalysis fit`` command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


R_EXPORTS = Path(__file__).parent / "golden" / "r_exports"


def test_fit_reads_an_r_export_with_na_and_dotted_names(tmp_path):
    # write.csv(airquality): NA marks missing values, Solar.R is a dotted R name.
    out = tmp_path / "aq.csv"
    formula = "Ozone ~ Temp + Solar.R + (1 | Month)"
    assert (
        main(["fit", str(R_EXPORTS / "airquality.csv"), "--formula", formula, "-o", str(out)]) == 0
    )
    ours = pd.read_csv(out).set_index("term")
    reference = pd.read_csv(R_EXPORTS / "airquality_lmer.csv").set_index("term")
    assert list(ours.index) == list(reference.index)  # "Solar.R", not Q("Solar.R")
    for column, rtol in (("estimate", 1e-5), ("std_error", 1e-4), ("df", 1e-3)):
        np.testing.assert_allclose(ours[column], reference[column], rtol=rtol)
    diagnostics = pd.read_csv(tmp_path / "aq_diagnostics.csv").set_index("item")["value"]
    assert int(diagnostics["n_used"]) == 111
    expected = float((R_EXPORTS / "airquality_remlcrit.txt").read_text())
    assert abs(float(diagnostics["deviance"]) - expected) < 1e-6


def test_fit_points_at_every_cell_that_is_not_a_number(tmp_path, capsys):
    data = tmp_path / "d.csv"
    rows = [f"{'abc' if i == 4 else '.' if i == 9 else i % 5},{i},{i % 3}" for i in range(30)]
    data.write_text("y,x,g\n" + "\n".join(rows) + "\n")
    status = main(
        ["fit", str(data), "--formula", "y ~ x + (1 | g)", "-o", str(tmp_path / "o.csv")]
    )
    assert status != 0
    err = capsys.readouterr().err
    assert f"{data}:6:y: 'abc' is not a number" in err
    assert f"{data}:11:y: '.' is not a number" in err
    assert not (tmp_path / "o.csv").exists()


def test_fit_refuses_repeated_column_names_and_names_missing_columns(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("y,x,x,g\n" + "".join(f"{i % 5},{i},{i},{i % 3}\n" for i in range(30)))
    out = str(tmp_path / "o.csv")
    assert main(["fit", str(data), "--formula", "y ~ x + (1 | g)", "-o", out])
    assert f"{data}:1:x: column name appears twice (columns 2 and 3)" in capsys.readouterr().err
    data.write_text("y,x,g\n" + "".join(f"{i % 5},{i},{i % 3}\n" for i in range(30)))
    assert main(
        ["fit", str(data), "--formula", "y ~ z + (1 | g) + (1 | k)", "-o", str(tmp_path / "o.csv")]
    )
    assert "2 column(s) not in the data: z, k; the data have: y, x, g" in capsys.readouterr().err


def test_fit_refuses_names_of_people_without_echoing_them(tmp_path, capsys):
    data = tmp_path / "d.csv"
    people = ["Anna Karlsson", "Erik Nilsson", "Maria Berg", "Lars Holm", "Karin Lindqvist"]
    data.write_text(
        "therapist,y,x,g\n" + "".join(f"{people[i % 5]},{i % 7},{i},{i % 3}\n" for i in range(30))
    )
    assert main(["fit", str(data), "--formula", "y ~ x + (1 | g)", "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert f"{data}:2:therapist: the column looks like it holds names of people" in err
    assert "remove it from the file" in err and "privacy.drop_columns" not in err
    assert not any(name.split()[1] in err for name in people)
    assert not (tmp_path / "o.csv").exists()


def test_fit_finds_and_describes_a_singular_random_slope(tmp_path):
    out = tmp_path / "orange.csv"
    formula = "circumference ~ age + (age | Tree)"
    args = ["fit", str(R_EXPORTS / "orange.csv"), "--formula", formula, "-o", str(out)]
    assert main([*args, "--variance-ci", "none"]) == 0
    diagnostics = pd.read_csv(tmp_path / "orange_diagnostics.csv").set_index("item")["value"]
    lme4 = float((R_EXPORTS / "orange_lme4_remlcrit.txt").read_text())
    assert float(diagnostics["deviance"]) < lme4  # lme4 stops short on the unscaled age
    assert diagnostics["singular"] == "True"
    # The slope's variance is not zero; its effect is collinear with the intercept's.
    assert "covariance is singular for age | Tree" in diagnostics["notes"]
    assert "variance of age" not in diagnostics["notes"]
    variance = pd.read_csv(tmp_path / "orange_variance.csv")
    assert variance.query("parameter == 'correlation'")["estimate"].abs().item() > 0.999
