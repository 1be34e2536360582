from trialanalysis.steps.betterback import inference_step
from trialanalysis.steps.io import logged

with logged(snakemake.log[0]):
    inputs = {k: v for k, v in snakemake.input.items() if k != "instruments"}
    inference_step(snakemake.params.config, inputs, dict(snakemake.output.items()))
