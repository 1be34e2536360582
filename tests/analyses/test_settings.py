"""Analysis settings resolved before any job runs: every problem, named by its key."""

import copy

import pytest

from trialanalysis.analyses.betterback.settings import resolve_betterback
from trialanalysis.analyses.prepare.settings import resolve_prepare
from trialanalysis.analyses.settings import resolve_analyses
from trialanalysis.config import load_config
from trialanalysis.errors import ConfigError
from trialanalysis.instruments.definitions import instruments_path, load_instruments


@pytest.fixture(scope="module")
def config():
    loaded = load_config("config/config.yaml")
    loaded["instruments_dir"] = str(instruments_path(loaded["instruments_dir"]))
    return loaded


@pytest.fixture(scope="module")
def instruments(config):
    return load_instruments(config["instruments_dir"])


def changed(config, trial, edit):
    new = copy.deepcopy(config)
    edit(new[trial]["analyses"])
    return new


def test_the_default_config_resolves_to_read_only_settings(config, instruments):
    settings = resolve_analyses(config, instruments)
    assert settings.betterback.patient_timepoints == ("baseline", "3m", "6m", "12m")
    assert settings.betterback.patients["outcomes"][0]["score"] == "nrs_back"
    assert settings.prepare.analyses["primary_outcome"] == "odi_total"
    with pytest.raises(TypeError):
        settings.betterback.patients["df_method"] = "residual"
    with pytest.raises(AttributeError):
        settings.prepare.analyses["outcomes"].append("x")


def test_every_betterback_problem_is_listed_with_its_key(config, instruments):
    def edit(analyses):
        analyses["patients"]["outcomes"][1]["score"] = "nrs_lge"
        analyses["patients"]["primary_timepoint"] = "24m"
        analyses["patients"]["random_effects"] = ["(1 | )"]
        analyses["therapists"]["scores"] = ["pcs_totl"]
        analyses["therapists"]["associations"]["timepoint"] = "24m"
        analyses["therapists"]["domains_instrument"] = "dibqq"
        analyses["table1"]["patient_baseline_scores"] = ["odi"]
        analyses["binary"]["responders"][0]["timepoint"] = "9m"
        analyses["sensitivity"]["outcomes"] = ["eq5d"]

    with pytest.raises(ConfigError) as error:
        resolve_betterback(changed(config, "betterback", edit), instruments)
    message = str(error.value)
    for expected in (
        "betterback.analyses.patients.outcomes: unknown ['nrs_lge']",
        "betterback.analyses.patients.primary_timepoint: '24m' is not among",
        "betterback.analyses.patients.random_effects: cannot read the random terms",
        "betterback.analyses.therapists.scores: unknown ['pcs_totl']",
        "betterback.analyses.therapists.associations.timepoint: unknown ['24m']",
        "betterback.analyses.therapists.domains_instrument: no instrument 'dibqq'",
        "betterback.analyses.table1.patient_baseline_scores: unknown ['odi']",
        "betterback.analyses.binary.responders[0].timepoint: unknown ['9m']",
        "betterback.analyses.sensitivity.outcomes: unknown ['eq5d']",
    ):
        assert expected in message
    assert len(message.splitlines()) == 10  # the heading and one line per problem


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda a: a["patients"].update(model="repeated"), 'needs "(1 | patient_id)"'),
        (
            lambda a: a["patients"].update(random_effects=["(1 | clinic_id)", "(1 | patient_id)"]),
            "has a patient term, but with model: per_timepoint",
        ),
        (lambda a: a["patients"].update(timepoints=["3m", "9m"]), "unknown ['9m']"),
        (
            lambda a: a["patients"]["outcomes"].append({"score": "odi_total"}),
            "an outcome is listed twice",
        ),
    ],
)
def test_betterback_design_mistakes(config, instruments, edit, message):
    with pytest.raises(ConfigError) as error:
        resolve_betterback(changed(config, "betterback", edit), instruments)
    assert message in str(error.value)


def test_every_prepare_problem_is_listed_with_its_key(config, instruments):
    def edit(analyses):
        analyses["outcomes"] = ["odi_total", "odi_totl"]
        analyses["primary_timepoint"] = "baseline"
        analyses["mediation"]["mediators"] = ["ses_total", "odi_total"]
        analyses["mediation"]["from_timepoint"] = "3m"
        analyses["mediation"]["to_timepoint"] = "post_intervention"
        analyses["mixed_model"]["df_method"] = "between-within"
        analyses["multiple_imputation"]["outcomes"] = ["vas_back"]
        analyses["dose"]["timepoints"] = ["6m"]

    with pytest.raises(ConfigError) as error:
        resolve_prepare(changed(config, "prepare", edit), instruments)
    message = str(error.value)
    for expected in (
        "prepare.analyses.outcomes: unknown ['odi_totl']",
        "prepare.analyses.primary_timepoint: time point 'baseline' is not one of",
        "prepare.analyses.mediation: ['odi_total'] cannot be both mediator and outcome",
        "prepare.analyses.mediation: to_timepoint must come after from_timepoint",
        "prepare.analyses.mixed_model.df_method between-within is defined for random_intercept",
        "prepare.analyses.multiple_imputation.outcomes ['vas_back'] must also be in",
        "prepare.analyses.dose.timepoints: time point '6m' is not one of",
    ):
        assert expected in message


def test_both_trials_problems_are_reported_together(config, instruments):
    bad = changed(config, "betterback", lambda a: a["sensitivity"].update(outcomes=["x"]))
    bad = changed(bad, "prepare", lambda a: a.update(primary_outcome="y"))
    with pytest.raises(ConfigError) as error:
        resolve_analyses(bad, instruments)
    assert "betterback.analyses.sensitivity.outcomes" in str(error.value)
    assert "prepare.analyses.primary_outcome 'y'" in str(error.value)


def test_validate_command_checks_the_analysis_settings(tmp_path, config, capsys):
    import yaml

    from trialanalysis.cli.main import main

    raw = yaml.safe_load(open("config/config.yaml", encoding="utf-8"))
    raw["betterback"]["analyses"]["sensitivity"]["outcomes"] = ["odi_totl"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    assert main(["validate", "--config", str(path)]) == 2
    assert "betterback.analyses.sensitivity.outcomes: unknown ['odi_totl']" in (
        capsys.readouterr().err
    )


def test_df_policy_and_multiplicity_order_are_checked_before_any_job(config, instruments):
    def edit(analyses):
        analyses["patients"]["df_policy"] = "cluster-level"
        analyses["patients"]["model"] = "repeated"
        analyses["patients"]["random_effects"] = ["(1 | clinic_id)", "(1 | patient_id)"]
        analyses["patients"]["multiplicity"] = {"method": "hierarchical", "order": ["odi_total"]}

    with pytest.raises(ConfigError) as error:
        resolve_betterback(changed(config, "betterback", edit), instruments)
    message = str(error.value)
    assert "patients.df_policy: cluster-level needs model: per_timepoint" in message
    assert "patients.multiplicity.order: ['odi_total'] must list each primary outcome" in message


def test_resolved_settings_travel_to_the_jobs_unchanged(config, instruments):
    import pickle

    from trialanalysis.analyses.common.settings import FrozenMap, thaw

    settings = resolve_analyses(config, instruments)
    # Snakemake pickles a script's params: the round trip gives an equal object
    copied = pickle.loads(pickle.dumps(settings))
    assert copied == settings and copied is not settings
    assert isinstance(copied.betterback.patients, FrozenMap)
    # and reruns a job when the repr of its params changes: equal settings, equal repr
    again = resolve_analyses(copy.deepcopy(config), instruments)
    assert repr(again) == repr(settings)
    edited = changed(config, "betterback", lambda a: a["patients"].update(df_method="residual"))
    other = resolve_analyses(edited, instruments)
    assert other != settings and repr(other) != repr(settings)
    assert other.prepare == settings.prepare
    # a step gets plain copies of exactly the configured sections
    assert thaw(settings.betterback.patients) == config["betterback"]["analyses"]["patients"]
    assert thaw(settings.prepare.analyses) == config["prepare"]["analyses"]


def test_a_frozen_map_cannot_be_changed():
    from trialanalysis.analyses.common.settings import FrozenMap, freeze

    frozen = freeze({"a": [1, {"b": 2}]})
    assert frozen == {"a": (1, {"b": 2})} and frozen["a"][1] == FrozenMap({"b": 2})
    with pytest.raises(TypeError):
        frozen["a"] = 2
    with pytest.raises(AttributeError):
        frozen._items = {}
    assert hash(frozen) == hash(freeze({"a": [1, {"b": 2}]}))
