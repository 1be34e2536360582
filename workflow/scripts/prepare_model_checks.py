from trialanalysis.steps.io import logged
from trialanalysis.steps.model_checks import prepare_model_checks_step

with logged(snakemake.log[0]):
    inputs = {k: v for k, v in snakemake.input.items() if k != "instruments"}
    outputs = {k: v for k, v in snakemake.output.items() if k != "png"}
    prepare_model_checks_step(snakemake.params.config, inputs, outputs)
