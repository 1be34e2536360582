from trialanalysis.steps.io import logged
from trialanalysis.steps.model_checks import betterback_model_checks_step

with logged(snakemake.log[0]):
    betterback_model_checks_step(
        snakemake.params.config,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        settings=snakemake.params.settings,
    )
