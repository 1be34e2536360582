"""The ``betterback.analyses`` config, resolved and checked before any job runs.

The config schema checks types and fills in defaults; what it cannot know is
whether the scores, time points and random terms a setting names exist in the
design and the instrument definitions. :func:`resolve_betterback` checks every
name that can be checked without the data and collects every problem into one
:class:`~trialanalysis.errors.ConfigError` naming the key, so ``snakemake -n``
fails on a misspelt outcome. Checks that need the data (covariate columns,
time points observed) stay in the analyses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from trialanalysis.analyses.common.fits import random_groups
from trialanalysis.analyses.common.settings import freeze, unknown_names
from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import Instrument, table_score_columns

KEY = "betterback.analyses"


@dataclass(frozen=True)
class BetterBackSettings:
    """The checked ``betterback`` analysis settings (read-only).

    Attributes
    ----------
    patient_timepoints, therapist_timepoints : tuple of str
        The design's time points, baseline first.
    table1, therapists, patients, binary, sensitivity, diagnostics : mapping
        The ``betterback.analyses`` sections, defaults filled in (frozen:
        :class:`~trialanalysis.analyses.common.settings.FrozenMap`, tuples).

    The settings pickle, so the Snakefile passes them to the jobs as
    ``params.settings``.
    """

    patient_timepoints: tuple[str, ...]
    therapist_timepoints: tuple[str, ...]
    table1: Mapping
    therapists: Mapping
    patients: Mapping
    binary: Mapping
    sensitivity: Mapping
    diagnostics: Mapping


def _unknown(key: str, values: Sequence[str], known: Sequence[str], what: str) -> list[str]:
    return unknown_names(f"{KEY}.{key}", values, known, what)


def _random_terms(key: str, terms: Sequence[str]) -> tuple[list[str], list[tuple[str, ...]]]:
    try:
        return [], random_groups(terms, f"{KEY}.{key}")
    except ConfigError as exc:
        return [str(exc)], []


def resolve_betterback(
    config: Mapping, instruments: Mapping[str, Instrument]
) -> BetterBackSettings:
    """Check ``betterback.analyses`` against the design and the instruments; return it frozen.

    Parameters
    ----------
    config : mapping
        The validated workflow config (defaults filled in).
    instruments : mapping of str to Instrument
        The instrument definitions (``instruments_dir``).

    Returns
    -------
    BetterBackSettings

    Raises
    ------
    ConfigError
        Listing every problem at once, each with its config key.
    """
    trial = config["betterback"]
    analyses = trial["analyses"]
    patient_times = list(trial["timepoints"]["patient"])
    therapist_times = list(trial["timepoints"]["therapist"])
    patient_scores = table_score_columns(instruments, trial, "patient_outcomes")
    therapist_scores = table_score_columns(instruments, trial, "therapist_responses")
    patient_what = "scores of betterback.instruments.patient_outcomes"
    therapist_what = "scores of betterback.instruments.therapist_responses"
    problems: list[str] = []

    table1 = analyses["table1"]
    problems += _unknown(
        "table1.patient_baseline_scores", table1["patient_baseline_scores"], patient_scores,
        patient_what,
    )  # fmt: skip
    problems += _unknown(
        "table1.therapist_baseline_scores", table1["therapist_baseline_scores"],
        therapist_scores, therapist_what,
    )  # fmt: skip

    therapists = analyses["therapists"]
    problems += _unknown(
        "therapists.scores", therapists["scores"], therapist_scores, therapist_what
    )
    domains = therapists["domains_instrument"]
    if domains and domains not in instruments:
        problems.append(
            f"{KEY}.therapists.domains_instrument: no instrument {domains!r} "
            f"({', '.join(sorted(instruments))})"
        )
    associations = therapists["associations"]
    problems += _unknown(
        "therapists.associations.outcomes", associations["outcomes"], therapist_scores,
        therapist_what,
    )  # fmt: skip
    problems += _unknown(
        "therapists.associations.timepoint", [associations["timepoint"]], therapist_times,
        "time points of betterback.timepoints.therapist",
    )  # fmt: skip
    for key, terms in (
        ("therapists.random_effects", therapists["random_effects"]),
        ("therapists.associations.random_effects", associations["random_effects"]),
    ):
        problems += _random_terms(key, terms)[0]

    patients = analyses["patients"]
    outcomes = [o["score"] for o in patients["outcomes"]]
    problems += _unknown("patients.outcomes", outcomes, patient_scores, patient_what)
    if len(set(outcomes)) < len(outcomes):
        problems.append(f"{KEY}.patients.outcomes: an outcome is listed twice: {outcomes}")
    follow_ups = patient_times[1:]
    problems += _unknown(
        "patients.timepoints", patients["timepoints"], follow_ups,
        "follow-ups of betterback.timepoints.patient",
    )  # fmt: skip
    if patients["primary_timepoint"] not in patients["timepoints"]:
        problems.append(
            f"{KEY}.patients.primary_timepoint: {patients['primary_timepoint']!r} is not among "
            f"{KEY}.patients.timepoints {list(patients['timepoints'])}"
        )
    terms_problems, groups = _random_terms("patients.random_effects", patients["random_effects"])
    problems += terms_problems
    patient_terms = [g for g in groups if "patient_id" in g]
    if not terms_problems and patients["model"] == "per_timepoint" and patient_terms:
        problems.append(
            f"{KEY}.patients.random_effects has a patient term, but with model: per_timepoint "
            "each patient has one row per model; use model: repeated or drop the patient term"
        )
    if not terms_problems and patients["model"] == "repeated" and not patient_terms:
        problems.append(
            f'{KEY}.patients.model: repeated needs "(1 | patient_id)" in random_effects'
        )
    if patients["df_policy"] == "cluster-level" and patients["model"] != "per_timepoint":
        problems.append(f"{KEY}.patients.df_policy: cluster-level needs model: per_timepoint")
    primary = [o["score"] for o in patients["outcomes"] if o.get("primary")]
    order = list(patients["multiplicity"]["order"])
    if order and sorted(order) != sorted(primary):
        problems.append(
            f"{KEY}.patients.multiplicity.order: {order} must list each primary outcome "
            f"exactly once: {primary}"
        )

    binary = analyses["binary"]
    for i, spec in enumerate(binary["responders"]):
        problems += _unknown(f"binary.responders[{i}].score", [spec["score"]], patient_scores,
                             patient_what)  # fmt: skip
        problems += _unknown(f"binary.responders[{i}].timepoint", [spec["timepoint"]],
                             follow_ups, "follow-ups of betterback.timepoints.patient",
                             )  # fmt: skip

    sensitivity = analyses["sensitivity"]
    problems += _unknown(
        "sensitivity.outcomes", sensitivity["outcomes"], outcomes,
        f"outcomes of {KEY}.patients.outcomes",
    )  # fmt: skip
    if sensitivity["multiple_imputation"]["m"] == 1:
        problems.append(
            f"{KEY}.sensitivity.multiple_imputation.m is 1: pooling needs at least 2 "
            "imputations (0 = no imputation analyses)"
        )

    if problems:
        raise ConfigError("the BetterBack analysis config has problems:\n" + "\n".join(problems))
    return BetterBackSettings(
        patient_timepoints=tuple(patient_times),
        therapist_timepoints=tuple(therapist_times),
        table1=freeze(table1),
        therapists=freeze(therapists),
        patients=freeze(patients),
        binary=freeze(binary),
        sensitivity=freeze(sensitivity),
        diagnostics=freeze(analyses["diagnostics"]),
    )
