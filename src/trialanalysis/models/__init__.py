"""Statistical models: mixed models with small-sample inference, GEE, mediation, imputation.

The mixed-model engine reads lme4 formulas and reproduces lme4, lmerTest
(Satterthwaite), pbkrtest (Kenward–Roger) and emmeans; see
:func:`~trialanalysis.models.mixed.fit_mixed`.
"""

from trialanalysis.models.formula import MixedFormula, parse_formula, statsmodels_spec
from trialanalysis.models.inference import DF_METHODS
from trialanalysis.models.mixed import MixedModelConvergenceWarning, MixedModelResult, fit_mixed
from trialanalysis.models.variance import design_effect

__all__ = [
    "DF_METHODS",
    "MixedFormula",
    "MixedModelConvergenceWarning",
    "MixedModelResult",
    "design_effect",
    "fit_mixed",
    "parse_formula",
    "statsmodels_spec",
]
