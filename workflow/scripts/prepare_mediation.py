from trialanalysis.steps.io import logged
from trialanalysis.steps.prepare import mediation_step

with logged(snakemake.log[0]):
    inputs = {"patients": snakemake.input.patients, "outcomes": snakemake.input.outcomes}
    outputs = {k: v for k, v in snakemake.output.items() if k not in ("pngs", "png", "tables")}
    mediation_step(snakemake.params.config, inputs, outputs)
