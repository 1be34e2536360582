"""Floor/ceiling shares counted by hand."""

import numpy as np
import pandas as pd

from trialanalysis.models.floor_ceiling import floor_ceiling_table


def test_shares_and_notes_by_hand():
    long = pd.DataFrame(
        {
            "timepoint": ["baseline"] * 5 + ["3m"] * 5,
            "odi": [0, 10, 20, 30, 40, 0, 0, 100, 12, np.nan],
        }
    )
    table = floor_ceiling_table(long, {"odi": (0.0, 100.0)}, ["baseline", "3m", "12m"], 15)
    base, three, twelve = table.to_dict("records")
    assert (base["n"], base["n_floor"], base["floor_pct"], base["ceiling_pct"]) == (5, 1, 20, 0)
    assert base["note"] == "floor 20.0% > 15%"
    assert (three["n"], three["floor_pct"], three["ceiling_pct"]) == (4, 50, 25)
    assert three["note"] == "floor 50.0% > 15%; ceiling 25.0% > 15%"
    assert twelve["n"] == 0 and np.isnan(twelve["floor_pct"]) and twelve["note"] == ""
    strict = floor_ceiling_table(long, {"odi": (0.0, 100.0)}, ["baseline"], 20)
    assert strict["note"].iloc[0] == ""  # 20% is not above 20%
