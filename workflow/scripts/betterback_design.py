from trialanalysis.steps.betterback import betterback_design_step
from trialanalysis.steps.io import logged

with logged(snakemake.log[0]):
    betterback_design_step(
        snakemake.input.schedule,
        snakemake.input.clinics,
        snakemake.output.svg,
        snakemake.output.fragment,
    )
