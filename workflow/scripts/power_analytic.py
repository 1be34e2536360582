from trialanalysis.pipeline import logged
from trialanalysis.power.steps import power_analytic_step

with logged(snakemake.log[0]):
    power_analytic_step(snakemake.input[0], snakemake.output[0])
