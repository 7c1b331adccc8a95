"""load_mnist on IDX files written here in the exact format (gzipped and not), and broken ones."""

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.data import DataFormatError, DatasetNotFoundError, load_mnist

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def idx_bytes(magic, dims, payload) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + bytes(payload)


def images_bytes(images):
    return idx_bytes(2051, images.shape, images.astype(np.uint8).tobytes())


def labels_bytes(labels):
    return idx_bytes(2049, labels.shape, labels.astype(np.uint8).tobytes())


def write(path, data, gz=False):
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def sample(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, np.uint8)


def write_mnist(directory, kind="train", n=5, gz=False, seed=0):
    images, labels = sample(n, seed)
    prefix = "train" if kind == "train" else "t10k"
    write(directory / f"{prefix}-images-idx3-ubyte", images_bytes(images), gz)
    write(directory / f"{prefix}-labels-idx1-ubyte", labels_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("kind", ["train", "test"])
def test_load_mnist_reads_idx_files(tmp_path, kind, gz):
    images, labels = write_mnist(tmp_path, kind, n=7, gz=gz)
    x, y = load_mnist(tmp_path, kind=kind)
    assert (x.shape, x.dtype) == ((7, 1, 28, 28), np.float32)
    assert (y.shape, y.dtype) == ((7,), np.int64)
    np.testing.assert_array_equal(x[:, 0], images / np.float32(255))
    np.testing.assert_array_equal(y, labels)
    assert x.min() >= 0 and x.max() <= 1


def test_load_mnist_flatten_and_mixed_compression(tmp_path):
    images, labels = sample(3)
    write(tmp_path / "train-images-idx3-ubyte", images_bytes(images), gz=True)
    write(tmp_path / "train-labels-idx1-ubyte", labels_bytes(labels), gz=False)
    x, y = load_mnist(str(tmp_path), flatten=True)
    assert x.shape == (3, 784)
    np.testing.assert_array_equal(x, images.reshape(3, 784) / np.float32(255))


def test_load_mnist_dotted_file_names(tmp_path):
    images, labels = sample(2)
    write(tmp_path / "t10k-images.idx3-ubyte", images_bytes(images))
    write(tmp_path / "t10k-labels.idx1-ubyte", labels_bytes(labels))
    assert load_mnist(tmp_path, "test")[1].tolist() == labels.tolist()


def test_load_mnist_train_and_test_are_separate(tmp_path):
    write_mnist(tmp_path, "train", n=4, seed=1)
    write_mnist(tmp_path, "test", n=2, seed=2)
    assert len(load_mnist(tmp_path, "train")[0]) == 4
    assert len(load_mnist(tmp_path, "test")[0]) == 2


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="not-there.*is not a directory"):
        load_mnist(tmp_path / "not-there")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, "train")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(images_bytes(sample(1)[0]))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.* found in"):
        load_mnist(tmp_path, "test")  # a DatasetNotFoundError is a ValueError too
    with pytest.raises(ValueError, match="kind"):
        load_mnist(tmp_path, "validation")


def broken(tmp_path, images=None, labels=None):
    """A directory whose train files are the given bytes (default: valid ones)."""
    valid_images, valid_labels = sample(3)
    write(tmp_path / "train-images-idx3-ubyte", images or images_bytes(valid_images))
    write(tmp_path / "train-labels-idx1-ubyte", labels or labels_bytes(valid_labels))
    return tmp_path


def test_load_mnist_bad_magic_names_file_expected_and_found(tmp_path):
    images, labels = sample(3)
    swapped = broken(tmp_path, images=labels_bytes(labels))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.*2049.*expected 2051"):
        load_mnist(swapped)


def test_load_mnist_wrong_image_size(tmp_path):
    small = idx_bytes(2051, (3, 27, 28), bytes(3 * 27 * 28))
    with pytest.raises(DataFormatError, match=r"27x28 images, expected 28x28"):
        load_mnist(broken(tmp_path, images=small))


def test_load_mnist_truncated_and_trailing_bytes(tmp_path):
    images, labels = sample(3)
    data = images_bytes(images)
    with pytest.raises(DataFormatError, match=r"truncated.*\(3, 28, 28\).*2352 bytes.*found 2351"):
        load_mnist(broken(tmp_path, images=data[:-1]))
    with pytest.raises(DataFormatError, match="trailing bytes"):
        load_mnist(broken(tmp_path, images=data + b"\0"))
    with pytest.raises(DataFormatError, match="shorter than the 16-byte IDX header"):
        load_mnist(broken(tmp_path, images=data[:10]))
    with pytest.raises(DataFormatError, match="labels-idx1-ubyte.*truncated"):
        load_mnist(broken(tmp_path, labels=labels_bytes(labels)[:-2]))


def test_load_mnist_count_mismatch_and_bad_labels(tmp_path):
    with pytest.raises(DataFormatError, match="3 train images but 2 labels"):
        load_mnist(broken(tmp_path, labels=labels_bytes(np.array([1, 2]))))
    with pytest.raises(DataFormatError, match="label 12, expected labels 0..9"):
        load_mnist(broken(tmp_path, labels=labels_bytes(np.array([1, 12, 2]))))


def test_load_mnist_bad_gzip(tmp_path):
    images, labels = sample(3)
    compressed = gzip.compress(images_bytes(images))
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(compressed[: len(compressed) // 2])
    write(tmp_path / "train-labels-idx1-ubyte", labels_bytes(labels))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.gz.*gzip.*truncated"):
        load_mnist(tmp_path)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(images_bytes(images))  # not gzipped
    with pytest.raises(DataFormatError, match="not a valid gzip file"):
        load_mnist(tmp_path)


@PROPERTY
@given(cut=st.integers(0, 3 * 784 + 15), gz=st.booleans())
def test_load_mnist_any_truncation_is_a_data_format_error(tmp_path_factory, cut, gz):
    directory = tmp_path_factory.mktemp("mnist")
    images, labels = sample(3)
    write(directory / "train-images-idx3-ubyte", images_bytes(images)[:cut], gz)
    write(directory / "train-labels-idx1-ubyte", labels_bytes(labels), gz)
    with pytest.raises(DataFormatError, match="train-images-idx3-ubyte"):
        load_mnist(directory)
