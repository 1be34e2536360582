"""PREPARE analyses: DataFrames of the validated tables -> result tables and figures.

One module per role (``data``, ``table1``, ``figures``, ``text``, then the
trial's own ``models``, ``effect_sizes``, ``responders``, ``mediation``,
``missing``, and ``settings``); the statistics come from
:mod:`trialanalysis.models`.
"""
