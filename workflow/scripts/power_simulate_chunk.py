from trialanalysis.steps.io import logged
from trialanalysis.steps.power import power_simulate_chunk_step

with logged(snakemake.log[0]):
    power_simulate_chunk_step(
        snakemake.input[0],
        snakemake.wildcards.scenario,
        int(snakemake.wildcards.chunk),
        snakemake.params.chunk_size,
        snakemake.output[0],
    )
