REPORT_FRAGMENTS.append("results/report/fragments/betterback_design.yaml")


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
    script:
        "../scripts/betterback_design.py"
