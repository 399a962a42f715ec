r"""Training benchmarks (single thread): hardware-aware training and training on the array.

(a) one hardware-aware (HWA) training epoch (:func:`memfit.crossbar.hwa.train_hwa`: the inference
    forward of ``baseline-ftj`` on the ``ftj-balanced`` device, straight-through float backward,
    Adam) of the 784-256-128-10 MLP on the MNIST subset of ``../shared/datasets/mnist`` (4,000
    training images; the 8x8 digits 64-128-10 MLP when the shared data are absent), as a ratio to
    the same float epoch (:func:`memfit.crossbar.train.train`, same batches, same optimizer) --
    target <= 3x;
(b) one in-situ training step of a 512 x 512 tile (:class:`memfit.crossbar.insitu.InSituNetwork`,
    device ``ftj-constrained``, ``baseline-ftj`` reads), batch 256: array forward, transposed array
    backward, pulse update of the device pairs -- as a ratio to the same float SGD step
    (forward, backward, ``W -= lr dW``).  Deterministic (batch-aggregated pulse counts) target
    <= 10x with a learning rate that pulses (nearly) every device -- the worst case; the
    mixed-precision and stochastic pulse-coincidence (``bl = 31``) modes are reported beside it
    (aihwkit's pulsed update: 39-2900x depending on the pulse count, baselines_and_pitfalls.md).
"""

from __future__ import annotations

import numba
import numpy as np

from benchmarks._util import Headline, Table, fmt_time, measure


def _data(smoke: bool):
    """(x, y, sizes, description)."""
    from memfit.crossbar.data import load_digits

    try:
        from memfit.crossbar.data import load_mnist
        from memfit.data import shared_datasets as sd

        d = load_mnist(sd.root_dir() / "mnist")
        n = 512 if smoke else d.x_train.shape[0]
        return d.x_train[:n], d.y_train[:n], [784, 256, 128, 10], f"MNIST subset, {n} training images"
    except Exception as exc:  # no ../shared: the bundled digits
        d = load_digits()
        n = 256 if smoke else d.x_train.shape[0]
        return d.x_train[:n], d.y_train[:n], [64, 128, 10], f"8x8 digits, {n} training images (no MNIST: {exc})"


def run(opts) -> list[Headline]:
    from memfit.crossbar import train as tr
    from memfit.crossbar.device import CrossbarDevice
    from memfit.crossbar.hwa import train_hwa
    from memfit.crossbar.insitu import InSituNetwork
    from memfit.crossbar.layers import Dense
    from memfit.crossbar.network import Network

    numba.set_num_threads(1)
    smoke = bool(getattr(opts, "smoke", False))
    reps = getattr(opts, "repeats", None) or (1 if smoke else 3)
    heads: list[Headline] = []

    # ---------------------------------------------------------------- (a) HWA epoch vs float epoch
    x, y, sizes, desc = _data(smoke)
    dev = CrossbarDevice.from_preset("ftj-balanced")
    net0 = tr.mlp(sizes, seed=0)
    tab = Table(f"Training (a): one epoch of the {'-'.join(map(str, sizes))} MLP, {desc}, batch 32, Adam, "
                f"single thread", ["", "float epoch", "HWA epoch", "HWA / float", "target"])

    def float_epoch():
        tr.train(net0.copy(), x, y, epochs=1, batch_size=32, lr=1e-3, seed=0)

    def hwa_epoch():
        train_hwa(net0.copy(), x, y, "baseline-ftj", device=dev, epochs=1, batch_size=32, lr=1e-3, seed=0)

    t_f = measure(float_epoch, repeats=reps).median
    t_h = measure(hwa_epoch, repeats=reps).median
    tab.add("baseline-ftj on ftj-balanced", fmt_time(t_f), fmt_time(t_h), f"{t_h / t_f:.2f}x", "<= 3x")
    tab.note("HWA forward = the inference forward (8-bit DAC/ADC, noise and bound management, weight and output "
             "noise, the device's read I-V) on fresh tiles per layer and batch; straight-through backward.")
    tab.print()
    heads.append(Headline("HWA training epoch: speed vs float epoch (1/slowdown)", t_f / t_h, 1 / 3))

    # ---------------------------------------------------------------- (b) in-situ step vs float step
    n = 128 if smoke else 512
    B = 64 if smoke else 256
    rng = np.random.default_rng(0)
    W = rng.normal(0, np.sqrt(2.0 / n), (n, n))
    net = Network.sequential([Dense(W, np.zeros(n), name="fc")], input_shape=(n,))
    xb = rng.random((B, n))
    yb = rng.integers(0, n, B)
    fl = net.copy()
    lr_f = 0.01

    def float_step():
        _, _, grads = tr.loss_and_gradients(fl, xb, yb)
        for (name, k), g in grads.items():
            fl[name].arrays()[k][...] -= lr_f * g

    t_fs = measure(float_step, repeats=reps * 5).median
    tab = Table(f"Training (b): one in-situ step of a {n}x{n} tile (ftj-constrained, baseline-ftj reads), batch {B}, "
                "single thread", ["update", "lr", "devices pulsed", "pulses/step", "float step", "in-situ step",
                                  "ratio", "target"])
    for update, lr, target in (("deterministic", 200.0, 10.0), ("deterministic", 0.5, None),
                               ("mixed-precision", 200.0, None), ("stochastic", 0.5, None)):
        ins = InSituNetwork(net, "ftj-constrained", "baseline-ftj", update=update, lr=lr, rng=1)
        G0 = ins.layers["fc"].tiles[0].G.copy()
        ins.step(xb, yb)  # warm-up (numba compile) and the pulsed fraction of one step
        moved = float(np.mean(np.any(ins.layers["fc"].tiles[0].G != G0, axis=(0, 1, 2))))
        p0 = ins.pulse_counts()["fc"]["pulses"]
        t_s = measure(lambda: ins.step(xb, yb), repeats=max(1, reps if update == "stochastic" else reps * 3)).median
        steps = ins.steps - 1
        per_step = (ins.pulse_counts()["fc"]["pulses"] - p0) / max(steps, 1)
        tab.add(update, f"{lr:g}", f"{100 * moved:.0f} %", f"{per_step:.3g}", fmt_time(t_fs), fmt_time(t_s),
                f"{t_s / t_fs:.1f}x", "<= 10x" if target else "reported")
        if target:
            heads.append(Headline(f"in-situ step {n}x{n}, {update}, all devices pulsed: speed vs float step "
                                  "(1/slowdown)", t_fs / t_s, 1 / target))
        elif update == "stochastic":
            heads.append(Headline(f"in-situ step {n}x{n}, stochastic pulse coincidence (bl 31): speed vs float "
                                  "step (1/slowdown)", t_fs / t_s, None))
    tab.note("float step: forward, softmax cross-entropy backward, W -= lr dW (float64 numpy).  in-situ: forward and "
             "transposed backward read on the tile with baseline-ftj's converters and noise, then the pulses.")
    tab.print()
    return heads
