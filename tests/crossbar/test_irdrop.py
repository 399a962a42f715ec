"""IR drop solver vs a sparse direct nodal solve (scipy) on small arrays, ohmic and nonlinear devices."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import root
from scipy.sparse.linalg import spsolve

from memfit.crossbar.irdrop import solve_ir_drop, wire_resistance
from memfit.errors import CircuitError


def _nodal(G, V, r, h=None, vr=1.0):
    """Full nodal analysis: unknowns U (word-line nodes) then B (bit-line nodes), row-major.

    Ohmic (h None): one sparse linear solve.  Nonlinear: scipy.optimize.root on the same KCL
    residual (Jacobian from the sparse wire matrix plus the devices' diagonal blocks).
    Returns the currents into the bit-line virtual grounds.
    """
    n_in, n_out = G.shape
    n = n_in * n_out
    gw = 1.0 / r
    iu = lambda i, j: i * n_out + j  # noqa: E731
    ib = lambda i, j: n + i * n_out + j  # noqa: E731
    rows, cols, vals = [], [], []
    rhs = np.zeros(2 * n)

    def add(a, b, v):
        rows.append(a); cols.append(b); vals.append(v)

    for i in range(n_in):
        for j in range(n_out):
            # word-line node: left neighbour (or driver), right neighbour
            add(iu(i, j), iu(i, j), -gw)
            if j == 0:
                rhs[iu(i, j)] -= gw * V[i]
            else:
                add(iu(i, j), iu(i, j - 1), gw)
            if j < n_out - 1:
                add(iu(i, j), iu(i, j), -gw)
                add(iu(i, j), iu(i, j + 1), gw)
            # bit-line node: upper neighbour (none for row 0), lower neighbour (or the 0 V TIA)
            if i > 0:
                add(ib(i, j), ib(i, j), -gw)
                add(ib(i, j), ib(i - 1, j), gw)
            add(ib(i, j), ib(i, j), -gw)
            if i < n_in - 1:
                add(ib(i, j), ib(i + 1, j), gw)
    W = sp.csr_matrix((vals, (rows, cols)), shape=(2 * n, 2 * n))
    g = G.ravel()
    if h is None:
        D = sp.bmat([[sp.diags(-g), sp.diags(g)], [sp.diags(g), sp.diags(-g)]])
        x = spsolve((W + D).tocsc(), rhs)
    else:
        tv, th = h

        def dev(d):
            return g * vr * np.interp(d, tv, th)

        def ddev(d):
            k = np.clip(np.searchsorted(tv, d) - 1, 0, len(tv) - 2)
            return g * vr * (th[k + 1] - th[k]) / (tv[k + 1] - tv[k])

        def F(x):
            i_d = dev(x[:n] - x[n:])
            return W @ x - rhs + np.concatenate([-i_d, i_d])

        def J(x):
            c = ddev(x[:n] - x[n:])
            return (W + sp.bmat([[sp.diags(-c), sp.diags(c)], [sp.diags(c), sp.diags(-c)]])).toarray()

        x0 = np.concatenate([np.repeat(V, n_out), np.zeros(n)])
        sol = root(F, x0, jac=J, method="hybr", tol=1e-14)
        x = sol.x
        # converged to the floating-point floor (hybr may report "xtol too small" there)
        assert np.max(np.abs(F(x))) < 1e-12 * np.max(np.abs(g)) * np.max(np.abs(V)), sol.message
    B = x[n:].reshape(n_in, n_out)
    return gw * B[-1]


def _sinh_table(vr=0.3, v0=0.25):
    v = np.linspace(-0.6, 0.6, 1201)
    f = lambda u: np.sinh(u / v0) / (u / v0) if np.ndim(u) == 0 else np.where(u == 0, 1.0, np.sinh(u / v0) / np.where(u == 0, 1, u / v0))  # noqa: E731
    h = v * f(v) / (vr * f(np.array(vr)))
    return v, h


@pytest.fixture
def array86():
    rng = np.random.default_rng(3)
    g_max = 14e-9
    G = rng.uniform(0.1, 1.0, (8, 6)) * g_max
    V = rng.uniform(-0.3, 0.3, (5, 8))
    return G, V, g_max


@pytest.mark.parametrize("ratio", [2e2, 2e4])
def test_ohmic_matches_sparse_direct_solve(array86, ratio):
    G, V, g_max = array86
    r = wire_resistance(ratio, g_max)
    ours = solve_ir_drop(G, V, r, tol=1e-12)
    ref = np.array([_nodal(G, v, r) for v in V])
    ideal = V @ G
    # the drop is visible at this ratio ...
    assert np.max(np.abs(ref - ideal)) > 1e-4 * np.max(np.abs(ideal)) * (2e2 / ratio)
    # ... and the sweeps reproduce the direct solve
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))


def test_nonlinear_matches_root_on_sparse_system(array86):
    G, V, g_max = array86
    vr = 0.3
    tab = _sinh_table(vr)
    r = wire_resistance(300.0, g_max)
    ours = solve_ir_drop(G, V, r, iv=tab, read_voltage=vr, tol=1e-12)
    ref = np.array([_nodal(G, v, r, h=tab, vr=vr) for v in V])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
    # and the nonlinearity matters here: the ohmic answer is different
    lin = solve_ir_drop(G, V, r)
    assert np.max(np.abs(lin - ours)) > 1e-3 * np.max(np.abs(ours))


def test_no_wire_resistance_is_plain_vmm(array86):
    G, V, _ = array86
    np.testing.assert_allclose(solve_ir_drop(G, V, 0.0), V @ G, rtol=1e-13)


def test_too_resistive_lines_fall_back_to_the_direct_solve():
    # r G n^2 = 16: the line iteration cannot contract here
    rng = np.random.default_rng(0)
    G = rng.uniform(0.5e-3, 1e-3, (40, 30))
    V = rng.uniform(-1, 1, (2, 40))
    with pytest.raises(CircuitError, match="did not converge"):
        solve_ir_drop(G, V, 10.0, fallback=False)
    ours = solve_ir_drop(G, V, 10.0)
    assert solve_ir_drop.last_fallbacks == 2
    ref = np.array([_nodal(G, v, 10.0) for v in V])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
    # the drop is huge here: a plain product would be far off
    assert np.max(np.abs(V @ G - ref)) > 0.5 * np.max(np.abs(ref))


def test_batch_larger_than_a_chunk_and_sweep_counts(array86):
    G, _, g_max = array86
    rng = np.random.default_rng(7)
    V = rng.uniform(-0.3, 0.3, (19, 8))  # 19 vectors: two full chunks of 8 and a padded one
    r = wire_resistance(2e3, g_max)
    tab = _sinh_table(0.3)
    ours = solve_ir_drop(G, V, r, iv=tab, read_voltage=0.3, tol=1e-12)
    ref = np.array([_nodal(G, v, r, h=tab, vr=0.3) for v in V])
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
    assert solve_ir_drop.last_fallbacks == 0 and np.all((solve_ir_drop.last_iterations >= 2) & (solve_ir_drop.last_iterations <= 6))


def test_loose_tolerance_single_full_sweep_stays_within_its_bound():
    """At the forward's tolerance (1e-6) and a weak drop the first sweep is a full one and suffices;
    the result still agrees with the sparse direct solve to well below the drop itself."""
    rng = np.random.default_rng(5)
    g_max = 14e-9
    G = rng.uniform(0.5, 1.0, (48, 40)) * g_max
    V = rng.uniform(-0.3, 0.3, (3, 48))
    r = wire_resistance(1e6, g_max)  # a 0.1 % drop
    ours = solve_ir_drop(G, V, r, tol=1e-6)
    assert np.all(solve_ir_drop.last_iterations == 1)
    ref = np.array([_nodal(G, v, r) for v in V])
    drop = np.max(np.abs(ref - V @ G))
    assert drop > 1e-4 * np.max(np.abs(ref))
    assert np.max(np.abs(ours - ref)) <= 2e-3 * drop
    # a tight tolerance takes the predictor + corrector path and is exact to it
    tight = solve_ir_drop(G, V, r, tol=1e-12)
    assert np.all(solve_ir_drop.last_iterations >= 2)
    np.testing.assert_allclose(tight, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
