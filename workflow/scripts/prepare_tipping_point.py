from trialanalysis.steps.io import logged
from trialanalysis.steps.missing_data import prepare_tipping_point_step

with logged(snakemake.log[0]):
    prepare_tipping_point_step(
        snakemake.params.config,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        settings=snakemake.params.settings,
    )
