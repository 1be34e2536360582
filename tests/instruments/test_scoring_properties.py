"""Property tests: for any valid responses, scores stay in their possible range."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.instruments.helpers import CONFIG_DIR
from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.responses import keyed_items
from trialanalysis.instruments.scoring import score_instrument, score_range

INSTRUMENTS = load_instruments(CONFIG_DIR)
OPTION_SETS = [(name, {}) for name in INSTRUMENTS] + [
    ("eq5d", {"value_set": "se_experience_burstrom2014"}),
    ("eq5d", {"value_set": "se_experience_burstrom2014", "full_health": 1.0}),
    ("dibq", {"transform": "none"}),
    ("odi", {"max_missing": 3}),
]


def responses(instrument):
    """Rows of valid raw responses, each item missing now and then."""
    columns = []
    for item in instrument.item_columns:
        scale = instrument.scale_of(item)
        if scale.integer:
            value = st.integers(int(scale.min), int(scale.max)).map(float)
        else:
            value = st.floats(scale.min, scale.max, allow_nan=False)
        columns.append(st.one_of(st.just(np.nan), value, value, value))
    return st.lists(st.tuples(*columns), min_size=1, max_size=25)


@pytest.mark.parametrize(("name", "options"), OPTION_SETS, ids=lambda x: str(x))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scores_stay_within_their_possible_range(name, options, data):
    instrument = INSTRUMENTS[name]
    rows = data.draw(responses(instrument))
    table = pd.DataFrame(rows, columns=list(instrument.item_columns.values()))
    out = score_instrument(table, instrument, **options)
    keyed = keyed_items(table, instrument)
    max_missing_override = options.get("max_missing")

    for score in instrument.scores.values():
        low, high = score_range(instrument, score.name, options)
        value = out[score.column].to_numpy(dtype=float)
        finite = value[~np.isnan(value)]
        assert np.all(finite >= low - 1e-9) and np.all(finite <= high + 1e-9)

        items = keyed[[instrument.item_columns[i] for i in score.items]]
        missing = items.isna().sum(axis=1).to_numpy()
        allowed = 0 if score.method == "value_set" else score.max_missing
        if max_missing_override is not None and score.method != "value_set":
            allowed = max_missing_override
        expected_missing = (missing > allowed) | (missing == len(score.items))
        assert np.array_equal(np.isnan(value), expected_missing)
        if score.method == "sum" and score.transform == "none":
            complete = missing == 0
            assert np.allclose(value[complete], items[complete].sum(axis=1))

    for classification in instrument.classifications.values():
        column = out[classification.column]
        assert set(column.dropna()) <= set(column.cat.categories)
        if classification.breaks:
            source = out[instrument.scores[classification.score].column]
            assert column.isna().equals(source.isna())
