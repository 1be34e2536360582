from trialanalysis.steps.io import logged
from trialanalysis.steps.shared import report_step

with logged(snakemake.log[0]):
    report_step(
        snakemake.params.config,
        list(snakemake.input.fragments),
        list(snakemake.input.data),
        snakemake.input.summary,
        snakemake.output[0],
        snakemake.params.started,
        snakemake.input.mapping,
    )
