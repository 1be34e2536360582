# trialanalysis: the BetterBack and PREPARE analysis workflow.
# Run `snakemake` from the repository root (the default profile in
# profiles/default uses all cores). Config: config/config.yaml,
# described key by key in src/trialanalysis/schemas/config.schema.yaml.

from pathlib import Path

from trialanalysis.analyses.settings import resolve_analyses
from trialanalysis.config import validate_config
from trialanalysis.instruments.definitions import instruments_path
from trialanalysis.steps.io import input_files, table_keys
from trialanalysis.resources import memory_mb, runtime_min


configfile: "config/config.yaml"


config.update(validate_config(config, source="config"))
config["instruments_dir"] = str(instruments_path(config["instruments_dir"]))
# Every analysis setting is checked here, so `snakemake -n` lists every bad one;
# the analysis rules pass SETTINGS.<trial> to their steps (params.settings).
SETTINGS = resolve_analyses(config)

TABLES = table_keys(config)
SCORED = [(t, n) for t, n in TABLES if config[t]["instruments"].get(n)]


onstart:
    from trialanalysis.reporting.provenance import run_stamp

    Path(".snakemake").mkdir(exist_ok=True)
    Path(".snakemake/trialanalysis_run_started.txt").write_text(run_stamp() + "\n")


report: "workflow/report/workflow.rst"


include: "workflow/rules/validate.smk"
include: "workflow/rules/instruments.smk"
include: "workflow/rules/betterback.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/power.smk"
include: "workflow/rules/harms.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/validation/summary.csv",
        expand("results/scores/{key}.csv", key=[f"{t}/{n}" for t, n in SCORED]),
        "results/tables/psychometrics.csv",
        "results/figures/betterback_design.svg",
        "results/report/report.html",
