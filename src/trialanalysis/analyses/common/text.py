"""Wording shared by the trial analyses' report text."""

#: How each degrees-of-freedom method is named in report text.
DF_TEXT = {
    "kenward-roger": "Kenward-Roger",
    "satterthwaite": "Satterthwaite",
    "between-within": "between-within",
    "residual": "residual",
    "z (asymptotic)": "normal (z)",
}
P_ADJUST_TEXT = {
    "holm": "Holm",
    "fdr": "Benjamini-Hochberg (false discovery rate)",
    "bonferroni": "Bonferroni",
    "none": "no",
}
