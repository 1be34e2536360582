from trialanalysis.pipeline import logged, score_step

with logged(snakemake.log[0]):
    score_step(
        snakemake.params.config,
        snakemake.wildcards.trial,
        snakemake.wildcards.table,
        snakemake.input.table,
        snakemake.output[0],
    )
