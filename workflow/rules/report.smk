REPORT_FRAGMENTS.insert(0, "results/report/fragments/consort.yaml")


rule consort:
    """CONSORT flow counts and diagrams of both trials, from the validated data."""
    input:
        tables=[f"results/data/{t}/{n}.csv" for t, n in TABLES],
        analysed=list(ANALYSED.values()),
    output:
        betterback=report(
            "results/consort/betterback_flow.csv",
            caption="../report/consort.rst",
            category="CONSORT",
        ),
        prepare="results/consort/prepare_flow.csv",
        cluster_sizes="results/consort/cluster_sizes.csv",
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
        config={k: config[k] for k in ("betterback", "prepare", "privacy", "reporting")},
        table_keys=TABLES,
        analysed=ANALYSED,
    script:
        "../scripts/consort.py"


rule report:
    """The self-contained HTML report a reviewer reads."""
    input:
        fragments=REPORT_FRAGMENTS,
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
