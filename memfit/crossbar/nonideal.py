r"""Fused forward kernels of an analog tile: everything around the matrix product in one pass each.

The forward pass of a tile (see :mod:`memfit.crossbar.tile`) is

    input side:   noise management (abs-max) -> DAC -> the device's read I-V   (per input element)
    array:        y = x_eff @ W_eff                                            (BLAS sgemm/dgemm)
    output side:  + N(0, out_noise^2 + w_noise^2 ||x_q||^2) -> ADC -> saturation flag for the
                  bound management -> slices recombined x alpha x column scale  (per output element)

:func:`prepare_inputs` and :func:`finish_outputs` do the input and output sides in one jitted loop
each, so the matrix product (left to BLAS: nothing beats it) is the only other pass over the data.
They reproduce the float32 arithmetic of the numpy reference path in ``tile.py`` operation by
operation (same roundings, so the same DAC codes and ADC levels); with noise on, the normals come
from :func:`standard_normals`.

Random numbers
--------------
Output noise needs one standard normal per output and read: about 300,000 per forward pass of a
784-256-128-10 MLP at batch 256, as much time as its matrix products if drawn at numpy's 12 ns a
float32 normal (its Python-level API, one call per array).  In-kernel we use

* the **SplitMix64** generator (Steele, Lea & Flood, "Fast splittable pseudorandom number
  generators", OOPSLA 2014, doi:10.1145/2660193.2660195; passes BigCrush): its n-th output is a
  fixed bit mix of ``key + n * gamma``, so a block of draws is one loop without a carried state,
  which the compiler vectorizes.  The 64-bit ``key`` is drawn per read from the tile's
  ``numpy.random.Generator``, so results are reproducible from the user's seed;
* the **Box-Muller transform** (Box & Muller, Ann. Math. Statist. 29, 610 (1958),
  doi:10.1214/aoms/1177706645): each 64-bit word gives ``u1`` (low 32 bits, in (0, 1]) and the
  angle (high 32 bits: quadrant and phase), and two normals ``sqrt(-2 ln u1) (cos, sin)``.  The
  logarithm and the sine/cosine are the Cephes float32 polynomials (S. L. Moshier, *Methods and
  Programs for Mathematical Functions*, 1989: ``logf`` on [sqrt(1/2), sqrt(2)), ``sinf``/``cosf``
  on [-pi/4, pi/4]; about 1 ulp), written out so that the loop vectorizes (there is no vector
  math library here).  ``u1 >= 2^-33`` cuts the tails at 6.8 sigma (a mass of 1e-11).

About 1.5 ns a normal here (a sequential generator with the ziggurat's per-draw branch: 2.5 ns).
Each normal is a fresh draw (nothing is precomputed or reused).  The distribution is tested in
``tests/crossbar/test_nonideal.py`` (moments, Kolmogorov-Smirnov, tail probabilities to 5 sigma,
independence of the pair).

Single draws inside other kernels (the per-pulse cycle-to-cycle noise of training on the array,
:mod:`memfit.crossbar.insitu`; the few outputs of a first read that :func:`screen_first_read` reads
to tell whether it saturates) use the **ziggurat** method (Marsaglia & Tsang, J. Stat. Softw.
5(8) (2000), doi:10.18637/jss.v005.i08; 256 layers on 32-bit draws laid out as numpy's float32
ziggurat, exact wedge and tail steps) on the sequential **xoshiro256**\*\* generator (Blackman &
Vigna, ACM TOMS 47, 36 (2021), doi:10.1145/3460772): :func:`_normal32`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from memfit._jit import kernel

# ----------------------------------------------------------------------------- ziggurat tables
_ZIG_R = 3.6541528853610088  # right edge of the base strip for 256 layers
_ZIG_V = 4.92867323399e-3  # area of every layer (base strip + tail, and each rectangle)


def _ziggurat_tables():
    """(ki uint32, wi float32, fi float64) for 256 layers on 23-bit abscissae.

    Layer 0 is the base strip ``[0, v/f(r)] x [0, f(r)]`` (x > r: the tail); layer k >= 1 is the
    rectangle ``[0, x_{k-1}] x [f(x_{k-1}), f(x_k)]`` whose part ``[0, x_k]`` lies under
    ``f(x) = exp(-x^2/2)``; ``x_0 = r``, ``x_255 = 0``.
    """
    f = lambda x: math.exp(-0.5 * x * x)  # noqa: E731
    x = np.empty(256)
    x[0] = _ZIG_R
    for k in range(1, 255):
        x[k] = math.sqrt(-2.0 * math.log(_ZIG_V / x[k - 1] + f(x[k - 1])))
    x[255] = 0.0
    # the constants close the ziggurat: the top rectangle ends at f = 1 (x = 0)
    assert abs(_ZIG_V / x[254] + f(x[254]) - 1.0) < 1e-9
    m = float(2 ** 23)
    ki = np.empty(256, dtype=np.uint32)
    wi = np.empty(256, dtype=np.float32)
    fi = np.empty(256, dtype=np.float64)
    w0 = _ZIG_V / f(_ZIG_R)
    ki[0] = np.uint32(math.floor(m * _ZIG_R / w0))
    wi[0] = np.float32(w0 / m)
    fi[0] = f(_ZIG_R)
    for k in range(1, 256):
        ki[k] = np.uint32(math.floor(m * x[k] / x[k - 1]))
        wi[k] = np.float32(x[k - 1] / m)
        fi[k] = f(x[k])
    return ki, wi, fi


_KI, _WI, _FI = _ziggurat_tables()


# ----------------------------------------------------------------------------- xoshiro256**
@njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(inline="always")
def _next64(s):
    """One 64-bit output of xoshiro256** (state ``s``, 4 x uint64, advanced in place)."""
    s0, s1, s2, s3 = s[0], s[1], s[2], s[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    s[0], s[1], s[2], s[3] = s0, s1, s2, s3
    return result


@njit(inline="always")
def _uniform(s):
    """Uniform double in (0, 1) from the top 53 bits."""
    return ((_next64(s) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


_KI64 = _KI.astype(np.int64)


@njit
def _zig_slow(s, r):
    """The ziggurat's rejection loop, entered with a 32-bit draw ``r`` that missed the fast path."""
    while True:
        idx = r & 0xFF
        rabs = r >> 9
        neg = (r >> 8) & 1
        x = float(np.float32(rabs) * _WI[idx])
        if rabs < _KI64[idx]:
            return np.float32(-x if neg else x)
        if idx == 0:  # tail beyond r (Marsaglia 1964)
            while True:
                xx = -math.log(_uniform(s)) / _ZIG_R
                yy = -math.log(_uniform(s))
                if yy + yy > xx * xx:
                    t = _ZIG_R + xx
                    return np.float32(-t if neg else t)
        fx = _FI[idx - 1] + _uniform(s) * (_FI[idx] - _FI[idx - 1])
        if fx < math.exp(-0.5 * x * x):
            return np.float32(-x if neg else x)
        r = np.int64(_next64(s) >> np.uint64(32))


@njit(inline="always")
def _normal32(s, r):
    """Standard normal (float32) from the 32 random bits in ``r`` (int64): fast path inline."""
    idx = r & 0xFF
    rabs = r >> 9
    x = np.float32(rabs) * _WI[idx] * np.float32(1 - 2 * ((r >> 8) & 1))
    if rabs < _KI64[idx]:
        return x
    return _zig_slow(s, r)


# ----------------------------------------------------------------------------- bulk normals
_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's Weyl increment (odd; 2^64 / golden ratio)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
#: pairs of normals per block of :func:`_fill` (the length of its scratch arrays)
FILL_PAIRS = 128
#: length of a normal-stream state (uint64): the SplitMix64 key and the counter of words drawn
STREAM_WORDS = 2


@njit(inline="always")
def _mix64(z):
    """SplitMix64's output function (Stafford's mix 13 of the MurmurHash3 finalizer)."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(inline="always")
def _box_muller(m, e, lo, hi, a, f32):
    """The two standard normals of one Box-Muller pair.

    ``u1`` in (0, 1] as ``2^e m`` with ``m`` in [1/2, 1) (float32 ``e`` and ``m``, split off its bit
    pattern by :func:`_fill`); the angle as ``q pi/2 + pi/4 + a``: ``q = 2 hi + lo`` quarter turns
    (``hi``, ``lo`` 0.0 or 1.0) and the phase ``a`` in [-pi/4, pi/4).
    """
    # ln u1 = e ln 2 + ln m, m in [sqrt(1/2), sqrt(2)) (Cephes logf)
    low = m < f32(0.70710678)
    e = e - (f32(1.0) if low else f32(0.0))
    x = (m + m if low else m) - f32(1.0)
    z = x * x
    y = ((((((((f32(7.0376836292e-2) * x - f32(1.1514610310e-1)) * x + f32(1.1676998740e-1)) * x
              - f32(1.2420140846e-1)) * x + f32(1.4249322787e-1)) * x - f32(1.6668057665e-1)) * x
            + f32(2.0000714765e-1)) * x - f32(2.4999993993e-1)) * x + f32(3.3333331174e-1)) * x * z
    ln_u = x + (y + f32(-2.12194440e-4) * e - f32(0.5) * z) + f32(0.693359375) * e
    rad = np.sqrt(f32(-2.0) * ln_u)
    # sin/cos of the phase (Cephes sinf/cosf on [-pi/4, pi/4]), then the quadrant's rotation
    a2 = a * a
    s = ((f32(-1.9515295891e-4) * a2 + f32(8.3321608736e-3)) * a2 - f32(1.6666654611e-1)) * a2 * a + a
    c = (((f32(2.443315711809948e-5) * a2 - f32(1.388731625493765e-3)) * a2 + f32(4.166664568298827e-2)) * a2 * a2
         - f32(0.5) * a2 + f32(1.0))
    h = f32(0.70710678) * rad
    cq = h * (c - s)  # rad cos(pi/4 + a)
    sq = h * (c + s)  # rad sin(pi/4 + a)
    # q quarter turns: (cos, sin) -> (cos, sin), (-sin, cos), (-cos, -sin), (sin, -cos)
    first = cq + lo * (sq - cq)
    second = sq + lo * (cq - sq)
    return first * (f32(1.0) - f32(2.0) * abs(lo - hi)), second * (f32(1.0) - f32(2.0) * hi)


@njit(fastmath={"contract"}, error_model="numpy", inline="always")
def _pairs(key, ctr, nw, buf, k, angle, u1, ubits, second, mbits, mant, lo, hi):
    """The steps of :func:`_fill` for ``nw`` pairs: first normals to ``buf[k:k + nw]``, second ones to
    ``second[:nw]``.  ``ubits`` and ``mant`` are the int32 and float32 views of ``u1`` and ``mbits``."""
    f32 = np.float32
    for j in range(nw):
        w = _mix64(key + (ctr + np.uint64(j)) * _GAMMA)
        angle[j] = np.uint32(w >> np.uint64(32))
        # (r + 1/2) 2^-32 in float32: (0, 1], never 0
        u1[j] = f32(w & np.uint64(0xFFFFFFFF)) * f32(2.3283064365386963e-10) + f32(1.1641532182693481e-10)
    for j in range(nw):
        b = ubits[j]
        mbits[j] = (b & np.int32(0x007FFFFF)) | np.int32(0x3F000000)  # 1/2 (1 + f): [1/2, 1)
        second[j] = f32((b >> np.int32(23)) - np.int32(126))
    for j in range(nw):
        r2 = angle[j]
        hi[j] = f32(r2 >> np.uint32(31))
        lo[j] = f32((r2 >> np.uint32(30)) & np.uint32(1))
        u1[j] = (f32(r2 & np.uint32(0x3FFFFFFF)) * f32(9.313225746154785e-10) - f32(0.5)) * f32(1.5707963267948966)
    for j in range(nw):
        z0, z1 = _box_muller(mant[j], second[j], lo[j], hi[j], u1[j], f32)
        buf[k + j] = z0
        second[j] = z1


@njit(fastmath={"contract"}, error_model="numpy")
def _fill(state, buf, n, angle, u1, second, mbits, lo, hi):
    """``buf[:n]`` = standard normals (float32) from the stream ``state`` (see :func:`seed_stream`).

    In blocks of ``2 FILL_PAIRS``, each step one branch-free loop that the compiler vectorizes:

    1. the SplitMix64 words, split into ``u1`` (float32 in (0, 1], from the low halves) and the
       angle bits (uint32, the high halves);
    2. ``u1``'s bit pattern into exponent and mantissa (``mbits``: the mantissa as the bits of a
       float32 in [1/2, 1); ``second``: the exponent), the angle bits into quadrant (``hi``,
       ``lo``) and phase (into ``u1``, whose bits are used up);
    3. the Box-Muller pairs: first normals to ``buf``, second ones to ``second``;
    4. the second normals copied behind the first.

    Split this way, every integer operation sits in a loop of its own (numba widens 32-bit integer
    arithmetic to 64 bits, which costs a conversion per lane inside the float loop: the single
    loop took 30 % longer) and every access is contiguous.  The scratch arrays have
    ``FILL_PAIRS`` elements (``mbits`` int32, ``angle`` uint32, the others float32); ``state[1]``
    (the counter) advances by the words used.

    Fast-math flag ``contract`` only (fused multiply-adds: 20 % faster), not ``reassoc``: with
    reassociation the vectorized body and the scalar remainder rounded differently, and which
    elements took which path depended on the buffer's alignment -- the same seed gave results
    differing in the last bit.
    """
    key = state[0]
    ctr = state[1]
    ubits = u1.view(np.int32)
    mant = mbits.view(np.float32)
    k = 0
    while k + 2 * FILL_PAIRS <= n:  # full blocks: a constant trip count (20 % faster)
        _pairs(key, ctr, FILL_PAIRS, buf, k, angle, u1, ubits, second, mbits, mant, lo, hi)
        for j in range(FILL_PAIRS):
            buf[k + FILL_PAIRS + j] = second[j]
        ctr += np.uint64(FILL_PAIRS)
        k += 2 * FILL_PAIRS
    if k < n:  # the last, partial block
        nw = (n - k + 1) // 2
        _pairs(key, ctr, nw, buf, k, angle, u1, ubits, second, mbits, mant, lo, hi)
        for j in range(n - k - nw):
            buf[k + nw + j] = second[j]
        ctr += np.uint64(nw)
    state[1] = ctr


@njit(cache=True)
def _fill_normals(state, out):
    p = FILL_PAIRS
    _fill(state, out.reshape(out.size), out.size, np.empty(p, dtype=np.uint32), np.empty(p, dtype=np.float32),
          np.empty(p, dtype=np.float32), np.empty(p, dtype=np.int32), np.empty(p, dtype=np.float32),
          np.empty(p, dtype=np.float32))


def seed_state(rng: np.random.Generator) -> np.ndarray:
    """A fresh xoshiro256** state (4 x uint64, not all zero) drawn from ``rng`` (its raw 64-bit words:
    ``integers()`` took 40 us)."""
    while True:
        s = rng.bit_generator.random_raw(4)
        if s.any():
            return s


def draw_normals(state: np.ndarray, shape) -> np.ndarray:
    """float32 standard normals of ``shape`` from the stream ``state`` (advanced).

    The draws are made in a call of their own, not inside :func:`finish_outputs`: compiled into
    that kernel's row loop the generator did not vectorize (1 ms instead of 0.35 ms for the
    outputs of a 256 x 512 read), depending on which of the two numba happened to compile first.
    """
    out = np.empty(shape, dtype=np.float32)
    _fill_normals(state, out)
    return out


def seed_stream(rng: np.random.Generator) -> np.ndarray:
    """A fresh normal-stream state for :func:`_fill`: a SplitMix64 key drawn from ``rng`` and the
    word counter 0 (``STREAM_WORDS`` uint64)."""
    return np.array([rng.bit_generator.random_raw(), 0], dtype=np.uint64)  # (integers(): 4x slower)


def standard_normals(shape, rng: np.random.Generator) -> np.ndarray:
    """float32 standard normals of ``shape`` from the in-kernel generator, seeded from ``rng``."""
    return draw_normals(seed_stream(rng), shape)


# ----------------------------------------------------------------------------- fused input side
@njit(inline="always")
def _abs_max(bits, o, n, box):
    """max |v| of the float32 elements ``o .. o + n - 1`` (``o`` unsigned) of a flat array given as
    its int32 view ``bits`` (exact for NaN-free input).

    Non-negative IEEE floats order as their bit patterns do, so the maximum is taken over the
    patterns with the sign bit cleared: an integer max vectorizes, a float max reduction did not
    (numba's fastmath flags did not reach the comparison: 1 ns per element).  ``box`` is a
    1-element int32 scratch for the bit cast back.
    """
    m = np.int32(0)
    for i in range(n):
        # the cast keeps the maximum in 32 bits (numba widens ``&`` to int64: 2.7x slower)
        m = max(m, np.int32(bits[o + np.uint64(i)] & np.int32(0x7FFFFFFF)))
    box[0] = m
    return box.view(np.float32)[0]


@njit(inline="always")
def _count_at_bound(v, bound):
    """How many ``|v| >= bound`` (an integer sum: vectorizes without fastmath, unlike a max)."""
    c = 0
    for i in range(v.shape[0]):
        c += abs(v[i]) >= bound
    return c


@njit(fastmath=True, inline="always")
def _sum_sq(v, o, n):
    """sum of the squares of the float32 elements ``o .. o + n - 1`` (``o`` unsigned) of the flat
    array ``v`` (fastmath: vectorized, partial sums in another order than a plain loop)."""
    acc = np.float32(0.0)
    for i in range(n):
        e = v[o + np.uint64(i)]
        acc += e * e
    return acc


@njit(cache=True, error_model="numpy")
def prepare_inputs(x, c0, rows, alpha, first, abs_max, dac, in_bound, dac_step, dac_inv_step, lut, lut_k, xe, xsq):
    """Input side of one read of the rows ``rows`` of ``x[:, c0:c0 + n_in]`` (``x`` a C-contiguous
    float32 (batch, in) array, ``n_in = xe.shape[1]``: a tile's inputs are a column range of the
    layer's; ``xe`` C-contiguous too).

    ``first``: compute ``alpha[b]`` = max|x[b]| for the listed rows (noise management ``abs_max``;
    1 for all-zero rows) or 1 (no management).  Then for each listed row ``b``: ``x/alpha`` -> DAC
    (clip to ``+-in_bound``, round to multiples of ``dac_step``; skipped when ``dac`` is False) ->
    ``xe[k]`` = the read I-V at the DAC level (``lut[code + lut_k]`` when ``lut`` is not empty, else
    the level itself); ``xsq[k] = sum xq^2`` (for the weight noise; with the DAC, the integer sum of
    the squared codes times ``dac_step^2``).  Same float32 operations as the numpy reference for
    ``alpha``, the DAC codes and ``xe``.

    The whole input and the offset are passed, not the column slice ``x[:, c0:c1]``: numba types
    the rows of a 2-D slice as strided and does not vectorize over them, while ``x[b, c0:c1]`` of a
    C-contiguous ``x`` is contiguous.  Every step is one branch-free vectorized loop (about 0.55 ns
    per element in all, the lookup's gather being a third of it).
    """
    n_in = xe.shape[1]
    one = np.float32(1.0)
    lo = np.float32(-in_bound)
    hi = np.float32(in_bound)
    fstep = np.float32(dac_step)
    finv = np.float32(dac_inv_step)
    use_lut = lut.shape[0] > 0
    k32 = np.int32(lut_k)
    code = np.empty(n_in, dtype=np.int32)
    box = np.empty(1, dtype=np.int32)
    # flat views indexed with unsigned offsets: no row view per row (x[b, c0:c1] and xe[k] cost
    # 30-90 ns a row), no negative-index wrap-around test per element
    xf = x.reshape(x.size)
    xbits = xf.view(np.int32)
    ef = xe.reshape(xe.size)
    u = np.uint64
    max_code = int(abs(in_bound) * abs(dac_inv_step)) + 1 if dac else 0
    sq32 = max_code * max_code * n_in < 2 ** 31  # the sum of squared codes fits in an int32
    for k in range(rows.shape[0]):
        b = rows[k]
        xo = u(b * x.shape[1] + c0)  # offset of the row's first input in xf
        eo = u(k * n_in)  # and of its output in ef
        if first:
            a = one
            if abs_max:
                a = _abs_max(xbits, xo, n_in, box)
                if a == 0:
                    a = one
            alpha[b] = a
        inv = one / alpha[b]
        if not dac:
            for i in range(n_in):
                ef[eo + u(i)] = xf[xo + u(i)] * inv
            xsq[k] = _sum_sq(ef, eo, n_in)
            continue
        for i in range(n_in):
            v = xf[xo + u(i)] * inv
            v = lo if v < lo else v
            v = hi if v > hi else v
            code[i] = np.int32(np.rint(v * finv))  # the DAC code
        if sq32:  # a 32-bit sum (numba widens int32 arithmetic to int64: 1.7x slower)
            isq32 = np.int32(0)
            for i in range(n_in):
                c = code[i]
                isq32 = np.int32(isq32 + np.int32(c * c))
            xsq[k] = np.float32(isq32) * (fstep * fstep)
        else:
            isq = 0
            for i in range(n_in):
                isq += code[i] * code[i]
            xsq[k] = np.float32(isq) * (fstep * fstep)
        if use_lut:  # what the rows pass: the read I-V at the DAC level, by lookup
            for i in range(n_in):
                ef[eo + u(i)] = lut[np.uint32(code[i] + k32)]
        else:  # the DAC level itself
            for i in range(n_in):
                ef[eo + u(i)] = np.float32(code[i]) * fstep


# ----------------------------------------------------------------------------- fused output side
@kernel(error_model="numpy")  # allocates nothing: no reference counting of its per-row views
def finish_outputs(y, rows, cols, xsq, out_noise2, w_noise2, z, adc, out_bound, adc_step, adc_inv_step,
                   check_sat, sig, alpha, colscale, out, sat):
    """Output side of one read: noise, ADC, saturation flags, recombination and scaling.

    ``y`` (S, n_rows, n_cols) are the float32 pre-noise slice outputs of the rows ``rows`` and the
    output columns ``cols`` (all of them, or a block of them: see the bound management in
    :meth:`memfit.crossbar.tile.AnalogMatrix._tile_forward_fused`).  Adds
    ``sqrt(out_noise2 + w_noise2 * xsq[k]) * z`` with the standard normals ``z`` (same shape as
    ``y``, from :func:`draw_normals`; an empty array for no noise), flags ``sat[k]`` when an
    output reaches ``+-out_bound`` (when ``check_sat``), quantizes (when ``adc``) and writes
    ``out[b, c] = ((sum_s sig[s] q[s, k, j]) * alpha[b]) * colscale[c]``, ``c = cols[j]``, all in
    float32 (``sig`` float32), as the numpy reference computes it.
    A re-read of a row (bound management) overwrites its earlier read.

    The common read -- one slice of significance 1, all columns, noise and ADC on -- is one
    branch-free pass per row (0.45 ns per output, against 0.65 ns for the step-by-step loops).
    (Numba's ``float()`` of a float32 is a float32: the arithmetic here is float32 throughout.)
    """
    S, nr, n_out = y.shape
    lo = np.float32(-out_bound)
    hi = np.float32(out_bound)
    fstep = np.float32(adc_step)
    finv = np.float32(adc_inv_step)
    on2 = np.float32(out_noise2)
    wn2 = np.float32(w_noise2)
    noise = z.size > 0
    identity = n_out == out.shape[1]  # all output columns, in order (not a column block)?
    for j in range(n_out):
        if cols[j] != j:
            identity = False
            break
    if S == 1 and sig[0] == 1 and identity and noise and adc:
        for k in range(nr):
            b = rows[k]
            std = np.sqrt(on2 + wn2 * xsq[k])
            yk = y[0, k]
            zk = z[0, k]
            ob = out[b]
            a = alpha[b]
            c = 0
            for j in range(n_out):
                v = yk[j] + std * zk[j]
                c += abs(v) >= hi
                ob[j] = (np.rint(min(max(v, lo), hi) * finv) * fstep) * a * colscale[j]
            sat[k] = check_sat and c > 0
        return
    for k in range(nr):
        b = rows[k]
        flag = False
        a = alpha[b]
        std = np.sqrt(on2 + wn2 * xsq[k]) if noise else np.float32(0.0)
        for s in range(S):
            yk = y[s, k]
            # one branch-free loop per step (noise, saturation check, ADC): the per-element
            # branches kept a single loop scalar
            if noise:
                zk = z[s, k]
                for j in range(n_out):
                    yk[j] = yk[j] + std * zk[j]
            if check_sat and _count_at_bound(yk, hi) > 0:
                flag = True
            if adc:
                for j in range(n_out):
                    yk[j] = np.rint(min(max(yk[j], lo), hi) * finv) * fstep
        sat[k] = flag
        if S == 1:
            s0 = sig[0]
            if identity:  # contiguous: vectorizes (the indexed store did not; 6x slower)
                yk = y[0, k]
                ob = out[b]
                for j in range(n_out):
                    ob[j] = yk[j] * s0 * a * colscale[j]
            else:
                for j in range(n_out):
                    c = cols[j]
                    out[b, c] = y[0, k, j] * s0 * a * colscale[c]
        else:
            for j in range(n_out):
                c = cols[j]
                acc = np.float32(0.0)
                for s in range(S):
                    acc += sig[s] * y[s, k, j]
                out[b, c] = acc * a * colscale[c]


# ----------------------------------------------------------------------------- bound management: screening
#: float32 unit roundoff (2^-24): a float32 sum of n products is off its exact value by at most
#: ``n u sum|x_i w_i|`` (to first order) in any summation order -- BLAS's or this module's
_U32 = 2.0 ** -24


@njit(cache=True, error_model="numpy", fastmath=True)
def _dot_abs(xf, xo, wf, wo, n):
    """``(sum x_i w_i, sum |x_i w_i|)`` in float32 (any order: see :data:`_U32`) of ``x = xf[xo:xo + n]``
    and ``w = wf[wo:wo + n]`` (flat arrays, unsigned offsets: no row views, no wrap-around tests)."""
    acc = np.float32(0.0)
    mag = np.float32(0.0)
    u = np.uint64
    for i in range(n):
        t = xf[u(xo) + u(i)] * wf[u(wo) + u(i)]
        acc += t
        mag += abs(t)
    return acc, mag


@njit(cache=True, error_model="numpy")
def screen_first_read(xe, wt, yb, first, xsq, out_noise2, w_noise2, out_bound, noise, max_cand, state, sat,
                      cand_j, cand_z, n_cand, scratch):
    """Which vectors' first read saturates, told from a few of its outputs (iterative bound management).

    Bound management reads a vector at input scale ``alpha`` and, when any output reaches
    ``+-out_bound``, again at ``2 alpha``.  When nearly every vector saturates (the caller decides:
    most did in the tile's last call), the read at ``2 alpha`` of all vectors (``yb``, pre-noise,
    one BLAS product) comes first; its outputs tell which outputs of the ``alpha`` read are the
    likeliest to saturate -- about twice as large.  For each row ``k`` this reads the ``alpha`` outputs
    ``j`` in decreasing order of ``|yb[k, j]|``, at most ``max_cand`` of them: ``y = xe[k] . wt[j]``
    plus its own output noise ``sqrt(out_noise2 + w_noise2 xsq[k]) z`` (a fresh standard normal
    ``z`` from the xoshiro256** ``state``, when ``noise``), and stops at the first that saturates
    beyond the rounding of the product and the noise addition, ``|y| (1 - 2u) - 2 n u sum|xe w| >=
    out_bound`` (``u`` = :data:`_U32`: the BLAS product of the same read saturates too):
    ``sat[k] = True``.  The other rows stay undecided (``sat[k] = False``): the caller reads them in
    full, re-using the noise drawn here for the outputs read here (``cand_j[k, :n_cand[k]]``,
    ``cand_z``), so that every output of a read has exactly one noise draw, as in a plain read.  Each output's noise being independent, reading the
    outputs in any order and stopping at the first saturation decides "the read saturates" with the
    same probability as reading them all.

    ``wt`` is the (n_out, n_in) C-contiguous transposed weight slice; ``first[k]`` the index of the
    largest ``|yb[k, j]|`` (``np.argmax``, SIMD: twice as fast as a loop here); ``scratch`` a float32
    array of n_out.
    """
    nr, n_in = xe.shape
    n_out = wt.shape[0]
    bound = np.float32(out_bound)
    on2 = np.float32(out_noise2)
    wn2 = np.float32(w_noise2)
    gam = np.float32(2.0 * n_in * _U32)
    xf = xe.reshape(xe.size)
    wf = wt.reshape(wt.size)
    for k in range(nr):
        sat[k] = False
        n_cand[k] = 0
        std = np.sqrt(on2 + wn2 * xsq[k])
        for c in range(min(max_cand, n_out)):
            if c == 0:  # (nearly always the only one)
                best = first[k]
            else:
                if c == 1:  # the ranking of the others, from the second candidate on
                    for j in range(n_out):
                        scratch[j] = abs(yb[k, j])
                    scratch[cand_j[k, 0]] = np.float32(-1.0)
                best = 0
                bv = scratch[0]
                for j in range(1, n_out):
                    if scratch[j] > bv:
                        bv = scratch[j]
                        best = j
                scratch[best] = np.float32(-1.0)
            y, mag = _dot_abs(xf, k * n_in, wf, best * n_in, n_in)
            z = _normal32(state, np.int64(_next64(state) >> np.uint64(32))) if noise else np.float32(0.0)
            cand_j[k, c] = best
            cand_z[k, c] = z
            n_cand[k] = c + 1
            v = abs(y + std * z)
            if v - np.float32(2.0 * _U32) * v - gam * mag >= bound:
                sat[k] = True
                break


@njit(cache=True)
def put_candidate_noise(z, cand_j, cand_z, n_cand):
    """``z[0, k, cand_j[k, c]] = cand_z[k, c]`` for ``c < n_cand[k]``: the noise of the outputs that
    :func:`screen_first_read` already read, in the full read of the undecided rows."""
    for k in range(cand_j.shape[0]):
        for c in range(n_cand[k]):
            z[0, k, cand_j[k, c]] = cand_z[k, c]
