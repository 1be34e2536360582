"""Instrument definitions, scoring and psychometrics."""

from trialanalysis.instruments.definitions import (
    Instrument,
    instrument_from_dict,
    load_instrument,
    load_instruments,
)

__all__ = ["Instrument", "instrument_from_dict", "load_instrument", "load_instruments"]
