# Design and power of the next trial, planned from this trial's results.
# The analytic grid runs in every run and feeds the report's "Design and
# power" section; the simulation grid (one job per scenario and chunk) runs
# with `snakemake power`, and in the default run when power.simulate is true.
from trialanalysis.steps.power import n_chunks, resolve_settings, scenario_ids

POWER = resolve_settings(config)
POWER_SCENARIOS = scenario_ids(POWER)
POWER_CHUNKS = list(range(n_chunks(POWER)))
PW = "results/power"
POWER_VARIANT = "simulation" if POWER["simulate"] else "analytic"


rule power_spec:
    """One power spec per scenario, from the primary model's variance components and the design."""
    input:
        variance_components=f"{BB}/patients/variance_components.csv",
        analysis_data=f"{BB}/primary/analysis_data.csv",
        schedule=f"{BB_DATA}/schedule.csv",
        clinics=f"{BB_DATA}/clinics.csv",
    output:
        f"{PW}/scenarios.yaml",
    log:
        "results/logs/power_spec.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        settings=POWER,
    script:
        "../scripts/power_spec.py"


rule power_analytic:
    """Analytic (GLS) power of every scenario and effect."""
    input:
        rules.power_spec.output,
    output:
        f"{PW}/analytic.csv",
    log:
        "results/logs/power_analytic.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/power_analytic.py"


rule power_simulate_chunk:
    """Simulate and analyse one chunk of one scenario (reproducible on its own)."""
    input:
        rules.power_spec.output,
    output:
        f"{PW}/chunks/{{scenario}}/{{chunk}}.csv",
    log:
        "results/logs/power/{scenario}_{chunk}.log",
    wildcard_constraints:
        scenario="[A-Za-z0-9_]+",
        chunk="[0-9]+",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        chunk_size=POWER["chunk_size"],
    script:
        "../scripts/power_simulate_chunk.py"


rule power_aggregate:
    """Power, type I error and coverage with Monte Carlo SEs from all chunks."""
    input:
        scenarios=rules.power_spec.output,
        chunks=expand(
            f"{PW}/chunks/{{scenario}}/{{chunk}}.csv",
            scenario=POWER_SCENARIOS,
            chunk=POWER_CHUNKS,
        ),
    output:
        f"{PW}/simulation.csv",
    log:
        "results/logs/power_aggregate.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/power_aggregate.py"


rule power_report:
    """Power table, power curves and the report's "Design and power" section."""
    input:
        scenarios=rules.power_spec.output[0],
        analytic=rules.power_analytic.output[0],
        simulation=branch(
            lambda w: w.variant == "simulation", then=rules.power_aggregate.output[0]
        ),
    output:
        table=f"{PW}/{{variant}}/power.csv",
        reference=f"{PW}/{{variant}}/power_reference.csv",
        tables=directory(f"{PW}/{{variant}}/tables"),
        figure=report(
            "results/figures/power_{variant}.svg",
            caption="../report/power.rst",
            category="Design and power",
        ),
        png="results/figures/power_{variant}.png",
        fragment="results/report/fragments/power_{variant}.yaml",
    log:
        "results/logs/power_report_{variant}.log",
    wildcard_constraints:
        variant="analytic|simulation",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config={k: config[k] for k in ("reporting", "privacy")},
        settings=POWER,
    script:
        "../scripts/power_report.py"


rule power:
    """Target: the analytic and simulation power grids with their table and figure."""
    input:
        rules.power_analytic.output,
        rules.power_aggregate.output,
        "results/report/fragments/power_simulation.yaml",
