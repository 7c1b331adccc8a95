"""How drawings and the explorer write ops and values: ``+`` for Add, ``σ`` for Sigmoid,
numbers in 3 significant digits, tensors of more than a few elements as shape, mean
and standard deviation."""

from __future__ import annotations

import re

import numpy as np

#: How gates are labelled; any other op shows its name in snake case.
OP_LABELS = {
    "Add": "+", "Subtract": "-", "Multiply": "*", "Divide": "/", "Power": "**",
    "Negative": "-x", "Exp": "exp", "Log": "log", "Sqrt": "sqrt", "Abs": "abs",
    "Sin": "sin", "Cos": "cos", "Tanh": "tanh", "Sigmoid": "σ", "ReLU": "relu",
    "LeakyReLU": "leaky_relu", "ELU": "elu", "Softplus": "softplus", "Clip": "clip",
    "Cast": "cast", "Maximum": "max", "Minimum": "min", "Where": "where", "Sum": "sum",
    "Mean": "mean", "Max": "max", "Min": "min", "Var": "var", "Std": "std",
    "LogSumExp": "logsumexp", "Softmax": "softmax", "LogSoftmax": "log_softmax",
    "MatMul": "matmul", "Linear": "linear", "Normalize": "normalize",
    "SoftmaxCrossEntropy": "cross_entropy", "Reshape": "reshape", "Transpose": "T",
    "BroadcastTo": "broadcast", "Concatenate": "concat", "Pad": "pad", "GetItem": "[ ]",
    "IndexAdd": "index_add",
}  # fmt: skip


def op_label(op: str) -> str:
    """The label of a gate: ``+`` for Add, ``σ`` for Sigmoid, ``conv2d`` for Conv2d."""
    return OP_LABELS.get(op) or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op).lower()


def number(x) -> str:
    """A number in at most 3 significant digits: ``-12``, ``0.731``, ``1e-05``."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{float(x):.3g}"


def summarize(value, max_elements: int = 4) -> str:
    """A value as an edge shows it: every number if it has at most `max_elements`, else
    its shape, mean and standard deviation.

    >>> import numpy as np
    >>> summarize(np.float32(-0.19661)), summarize(np.array([1.0, -2.5]))
    ('-0.197', '[1, -2.5]')
    >>> summarize(np.ones((64, 784)))
    '64×784 μ 1 σ 0'
    """
    a = np.asarray(value)
    if a.size <= max_elements:
        return _nested(a.tolist()) if a.ndim else number(a.item())
    if a.dtype.kind == "b":
        a = a.astype(np.int64)
    shape = "×".join(map(str, a.shape))
    if a.dtype.kind not in "biuf":
        return f"{shape} {a.dtype}"
    return f"{shape} μ {number(a.mean())} σ {number(a.std())}"


def _nested(items) -> str:
    if isinstance(items, list):
        return "[" + ", ".join(_nested(i) for i in items) + "]"
    return number(items)
