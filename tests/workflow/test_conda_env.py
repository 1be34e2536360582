"""workflow/envs/trialanalysis.yaml agrees with pyproject.toml and the rules (no conda needed).

With ``--software-deployment-method conda`` Snakemake copies the env file to
``.snakemake/conda/<hash>.yaml`` and creates the environment from the copy;
conda runs the pip section from the copy's folder. The relative
``-e ../..`` must therefore name the repository from both places.
"""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.specifiers import SpecifierSet

from tests.workflow.project import ROOT

ENV_FILE = ROOT / "workflow" / "envs" / "trialanalysis.yaml"


def env() -> dict:
    return yaml.safe_load(ENV_FILE.read_text("utf-8"))


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]


def pip_section(spec: dict) -> list[str]:
    sections = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1
    return sections[0]


def test_python_of_the_env_satisfies_requires_python():
    pinned = [d for d in env()["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert len(pinned) == 1
    version = re.fullmatch(r"python\s*=+\s*([\d.]+)", pinned[0]).group(1)
    assert SpecifierSet(project()["requires-python"]).contains(version + ".0")


def test_pip_installs_this_project_with_its_dependencies_from_both_places():
    spec = env()
    assert "pip" in spec["dependencies"] and "conda-forge" in spec["channels"]
    entries = pip_section(spec)
    assert len(entries) == 1, "the package's dependencies come from pyproject.toml alone"
    flag, path = entries[0].split()
    assert flag == "-e"
    for folder in (ENV_FILE.parent, ROOT / ".snakemake" / "conda"):
        target = (folder / path).resolve()
        assert target == ROOT
        assert tomllib.loads((target / "pyproject.toml").read_text())["project"]["name"] == (
            "trialanalysis"
        )


def test_every_rule_runs_in_the_env():
    rules = sorted((ROOT / "workflow" / "rules").glob("*.smk"))
    for rule_file in rules:
        text = rule_file.read_text("utf-8")
        n_rules = len(re.findall(r"^rule \w+:", text, flags=re.M))
        n_envs = text.count('conda:\n        "../envs/trialanalysis.yaml"')
        assert n_rules == n_envs, rule_file.name
        assert (rule_file.parent / "../envs/trialanalysis.yaml").resolve() == ENV_FILE


def test_every_rule_declares_threads_and_resources():
    for rule_file in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", rule_file.read_text("utf-8"), flags=re.M)[1:]:
            name = block.split(":", 1)[0]
            assert re.search(r"^    threads: \d+$", block, flags=re.M), name
            assert "mem_mb=memory_mb(" in block and "runtime=runtime_min(" in block, name


def test_slurm_extra_brings_the_executor_plugin_and_the_tests_use_it():
    extras = project()["optional-dependencies"]
    assert any(d.startswith("snakemake-executor-plugin-slurm") for d in extras["slurm"])
    assert "trialanalysis[slurm]" in extras["test"]
    assert Path(ROOT / "profiles" / "slurm" / "config.yaml").is_file()
