"""GradientReducer: average a model's gradients over the ranks after each backward.

`chainrule.engine.backward` calls `on_backward(leaves)` once its walk is over and
before any ``.grad`` is written (see `chainrule.distributed.hooks`). The reducer packs
the gradients of its parameters into its buckets, scaled by this rank's weight,
starts one non-blocking ``Iallreduce`` per bucket as soon as the bucket is packed (all
of them in flight together; MPI moves them along inside its own calls), waits for all
of them, and puts the averages into `leaves` in place of the local gradients.
The engine then stores them in ``.grad`` as if they had been computed locally: the
averaging costs no call from the user and no work at all when no model is wrapped.

The floating-point buffers it is given (BatchNorm running statistics, which each rank
updates from its own batches) are averaged over the ranks as well, right after the
gradients, so that the replicas stay identical after every step.

Each backward averages its own gradients. Gradients accumulated over several
backward calls therefore average to the average of their sum; under
`DistributedDataParallel.no_sync` backward skips the reduction, and the next one
averages everything accumulated since.
"""

from __future__ import annotations

import numpy as np

from chainrule.distributed.buckets import plan_buckets, through_flat
from chainrule.tensor import Tensor


class GradientReducer:
    """Averages the gradients of `params` over the ranks of `comm`, bucket by bucket."""

    def __init__(self, params: list, comm, bucket_cap_mb: float, buffers: list = ()) -> None:
        self.params = params
        self.buffers = list(buffers)  # averaged after every reduction (running statistics)
        self.comm = comm
        self.buckets = plan_buckets(params, int(bucket_cap_mb * 2**20))
        self.ids = {id(p) for p in params}
        self.weight = 1.0  # this rank's share: its batch size, set by the wrapper's forward
        self.enabled = True
        self._unsynced = False  # a backward under no_sync left local gradients behind

    def on_backward(self, leaves: dict, force: bool = False) -> None:
        """Replace the gradients of this reducer's parameters in `leaves` by their averages.

        A backward that reaches none of them is left alone, unless `force` (every rank
        then takes part, whether or not it has gradients).
        """
        if not force and not any(key in self.ids for key in leaves):
            return  # a backward that does not reach this model
        if not self.enabled:
            self._unsynced = True
            return
        requests = []
        for bucket in self.buckets:
            self._pack(bucket, leaves)
            requests.append(self.comm.all_reduce(bucket.flat, async_op=True))
        from mpi4py import MPI

        MPI.Request.Waitall(requests)
        for bucket in self.buckets:
            self._unpack(bucket, leaves)
        self._unsynced = False
        if self.buffers:
            self._average_buffers()

    def _average_buffers(self) -> None:
        """Each buffer's mean over the ranks, on every rank: one message per dtype."""
        through_flat(self.buffers, lambda flat: self.comm.all_reduce(flat, "mean"))

    def _pack(self, bucket, leaves: dict) -> None:
        flat, weight = bucket.flat, self.weight
        for i, p in enumerate(bucket.params):
            slot = bucket.slot(i)
            entry = leaves.get(id(p))
            g = None if entry is None else entry[1]
            if g is not None and type(g) is not np.ndarray:
                g = _plain_gradient(g, p)
            if self._unsynced and p.grad is not None:
                g = p.grad.data if g is None else p.grad.data + g
            if g is None:
                slot[...] = 0
                flat[bucket.presence.start + i] = 0
                continue
            if g.dtype != bucket.dtype or g.shape != slot.shape:
                raise TypeError(
                    f"DistributedDataParallel: parameter {p.name or i} has a {g.dtype} "
                    f"gradient of shape {g.shape}; its bucket holds {bucket.dtype} "
                    f"{slot.shape}. Wrap the model after changing its dtype (model.to())"
                )
            np.multiply(g, weight, out=slot)
            flat[bucket.presence.start + i] = 1
        flat[bucket.weight] = weight

    def _unpack(self, bucket, leaves: dict) -> None:
        flat = bucket.flat
        total = flat[bucket.weight]
        for i, p in enumerate(bucket.params):
            if flat[bucket.presence.start + i] == 0:
                continue  # no rank has a gradient for it: it gets none, as in one process
            if self._unsynced:
                p.grad = None  # the average below includes what no_sync accumulated
            leaves[id(p)] = (p, np.divide(bucket.slot(i), total))


def _plain_gradient(g, p) -> np.ndarray:
    if isinstance(g, Tensor):
        raise RuntimeError(
            "DistributedDataParallel: backward(create_graph=True) is not supported: "
            "gradients that are graphs cannot be averaged across processes"
        )
    return np.asarray(g, dtype=p.data.dtype)
