"""The bundled 8x8 digits: contents, scaling, the fixed stratified split, the credit."""

import hashlib
from importlib import resources

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import digits_split, load_digits

CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def sha256(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_digits_file_is_compact_and_unchanged():
    source = resources.files("chainrule.data").joinpath("digits.npz")
    assert len(source.read_bytes()) < 100_000
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["images", "labels"]
        images, labels = npz["images"], npz["labels"]
    assert (images.dtype, images.shape) == (np.uint8, (1797, 8, 8))
    assert (labels.dtype, labels.shape) == (np.uint8, (1797,))
    # the values of scikit-learn's load_digits (1.9.1), as uint8
    assert sha256(images) == "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3"
    assert sha256(labels) == "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0"


def test_load_digits_shapes_dtypes_and_range():
    x, y = load_digits()
    assert (x.shape, x.dtype) == ((1797, 64), np.float32)
    assert (y.shape, y.dtype) == ((1797,), np.int64)
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(np.unique(x * 16), np.arange(17))  # k / 16, k = 0..16
    assert np.bincount(y).tolist() == CLASS_COUNTS


def test_load_digits_unflattened_is_nchw():
    x, _ = load_digits(flatten=False)
    assert x.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(x.reshape(1797, 64), load_digits()[0])


def test_load_digits_follows_the_default_dtype():
    cr.set_default_dtype("float64")
    try:
        assert load_digits()[0].dtype == np.float64
    finally:
        cr.set_default_dtype("float32")


def test_digits_split_is_a_stratified_partition():
    x_train, y_train, x_test, y_test = digits_split()
    assert (len(x_train), len(x_test)) == (1438, 359)
    assert x_train.dtype == np.float32 and y_test.dtype == np.int64
    counts = np.bincount(y_test, minlength=10)
    assert counts.tolist() == [round(0.2 * c) for c in CLASS_COUNTS]
    # together the two parts are exactly the dataset
    x, y = load_digits()
    parts = np.column_stack([np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])])
    whole = np.column_stack([x, y])
    for a, b in zip(
        np.unique(parts, axis=0, return_counts=True), np.unique(whole, axis=0, return_counts=True)
    ):
        np.testing.assert_array_equal(a, b)


def test_digits_split_is_fixed():
    # The reference split must not move between runs, machines or NumPy versions: test
    # accuracies are compared on it.
    _, _, x_test, y_test = digits_split()
    assert sha256(y_test)[:16] == "59e0eaf9027b3261"
    assert sha256(np.rint(x_test * 16).astype(np.uint8))[:16] == "11b00c7eba4e9139"
    again = digits_split()
    np.testing.assert_array_equal(again[2], x_test)
    cr.seed(123)  # the global generator plays no part
    np.testing.assert_array_equal(digits_split()[3], y_test)


def test_digits_split_seed_and_fraction():
    zero, one = digits_split(seed=0), digits_split(seed=1)
    assert zero[2].shape == one[2].shape and not np.array_equal(zero[2], one[2])
    assert len(digits_split(test_fraction=0.5)[2]) == sum(round(0.5 * c) for c in CLASS_COUNTS)
    assert digits_split(flatten=False)[0].shape[1:] == (1, 8, 8)
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ValueError, match="test_fraction"):
            digits_split(test_fraction=bad)


def test_digits_labels_match_images():
    # a nearest-class-mean classifier is ~92% right on the split: images and labels line up
    x_train, y_train, x_test, y_test = digits_split()
    means = np.stack([x_train[y_train == k].mean(axis=0) for k in range(10)])
    predicted = np.argmin(((x_test[:, None, :] - means[None]) ** 2).sum(axis=-1), axis=1)
    assert (predicted == y_test).mean() > 0.88


def test_digits_are_credited():
    text = resources.files("chainrule.data").joinpath("DIGITS_LICENSE.txt").read_text()
    for words in ("Alpaydin", "Kaynak", "UCI", "CC BY 4.0", "10.24432/C50P49"):
        assert words in text
    import chainrule.data.digits as module

    assert "Alpaydin" in module.__doc__ and "CC BY 4.0" in module.__doc__
