from trialanalysis.steps.io import logged
from trialanalysis.steps.power import power_aggregate_step

with logged(snakemake.log[0]):
    power_aggregate_step(snakemake.input.scenarios[0], snakemake.input.chunks, snakemake.output[0])
