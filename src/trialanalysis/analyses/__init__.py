"""Trial analyses: the config of one trial -> tidy result tables, figures and report fragments.

One module per trial and part (``prepare_*.py``, ``betterback_*.py``); the
statistics come from :mod:`trialanalysis.models`.
"""
