"""Image-classification data for the crossbar engine: the bundled 8x8 digits and MNIST IDX files.

* :func:`load_digits` -- scikit-learn's bundled 8x8 handwritten digits (1,797 images, read from
  files inside scikit-learn, no download), split into train/test with a fixed seed.
* :func:`load_mnist` -- MNIST (or any data set in the same layout) from the four IDX files in a
  folder the user gives, gzipped or not.
* :func:`read_idx` -- one IDX file as a numpy array, with errors that name the file.

Pixels come back as float64 in [0, 1], labels as int64.  IDX format: LeCun et al., "The MNIST
database of handwritten digits" (http://yann.lecun.com/exdb/mnist/): a big-endian magic number
``0x0000TTNN`` (TT the element type, NN the number of dimensions), NN big-endian uint32 sizes,
then the data in C order.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memfit.errors import MeasurementError

__all__ = ["ImageDataset", "load_digits", "load_mnist", "read_idx", "MNIST_FILES"]

#: IDX element type code -> numpy big-endian dtype.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: split -> (images file, labels file), the names of the original MNIST distribution.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass
class ImageDataset:
    """Train and test images with labels.

    Attributes
    ----------
    x_train, x_test : ndarray (n, *sample_shape) float64 in [0, 1]
    y_train, y_test : ndarray (n,) int64
    name : str
    n_classes : int
    meta : dict
        Source, citation, and how the split was made.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    n_classes: int = 10
    meta: dict = field(default_factory=dict)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def flat(self) -> "ImageDataset":
        """The same data with every sample flattened to a vector (for MLPs)."""
        return ImageDataset(self.x_train.reshape(len(self.x_train), -1), self.y_train,
                            self.x_test.reshape(len(self.x_test), -1), self.y_test, self.name, self.n_classes,
                            dict(self.meta))

    def __repr__(self) -> str:
        return (f"ImageDataset({self.name!r}: {len(self.x_train)} train, {len(self.x_test)} test, "
                f"sample shape {self.sample_shape}, {self.n_classes} classes)")


def load_digits(test_fraction: float = 0.2, seed: int = 0, image: bool = False) -> ImageDataset:
    """scikit-learn's bundled 8x8 handwritten digits, split into train and test sets.

    Parameters
    ----------
    test_fraction : float
        Fraction of the 1,797 images held out for testing (stratified per class).
    seed : int
        Seed of the split.
    image : bool
        Return samples as ``(1, 8, 8)`` images (for CNNs) instead of 64-vectors.

    Returns
    -------
    ImageDataset
        Pixels scaled from 0..16 to [0, 1].

    Notes
    -----
    Data: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine
    Learning Repository (1998), doi:10.24432/C50P49; read from scikit-learn's package files.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    from sklearn.datasets import load_digits as _sk_load

    d = _sk_load()
    x = d.data.astype(float) / 16.0
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test[idx[: int(round(test_fraction * idx.size))]] = True
    tr, te = np.flatnonzero(~test), np.flatnonzero(test)
    tr, te = rng.permutation(tr), rng.permutation(te)
    if image:
        x = x.reshape(-1, 1, 8, 8)
    return ImageDataset(x[tr], y[tr], x[te], y[te], "digits", 10,
                        {"source": "sklearn.datasets.load_digits", "doi": "10.24432/C50P49",
                         "split": f"stratified, test_fraction={test_fraction}, seed={seed}"})


def _open(path: Path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzipped or not; detected from the content, not the name).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    ndarray
        In native byte order, with the shape stored in the file.

    Raises
    ------
    MeasurementError
        Missing file, bad magic number, unknown element type, or a data size that does not match
        the header -- naming the file and the values found.
    """
    path = Path(path)
    if not path.is_file():
        raise MeasurementError(f"IDX file {path} does not exist")
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise MeasurementError(f"IDX file {path}: cannot read it ({exc})") from None
    if len(raw) < 4:
        raise MeasurementError(f"IDX file {path}: only {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or code not in _IDX_TYPES or ndim == 0:
        raise MeasurementError(
            f"IDX file {path}: bad magic number 0x{int.from_bytes(raw[:4], 'big'):08X} (expected 0x0000TTNN with "
            f"type TT in {[hex(k) for k in _IDX_TYPES]} and NN dimensions, e.g. 0x00000803 for images)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MeasurementError(f"IDX file {path}: header declares {ndim} dimensions but the file ends early")
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise MeasurementError(f"IDX file {path}: header says shape {shape} of {dtype.name} ({expected} bytes) but "
                               f"{len(raw) - header} data bytes follow")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: Path, stem: str) -> Path:
    """The file for ``stem`` in ``folder``: ``stem``, ``stem.gz`` or the ``train-images.idx3-ubyte`` spelling."""
    alt = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, alt + ".gz", alt):
        if (folder / name).is_file():
            return folder / name
    raise MeasurementError(f"MNIST folder {folder}: no {stem}[.gz] (nor {alt}[.gz]); expected the four IDX files "
                           f"{[s + '.gz' for pair in MNIST_FILES.values() for s in pair]}")


def load_mnist(path: str | Path, image: bool = False, limit_train: int | None = None,
               limit_test: int | None = None) -> ImageDataset:
    """MNIST from the four IDX files in ``path`` (the standard names, gzipped or not).

    Parameters
    ----------
    path : str or Path
        Folder holding ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
        ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]``.
    image : bool
        Return ``(1, 28, 28)`` images instead of 784-vectors.
    limit_train, limit_test : int, optional
        Keep only the first so many samples.

    Returns
    -------
    ImageDataset
        Pixels scaled from 0..255 to [0, 1].

    Raises
    ------
    MeasurementError
        A missing folder or file, a file that is not IDX, images that are not N x H x W uint8,
        labels outside 0..9, or image and label counts that differ -- naming the file.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise MeasurementError(f"MNIST folder {folder} does not exist")
    parts = {}
    for split, (img_stem, lab_stem) in MNIST_FILES.items():
        img_path, lab_path = _find(folder, img_stem), _find(folder, lab_stem)
        img, lab = read_idx(img_path), read_idx(lab_path)
        if img.ndim != 3 or img.dtype != np.uint8:
            raise MeasurementError(f"MNIST images {img_path}: expected N x H x W uint8 (magic 0x00000803), got "
                                   f"shape {img.shape} of {img.dtype}")
        if lab.ndim != 1:
            raise MeasurementError(f"MNIST labels {lab_path}: expected a 1-D array (magic 0x00000801), got "
                                   f"shape {lab.shape}")
        if lab.shape[0] != img.shape[0]:
            raise MeasurementError(f"MNIST {split}: {img_path} holds {img.shape[0]} images but {lab_path} holds "
                                   f"{lab.shape[0]} labels")
        if lab.size and (lab.min() < 0 or lab.max() > 9):
            raise MeasurementError(f"MNIST labels {lab_path}: values {int(lab.min())}..{int(lab.max())} outside 0..9")
        limit = limit_train if split == "train" else limit_test
        if limit is not None:
            img, lab = img[:limit], lab[:limit]
        x = img.astype(float) / 255.0
        x = x.reshape(len(x), 1, *img.shape[1:]) if image else x.reshape(len(x), -1)
        parts[split] = (x, lab.astype(np.int64))
    return ImageDataset(parts["train"][0], parts["train"][1], parts["test"][0], parts["test"][1], "mnist", 10,
                        {"source": str(folder),
                         "citation": "Y. LeCun, C. Cortes, C. J. C. Burges, The MNIST database of handwritten digits"})
