"""Plots. Every matplotlib import in memfit lives in this package (``import memfit`` stays light)."""

from memfit.plotting.simulation import plot_simulation

__all__ = ["plot_simulation"]
