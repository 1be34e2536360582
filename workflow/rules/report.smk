rule consort:
    """CONSORT flow counts and diagrams of both trials, from the validated data."""
    input:
        tables=[f"results/data/{t}/{n}.csv" for t, n in TABLES],
        # the patients (patient_id, timepoint) of each trial's primary analysis,
        # so the diagrams show "analysed"
        analysed=[
            rules.betterback_patients.output.analysed,
            rules.prepare_effects.output.analysed,
        ],
        # the PREPARE responder analyses (analysed and unclassifiable per arm)
        responders=rules.prepare_responders.output.responders,
        # the scored questionnaires: why a patient was not analysed
        scores=[
            "results/scores/betterback/patient_outcomes.csv",
            "results/scores/prepare/outcomes.csv",
        ],
    output:
        betterback=report(
            "results/consort/betterback_flow.csv",
            caption="../report/consort.rst",
            category="CONSORT",
        ),
        prepare="results/consort/prepare_flow.csv",
        cluster_sizes="results/consort/cluster_sizes.csv",
        betterback_analysed="results/consort/betterback_analysed.csv",
        prepare_analysed="results/consort/prepare_analysed.csv",
        betterback_figure="results/consort/betterback_flow.svg",
        therapist_figure="results/consort/therapist_flow.svg",
        prepare_figure="results/consort/prepare_flow.svg",
        pngs=multiext(
            "results/consort/",
            *[f"{n}_flow.png" for n in ("betterback", "therapist", "prepare")],
        ),
        fragment="results/report/fragments/consort.yaml",
    log:
        "results/logs/consort.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 50),
        runtime=runtime_min(10, 1),
    params:
        config={
            k: config[k]
            for k in (
                "betterback",
                "prepare",
                "privacy",
                "reporting",
                "instruments_dir",
            )
        },
        table_keys=TABLES,
        analysed=lambda wildcards, input: dict(
            zip(("betterback", "prepare"), map(str, input.analysed), strict=True)
        ),
        scores=lambda wildcards, input: dict(
            zip(("betterback", "prepare"), map(str, input.scores), strict=True)
        ),
    script:
        "../scripts/consort.py"


rule report:
    """The self-contained HTML report a reviewer reads."""
    input:
        # the report fragment of every rule that writes one, in report order
        fragments=[
            rules.consort.output.fragment,
            rules.psychometrics.output.fragment,
            rules.betterback_design.output.fragment,
            rules.betterback_table1.output.fragment,
            rules.betterback_therapists.output.fragment,
            rules.betterback_patients.output.fragment,
            rules.betterback_binary.output.fragment,
            rules.betterback_sensitivity.output.fragment,
            rules.betterback_inference.output.fragment,
            rules.betterback_forest.output.fragment,
            rules.betterback_missing_data.output.fragment,
            rules.betterback_model_checks.output.fragment,
            rules.prepare_table1.output.fragment,
            rules.prepare_effects.output.fragment,
            rules.prepare_responders.output.fragment,
            rules.prepare_mediation.output.fragment,
            rules.prepare_missing_data.output.fragment,
            rules.prepare_tipping_point.output.fragment,
            rules.prepare_cace.output.fragment,
            rules.prepare_model_checks.output.fragment,
            *expand(rules.harms.output.fragment, trial=["betterback", "prepare"]),
            *expand(rules.power_report.output.fragment, variant=POWER_VARIANT),
        ],
        data=input_files(config),
        summary="results/validation/summary.csv",
        mapping="results/validation/mapping.csv",
    output:
        report(
            "results/report/report.html",
            caption="../report/report.rst",
            category="Report",
        ),
    log:
        "results/logs/report.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 20),
        runtime=runtime_min(10, 1),
    params:
        config=config,
        started=".snakemake/trialanalysis_run_started.txt",
    script:
        "../scripts/report.py"
