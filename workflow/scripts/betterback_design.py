from trialanalysis.pipeline import design_figure_step, logged

with logged(snakemake.log[0]):
    design_figure_step(
        snakemake.input.schedule,
        snakemake.input.clinics,
        snakemake.output.svg,
        snakemake.output.fragment,
    )
