"""The functional interface of `chainrule.nn`: ``import chainrule.nn.functional as F``.

Activations, the linear map, convolution, pooling, padding, dropout, normalisation and
the losses as plain functions on tensors, with PyTorch's names, shapes and defaults
(``axis`` where NumPy has the name). The layers in `chainrule.nn` are thin modules
around these.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> cr.seed(0)
    >>> x = cr.randn(4, 3)
    >>> w1, b1 = cr.randn(5, 3, requires_grad=True), cr.zeros(5, requires_grad=True)
    >>> w2 = cr.randn(2, 5, requires_grad=True)
    >>> scores = F.linear(F.relu(F.linear(x, w1, b1)), w2)  # f = W2 max(0, W1 x)
    >>> loss = F.cross_entropy(scores, [0, 1, 1, 0])
    >>> loss.backward()
    >>> w1.grad.shape, b1.grad.shape, w2.grad.shape
    ((5, 3), (5,), (2, 5))
"""

from __future__ import annotations

import numpy as np

from chainrule import gates
from chainrule.creation import generator
from chainrule.errors import ShapeError
from chainrule.gates import (
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    conv_transpose2d,
    edge_pad,
    elu,
    leaky_relu,
    log_softmax,
    max_pool2d,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from chainrule.gates.nn import Normalize, linear
from chainrule.nn._losses import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    float_input,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    svm_loss,
)
from chainrule.tensor import Tensor

__all__ = [
    # activations
    "elu", "leaky_relu", "log_softmax", "relu", "sigmoid", "softmax", "softplus", "tanh",
    # layers
    "linear", "dropout", "batch_norm", "layer_norm",
    # convolution, pooling, padding
    "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pad",
    "dropout2d",
    # losses
    "binary_cross_entropy_with_logits", "cross_entropy", "huber_loss", "l1_loss", "mse_loss",
    "nll_loss", "svm_loss",
]  # fmt: skip


# ----- dropout -----


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability `p`, scale the rest by 1/(1-p).

    The expected value of every element is unchanged, so nothing needs rescaling at test
    time: with ``training=False`` (or ``p == 0``) `x` is returned as it is; ``p == 1``
    gives zeros. The mask comes from chainrule's generator (``cr.seed`` makes it
    reproducible) and is a constant of the graph: the gradient is ``g * mask``.

    Parameters
    ----------
    x : Tensor
    p : float in [0, 1]
        The probability of dropping an element (PyTorch's meaning, not keep-probability).
    training : bool

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> cr.seed(0)
    >>> F.dropout(cr.ones(8), p=0.5)
    Tensor([2., 2., 2., 0., 0., 0., 0., 0.], dtype=float32)
    >>> F.dropout(cr.ones(3), p=0.5, training=False)
    Tensor([1., 1., 1.], dtype=float32)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p is a probability and must be in [0, 1], got {p}")
    x = float_input("dropout", x)
    if not training or p == 0:
        return x
    if p == 1:
        return x * np.zeros(x.shape, x.dtype)
    uniform_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    keep = generator().random(x.shape, dtype=uniform_dtype) >= p
    mask = keep.astype(x.dtype)
    mask *= 1 / (1 - p)
    return x * mask


def dropout2d(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Channel dropout for feature maps: zero whole channels with probability `p`.

    Neighbouring pixels of a feature map are strongly correlated, so dropping single
    pixels hardly regularises a convolutional layer; this drops each (sample, channel)
    map as a whole and scales the kept ones by 1/(1-p) (Tompson et al., 2015; PyTorch's
    ``dropout2d``). The mask has shape (N, C, 1, 1) and is a constant of the graph.
    Input (N, C, H, W), or any (N, C, *) with spatial axes: a 3-d input is read as
    (N, C, L), as PyTorch does (it warns there).

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> cr.seed(0)
    >>> y = F.dropout2d(cr.ones(1, 4, 2, 2), p=0.5)
    >>> y.data[0, :, 0, 0], bool((y.data == y.data[:, :, :1, :1]).all())  # whole channels
    (array([2., 2., 2., 0.], dtype=float32), True)
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p is a probability and must be in [0, 1], got {p}")
    x = float_input("dropout2d", x)
    if x.ndim < 3:
        raise ShapeError(f"dropout2d: expected input (N, C, H, W), got shape {x.shape}")
    if not training or p == 0:
        return x
    mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    if p == 1:
        return x * np.zeros(mask_shape, x.dtype)
    uniform_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
    mask = (generator().random(mask_shape, dtype=uniform_dtype) >= p).astype(x.dtype)
    mask *= 1 / (1 - p)
    return x * mask


# ----- padding -----


def pad(x, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last dimensions, PyTorch's way: `pad` lists (before, after) pairs from the
    last dimension backwards, ``(left, right, top, bottom)`` for an image.

    Modes: 'constant' (`value`, default 0: the `chainrule.pad` gate), 'reflect' (mirror
    about the edge element, widths below the size), 'replicate' (repeat the edge
    element), 'circular' (wrap around, widths up to the size): `chainrule.gates.edge_pad`.

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    >>> F.pad(x, (1, 0, 0, 1), mode="replicate")
    Tensor([[[[1., 1., 2.],
              [3., 3., 4.],
              [3., 3., 4.]]]], dtype=float32)
    >>> F.pad(x, (1, 1)).shape
    (1, 1, 2, 4)
    """
    ndim = np.ndim(x)
    widths = [int(w) for w in pad]
    if len(widths) % 2 or len(widths) > 2 * ndim:
        raise ValueError(
            f"pad: expected an even number of widths, two per padded dimension, at most "
            f"{2 * ndim} for an input of shape {np.shape(x)}; got {tuple(pad)}"
        )
    if min(widths, default=0) < 0:
        raise ValueError(f"pad: widths must be >= 0 (cropping is not supported), got {tuple(pad)}")
    pairs = [(0, 0)] * ndim
    for i in range(len(widths) // 2):
        pairs[ndim - 1 - i] = (widths[2 * i], widths[2 * i + 1])
    if mode == "constant":
        return gates.pad(x, pairs, value=0.0 if value is None else value)
    if value is not None:
        raise ValueError(f"pad: mode {mode!r} takes no value, got value={value}")
    return edge_pad(x, pairs, mode)


# ----- normalisation -----


def _values(name: str, what: str, value, shape: tuple, dtype):
    """A per-feature argument checked for `shape`; a Tensor stays a Tensor (it may learn)."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        value = np.asarray(value).astype(dtype, copy=False)
    if value.shape != shape:
        raise ShapeError(f"{name}: {what} has shape {value.shape}, expected {shape}")
    return value


def _statistic(stat, dtype):
    """A running statistic for eval: a constant of x's dtype, unless it is a learning Tensor."""
    if isinstance(stat, Tensor) and stat.requires_grad:
        return stat
    data = stat.data if isinstance(stat, Tensor) else np.asarray(stat)
    return data.astype(dtype, copy=False)


def _update_running(name: str, what: str, stat, batch_value: np.ndarray, momentum: float):
    """stat <- (1 - momentum) * stat + momentum * batch_value, in place on its data."""
    data = stat.data if isinstance(stat, Tensor) else stat
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        raise TypeError(
            f"{name}: {what} must be a floating ndarray or Tensor to be updated in place, "
            f"got {type(stat).__name__}"
        )
    data[...] = (1 - momentum) * data + momentum * batch_value


def batch_norm(
    x,
    running_mean,
    running_var,
    weight=None,
    bias=None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over the batch (and length) axes, per channel, as PyTorch.

    In training, each channel is normalised with the mean and the biased variance of the
    batch, and the running statistics are updated in place (on the given arrays, or the
    data of the given tensors): ``running = (1 - momentum) * running + momentum * batch``,
    with the unbiased variance for `running_var`. Otherwise the running statistics are
    used. Then ``out = (x - mean) / sqrt(var + eps) * weight + bias``.

    Training mode is one fused gate (`chainrule.gates.Normalize`, about 1.5x faster
    than the same formula in separate gates, and twice differentiable); eval mode is
    an affine map of plain gates.

    Parameters
    ----------
    x : Tensor, (N, C), (N, C, L), (N, C, H, W) or any (N, C, *)
        Statistics are per channel, over every axis but the channel axis 1.
    running_mean, running_var : ndarray or Tensor, (C,)
        May be None in training (then no running statistics are kept).
    weight, bias : Tensor, (C,), optional
        The learnable scale (gamma) and shift (beta).
    training : bool
    momentum : float
    eps : float
        Added to the variance, so that a constant channel does not divide by zero.

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.tensor([[1.0, 10.0], [3.0, 30.0]])
    >>> mean, var = np.zeros(2, np.float32), np.ones(2, np.float32)
    >>> F.batch_norm(x, mean, var, training=True, eps=0.0)
    Tensor([[-1., -1.],
            [ 1.,  1.]], dtype=float32)
    >>> mean, var  # 0.9 * old + 0.1 * batch (unbiased variance)
    (array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32))
    """
    name = "batch_norm"
    x = float_input(name, x)
    if x.ndim < 2:
        raise ShapeError(
            f"{name}: input must have shape (N, C) or (N, C, *), e.g. (N, C, H, W), got {x.shape}"
        )
    n_channels = x.shape[1]
    channel = (n_channels,)
    for what, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and np.shape(stat) != channel:
            raise ShapeError(f"{name}: {what} has shape {np.shape(stat)}, expected {channel}")
    weight = _values(name, "weight", weight, channel, x.dtype)
    bias = _values(name, "bias", bias, channel, x.dtype)
    axes = (0, *range(2, x.ndim))
    kept = (1, n_channels) + (1,) * (x.ndim - 2)

    if not training:
        if running_mean is None or running_var is None:
            raise ValueError(f"{name}: running_mean and running_var are needed when not training")
        # An affine map with constant statistics: plain gates, differentiable to any order.
        mean = _statistic(running_mean, x.dtype).reshape(kept)
        var = _statistic(running_var, x.dtype).reshape(kept)
        out = (x - mean) * (1.0 / gates.sqrt(var + eps))
        if weight is not None:
            out = out * (weight if x.ndim == 2 else weight.reshape(kept))
        if bias is not None:
            out = out + (bias if x.ndim == 2 else bias.reshape(kept))
        return out

    count = x.size // n_channels if n_channels else 0
    if count <= 1:
        raise ValueError(
            f"{name}: expected more than 1 value per channel when training, got input "
            f"of shape {x.shape}"
        )
    mean = np.mean(x.data, axis=axes, keepdims=True)
    var = np.var(x.data, axis=axes, keepdims=True)
    if running_mean is not None:
        _update_running(name, "running_mean", running_mean, mean.reshape(channel), momentum)
    if running_var is not None:
        unbiased = var.reshape(channel) * (count / (count - 1))
        _update_running(name, "running_var", running_var, unbiased, momentum)
    if x.ndim > 2:
        weight = None if weight is None else weight.reshape(kept)
        bias = None if bias is None else bias.reshape(kept)
    return Normalize.apply(x, weight, bias, axis=axes, eps=eps, stats=(mean, var))


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the trailing `normalized_shape` axes of each sample.

    ``out = (x - mean) / sqrt(var + eps) * weight + bias``, with the mean and the biased
    variance taken over the last ``len(normalized_shape)`` axes, as PyTorch. One fused
    gate (`chainrule.gates.Normalize`).

    Parameters
    ----------
    x : Tensor, (..., *normalized_shape)
    normalized_shape : int or tuple of int
    weight, bias : Tensor, normalized_shape, optional
    eps : float

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.layer_norm(cr.tensor([[1.0, 3.0], [10.0, 30.0]]), 2, eps=0.0)
    Tensor([[-1.,  1.],
            [-1.,  1.]], dtype=float32)
    """
    name = "layer_norm"
    x = float_input(name, x)
    if isinstance(normalized_shape, (int, np.integer)):
        shape = (int(normalized_shape),)
    else:
        shape = tuple(int(n) for n in normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or x.shape[x.ndim - k :] != shape:
        raise ShapeError(
            f"{name}: normalized_shape {shape} must be the trailing dims of the input, "
            f"got input of shape {x.shape}"
        )
    weight = _values(name, "weight", weight, shape, x.dtype)
    bias = _values(name, "bias", bias, shape, x.dtype)
    axes = tuple(range(x.ndim - k, x.ndim))
    return Normalize.apply(x, weight, bias, axis=axes, eps=eps)
