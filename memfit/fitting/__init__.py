"""Fitting compact models to measurements with lmfit: :func:`fit` and :class:`FitResult`.

>>> from memfit.fitting import fit                                          # doctest: +SKIP
>>> res = fit("biolek2009", [iv, pulses], vary=["R_off", "mu_v"], fit_x0=["x"])  # doctest: +SKIP
>>> print(res.report())                                                     # doctest: +SKIP
"""

from memfit.fitting.core import fit
from memfit.fitting.objective import FitData
from memfit.fitting.population import PopulationResult, fit_population
from memfit.fitting.result import FitResult

__all__ = ["fit", "fit_population", "FitResult", "FitData", "PopulationResult"]
