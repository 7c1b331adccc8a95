"""DistributedDataParallel: one model replica per rank, gradients averaged by backward.

Used as PyTorch's: ``model = DistributedDataParallel(model)``, then the usual loop.
Each rank feeds its own batch (a `DistributedSampler` shards the data); after
``loss.backward()`` every rank holds the same averaged gradients, so the optimizers,
started from the same parameters, take the same step and the replicas stay equal.

BatchNorm. By default each rank normalises with the statistics of its own batch (as
PyTorch's DDP does), and the running statistics, which each rank updates from its own
batches, are averaged over the ranks after every backward (``sync_buffers=True``), so
that the replicas, their evaluations and their checkpoints agree; an evaluation
forward needs no communication (rank 0 may evaluate alone). PyTorch instead
broadcasts rank 0's buffers at every forward. With ``sync_batchnorm=True`` the
BatchNorm layers are replaced by `SyncBatchNorm`, which normalises with the statistics
of the global batch (one small ``Allgather`` per layer in forward, one ``Allreduce`` in
backward): the model then trains exactly as one process with the global batch would.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from chainrule.distributed import hooks
from chainrule.distributed.buckets import through_flat
from chainrule.distributed.reducer import GradientReducer
from chainrule.distributed.runtime import communicator
from chainrule.distributed.sync_batchnorm import convert_sync_batchnorm
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class DistributedDataParallel(Module):
    """Wrap `module` for data-parallel training over the ranks of `comm`.

    At construction the parameters and buffers of rank 0 are broadcast to every
    rank. After each ``backward()`` that reaches the model, the gradients are
    averaged over the ranks, weighted by each rank's batch size (the length of the
    first argument of the latest forward call) when `weight_by_batch`, so that an
    uneven last batch of an epoch counts as it would in one process; with
    ``weight_by_batch=False`` all ranks weigh the same (for losses that sum).

    Every rank must run the same sequence of forward and backward calls: a backward
    is a collective operation. `state_dict` and `load_state_dict` are the wrapped
    model's (no ``module.`` prefix), so checkpoints load into the plain model.

    Parameters
    ----------
    module : Module
    comm : Communicator, optional
        Default: the one `chainrule.distributed.init` made.
    bucket_cap_mb : float
        Most megabytes of gradients per message (default 25, as PyTorch).
    sync_buffers : bool
        Average the floating-point buffers (BatchNorm running statistics) over the
        ranks after each backward (not needed, so not done, with `sync_batchnorm`).
    sync_batchnorm : bool
        Replace BatchNorm layers by `SyncBatchNorm` (statistics of the global batch).
    weight_by_batch : bool
        Weight each rank's gradients by its batch size.

    Example
    -------
    >>> import chainrule as cr
    >>> from chainrule import distributed as dist
    >>> from chainrule.nn import functional as F
    >>> _ = dist.init()
    >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 2))
    >>> F.cross_entropy(model(cr.ones(4, 3)), [0, 1, 1, 0]).backward()
    >>> model.module.weight.grad.shape  # averaged over the ranks (here, one)
    (2, 3)
    """

    def __init__(
        self,
        module: Module,
        comm=None,
        bucket_cap_mb: float = 25.0,
        sync_buffers: bool = True,
        sync_batchnorm: bool = False,
        weight_by_batch: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(
                f"DistributedDataParallel: expected a chainrule.nn.Module, "
                f"got {type(module).__name__}"
            )
        if not bucket_cap_mb > 0:
            raise ValueError(
                f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}"
            )
        comm = communicator() if comm is None else comm
        if sync_batchnorm:
            module = convert_sync_batchnorm(module, comm, weighted=weight_by_batch)
        self.module = module
        self.comm = comm
        self.weight_by_batch = bool(weight_by_batch)
        self._broadcast(list(module.parameters()) + list(module.buffers()))
        # Integer buffers (num_batches_tracked) count the same steps on every rank.
        buffers = [b for b in module.buffers() if b.data.dtype.kind == "f"]
        synced = buffers if sync_buffers and not sync_batchnorm else ()
        self.reducer = GradientReducer(list(module.parameters()), comm, bucket_cap_mb, synced)
        hooks.register(self.reducer)

    def forward(self, *args, **kwargs):
        if self.weight_by_batch:
            first = args[0] if args else None
            batch = len(first) if isinstance(first, (Tensor, np.ndarray)) and first.ndim else 1
            self.reducer.weight = float(batch)
        return self.module(*args, **kwargs)

    @contextmanager
    def no_sync(self):
        """Skip the averaging in the backward calls inside; the next one outside averages
        everything accumulated (gradient accumulation without a message per micro-batch).

            >>> import chainrule as cr
            >>> from chainrule import distributed as dist
            >>> _ = dist.init()
            >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 1))
            >>> with model.no_sync():
            ...     model(cr.ones(2, 3)).sum().backward()  # local gradients only
            >>> model(cr.ones(2, 3)).sum().backward()  # averages both micro-batches
            >>> model.module.bias.grad
            Tensor([4.], dtype=float32)
        """
        self.reducer.enabled = False
        try:
            yield
        finally:
            self.reducer.enabled = True

    def average_gradients(self) -> None:
        """Average the parameters' current ``.grad`` over the ranks now, explicitly.

        For gradients that did not come from the engine's ``backward`` (a replayed
        `chainrule.Graph`, gradients set by hand), which the automatic averaging does
        not see. Every rank must call it.

            >>> import chainrule as cr
            >>> from chainrule import distributed as dist
            >>> _ = dist.init()
            >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 1))
            >>> model.module.bias.grad = cr.tensor([2.0])
            >>> model.average_gradients()
            >>> model.module.bias.grad  # the mean over the ranks (here, one)
            Tensor([2.], dtype=float32)
        """
        leaves = {}
        for p in self.module.parameters():
            if p.grad is not None:
                leaves[id(p)] = (p, p.grad.data)
                p.grad = None
        self.reducer.on_backward(leaves, force=True)
        for p, g in leaves.values():
            p.grad = Tensor._make(g)

    def state_dict(self):
        """The wrapped model's state dict (keys without a ``module.`` prefix)."""
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict: bool = True):
        """Load into the wrapped model (keys without a ``module.`` prefix)."""
        return self.module.load_state_dict(state_dict, strict)

    def _broadcast(self, tensors: list) -> None:
        """Rank 0's values of `tensors` on every rank: one Bcast per dtype."""
        if self.comm.size > 1:
            through_flat(tensors, self.comm.broadcast)

    def extra_repr(self) -> str:
        return f"rank {self.comm.rank} of {self.comm.size}"
