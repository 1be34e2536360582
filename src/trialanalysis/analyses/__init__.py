"""Trial analyses: DataFrames and settings of one trial -> tidy result tables and figures.

One package per trial (:mod:`.betterback`, :mod:`.prepare`) with the same
module names where the roles are the same, and :mod:`.common` for code both
use; the statistics come from :mod:`trialanalysis.models`. The workflow steps
that read and write the files are in :mod:`trialanalysis.steps`.
"""
