from trialanalysis.steps.io import logged
from trialanalysis.steps.missing_data import betterback_missing_data_step

with logged(snakemake.log[0]):
    inputs = {k: v for k, v in snakemake.input.items() if k != "instruments"}
    outputs = {k: v for k, v in snakemake.output.items() if k != "png"}
    betterback_missing_data_step(snakemake.params.config, inputs, outputs)
