"""The Snakemake workflow, end to end, in a temporary copy of the repository."""

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.workflow.project import copy_project, snakemake
from tests.workflow.publication import (
    analysed_mismatches,
    code_names_shown,
    numbering_problems,
    section_order,
    suppression_problems,
    table_captions,
)
from trialanalysis.reporting.labels import run_labels
from trialanalysis.reporting.report import REPORT_OUTLINE, strip_run_stamp

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("workflow"))
    run = snakemake(workdir)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


def test_full_run_writes_tables_figures_and_nothing_is_left_to_do(finished_run):
    results = finished_run / "results"
    summary = pd.read_csv(results / "validation" / "summary.csv")
    assert len(summary) == 13 and (summary["problems"] == 0).all()
    scores = pd.read_csv(results / "scores" / "betterback" / "patient_outcomes.csv")
    assert {"odi_total", "nrs_back", "eq5d_index", "startback_risk"} <= set(scores.columns)
    assert not any(c.startswith("odi_") and c[4:].isdigit() for c in scores.columns)
    assert (results / "figures" / "betterback_design.svg").stat().st_size > 1000
    assert (results / "tables" / "psychometrics.csv").exists()
    dry = snakemake(finished_run, "-n")
    assert dry.returncode == 0
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_betterback_analyses_reach_tables_figures_consort_and_report(finished_run):
    results = finished_run / "results"
    effects = pd.read_csv(results / "betterback" / "patients" / "effects.csv")
    primary = effects[effects["role"] == "primary"]
    assert set(primary["outcome"]) == {"nrs_back", "nrs_leg", "odi_total"}
    assert (primary["timepoint"] == "3m").all() and (primary["df_method"] == "kenward-roger").all()
    icc = pd.read_csv(results / "betterback" / "patients" / "icc.csv")
    assert set(icc["outcome"]) == set(primary["outcome"]) and icc["design_effect"].notna().any()
    randomization = pd.read_csv(results / "betterback" / "sensitivity" / "randomization.csv")
    assert (randomization["n_feasible"] == 1).all()
    for name in ("design", "trajectories", "forest", "therapist_trajectories", "dibq_profile",
                 "caterpillar"):  # fmt: skip
        for suffix in ("svg", "png"):
            assert (results / "figures" / f"betterback_{name}.{suffix}").stat().st_size > 1000
    for folder in ("table1", "therapists", "patients", "binary", "sensitivity"):
        assert any((results / "betterback" / "tables" / folder).glob("*.docx")), folder
    analysed = pd.read_csv(results / "betterback" / "analysed_patients.csv")
    consort = pd.read_csv(results / "consort" / "betterback_analysed.csv")
    odi = consort[(consort["outcome"] == "odi_total") & (consort["timepoint"] == "3m")]
    used = analysed[(analysed["outcome"] == "odi_total") & (analysed["timepoint"] == "3m")]
    assert odi["n_analysed"].sum() == used["patient_id"].nunique()
    report = (results / "report" / "report.html").read_text("utf-8")
    # a paper's order: methods, results (flow, baseline, outcomes, harms, sensitivity), appendix
    assert [s for s in section_order(report) if s in REPORT_OUTLINE] == list(REPORT_OUTLINE)
    assert numbering_problems(report) == []
    first = next(c for c in table_captions(report) if c.startswith("Table 1."))
    assert first.startswith("Table 1. BetterBack: patient characteristics at baseline")
    assert "Randomisation done by: not recorded in the configuration" in report
    assert "Randomization tests as computed" not in report  # reported in the text instead
    for title in (
        "BetterBack: primary outcomes",
        "BetterBack: therapist cohort (uncontrolled before–after)",
        "BetterBack: ICC, design effect",
        "BetterBack: sensitivity analyses",
        "BetterBack: baseline characteristics",
        "BetterBack: clinics",
        "BetterBack: patient models",
    ):
        assert title in report, title  # fmt: skip


def test_the_report_keeps_the_small_cell_rule_and_reports_harms(finished_run):
    results = finished_run / "results"
    html = (results / "report" / "report.html").read_text("utf-8")
    assert suppression_problems(html) == []
    assert "Harms (adverse events)" in html
    for trial, title in (("betterback", "BetterBack"), ("prepare", "PREPARE")):
        harms = pd.read_csv(results / trial / "harms" / "harms.csv")
        events = pd.read_csv(finished_run / "data" / "example" / trial / "adverse_events.csv")
        assert harms.loc[harms["row"] == "events"].filter(like="_n").sum(axis=1).iloc[0] == len(
            events
        )
        assert f"{title}: adverse events" in html
        # categories are reported, descriptions never
        assert not any(d in html for d in events["description"].unique())


def test_consort_counts_the_patients_each_model_used_and_the_report_shows_labels(finished_run):
    results = finished_run / "results"
    assert analysed_mismatches(results) == []
    for trial in ("betterback", "prepare"):
        counts = pd.read_csv(results / "consort" / f"{trial}_analysed.csv")
        parts = counts[["n_analysed", "n_no_follow_up", "n_no_baseline", "n_other"]].sum(axis=1)
        assert (parts == counts["n_allocated"]).all()
        assert counts["n_no_follow_up"].sum() > 0  # losses are counted with their reason
        flow = pd.read_csv(results / "consort" / f"{trial}_flow.csv")
        screening = pd.read_csv(finished_run / "data" / "example" / trial / "screening.csv")
        assessed = flow[(flow["level"] == "screened") & (flow["stage"] == "assessed")]
        assert assessed["n"].tolist() == [len(screening)]
    html = (results / "report" / "report.html").read_text("utf-8")
    labels = run_labels({"instruments_dir": str(finished_run / "config" / "instruments")})
    assert code_names_shown(html, labels) == []
    summary = html[html.index('id="summary"') : html.index('id="design"')]
    # the summary leads with the primary outcomes; the therapist cohort comes last
    assert summary.index("BetterBack: primary outcomes") < summary.index("Participants")
    assert summary.index("PREPARE: primary estimand") < summary.index("Participants")
    assert summary.index("Participants") < summary.index("uncontrolled before–after")
    assert "direction unverified" in summary
    outcomes = html[html.index('id="results"') :]
    assert outcomes.index("BetterBack: patient outcomes") < outcomes.index(
        "BetterBack: therapist cohort (uncontrolled before–after)"
    )


def test_prepare_analyses_recover_the_simulated_truth(finished_run):
    results = finished_run / "results"
    truth = pd.read_csv(finished_run / "data" / "example" / "truth.csv")
    truth = truth[truth["trial"] == "prepare"].set_index(["outcome", "timepoint", "effect"])
    differences = pd.read_csv(results / "prepare" / "differences.csv")
    primary = differences.set_index(["outcome", "timepoint"]).loc[
        ("odi_total", "post_intervention")
    ]
    true_effect = truth.loc[("odi_total", "post_intervention", "treatment"), "value"]
    assert primary["conf_low"] < true_effect < primary["conf_high"]
    mediation = pd.read_csv(results / "prepare" / "mediation_effects.csv")
    ses = mediation[
        (mediation["outcome"] == "odi_total")
        & (mediation["effect"] == "indirect")
        & (mediation["mediator"] == "ses_total")
    ].iloc[0]
    assert ses["conf_high"] < 0
    missing = pd.read_csv(results / "prepare" / "missing_data.csv")
    assert missing["analysis"].nunique() == 3
    for name in (
        "table1.html",
        "trajectories.svg",
        "forest.svg",
        "mediation_paths.svg",
        "responders.csv",
        "dose.csv",
        "effect_sizes.csv",
        "ancova_check.csv",
    ):
        assert (results / "prepare" / name).stat().st_size > 100, name
    counts = pd.read_csv(results / "consort" / "prepare_analysed.csv")
    analysed = counts[(counts["analysis"] == "mixed model") & (counts["outcome"] == "odi_total")]
    assert len(analysed) == 8 and (analysed["n_analysed"] > 0).all()  # 4 follow-ups x 2 arms
    assert counts["analysis"].str.startswith("responders").any()
    report = (results / "report" / "report.html").read_text()
    assert "PREPARE primary estimand" in report
    assert "no unmeasured confounding of the mediator-outcome relation" in report


def test_snakemake_report_has_a_caption_for_every_reported_output(finished_run, tmp_path):
    target = tmp_path / "snakemake_report.html"
    run = snakemake(finished_run, "--report", str(target))
    assert run.returncode == 0, run.stderr[-2000:]
    text = target.read_text("utf-8", errors="replace")
    captions = sorted((finished_run / "workflow" / "report").glob("*.rst"))
    assert len(captions) >= 5
    for caption in captions:
        if caption.name == "workflow.rst":
            continue
        first_words = " ".join(caption.read_text("utf-8").split()[:4])
        assert first_words in text, caption.name


def checksums(results: Path) -> dict[str, str]:
    """SHA-256 of every result file; the report is hashed without its run stamp."""
    sums = {}
    for path in sorted(p for p in results.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if path.suffix == ".html" and path.name == "report.html":
            data = strip_run_stamp(data.decode("utf-8")).encode("utf-8")
        sums[path.relative_to(results).as_posix()] = hashlib.sha256(data).hexdigest()
    return sums


def test_rerun_from_a_clean_state_is_byte_identical(finished_run):
    results = finished_run / "results"
    first = checksums(results)
    report = (results / "report" / "report.html").read_text("utf-8")
    assert "run-stamp:begin" in report
    shutil.rmtree(results)
    run = snakemake(finished_run)
    assert run.returncode == 0, run.stderr[-3000:]
    second = checksums(results)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
    # the run stamp itself did change, and is the only thing that did
    assert (results / "report" / "report.html").read_text("utf-8") != report


def test_bad_data_stop_the_workflow_with_located_problems_and_no_results(tmp_path):
    workdir = copy_project(tmp_path)
    patients = workdir / "data" / "example" / "betterback" / "patients.csv"
    lines = patients.read_text().splitlines()
    header = lines[0].split(",")
    fields = lines[3].split(",")
    fields[header.index("age")] = "240"
    lines[3] = ",".join(fields)
    patients.write_text("\n".join(lines) + "\n")
    run = snakemake(workdir)
    assert run.returncode != 0
    output = run.stdout + run.stderr
    assert f"{patients.relative_to(workdir)}:4:age:" in output
    assert not (workdir / "results" / "data").exists() or not any(
        (workdir / "results" / "data").rglob("*.csv")
    )
    assert not (workdir / "results" / "validation" / "summary.csv").exists()


def test_a_typo_in_the_config_names_the_key(tmp_path):
    workdir = copy_project(tmp_path)
    run = snakemake(workdir, "-n", "--config", "data_dri=elsewhere")
    assert run.returncode != 0
    assert "did you mean 'data_dir'" in run.stdout + run.stderr


def test_bad_analysis_settings_fail_the_dry_run_listing_every_key(tmp_path):
    import yaml

    workdir = copy_project(tmp_path)
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config["betterback"]["analyses"]["patients"]["outcomes"][0]["score"] = "nrs_bak"
    config["betterback"]["analyses"]["sensitivity"]["outcomes"] = ["odi_totl"]
    config["prepare"]["analyses"]["mediation"]["mediators"] = ["ses_totl"]
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    run = snakemake(workdir, "-n")
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "betterback.analyses.patients.outcomes: unknown ['nrs_bak']" in output
    assert "betterback.analyses.sensitivity.outcomes: unknown ['odi_totl']" in output
    assert "prepare.analyses.mediation.mediators: unknown ['ses_totl']" in output
    assert not (workdir / "results").exists()


def test_data_dir_points_the_workflow_at_other_data(tmp_path):
    workdir = copy_project(tmp_path)
    shutil.move(workdir / "data" / "example", workdir / "elsewhere")
    run = snakemake(workdir, "results/validation/summary.csv", "--config", "data_dir=elsewhere")
    assert run.returncode == 0, run.stderr[-2000:]
    summary = pd.read_csv(workdir / "results" / "validation" / "summary.csv")
    assert summary["file"].str.startswith("elsewhere/").all()


def test_default_run_plans_power_from_the_trial_and_reports_it(finished_run):
    results = finished_run / "results"
    analytic = pd.read_csv(results / "power" / "analytic.csv")
    observed = analytic[
        (analytic["scenario"] == "observed") & (analytic["method"] == "analytic-z")
    ]
    effects = pd.read_csv(results / "betterback" / "patients" / "effects.csv")
    fitted = effects[(effects["outcome"] == "odi_total") & (effects["timepoint"] == "3m")]
    # the GLS SE of the observed design at the estimated variance components is
    # the fitted model's SE up to its baseline covariate
    assert observed["se_effect"].iloc[0] == pytest.approx(fitted["std_error"].iloc[0], rel=0.05)
    assert observed["clinics"].iloc[0] == 17
    report = (results / "report" / "report.html").read_text("utf-8")
    assert "BetterBack: power of the design" in report and "not post-hoc power" in report
    # the power results are the report's sample-size section, under Methods
    order = section_order(report)
    assert order.index("methods") < order.index("sample_size") < order.index("findings")
    assert (results / "figures" / "power_analytic.svg").stat().st_size > 1000
    assert not (results / "power" / "simulation.csv").exists()


def test_snakemake_power_simulates_in_chunks_that_rerun_identically(finished_run, tmp_path):
    import yaml

    workdir = tmp_path / "power"
    shutil.copytree(finished_run, workdir, symlinks=True)
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text("utf-8"))
    config["power"].update(
        sims=4,
        chunk_size=2,
        scenarios={
            "clusters_per_sequence": [2],
            "individuals_per_cluster_period": [3],
            "effects": [-4.0],
            "iccs": ["observed"],
        },
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    run = snakemake(workdir, "power")
    assert run.returncode == 0, run.stderr[-3000:]
    results = workdir / "results" / "power"
    summary = pd.read_csv(results / "simulation.csv")
    assert set(summary["scenario"]) == {"observed", "s01"}
    assert (summary["n_sims"] == 4).all()
    assert {"power", "power_mc_se", "type1_error", "coverage", "n_failed"} <= set(summary)
    assert sorted(p.name for p in (results / "chunks" / "s01").glob("*.csv")) == ["0.csv", "1.csv"]
    assert (results / "simulation" / "tables" / "power.docx").exists()
    first = (results / "simulation.csv").read_bytes()
    (results / "chunks" / "s01" / "1.csv").unlink()
    rerun = snakemake(workdir, "power")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (results / "simulation.csv").read_bytes() == first


def test_beyond_mar_cace_and_model_checks_reach_the_report(finished_run):
    results = finished_run / "results"
    tipping = pd.read_csv(results / "betterback" / "missing_data" / "tipping.csv")
    assert set(tipping["outcome"]) == {"nrs_back", "nrs_leg", "odi_total"}
    imputation = pd.read_csv(results / "betterback" / "missing_data" / "imputation.csv")
    assert set(imputation["timepoint"]) == {"3m", "6m", "12m"}
    assert len(pd.read_csv(results / "prepare" / "missing_data" / "tipping.csv")) == 1
    cace = pd.read_csv(results / "prepare" / "cace.csv")
    assert [a.split(":")[0] for a in cace["analysis"]] == ["ITT", "CACE", "per protocol"]
    for name in ("betterback_tipping_point", "prepare_tipping_point", "betterback_residuals",
                 "prepare_residuals"):  # fmt: skip
        assert (results / "figures" / f"{name}.png").stat().st_size > 1000, name
    floor = pd.read_csv(results / "betterback" / "model_checks" / "floor_ceiling.csv")
    assert (floor["note"].fillna("") != "").any()
    report = (results / "report" / "report.html").read_text("utf-8")
    for title in (
        "BetterBack: missing data beyond MAR",
        "PREPARE: missing data beyond MAR",
        "PREPARE: adherence-adjusted effect (CACE)",
        "BetterBack: model checks",
        "PREPARE: model checks",
    ):
        assert title in report, title
    assert "intention to treat: all randomised patients with" in report
