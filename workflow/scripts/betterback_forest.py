from trialanalysis.steps.betterback import betterback_forest_step
from trialanalysis.steps.io import logged

with logged(snakemake.log[0]):
    betterback_forest_step(
        snakemake.params.config,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        settings=snakemake.params.settings,
    )
