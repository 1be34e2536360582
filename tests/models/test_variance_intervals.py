"""Variance-component intervals: Wald by closed form, failures never lose the fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from trialanalysis import fit_mixed
from trialanalysis.cli.main import main
from trialanalysis.errors import ModelSpecificationError
from trialanalysis.models.variance import VarianceProfile

RAIL = Path(__file__).parent / "golden" / "textbook" / "data" / "rail.csv"


def test_wald_intervals_match_the_closed_form_of_a_balanced_one_way_design():
    """Balanced one-way: REML = ANOVA estimates, and the information is exact.

    With ``a`` groups of ``n``, ``λ = σ² + nσ_b²`` and ``σ²`` are estimated by
    MSB and MSW, independent with variances ``2λ²/(a−1)`` and
    ``2σ⁴/(N−a)``; the delta method gives the SEs of ``σ_b`` and ``σ``.
    """
    data = pd.read_csv(RAIL)
    fit = fit_mixed(data, "travel ~ 1 + (1 | Rail)", variance_ci="wald")
    a, n = data["Rail"].nunique(), len(data) // data["Rail"].nunique()
    means = data.groupby("Rail")["travel"].mean()
    msb = n * ((means - data["travel"].mean()) ** 2).sum() / (a - 1)
    msw = ((data["travel"] - data["Rail"].map(means)) ** 2).sum() / (len(data) - a)
    sd_b, sd_e = np.sqrt((msb - msw) / n), np.sqrt(msw)
    var_sd_b = (2 * msb**2 / (a - 1) + 2 * msw**2 / (len(data) - a)) / (4 * n**2 * sd_b**2)
    var_sd_e = msw / (2 * (len(data) - a))
    z = scipy.stats.norm.ppf(0.975)
    table = fit.variance_components.set_index("group")
    for group, sd, var in (("Rail", sd_b, var_sd_b), ("Residual", sd_e, var_sd_e)):
        row = table.loc[group]
        assert row["std_dev"] == pytest.approx(sd, rel=1e-6)
        half = z * np.sqrt(var) / sd
        assert np.sqrt(row["conf_low"]) == pytest.approx(sd * np.exp(-half), rel=1e-4)
        assert np.sqrt(row["conf_high"]) == pytest.approx(sd * np.exp(half), rel=1e-4)
    assert set(table["ci_method"]) == {"Wald (REML)"}


def test_no_intervals_and_a_bad_choice():
    data = pd.read_csv(RAIL)
    table = fit_mixed(data, "travel ~ 1 + (1 | Rail)", variance_ci="none").variance_components
    assert table["conf_low"].isna().all() and set(table["ci_method"]) == {"none"}
    with pytest.raises(ModelSpecificationError, match="variance_ci"):
        fit_mixed(data, "travel ~ 1 + (1 | Rail)", variance_ci="bootstrap")


def test_a_failing_profile_is_a_note_and_the_tables_are_written(tmp_path, monkeypatch):
    def broken(self, index, value, start):
        raise ValueError("simulated failure")

    monkeypatch.setattr(VarianceProfile, "profile", broken)
    out = tmp_path / "rail.csv"
    status = main(["fit", str(RAIL), "--formula", "travel ~ 1 + (1 | Rail)", "-o", str(out)])
    assert status == 0
    assert len(pd.read_csv(out)) == 1
    variance = pd.read_csv(tmp_path / "rail_variance.csv")
    assert variance["conf_low"].isna().all()
    notes = pd.read_csv(tmp_path / "rail_diagnostics.csv").set_index("item")["value"]["notes"]
    assert "profile limit not found (simulated failure)" in notes
