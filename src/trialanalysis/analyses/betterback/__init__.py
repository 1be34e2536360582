"""BetterBack analyses: DataFrames of the validated tables -> result tables and figures.

One module per role (``data``, ``table1``, ``figures``, ``text``, then the
trial's own ``therapists``, ``patients``, ``binary``, ``sensitivity``,
``clusters``, ``trajectories``); the statistics come from
:mod:`trialanalysis.models`.
"""
