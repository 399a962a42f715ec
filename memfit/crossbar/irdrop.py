r"""IR drop: the crossbar as a resistive network with nonlinear devices, solved per input vector.

Circuit (one physical array of ``n_in x n_out`` devices)
--------------------------------------------------------
Word line ``i`` (input ``i``) is driven at its left end by the DAC voltage ``V_i``; bit line ``j``
(output ``j``) ends at the bottom in a virtual ground (0 V, the integrator/TIA), so row 0 is the
farthest from the outputs.  Between neighbouring cells -- and between the driver/TIA and the first
cell -- every line has one wire segment of resistance ``r_w`` [Ohm]; with the thesis/aihwkit
definition of the wire ratio (``wire_ratio`` = wire-segment conductance / ``G_max``),
``r_w = 1/(wire_ratio * G_max)``.  Device ``(i, j)`` connects word-line node ``U_ij`` to bit-line
node ``B_ij`` and passes ``I_ij = f_ij(U_ij - B_ij)``, with ``f_ij(v) = G_ij v`` (ohmic) or
``f_ij(v) = G_ij V_read h(v)`` where ``h = I(v)/I(V_read)`` is the device's read I-V (a uniform
table, linearly interpolated).

Kirchhoff's current law at every node gives ``2 n_in n_out`` equations.  For *given* device
currents the line voltages follow exactly by prefix sums: the word-line segment ``k`` carries
``S_ik = sum_{m>=k} I_im``, so ``U_ik = V_i - r_w sum_{l<=k} S_il``; the bit-line segment below
row ``i`` carries ``P_ij = sum_{m<=i} I_mj``, so ``B_ij = r_w sum_{l>=i} P_lj``; the output
current is ``P_{n_in-1, j}``.  The solver alternates (block Gauss-Jacobi / "line sweep"):

    I <- f(U - B);   U, B <- exact line solutions for I

starting from ``U = V``, ``B = 0``.  The error contracts by about
``G_max r_w n_in n_out`` per sweep (5e-4 for a 512 x 512 FTJ tile at the thesis's ratio, so
3-4 sweeps reach 1e-12); the loop stops when the largest change of a device voltage is below
``tol * max|V|`` and reports failure (no convergence) if the change grows.  It is
vectorised over the batch (``prange``), O(n_in n_out) per sweep and allocation-free inside.

Speed trick, exact for the interpolated I-V: near its row voltage ``V_i`` a device sees
``V_i - delta`` with a tiny ``delta``; inside the table segment that holds ``V_i`` the
interpolant is linear, so the current is ``G (a_i + b_i v)`` with per-row coefficients, and
the full table lookup is done only for devices whose voltage left that segment.

Validated (tests/crossbar/test_irdrop.py) against a sparse direct nodal solve with
``scipy.sparse.linalg.spsolve`` (ohmic devices) and ``scipy.optimize.root`` on the same
sparse system (nonlinear devices).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from memfit.errors import CircuitError


@njit(cache=True, inline="always")
def _interp(v, v0, inv_dv, tab):
    n = tab.shape[0]
    x = (v - v0) * inv_dv
    k = int(np.floor(x))
    if k < 0:
        k = 0
    elif k > n - 2:
        k = n - 2
    f = x - k
    return tab[k] + f * (tab[k + 1] - tab[k])


@njit(cache=True)
def _solve_one(G, V, r, linear, vr, v0, inv_dv, tab, tol, max_iter, out, U, Pm, D, S, P, Bacc, ra, rb, rlo, rhi):
    n_in, n_out = G.shape
    vmax = 0.0
    for i in range(n_in):
        if abs(V[i]) > vmax:
            vmax = abs(V[i])
        for j in range(n_out):
            D[i, j] = V[i]
    if vmax == 0.0:
        for j in range(n_out):
            out[j] = 0.0
        return 0
    # per-row linear coefficients of the interpolant in the segment holding V_i: h(v) = a + b v
    ntab = tab.shape[0]
    for i in range(n_in):
        if linear:
            ra[i] = 0.0
            rb[i] = 1.0
            rlo[i] = -np.inf
            rhi[i] = np.inf
        else:
            x = (V[i] - v0) * inv_dv
            k = int(np.floor(x))
            if k < 0:
                k = 0
            elif k > ntab - 2:
                k = ntab - 2
            lo = v0 + k / inv_dv
            slope = (tab[k + 1] - tab[k]) * inv_dv
            ra[i] = vr * (tab[k] - slope * lo)
            rb[i] = vr * slope
            rlo[i] = lo if k > 0 else -np.inf
            rhi[i] = lo + 1.0 / inv_dv if k < ntab - 2 else np.inf
    last = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        for j in range(n_out):
            P[j] = 0.0
        # pass 1 (rows top -> bottom): device currents, column prefix sums, word-line voltages
        for i in range(n_in):
            a = ra[i]
            b = rb[i]
            lo = rlo[i]
            hi = rhi[i]
            for j in range(n_out):
                d = D[i, j]
                if d >= lo and d <= hi:
                    c = G[i, j] * (a + b * d)
                else:
                    c = G[i, j] * vr * _interp(d, v0, inv_dv, tab)
                S[j] = c
                P[j] += c
                Pm[i, j] = P[j]
            acc = 0.0
            for j in range(n_out - 1, -1, -1):  # S_j = sum_{m >= j} I_im
                acc += S[j]
                S[j] = acc
            u = V[i]
            for j in range(n_out):
                u -= r * S[j]
                U[i, j] = u
        for j in range(n_out):
            out[j] = P[j]
            Bacc[j] = 0.0
        # pass 2 (rows bottom -> top): bit-line voltages, new device voltages
        change = 0.0
        for i in range(n_in - 1, -1, -1):
            for j in range(n_out):
                Bacc[j] += r * Pm[i, j]
                dn = U[i, j] - Bacc[j]
                dd = abs(dn - D[i, j])
                if dd > change:
                    change = dd
                D[i, j] = dn
        if change <= tol * vmax:
            return it
        if it > 3 and change > 0.9 * last:
            return -it  # not contracting
        last = change
    return -it


@njit(cache=True, parallel=True)
def _solve_batch(G, V, r, linear, vr, v0, inv_dv, tab, tol, max_iter, out, iters):
    n_b = V.shape[0]
    n_in, n_out = G.shape
    for b in prange(n_b):
        U = np.empty((n_in, n_out))
        Pm = np.empty((n_in, n_out))
        D = np.empty((n_in, n_out))
        S = np.empty(n_out)
        P = np.empty(n_out)
        Bacc = np.empty(n_out)
        ra = np.empty(n_in)
        rb = np.empty(n_in)
        rlo = np.empty(n_in)
        rhi = np.empty(n_in)
        iters[b] = _solve_one(G, V[b], r, linear, vr, v0, inv_dv, tab, tol, max_iter, out[b], U, Pm, D, S, P,
                              Bacc, ra, rb, rlo, rhi)


def wire_resistance(wire_ratio: float, g_max: float) -> float:
    """Wire-segment resistance [Ohm] from the wire-conductance-to-G_max ratio: ``1/(ratio * G_max)``."""
    if not (wire_ratio > 0 and g_max > 0):
        raise CircuitError(f"wire_ratio ({wire_ratio}) and g_max ({g_max} S) must be > 0")
    return 1.0 / (wire_ratio * g_max)


def solve_ir_drop(G: np.ndarray, V: np.ndarray, r_wire: float, iv: tuple | None = None,
                  read_voltage: float = 1.0, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray:
    """Output currents of a crossbar with line resistance.

    Parameters
    ----------
    G : (n_in, n_out) array
        Device conductances [S] (chord conductance at ``read_voltage`` for nonlinear devices).
    V : (batch, n_in) or (n_in,) array
        Word-line driver voltages [V].
    r_wire : float
        Resistance of one wire segment [Ohm] (see :func:`wire_resistance`).
    iv : (v, h) uniform table, optional
        Normalized read I-V ``h(v) = I(v)/I(read_voltage)`` on a uniform voltage grid [V];
        None = ohmic devices.
    read_voltage : float
        ``V_read`` [V] of the table.
    tol : float
        Stop when the largest device-voltage change of a sweep is below ``tol * max|V|``.
    max_iter : int
        Most sweeps.

    Returns
    -------
    (batch, n_out) or (n_out,) array
        Currents into the bit-line virtual grounds [A].

    Raises
    ------
    CircuitError
        The sweeps did not converge (lines too resistive for the block iteration).
    """
    G = np.ascontiguousarray(G, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    single = V.ndim == 1
    V2 = np.ascontiguousarray(np.atleast_2d(V))
    if G.ndim != 2 or V2.shape[1] != G.shape[0]:
        raise CircuitError(f"solve_ir_drop: G {G.shape} (n_in, n_out) does not match V {V.shape} (batch, n_in)")
    if not r_wire >= 0:
        raise CircuitError(f"solve_ir_drop: r_wire must be >= 0 Ohm, got {r_wire}")
    if iv is None:
        linear, v0, inv_dv, tab, vr = True, 0.0, 1.0, np.zeros(2), 1.0
    else:
        tv, th = (np.asarray(a, dtype=np.float64) for a in iv)
        dv = np.diff(tv)
        if tv.size < 2 or not np.allclose(dv, dv[0], rtol=1e-9, atol=0):
            raise CircuitError("solve_ir_drop: the I-V table must be on a uniform voltage grid")
        linear, v0, inv_dv, tab, vr = False, float(tv[0]), 1.0 / float(dv[0]), np.ascontiguousarray(th), float(read_voltage)
    out = np.empty((V2.shape[0], G.shape[1]))
    iters = np.empty(V2.shape[0], dtype=np.int64)
    _solve_batch(G, V2, float(r_wire), linear, vr, v0, inv_dv, tab, float(tol), int(max_iter), out, iters)
    if np.any(iters < 0):
        raise CircuitError(
            f"IR-drop sweeps did not converge for {int(np.sum(iters < 0))} of {iters.size} input vectors "
            f"(r_wire = {r_wire:g} Ohm is too large for an array of {G.shape[0]} x {G.shape[1]} devices up to "
            f"{G.max():g} S); use a larger wire_ratio or smaller tiles")
    solve_ir_drop.last_iterations = iters
    return out[0] if single else out
