from trialanalysis.steps.io import logged
from trialanalysis.steps.missing_data import betterback_missing_data_step

with logged(snakemake.log[0]):
    betterback_missing_data_step(
        snakemake.params.config,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        settings=snakemake.params.settings,
    )
