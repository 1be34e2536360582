from trialanalysis.steps.io import logged
from trialanalysis.steps.shared import consort_step

with logged(snakemake.log[0]):
    sources = dict(
        zip(map(tuple, snakemake.params.table_keys), snakemake.input.tables, strict=True)
    )
    consort_step(
        snakemake.params.config,
        sources,
        dict(snakemake.output.items()),
        snakemake.params.analysed,
        snakemake.params.scores,
        snakemake.input.responders,
    )
