from trialanalysis.steps.io import logged
from trialanalysis.steps.prepare import table1_step

with logged(snakemake.log[0]):
    inputs = {"patients": snakemake.input.patients, "outcomes": snakemake.input.outcomes}
    outputs = {"table": snakemake.output.tables[0], "fragment": snakemake.output.fragment}
    table1_step(snakemake.params.config, inputs, outputs)
