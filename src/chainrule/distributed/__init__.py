"""Data-parallel training over MPI: one process per rank, gradients averaged in backward.

Built on mpi4py (the ``mpi`` extra: ``pip install 'chainrule[mpi]'`` also installs
the MPICH wheel, whose ``mpiexec`` starts the processes). Run a script with
``mpiexec -n 4 python train.py``; in it::

    from chainrule import distributed as dist

    comm = dist.init()                                   # once, first
    model = dist.DistributedDataParallel(model)          # rank 0's parameters everywhere
    sampler = dist.DistributedSampler(train_set, batch_size=64)
    loader = DataLoader(train_set, batch_sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()      # gradients averaged here
            optimizer.step()

``docs/distributed.md`` has the design, the failure behaviour and cluster notes.

    >>> from chainrule import distributed as dist
    >>> dist.init().size
    1
"""

from chainrule.distributed.communicator import Communicator
from chainrule.distributed.ddp import DistributedDataParallel
from chainrule.distributed.failure import abort_on_error
from chainrule.distributed.metrics import reduce_mean
from chainrule.distributed.runtime import (
    barrier,
    communicator,
    init,
    is_initialized,
    is_main,
    rank,
    world_size,
)
from chainrule.distributed.sampler import DistributedSampler
from chainrule.distributed.sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = [
    "init", "is_initialized", "communicator", "rank", "world_size", "is_main", "barrier",
    "Communicator", "abort_on_error",
    "DistributedDataParallel", "SyncBatchNorm", "convert_sync_batchnorm",
    "DistributedSampler", "reduce_mean",
]  # fmt: skip
