"""DataLoader: batching, shuffling with a seed, drop_last, dtypes, the TensorDataset fast path."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset, random_split

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)


def make_dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) % 4
    return TensorDataset(x, y)


class SlowDataset(Dataset):
    """The same samples as a TensorDataset, through the general (per-sample) path."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return self.ds[i]


def epoch_ids(loader):
    """The sample ids of one epoch, in order (column 0 of x is 3 * id)."""
    return [int(v) // 3 for x, _ in loader for v in x.numpy()[:, 0]]


def test_loader_yields_tuples_of_tensors_keeping_dtypes():
    batches = list(DataLoader(make_dataset(), batch_size=4))
    assert len(batches) == 3
    x, y = batches[0]
    assert isinstance(x, cr.Tensor) and isinstance(y, cr.Tensor)
    assert x.shape == (4, 3) and x.dtype == np.float32
    assert y.shape == (4,) and y.dtype == np.int64
    assert not x.requires_grad
    assert batches[-1][0].shape == (2, 3)


def test_loader_without_shuffle_is_in_order():
    assert epoch_ids(DataLoader(make_dataset(), batch_size=3)) == list(range(10))


def test_loader_len_and_drop_last():
    ds = make_dataset(10)
    assert len(DataLoader(ds, batch_size=4)) == 3
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert [x.shape[0] for x, _ in loader] == [4, 4]
    assert len(DataLoader(make_dataset(0), batch_size=4)) == 0
    assert list(DataLoader(make_dataset(0), batch_size=4)) == []


def test_loader_shuffle_is_a_permutation_and_changes_each_epoch():
    loader = DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=0)
    first, second = epoch_ids(loader), epoch_ids(loader)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second


def test_loader_seed_gives_the_same_epochs_on_every_run():
    a = DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=5)
    b = DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=5)
    assert [epoch_ids(a) for _ in range(3)] == [epoch_ids(b) for _ in range(3)]
    c = DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=6)
    assert epoch_ids(c) != epoch_ids(DataLoader(make_dataset(20), 6, shuffle=True, seed=5))


def test_loader_without_seed_follows_cr_seed():
    loader = DataLoader(make_dataset(20), batch_size=6, shuffle=True)
    cr.seed(3)
    a = [epoch_ids(loader) for _ in range(2)]
    cr.seed(3)
    b = [epoch_ids(loader) for _ in range(2)]
    assert a == b


def test_loader_iter_fixes_the_epoch_order():
    loader = DataLoader(make_dataset(20), batch_size=20, shuffle=True, seed=0)
    it = iter(loader)
    other = DataLoader(make_dataset(20), batch_size=20, shuffle=True, seed=0)
    assert epoch_ids(it) == epoch_ids(other)


def test_loader_state_dict_resumes_the_shuffle():
    a = DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=1)
    epoch_ids(a)
    state = a.state_dict()
    expected = [epoch_ids(a) for _ in range(2)]
    b = DataLoader(make_dataset(20), batch_size=6, shuffle=True, seed=1)
    b.load_state_dict(state)
    assert [epoch_ids(b) for _ in range(2)] == expected
    assert DataLoader(make_dataset(), shuffle=True).state_dict() == {}
    with pytest.raises(ValueError, match="bad generator state"):
        b.load_state_dict({"generator": {"bit_generator": "nonsense"}})


def test_loader_fast_path_matches_general_path():
    ds = make_dataset(23)
    fast = DataLoader(ds, batch_size=5, shuffle=True, seed=2)
    slow = DataLoader(SlowDataset(ds), batch_size=5, shuffle=True, seed=2)
    for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())
        assert (xf.dtype, yf.dtype) == (xs.dtype, ys.dtype)


def test_loader_fast_path_indexes_each_array_once_per_batch():
    class Counting(np.ndarray):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return np.asarray(self)[index]

    x = np.zeros((100, 4), np.float32).view(Counting)
    loader = DataLoader(TensorDataset(x), batch_size=32, shuffle=True, seed=0)
    Counting.calls = 0
    for (xb,) in loader:
        assert xb.shape[1] == 4
    assert Counting.calls == len(loader) == 4


def test_loader_fast_path_through_random_split_subsets():
    ds = make_dataset(30)
    train, _ = random_split(ds, [20, 10], seed=0)
    fast = DataLoader(train, batch_size=7, shuffle=True, seed=4)
    slow = DataLoader(SlowDataset(train), batch_size=7, shuffle=True, seed=4)
    assert epoch_ids(fast) == epoch_ids(slow)
    assert sorted(epoch_ids(fast)) == sorted(int(train[i][0][0]) // 3 for i in range(20))


def test_loader_batches_do_not_alias_the_dataset():
    ds = make_dataset()
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.numpy()[:] = -1
    assert ds.arrays[0].min() >= 0


def test_loader_general_path_python_numbers_and_single_arrays():
    class Numbers(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return float(i), i

    x, y = next(iter(DataLoader(Numbers(), batch_size=5)))
    assert (x.dtype, y.dtype) == (np.float32, np.int64)  # as cr.tensor makes them

    class Images(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.full((2, 2), i, np.float64)

    batch = next(iter(DataLoader(Images(), batch_size=4)))
    assert isinstance(batch, cr.Tensor) and batch.shape == (4, 2, 2)
    assert batch.dtype == np.float64


def test_loader_general_path_errors_name_the_problem():
    class Ragged(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.zeros(i + 1), 0

    with pytest.raises(cr.ShapeError, match=r"field 0.*\(1,\).*\(2,\)"):
        next(iter(DataLoader(Ragged(), batch_size=2)))

    class Dicts(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return {"x": i}

    with pytest.raises(TypeError, match="dict"):
        next(iter(DataLoader(Dicts(), batch_size=2)))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, None])
def test_loader_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_dataset(), batch_size=batch_size)


@PROPERTY
@given(
    n=st.integers(0, 50),
    batch_size=st.integers(1, 12),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_loader_len_matches_iteration_and_covers_samples(n, batch_size, shuffle, drop_last):
    loader = DataLoader(make_dataset(n), batch_size, shuffle=shuffle, drop_last=drop_last, seed=0)
    sizes = [x.shape[0] for x, _ in loader]
    assert len(sizes) == len(loader)
    assert all(s == batch_size for s in sizes[:-1])
    assert sum(sizes) == (n - n % batch_size if drop_last else n)
    ids = epoch_ids(loader)
    assert len(set(ids)) == len(ids)
