rule score:
    """Score the instruments of one validated table from their YAML definitions."""
    input:
        table="results/data/{trial}/{table}.csv",
        instruments=config["instruments_dir"],
    output:
        "results/scores/{trial}/{table}.csv",
    log:
        "results/logs/score_{trial}_{table}.log",
    wildcard_constraints:
        trial="betterback|prepare",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 50),
        runtime=runtime_min(10, 1),
    params:
        config={
            k: config[k]
            for k in ("instruments_dir", "scoring", "betterback", "prepare")
        },
    script:
        "../scripts/score.py"


rule psychometrics:
    """Reliability, floor and ceiling effects per instrument, score and time point."""
    input:
        tables=[f"results/data/{t}/{n}.csv" for t, n in SCORED],
        instruments=config["instruments_dir"],
    output:
        scales=report(
            "results/tables/psychometrics.csv",
            caption="../report/psychometrics.rst",
            category="Instruments",
        ),
        item_statistics="results/tables/psychometrics_items.csv",
        unverified="results/tables/unverified_settings.csv",
        fragment="results/report/fragments/psychometrics.yaml",
    log:
        "results/logs/psychometrics.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 50),
        runtime=runtime_min(10, 1),
    params:
        config={
            k: config[k]
            for k in ("instruments_dir", "scoring", "betterback", "prepare")
        },
        table_keys=SCORED,
    script:
        "../scripts/psychometrics.py"
