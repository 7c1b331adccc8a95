"""The built-in gates, one small class per op, grouped by family.

Each family module defines its gate classes and the functions users call. This file
lists them explicitly; `ALL_GATES` is what the test suite checks every gate against.
"""

from chainrule.gates.activations import (
    ELU,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softplus,
    Tanh,
    elu,
    leaky_relu,
    relu,
    sigmoid,
    softplus,
    tanh,
)
from chainrule.gates.adaptive_pool import adaptive_avg_pool2d
from chainrule.gates.arith import (
    Add,
    Divide,
    Multiply,
    Negative,
    Power,
    Subtract,
    add,
    divide,
    multiply,
    negative,
    power,
    subtract,
)
from chainrule.gates.conv import Conv2d, Conv2dWeightGrad, ConvTranspose2d, conv2d, conv_transpose2d
from chainrule.gates.elementwise import (
    Abs,
    Cast,
    Clip,
    Cos,
    Exp,
    Log,
    Sin,
    Sqrt,
    abs,
    absolute,
    astype,
    clip,
    cos,
    exp,
    log,
    sin,
    sqrt,
)
from chainrule.gates.index import GetItem, IndexAdd, getitem
from chainrule.gates.linalg import MatMul, matmul
from chainrule.gates.nn import Linear, Normalize, SoftmaxCrossEntropy, linear
from chainrule.gates.padding import EdgePad, edge_pad
from chainrule.gates.pool import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d
from chainrule.gates.reduce import (
    LogSumExp,
    Max,
    Mean,
    Min,
    Std,
    Sum,
    Var,
    logsumexp,
    max,
    mean,
    min,
    std,
    sum,
    var,
)
from chainrule.gates.select import Maximum, Minimum, Where, maximum, minimum, where
from chainrule.gates.shape import (
    BroadcastTo,
    Concatenate,
    Pad,
    Reshape,
    Transpose,
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    pad,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from chainrule.gates.softmax import LogSoftmax, Softmax, log_softmax, softmax

ALL_GATES = (
    Add, Subtract, Multiply, Divide, Power, Negative,
    Exp, Log, Sqrt, Abs, Sin, Cos, Tanh, Sigmoid, ReLU, LeakyReLU, ELU, Softplus, Clip, Cast,
    Maximum, Minimum, Where,
    Sum, Mean, Max, Min, Var, Std, LogSumExp,
    Softmax, LogSoftmax,
    MatMul,
    Linear, Normalize, SoftmaxCrossEntropy,
    Reshape, Transpose, BroadcastTo, Concatenate, Pad,
    GetItem, IndexAdd,
    Conv2d, ConvTranspose2d, Conv2dWeightGrad, MaxPool2d, AvgPool2d, EdgePad,
)  # fmt: skip

__all__ = [
    *(gate.__name__ for gate in ALL_GATES),
    "ALL_GATES",
    "abs", "absolute", "add", "astype", "broadcast_to", "clip", "concatenate", "cos", "divide",
    "elu", "exp", "expand_dims", "flatten", "getitem", "leaky_relu", "linear", "log",
    "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min", "minimum", "multiply",
    "negative", "pad", "power", "relu", "reshape", "sigmoid", "sin", "softmax", "softplus", "sqrt",
    "squeeze", "stack", "std", "subtract", "sum", "swapaxes", "tanh", "transpose", "var", "where",
    "adaptive_avg_pool2d", "avg_pool2d", "conv2d", "conv_transpose2d", "edge_pad", "max_pool2d",
]  # fmt: skip
