"""MNIST from a local directory holding the four standard IDX files (gzipped or not).

The IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian 4-byte magic number,
``0x00000803`` (2051) for images and ``0x00000801`` (2049) for labels (zero, zero, the
type code 0x08 for unsigned bytes, the number of dimensions), then one big-endian uint32
per dimension, then the bytes. Fashion-MNIST uses the same files and names.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from chainrule.data.files import DataFormatError, find_file, read_bytes
from chainrule.mode import STATE

IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049
ROWS = COLS = 28
_PREFIX = {"train": "train", "test": "t10k"}


def _candidates(stem: str) -> list[str]:
    # The official names, then the variant with a dot that some mirrors use.
    dotted = stem.replace("-idx", ".idx")
    return [stem, stem + ".gz", dotted, dotted + ".gz"]


def _header(data: bytes, path: Path, magic: int, ndim: int) -> tuple[int, ...]:
    """The dimensions in an IDX header after checking its magic number and size."""
    header = 4 * (1 + ndim)
    found = int.from_bytes(data[:4], "big") if len(data) >= 4 else None
    if found is not None and found != magic:
        raise DataFormatError(
            f"load_mnist: {str(path)!r} has magic number {found} (0x{found:08x}), expected "
            f"{magic} (0x{magic:08x}) for an IDX file of {ndim}-d unsigned bytes"
        )
    if len(data) < header:
        raise DataFormatError(
            f"load_mnist: {str(path)!r} is truncated: {len(data)} bytes, shorter than the "
            f"{header}-byte IDX header"
        )
    return tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))


def _payload(data: bytes, path: Path, offset: int, count: int, dims) -> np.ndarray:
    found = len(data) - offset
    if found != count:
        problem = "is truncated" if found < count else "has trailing bytes"
        raise DataFormatError(
            f"load_mnist: {str(path)!r} {problem}: the header's dimensions {dims} need "
            f"{count} bytes of data, found {found}"
        )
    return np.frombuffer(data, np.uint8, count=count, offset=offset)


def _read_images(path: str | os.PathLike) -> np.ndarray:
    """The uint8 images ``(N, 28, 28)`` of one IDX image file (``.gz`` is decompressed)."""
    path = Path(path)
    data = read_bytes(path, "load_mnist")
    n, rows, cols = _header(data, path, IMAGES_MAGIC, 3)
    if (rows, cols) != (ROWS, COLS):
        raise DataFormatError(
            f"load_mnist: {str(path)!r} holds {rows}x{cols} images, expected {ROWS}x{COLS}"
        )
    return _payload(data, path, 16, n * rows * cols, (n, rows, cols)).reshape(n, rows, cols)


def _read_labels(path: str | os.PathLike) -> np.ndarray:
    """The uint8 labels ``(N,)`` of one IDX label file (``.gz`` is decompressed)."""
    path = Path(path)
    data = read_bytes(path, "load_mnist")
    (n,) = _header(data, path, LABELS_MAGIC, 1)
    labels = _payload(data, path, 8, n, (n,))
    if n and labels.max() > 9:
        raise DataFormatError(
            f"load_mnist: {str(path)!r} holds label {labels.max()}, expected labels 0..9"
        )
    return labels


def load_mnist(
    path: str | os.PathLike, kind: str = "train", flatten: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images and labels read from the IDX files in the directory `path`.

    ``kind='train'`` reads ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte``
    (60,000 images), ``kind='test'`` the ``t10k-`` files (10,000); each may be gzipped
    (``.gz``) or not. Nothing is downloaded.

    Returns
    -------
    images : float32 (the default dtype) in [0, 1] (bytes / 255), shape ``(N, 1, 28, 28)``
        (N, C, H, W, as PyTorch), or ``(N, 784)`` with ``flatten=True``.
    labels : int64 in 0..9, shape ``(N,)``.

    Raises
    ------
    DataFormatError
        A file is malformed (magic number, dimensions) or truncated; the message names the
        file, what was expected and what was found. A missing file raises
        `DatasetNotFoundError`, both a `DataFormatError` and a `FileNotFoundError`.

    Examples
    --------
    Two blank test images, written as IDX files (a magic number, then the dimensions):

    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from chainrule.data import load_mnist
    >>> header = lambda *ints: np.array(ints, ">u4").tobytes()  # big-endian uint32
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "t10k-images-idx3-ubyte").write_bytes(header(2051, 2, 28, 28) + bytes(1568))
    ...     _ = Path(d, "t10k-labels-idx1-ubyte").write_bytes(header(2049, 2) + bytes([3, 7]))
    ...     images, labels = load_mnist(d, kind="test")
    >>> images.shape, images.dtype, labels.tolist()
    ((2, 1, 28, 28), dtype('float32'), [3, 7])
    """
    if kind not in _PREFIX:
        raise ValueError(f"load_mnist: kind must be 'train' or 'test', got {kind!r}")
    prefix = _PREFIX[kind]
    images = _read_images(find_file(path, _candidates(f"{prefix}-images-idx3-ubyte"), "load_mnist"))
    labels = _read_labels(find_file(path, _candidates(f"{prefix}-labels-idx1-ubyte"), "load_mnist"))
    if len(images) != len(labels):
        raise DataFormatError(
            f"load_mnist: {str(path)!r} has {len(images)} {kind} images but {len(labels)} labels"
        )
    x = images.astype(STATE.default_dtype)
    x /= 255.0
    x = x.reshape(len(x), ROWS * COLS) if flatten else x.reshape(len(x), 1, ROWS, COLS)
    return x, labels.astype(np.int64)
