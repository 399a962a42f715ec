"""Device models: declarations (:mod:`memfit.models.base`), the registry and the built-in families.

>>> from memfit.models import get_model
>>> get_model("vteam").param_names[:3]  # doctest: +SKIP
"""

from memfit._jit import kernel
from memfit.models.base import DeviceModel, Parameter, Reference, StateVariable
from memfit.models.registry import MODELS, available_models, get_model, register

__all__ = [
    "DeviceModel",
    "Parameter",
    "Reference",
    "StateVariable",
    "MODELS",
    "available_models",
    "get_model",
    "register",
    "kernel",
]
