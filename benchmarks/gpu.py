r"""GPU benchmarks: the batch integrator on CUDA against the CPU path, measured in the same run.

The problem is the integrator benchmark's batch (:mod:`benchmarks.integrators`): switching VTEAM
devices (linear port, no window, thresholds +-0.3 V, cubic rates) with a +-10 % device-to-device
spread, under a 1 V, 1 Hz sine, ``simulate_batch(record="final")`` at the same tolerance on both
backends.  The figure is **device-steps per second** (accepted steps summed over devices, divided
by wall time): the GPU over N devices (wall time with the host<->device transfers, after a warm-up
launch that compiles the kernel), the CPU over a subset of the same devices with all numba threads
(the CPU cost per device does not depend on N, so a subset measures its rate without minutes of
waiting).  The ratio is GPU rate / CPU rate.  Both backends run the same integrator source
(``memfit.simulate._kernels.integrators.dopri5_core``), so the step counts agree; the summary
also reports the largest difference of the final states on the devices both ran.

Without a CUDA GPU (numba's simulator does not count) the section prints ``no GPU: skipped``.

The crossbar figures of the GPU issue (512x512 write-verify, MLP forward) belong to the crossbar
engine's GPU path and are not measured here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks._util import Headline, Table, fmt_err, fmt_rate, fmt_ratio, fmt_time, measure

TITLE = "GPU: batch integrator, CUDA vs CPU (same run)"


@dataclass(frozen=True)
class Sizes:
    devices: int  # on the GPU
    cpu_devices: int  # CPU subset
    cycles: int
    points_per_cycle: int
    repeats: int


FULL = Sizes(devices=200_000, cpu_devices=4_000, cycles=10, points_per_cycle=200, repeats=3)
SMOKE = Sizes(devices=4_096, cpu_devices=256, cycles=2, points_per_cycle=100, repeats=1)


def _skip(reason: str) -> list:
    print(f"{TITLE}\n{'=' * len(TITLE)}\nno GPU: skipped ({reason})\n", flush=True)
    return []


def run(opts) -> list:
    """Run the GPU section; returns its summary headlines (none without a GPU)."""
    from memfit import _gpu

    if _gpu.simulator_enabled():
        return _skip("NUMBA_ENABLE_CUDASIM=1: the CUDA simulator is not a GPU")
    if not _gpu.gpu_available():
        _, problem = _gpu._import_cuda()
        return _skip(problem or "no CUDA device")

    import numba

    from benchmarks.integrators import AMPLITUDE, FREQUENCY, MODEL, PARAMS, X0
    from memfit.models import get_model
    from memfit.simulate import simulate_batch, sine_sweep

    sizes = SMOKE if getattr(opts, "smoke", False) else FULL
    repeats = opts.repeats or sizes.repeats
    rtol = 3e-7
    atol = 1e-2 * rtol
    model = get_model(MODEL)
    stim = sine_sweep(amplitude=AMPLITUDE, frequency=FREQUENCY, cycles=sizes.cycles,
                      points_per_cycle=sizes.points_per_cycle)
    rng = np.random.default_rng(12345)
    P = np.tile(model.params(PARAMS), (sizes.devices, 1))
    names = model.param_names
    for name in ("R_on", "R_off"):
        P[:, names.index(name)] *= rng.uniform(0.9, 1.1, sizes.devices)
    common = rng.uniform(0.9, 1.1, sizes.devices)  # the two rates share one factor (no saturation)
    P[:, names.index("k_off")] *= common
    P[:, names.index("k_on")] *= common
    X = np.full((sizes.devices, 1), X0)

    def batch(rows, backend, dtype=np.float64):
        return simulate_batch(MODEL, stim, P[rows], X[rows], method="dopri5", rtol=rtol, atol=atol,
                              record="final", raise_on_failure=False, backend=backend, dtype=dtype)

    device = _gpu.device_name()
    sub = slice(0, sizes.cpu_devices)
    allrows = slice(None)
    # warm-up: compile (CPU kernel from cache, CUDA kernel per dtype) on a few devices
    t0 = time.perf_counter()
    batch(slice(0, 64), "cuda")
    t_compile = time.perf_counter() - t0
    batch(slice(0, 64), "cuda", np.float32)
    batch(slice(0, 4), "cpu")

    cpu = measure(lambda: batch(sub, "cpu"), repeats=repeats, warmup=0)
    g64 = measure(lambda: batch(allrows, "cuda"), repeats=repeats, warmup=0)
    g32 = measure(lambda: batch(allrows, "cuda", np.float32), repeats=repeats, warmup=0)

    def rate(t):
        return t.result.steps / t.median

    r_cpu, r64, r32 = rate(cpu), rate(g64), rate(g32)
    ref = cpu.result.final_state
    d64 = float(np.abs(g64.result.final_state[sub] - ref).max())
    d32 = float(np.abs(g32.result.final_state[sub] - ref).max())
    same_steps = bool(np.array_equal(g64.result.stats[sub, 0], cpu.result.stats[:, 0]))
    failed = {k: int(np.count_nonzero(t.result.status)) for k, t in (("cpu", cpu), ("f64", g64), ("f32", g32))}

    table = Table(
        f"{TITLE}: {sizes.devices:,} VTEAM devices (+-10 % spread), {AMPLITUDE:g} V {FREQUENCY:g} Hz sine x "
        f"{sizes.cycles} cycles, dopri5 rtol {rtol:g}, record='final', median of {repeats}",
        ["engine", "devices", "wall", "device-steps/s", "max |x - x_cpu|", "vs CPU"],
    )
    table.add(f"CPU simulate_batch, {numba.get_num_threads()} threads  [baseline]", f"{sizes.cpu_devices:,}",
              fmt_time(cpu.median), fmt_rate(r_cpu), "-", "1x")
    table.add(f"CUDA simulate_batch float64 ({device})", f"{sizes.devices:,}", fmt_time(g64.median), fmt_rate(r64),
              fmt_err(d64), fmt_ratio(r64 / r_cpu))
    table.add(f"CUDA simulate_batch float32 ({device})", f"{sizes.devices:,}", fmt_time(g32.median), fmt_rate(r32),
              fmt_err(d32), fmt_ratio(r32 / r_cpu))
    table.note(f"GPU: {device}; CUDA kernel compile + first launch: {fmt_time(t_compile)} (not in the figures)")
    table.note(f"GPU wall times include host->device and device->host transfers; identical accepted-step counts "
               f"on the {sizes.cpu_devices:,} devices both ran: {same_steps}")
    table.note(f"failed devices: cpu {failed['cpu']}, cuda float64 {failed['f64']}, cuda float32 {failed['f32']}")
    table.print()
    return [
        Headline(f"batch integrator device-steps/s, CUDA float64 ({device}) vs CPU {numba.get_num_threads()} threads",
                 r64 / r_cpu, None, f"{fmt_rate(r64)} vs {fmt_rate(r_cpu)}; max final-state difference {d64:.1e}"),
        Headline("batch integrator device-steps/s, CUDA float32 vs CPU", r32 / r_cpu, None,
                 f"{fmt_rate(r32)}; max final-state difference {d32:.1e}"),
    ]
