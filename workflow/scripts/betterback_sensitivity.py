from trialanalysis.analyses.betterback_patient_steps import sensitivity_step
from trialanalysis.pipeline import logged

with logged(snakemake.log[0]):
    inputs = {k: v for k, v in snakemake.input.items() if k != "instruments"}
    sensitivity_step(snakemake.params.config, inputs, dict(snakemake.output.items()))
