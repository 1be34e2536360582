from trialanalysis.analyses.prepare_steps import mediation_step
from trialanalysis.pipeline import logged

with logged(snakemake.log[0]):
    inputs = {"patients": snakemake.input.patients, "outcomes": snakemake.input.outcomes}
    outputs = {k: v for k, v in snakemake.output.items() if k not in ("pngs", "png", "tables")}
    mediation_step(snakemake.params.config, inputs, outputs)
