rule harms:
    """Adverse events by arm or condition (CONSORT item 19), from the validated tables."""
    input:
        events="results/data/{trial}/adverse_events.csv",
        patients="results/data/{trial}/patients.csv",
        summary="results/validation/summary.csv",
    output:
        table="results/{trial}/harms/harms.csv",
        tables=directory("results/{trial}/tables/harms"),
        fragment="results/report/fragments/harms_{trial}.yaml",
    log:
        "results/logs/harms_{trial}.log",
    wildcard_constraints:
        trial="betterback|prepare",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(500, 20),
        runtime=runtime_min(5, 1),
    params:
        config={k: config[k] for k in ("prepare", "privacy", "reporting")},
    script:
        "../scripts/harms.py"
