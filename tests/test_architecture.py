"""The layout the architecture document describes, checked.

Rule -> script -> step -> analysis -> models: every workflow script calls
exactly one ``<rule>_step``; each step declares the input and output names of
its rule; packages import each other without cycles; a trial's analyses never
import the other trial's; the analyses read and write no files through the
steps or the command line and take their statistics from ``models``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "trialanalysis"
SCRIPTS = ROOT / "workflow" / "scripts"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """The trialanalysis modules a file imports (``from a.b import c`` -> ``a.b.c`` or ``a.b``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = [f"{node.module}.{a.name}" for a in node.names]
            found |= {c for c in candidates if c in MODULES} or {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m.split(".")[0] == "trialanalysis"}


def package(module: str, depth: int = 2) -> str:
    return ".".join(module.split(".")[:depth])


@pytest.fixture(scope="module")
def rules():
    """Rule name -> (script file, input names, output names), from the parsed Snakefile."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ResourceSettings

    with SnakemakeApi() as api:
        workflow = api.workflow(
            resource_settings=ResourceSettings(), snakefile=ROOT / "Snakefile", workdir=ROOT
        )
        workflow.dag()  # parses the Snakefile and its rule files
        parsed = {}
        for rule in workflow._workflow.rules:
            if getattr(rule, "script", None):
                script = (Path(rule.snakefile).parent / rule.script).resolve()
                parsed[rule.name] = (script, list(rule.input._names), list(rule.output._names))
                PARAMS[rule.name] = dict(rule.params.items())
    return parsed


PARAMS: dict[str, dict] = {}  # rule name -> params, filled by the ``rules`` fixture


def step_calls(script: Path) -> list[tuple[str, str]]:
    """(module, function) of every ``*_step`` a workflow script calls."""
    tree = ast.parse(script.read_text("utf-8"))
    origin = {
        alias.asname or alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    return [
        (origin.get(node.func.id, ""), node.func.id)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.endswith("_step")
    ]


def test_every_script_calls_exactly_the_step_of_its_rule(rules):
    assert rules, "no rules with scripts were parsed"
    used = {script for script, _, _ in rules.values()}
    assert used == set(SCRIPTS.glob("*.py")), "scripts and rules do not match one to one"
    for name, (script, _, _) in rules.items():
        calls = step_calls(script)
        assert len(calls) == 1, (script.name, calls)
        module, function = calls[0]
        assert function == f"{name}_step", (script.name, function)
        assert module.startswith("trialanalysis.steps."), (script.name, module)
        assert callable(getattr(importlib.import_module(module), function))


def test_each_step_declares_the_input_and_output_names_of_its_rule(rules):
    for name, (script, inputs, outputs) in rules.items():
        module, function = step_calls(script)[0]
        step = getattr(importlib.import_module(module), function)
        assert list(step.files.inputs) == inputs, (name, "inputs")
        assert list(step.files.outputs) == outputs, (name, "outputs")
        assert set(step.files.folders) <= set(inputs), (name, "folders")


def test_scripts_pass_names_through_without_filtering():
    for script in SCRIPTS.glob("*.py"):
        text = script.read_text("utf-8")
        assert " if k " not in text and "not in (" not in text, script.name


def test_no_import_cycles_between_packages():
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        for target in imported_modules(path):
            if package(target) != package(module):
                graph.setdefault(package(module), set()).add(package(target))

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph.get(start, ()):
            if nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})):
                return True
        return False

    cycles = sorted(p for p in graph if reaches(p, p, {p}))
    assert not cycles, {p: sorted(graph[p]) for p in cycles}
    assert "trialanalysis.steps" not in graph["trialanalysis.ingest"]
    assert "trialanalysis.ingest" not in graph.get("trialanalysis.instruments", set())


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("trialanalysis.analyses.betterback", "trialanalysis.analyses.prepare"),
        ("trialanalysis.analyses.prepare", "trialanalysis.analyses.betterback"),
        ("trialanalysis.steps.betterback", "trialanalysis.analyses.prepare"),
        ("trialanalysis.steps.prepare", "trialanalysis.analyses.betterback"),
        ("trialanalysis.analyses.common", "trialanalysis.analyses.betterback"),
        ("trialanalysis.analyses.common", "trialanalysis.analyses.prepare"),
        ("trialanalysis.analyses", "trialanalysis.steps"),
        ("trialanalysis.analyses", "trialanalysis.cli"),
        ("trialanalysis.steps", "trialanalysis.cli"),
        ("trialanalysis.models", "trialanalysis.analyses"),
        ("trialanalysis.reporting", "trialanalysis.steps"),
    ],
)
def test_layers_import_downwards_only(layer, forbidden):
    wrong = sorted(
        (module, target)
        for module, path in MODULES.items()
        if module == layer or module.startswith(layer + ".")
        for target in imported_modules(path)
        if target == forbidden or target.startswith(forbidden + ".")
    )
    if layer == "trialanalysis.analyses" and forbidden != "trialanalysis.cli":
        # analyses/settings.py resolves both trials' settings for the Snakefile
        wrong = [w for w in wrong if w[0] != "trialanalysis.analyses.settings"]
    assert not wrong, wrong


def test_analyses_take_statistics_from_models_only():
    for module, path in MODULES.items():
        if not module.startswith("trialanalysis.analyses"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in ("statsmodels", "pingouin"), (module, name)


def test_one_csv_writer():
    writers = sorted(
        module_name(p) for p in SRC.rglob("*.py") if ".to_csv(" in p.read_text("utf-8")
    )
    assert writers == ["trialanalysis.steps.io"]


def test_old_module_paths_are_gone():
    for old in (
        "pipeline.py",
        "cli.py",
        "analyses/common.py",
        "analyses/betterback_steps.py",
        "analyses/betterback_patient_steps.py",
        "analyses/prepare_steps.py",
        "analyses/prepare_fragments.py",
        "analyses/prepare_settings.py",
        "power/steps.py",
        "power/command.py",
        "ingest/command.py",
        "instruments/files.py",
        "models/fit_files.py",
    ):
        assert not (SRC / old).exists(), old
    assert not list((SRC / "analyses").glob("betterback_*.py"))
    assert not list((SRC / "analyses").glob("prepare_*.py"))


BLOCK_KEYS = {
    "text": {"text"},
    "code": {"code", "caption", "language"},
    "table": {"table", "caption", "source", "rounding", "suppression", "labels", "columns",
              "notes", "provenance", "max_rows"},
    "figure": {"figure", "caption", "data", "provenance"},
}  # fmt: skip


def block_dicts(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Dict literals shaped like a report block or a fragment entry: (line, keys)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict) or not node.keys:
            continue
        if not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
            continue
        keys = {k.value for k in node.keys}
        kinds = [kind for kind in BLOCK_KEYS if kind in keys]
        entry = {"section", "blocks"} <= keys
        if entry or (len(kinds) == 1 and keys <= BLOCK_KEYS[kinds[0]]):
            found.append((node.lineno, sorted(keys)))
    return found


def test_the_check_finds_block_dicts():
    source = (
        'a = {"table": path, "caption": "x", "max_rows": 5}\n'
        'b = [{"section": "results", "title": "t", "blocks": [{"text": "x"}]}]\n'
        'c = {"trial": "betterback", "table": "patients"}\n'
    )
    assert [line for line, _ in block_dicts(ast.parse(source))] == [1, 2, 2]


def test_report_blocks_are_built_as_dataclasses_not_dicts():
    # sections.py reads plain dicts (user YAML) into the dataclasses and assemble.py
    # writes them out as YAML; everywhere else blocks and entries are dataclasses
    allowed = {"trialanalysis.reporting.sections", "trialanalysis.reporting.assemble"}
    offenders = {
        module: found
        for module, path in MODULES.items()
        if module not in allowed and (found := block_dicts(ast.parse(path.read_text("utf-8"))))
    }
    assert offenders == {}


def test_steps_get_the_settings_the_snakefile_resolved(rules):
    import inspect
    import pickle

    from trialanalysis.analyses.betterback.settings import BetterBackSettings
    from trialanalysis.analyses.prepare.settings import PrepareSettings

    taking = 0
    for name, (script, _, _) in rules.items():
        module, function = step_calls(script)[0]
        step = getattr(importlib.import_module(module), function)
        parameter = inspect.signature(step).parameters.get("settings")
        annotation = str(parameter.annotation) if parameter else ""
        if "BetterBackSettings" not in annotation and "PrepareSettings" not in annotation:
            continue
        taking += 1
        expected = BetterBackSettings if "BetterBack" in annotation else PrepareSettings
        settings = PARAMS[name]["settings"]
        assert isinstance(settings, expected), name
        assert "settings=snakemake.params.settings" in script.read_text("utf-8"), name
        # Snakemake pickles a script's params and reruns a job when their repr changes
        assert pickle.loads(pickle.dumps(settings)) == settings
        assert repr(pickle.loads(pickle.dumps(settings))) == repr(settings)
    assert taking == 17
