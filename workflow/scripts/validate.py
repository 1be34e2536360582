from trialanalysis.steps.io import logged
from trialanalysis.steps.shared import validate_step

with logged(snakemake.log[0]):
    outputs = dict(
        zip(map(tuple, snakemake.params.table_keys), snakemake.output.tables, strict=True)
    )
    validate_step(
        snakemake.params.config, outputs, snakemake.output.summary, snakemake.output.mapping
    )
