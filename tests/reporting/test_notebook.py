"""The exploration notebook runs end to end on a small results folder built here."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
from nbclient import NotebookClient

from trialanalysis import fit_mixed

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "explore_results.ipynb"
FORMULA = "y ~ condition + C(period) + (1 | clinic_id) + (1 | clinic_id:patient_id)"


def small_results(folder: Path) -> None:
    """Two stored models and the data of the second, as the workflow would write them."""
    rng = np.random.default_rng(7)
    rows = []
    for clinic in range(10):
        shift = rng.normal(0, 2)
        for period in (1, 2):
            for patient in range(12):
                treated = int(period == 2 and clinic % 2 == 0)
                level = 20 + shift - 1.5 * (period == 2) - 3.0 * treated + rng.normal(0, 3)
                for _ in range(2):  # two follow-ups per patient
                    rows.append(
                        {
                            "clinic_id": f"C{clinic:02d}",
                            "patient_id": f"C{clinic:02d}P{period}{patient:02d}",
                            "period": period,
                            "condition": ["control", "intervention"][treated],
                            "y": level + rng.normal(0, 2),
                        }
                    )
    data = pd.DataFrame(rows)
    data.loc[3, "y"] = np.nan  # a missing outcome the refit must drop
    table = fit_mixed(data, FORMULA, df_method="kenward-roger").coefficients
    table.insert(0, "formula", FORMULA)
    table.insert(0, "model", "primary")
    decoy = table.assign(model="other", formula="z ~ 1 + (1 | g)", estimate=99.0)
    target = folder / "betterback" / "primary"
    target.mkdir(parents=True)
    pd.concat([decoy, table]).to_csv(target / "coefficients.csv", index=False)
    data.to_csv(target / "analysis_data.csv", index=False)


def stream_text(notebook) -> str:
    return "\n".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )


def test_stored_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs_on_a_results_folder(tmp_path, monkeypatch):
    results = tmp_path / "results"
    small_results(results)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source = (
        "from pathlib import Path\n"
        f"RESULTS_DIR = Path({str(results)!r})\n"
        'COEFFICIENTS = "betterback/primary/coefficients.csv"\n'
        'ANALYSIS_DATA = "betterback/primary/analysis_data.csv"\n'
        'MODEL = "primary"\n'
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "src"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    text = stream_text(notebook)
    assert f"formula: {FORMULA}" in text
    assert "479 of 480 rows used; df method: kenward-roger" in text
    difference = float(re.search(r"refit and stored estimates: (\S+)", text).group(1))
    assert difference < 1e-8
    # the inventory lists both CSV files of the results folder
    html = "\n".join(
        o.get("data", {}).get("text/html", "")
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "betterback/primary/coefficients.csv" in html
    assert "betterback/primary/analysis_data.csv" in html
