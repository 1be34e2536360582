from trialanalysis.steps.io import logged
from trialanalysis.steps.power import power_analytic_step

with logged(snakemake.log[0]):
    power_analytic_step(snakemake.input[0], snakemake.output[0])
