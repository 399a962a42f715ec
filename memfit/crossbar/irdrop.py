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
currents the line voltages follow exactly: the word-line drop is
``dU_ij = V_i - U_ij = r_w sum_m I_im (min(j, m) + 1)`` and the bit-line voltage is
``B_ij = r_w sum_m I_mj (n_in - max(i, m)) = r_w ((n_in - i) C_ij + A_j - W_ij)`` with the column
prefix sums ``C_ij = sum_{m<i} I_mj``, ``W_ij = sum_{m<i} (n_in - m) I_mj`` over the rows *above*
``i`` and the column total ``A_j = sum_m (n_in - m) I_mj`` (row ``i``'s own current cancels).

Solver (:func:`solve_ir_drop`): row-by-row Gauss-Seidel sweeps from the top row down.  In a sweep,
``C`` and ``W`` are exact for the rows already solved; only ``A`` is taken from the previous sweep.
Row ``i``: its bit-line voltages follow from ``C, W, A``; its word line is the fixed point
``dU = r_w M I(V_i - B - dU)``, iterated with one pass per iteration
(``dU_j = r_w ((j + 1) T - j R1_j + R2_j)`` with running sums), a contraction of factor
``q_i = r_w max|dh/dv| V_read sum_m (m + 1) G_im`` (about 1e-3 for a 512 x 512 FTJ tile at the
thesis's wire ratio).  The first sweep starts from the column totals of the ideal (drop-free)
currents (one BLAS product over the batch) and only predicts new totals; each column total then
takes a secant step ``A <- (A_new - kappa A)/(1 - kappa)`` with
``kappa_j = -r_w sum_i (n_in - i) G_ij dI/dv``, after which one more sweep usually converges.
When the drop-free totals are expected to be within tolerance already (the drop changes them by
about ``(q_row + q_col)`` relative), the predictor is skipped and the first sweep is a full one.
Stopping rules are a-posteriori contraction bounds: every device-voltage error
``<= tol * max|V|``.  Input vectors are solved ``_NB`` at a time (sharing every pass over ``G``),
chunks in parallel (``prange``); nothing per device is stored besides ``G``.  The device current
uses the linear interpolant of the read I-V table on the segment that holds the device voltage.
Where the iteration does not contract (``q >= 1``: lines very resistive compared with the
devices, roughly ``wire_ratio < n^2/2``), the vector is solved by Newton on the sparse nodal
system (:func:`solve_ir_drop_direct`).

Validated (tests/crossbar/test_irdrop.py) against a sparse direct nodal solve with
``scipy.sparse.linalg.spsolve`` (ohmic devices) and ``scipy.optimize.root`` on the same
sparse system (nonlinear devices).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange  # noqa: F401

from memfit.errors import CircuitError


_NB = 8  # input vectors solved together (the innermost, SIMD dimension of every buffer)


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
def _solve_chunk(G, V, A0, r, linear, v0, inv_dv, SA, SB, rb, qrow, qcol, tol, max_local, max_sweeps, predict, out):
    """Row-by-row Gauss-Seidel with exact bit-line bookkeeping for ``_NB`` input vectors ("lanes")
    that share every pass over ``G``.  Buffers are (lane, column).

    Returns the number of sweeps (> 0) or minus it when the iteration did not converge.
    See the module docstring for the scheme.
    """
    n_in, n_out = G.shape
    kmax = SA.shape[0] - 1
    vmax = np.zeros(_NB)
    for v in range(_NB):
        for i in range(n_in):
            vmax[v] = max(vmax[v], abs(V[v, i]))
    A = A0.copy()
    C = np.empty((_NB, n_out))
    W = np.empty((_NB, n_out))
    K = np.empty((_NB, n_out))
    B = np.empty((_NB, n_out))
    dU = np.empty((_NB, n_out))
    I = np.empty((_NB, n_out))
    for sweep in range(1, max_sweeps + 1):
        # the first sweep only predicts the column totals for the secant step (one word-line pass),
        # unless the first guess of the totals is expected to be within tolerance already
        predictor = predict and sweep == 1
        C[:] = 0.0
        W[:] = 0.0
        K[:] = 0.0
        for i in range(n_in):
            ni = float(n_in - i)
            g_row = G[i]
            q = qrow[i]
            for v in range(_NB):
                b = rb[v, i]
                vi = V[v, i]
                tol_v = (1.0 - q) * tol * vmax[v] if vmax[v] > 0 else np.inf  # all-zero (padding) lanes
                Cv, Wv, Av, Bv, dUv, Iv, Kv = C[v], W[v], A[v], B[v], dU[v], I[v], K[v]
                # bit-line voltages of row i (exact for the rows above, A lagged), first currents (dU = 0)
                T = 0.0
                for j in range(n_out):
                    bj = r * (ni * Cv[j] + Av[j] - Wv[j])
                    Bv[j] = bj
                    dUv[j] = 0.0
                    d = vi - bj
                    if linear:
                        c = g_row[j] * d
                    else:
                        k = min(max(int((d - v0) * inv_dv), 0), kmax)
                        c = g_row[j] * (SA[k] + SB[k] * d)
                    Iv[j] = c
                    T += c
                # word line i: the fixed point dU = r M I(dU), a contraction of factor q, one pass each:
                # dU_j = r sum_{l <= j} sum_{m >= l} I_m = r ((j + 1) T - j R1_j + R2_j),
                # R1_j = sum_{m < j} I_m, R2_j = sum_{m < j} m I_m
                it = 0
                while True:
                    it += 1
                    R1 = 0.0
                    R2 = 0.0
                    chg = 0.0
                    Tn = 0.0
                    for j in range(n_out):
                        fj = float(j)
                        du = r * ((fj + 1.0) * T - fj * R1 + R2)
                        chg = max(chg, abs(du - dUv[j]))
                        dUv[j] = du
                        old = Iv[j]
                        R1 += old
                        R2 += fj * old
                        d = vi - Bv[j] - du
                        if linear:
                            c = g_row[j] * d
                        else:
                            k = min(max(int((d - v0) * inv_dv), 0), kmax)
                            c = g_row[j] * (SA[k] + SB[k] * d)
                        Iv[j] = c
                        Tn += c
                    T = Tn
                    if q < 1.0 and (q * chg <= tol_v or predictor):
                        break
                    if it >= max_local or not q < 1.0:
                        return -sweep
                for j in range(n_out):
                    c = Iv[j]
                    Cv[j] += c
                    Wv[j] += ni * c
                    Kv[j] += ni * g_row[j] * b
        # the lagged column totals: |A - A*| <= |A - F(A)| / (1 - qcol); bit-line error r |A - A*|
        ok = qcol < 1.0 and not predictor
        for v in range(_NB):
            lim = (1.0 - qcol) * tol * vmax[v] if vmax[v] > 0 else np.inf
            for j in range(n_out):
                if r * abs(W[v, j] - A[v, j]) > lim:
                    ok = False
        if ok:
            for v in range(_NB):
                for j in range(n_out):
                    out[v, j] = C[v, j]
            return sweep
        # secant step on each column total: A_new ~ A* + kappa (A - A*), kappa = -r sum (n-i) G_ij b_i
        for v in range(_NB):
            for j in range(n_out):
                kap = -r * K[v, j]
                A[v, j] = (W[v, j] - kap * A[v, j]) / (1.0 - kap)
    return -max_sweeps


@njit(cache=True, parallel=True)
def _solve_batch(G, Vt, A0t, r, linear, v0, inv_dv, SA, SB, rbt, qrow, qcol, tol, max_local, max_sweeps, predict, out,
                 sweeps):
    n_chunks = Vt.shape[0]
    for c in prange(n_chunks):
        sweeps[c] = _solve_chunk(G, Vt[c], A0t[c], r, linear, v0, inv_dv, SA, SB, rbt[c], qrow, qcol, tol, max_local,
                                 max_sweeps, predict, out[c])


def wire_resistance(wire_ratio: float, g_max: float) -> float:
    """Wire-segment resistance [Ohm] from the wire-conductance-to-G_max ratio: ``1/(ratio * G_max)``."""
    if not (wire_ratio > 0 and g_max > 0):
        raise CircuitError(f"wire_ratio ({wire_ratio}) and g_max ({g_max} S) must be > 0")
    return 1.0 / (wire_ratio * g_max)


def _segment_coefficients(V, linear, vr, v0, inv_dv, tab):
    """Per (vector, row): the table segment holding V and the interpolant on it, I/G = a + b v."""
    if linear:
        return np.zeros_like(V), np.ones_like(V), np.full_like(V, -np.inf), np.full_like(V, np.inf)
    n = tab.shape[0]
    k = np.clip(np.floor((V - v0) * inv_dv).astype(np.int64), 0, n - 2)
    lo = v0 + k / inv_dv
    slope = (tab[k + 1] - tab[k]) * inv_dv
    a = vr * (tab[k] - slope * lo)
    b = vr * slope
    rlo = np.where(k > 0, lo, -np.inf)
    rhi = np.where(k < n - 2, lo + 1.0 / inv_dv, np.inf)
    return a, b, rlo, rhi


def _chunks(X, nb):
    """(batch, n) -> (n_chunks, nb, n), zero-padded."""
    b, n = X.shape
    nc = -(-b // nb)
    out = np.zeros((nc * nb, n))
    out[:b] = X
    return out.reshape(nc, nb, n)


def solve_ir_drop_direct(G: np.ndarray, V: np.ndarray, r_wire: float, iv: tuple | None = None,
                         read_voltage: float = 1.0, tol: float = 1e-13, max_iter: int = 50) -> np.ndarray:
    """Output currents [A] of one input vector ``V`` [V] by Newton on the full sparse nodal system.

    The fallback of :func:`solve_ir_drop` where the line iteration does not contract (very
    resistive lines); exact but slow for large arrays (``scipy.sparse.linalg.spsolve`` of
    ``2 n_in n_out`` unknowns per Newton step).  Same circuit and arguments as :func:`solve_ir_drop`.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    G = np.asarray(G, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    n_in, n_out = G.shape
    n = n_in * n_out
    gw = 1.0 / r_wire
    idx = np.arange(n).reshape(n_in, n_out)
    diag_u = np.full((n_in, n_out), -2 * gw)
    diag_u[:, -1] = -gw
    diag_b = np.full((n_in, n_out), -2 * gw)
    diag_b[0, :] = -gw
    rows = [idx[:, :-1].ravel(), idx[:, 1:].ravel(), n + idx[:-1].ravel(), n + idx[1:].ravel(), np.arange(2 * n)]
    cols = [idx[:, 1:].ravel(), idx[:, :-1].ravel(), n + idx[1:].ravel(), n + idx[:-1].ravel(), np.arange(2 * n)]
    vals = [np.full(n_in * (n_out - 1), gw)] * 2 + [np.full((n_in - 1) * n_out, gw)] * 2 + \
        [np.concatenate([diag_u.ravel(), diag_b.ravel()])]
    Wm = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(2 * n, 2 * n))
    rhs = np.zeros(2 * n)
    rhs[idx[:, 0]] = -gw * V
    g = G.ravel()
    if iv is None:
        D = sp.bmat([[sp.diags(-g), sp.diags(g)], [sp.diags(g), sp.diags(-g)]])
        x = spsolve((Wm + D).tocsc(), rhs)
        return gw * x[n:].reshape(n_in, n_out)[-1]
    tv, th = (np.asarray(a, dtype=np.float64) for a in iv)
    vr = float(read_voltage)
    x = np.concatenate([np.repeat(V, n_out), np.zeros(n)])
    vmax = max(float(np.max(np.abs(V))), 1e-300)
    for _ in range(max_iter):
        d = x[:n] - x[n:]
        i_d = g * vr * np.interp(d, tv, th)
        k = np.clip(np.searchsorted(tv, d) - 1, 0, len(tv) - 2)
        c = g * vr * (th[k + 1] - th[k]) / (tv[k + 1] - tv[k])
        F = Wm @ x - rhs + np.concatenate([-i_d, i_d])
        J = Wm + sp.bmat([[sp.diags(-c), sp.diags(c)], [sp.diags(c), sp.diags(-c)]])
        dx = spsolve(J.tocsc(), -F)
        x = x + dx
        if np.max(np.abs(dx)) <= tol * vmax:
            return gw * x[n:].reshape(n_in, n_out)[-1]
    raise CircuitError(f"IR drop: Newton on the nodal system did not converge in {max_iter} steps "
                       f"({n_in} x {n_out} array, r_wire = {r_wire:g} Ohm)")


def solve_ir_drop(G: np.ndarray, V: np.ndarray, r_wire: float, iv: tuple | None = None,
                  read_voltage: float = 1.0, tol: float = 1e-9, max_iter: int = 50,
                  fallback: bool = True) -> np.ndarray:
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
        Convergence: the bound on every device-voltage error (from the contraction factors of
        the iterations) is below ``tol * max|V|`` of that input vector.
    max_iter : int
        Most sweeps over the array (and most word-line iterations per row and sweep).
    fallback : bool
        Input vectors whose iteration does not converge (lines so resistive that it does not
        contract) are solved by Newton on the sparse nodal system (:func:`solve_ir_drop_direct`,
        exact but slow); False: raise instead.

    Returns
    -------
    (batch, n_out) or (n_out,) array
        Currents into the bit-line virtual grounds [A].

    Raises
    ------
    CircuitError
        No convergence and ``fallback=False`` (or the fallback's Newton failed too).
    """
    G = np.ascontiguousarray(G, dtype=np.float64)
    V = np.asarray(V, dtype=np.float64)
    single = V.ndim == 1
    V2 = np.ascontiguousarray(np.atleast_2d(V))
    if G.ndim != 2 or V2.shape[1] != G.shape[0]:
        raise CircuitError(f"solve_ir_drop: G {G.shape} (n_in, n_out) does not match V {V.shape} (batch, n_in)")
    if not r_wire >= 0:
        raise CircuitError(f"solve_ir_drop: r_wire must be >= 0 Ohm, got {r_wire}")
    n_in, n_out = G.shape
    if iv is None:
        linear, v0, inv_dv, tab, vr = True, 0.0, 1.0, np.zeros(2), 1.0
        H = V2
        slope_max = 1.0
    else:
        tv, th = (np.asarray(a, dtype=np.float64) for a in iv)
        dv = np.diff(tv)
        if tv.size < 2 or not np.allclose(dv, dv[0], rtol=1e-9, atol=0):
            raise CircuitError("solve_ir_drop: the I-V table must be on a uniform voltage grid")
        linear, v0, inv_dv, tab, vr = False, float(tv[0]), 1.0 / float(dv[0]), np.ascontiguousarray(th), float(read_voltage)
        H = vr * np.interp(V2, tv, th)  # ideal device currents / G (inputs inside the table)
        slope_max = vr * float(np.max(np.abs(np.diff(th)))) * inv_dv
    if r_wire == 0:
        out = H @ G
        solve_ir_drop.last_iterations = np.zeros(V2.shape[0], dtype=np.int64)
        return out[0] if single else out
    r = float(r_wire)
    # contraction factors: word line i (dU = r M I) and the lagged bit-line totals
    qrow = r * slope_max * (G @ np.arange(1.0, n_out + 1.0))
    qrow_max = float(qrow.max())
    qcol = r * slope_max * float(np.max(np.arange(n_in, 0.0, -1.0) @ G)) / max(1.0 - qrow_max, 1e-300)
    # first guess of the weighted column totals A_j = sum_i (n_in - i) I_ij: the ideal currents
    A0 = (H * np.arange(n_in, 0.0, -1.0)) @ G
    _, b, _, _ = _segment_coefficients(V2, linear, vr, v0, inv_dv, tab)
    # the interpolant per table segment k: I/G = SA[k] + SB[k] v (end segments extrapolate)
    SB = vr * np.diff(tab) * inv_dv
    SA = vr * tab[:-1] - SB * (v0 + np.arange(tab.size - 1) / inv_dv)
    # a predictor sweep pays only when the drop-free totals A0 are not already within tolerance: the
    # drop changes them by about (q_row + q_col) |A0| (relative), against the stopping bound
    # (1 - q_col) tol max|V| on the bit-line error r |A - A*|
    vmin = np.max(np.abs(V2), axis=1)
    vmin = float(vmin[vmin > 0].min()) if np.any(vmin > 0) else 0.0
    predict = not (r * (qrow_max + qcol) * float(np.max(np.abs(A0))) <= (1.0 - min(qcol, 1.0)) * float(tol) * vmin)
    nb = _NB
    Vt, A0t, bt = (_chunks(X, nb) for X in (V2, A0, b))
    out = np.empty((Vt.shape[0], nb, n_out))
    sweeps = np.empty(Vt.shape[0], dtype=np.int64)
    _solve_batch(G, Vt, A0t, r, linear, v0, inv_dv, SA, SB, bt, np.ascontiguousarray(qrow), qcol, float(tol),
                 int(max_iter), int(max_iter), predict, out, sweeps)
    res = out.reshape(-1, n_out)[:V2.shape[0]].copy()
    failed = np.flatnonzero(np.repeat(sweeps < 0, nb)[:V2.shape[0]])
    if failed.size:
        if not fallback:
            raise CircuitError(
                f"IR-drop iteration did not converge for {failed.size} of {V2.shape[0]} input vectors "
                f"(r_wire = {r_wire:g} Ohm is too large for an array of {n_in} x {n_out} devices up to "
                f"{G.max():g} S); use a larger wire_ratio, smaller tiles or fallback=True")
        for k in failed:
            res[k] = solve_ir_drop_direct(G, V2[k], r, iv=iv, read_voltage=vr)
    solve_ir_drop.last_iterations = np.repeat(sweeps, nb)[:V2.shape[0]]
    solve_ir_drop.last_fallbacks = int(failed.size)
    return res[0] if single else res
