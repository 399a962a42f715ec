"""memfit benchmarks: ``python -m benchmarks [SECTION ...] [--smoke]``.

Every figure is printed next to a baseline measured in the same run (solve_ivp, ngspice, ...),
as a ratio, with the accuracy both reached.  Sections are modules of this package listed in
:data:`SECTIONS`; each exposes ``run(opts) -> list[Headline]`` (see :mod:`benchmarks._util`).
To add a section (fitting, crossbar, ...), write ``benchmarks/<name>.py`` with such a ``run``
and add one line below.

This module imports nothing heavy: ``__main__`` pins the BLAS/OpenMP thread pools before numpy
is loaded.
"""

#: name -> (module, one-line description).  Run order is the order here.
SECTIONS = {
    "integrators": (
        "benchmarks.integrators",
        "one VTEAM device vs solve_ivp; 10,000-device batch vs a solve_ivp loop; ngspice",
    ),
    "models": (
        "benchmarks.models",
        "every registered model under its default stimulus vs solve_ivp (Radau for stiff models)",
    ),
    "realdata": ("benchmarks.real_data", "fits to the measured data of ../shared/datasets (skipped without it)"),
    "fitting": (
        "benchmarks.fitting",
        "joint 6-parameter fit of 10^4 points vs a solve_ivp objective; population fit of 1,000 devices",
    ),
    "parallel": (
        "benchmarks.parallel",
        "population-fit throughput on local processes and a Dask LocalCluster, 1 and 2 workers; per-task overhead",
    ),
    "crossbar": ("benchmarks.crossbar", "analog forward, IR drop, write-verify on the compact model"),
    "thesis": ("benchmarks.crossbar_thesis", "FTJ thesis on the MNIST MLP: direct vs write-verify vs devices/weight, drift"),
    "training": ("benchmarks.crossbar_training",
                 "HWA training epoch vs float epoch (MNIST MLP); in-situ pulse-training step of a 512x512 tile"),
    "gpu": ("benchmarks.gpu", "batch integrator on CUDA vs the CPU path, device-steps/s (skipped without a GPU)"),
}
