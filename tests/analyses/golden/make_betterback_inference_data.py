"""Export the BetterBack example's primary analysis data at 3 months (run once).

Writes ``betterback_inference_data.csv``: one row per patient with the design
columns and, for each primary outcome, its change and baseline value, as the
workflow analyses them. ``betterback_inference_golden.R`` fits the
sensitivity set to it with lme4/lmerTest/pbkrtest.

Usage (from the repository root):
  PYTHONPATH=src python tests/analyses/golden/make_betterback_inference_data.py
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from tests.analyses.betterback_helpers import example_config, inputs_for  # noqa: E402
from trialanalysis.steps.betterback import _patient_results, betterback_patients_step  # noqa: E402

config = example_config()
inputs = inputs_for("patients", "clinics", "patient_scores")
settings, _, _, results = _patient_results(config, inputs, betterback_patients_step.files)
frames = []
for score in ("nrs_back", "nrs_leg", "odi_total"):
    data = results.data[score]
    data = data[data["timepoint"] == "3m"]
    keep = ["patient_id", "clinic_id", "cluster_id", "therapist_id", "period", "treatment"]
    frames.append(data.set_index(keep)[[f"{score}_change", f"{score}_baseline"]])
out = frames[0].join(frames[1:], how="outer").reset_index()
out.to_csv(
    Path(__file__).with_name("betterback_inference_data.csv"),
    index=False,
    lineterminator="\n",
    float_format="%.10g",
)
print(out.shape)
