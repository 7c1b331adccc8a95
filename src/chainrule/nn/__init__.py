"""Neural networks: modules, layers, losses and initialisation, with PyTorch's names.

    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> cr.seed(0)
    >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    >>> loss = F.cross_entropy(model(cr.randn(5, 4)), [0, 2, 1, 1, 0])
    >>> loss.backward()
    >>> [p.grad.shape for p in model.parameters()]
    [(8, 4), (8,), (3, 8), (3,)]

`functional` holds the functions (activations, losses, linear, dropout,
normalization); `init` the initialisers.
"""

from chainrule.nn import functional, init
from chainrule.nn.activation import (
    ELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from chainrule.nn.container import ModuleList, Sequential
from chainrule.nn.conv import Conv2d, ConvTranspose2d
from chainrule.nn.dropout import Dropout, Dropout2d
from chainrule.nn.layers import Flatten, Identity, Linear, Maxout, Unflatten
from chainrule.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SVMLoss,
)
from chainrule.nn.module import Module
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from chainrule.nn.parameter import Parameter
from chainrule.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from chainrule.nn.state import IncompatibleKeys

__all__ = [
    "functional", "init",
    "Module", "Parameter", "IncompatibleKeys", "Sequential", "ModuleList",
    "Linear", "Maxout", "Flatten", "Unflatten", "Identity",
    "ReLU", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax",
    "Dropout", "BatchNorm1d", "LayerNorm",
    "CrossEntropyLoss", "NLLLoss", "SVMLoss", "MSELoss", "L1Loss", "HuberLoss",
    "BCEWithLogitsLoss",
    "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d",
    "Dropout2d",
]  # fmt: skip
