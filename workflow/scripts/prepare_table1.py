from trialanalysis.steps.io import logged
from trialanalysis.steps.prepare import prepare_table1_step

with logged(snakemake.log[0]):
    prepare_table1_step(
        snakemake.params.config,
        dict(snakemake.input.items()),
        dict(snakemake.output.items()),
        settings=snakemake.params.settings,
    )
