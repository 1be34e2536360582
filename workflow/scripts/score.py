from trialanalysis.steps.io import logged
from trialanalysis.steps.shared import score_step

with logged(snakemake.log[0]):
    score_step(
        snakemake.params.config,
        snakemake.wildcards.trial,
        snakemake.wildcards.table,
        snakemake.input.table,
        snakemake.output[0],
    )
