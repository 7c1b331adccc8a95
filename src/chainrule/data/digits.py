"""The 8x8 handwritten digits that ship with chainrule: 1,797 images of 10 classes.

The data is the test partition (``optdigits.tes``) of "Optical Recognition of Handwritten
Digits" by E. Alpaydin and C. Kaynak (1998), UCI Machine Learning Repository,
https://doi.org/10.24432/C50P49, licensed under CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/); it is the copy scikit-learn ships as
``load_digits``. chainrule stores it unchanged (pixel counts 0..16 and labels, as uint8) in
``digits.npz``; see ``DIGITS_LICENSE.txt`` next to this file.

Each image is a 32x32 bitmap written by one of 13 people, reduced to 8x8 by counting the
set pixels in each 4x4 block, so a pixel is an integer from 0 to 16.
"""

from __future__ import annotations

import numpy as np

from chainrule.data.files import DataFormatError
from chainrule.mode import STATE

N_DIGITS = 1797


def _read() -> tuple[np.ndarray, np.ndarray]:
    """The stored uint8 images (1797, 8, 8) and labels (1797,)."""
    from importlib import resources

    source = resources.files("chainrule.data").joinpath("digits.npz")
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        images, labels = npz["images"], npz["labels"]
    if images.shape != (N_DIGITS, 8, 8) or labels.shape != (N_DIGITS,):
        raise DataFormatError(
            f"load_digits: the bundled digits.npz holds images {images.shape} and labels "
            f"{labels.shape}, expected ({N_DIGITS}, 8, 8) and ({N_DIGITS},); reinstall chainrule"
        )
    return images, labels


def _images(images: np.ndarray, flatten: bool) -> np.ndarray:
    x = images.astype(STATE.default_dtype) / 16.0
    return x.reshape(len(x), 64) if flatten else x.reshape(len(x), 1, 8, 8)


def load_digits(flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 digits as ``(images, labels)`` NumPy arrays.

    Parameters
    ----------
    flatten : bool
        True (default): images of shape ``(1797, 64)``, ready for a fully connected
        network. False: ``(1797, 1, 8, 8)`` (N, C, H, W), as `load_mnist` returns.

    Returns
    -------
    images : float32 (the default dtype) in [0, 1], the pixel counts divided by 16.
    labels : int64 in 0..9, shape ``(1797,)``.

        >>> from chainrule.data import load_digits
        >>> x, y = load_digits()
        >>> x.shape, x.dtype, y.shape, y.dtype
        ((1797, 64), dtype('float32'), (1797,), dtype('int64'))
    """
    images, labels = _read()
    return _images(images, flatten), labels.astype(np.int64)


def digits_split(
    test_fraction: float = 0.2, seed: int = 0, flatten: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The digits split into ``(x_train, y_train, x_test, y_test)``, stratified by class.

    Each class gives ``round(test_fraction * its size)`` images to the test set. The split
    depends only on `test_fraction` and `seed` (not on `chainrule.seed`), so test accuracies
    from different runs and machines are measured on the same images; the default is
    chainrule's reference split (359 test images). Both parts keep the original order.

        >>> from chainrule.data import digits_split
        >>> x_train, y_train, x_test, y_test = digits_split()
        >>> len(x_train), len(x_test)
        (1438, 359)
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"digits_split: test_fraction must be in (0, 1), got {test_fraction}")
    images, labels = _read()
    # NOTE: one uniform key per image and a stable argsort within each class: this relies on
    # PCG64's raw doubles only, which NumPy keeps stable, not on a shuffling algorithm.
    keys = np.random.default_rng(seed).random(len(labels))
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        ranked = members[np.argsort(keys[members], kind="stable")]
        test[ranked[: round(test_fraction * len(members))]] = True
    x = _images(images, flatten)
    y = labels.astype(np.int64)
    return x[~test], y[~test], x[test], y[test]
