from trialanalysis.steps.io import logged
from trialanalysis.steps.shared import harms_step

with logged(snakemake.log[0]):
    harms_step(
        snakemake.params.config,
        snakemake.wildcards.trial,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
    )
