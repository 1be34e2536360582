"""Write the small repeated-measures data set behind prepare_lmm_golden.csv (run once).

Usage: python make_prepare_lmm_data.py  (then Rscript prepare_lmm_golden.R)
"""

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261126)
n = 48
treatment = np.repeat([0, 1], n // 2)
sex = rng.choice(["female", "male"], n)
patient = rng.normal(0, 5, n)
baseline = 40 + patient + rng.normal(0, 4, n)
rows = []
for i in range(n):
    rows.append((f"P{i:02d}", "baseline", baseline[i]))
    for t, shift, effect in (("post", 0.0, -4.0), ("3m", -15.0, -2.0), ("12m", -18.0, -1.0)):
        y = 0.6 * baseline[i] + 16 + shift + effect * treatment[i] + 0.5 * patient[i]
        rows.append((f"P{i:02d}", t, y + rng.normal(0, 5) + (1.5 if sex[i] == "male" else 0)))
long = pd.DataFrame(rows, columns=["patient_id", "timepoint", "y"])
long["arm"] = long["patient_id"].map(
    dict(
        zip(
            [f"P{i:02d}" for i in range(n)],
            np.where(treatment == 1, "treated", "control"),
            strict=True,
        )
    )
)
long["sex"] = long["patient_id"].map(dict(zip([f"P{i:02d}" for i in range(n)], sex, strict=True)))
drop = rng.random(len(long)) < 0.12
drop &= long["timepoint"].to_numpy() != "baseline"
drop[:4] = False
long.loc[drop, "y"] = np.nan
long.loc[long.index[8], "y"] = np.nan  # one missing baseline value
long["y"] = long["y"].round(2)
long.to_csv("prepare_lmm_data.csv", index=False, lineterminator="\n")
