r"""The FTJ thesis' qualitative result on a real network: direct mapping vs write-verify vs devices per weight.

A 784-256-128-10 MLP (ReLU) is trained on ``../shared/datasets/mnist`` (the real 5,000-image subset:
4,000 training, 1,000 test images; float accuracy about 94-95 %) with :func:`memfit.crossbar.train.train`
and cached under ``~/.cache/memfit/crossbar`` (``$MEMFIT_CACHE_DIR``).  It is mapped onto the
``ftj-balanced`` preset with the ``baseline-ftj`` configuration (seed 001, Table 3.1: 8-bit DAC/ADC,
out_noise 0.04, w_noise 0.035, column-wise scaling, drift with global compensation) and evaluated at
0 s, 1 h, 1 day and 1 year after programming, ``repeats`` Monte Carlo repeats (re-programmed each
time; common random numbers across settings), accuracy and normalized accuracy
:math:`A^* = 1 - (\epsilon - \epsilon_{FP})/(\epsilon_{chance} - \epsilon_{FP})` as mean +- s.e.m.:

* ``direct`` -- open-loop pulse programming from the reset state (``programming="direct"``: the
  pulse count the mean response says reaches the target, c2c noise per pulse, d2d step spread,
  no verify), one pair per weight;
* ``direct, 2 / 4 devices/weight`` -- the same with 2 or 4 pairs per weight (currents averaged), the
  devices of a weight on the two ladder levels around its target in the ratio that puts their mean
  nearest it (:func:`memfit.crossbar.programming.direct_split`: n devices, an n times finer ladder);
* ``direct, 2 binary + 1 analog`` -- the thesis' multi-device scheme (sec. 3.3.3): two binary
  slices and one analog slice per weight (three pairs), all programmed open-loop;
* ``direct, no drift compensation``;
* ``write-verify`` -- ISPP write-verify simulated pulse by pulse on the compact model of every
  device (d2d-drawn parameters), mapped onto the reliably reachable window;
* ``tGDP`` -- tile gradient-descent programming (the programming behind the thesis' Table 4.1),
  starting from an open-loop write;
* ``statistical`` -- the residual-error model from the preset's write-verify statistics (what
  the earlier "direct" arm used), for comparison.

Table (c) compares hardware-aware training (thesis sec. 3.4.4: 10 epochs with the baseline forward at
3x noise) with direct deployment of the float network, each programmed statistically and open-loop,
at 1 h and 1 year.  Table (d) shows what global drift compensation does where drift is visible: the VMM
error over time of the FTJ (negligible drift, as the thesis found) and of the PCM reference preset.

It also prints what makes direct mapping lose: the open-loop level ladder of the device in weight
units (its first step from reset and ``dw_min``, the step at mid-window) and the share of the
mapped weights that fall below half the first step (programmed as zero by one device; n devices per
weight resolve steps of 1/n of it).

Run: ``python -m benchmarks thesis [--smoke] [--repeats N]`` (default 10 repeats as in the thesis, smoke 2).
Skips with a message when the dataset or the preset is not available.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import numba
import numpy as np

from benchmarks._util import Headline, Table

#: Training recipe of the MLP (changing it changes the cache key).  Same as tests/crossbar/test_train.py.
RECIPE = {"sizes": [784, 256, 128, 10], "epochs": 10, "batch_size": 64, "lr": 1e-3, "lr_decay": 0.9,
          "weight_decay": 1e-4, "seed": 0}
TIMES = (0.0, 3600.0, 86400.0, 3.15e7)


def _network(data):
    """The trained MLP (from the cache when there)."""
    from memfit.crossbar.network import Network, NetworkError
    from memfit.crossbar.train import cache_dir, mlp, train

    key = hashlib.sha256(json.dumps({**RECIPE, "n_train": int(data.x_train.shape[0]),
                                     "y_sum": int(data.y_train.sum())}, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / f"mnist-mlp-{key}.npz"
    if path.is_file():
        try:
            return Network.load(path), f"cached {path}"
        except NetworkError:
            pass
    t0 = time.perf_counter()
    net = mlp(RECIPE["sizes"], seed=RECIPE["seed"])
    train(net, data.x_train, data.y_train, epochs=RECIPE["epochs"], batch_size=RECIPE["batch_size"],
          lr=RECIPE["lr"], lr_decay=RECIPE["lr_decay"], weight_decay=RECIPE["weight_decay"], seed=RECIPE["seed"])
    note = f"trained in {time.perf_counter() - t0:.1f} s"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        net.save(tmp)
        os.replace(tmp, path)
        note += f", cached as {path}"
    except OSError:
        note += " (cache not writable)"
    return net, note


def _ladder_report(net, dev, cfg) -> Table:
    """Open-loop ladder of the device in weight units and the share of weights it programs as zero."""
    from memfit.crossbar import mapping as mp
    from memfit.crossbar.programming import direct_levels

    dg = dev.g_max - dev.g_min
    L = (direct_levels(dev) - dev.g_min) / dg
    tab_up = dev.pulse_up
    mid = 0.5 * (dev.g_min + dev.g_max)
    dw_mid = float(np.interp(mid, tab_up["g"], np.abs(tab_up["dg_mean"]))) / dg
    sd_mid = float(np.interp(mid, tab_up["g"], tab_up["dg_std"])) / dg
    t = Table("Thesis (a): open-loop pulse ladder of ftj-balanced (weight units: 1 = one device's full window)",
              ["quantity", "value"])
    t.add("levels after 0, 1, 2, 3, 4, 5 SET pulses from reset", ", ".join(f"{v:.3f}" for v in L[:6]))
    t.add("first step from reset", f"{L[1]:.3f}")
    t.add("dw_min = mean step at mid-window", f"{dw_mid:.4f} ({2 * dw_mid:.3f} in aihwkit units, w in [-1, 1])")
    t.add("c2c std per pulse at mid-window", f"{sd_mid:.4f}")
    t.add("d2d relative std of the step (dg_dtod)", f"{float(tab_up.get('dg_dtod', 0.0)):.4f}")
    zero, total = 0, 0
    for layer in net.matrix_layers():
        W = np.asarray(layer.weight, float).reshape(layer.weight.shape[0], -1)
        for spec in mp.split_tiles(W.shape[0], W.shape[1], cfg.tile_size):
            w = W[spec.out_start:spec.out_stop, spec.in_start:spec.in_stop]
            wn = mp.normalize(w, mp.weight_scales(w, cfg.mapping, cfg.clip, cfg.clip_type))
            zero += int(np.sum(np.abs(wn) < 0.5 * L[1]))
            total += wn.size
    t.add("mapped |w| below half the first step (0 pulses)", f"{100 * zero / total:.1f} % of {total} weights")
    t.note("direct programming picks the level nearest to the target: with one device per weight every "
           f"normalized |w| < {0.5 * L[1]:.3f} gets no pulse (w = 0); n devices per weight split over the two "
           f"levels around it reach steps of {L[1]:.3f}/n there")
    return t


def _weight_errors(net, dev, base) -> Table:
    """Relative weight error of the first layer after programming, and its drift change at 1 year."""
    from memfit.crossbar.tile import AnalogMatrix

    layer = net.matrix_layers()[0]
    W = np.asarray(layer.weight, float)
    t = Table(f"Thesis (c): weights of layer {layer.name!r} ({W.shape[0]}x{W.shape[1]}) on ftj-balanced, one draw",
              ["setting", "||W(0) - W||/||W||", "||W(1 y) - W(0)||/||W(0)||"])
    cases = {"direct": base.replace(programming="direct"),
             "direct, 4 devices/weight": base.replace(programming="direct", devices_per_weight=4),
             "direct, 2 binary + 1 analog": base.replace(programming="direct", bit_slicing={"binary": 2}),
             "direct, no drift compensation": base.replace(programming="direct", drift_compensation=None),
             "tGDP": base.replace(programming="tgdp"),
             "tGDP, 3 devices/weight": base.replace(programming="tgdp", devices_per_weight=3)}
    for label, cfg in cases.items():
        am = AnalogMatrix(W, dev, cfg, rng=np.random.default_rng(0))
        am.program()
        w0, w1 = am.effective_weight(0.0), am.effective_weight(3.15e7)
        t.add(label, f"{np.linalg.norm(w0 - W) / np.linalg.norm(W):.4f}",
              f"{np.linalg.norm(w1 - w0) / np.linalg.norm(w0):.4f}")
    t.note("effective weights: conductances read back without converters or read noise, drift compensation applied")
    t.note("tGDP, 3 devices/weight: the pulses of a weight dealt out over its 3 pairs (thesis Fig. 4.4: 3 Balanced "
           "devices per crosspoint)")
    return t


def run(opts) -> list[Headline]:
    from memfit.errors import MemfitError

    smoke = bool(getattr(opts, "smoke", False))
    repeats = getattr(opts, "repeats", None) or (2 if smoke else 10)
    repeats = max(int(repeats), 2)
    try:
        from memfit.crossbar import evaluate as ev
        from memfit.crossbar.config import get_config
        from memfit.crossbar.data import load_mnist
        from memfit.crossbar.device import CrossbarDevice
        from memfit.data import shared_datasets as sd

        data = load_mnist(sd.root_dir() / "mnist")
        dev = CrossbarDevice.from_preset("ftj-balanced")
    except (MemfitError, ImportError) as exc:
        print(f"thesis: skipped ({exc})\n", flush=True)
        return []
    t_start = time.perf_counter()
    net, how = _network(data)
    acc_fp = net.accuracy(data.x_test, data.y_test)
    print(f"thesis: MLP 784-256-128-10 on {data.x_train.shape[0]} MNIST training images ({how}); float test "
          f"accuracy {100 * acc_fp:.2f} % on {data.x_test.shape[0]} images; numba threads "
          f"{numba.get_num_threads()}, repeats {repeats}", flush=True)
    base = get_config("baseline-ftj")
    _ladder_report(net, dev, base).print()
    _weight_errors(net, dev, base).print()

    configs = {
        "direct": base.replace(programming="direct"),
        "direct, 2 devices/weight": base.replace(programming="direct", devices_per_weight=2),
        "direct, 4 devices/weight": base.replace(programming="direct", devices_per_weight=4),
        "direct, 2 binary + 1 analog": base.replace(programming="direct", bit_slicing={"binary": 2}),
        "direct, no drift compensation": base.replace(programming="direct", drift_compensation=None),
        "write-verify": base.replace(programming="write_verify"),
        "tGDP": base.replace(programming="tgdp"),
        "statistical (preset WV statistics)": base.replace(programming="statistical"),
    }
    df = ev.evaluate_configs(net, data.x_test, data.y_test, dev, configs, times=TIMES, repeats=repeats,
                             progress=False)
    s = ev.summarize(df, values=("accuracy", "normalized_accuracy", "fraction_within_tolerance"))
    t = Table(f"Thesis (b): MNIST MLP on ftj-balanced, baseline-ftj, {repeats} repeats (mean ± s.e.m.)",
              ["setting", "time", "accuracy [%]", "A* [%]", "within tol. [%]"])
    for r in s.itertuples():
        t.add(r.setting, r.time, f"{100 * r.accuracy_mean:6.2f} ± {100 * r.accuracy_sem:.2f}",
              f"{100 * r.normalized_accuracy_mean:6.2f} ± {100 * r.normalized_accuracy_sem:.2f}",
              f"{100 * r.fraction_within_tolerance_mean:.1f}")
    t.note(f"float accuracy {100 * acc_fp:.2f} %; A* scaled between it and chance (10 %)")
    t.note("within tol.: devices whose programmed G is within the preset's write-verify tolerance "
           "(±2 % of the target) right after programming")
    t.note(f"section run time {time.perf_counter() - t_start:.1f} s")
    t.print()
    a = s.set_index(["setting", "time"])["normalized_accuracy_mean"]
    heads = _hwa_vs_direct(net, data, dev, base, repeats, smoke)
    heads += _drift_compensation_vmm(base, smoke)
    for label in ("write-verify", "direct, 4 devices/weight", "direct, 2 binary + 1 analog"):
        heads.append(Headline(f"thesis: A* {label} / A* direct at 1 h (MNIST MLP, ftj-balanced)",
                              float(a[(label, "1 h")] / a[("direct", "1 h")])))
    heads.append(Headline("thesis: A* direct with / without drift compensation at 1 year",
                          float(a[("direct", "1 year")] / a[("direct, no drift compensation", "1 year")])))
    return heads


def _hwa_vs_direct(net, data, dev, base, repeats: int, smoke: bool) -> list[Headline]:
    """Thesis (c): hardware-aware fine-tuning vs direct deployment of the float network (issue 13, item 1).

    The float MLP is fine-tuned for 10 epochs (Adam 5e-4, decay 0.9) with the baseline-ftj forward at
    3x its weight/output noise (:func:`memfit.crossbar.hwa.train_hwa`); both networks are deployed with the
    baseline's statistical write-verify programming and with open-loop direct programming and read at 1 h
    and 1 year (mean ± s.e.m. over the repeats, A* as in table (b)).
    """
    from memfit.crossbar import evaluate as ev
    from memfit.crossbar.hwa import train_hwa

    t0 = time.perf_counter()
    hwa = net.copy()
    train_hwa(hwa, data.x_train, data.y_train, base, device=dev, epochs=1 if smoke else 10, lr=5e-4, lr_decay=0.9,
              noise_scale=3.0, seed=0)
    t_train = time.perf_counter() - t0
    t = Table(f"Thesis (c): hardware-aware training vs direct deployment, MNIST MLP on ftj-balanced, {repeats} "
              "repeats (mean ± s.e.m.)", ["programming", "network", "time", "accuracy [%]", "A* [%]"])
    rows = {}
    for prog in ("statistical", "direct"):
        cfg = base.replace(programming=prog)
        for label, n in (("float-trained", net), ("HWA-trained", hwa)):
            df = ev.evaluate_accuracy(n, data.x_test, data.y_test, dev, cfg, times=(3600.0, 3.15e7),
                                      repeats=repeats, progress=False)
            for r in ev.summarize(df, values=("accuracy", "normalized_accuracy")).itertuples():
                t.add(prog, label, r.time, f"{100 * r.accuracy_mean:6.2f} ± {100 * r.accuracy_sem:.2f}",
                      f"{100 * r.normalized_accuracy_mean:6.2f} ± {100 * r.normalized_accuracy_sem:.2f}")
                rows[(prog, label, r.time)] = r.accuracy_mean
    t.note(f"HWA: 10 epochs at 3x noise in {t_train:.1f} s; float accuracy of the HWA network "
           f"{100 * hwa.accuracy(data.x_test, data.y_test):.2f} %; A* uses each network's own float accuracy")
    t.print()
    return [Headline(f"thesis: accuracy HWA-trained / float-trained, direct programming at {tm}",
                     float(rows[("direct", "HWA-trained", tm)] / rows[("direct", "float-trained", tm)]))
            for tm in ("1 h", "1 year")]


def _drift_compensation_vmm(base, smoke: bool) -> list[Headline]:
    """Thesis (d): what global drift compensation buys, measured where drift shows -- the VMM error.

    The classification accuracy hardly moves with a uniform conductance decay (argmax is scale invariant),
    so the effect is measured, as in the thesis' Fig. 4.8b, on the VMM error of a 512 x 512 Gaussian matrix
    with uniform inputs (:func:`memfit.crossbar.evaluate.vmm_error`): the FTJ (nu <= 0.002; the thesis: "even
    without it the drift does not produce noticeable diversions") and the PCM reference preset (nu ~ 0.05,
    aihwkit's PCM statistics), statistical programming, with and without global compensation.
    """
    from memfit.crossbar import evaluate as ev

    n = 128 if smoke else 512
    reps = 2 if smoke else 3
    cfg = base.replace(programming="statistical")
    t = Table(f"Thesis (d): VMM error of a {n}x{n} Gaussian matrix vs time, with and without global drift "
              f"compensation (mean of {reps} repeats)", ["device", "compensation", "0 s", "1 h", "1 year"])
    err = {}
    for dev in ("ftj-balanced", "pcm-reference"):
        for label, c in (("global", cfg), ("none", cfg.replace(drift_compensation=None))):
            df = ev.vmm_error(dev, c, n=n, times=(0.0, 3600.0, 3.15e7), repeats=reps)
            m = df.groupby("time", sort=False)["vmm_error"].mean()
            err[(dev, label)] = m
            t.add(dev, label, *(f"{100 * m[k]:.1f} %" for k in ("0 s", "1 h", "1 year")))
    t.print()
    return [Headline("thesis: VMM error at 1 year without / with global drift compensation, pcm-reference",
                     float(err[("pcm-reference", "none")]["1 year"] / err[("pcm-reference", "global")]["1 year"])),
            Headline("thesis: VMM error at 1 year without / with global drift compensation, ftj-balanced",
                     float(err[("ftj-balanced", "none")]["1 year"] / err[("ftj-balanced", "global")]["1 year"]))]
