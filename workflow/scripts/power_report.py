from trialanalysis.steps.io import logged
from trialanalysis.steps.power import power_report_step

with logged(snakemake.log[0]):
    power_report_step(
        snakemake.params.config,
        snakemake.params.settings,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
    )
