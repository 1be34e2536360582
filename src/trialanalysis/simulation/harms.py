"""Simulated adverse events (harms, CONSORT item 19) of either trial.

Events per patient are Poisson with a rate per arm or condition, dated
uniformly within ``days`` of the patient's start date (enrolment or
randomisation); each event is serious and related to the treatment with a
probability per group, and falls in a MedDRA-style category (system organ
class) drawn from ``categories``. The free-text description is a fixed
phrase of its category, so the example data hold a realistic free-text
column that the privacy guard scans and validation drops, and that no result
can contain.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

#: One neutral phrase per category (no people, places or dates).
DESCRIPTIONS = {
    "musculoskeletal": "Increased back pain after exercise session",
    "nervous_system": "Transient leg numbness",
    "injury": "Fall at home, bruising",
    "cardiovascular": "Dizziness during exercise",
    "infection": "Respiratory infection",
    "surgical": "Wound complication after surgery",
    "other": "Other complaint reported at visit",
}
COLUMNS = ["event_id", "patient_id", "event_date", "description", "serious", "related", "category"]


def simulate_adverse_events(
    patients: pd.DataFrame,
    spec: Mapping,
    group: str,
    start: str,
    prefix: str,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw the adverse events of one trial's patients.

    Parameters
    ----------
    patients : DataFrame
        The simulated patients (``patient_id``, the ``group`` and ``start`` columns).
    spec : mapping
        ``rate``, ``serious`` and ``related`` (each a mapping group -> value:
        events per patient, and probabilities), ``categories`` (category ->
        probability) and ``days`` (follow-up window).
    group, start : str
        Columns of the arm/condition and of the start date (``YYYY-MM-DD``).
    prefix : str
        Event ids are ``<prefix>0001``, ...
    rng : numpy.random.Generator
        A stream of its own, so the other tables do not change.

    Returns
    -------
    DataFrame
        Columns :data:`COLUMNS`, sorted by patient and date; ``serious`` and
        ``related`` are ``yes``/``no``.
    """
    groups = patients[group].astype(str).to_numpy()
    rates = np.array([spec["rate"][g] for g in groups], dtype=float)
    counts = rng.poisson(rates)
    owner = np.repeat(np.arange(len(patients)), counts)
    n = len(owner)
    categories = list(spec["categories"])
    weights = np.array([spec["categories"][c] for c in categories], dtype=float)
    category = rng.choice(categories, size=n, p=weights / weights.sum())
    serious = rng.random(n) < np.array([spec["serious"][groups[i]] for i in owner])
    related = rng.random(n) < np.array([spec["related"][groups[i]] for i in owner])
    offset = rng.integers(1, spec["days"] + 1, size=n)
    started = pd.to_datetime(patients[start].to_numpy()[owner])
    events = pd.DataFrame(
        {
            "patient_id": patients["patient_id"].to_numpy()[owner],
            "event_date": (started + pd.to_timedelta(offset, unit="D")).strftime("%Y-%m-%d"),
            "description": [DESCRIPTIONS.get(c, DESCRIPTIONS["other"]) for c in category],
            "serious": np.where(serious, "yes", "no"),
            "related": np.where(related, "yes", "no"),
            "category": category,
        }
    )
    events = events.sort_values(["patient_id", "event_date"], kind="stable")
    events.insert(0, "event_id", [f"{prefix}{i + 1:04d}" for i in range(n)])
    return events[COLUMNS].reset_index(drop=True)
