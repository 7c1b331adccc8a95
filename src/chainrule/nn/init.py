"""Initialisation: fill a tensor in place, outside the graph, as ``torch.nn.init`` does.

Each function takes a Tensor (or Parameter, or ndarray), writes new values into its
data (the dtype is kept), and returns it. Random numbers come from chainrule's
generator, so ``cr.seed(n)`` makes them reproducible. Fans follow PyTorch: for a
weight of shape ``(out, in, *kernel)``, ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)``; a Linear weight ``(out_features, in_features)``
has ``fan_in = in_features``.

    >>> import chainrule as cr
    >>> w = cr.zeros(256, 784)
    >>> _ = cr.nn.init.kaiming_normal_(w, nonlinearity="relu")  # He: std sqrt(2 / 784)
    >>> round(float(w.data.std() / (2 / 784) ** 0.5), 2)
    1.0
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.creation import generator
from chainrule.tensor import Tensor

_LINEAR = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    linear, identity, conv*, sigmoid: 1; tanh: 5/3; relu: sqrt(2);
    leaky_relu: sqrt(2 / (1 + negative_slope**2)) with `param` the slope (0.01 if None);
    selu: 3/4.

        >>> import chainrule as cr
        >>> cr.nn.init.calculate_gain("relu") ** 2
        2.0000000000000004
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _array(tensor, name: str, random: bool = False) -> np.ndarray:
    data = tensor.data if isinstance(tensor, Tensor) else tensor
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{name}: expected a Tensor or an ndarray, got {type(tensor).__name__}")
    if random and data.dtype.kind != "f":
        raise TypeError(f"{name}: random initialisation needs a floating tensor, got {data.dtype}")
    return data


def calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)`` (at least 2-d).

    >>> import chainrule as cr
    >>> cr.nn.init.calculate_fan_in_and_fan_out(cr.zeros(256, 784))
    (784, 256)
    >>> cr.nn.init.calculate_fan_in_and_fan_out(cr.zeros(16, 3, 5, 5))
    (75, 400)
    """
    shape = _array(tensor, "calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 "
            f"dimensions (shape {shape})"
        )
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values) -> Tensor:
    data = _array(tensor, "init")
    data[...] = values  # casts to the tensor's dtype
    return tensor


# ----- constants -----


def constant_(tensor, val: float):
    """Fill `tensor` with `val`.

    >>> import chainrule as cr
    >>> cr.nn.init.constant_(cr.zeros(2, 2), 0.5)
    Tensor([[0.5, 0.5],
            [0.5, 0.5]], dtype=float32)
    """
    return _fill(tensor, val)


def zeros_(tensor):
    """Fill `tensor` with zeros.

    >>> import chainrule as cr
    >>> cr.nn.init.zeros_(cr.ones(3))
    Tensor([0., 0., 0.], dtype=float32)
    """
    return _fill(tensor, 0)


def ones_(tensor):
    """Fill `tensor` with ones.

    >>> import chainrule as cr, numpy as np
    >>> cr.nn.init.ones_(cr.nn.Parameter(cr.zeros(3)))
    Parameter([1., 1., 1.], dtype=float32)
    >>> cr.nn.init.ones_(np.zeros(2))  # an ndarray is filled too
    array([1., 1.])
    """
    return _fill(tensor, 1)


# ----- random -----


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill `tensor` with samples from U(a, b).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> w = cr.nn.init.uniform_(cr.zeros(1000), -1.0, 1.0)
    >>> bool(w.data.min() >= -1 and w.data.max() < 1)
    True
    """
    data = _array(tensor, "uniform_", random=True)
    return _fill(tensor, generator().uniform(a, b, data.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill `tensor` with samples from N(mean, std**2).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> w = cr.nn.init.normal_(cr.zeros(1000), mean=0.0, std=2.0)
    >>> round(float(w.data.std()), 1)
    2.0
    """
    data = _array(tensor, "normal_", random=True)
    return _fill(tensor, generator().normal(mean, std, data.shape))


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot & Bengio (2010): U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> w = cr.nn.init.xavier_uniform_(cr.zeros(300, 200))
    >>> bool(abs(w.data).max() <= (6 / (200 + 300)) ** 0.5)
    True
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        return tensor
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot & Bengio (2010): N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> w = cr.nn.init.xavier_normal_(cr.zeros(300, 200))
    >>> round(float(w.data.std() / (2 / (200 + 300)) ** 0.5), 1)
    1.0
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    if fan_in + fan_out == 0:
        return tensor
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """He et al. (2015): U(-bound, bound), bound = gain * sqrt(3 / fan).

    gain = ``calculate_gain(nonlinearity, a)``; `a` is the negative slope of a
    leaky ReLU (0 gives ReLU's sqrt(2)). ``a=sqrt(5)`` is PyTorch's Linear default,
    which works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    >>> import math, chainrule as cr
    >>> cr.seed(0)
    >>> w = cr.nn.init.kaiming_uniform_(cr.zeros(64, 100), a=math.sqrt(5))
    >>> bool(abs(w.data).max() <= 1 / math.sqrt(100))
    True
    """
    if _array(tensor, "kaiming_uniform_").size == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """He et al. (2015): N(0, std**2), std = gain / sqrt(fan) (sqrt(2 / fan_in) for ReLU).

    >>> import chainrule as cr
    >>> cr.seed(0)
    >>> w = cr.nn.init.kaiming_normal_(cr.zeros(16, 3, 5, 5), mode="fan_out")
    >>> round(float(w.data.std() / (2 / (16 * 5 * 5)) ** 0.5), 1)  # fan_out = 400
    1.0
    """
    if _array(tensor, "kaiming_normal_").size == 0:
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)
