"""Simulated BetterBack and PREPARE trials with known truth.

``simulate`` returns the raw tables and ``true_effects`` the truth;
``trialanalysis simulate`` (:mod:`trialanalysis.cli.simulate`) writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from trialanalysis.config import deep_merge, read_yaml
from trialanalysis.instruments.definitions import Instrument, load_instruments
from trialanalysis.simulation.betterback import simulate_betterback
from trialanalysis.simulation.checks import check_simulation_config
from trialanalysis.simulation.harms import simulate_adverse_events
from trialanalysis.simulation.prepare import simulate_prepare
from trialanalysis.simulation.screening import simulate_screening

__all__ = ["load_simulation_config", "simulate", "true_effects"]


def load_simulation_config(path: str | Path = "config/simulation.yaml") -> dict:
    """Read the simulation parameters from YAML, validated, with defaults filled in.

    Raises
    ------
    ConfigError
        Listing every problem with its key (see :mod:`.checks`).
    """
    return check_simulation_config(read_yaml(path, "simulation config"), source=str(path))


def simulate(
    config: Mapping | str | Path = "config/simulation.yaml",
    instruments: Mapping[str, Instrument] | str | Path = "config/instruments",
    seed: int | None = None,
    overrides: Mapping | None = None,
) -> dict[str, dict[str, pd.DataFrame]]:
    """Simulate both trials.

    Parameters
    ----------
    config : mapping or path
        Simulation parameters (``config/simulation.yaml``).
    instruments : mapping or path
        Instrument definitions or the folder that holds them.
    seed : int, optional
        Overrides ``config["seed"]``.
    overrides : mapping, optional
        Nested values merged into the config (e.g. ``{"prepare": {"patients": 2000}}``).

    Returns
    -------
    dict
        ``{"betterback": {table: DataFrame}, "prepare": {table: DataFrame}}``.
        Each trial draws from its own stream, so changing one trial's
        parameters leaves the other trial's data unchanged.
    """
    source = str(config) if isinstance(config, str | Path) else "simulation config"
    spec = read_yaml(config, "simulation config") if isinstance(config, str | Path) else config
    spec = check_simulation_config(deep_merge(spec, overrides or {}), source=source)
    if not isinstance(instruments, Mapping):
        instruments = load_instruments(instruments)
    seed = spec["seed"] if seed is None else seed
    # streams 0 and 1 are the trials' own (as before harms were added, so their
    # tables do not change); 2 and 3 draw their adverse events, 4 and 5 their
    # screening logs (spawned children do not depend on how many are spawned)
    streams = np.random.SeedSequence(seed).spawn(6)
    trials = {
        "betterback": simulate_betterback(
            spec["betterback"], instruments, np.random.default_rng(streams[0])
        ),
        "prepare": simulate_prepare(
            spec["prepare"], instruments, np.random.default_rng(streams[1])
        ),
    }
    harms = {
        "betterback": ("condition", "enrolment_date", "AE"),
        "prepare": ("arm", "randomisation_date", "PAE"),
    }
    for i, (trial, (group, start, prefix)) in enumerate(harms.items()):
        if "adverse_events" in spec[trial]:
            trials[trial]["adverse_events"] = simulate_adverse_events(
                trials[trial]["patients"],
                spec[trial]["adverse_events"],
                group,
                start,
                prefix,
                np.random.default_rng(streams[2 + i]),
            )
        if "screening" in spec[trial]:
            trials[trial]["screening"] = simulate_screening(
                trials[trial]["patients"],
                spec[trial]["screening"],
                start,
                {"AE": "S", "PAE": "PS"}[prefix],
                np.random.default_rng(streams[4 + i]),
            )
    return trials


def true_effects(config: Mapping | str | Path = "config/simulation.yaml") -> pd.DataFrame:
    """Tabulate the true effects that the analyses should recover.

    Returns
    -------
    DataFrame
        Columns ``trial, outcome, timepoint, effect, value``. For BetterBack
        the effect of the intervention condition on each score at each
        follow-up; for PREPARE the total effect of physiotherapy on the
        change to each time point, and after the intervention also the
        direct effect and the indirect effect through each mediator.
    """
    spec = load_simulation_config(config) if isinstance(config, str | Path) else config
    rows = []
    for column, s in spec["betterback"]["patient"]["scores"].items():
        for t, value in s.get("treatment_effect", {}).items():
            rows.append(("betterback", column, t, "treatment", value))
    for column, s in spec["betterback"]["care"].items():
        rows.append(("betterback", column, "", "log_odds_ratio", float(np.log(s["odds_ratio"]))))
    scores = {
        k: {**spec["prepare"]["defaults"], **v} for k, v in spec["prepare"]["scores"].items()
    }
    for column, s in scores.items():
        total = s["direct_effect"]
        for mediator, path in s.get("mediators", {}).items():
            indirect = path * scores[mediator]["direct_effect"]
            total += indirect
            rows.append(("prepare", column, "post_intervention", f"indirect_{mediator}", indirect))
        if s.get("mediators"):
            rows.append(("prepare", column, "post_intervention", "direct", s["direct_effect"]))
        rows.append(("prepare", column, "post_intervention", "treatment", total))
        for t, value in s["followup_effect"].items():
            rows.append(("prepare", column, t, "treatment", value))
    return pd.DataFrame(rows, columns=["trial", "outcome", "timepoint", "effect", "value"])
