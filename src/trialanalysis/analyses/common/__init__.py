"""Code shared by the trial analyses.

- :mod:`.fits`: fitting with recorded warnings, diagnostics rows, multiplicity adjustment
- :mod:`.tables`: column labels, suppression settings and manuscript tables
- :mod:`.text`: wording shared by the report text of both trials
- :mod:`.settings`: read-only (frozen) settings
"""
