from trialanalysis.steps.io import logged
from trialanalysis.steps.shared import design_figure_step

with logged(snakemake.log[0]):
    design_figure_step(
        snakemake.input.schedule,
        snakemake.input.clinics,
        snakemake.output.svg,
        snakemake.output.fragment,
    )
