"""Data: the bundled 8x8 digits, IDX files (gzipped or not) with located errors, the shared MNIST subset."""

import gzip
import struct

import numpy as np
import pytest

from memfit.crossbar.data import load_digits, load_mnist, read_idx
from memfit.errors import MeasurementError


def _idx_bytes(a: np.ndarray, code: int) -> bytes:
    dt = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    return struct.pack(">HBB", 0, code, a.ndim) + b"".join(struct.pack(">I", s) for s in a.shape) + \
        a.astype(dt).tobytes()


def test_digits_split_is_stratified_and_scaled():
    d = load_digits(test_fraction=0.2, seed=0)
    assert d.x_train.shape[1:] == (64,) and len(d.x_train) + len(d.x_test) == 1797
    assert 0.0 <= d.x_train.min() and d.x_train.max() == 1.0
    counts = np.bincount(d.y_test, minlength=10)
    full = np.bincount(np.concatenate([d.y_train, d.y_test]))
    np.testing.assert_array_equal(counts, np.round(0.2 * full))          # 20 % of every class
    d2 = load_digits(seed=0, image=True)
    assert d2.x_test.shape[1:] == (1, 8, 8)
    np.testing.assert_array_equal(d2.x_test.reshape(len(d2.x_test), -1), d.x_test)   # same split, same seed
    assert not np.array_equal(load_digits(seed=1).y_test, d.y_test)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_roundtrip(tmp_path, gz):
    rng = np.random.default_rng(0)
    for a, code in ((rng.integers(0, 256, (5, 4, 3)).astype(np.uint8), 0x08),
                    (rng.integers(-1000, 1000, (7,)).astype(np.int32), 0x0C),
                    (rng.normal(size=(2, 3)).astype(np.float32), 0x0D)):
        p = tmp_path / f"a{code}.idx"
        raw = _idx_bytes(a, code)
        p.write_bytes(gzip.compress(raw) if gz else raw)          # content decides, not the name
        np.testing.assert_array_equal(read_idx(p), a)


def test_read_idx_errors_name_the_file(tmp_path):
    p = tmp_path / "images.idx"
    p.write_bytes(struct.pack(">I", 0x12345678) + b"\x00" * 8)
    with pytest.raises(MeasurementError, match=r"images\.idx: bad magic number 0x12345678"):
        read_idx(p)
    p.write_bytes(_idx_bytes(np.zeros((3, 2, 2), np.uint8), 0x08)[:-1])      # one byte short
    with pytest.raises(MeasurementError, match=r"images\.idx: header says shape \(3, 2, 2\).*11 data bytes"):
        read_idx(p)
    with pytest.raises(MeasurementError, match="does not exist"):
        read_idx(tmp_path / "nope")


def _write_mnist(folder, n_train=6, n_test=4, n_labels_test=None, image_code=0x08):
    rng = np.random.default_rng(1)
    names = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}        # gzipped and plain mixed
    for split, n in (("train", n_train), ("test", n_test)):
        img = rng.integers(0, 256, (n, 28, 28))
        lab = rng.integers(0, 10, n if split == "train" or n_labels_test is None else n_labels_test)
        for name, raw in zip(names[split], (_idx_bytes(img, image_code), _idx_bytes(lab, 0x08))):
            (folder / name).write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    return folder


def test_load_mnist_small_files(tmp_path):
    d = load_mnist(_write_mnist(tmp_path))
    assert d.x_train.shape == (6, 784) and d.x_test.shape == (4, 784)
    assert d.x_train.max() <= 1.0 and d.y_train.dtype == np.int64
    assert load_mnist(tmp_path, image=True).x_test.shape == (4, 1, 28, 28)


def test_load_mnist_errors(tmp_path):
    with pytest.raises(MeasurementError, match="does not exist"):
        load_mnist(tmp_path / "missing")
    with pytest.raises(MeasurementError, match="no train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    bad = tmp_path / "counts"
    bad.mkdir()
    _write_mnist(bad, n_labels_test=3)
    with pytest.raises(MeasurementError, match=r"t10k-images-idx3-ubyte holds 4 images but .*t10k-labels-idx1-ubyte "
                                               r"holds 3 labels"):
        load_mnist(bad)
    bad2 = tmp_path / "ints"
    bad2.mkdir()
    _write_mnist(bad2, image_code=0x0C)
    with pytest.raises(MeasurementError, match=r"train-images-idx3-ubyte\.gz: expected N x H x W uint8"):
        load_mnist(bad2)


def _mnist_root():
    from memfit.data import shared_datasets as sd

    try:
        root = sd.root_dir() / "mnist"
    except MeasurementError:
        return None
    return root if root.is_dir() else None


@pytest.mark.skipif(_mnist_root() is None, reason="../shared/datasets/mnist not found")
def test_shared_mnist_subset():
    d = load_mnist(_mnist_root())
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    np.testing.assert_array_equal(np.bincount(d.y_train), [400] * 10)     # SOURCE.md: 400 per class
    np.testing.assert_array_equal(np.bincount(d.y_test), [100] * 10)
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
