"""Crossbar inference engine: whole networks on arrays of fitted devices.

Two halves, imported lazily (``import memfit.crossbar`` loads nothing heavy, and either half
works while the other is being changed):

* network runtime and evaluation -- :mod:`~memfit.crossbar.layers`, :mod:`~memfit.crossbar.network`
  (:class:`Network`, :class:`AnalogNetwork`, :func:`load_network`), :mod:`~memfit.crossbar.data`
  (8x8 digits, MNIST IDX files), :mod:`~memfit.crossbar.train` (numpy Adam trainer, built-in
  networks), :mod:`~memfit.crossbar.onnx_import` (:func:`load_onnx`), :mod:`~memfit.crossbar.evaluate`
  (accuracy over time, normalized accuracy, Monte Carlo, sensitivity sweeps, VMM error),
  :mod:`~memfit.crossbar.report` (HTML report), :mod:`~memfit.crossbar.cli` (``memfit crossbar``);
* analog tiles -- :mod:`~memfit.crossbar.config` (:class:`CrossbarConfig`, :func:`get_config`),
  :mod:`~memfit.crossbar.device` (:class:`CrossbarDevice`), :mod:`~memfit.crossbar.tile`
  (:class:`AnalogMatrix`), mapping, programming, non-idealities, IR drop.

>>> from memfit.crossbar import load_network, evaluate_accuracy     # doctest: +SKIP
>>> net = load_network("builtin:digits-mlp")                        # doctest: +SKIP
"""

from __future__ import annotations

import importlib

_LAZY = {
    # network runtime (engineer A)
    "Network": "memfit.crossbar.network",
    "AnalogNetwork": "memfit.crossbar.network",
    "NetworkError": "memfit.crossbar.layers",
    "load_network": "memfit.crossbar.network",
    "load_onnx": "memfit.crossbar.onnx_import",
    "load_digits": "memfit.crossbar.data",
    "load_mnist": "memfit.crossbar.data",
    "read_idx": "memfit.crossbar.data",
    "train": "memfit.crossbar.train",
    "mlp": "memfit.crossbar.train",
    "small_cnn": "memfit.crossbar.train",
    "builtin_network": "memfit.crossbar.train",
    "evaluate_accuracy": "memfit.crossbar.evaluate",
    "normalized_accuracy": "memfit.crossbar.evaluate",
    "sensitivity_sweep": "memfit.crossbar.evaluate",
    "layer_sensitivity": "memfit.crossbar.evaluate",
    "vmm_error": "memfit.crossbar.evaluate",
    "summarize": "memfit.crossbar.evaluate",
    "write_report": "memfit.crossbar.report",
    # analog tiles (engineer B)
    "CrossbarConfig": "memfit.crossbar.config",
    "get_config": "memfit.crossbar.config",
    "list_configs": "memfit.crossbar.config",
    "CrossbarDevice": "memfit.crossbar.device",
    "AnalogMatrix": "memfit.crossbar.tile",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'memfit.crossbar' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))


__all__ = list(_LAZY)
