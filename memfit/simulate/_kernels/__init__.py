"""Jitted kernels of the simulator (integrators, test circuit)."""
