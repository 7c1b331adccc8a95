"""Normalization layers: BatchNorm1d and BatchNorm2d (running statistics) and LayerNorm."""

from __future__ import annotations

import numbers

import numpy as np

from chainrule import gates
from chainrule.errors import ShapeError
from chainrule.mode import STATE
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.nn.parameter import Parameter


def _dtype(dtype) -> np.dtype:
    return STATE.default_dtype if dtype is None else np.dtype(dtype)


class BatchNorm1d(Module):
    """Batch normalization (Ioffe & Szegedy, 2015) over (N, C) or (N, C, L) inputs.

    Training mode normalises with the batch's mean and (biased) variance per feature
    and updates the buffers ``running_mean`` and ``running_var`` as PyTorch does:
    ``running = (1 - momentum) * running + momentum * batch`` with the *unbiased* batch
    variance; ``momentum=None`` gives a cumulative average (1 / num_batches_tracked).
    Eval mode normalises with the running statistics. With
    ``track_running_stats=False`` there are no running statistics and batch statistics
    are used in both modes. ``weight`` (gamma, ones) and ``bias`` (beta, zeros) exist
    when `affine`.

        >>> import chainrule as cr
        >>> bn = cr.nn.BatchNorm1d(3)
        >>> y = bn(cr.randn(64, 3) * 5 + 2)
        >>> bool(abs(y.data.mean(axis=0)).max() < 1e-5), int(bn.num_batches_tracked.item())
        (True, 1)
        >>> bn
        BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = _dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        """Reset the running statistics, and gamma to 1 and beta to 0."""
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, x):
        shape = tuple(x.shape)
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ShapeError(
                f"BatchNorm1d: expected input (N, {self.num_features}) or "
                f"(N, {self.num_features}, L), got shape {shape}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch_stats,
            momentum=factor,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class LayerNorm(Module):
    """Layer normalization (Ba et al., 2016) over the last dimensions of the input.

    Each sample is normalised over its trailing `normalized_shape` dimensions with its
    own mean and (biased) variance; the same in training and eval. ``weight`` (ones)
    and ``bias`` (zeros) have shape `normalized_shape` when `elementwise_affine`.

        >>> import chainrule as cr
        >>> ln = cr.nn.LayerNorm(8)
        >>> y = ln(cr.randn(4, 8) * 3 + 1)
        >>> bool(abs(y.data.mean(axis=-1)).max() < 1e-5)
        True
        >>> ln
        LayerNorm((8,), eps=1e-05, elementwise_affine=True)
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (int(normalized_shape),)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = _dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        """weight to 1, bias to 0."""
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, x):
        n = len(self.normalized_shape)
        if len(x.shape) < n or tuple(x.shape[len(x.shape) - n :]) != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm: expected input ending with {self.normalized_shape}, "
                f"got shape {tuple(x.shape)}"
            )
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )


class BatchNorm2d(BatchNorm1d):
    """Batch normalization over (N, C, H, W) inputs: per channel, over N, H and W.

    The same layer as `BatchNorm1d` (arguments, running statistics, train and eval
    modes, PyTorch's behaviour) for feature maps. The statistics over (N, H, W) are
    those over (N, H * W), so the input is viewed as (N, C, H * W) (two free reshapes)
    and normalised by BatchNorm1d's one fused gate.

        >>> import chainrule as cr
        >>> bn = cr.nn.BatchNorm2d(16)
        >>> y = bn(cr.randn(8, 16, 5, 5) * 3 + 1)
        >>> y.shape, bool(abs(y.data.mean(axis=(0, 2, 3))).max() < 1e-5)
        ((8, 16, 5, 5), True)
        >>> bn
        BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    """

    def forward(self, x):
        shape = tuple(x.shape)
        if len(shape) != 4 or shape[1] != self.num_features:
            raise ShapeError(
                f"BatchNorm2d: expected input (N, {self.num_features}, H, W), got shape {shape}"
            )
        n, c, h, w = shape
        out = super().forward(gates.reshape(x, (n, c, h * w)))
        return gates.reshape(out, shape)
