# PREPARE randomised trial: Table 1, repeated-measures mixed models and effect
# sizes, responders and dose, mediation, missing-data sensitivity analyses.
# Settings: prepare.analyses in config/config.yaml (described in the schema).

PREPARE_DATA = {
    "patients": "results/data/prepare/patients.csv",
    "outcomes": "results/scores/prepare/outcomes.csv",
}
PREPARE_CONFIG = {
    k: config[k] for k in ("prepare", "seed", "privacy", "reporting", "instruments_dir")
}
PREPARE_TABLE_FORMATS = sorted(set(config["reporting"]["tables"]["formats"]) | {"csv"})


rule prepare_table1:
    """PREPARE baseline characteristics by arm (no significance tests)."""
    input:
        **PREPARE_DATA,
        instruments=config["instruments_dir"],
    output:
        tables=report(
            multiext(
                "results/prepare/table1", *[f".{f}" for f in PREPARE_TABLE_FORMATS]
            ),
            caption="../report/prepare_table1.rst",
            category="PREPARE",
        ),
        fragment="results/report/fragments/prepare_table1.yaml",
    log:
        "results/logs/prepare_table1.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 50),
        runtime=runtime_min(10, 1),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_table1.py"


rule prepare_effects:
    """PREPARE mixed models per outcome: EMMs, between-arm differences, effect sizes."""
    input:
        **PREPARE_DATA,
        instruments=config["instruments_dir"],
    output:
        means="results/prepare/emmeans.csv",
        differences=report(
            "results/prepare/differences.csv",
            caption="../report/prepare_differences.rst",
            category="PREPARE",
        ),
        coefficients="results/prepare/coefficients.csv",
        ancova="results/prepare/ancova_check.csv",
        effect_sizes=report(
            "results/prepare/effect_sizes.csv",
            caption="../report/prepare_effect_sizes.rst",
            category="PREPARE",
        ),
        diagnostics="results/prepare/diagnostics.csv",
        analysed="results/prepare/analysed_patients.csv",
        trajectories=report(
            "results/prepare/trajectories.svg",
            caption="../report/prepare_trajectories.rst",
            category="PREPARE",
        ),
        forest=report(
            "results/prepare/forest.svg",
            caption="../report/prepare_forest.rst",
            category="PREPARE",
        ),
        pngs=multiext("results/prepare/", "trajectories.png", "forest.png"),
        fragment="results/report/fragments/prepare_effects.yaml",
    log:
        "results/logs/prepare_effects.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 5),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_effects.py"


rule prepare_responders:
    """PREPARE responders by arm; outcome by sessions attended (non-randomised)."""
    input:
        **PREPARE_DATA,
    output:
        responders=report(
            "results/prepare/responders.csv",
            caption="../report/prepare_responders.rst",
            category="PREPARE",
        ),
        dose=report(
            "results/prepare/dose.csv",
            caption="../report/prepare_dose.rst",
            category="PREPARE",
        ),
        fragment="results/report/fragments/prepare_responders.yaml",
    log:
        "results/logs/prepare_responders.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 50),
        runtime=runtime_min(10, 1),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_responders.py"


rule prepare_mediation:
    """PREPARE mediation through change in self-efficacy, depression, fear-avoidance."""
    input:
        **PREPARE_DATA,
        instruments=config["instruments_dir"],
    output:
        effects=report(
            "results/prepare/mediation_effects.csv",
            caption="../report/prepare_mediation.rst",
            category="PREPARE",
        ),
        paths="results/prepare/mediation_paths.csv",
        diagnostics="results/prepare/mediation_diagnostics.csv",
        diagram=report(
            "results/prepare/mediation_paths.svg",
            caption="../report/prepare_mediation_paths.rst",
            category="PREPARE",
        ),
        png="results/prepare/mediation_paths.png",
        fragment="results/report/fragments/prepare_mediation.yaml",
    log:
        "results/logs/prepare_mediation.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 2),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_mediation.py"


rule prepare_missing_data:
    """PREPARE missing data: likelihood-based, multiple imputation, complete cases."""
    input:
        **PREPARE_DATA,
    output:
        comparison=report(
            "results/prepare/missing_data.csv",
            caption="../report/prepare_missing_data.rst",
            category="PREPARE",
        ),
        imputations="results/prepare/imputation_estimates.csv",
        diagnostics="results/prepare/missing_data_diagnostics.csv",
        fragment="results/report/fragments/prepare_missing_data.yaml",
    log:
        "results/logs/prepare_missing_data.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 5),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_missing_data.py"


rule prepare_tipping_point:
    """PREPARE beyond MAR: delta-adjusted MI, tipping point, completers."""
    input:
        **PREPARE_DATA,
        instruments=config["instruments_dir"],
    output:
        tipping=report(
            "results/prepare/missing_data/tipping.csv",
            caption="../report/prepare_tipping_point.rst",
            category="PREPARE",
        ),
        delta_grid="results/prepare/missing_data/delta_grid.csv",
        completers="results/prepare/missing_data/completers.csv",
        figure="results/figures/prepare_tipping_point.svg",
        png="results/figures/prepare_tipping_point.png",
        fragment="results/report/fragments/prepare_tipping_point.yaml",
    log:
        "results/logs/prepare_tipping_point.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 5),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_tipping_point.py"


rule prepare_model_checks:
    """PREPARE primary model: residual QQ plot, residuals vs fitted, floor and ceiling."""
    input:
        **PREPARE_DATA,
        instruments=config["instruments_dir"],
    output:
        residuals="results/prepare/model_checks/residuals.csv",
        random_effects="results/prepare/model_checks/random_effects.csv",
        floor_ceiling=report(
            "results/prepare/model_checks/floor_ceiling.csv",
            caption="../report/prepare_floor_ceiling.rst",
            category="PREPARE",
        ),
        figure="results/figures/prepare_residuals.svg",
        png="results/figures/prepare_residuals.png",
        fragment="results/report/fragments/prepare_model_checks.yaml",
    log:
        "results/logs/prepare_model_checks.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 5),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_model_checks.py"


rule prepare_cace:
    """PREPARE adherence-adjusted effect (CACE, 2SLS) beside ITT and per protocol."""
    input:
        **PREPARE_DATA,
        instruments=config["instruments_dir"],
    output:
        table=report(
            "results/prepare/cace.csv",
            caption="../report/prepare_cace.rst",
            category="PREPARE",
        ),
        fragment="results/report/fragments/prepare_cace.yaml",
    log:
        "results/logs/prepare_cace.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 2),
    params:
        config=PREPARE_CONFIG,
        settings=SETTINGS.prepare,
    script:
        "../scripts/prepare_cace.py"
