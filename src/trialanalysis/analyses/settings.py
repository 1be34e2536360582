"""The analysis settings of both trials, resolved once before any job runs.

The Snakefile calls :func:`resolve_analyses` right after validating the
config, so ``snakemake -n`` fails listing every bad setting of both trials;
``trialanalysis validate`` does the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from trialanalysis.analyses.betterback.settings import BetterBackSettings, resolve_betterback
from trialanalysis.analyses.prepare.settings import PrepareSettings, resolve_prepare
from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import Instrument, load_instruments


@dataclass(frozen=True)
class AnalysisSettings:
    """The checked analysis settings of both trials."""

    betterback: BetterBackSettings
    prepare: PrepareSettings


def resolve_analyses(
    config: Mapping, instruments: Mapping[str, Instrument] | None = None
) -> AnalysisSettings:
    """Resolve ``betterback.analyses`` and ``prepare.analyses``; report both trials' problems.

    Parameters
    ----------
    config : mapping
        The validated workflow config (defaults filled in, ``instruments_dir`` set).
    instruments : mapping of str to Instrument, optional
        The instrument definitions; default those in ``config["instruments_dir"]``.

    Raises
    ------
    ConfigError
        Listing every problem of both trials at once.
    """
    if instruments is None:
        instruments = load_instruments(config["instruments_dir"])
    resolved, problems = {}, []
    for trial, resolve in (("betterback", resolve_betterback), ("prepare", resolve_prepare)):
        try:
            resolved[trial] = resolve(config, instruments)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))
    return AnalysisSettings(**resolved)
