"""Instrument definitions, scoring and psychometrics.

- :mod:`~trialanalysis.instruments.definitions`: YAML definitions -> :class:`Instrument`
- :mod:`~trialanalysis.instruments.scoring`: :func:`score_instrument`, :func:`score_table`
- :mod:`~trialanalysis.instruments.psychometrics`: reliability and item tables
"""

from trialanalysis.instruments.definitions import (
    Instrument,
    instrument_from_dict,
    load_instrument,
    load_instruments,
)
from trialanalysis.instruments.scoring import score_instrument, score_range, score_table

__all__ = [
    "Instrument",
    "instrument_from_dict",
    "load_instrument",
    "load_instruments",
    "score_instrument",
    "score_range",
    "score_table",
]
