"""Design and power of stepped and parallel cluster designs.

A power spec (:mod:`.spec`) describes a design and an outcome model;
:mod:`.analytic` computes the GLS variance and power of the treatment
effect, :mod:`.simulate` simulates and analyses trials with ``fit_mixed``,
and :mod:`.trial` builds specs and grids from an analysed trial.
"""
