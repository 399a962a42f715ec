r"""Hardware-aware (HWA) training: fine-tune a trained float network with the inference non-idealities.

The procedure of the FTJ thesis (seed 001, section 3.4.4), after Rasch et al., "Hardware-aware
training for large-scale and diverse deep learning inference workloads using in-memory computing-based
accelerators", Nat. Commun. 14, 5282 (2023), doi:10.1038/s41467-023-40770-4:

* start from a network trained in float (:func:`memfit.crossbar.train.train`);
* **forward pass**: every matrix layer (dense, convolution) runs through an analog tile
  (:class:`memfit.crossbar.tile.AnalogMatrix`) built from the *current* float weights with the
  configured non-idealities -- weight clipping and per-column scaling of the mapping, noise
  management, DAC, the device's read I-V, weight noise ``w_noise ||x_q||`` relative to the column's
  max |w| (the tile's normalized weights), output noise ``out_noise``, ADC with bound management.
  It is *the same code* as the inference forward (``Network.on_crossbar(...).forward``): one fresh
  tile per layer and mini-batch, random draws from generators derived exactly as
  :class:`~memfit.crossbar.network.AnalogNetwork` derives them, so with the same generator the
  training forward and the inference forward give identical outputs;
* **backward pass and update** in floating point: the quantizers (DAC, ADC) and the clipping pass
  the gradient straight through (Bengio et al., arXiv:1308.3432), i.e. a matrix layer's gradients are
  those of ``y = x W^T + b`` evaluated at the noisy forward activations; Adam updates the float weights.

What the training tile leaves out, and why: programming is ``"ideal"`` (the programming error and
faults are drawn once per chip at deployment, not per read), drift is off (``t = 0``; drift with
global compensation mostly rescales outputs).  ``noise_scale`` multiplies ``w_noise`` and
``out_noise`` during training (the thesis trains with 3x-6x the inference noise).
"""

from __future__ import annotations

import numpy as np

from memfit.crossbar import train as tr
from memfit.crossbar.config import CrossbarConfig, get_config
from memfit.crossbar.network import Network, NetworkError, _resolve_device, child_rngs

__all__ = ["training_config", "hwa_forward", "hwa_loss_and_gradients", "train_hwa"]


def training_config(config, noise_scale: float = 1.0) -> CrossbarConfig:
    """The configuration of the tiles used in the HWA forward pass.

    Parameters
    ----------
    config : CrossbarConfig or str
        The inference configuration.
    noise_scale : float
        Factor on ``w_noise`` and ``out_noise`` [1] (>= 0).

    Returns
    -------
    CrossbarConfig
        ``config`` with ideal programming, no faults, no drift (see the module docstring).
    """
    cfg = get_config(config)
    if not noise_scale >= 0:
        raise NetworkError(f"train_hwa: noise_scale must be >= 0, got {noise_scale}")
    return cfg.replace(name=f"{cfg.name} (hwa training)", programming="ideal", faults=False, drift=False,
                       drift_compensation=None, w_noise=cfg.w_noise * noise_scale,
                       out_noise=cfg.out_noise * noise_scale)


def _device(device):
    from memfit.crossbar.device import CrossbarDevice

    return CrossbarDevice.ideal() if device is None else _resolve_device(device)


def hwa_forward(net: Network, x: np.ndarray, config, device=None, rng=None) -> dict:
    """The HWA forward pass: every node's output with the matrix layers on fresh analog tiles.

    Parameters
    ----------
    net : Network
        No batch-norm layers (fold them first: ``net.fold_batchnorm()``).
    x : ndarray (batch, *input_shape)
    config : CrossbarConfig or str
        Used as given (pass it through :func:`training_config` for training).
    device : CrossbarDevice or preset, optional
        Default: the ideal ohmic device.
    rng : numpy.random.Generator or int, optional
        One child generator per matrix layer is drawn from it, as ``AnalogNetwork`` does.

    Returns
    -------
    dict
        Node name -> output (``"input"`` included), as ``Network.forward(return_all=True)``.
    """
    from memfit.crossbar.tile import AnalogMatrix

    cfg = get_config(config)
    dev = _device(device)
    layers = net.matrix_layers()
    mvm = {}
    for layer, r in zip(layers, child_rngs(rng, len(layers))):
        am = AnalogMatrix(layer.matrix(), device=dev, config=cfg, rng=r)
        am.program()
        mvm[layer.name] = (lambda rows, am=am: am.forward(rows).astype(np.float64))
    return net.forward(x, mvm=mvm, return_all=True)


def hwa_loss_and_gradients(net: Network, x: np.ndarray, labels: np.ndarray, config, device=None, rng=None):
    """Cross-entropy of the HWA forward pass and straight-through float gradients.

    Returns
    -------
    loss : float
        Mean cross-entropy [nats] of the noisy logits.
    logits : ndarray (batch, classes)
    grads : dict (layer name, array name) -> ndarray
    """
    return tr.backprop(net, hwa_forward(net, x, config, device, rng), labels)


def train_hwa(network: Network, x: np.ndarray, y: np.ndarray, config="baseline-ftj", device=None, epochs: int = 10,
              lr: float = 5e-4, seed: int = 0, batch_size: int = 32, noise_scale: float = 1.0,
              weight_decay: float = 0.0, lr_decay: float = 1.0, verbose: bool = False, progress: bool = False):
    """Fine-tune a trained float network in place with the inference non-idealities in the forward pass.

    Parameters
    ----------
    network : Network
        A trained float network (dense/convolution/activation/pooling layers; no batch-norm: fold it
        first with ``network.fold_batchnorm()``).  Its weights and biases are updated in place.
    x : ndarray (n, *input_shape)
    y : ndarray (n,) int
        Class labels.
    config : CrossbarConfig or str
        The inference configuration (see :func:`training_config` for what training keeps of it).
    device : CrossbarDevice or preset, optional
        The cross-point device (its read I-V is applied when the config says so); default ideal.
    epochs, batch_size : int
    lr : float
        Adam step size.
    seed : int
        Seeds the mini-batch order and the noise draws.
    noise_scale : float
        Factor on the training noise [1].
    weight_decay : float
        L2 coefficient on the weights.
    lr_decay : float
        Learning rate factor per epoch.
    verbose : bool
        Print one line per epoch.
    progress : bool
        A progress bar on stderr.

    Returns
    -------
    pandas.DataFrame
        One row per epoch: ``epoch``, ``loss`` (mean noisy training loss [nats]), ``train_accuracy``
        (of the noisy forward passes).
    """
    import pandas as pd

    from memfit.crossbar.layers import BatchNorm

    if any(isinstance(layer, BatchNorm) for layer in network.layers):
        raise NetworkError("train_hwa: the network has batch-norm layers; fold them first (net.fold_batchnorm())")
    x, y = tr._training_arrays(network, x, y, "train_hwa")
    cfg = training_config(config, noise_scale)
    dev = _device(device)
    rows, n = tr._epochs(network, x, y, lambda xb, yb, rng: hwa_loss_and_gradients(network, xb, yb, cfg, dev, rng),
                         epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, seed=seed,
                         lr_decay=lr_decay, verbose=verbose, who="train_hwa", progress=progress)
    network.meta["hwa_training"] = {"config": cfg.to_dict(), "epochs": epochs, "batch_size": batch_size, "lr": lr,
                                    "seed": seed, "noise_scale": noise_scale, "weight_decay": weight_decay,
                                    "lr_decay": lr_decay, "n_samples": int(n)}
    return pd.DataFrame(rows)
