"""DistributedSampler (no MPI needed: ranks given explicitly) and the loader's batch_sampler."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.data import DataLoader, Dataset, TensorDataset
from chainrule.distributed import DistributedSampler

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def all_ranks(n, world, batch, epoch=0, **kwargs):
    """Every rank's batches for `epoch`: a list (by rank) of lists of index arrays."""
    out = []
    for rank in range(world):
        sampler = DistributedSampler(n, batch, num_replicas=world, rank=rank, **kwargs)
        sampler.set_epoch(epoch)
        out.append(list(sampler))
    return out


@PROPERTY
@given(
    n=st.integers(1, 200), world=st.integers(1, 5), batch=st.integers(1, 9),
    epoch=st.integers(0, 3), shuffle=st.booleans(),
)  # fmt: skip
def test_sampler_covers_every_sample_once_with_equal_steps(n, world, batch, epoch, shuffle):
    if n < world:
        with pytest.raises(ValueError, match="cannot feed"):
            DistributedSampler(n, batch, num_replicas=world, rank=0)
        return
    ranks = all_ranks(n, world, batch, epoch, shuffle=shuffle, seed=5)
    steps = {len(batches) for batches in ranks}
    assert steps == {len(DistributedSampler(n, batch, num_replicas=world, rank=0))}
    assert all(len(b) >= 1 for batches in ranks for b in batches)
    seen = np.concatenate([b for batches in ranks for b in batches])
    assert sorted(seen.tolist()) == list(range(n))


@PROPERTY
@given(n=st.integers(1, 200), world=st.integers(1, 5), batch=st.integers(1, 9))
def test_sampler_steps_are_the_single_process_batches_split_over_ranks(n, world, batch):
    rest = n % (world * batch)
    assume(n >= world and not 0 < rest < world <= n - rest)  # merging: tested below
    ranks = all_ranks(n, world, batch, epoch=2, seed=9)
    single = all_ranks(n, 1, world * batch, epoch=2, seed=9)[0]
    for step, expected in enumerate(single):
        together = np.concatenate([ranks[r][step] for r in range(world)])
        np.testing.assert_array_equal(together, expected)
        sizes = [len(ranks[r][step]) for r in range(world)]
        assert max(sizes) - min(sizes) <= 1


def test_sampler_merges_too_small_a_last_global_batch_into_the_previous_one():
    ranks = all_ranks(13, 3, 2, shuffle=False)  # 2 global batches of 6, then 1 sample
    assert [[b.tolist() for b in batches] for batches in ranks] == [
        [[0, 1], [6, 7, 8]],
        [[2, 3], [9, 10]],
        [[4, 5], [11, 12]],
    ]


def test_sampler_drop_last_drops_a_smaller_last_global_batch():
    ranks = all_ranks(23, 2, 5, drop_last=True, seed=1)
    assert [len(batches) for batches in ranks] == [2, 2]
    assert all(len(b) == 5 for batches in ranks for b in batches)
    seen = np.concatenate([b for batches in ranks for b in batches])
    assert len(np.unique(seen)) == 20
    assert len(DistributedSampler(7, 4, drop_last=True, num_replicas=2, rank=0)) == 0


def test_sampler_reshuffles_per_epoch_from_the_seed_alone():
    a = DistributedSampler(50, 4, seed=3, num_replicas=2, rank=1)
    b = DistributedSampler(50, 4, seed=3, num_replicas=2, rank=1)
    first = np.concatenate(list(a))
    a.set_epoch(1)
    second = np.concatenate(list(a))
    assert not np.array_equal(first, second)
    b.set_epoch(1)  # another sampler told the same epoch: the same order, no state needed
    np.testing.assert_array_equal(np.concatenate(list(b)), second)
    other_seed = DistributedSampler(50, 4, seed=4, num_replicas=2, rank=1)
    assert not np.array_equal(np.concatenate(list(other_seed)), first)
    unshuffled = DistributedSampler(10, 5, shuffle=False, num_replicas=2, rank=0)
    assert [b.tolist() for b in unshuffled] == [[0, 1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"batch_size": 2.5}, "batch_size must be an integer >= 1, got 2.5"),
        ({"num_replicas": 0, "rank": 0}, "num_replicas must be an integer >= 1, got 0"),
        ({"rank": 2}, r"rank must be in \[0, 2\), got 2"),
        ({"rank": -1}, r"rank must be in \[0, 2\), got -1"),
    ],
)
def test_sampler_bad_arguments_name_the_value(kwargs, message):
    args = {"batch_size": 4, "num_replicas": 2, "rank": 0, **kwargs}
    with pytest.raises(ValueError, match=f"DistributedSampler: {message}"):
        DistributedSampler(10, **args)


def test_sampler_set_epoch_rejects_a_negative_epoch():
    sampler = DistributedSampler(10, 2, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="epoch must be an integer >= 0, got -1"):
        sampler.set_epoch(-1)


def test_sampler_repr_names_rank_and_epoch():
    sampler = DistributedSampler(10, 2, num_replicas=3, rank=1)
    sampler.set_epoch(4)
    assert repr(sampler) == (
        "DistributedSampler(10 samples, batch_size=2, rank 1 of 3, shuffle=True, seed=0, "
        "drop_last=False, epoch=4)"
    )


class Rows(Dataset):
    """The general (per-sample) loader path."""

    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], i


@pytest.mark.parametrize("general_path", [False, True])
def test_loader_reads_the_batches_of_a_batch_sampler(general_path):
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    dataset = Rows(x) if general_path else TensorDataset(x, np.arange(10))
    sampler = DistributedSampler(dataset, 2, num_replicas=2, rank=1, seed=0)
    loader = DataLoader(dataset, batch_sampler=sampler)
    assert len(loader) == len(sampler) == 3
    expected = list(sampler)
    got = [y.numpy() for _, y in loader]
    assert [g.tolist() for g in got] == [e.tolist() for e in expected]
    for (xb, _), index in zip(loader, expected):
        np.testing.assert_array_equal(xb.numpy(), x[index])


@pytest.mark.parametrize(
    "kwargs", [{"batch_size": 4}, {"shuffle": True}, {"drop_last": True}, {"seed": 0}]
)
def test_loader_batch_sampler_excludes_its_own_batching_options(kwargs):
    sampler = DistributedSampler(10, 2, num_replicas=1, rank=0)
    with pytest.raises(ValueError, match="batch_sampler chooses the batches"):
        DataLoader(TensorDataset(np.zeros((10, 2))), batch_sampler=sampler, **kwargs)
