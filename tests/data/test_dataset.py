"""Dataset, TensorDataset, Subset, random_split and train_val_split."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import Dataset, Subset, TensorDataset, random_split, train_val_split

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)


def test_dataset_base_needs_len_and_getitem():
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]


def test_tensor_dataset_rows_and_dtypes():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    y = np.array([3, 1, 4, 1], dtype=np.int64)
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi, x[2])
    assert yi == 4 and yi.dtype == np.int64
    assert ds.arrays[0] is x  # arrays are kept, not copied


def test_tensor_dataset_accepts_tensors_and_lists():
    ds = TensorDataset(cr.ones(3, 2), [0, 1, 2], [0.5, 1.5, 2.5])
    assert [a.dtype for a in ds.arrays] == [np.float32, np.int64, np.float32]
    assert all(isinstance(a, np.ndarray) for a in ds.arrays)


def test_tensor_dataset_first_dimension_mismatch_names_shapes():
    with pytest.raises(cr.ShapeError, match=r"same first dimension.*\(5, 3\).*\(4,\)"):
        TensorDataset(np.zeros((5, 3)), np.zeros(4))


def test_tensor_dataset_rejects_scalars_empty_and_objects():
    with pytest.raises(cr.ShapeError, match="first"):
        TensorDataset(np.zeros(3), np.float32(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(TypeError, match="dtype"):
        TensorDataset(np.array(["a", "b"]))


def test_subset_indexes_in_order_and_checks_range():
    ds = TensorDataset(np.arange(10))
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3
    assert [int(sub[i][0]) for i in range(3)] == [7, 2, 5]
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        Subset(ds, [3, 10])
    with pytest.raises(TypeError, match="integers"):
        Subset(ds, [0.5])


def _members(subset):
    return [int(subset[i][0]) for i in range(len(subset))]


def test_random_split_integer_lengths_partition():
    parts = random_split(TensorDataset(np.arange(10)), [6, 3, 1], seed=0)
    assert [len(p) for p in parts] == [6, 3, 1]
    assert sorted(sum((_members(p) for p in parts), [])) == list(range(10))


def test_random_split_fractions_deal_the_remainder_round_robin():
    # floor(10 * 0.33) = 3 each, one sample left over goes to the first part (PyTorch's rule)
    parts = random_split(TensorDataset(np.arange(10)), [0.33, 0.33, 0.34], seed=0)
    assert [len(p) for p in parts] == [4, 3, 3]


def test_random_split_bad_lengths():
    ds = TensorDataset(np.arange(10))
    with pytest.raises(ValueError, match="sum to the dataset size 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="empty"):
        random_split(ds, [])


def test_random_split_seeded_and_global_generator_reproducible():
    ds = TensorDataset(np.arange(50))
    a = random_split(ds, [0.8, 0.2], seed=3)
    b = random_split(ds, [0.8, 0.2], seed=3)
    assert _members(a[1]) == _members(b[1])
    cr.seed(11)
    c = random_split(ds, [0.8, 0.2])
    cr.seed(11)
    d = random_split(ds, [0.8, 0.2])
    assert _members(c[1]) == _members(d[1])
    assert _members(a[1]) != _members(random_split(ds, [0.8, 0.2], seed=4)[1])


def test_train_val_split_sizes():
    train, val = train_val_split(TensorDataset(np.arange(101)), val_fraction=0.2, seed=0)
    assert (len(train), len(val)) == (81, 20)
    assert not set(_members(train)) & set(_members(val))
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(TensorDataset(np.arange(5)), val_fraction=1.0)


@PROPERTY
@given(n=st.integers(0, 60), weights=st.lists(st.integers(1, 10), min_size=1, max_size=5))
def test_random_split_fractions_always_partition(n, weights):
    fractions = [w / sum(weights) for w in weights]
    parts = random_split(TensorDataset(np.arange(n)), fractions, seed=1)
    sizes = [len(p) for p in parts]
    assert sum(sizes) == n
    assert all(abs(s - n * f) < len(fractions) + 1 for s, f in zip(sizes, fractions))
    assert sorted(sum((_members(p) for p in parts), [])) == list(range(n))
