rule validate:
    """Check every raw table against the data contract; write typed tables."""
    input:
        data=input_files(config),
        instruments=f"{config['instruments_dir']}",
    output:
        tables=[f"results/data/{t}/{n}.csv" for t, n in TABLES],
        summary=report(
            "results/validation/summary.csv",
            caption="../report/validation.rst",
            category="Provenance",
        ),
        mapping="results/validation/mapping.csv",
    log:
        "results/logs/validate.log",
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
                "data_dir",
                "instruments_dir",
                "input",
                "privacy",
                "betterback",
                "prepare",
            )
        },
        table_keys=TABLES,
    script:
        "../scripts/validate.py"
