"""The model registry: one place that maps a model name to its :class:`DeviceModel`.

Models register themselves when their module is imported; :func:`get_model`
imports every built-in model module on first use, so ``import memfit`` stays
light.  A contract test (``tests/models/test_registry_contract.py``) walks the
whole registry.
"""

from __future__ import annotations

import importlib

from memfit.errors import ModelError
from memfit.models.base import DeviceModel

#: name -> DeviceModel.  Use :func:`get_model` to read it (it loads the built-ins).
MODELS: dict[str, DeviceModel] = {}

#: Short device names (what the lab calls the device) -> registered model names (named after the source).
ALIASES: dict[str, str] = {
    "nbox": "schroedter2022",
    "vo2": "vo2_demirkol2022",
    "ftj": "ftj_athle2023",
    "memcapacitor": "biolek2013_memcapacitor",
    "meminductor": "biolek2013_meminductor",
}

# Modules that define the built-in models (each calls ``register`` at import).
_BUILTIN_MODULES = (
    "memfit.models.strukov2008",
    "memfit.models.vteam",
    "memfit.models.yakopcic",
    "memfit.models.stanford_pku",
    "memfit.models.memdiode",
    "memfit.models.schroedter2022",
    "memfit.models.vo2",
    "memfit.models.ftj",
    "memfit.models.memcapacitive",
    "memfit.models.meminductive",
)
_loaded = False


def register(model: DeviceModel, *, replace: bool = False) -> DeviceModel:
    """Add ``model`` to :data:`MODELS` under ``model.name``.

    Raises :class:`ModelError` if the name is taken (pass ``replace=True`` to
    overwrite, e.g. while developing a model in a notebook).
    """
    if not isinstance(model, DeviceModel):
        raise ModelError(f"register() takes a DeviceModel, got {type(model).__name__}")
    if model.name in MODELS and not replace and MODELS[model.name] is not model:
        raise ModelError(f"a model named {model.name!r} is already registered")
    MODELS[model.name] = model
    return model


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # a family not written yet must not break the others
            if exc.name != mod:
                raise
    _loaded = True


def available_models() -> list[str]:
    """Sorted names of all registered models."""
    _load_builtins()
    return sorted(MODELS)


def get_model(name: str | DeviceModel) -> DeviceModel:
    """The registered model called ``name`` or a device alias (``"nbox"``, ``"vo2"``, ``"ftj"`` ...).

    A DeviceModel is returned as is.

    Raises
    ------
    ModelError
        Unknown name; the message lists the available models.
    """
    if isinstance(name, DeviceModel):
        return name
    _load_builtins()
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    try:
        return MODELS[key]
    except (KeyError, TypeError):
        aliases = ", ".join(f"{a} ({m})" for a, m in sorted(ALIASES.items()) if m in MODELS)
        raise ModelError(
            f"unknown model {name!r}; available models: {', '.join(sorted(MODELS))}"
            + (f"; device aliases: {aliases}" if aliases else "")
        ) from None
