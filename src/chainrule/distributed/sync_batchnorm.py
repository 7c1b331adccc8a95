"""SyncBatchNorm: batch normalisation with the statistics of the global batch.

Forward gathers each rank's per-channel count, mean and sum of squared deviations
(one ``Allgather`` of ``2 C + 1`` numbers) and combines them with Chan's parallel
formula, which stays accurate where ``E[x^2] - E[x]^2`` would cancel; every rank
combines the same numbers in the same order, so all get the same statistics.

Backward needs two per-channel sums over the global batch, ``sum(dxh)`` and
``sum(dxh * xh)`` (``dxh = g * w``): one ``Allreduce`` of ``2 C`` numbers. Why each rank
scales its sums by its weight ``s`` and divides the result by ``s`` again: the global
loss is ``L = sum_r s_r L_r`` (``s_r``: the weight `DistributedDataParallel` gives rank
r, its share of the global batch, or ``1 / world_size``), and rank r's backward starts
from the gradient of its own ``L_r``. `DistributedDataParallel` sums ``s_r`` times the
parameter gradients of each rank, so rank r's input gradient must be ``1 / s_r``
times that of ``L``; the upstream gradient of ``L`` at rank q's outputs is ``s_q g_q``,
whose global sums are the reduced ``S1``, ``S2``.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import sum_to
from chainrule.gates.nn import Normalize
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d


class _SyncNormalize(Normalize):
    """out = (x - mean) / sqrt(var + eps) * w + b with the global batch's mean and var.
    Shapes: x (N, C, *), w and b (C,) or (1, C, 1...) or None.
    Backward: dx = (dxh - S1 / (M s) - xh * S2 / (M s)) / sqrt(var + eps), where
    S1 = sum over ranks of s * sum(dxh), S2 likewise with dxh * xh, M the global count
    per channel and s this rank's weight; dw = sum(g * xh), db = sum(g) (local)."""

    differentiable = False  # the backward's collective cannot be recorded as a graph

    def forward(self, x, w=None, b=None, axis=0, eps=1e-5, stats=None, comm=None, scale=1.0):
        self.comm, self.scale, self.count = comm, scale, stats[2]
        return super().forward(x, w, b, axis=axis, eps=eps, stats=stats[:2])

    def backward(self, g):
        x, w, b = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        xh, inv = self.xh, self.inv
        self.xh = self.inv = None
        dx = dw = db = None
        if need_x:
            dxh = g if w is None else g * w
            sums = np.stack([dxh.sum(axis=self.axes), (dxh * xh).sum(axis=self.axes)])
            sums = self.comm.all_reduce(np.ascontiguousarray(sums * self.scale))
            shape = (1, -1) + (1,) * (x.ndim - 2)
            mean_dxh, mean_dxh_xh = (s.reshape(shape) / (self.count * self.scale) for s in sums)
            dx = (dxh - mean_dxh - xh * mean_dxh_xh) * inv
        if need_w:
            dw = sum_to(g * xh, w.shape)
        if need_b:
            db = sum_to(g, b.shape)
        return dx, dw, db


class SyncBatchNorm(BatchNorm1d):
    """BatchNorm over (N, C, *) inputs with the statistics of the batch of all ranks.

    The same arguments, parameters, buffers and eval mode as `BatchNorm1d`; in
    training the mean and variance are those of the global batch (the running
    statistics too, so they agree on every rank). `comm` is the communicator;
    `weighted` must match the `DistributedDataParallel` it trains under (its
    `weight_by_batch`). Made by ``DistributedDataParallel(model, sync_batchnorm=True)``
    or `convert_sync_batchnorm`. Without running statistics
    (``track_running_stats=False``) evaluation normalises with the global batch too, so
    then every rank must take part in it.

        >>> import chainrule as cr
        >>> from chainrule import distributed as dist
        >>> bn = dist.SyncBatchNorm(3, comm=dist.init())
        >>> y = bn(cr.randn(8, 3, 5) * 2 + 1)
        >>> bool(abs(y.data.mean(axis=(0, 2))).max() < 1e-5)
        True
    """

    def __init__(self, num_features: int, *args, comm=None, weighted: bool = True, **kwargs):
        super().__init__(num_features, *args, **kwargs)
        if comm is None:
            from chainrule.distributed.runtime import communicator

            comm = communicator()
        self.comm = comm
        self.weighted = bool(weighted)

    def forward(self, x):
        shape = tuple(x.shape)
        if len(shape) < 2 or shape[1] != self.num_features:
            raise ShapeError(
                f"SyncBatchNorm: expected input (N, {self.num_features}, *), got shape {shape}"
            )
        use_batch_stats = self.training or not self.track_running_stats
        if not use_batch_stats:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias,
                training=False, eps=self.eps,
            )  # fmt: skip
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        axes = (0, *range(2, len(shape)))
        count, mean, var = self._global_statistics(x.data, axes)
        if self.training and self.track_running_stats:
            unbiased = var * (count / max(count - 1, 1))
            for stat, value in ((self.running_mean, mean), (self.running_var, unbiased)):
                stat.data[...] = (1 - factor) * stat.data + factor * value
        kept = (1, self.num_features) + (1,) * (len(shape) - 2)
        weight, bias = self.weight, self.bias
        if len(shape) > 2:
            weight = None if weight is None else weight.reshape(kept)
            bias = None if bias is None else bias.reshape(kept)
        local = x.data.size // self.num_features
        scale = local / count if self.weighted else 1.0 / self.comm.size
        stats = (mean.reshape(kept).astype(x.dtype), var.reshape(kept).astype(x.dtype), count)
        return _SyncNormalize.apply(
            x, weight, bias, axis=axes, eps=self.eps, stats=stats, comm=self.comm, scale=scale
        )

    def _global_statistics(self, x: np.ndarray, axes: tuple) -> tuple:
        """(count, mean, biased variance) per channel over every rank's batch, float64."""
        n = x.size // self.num_features
        mean = x.mean(axis=axes, dtype=np.float64)
        m2 = ((x - mean.reshape((1, -1) + (1,) * (x.ndim - 2))) ** 2).sum(
            axis=axes, dtype=np.float64
        )
        rows = self.comm.all_gather(np.concatenate([[n], mean, m2]))
        counts, means, m2s = rows[:, 0], rows[:, 1 : 1 + len(mean)], rows[:, 1 + len(mean) :]
        total = counts.sum()
        if total <= 1:
            raise ValueError(
                f"SyncBatchNorm: expected more than 1 value per channel over all ranks, "
                f"got {int(total)}"
            )
        global_mean = (counts[:, None] * means).sum(axis=0) / total
        spread = (counts[:, None] * (means - global_mean) ** 2).sum(axis=0)
        return float(total), global_mean, (m2s.sum(axis=0) + spread) / total


def convert_sync_batchnorm(module: Module, comm, weighted: bool = True) -> Module:
    """`module` with every BatchNorm layer replaced by a `SyncBatchNorm` (in place).

    The new layers take over the very Parameter and buffer objects of the old ones,
    so an optimizer made before still updates them. Returns `module` (or the new layer
    when `module` itself is a BatchNorm).

        >>> import chainrule as cr
        >>> from chainrule import distributed as dist
        >>> net = cr.nn.Sequential(cr.nn.Linear(4, 3), cr.nn.BatchNorm1d(3))
        >>> weight = net[1].weight
        >>> net = dist.convert_sync_batchnorm(net, dist.init())
        >>> type(net[1]).__name__, net[1].weight is weight
        ('SyncBatchNorm', True)
    """
    if isinstance(module, BatchNorm1d) and not isinstance(module, SyncBatchNorm):
        sync = SyncBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine,
            module.track_running_stats, comm=comm, weighted=weighted,
        )  # fmt: skip
        for name, param in module._parameters.items():
            sync.register_parameter(name, param)
        for name, buffer in module._buffers.items():
            sync.register_buffer(name, buffer)
        sync.train(module.training)
        return sync
    for name, child in list(module.named_children()):
        converted = convert_sync_batchnorm(child, comm, weighted)
        if converted is not child:
            setattr(module, name, converted)
    return module
