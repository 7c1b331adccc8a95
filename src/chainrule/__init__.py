"""chainrule: computational graphs and backpropagation on NumPy.

    >>> import chainrule as cr
    >>> x, y, z = cr.tensor(-2.0, requires_grad=True), cr.tensor(5.0, requires_grad=True), \
cr.tensor(-4.0, requires_grad=True)
    >>> f = (x + y) * z
    >>> f.backward()
    >>> x.grad.item(), y.grad.item(), z.grad.item()
    (-4.0, -4.0, 3.0)
"""

from chainrule._version import __version__
from chainrule.creation import (
    arange,
    eye,
    full,
    ones,
    ones_like,
    rand,
    randn,
    seed,
    tensor,
    zeros,
    zeros_like,
)
from chainrule.errors import (
    AnomalyError,
    DrawError,
    GateError,
    GradcheckError,
    GraphFreedError,
    HigherOrderError,
    ShapeError,
    TraceError,
)
from chainrule.functional import grad, hessian, jacobian, jvp, value_and_grad, vjp
from chainrule.gate import Gate, sum_to
from chainrule.gates import (
    abs,
    absolute,
    add,
    astype,
    broadcast_to,
    clip,
    concatenate,
    cos,
    divide,
    elu,
    exp,
    expand_dims,
    flatten,
    leaky_relu,
    log,
    log_softmax,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    multiply,
    negative,
    pad,
    power,
    relu,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    squeeze,
    stack,
    std,
    subtract,
    sum,
    swapaxes,
    tanh,
    transpose,
    var,
    where,
)
from chainrule.gradcheck import gradcheck, gradgradcheck, numerical_gradient, rel_error
from chainrule.graph import ComputationalGraph, Graph
from chainrule.mode import (
    detect_anomaly,
    enable_grad,
    get_default_dtype,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
)
from chainrule.tensor import Tensor

# Subpackages load on first use (`cr.nn`, `cr.optim`...), so `import chainrule` stays light.
_SUBMODULES = {"nn", "optim", "data", "io", "training", "distributed"}


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"chainrule.{name}")
    if name in ("save", "load"):
        from chainrule import io

        return getattr(io, name)
    if name == "draw":
        from chainrule.graph.render import draw

        return draw
    if name == "explore":
        from chainrule.explorer import explore

        return explore
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "__version__",
    # tensors
    "Tensor", "tensor", "arange", "eye", "full", "ones", "ones_like", "rand", "randn", "seed",
    "zeros", "zeros_like",
    # gates
    "Gate", "sum_to",
    "abs", "absolute", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "divide",
    "elu", "exp", "expand_dims", "flatten", "leaky_relu", "log", "log_softmax", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "multiply", "negative", "pad", "power",
    "relu", "reshape", "sigmoid", "sin", "softmax", "softplus", "sqrt", "squeeze", "stack",
    "std", "subtract", "sum", "swapaxes", "tanh", "transpose", "var", "where",
    # captured graphs
    "Graph", "ComputationalGraph", "draw", "explore",
    # transforms and checks
    "grad", "hessian", "jacobian", "jvp", "value_and_grad", "vjp",
    "gradcheck", "gradgradcheck", "numerical_gradient", "rel_error",
    # modes
    "detect_anomaly", "enable_grad", "get_default_dtype", "is_grad_enabled", "no_grad",
    "set_default_dtype",
    # errors
    "AnomalyError", "DrawError", "GateError", "GradcheckError", "GraphFreedError",
    "HigherOrderError", "ShapeError", "TraceError",
]  # fmt: skip
