"""DistributedSampler: each rank's batches of an epoch, every sample exactly once.

Layout of an epoch. All ranks draw the same permutation of the dataset from the seed
and the epoch number (``default_rng([seed, epoch])``: no communication). The
permutation is cut into *global batches* of ``world_size * batch_size`` samples, and
each global batch into `world_size` contiguous pieces, one per rank. So

- every sample is in exactly one rank's batches, once per epoch;
- every rank takes the same number of steps (a collective per step cannot hang);
- the ranks' batches of one step are, together, the batch that a single process with
  ``batch_size * world_size`` would take at that step, so data-parallel training
  follows single-process training step by step.

The last global batch may be smaller; it is split as evenly as possible (piece sizes
differ by at most one, and `DistributedDataParallel` weights each rank's gradient by
its batch size). When it has fewer samples than there are ranks, a piece would be
empty: those samples go into the previous global batch instead (some ranks take one
sample more at that step). ``drop_last=True`` drops a smaller last global batch, so
that every step has exactly `batch_size` samples per rank, at the price of skipping
up to ``world_size * batch_size - 1`` samples per epoch.
"""

from __future__ import annotations

import numbers

import numpy as np


class DistributedSampler:
    """The batches of dataset indices that this rank trains on, one array per step.

    A *batch sampler*: give it to a loader as ``DataLoader(dataset,
    batch_sampler=sampler)`` and call ``sampler.set_epoch(epoch)`` before each epoch
    (`chainrule.training.Trainer` does), so that every epoch is shuffled differently
    and a resumed run shuffles as the uninterrupted one.

    Parameters
    ----------
    dataset : Dataset or int
        What to sample (only its length is used).
    batch_size : int
        Samples per rank and step (the global batch is ``world_size`` times larger).
    shuffle : bool
        Draw a new permutation every epoch; False keeps the dataset's order.
    seed : int
        The same on every rank.
    drop_last : bool
        Drop a last global batch smaller than ``world_size * batch_size``.
    num_replicas, rank : int, optional
        The world size and this rank; by default those of `chainrule.distributed.init`.

    Example
    -------
    >>> from chainrule.distributed import DistributedSampler
    >>> [DistributedSampler(10, batch_size=2, num_replicas=2, rank=r, shuffle=False).batches()
    ...  for r in (0, 1)]  # doctest: +NORMALIZE_WHITESPACE
    [[array([0, 1]), array([4, 5]), array([8])],
     [array([2, 3]), array([6, 7]), array([9])]]
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        n = dataset if isinstance(dataset, numbers.Integral) else len(dataset)
        _check_count("batch_size", batch_size, minimum=1)
        if num_replicas is None or rank is None:
            from chainrule.distributed.runtime import communicator

            comm = communicator()
            num_replicas = comm.size if num_replicas is None else num_replicas
            rank = comm.rank if rank is None else rank
        _check_count("num_replicas", num_replicas, minimum=1)
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: rank must be in [0, {num_replicas}), got {rank!r}"
            )
        if n < num_replicas:
            raise ValueError(
                f"DistributedSampler: {n} samples cannot feed {num_replicas} ranks "
                "(every rank needs at least one sample per step)"
            )
        self.num_samples = int(n)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self._bounds = self._global_batch_bounds()

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of `epoch` (the same on every rank) from now on."""
        _check_count("epoch", epoch, minimum=0)
        self.epoch = int(epoch)

    def _global_batch_bounds(self) -> list[int]:
        """Where the global batches start and end in the epoch's permutation."""
        n, size = self.num_samples, self.num_replicas * self.batch_size
        full, rest = divmod(n, size)
        bounds = [size * i for i in range(full + 1)]
        if rest and not self.drop_last:
            if rest < self.num_replicas and full > 0:
                bounds[-1] = n  # too few for one each: they join the previous global batch
            else:
                bounds.append(n)
        return bounds

    def batches(self) -> list[np.ndarray]:
        """This rank's index arrays for the current epoch, one per step."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.num_samples)
        else:
            order = np.arange(self.num_samples)
        return [
            np.array_split(order[start:stop], self.num_replicas)[self.rank]
            for start, stop in zip(self._bounds, self._bounds[1:])
        ]

    def __iter__(self):
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def __repr__(self) -> str:
        return (
            f"DistributedSampler({self.num_samples} samples, batch_size={self.batch_size}, "
            f"rank {self.rank} of {self.num_replicas}, shuffle={self.shuffle}, "
            f"seed={self.seed}, drop_last={self.drop_last}, epoch={self.epoch})"
        )


def _check_count(name: str, value, minimum: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"DistributedSampler: {name} must be an integer >= {minimum}, got {value!r}"
        )
