"""Metrics over all ranks: each rank's averages, weighted by how many samples it saw."""

from __future__ import annotations

from collections.abc import Mapping


def reduce_mean(metrics: Mapping[str, float], count: float, comm=None) -> dict[str, float]:
    """The mean of each metric over every rank's samples (the same dict on every rank).

    `metrics` are this rank's means over its `count` samples (loss, accuracy); the
    result weights each rank by its `count`, so it is the mean over the whole data
    that all ranks saw, as one process would report it. One ``Allreduce``.

        >>> from chainrule import distributed as dist
        >>> _ = dist.init()
        >>> dist.reduce_mean({"loss": 0.5, "accuracy": 0.75}, count=64)
        {'loss': 0.5, 'accuracy': 0.75}
    """
    if comm is None:
        from chainrule.distributed.runtime import communicator

        comm = communicator()
    names = list(metrics)
    totals = comm.sum([*(float(metrics[name]) * count for name in names), count])
    if totals[-1] <= 0:
        raise ValueError(f"reduce_mean: the ranks saw {totals[-1]:g} samples in all")
    return {name: float(total / totals[-1]) for name, total in zip(names, totals)}
