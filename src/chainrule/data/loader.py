"""DataLoader: iterate over a dataset in (shuffled) batches of chainrule Tensors."""

from __future__ import annotations

import numbers

import numpy as np

from chainrule.data.dataset import Dataset, Subset, TensorDataset
from chainrule.errors import ShapeError
from chainrule.tensor import Tensor, as_array


class DataLoader:
    """Batches of `dataset` as Tensors, one epoch per ``for`` loop.

    Each batch is a tuple with one Tensor per field of the samples (``(x, y)`` for a
    `TensorDataset` of two arrays), stacked along a new first axis; a dataset whose samples
    are single arrays gives single Tensors. Dtypes are kept: float32 images stay float32,
    integer labels stay integers. ``len(loader)`` is the number of batches per epoch.

    With ``shuffle=True`` every epoch draws a new permutation. With a `seed` the loader owns
    a generator seeded once, so the sequence of epochs is the same on every run; with
    ``seed=None`` it draws from chainrule's generator, which `chainrule.seed` resets.
    ``drop_last=True`` skips a last batch smaller than `batch_size`.

    A `batch_sampler` (an iterable of index arrays with a length, such as
    `chainrule.distributed.DistributedSampler`) chooses the batches instead: the loader
    then reads the indices it yields, and `batch_size`, `shuffle`, `drop_last` and
    `seed` must keep their defaults.

    A `TensorDataset` (or a `Subset` of one, as `random_split` makes) is batched by indexing
    its arrays with the batch's indices, without a Python loop over samples; other
    datasets are read one sample at a time and stacked with NumPy.

        >>> import numpy as np
        >>> from chainrule.data import DataLoader, TensorDataset
        >>> ds = TensorDataset(np.ones((10, 3), np.float32), np.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader)
        3
        >>> [(x.shape, y.dtype.kind) for x, y in loader]
        [((4, 3), 'i'), ((4, 3), 'i'), ((2, 3), 'i')]
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        batch_sampler=None,
    ) -> None:
        if (
            not isinstance(batch_size, numbers.Integral)
            or isinstance(batch_size, bool)
            or batch_size < 1
        ):
            raise ValueError(
                f"DataLoader: batch_size must be a positive integer, got {batch_size!r}"
            )
        defaults = (batch_size, shuffle, drop_last, seed) == (1, False, False, None)
        if batch_sampler is not None and not defaults:
            raise ValueError(
                "DataLoader: batch_sampler chooses the batches; leave batch_size, shuffle, "
                "drop_last and seed at their defaults"
            )
        self.batch_sampler = batch_sampler
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        # The permutation is drawn here, not at the first batch: iter(loader) fixes the epoch.
        n = len(self.dataset)
        if self.shuffle:
            if self._rng is None:
                from chainrule.creation import generator

                order = generator().permutation(n)
            else:
                order = self._rng.permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        batches = (order[i : i + self.batch_size] for i in range(0, stop, self.batch_size))
        if self.batch_sampler is not None:
            batches = (np.asarray(index) for index in self.batch_sampler)
        arrays = _tensor_dataset_arrays(self.dataset)
        if arrays is None:
            return (_collate([self.dataset[int(i)] for i in index]) for index in batches)
        arrays, base = arrays
        if base is not None:
            batches = (base[index] for index in batches)
        return (tuple(Tensor._make(a[index]) for a in arrays) for index in batches)

    def state_dict(self) -> dict:
        """The state of a seeded loader's generator (empty for ``seed=None``).

        Saved between epochs and restored with `load_state_dict`, it makes a resumed run
        shuffle exactly as an uninterrupted one.
        """
        return {} if self._rng is None else {"generator": self._rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        """Restore the generator state that `state_dict` returned."""
        if self._rng is None:
            if state:
                raise ValueError("DataLoader.load_state_dict: this loader has no seed")
            return
        try:
            self._rng.bit_generator.state = state["generator"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"DataLoader.load_state_dict: bad generator state ({error})") from None

    def __repr__(self) -> str:
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})"
        )


def _tensor_dataset_arrays(dataset):
    """``(arrays, indices)`` for a TensorDataset or nested Subsets of one, else None.

    `indices` maps positions in `dataset` to rows of the arrays (None: the identity).
    Subclasses that override ``__getitem__`` take the general path.
    """
    base = None
    while type(dataset).__getitem__ is Subset.__getitem__:
        base = dataset.indices if base is None else dataset.indices[base]
        dataset = dataset.dataset
    if type(dataset).__getitem__ is not TensorDataset.__getitem__:
        return None
    return dataset.arrays, base


def _collate(samples: list):
    """Stack a list of samples (tuples of fields, or single arrays) into Tensors."""
    first = samples[0]
    if not isinstance(first, (tuple, list)):
        return _stack(samples, "samples")
    n = len(first)
    if any(not isinstance(s, (tuple, list)) or len(s) != n for s in samples):
        raise ValueError(
            f"DataLoader: samples in a batch have different numbers of fields (first: {n})"
        )
    return tuple(_stack([s[k] for s in samples], f"field {k} of the samples") for k in range(n))


def _stack(items: list, what: str) -> Tensor:
    items = [x.data if isinstance(x, Tensor) else x for x in items]
    if isinstance(items[0], (np.ndarray, np.generic)):
        try:
            batch = np.stack([np.asarray(x) for x in items])
        except ValueError as error:
            shapes = sorted({str(np.shape(x)) for x in items})
            raise ShapeError(
                f"DataLoader: cannot stack {what}: shapes differ ({', '.join(shapes)})"
            ) from error
        if batch.dtype.kind not in "fiub":
            raise TypeError(f"DataLoader: {what} have unsupported dtype {batch.dtype}")
        return Tensor._make(batch)
    try:
        return Tensor._make(as_array(items))  # Python numbers: float32 / int64 as cr.tensor
    except TypeError as error:
        raise TypeError(
            f"DataLoader: cannot batch {what} of type {type(items[0]).__name__}; return "
            f"arrays, numbers or tuples of them from __getitem__ ({error})"
        ) from None
