from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config" / "instruments"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def items_frame(instrument, rows, index=None):
    """A table of item responses, one list per row, in item order."""
    return pd.DataFrame(rows, columns=list(instrument.item_columns.values()), index=index)
