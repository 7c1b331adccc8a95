"""Lowering rules: a built-in gate's forward and backward written as NumPy source.

A captured graph whose gates all have a rule here compiles to straight-line Python
(`chainrule.graph.codegen`): one NumPy expression per node forward and per gradient
backward, with no call into a gate. The gates stay the reference for their math: each
rule is the very expression its gate's ``forward`` and ``backward`` compute, so a
compiled replay is bitwise the gate's (tests/graph/test_graph_replay.py replays every
gate case of the suite both ways, and tests/graph/test_graph_codegen.py checks that
every rule is compiled on at least one of them).

A rule is a function of the node that returns a `Lowering`, or None where the node is
not one it handles (an unusual keyword argument, a shape the gate treats apart). Its
templates name the inputs ``{x}``, ``{y}`` and ``{z}`` (the positional arguments in
order), the output ``{out}``, the upstream gradient ``{g}``, and the constants the rule
binds (0-d arrays of the operand's dtype, as the gates use them:
`chainrule.gates.scalars`; a keyword argument of the gate). Where a gate writes into an
array it just made (``out += b``), the rule writes the same operation out of place: the
same bits. What the compiler adds, as the engine does after a gate: ``sum_to`` where a
broadcast input's gradient has the output's shape, and the cast of a gradient to its
input's type and dtype.
"""

from __future__ import annotations

import numpy as np

from chainrule.gates.activations import LeakyReLU, ReLU, Sigmoid, Tanh
from chainrule.gates.arith import Add, Divide, Multiply, Negative, Subtract
from chainrule.gates.elementwise import Abs, Cos, Exp, Log, Sin, Sqrt
from chainrule.gates.linalg import MatMul
from chainrule.gates.nn import (
    REDUCTIONS,
    Linear,
    SoftmaxCrossEntropy,
    cross_entropy_grad,
    cross_entropy_loss,
)
from chainrule.gates.reduce import Mean, Sum, normalize_axis
from chainrule.gates.scalars import ONE, ZERO
from chainrule.gates.shape import Reshape, Transpose


class Lowering:
    """What one node lowers to.

    forward : str
        The output's expression.
    grads : tuple of str
        Per input, the expression of its gradient.
    broadcasts : bool
        The inputs broadcast against each other: a gradient goes through ``sum_to``
        where its input's shape is not the output's.
    constants : dict
        Template fields bound to values (globals of the generated code).
    """

    __slots__ = ("forward", "grads", "broadcasts", "constants")

    def __init__(self, forward: str, *grads: str, broadcasts=False, **constants) -> None:
        self.forward = forward
        self.grads = grads
        self.broadcasts = broadcasts
        self.constants = constants


# Per gate: the forward, then the gradients of its inputs.
_BINARY = {
    Add: ("{x} + {y}", "{g}", "{g}"),
    Subtract: ("{x} - {y}", "{g}", "-{g}"),
    Multiply: ("{x} * {y}", "{g} * {y}", "{g} * {x}"),
    Divide: ("{x} / {y}", "{g} / {y}", "-({g} * {out}) / {y}"),
}

_UNARY = {
    Negative: ("-{x}", "-{g}"),
    Exp: ("np.exp({x})", "{g} * {out}"),
    Log: ("np.log({x})", "{g} / {x}"),
    Sqrt: ("np.sqrt({x})", "{g} / (2 * {out})"),
    Abs: ("np.abs({x})", "{g} * np.sign({x})"),
    Sin: ("np.sin({x})", "{g} * np.cos({x})"),
    Cos: ("np.cos({x})", "-({g} * np.sin({x}))"),
}


def _binary(node) -> Lowering:
    return Lowering(*_BINARY[node.gate], broadcasts=True)


def _unary(node) -> Lowering:
    return Lowering(*_UNARY[node.gate])


def _tanh(node) -> Lowering:
    return Lowering("np.tanh({x})", "{g} * ({one} - {out} * {out})", one=ONE[node.dtype])


def _sigmoid(node) -> Lowering:
    one = ONE[node.dtype]
    return Lowering("stable_sigmoid({x})", "{g} * ({out} * ({one} - {out}))", one=one)


def _relu(node) -> Lowering:
    # The gate saves the mask `out > 0`; recomputed from the kept output, the same bits.
    zero = ZERO[node.inputs[0].dtype]
    return Lowering("np.maximum({x}, {zero})", "{g} * ({out} > {zero})", zero=zero)


def _leaky_relu(node) -> Lowering | None:
    params = node.params or {}
    if set(params) - {"negative_slope"}:
        return None
    slope = params.get("negative_slope", 0.01)
    if not isinstance(slope, (int, float, np.generic)):
        return None
    return Lowering(
        "np.where({x} > 0, {x}, {x} * {slope})",
        "np.where({x} > 0, {g}, {g} * {slope})",
        slope=slope,
    )


def _matmul(node) -> Lowering | None:
    if len(node.inputs[0].shape) != 2 or len(node.inputs[1].shape) != 2:
        return None  # the gate views 1-D operands as matrices and sums batch dims back
    return Lowering(
        "np.matmul({x}, {y})", "{g} @ {y}.swapaxes(-1, -2)", "{x}.swapaxes(-1, -2) @ {g}"
    )


def _linear(node) -> Lowering | None:
    if len(node.inputs[0].shape) != 2 or node.params:
        return None  # the gate views the batch dims of x as one
    if len(node.inputs) == 2:
        return Lowering("{x} @ {y}.T", "{g} @ {y}", "{g}.T @ {x}")
    return Lowering("{x} @ {y}.T + {z}", "{g} @ {y}", "{g}.T @ {x}", "{g}.sum(axis=0)")


def _reshape(node) -> Lowering | None:
    if set(node.params or {}) != {"shape"}:
        return None
    shape = node.params["shape"]
    shape = tuple(int(n) for n in shape) if isinstance(shape, (tuple, list)) else int(shape)
    return Lowering(f"{{x}}.reshape({shape})", f"{{g}}.reshape({node.inputs[0].shape})")


def _transpose(node) -> Lowering | None:
    params = node.params or {}
    if set(params) - {"axes"}:
        return None
    axes, ndim = params.get("axes"), len(node.inputs[0].shape)
    if axes is None:
        return Lowering("np.transpose({x}, None)", "{g}.transpose(None)")
    axes = tuple(int(a) for a in axes)
    inverse = tuple(int(i) for i in np.argsort([a % ndim for a in axes]))
    return Lowering(f"np.transpose({{x}}, {axes})", f"{{g}}.transpose({inverse})")


def _reduction(node) -> Lowering | None:
    params = node.params or {}
    if set(params) - {"axis", "keepdims"}:
        return None
    x_shape = node.inputs[0].shape
    axes = normalize_axis(node.op.lower(), params.get("axis"), len(x_shape))
    keepdims = bool(params.get("keepdims", False))
    kept = tuple(1 if i in axes else n for i, n in enumerate(x_shape))
    call = f"np.{node.op.lower()}({{x}}, axis={axes}, keepdims={keepdims})"
    if node.gate is Sum:
        return Lowering(call, f"np.broadcast_to({{g}}.reshape({kept}), {x_shape})")
    count = 1
    for i in axes:
        count *= x_shape[i]
    if count == 0:
        return None  # the gate raises its own error
    return Lowering(call, f"np.broadcast_to(({{g}} / {count}).reshape({kept}), {x_shape})")


def _cross_entropy(node) -> Lowering | None:
    params = node.params
    if (
        params is None  # a graph from Graph.from_tensor: the targets are not known
        or set(params) - {"targets", "weight", "label_smoothing", "reduction"}
        or params.get("weight") is not None
        or params.get("label_smoothing", 0.0)
        or params.get("reduction", "mean") not in REDUCTIONS
        or len(node.inputs[0].shape) != 2
    ):
        return None  # the gate's other cases: class weights, smoothing, (N, C, d...)
    constants = {
        "cross_entropy": cross_entropy_loss,
        "cross_entropy_grad": cross_entropy_grad,
        "reduction": params.get("reduction", "mean"),
    }
    if not node.keyword_inputs:  # targets fixed in the function, not one of its inputs
        constants["targets"] = params["targets"]
    return Lowering(
        "{cross_entropy}({x}, {targets}, {reduction})",
        "{cross_entropy_grad}({x}, {targets}, {g}, {reduction})",
        **constants,
    )


RULES = {
    **dict.fromkeys(_BINARY, _binary),
    **dict.fromkeys(_UNARY, _unary),
    MatMul: _matmul,
    Linear: _linear,
    LeakyReLU: _leaky_relu,
    Reshape: _reshape,
    Transpose: _transpose,
    Tanh: _tanh,
    Sigmoid: _sigmoid,
    ReLU: _relu,
    Sum: _reduction,
    Mean: _reduction,
    SoftmaxCrossEntropy: _cross_entropy,
}

#: The keyword inputs (values of the run passed as keyword arguments) that a rule reads
#: as template fields; a node with any other is replayed through its gate.
KEYWORD_INPUTS = {SoftmaxCrossEntropy: {"targets"}}


def lower(node) -> Lowering | None:
    """The node's `Lowering`, or None when its gate has no rule for it."""
    rule = RULES.get(node.gate)
    if rule is None:
        return None
    readable = KEYWORD_INPUTS.get(node.gate, ())
    if any(key not in readable or item is not None for key, item, _ in node.keyword_inputs):
        return None
    return rule(node)
