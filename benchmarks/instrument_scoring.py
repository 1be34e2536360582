"""Time scoring and psychometrics of all patient instruments on 100 000 rows.

Run: ``python benchmarks/instrument_scoring.py`` from the repository root.
Reports seconds and ratios against reference runs in the same process:
scoring against plain pandas row sums of every score's items (the least
work any scorer must do), and Cronbach's alpha against pingouin's
``cronbach_alpha`` on the same item sets. Asserts nothing (see engineering.md).
"""

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg

from trialanalysis.instruments import load_instruments
from trialanalysis.instruments.psychometrics import psychometrics_table
from trialanalysis.instruments.scoring import score_table

ROWS = 100_000
NAMES = ["odi", "nrs", "eq5d", "startback", "pei", "bipq", "hads", "tsk", "fabq"]


def simulated_items(instruments, rng):
    columns = {}
    for instrument in instruments:
        for item, column in instrument.item_columns.items():
            scale = instrument.scale_of(item)
            values = rng.integers(int(scale.min), int(scale.max) + 1, ROWS).astype(float)
            values[rng.random(ROWS) < 0.03] = np.nan
            columns[column] = values
    timepoints = np.repeat(["baseline", "3m", "6m", "12m"], ROWS // 4)
    return pd.DataFrame({"timepoint": timepoints, **columns})


def main():
    root = Path(__file__).resolve().parents[1]
    definitions = load_instruments(root / "config" / "instruments")
    instruments = [definitions[n] for n in NAMES]
    data = simulated_items(instruments, np.random.default_rng(2024))
    start = time.perf_counter()
    score_table(data, instruments)
    scoring = time.perf_counter() - start
    start = time.perf_counter()
    for instrument in instruments:
        for score in instrument.scores.values():
            columns = [instrument.item_columns[i] for i in score.items]
            data[columns].sum(axis=1, min_count=1)
    plain_sums = time.perf_counter() - start
    start = time.perf_counter()
    psychometrics_table(data, instruments, by="timepoint")
    psychometrics = time.perf_counter() - start
    start = time.perf_counter()
    for _, group in data.groupby("timepoint"):
        for instrument in instruments:
            for score in instrument.scores.values():
                if len(score.items) > 1:
                    columns = [instrument.item_columns[i] for i in score.items]
                    pg.cronbach_alpha(group[columns].dropna())
    alpha_reference = time.perf_counter() - start
    items = sum(len(i.item_columns) for i in instruments)
    print(f"{ROWS} rows x {len(instruments)} instruments ({items} items)")
    print(f"scoring:       {scoring:.2f} s ({ROWS / scoring:,.0f} rows/s)")
    print(f"  ratio to plain pandas row sums: {scoring / plain_sums:.1f}")
    print(f"psychometrics: {psychometrics:.2f} s (4 time points; alpha, CI, omega, items)")
    print(f"  ratio to pingouin alpha only:   {psychometrics / alpha_reference:.1f}")


if __name__ == "__main__":
    main()
