"""CIFAR-10 from a local directory holding its binary version (``cifar-10-batches-bin``).

Each ``.bin`` file is a sequence of 3,073-byte records: one label byte (0..9), then 3,072
pixel bytes, the 1,024 red values of the 32x32 image row by row, then green, then blue
(https://www.cs.toronto.edu/~kriz/cifar.html). The Python version of the dataset is a
pickle, which chainrule does not load.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from chainrule.data.files import DataFormatError, DatasetNotFoundError, find_file, read_bytes
from chainrule.mode import STATE

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
PIXELS = 3 * 32 * 32
RECORD = 1 + PIXELS
_FILES = {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"]}


def _batch_dir(path: Path) -> Path:
    """`path` itself or its ``cifar-10-batches-bin`` subdirectory, whichever has the files."""
    inner = path / "cifar-10-batches-bin"
    if inner.is_dir():
        return inner
    if not (path / "test_batch.bin").exists():
        if (path / "cifar-10-binary.tar.gz").exists():
            raise DatasetNotFoundError(
                f"load_cifar10: {str(path)!r} holds cifar-10-binary.tar.gz; extract it first "
                "(tar xzf cifar-10-binary.tar.gz)"
            )
        if (path / "cifar-10-batches-py").exists():
            raise DatasetNotFoundError(
                f"load_cifar10: {str(path)!r} holds the Python (pickle) version of CIFAR-10, "
                "which chainrule does not load; download the binary version "
                "(cifar-10-binary.tar.gz)"
            )
    return path


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The uint8 labels ``(N,)`` and images ``(N, 3, 32, 32)`` of one binary batch file."""
    data = read_bytes(path, "load_cifar10")
    if len(data) == 0 or len(data) % RECORD:
        raise DataFormatError(
            f"load_cifar10: {str(path)!r} is truncated or malformed: {len(data)} bytes is not "
            f"a positive multiple of the {RECORD}-byte record (1 label byte + {PIXELS} "
            f"pixel bytes); {len(data) // RECORD} whole records and {len(data) % RECORD} "
            "bytes left over"
        )
    records = np.frombuffer(data, np.uint8).reshape(-1, RECORD)
    labels = records[:, 0]
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFormatError(
            f"load_cifar10: {str(path)!r} record {bad} has label {labels[bad]}, expected 0..9 "
            "(is this the CIFAR-100 binary version, or a misaligned file?)"
        )
    return labels, records[:, 1:].reshape(-1, 3, 32, 32)


def load_cifar10(
    path: str | os.PathLike, kind: str = "train", flatten: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images and labels read from the binary batch files under `path`.

    `path` is the ``cifar-10-batches-bin`` directory or the directory that contains it.
    ``kind='train'`` reads ``data_batch_1.bin`` .. ``data_batch_5.bin`` (50,000 images),
    ``kind='test'`` reads ``test_batch.bin`` (10,000). Nothing is downloaded. The class
    names, in label order, are `CIFAR10_CLASSES`.

    Returns
    -------
    images : float32 (the default dtype) in [0, 1] (bytes / 255), shape ``(N, 3, 32, 32)``
        (N, C, H, W with channels R, G, B, as PyTorch), or ``(N, 3072)`` with
        ``flatten=True``.
    labels : int64 in 0..9, shape ``(N,)``.

    Raises
    ------
    DataFormatError
        A file is truncated (not a whole number of records) or holds a label outside 0..9;
        the message names the file. A missing file raises `DatasetNotFoundError`, both a
        `DataFormatError` and a `FileNotFoundError`.

    Examples
    --------
    A test batch of two records (a label byte, then 3,072 pixel bytes), one black, one
    white:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from chainrule.data import load_cifar10
    >>> records = bytes([3]) + bytes(3072) + bytes([8]) + bytes([255]) * 3072
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "test_batch.bin").write_bytes(records)
    ...     images, labels = load_cifar10(d, kind="test")
    >>> images.shape, float(images[1].min()), labels.tolist()
    ((2, 3, 32, 32), 1.0, [3, 8])
    """
    if kind not in _FILES:
        raise ValueError(f"load_cifar10: kind must be 'train' or 'test', got {kind!r}")
    directory = _batch_dir(Path(path))
    batches = [_read_batch(find_file(directory, [name], "load_cifar10")) for name in _FILES[kind]]
    labels = np.concatenate([b[0] for b in batches]).astype(np.int64)
    images = np.concatenate([b[1] for b in batches]).astype(STATE.default_dtype)
    images /= 255.0  # in place: the float copy of the training set is 600 MB
    return (images.reshape(len(images), PIXELS) if flatten else images), labels
