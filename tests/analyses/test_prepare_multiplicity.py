"""PREPARE primary family: adjusted p-values and config checks."""

import numpy as np
import pandas as pd
import pytest

from trialanalysis.analyses.prepare.multiplicity import family_timepoints, primary_family_p
from trialanalysis.errors import ConfigError

FOLLOW_UPS = ["post_intervention", "3m", "12m", "24m"]


def settings(method="none", family=(), order=()):
    return {
        "primary_outcome": "odi_total",
        "primary_timepoint": "post_intervention",
        "multiplicity": {"method": method, "family": list(family), "order": list(order)},
    }


def differences():
    rows = [("odi_total", t, p) for t, p in zip(FOLLOW_UPS, [0.004, 0.03, 0.2, 0.01], strict=True)]
    rows.append(("vas_back", "post_intervention", 0.02))
    return pd.DataFrame(rows, columns=["outcome", "timepoint", "p_value"])


def test_default_family_of_one_keeps_the_raw_p():
    adjusted = primary_family_p(differences(), settings(), FOLLOW_UPS)
    np.testing.assert_allclose(adjusted, [0.004, np.nan, np.nan, np.nan, np.nan])


def test_holm_over_the_time_points_of_the_primary_outcome():
    adjusted = primary_family_p(differences(), settings("holm", FOLLOW_UPS), FOLLOW_UPS)
    # Holm by hand: sorted 0.004, 0.01, 0.03, 0.2 -> 0.016, 0.03, 0.06, 0.2
    np.testing.assert_allclose(adjusted[:4], [0.016, 0.06, 0.2, 0.03])
    assert np.isnan(adjusted[4])


def test_hierarchical_along_the_order():
    order = ["post_intervention", "24m", "3m", "12m"]
    adjusted = primary_family_p(
        differences(), settings("hierarchical", FOLLOW_UPS, order), FOLLOW_UPS
    )
    np.testing.assert_allclose(adjusted[:4], [0.004, 0.03, 0.2, 0.01])


def test_bad_family_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"prepare\.analyses\.multiplicity: family: '6m'"):
        family_timepoints(settings("holm", ["post_intervention", "6m"]), FOLLOW_UPS)
    with pytest.raises(ConfigError, match="must include the primary time point"):
        family_timepoints(settings("holm", ["3m", "12m"]), FOLLOW_UPS)
    with pytest.raises(ConfigError, match="order"):
        family_timepoints(
            settings("hierarchical", ["post_intervention", "3m"], ["3m"]), FOLLOW_UPS
        )
