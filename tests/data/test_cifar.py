"""load_cifar10 on binary batch files written here in the exact format, and broken ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.data import CIFAR10_CLASSES, DataFormatError, DatasetNotFoundError, load_cifar10

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)
RECORD = 1 + 3072


def records(labels, images) -> bytes:
    """CIFAR-10 binary records: a label byte, then 1024 red, 1024 green, 1024 blue bytes."""
    rows = np.column_stack([np.asarray(labels, np.uint8), images.reshape(len(labels), 3072)])
    return rows.astype(np.uint8).tobytes()


def sample(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 10, n, np.uint8), rng.integers(0, 256, (n, 3, 32, 32), np.uint8)


def write_cifar(directory, sizes=(2, 3, 1, 2, 2), test=2):
    directory.mkdir(parents=True, exist_ok=True)
    train = [sample(n, seed=i) for i, n in enumerate(sizes)]
    for i, (labels, images) in enumerate(train, start=1):
        (directory / f"data_batch_{i}.bin").write_bytes(records(labels, images))
    test_batch = sample(test, seed=99)
    (directory / "test_batch.bin").write_bytes(records(*test_batch))
    return train, test_batch


def test_load_cifar10_train_concatenates_batches_in_order(tmp_path):
    train, _ = write_cifar(tmp_path)
    x, y = load_cifar10(tmp_path, "train")
    assert (x.shape, x.dtype) == ((10, 3, 32, 32), np.float32)
    assert (y.shape, y.dtype) == ((10,), np.int64)
    np.testing.assert_array_equal(y, np.concatenate([labels for labels, _ in train]))
    np.testing.assert_array_equal(x, np.concatenate([im for _, im in train]) / np.float32(255))


def test_load_cifar10_test_batch_and_flatten(tmp_path):
    _, (labels, images) = write_cifar(tmp_path)
    x, y = load_cifar10(tmp_path, kind="test", flatten=True)
    assert x.shape == (2, 3072)
    np.testing.assert_array_equal(x, images.reshape(2, 3072) / np.float32(255))
    np.testing.assert_array_equal(y, labels)


def test_load_cifar10_channels_are_red_green_blue_planes(tmp_path):
    pixels = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)])
    row = np.concatenate([[7], pixels]).astype(np.uint8)
    (tmp_path / "test_batch.bin").write_bytes(row.tobytes())
    x, y = load_cifar10(tmp_path, "test")
    assert y.tolist() == [7] and CIFAR10_CLASSES[7] == "horse"
    assert [x[0, c].max() * 255 for c in range(3)] == pytest.approx([10, 20, 30])
    assert [x[0, c].min() * 255 for c in range(3)] == pytest.approx([10, 20, 30])


def test_load_cifar10_accepts_the_parent_directory(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-bin")
    assert len(load_cifar10(tmp_path, "test")[0]) == 2


def test_load_cifar10_missing_files(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3.bin").unlink()
    with pytest.raises(DatasetNotFoundError, match="data_batch_3.bin"):
        load_cifar10(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="not a directory"):
        load_cifar10(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="kind"):
        load_cifar10(tmp_path, "val")


def test_load_cifar10_points_to_the_right_download(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError, match="extract it first"):
        load_cifar10(tmp_path)
    other = tmp_path / "py"
    (other / "cifar-10-batches-py").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="pickle.*binary version"):
        load_cifar10(other)


def test_load_cifar10_truncated_file_names_record_size(tmp_path):
    write_cifar(tmp_path)
    data = (tmp_path / "data_batch_2.bin").read_bytes()
    (tmp_path / "data_batch_2.bin").write_bytes(data[:-100])
    with pytest.raises(DataFormatError, match=r"data_batch_2.bin.*not a positive multiple.*3073"):
        load_cifar10(tmp_path)
    (tmp_path / "test_batch.bin").write_bytes(b"")
    with pytest.raises(DataFormatError, match=r"test_batch.bin.*0 bytes"):
        load_cifar10(tmp_path, "test")


def test_load_cifar10_label_out_of_range(tmp_path):
    labels, images = sample(3)
    labels[1] = 57  # what a CIFAR-100 coarse/fine record or a misaligned file looks like
    (tmp_path / "test_batch.bin").write_bytes(records(labels, images))
    with pytest.raises(DataFormatError, match=r"test_batch.bin.*record 1 has label 57"):
        load_cifar10(tmp_path, "test")


@PROPERTY
@given(cut=st.integers(0, 3 * RECORD - 1).filter(lambda k: k % RECORD))
def test_load_cifar10_any_truncation_is_a_data_format_error(tmp_path_factory, cut):
    directory = tmp_path_factory.mktemp("cifar")
    (directory / "test_batch.bin").write_bytes(records(*sample(3))[:cut])
    with pytest.raises(DataFormatError, match="test_batch.bin"):
        load_cifar10(directory, "test")
