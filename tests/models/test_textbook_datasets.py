"""Classic example data of lme4, nlme and R's datasets through ``trialanalysis fit``.

Golden values in ``golden/textbook/*.json`` were made by
``golden/textbook/make_textbook.R``: lme4 + lmerTest (Satterthwaite) +
pbkrtest (Kenward-Roger), VarCorr and isSingular, and REML profile
intervals from an independent REML deviance written in R (not lme4's
``confint``, which profiles the ML deviance). Profile limits must agree to
1 % of the interval's width.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trialanalysis import fit_mixed
from trialanalysis.cli.main import main
from trialanalysis.errors import ModelSpecificationError

TEXTBOOK = Path(__file__).parent / "golden" / "textbook"
NAMES = sorted(p.stem for p in TEXTBOOK.glob("*.json"))
REL, DF_REL, P_ABS, WIDTH = 1e-4, 0.01, 0.002, 0.01


@functools.cache
def golden(name: str) -> dict:
    return json.loads((TEXTBOOK / f"{name}.json").read_text())


def data(name: str) -> pd.DataFrame:
    return pd.read_csv(TEXTBOOK / "data" / golden(name)["data"])


@functools.cache
def fitted(name: str):
    return fit_mixed(data(name), golden(name)["formula"])


@functools.cache
def fitted_by_cli(name: str, tmp: str) -> tuple[int, dict]:
    out = Path(tmp) / f"{name}.csv"
    source = str(TEXTBOOK / "data" / golden(name)["data"])
    status = main(["fit", source, "--formula", golden(name)["formula"], "-o", str(out)])
    if status != 0:
        return status, {}
    tables = {
        "coefficients": pd.read_csv(out),
        "variance": pd.read_csv(out.with_name(f"{name}_variance.csv")),
        "diagnostics": pd.read_csv(out.with_name(f"{name}_diagnostics.csv")),
    }
    return status, tables


def same_group(groups: pd.Series, r_group: str) -> pd.Series:
    """lme4 writes nested factors as ``b:a``; compare the sets of variables."""
    return groups.map(lambda g: set(g.split(":")) == set(r_group.split(":")))


def assert_t_table(mine: pd.DataFrame, reference: list[dict]) -> None:
    ref = pd.DataFrame(reference)
    assert len(mine) == len(ref)
    np.testing.assert_allclose(mine["estimate"], ref["estimate"], rtol=REL, atol=1e-9)
    np.testing.assert_allclose(mine["std_error"], ref["std_error"], rtol=REL)
    np.testing.assert_allclose(mine["df"], ref["df"], rtol=DF_REL)
    np.testing.assert_allclose(mine["p_value"], ref["p_value"], atol=P_ABS)


def variance_row(table: pd.DataFrame, ref: pd.Series) -> pd.Series:
    if ref["parameter"] == "sigma":
        return table[table["group"] == "Residual"].iloc[0]
    rows = table[same_group(table["group"], ref["group"])]
    if ref["parameter"] == "cor":
        rows = rows[rows["term"] == f"{ref['var1']}, {ref['var2']}"]
    else:
        rows = rows[(rows["term"] == ref["var1"]) & (rows["parameter"] == "variance")]
    assert len(rows) == 1, ref.to_dict()
    return rows.iloc[0]


def assert_profile_intervals(table: pd.DataFrame, name: str) -> None:
    for _, ref in pd.DataFrame(golden(name)["reml_profile_ci"]).iterrows():
        row = variance_row(table, ref)
        if ref["parameter"] == "cor":
            mine = np.array([row["estimate"], row["conf_low"], row["conf_high"]])
        else:
            mine = np.sqrt([row["estimate"], row["conf_low"], row["conf_high"]])
        expected = ref[["estimate", "lower", "upper"]].to_numpy(dtype=float)
        width = expected[2] - expected[1]
        assert mine[0] == pytest.approx(expected[0], rel=REL, abs=1e-6)
        np.testing.assert_allclose(mine[1:], expected[1:], atol=WIDTH * width, err_msg=str(ref))


@pytest.mark.parametrize("name", NAMES)
def test_fit_matches_lme4_lmertest_and_pbkrtest(name):
    spec, fit = golden(name), fitted(name)
    assert fit.diagnostics["n_used"] == spec["n_used"]
    assert fit.deviance == pytest.approx(spec["deviance"], rel=1e-8)
    assert fit.sigma == pytest.approx(spec["sigma"], rel=REL)
    assert fit.diagnostics["singular"] == spec["singular"]
    assert_t_table(fit.coefficients, spec["satterthwaite"])
    assert_t_table(fit.coefficients_for("kenward-roger"), spec["kenward_roger"])


@pytest.mark.parametrize("name", NAMES)
def test_variance_components_match_varcorr(name):
    table = fitted(name).variance_components_table(intervals=False)
    for _, ref in pd.DataFrame(golden(name)["varcorr"]).iterrows():
        if ref["group"] == "Residual":
            row = table[table["group"] == "Residual"].iloc[0]
            assert row["std_dev"] == pytest.approx(ref["sdcor"], rel=REL)
            continue
        kind = "cor" if isinstance(ref["var2"], str) and ref["var2"] else "sd"
        row = variance_row(table, pd.Series({**ref, "parameter": kind}))
        expected = ref["sdcor"] if kind == "cor" else ref["vcov"]
        assert row["estimate"] == pytest.approx(expected, rel=REL, abs=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_fit_command_writes_every_table(name, tmp_path_factory):
    status, tables = fitted_by_cli(name, str(tmp_path_factory.getbasetemp()))
    assert status == 0
    assert_t_table(tables["coefficients"], golden(name)["satterthwaite"])
    assert_profile_intervals(tables["variance"], name)
    diagnostics = tables["diagnostics"].set_index("item")["value"]
    assert diagnostics["singular"] == str(golden(name)["singular"])


def test_prior_weights_match_lmer():
    spec = json.loads((TEXTBOOK / "weights" / "sleepstudy_weighted.json").read_text())
    frame = pd.read_csv(TEXTBOOK / "data" / spec["data"])
    fit = fit_mixed(frame, spec["formula"], weights=spec["weights"], variance_ci="none")
    assert fit.deviance == pytest.approx(spec["deviance"], rel=1e-8)
    assert fit.sigma == pytest.approx(spec["sigma"], rel=REL)
    ref = pd.DataFrame(spec["satterthwaite"])
    np.testing.assert_allclose(fit.coefficients["estimate"], ref["estimate"], rtol=REL)
    np.testing.assert_allclose(fit.coefficients["std_error"], ref["std_error"], rtol=REL)
    np.testing.assert_allclose(fit.coefficients["df"], ref["df"], rtol=DF_REL)
    sds = fit.variance_components_table(intervals=False)
    np.testing.assert_allclose(
        [sds["std_dev"].iloc[0], sds["std_dev"].iloc[2], sds["estimate"].iloc[1]],
        [r["sdcor"] for r in spec["varcorr"][:3]],
        rtol=REL,
    )
    with pytest.raises(ModelSpecificationError, match="weights"):
        fit_mixed(frame.assign(w=-frame["w"]), spec["formula"], weights="w")
    with pytest.raises(ModelSpecificationError, match="Kenward-Roger"):
        fit_mixed(frame, spec["formula"], weights="w", df_method="kenward-roger")
