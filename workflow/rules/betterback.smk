rule betterback_design:
    """Cluster x period schematic of the stepped (dog-leg) design."""
    input:
        schedule="results/data/betterback/schedule.csv",
        clinics="results/data/betterback/clinics.csv",
    output:
        svg=report(
            "results/figures/betterback_design.svg",
            caption="../report/betterback_design.rst",
            category="BetterBack",
        ),
        png="results/figures/betterback_design.png",
        fragment="results/report/fragments/betterback_design.yaml",
    log:
        "results/logs/betterback_design.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 0),
        runtime=runtime_min(10, 0),
    script:
        "../scripts/betterback_design.py"


# BetterBack analyses: each rule gets the config slices it needs and the
# resolved settings (SETTINGS.betterback), calls one step function of
# trialanalysis.steps and writes tidy CSV, manuscript tables (folder
# `tables`), figures and a report fragment.
BB_CONFIG = {
    k: config[k]
    for k in ("betterback", "reporting", "privacy", "seed", "instruments_dir")
}
BB_DATA = "results/data/betterback"
BB_SCORES = "results/scores/betterback"
BB = "results/betterback"


rule betterback_table1:
    """Baseline characteristics at clinic, therapist and patient level by condition."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        therapists=f"{BB_DATA}/therapists.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        therapist_scores=f"{BB_SCORES}/therapist_responses.csv",
        instruments=config["instruments_dir"],
    output:
        clinics=f"{BB}/table1/clinics.csv",
        therapists=f"{BB}/table1/therapists.csv",
        patients=report(
            f"{BB}/table1/patients.csv",
            caption="../report/betterback_table1.rst",
            category="BetterBack",
        ),
        tables=directory(f"{BB}/tables/table1"),
        fragment="results/report/fragments/betterback_table1.yaml",
    log:
        "results/logs/betterback_table1.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 50),
        runtime=runtime_min(10, 1),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_table1.py"


rule betterback_therapists:
    """Therapist cohort: published RM-ANOVA, mixed models, DIBQ associations."""
    input:
        therapists=f"{BB_DATA}/therapists.csv",
        therapist_scores=f"{BB_SCORES}/therapist_responses.csv",
        instruments=config["instruments_dir"],
    output:
        anova=f"{BB}/therapists/anova.csv",
        pairwise=f"{BB}/therapists/pairwise.csv",
        emmeans=f"{BB}/therapists/emmeans.csv",
        contrasts=report(
            f"{BB}/therapists/contrasts.csv",
            caption="../report/betterback_therapists.rst",
            category="BetterBack",
        ),
        associations=f"{BB}/therapists/associations.csv",
        diagnostics=f"{BB}/therapists/diagnostics.csv",
        trajectories_figure=report(
            "results/figures/betterback_therapist_trajectories.svg",
            caption="../report/betterback_therapist_trajectories.rst",
            category="BetterBack",
        ),
        trajectories_png="results/figures/betterback_therapist_trajectories.png",
        profile_figure=report(
            "results/figures/betterback_dibq_profile.svg",
            caption="../report/betterback_dibq_profile.rst",
            category="BetterBack",
        ),
        profile_png="results/figures/betterback_dibq_profile.png",
        tables=directory(f"{BB}/tables/therapists"),
        fragment="results/report/fragments/betterback_therapists.yaml",
    log:
        "results/logs/betterback_therapists.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 2),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_therapists.py"


rule betterback_patients:
    """Patient trial: Hussey & Hughes models, ICCs, clinic effects, trajectories."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        instruments=config["instruments_dir"],
    output:
        effects=report(
            f"{BB}/patients/effects.csv",
            caption="../report/betterback_effects.rst",
            category="BetterBack",
        ),
        coefficients=f"{BB}/patients/coefficients.csv",
        icc=report(
            f"{BB}/patients/icc.csv",
            caption="../report/betterback_icc.rst",
            category="BetterBack",
        ),
        variance_components=f"{BB}/patients/variance_components.csv",
        clinic_effects=f"{BB}/patients/clinic_effects.csv",
        trajectories=f"{BB}/patients/trajectories.csv",
        diagnostics=f"{BB}/patients/diagnostics.csv",
        primary_coefficients=f"{BB}/primary/coefficients.csv",
        primary_data=f"{BB}/primary/analysis_data.csv",
        analysed=f"{BB}/analysed_patients.csv",
        design_effects=f"{BB}/patients/design_effects.csv",
        trajectories_figure=report(
            "results/figures/betterback_trajectories.svg",
            caption="../report/betterback_trajectories.rst",
            category="BetterBack",
        ),
        trajectories_png="results/figures/betterback_trajectories.png",
        caterpillar_figure=report(
            "results/figures/betterback_caterpillar.svg",
            caption="../report/betterback_caterpillar.rst",
            category="BetterBack",
        ),
        caterpillar_png="results/figures/betterback_caterpillar.png",
        tables=directory(f"{BB}/tables/patients"),
        fragment="results/report/fragments/betterback_patients.yaml",
    log:
        "results/logs/betterback_patients.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 200),
        runtime=runtime_min(10, 5),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_patients.py"


rule betterback_binary:
    """Referrals, CPQI indicators and responders: GEE odds ratios and risk differences."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        care=f"{BB_DATA}/care.csv",
        care_scores=f"{BB_SCORES}/care.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        instruments=config["instruments_dir"],
    output:
        effects=report(
            f"{BB}/binary/effects.csv",
            caption="../report/betterback_binary.rst",
            category="BetterBack",
        ),
        coefficients=f"{BB}/binary/coefficients.csv",
        diagnostics=f"{BB}/binary/diagnostics.csv",
        tables=directory(f"{BB}/tables/binary"),
        fragment="results/report/fragments/betterback_binary.yaml",
    log:
        "results/logs/betterback_binary.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 100),
        runtime=runtime_min(10, 2),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_binary.py"


rule betterback_sensitivity:
    """Cluster-level analysis, randomization test, missing data, boundary refits."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        schedule=f"{BB_DATA}/schedule.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        instruments=config["instruments_dir"],
    output:
        table=report(
            f"{BB}/sensitivity/sensitivity.csv",
            caption="../report/betterback_sensitivity.rst",
            category="BetterBack",
        ),
        randomization=f"{BB}/sensitivity/randomization.csv",
        diagnostics=f"{BB}/sensitivity/diagnostics.csv",
        tables=directory(f"{BB}/tables/sensitivity"),
        fragment="results/report/fragments/betterback_sensitivity.yaml",
    log:
        "results/logs/betterback_sensitivity.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 200),
        runtime=runtime_min(10, 2),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_sensitivity.py"


rule betterback_inference:
    """What the effect rests on: cluster-period table, secular trend, design effect, sensitivity set."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        schedule=f"{BB_DATA}/schedule.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        instruments=config["instruments_dir"],
    output:
        inference=report(
            f"{BB}/inference/inference.csv",
            caption="../report/betterback_inference.rst",
            category="BetterBack",
        ),
        cluster_periods=report(
            f"{BB}/inference/cluster_periods.csv",
            caption="../report/betterback_cluster_periods.rst",
            category="BetterBack",
        ),
        period_means=f"{BB}/inference/period_means.csv",
        diagnostics=f"{BB}/inference/diagnostics.csv",
        period_figure=report(
            "results/figures/betterback_periods.svg",
            caption="../report/betterback_periods.rst",
            category="BetterBack",
        ),
        period_png="results/figures/betterback_periods.png",
        tables=directory(f"{BB}/tables/inference"),
        fragment="results/report/fragments/betterback_inference.yaml",
    log:
        "results/logs/betterback_inference.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 200),
        runtime=runtime_min(10, 3),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_inference.py"


rule betterback_forest:
    """Forest plot of every patient outcome (continuous and binary)."""
    input:
        effects=f"{BB}/patients/effects.csv",
        binary=f"{BB}/binary/effects.csv",
    output:
        figure=report(
            "results/figures/betterback_forest.svg",
            caption="../report/betterback_forest.rst",
            category="BetterBack",
        ),
        png="results/figures/betterback_forest.png",
        fragment="results/report/fragments/betterback_forest.yaml",
    log:
        "results/logs/betterback_forest.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 0),
        runtime=runtime_min(10, 0),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_forest.py"


rule betterback_missing_data:
    """Multiple imputation with earlier follow-ups, delta adjustment, completers."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        instruments=config["instruments_dir"],
    output:
        imputation=report(
            f"{BB}/missing_data/imputation.csv",
            caption="../report/betterback_missing_data.rst",
            category="BetterBack",
        ),
        delta_grid=f"{BB}/missing_data/delta_grid.csv",
        tipping=f"{BB}/missing_data/tipping.csv",
        completers=f"{BB}/missing_data/completers.csv",
        figure=report(
            "results/figures/betterback_tipping_point.svg",
            caption="../report/betterback_tipping_point.rst",
            category="BetterBack",
        ),
        png="results/figures/betterback_tipping_point.png",
        fragment="results/report/fragments/betterback_missing_data.yaml",
    log:
        "results/logs/betterback_missing_data.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1500, 300),
        runtime=runtime_min(30, 20),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_missing_data.py"


rule betterback_model_checks:
    """Residual and random-effect QQ plots, residuals vs fitted, floor and ceiling."""
    input:
        patients=f"{BB_DATA}/patients.csv",
        clinics=f"{BB_DATA}/clinics.csv",
        patient_scores=f"{BB_SCORES}/patient_outcomes.csv",
        instruments=config["instruments_dir"],
    output:
        residuals=f"{BB}/model_checks/residuals.csv",
        random_effects=f"{BB}/model_checks/random_effects.csv",
        floor_ceiling=report(
            f"{BB}/model_checks/floor_ceiling.csv",
            caption="../report/betterback_floor_ceiling.rst",
            category="BetterBack",
        ),
        figure=report(
            "results/figures/betterback_residuals.svg",
            caption="../report/betterback_residuals.rst",
            category="BetterBack",
        ),
        png="results/figures/betterback_residuals.png",
        fragment="results/report/fragments/betterback_model_checks.yaml",
    log:
        "results/logs/betterback_model_checks.log",
    conda:
        "../envs/trialanalysis.yaml"
    threads: 1
    resources:
        mem_mb=memory_mb(1000, 200),
        runtime=runtime_min(10, 5),
    params:
        config=BB_CONFIG,
        settings=SETTINGS.betterback,
    script:
        "../scripts/betterback_model_checks.py"
