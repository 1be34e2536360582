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


def job_rules() -> list[tuple[str, str]]:
    """(name, text) of every rule that runs something (target rules only collect inputs)."""
    rules = []
    for rule_file in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^rule ", rule_file.read_text("utf-8"), flags=re.M)[1:]:
            if re.search(r"^    (script|shell|run|notebook|wrapper):", block, flags=re.M):
                rules.append((block.split(":", 1)[0], block))
    return rules


def test_every_rule_runs_in_the_env():
    rules = job_rules()
    assert len(rules) >= 17
    for name, block in rules:
        assert 'conda:\n        "../envs/trialanalysis.yaml"' in block, name
    assert (ROOT / "workflow" / "rules" / "../envs/trialanalysis.yaml").resolve() == ENV_FILE


def test_every_rule_declares_threads_and_resources():
    for name, block in job_rules():
        assert re.search(r"^    threads: \d+$", block, flags=re.M), name
        resources = re.search(r"^    resources:\n((?:        .*\n)+)", block, flags=re.M)
        assert resources, name
        assert {"mem_mb", "runtime"} <= set(re.findall(r"(\w+)=", resources.group(1))), name


def test_slurm_extra_brings_the_executor_plugin_and_the_tests_use_it():
    extras = project()["optional-dependencies"]
    assert any(d.startswith("snakemake-executor-plugin-slurm") for d in extras["slurm"])
    assert "trialanalysis[slurm]" in extras["test"]
    assert Path(ROOT / "profiles" / "slurm" / "config.yaml").is_file()
