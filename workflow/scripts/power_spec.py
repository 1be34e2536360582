from trialanalysis.steps.io import logged
from trialanalysis.steps.power import power_spec_step

with logged(snakemake.log[0]):
    power_spec_step(snakemake.params.settings, dict(snakemake.input.items()), snakemake.output[0])
