from trialanalysis.analyses.betterback_patient_steps import binary_step
from trialanalysis.pipeline import logged

with logged(snakemake.log[0]):
    inputs = {k: v for k, v in snakemake.input.items() if k != "instruments"}
    binary_step(snakemake.params.config, inputs, dict(snakemake.output.items()))
