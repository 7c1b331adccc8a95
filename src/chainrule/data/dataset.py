"""Datasets: a length and indexed samples. `TensorDataset` wraps arrays; `random_split` splits.

A dataset holds data (NumPy arrays); the `DataLoader` turns batches of it into Tensors.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from chainrule.errors import ShapeError
from chainrule.tensor import Tensor, as_array


class Dataset:
    """A collection of samples: subclass it and define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, usually a tuple such as ``(x, y)`` of arrays
    or numbers; the `DataLoader` stacks samples into batches.

        >>> import numpy as np
        >>> from chainrule.data import Dataset
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return np.full(2, i, np.float32), i * i
        >>> len(Squares()), Squares()[3][1]
        (4, 9)
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


def _as_data(x) -> np.ndarray:
    """A NumPy array for `x`: Tensors give their array, arrays stay as they are."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    return as_array(x)


class TensorDataset(Dataset):
    """Samples are rows of arrays (or Tensors) that share their first dimension.

    ``dataset[i]`` is ``tuple(a[i] for a in arrays)``. Arrays keep their dtype (labels stay
    integers); Tensors are stored as their arrays and lists follow `chainrule.tensor`'s
    dtype rules.

        >>> import numpy as np
        >>> from chainrule.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((5, 3), np.float32), np.arange(5))
        >>> x, y = ds[4]
        >>> x.shape, int(y)
        ((3,), 4)
    """

    def __init__(self, *arrays) -> None:
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = tuple(_as_data(a) for a in arrays)
        shapes = [a.shape for a in self.arrays]
        if any(len(shape) == 0 for shape in shapes):
            raise ShapeError(
                f"TensorDataset: arrays need a first (sample) dimension, got shapes "
                f"{', '.join(map(str, shapes))}"
            )
        for a in self.arrays:
            if a.dtype.kind not in "fiub":
                raise TypeError(f"TensorDataset: unsupported dtype {a.dtype} (numbers only)")
        if len({shape[0] for shape in shapes}) != 1:
            raise ShapeError(
                "TensorDataset: all arrays must have the same first dimension (the number "
                f"of samples), got shapes {', '.join(map(str, shapes))}"
            )

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        fields = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({fields})"


class Subset(Dataset):
    """The samples of `dataset` at `indices` (a 1-d sequence of ints), in that order.

    >>> import numpy as np
    >>> from chainrule.data import Subset, TensorDataset
    >>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> picked = Subset(ds, [4, 0])
    >>> len(picked), int(picked[0][1]), int(picked[1][1])
    (2, 4, 0)
    """

    def __init__(self, dataset: Dataset, indices) -> None:
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError("Subset: indices must be a 1-d sequence of integers")
        n = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}) for this dataset")
        self.dataset = dataset
        self.indices = indices.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {self.dataset!r})"


def _split_sizes(n: int, lengths: Sequence[float]) -> list[int]:
    """Integer lengths that sum to `n`, from integers (kept) or fractions (PyTorch's rule)."""
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(k, numbers.Integral) for k in lengths):
        sizes = [int(k) for k in lengths]
        if any(k < 0 for k in sizes) or sum(sizes) != n:
            raise ValueError(
                f"random_split: lengths {sizes} must be non-negative and sum to the dataset "
                f"size {n}"
            )
        return sizes
    fractions = [float(f) for f in lengths]
    if any(not 0 <= f <= 1 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"random_split: fractions {fractions} must lie in [0, 1] and sum to 1 "
            "(or give integer lengths that sum to the dataset size)"
        )
    sizes = [int(np.floor(n * f)) for f in fractions]
    for i in range(n - sum(sizes)):  # the remainder goes round-robin, as in PyTorch
        sizes[i % len(sizes)] += 1
    return sizes


def _generator(seed: int | None) -> np.random.Generator:
    from chainrule.creation import generator

    return generator() if seed is None else np.random.default_rng(seed)


def random_split(
    dataset: Dataset, lengths: Sequence[float], seed: int | None = None
) -> list[Subset]:
    """Split `dataset` at random into non-overlapping `Subset`s of the given lengths.

    `lengths` are integers that sum to ``len(dataset)`` or fractions that sum to 1 (any
    remainder is dealt out one sample at a time, as in PyTorch). With ``seed=None`` the
    split draws from chainrule's generator, so `chainrule.seed` makes it reproducible.

        >>> import numpy as np
        >>> from chainrule.data import TensorDataset, random_split
        >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
    """
    sizes = _split_sizes(len(dataset), lengths)
    permutation = _generator(seed).permutation(len(dataset))
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, permutation[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def train_val_split(
    dataset: Dataset, val_fraction: float = 0.1, seed: int | None = None
) -> tuple[Subset, Subset]:
    """Split `dataset` at random into ``(train, val)``, `val_fraction` of it for validation.

    The validation set gets ``round(val_fraction * len(dataset))`` samples.

        >>> import numpy as np
        >>> from chainrule.data import TensorDataset, train_val_split
        >>> train, val = train_val_split(TensorDataset(np.arange(100)), 0.25, seed=0)
        >>> len(train), len(val)
        (75, 25)
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1), got {val_fraction}")
    n_val = round(val_fraction * len(dataset))
    train, val = random_split(dataset, [len(dataset) - n_val, n_val], seed=seed)
    return train, val
