"""One declarative test case (or a few) per built-in gate, as Chainer's FunctionTestCase.

A case names the gate it exercises, the function users call, the input shapes, how the
inputs are sampled (away from kinks and ties, where central differences would straddle a
corner), and a NumPy reference for the forward value. `test_gates.py` turns every case
into a forward check, a gradient check, a second-order check, a rel_error bound and a
float32 dtype check::

    case(Multiply, cr.multiply, (3, 1), (4,), ref=np.multiply)

Shapes are one tuple per differentiable input; constants (a `where` condition, an axis)
live inside `fn` and `ref`. Each case draws its inputs from its own seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.gates import (
    ELU,
    Abs,
    Add,
    BroadcastTo,
    Cast,
    Clip,
    Concatenate,
    Cos,
    Divide,
    Exp,
    GetItem,
    IndexAdd,
    LeakyReLU,
    Linear,
    Log,
    LogSoftmax,
    LogSumExp,
    MatMul,
    Max,
    Maximum,
    Mean,
    Min,
    Minimum,
    Multiply,
    Negative,
    Normalize,
    Pad,
    Power,
    ReLU,
    Reshape,
    Sigmoid,
    Sin,
    Softmax,
    SoftmaxCrossEntropy,
    Softplus,
    Sqrt,
    Std,
    Subtract,
    Sum,
    Tanh,
    Transpose,
    Var,
    Where,
)


def recorded_gates(out: cr.Tensor):
    """(gate, output shape, input shapes) for every gate the engine recorded behind
    `out`, earliest first: the gates keep no output shapes, so `Graph.from_tensor`'s walk
    finds them, from the values."""
    from chainrule.graph.walk import walk

    capture, gates, _ = walk([out], None)
    for node, gate in zip(capture.nodes, gates, strict=True):
        yield gate, node.output.shape, [slot.shape for slot in node.inputs]


# ----- samplers: (rng, shape) -> float64 array -----


def normal(rng, shape):
    return rng.standard_normal(shape)


def uniform(lo: float, hi: float) -> Callable:
    """Uniform in [lo, hi): positive bases for log, sqrt and power, say."""
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def nonzero(margin: float = 0.1, top: float = 2.0) -> Callable:
    """Either sign with margin <= |x| < top: away from the kink at 0 (abs, relu, elu)."""
    return lambda rng, shape: rng.choice([-1.0, 1.0], shape) * rng.uniform(margin, top, shape)


def lattice(offset: float = 0.0, step: float = 1.0, jitter: float = 0.2) -> Callable:
    """step * k + offset + U(-jitter, jitter) for k in -2..2.

    Two lattices whose offsets differ by step / 2 never come within step / 2 - 2 * jitter
    of each other, so `maximum(x, y)` has no near-ties; clip bounds sit between points.
    """

    def sample(rng, shape):
        k = rng.integers(-2, 3, shape)
        return step * k + offset + rng.uniform(-jitter, jitter, shape)

    return sample


def distinct(gap: float = 0.25) -> Callable:
    """All elements at least `gap` apart, in random order: no ties for max and min."""

    def sample(rng, shape):
        n = int(np.prod(shape, dtype=np.int64))
        values = (rng.permutation(n) - n / 2) * gap + rng.uniform(0, gap / 4, n)
        return values.reshape(shape)

    return sample


def mask(shape) -> np.ndarray:
    """A fixed boolean pattern with both values along every axis."""
    return (np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape) % 3) == 0


# ----- NumPy references written from the textbook formulas -----


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


def softmax_ref(x, axis=-1):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)


def logsumexp_ref(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def linear_ref(x, w, b=0.0):
    return x @ w.T + b


def normalize_ref(x, w=1.0, b=0.0, axis=-1, eps=1e-5):
    mean, var = x.mean(axis=axis, keepdims=True), x.var(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def cross_entropy_ref(x, targets, weight=None, smoothing=0.0, reduction="mean"):
    """-sum_c q_c log p_c, q the smoothed and weighted one-hot targets (PyTorch's definition)."""
    n_classes = x.shape[1]
    log_p = np.log(softmax_ref(x, axis=1))
    w = np.ones(n_classes) if weight is None else weight
    onehot = np.moveaxis(np.eye(n_classes)[targets], -1, 1)
    w_c = w.reshape((1, n_classes) + (1,) * (x.ndim - 2))
    q = (1 - smoothing) * onehot * w_c + smoothing * w_c / n_classes
    loss = -(q * log_p).sum(axis=1)
    if reduction == "none":
        return loss
    return loss.sum() / (w[targets].sum() if reduction == "mean" else 1.0)


def index_add_ref(x, index, shape):
    out = np.zeros(shape)
    np.add.at(out, index, x)
    return out


# ----- the case record -----


@dataclass(frozen=True)
class Case:
    gate: type
    fn: Callable
    shapes: tuple[tuple[int, ...], ...]
    ref: Callable
    sample: Callable | tuple[Callable, ...] = normal
    label: str = ""
    #: bound on the CS231n rel_error between numerical and analytic gradients
    tol: float = 1e-6
    #: gradcheck / gradgradcheck element tolerances
    atol: float = 1e-5
    rtol: float = 1e-3
    #: dtype of the output for float32 inputs (None: float32)
    out_dtype: str | None = None

    @property
    def id(self) -> str:
        shapes = "x".join(str(s).replace(" ", "") for s in self.shapes)
        return "-".join(part for part in (self.gate.__name__, shapes, self.label) if part)

    def arrays(self, dtype=np.float64) -> list[np.ndarray]:
        """The inputs, drawn from a seed of their own (the case's id)."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        samplers = (
            self.sample if isinstance(self.sample, tuple) else (self.sample,) * len(self.shapes)
        )
        assert len(samplers) == len(self.shapes), f"{self.id}: one sampler per input"
        return [
            np.asarray(sample(rng, shape), dtype=dtype)
            for sample, shape in zip(samplers, self.shapes)
        ]


def case(gate, fn, *shapes, ref, **options) -> Case:
    return Case(gate, fn, tuple(shapes), ref, **options)


MASK_34 = mask((3, 4))
MASK_23 = mask((2, 3))
INDEX_REPEATS = (np.array([0, 2, 0, 0]),)
TARGETS_4 = np.array([0, 2, 1, 2])
TARGETS_2x4 = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
CLASS_WEIGHT = np.array([0.5, 2.0, 1.5])

# fmt: off
CASES = [
    # ----- arithmetic -----
    case(Add, cr.add, (), (), ref=np.add),
    case(Add, cr.add, (3, 1), (4,), ref=np.add),
    case(Add, cr.add, (2, 3, 4), (3, 1), ref=np.add),
    case(Add, lambda x: x + 2.5, (2, 3), ref=lambda x: x + 2.5, label="x+2.5"),
    case(Subtract, cr.subtract, (3, 1), (4,), ref=np.subtract),
    case(Subtract, cr.subtract, (2, 3), (), ref=np.subtract),
    case(Subtract, lambda y: 1.0 - y, (3,), ref=lambda y: 1.0 - y, label="1-y"),
    case(Multiply, cr.multiply, (), (), ref=np.multiply),
    case(Multiply, cr.multiply, (3, 1), (4,), ref=np.multiply),
    case(Multiply, cr.multiply, (2, 1, 4), (3, 1), ref=np.multiply),
    case(Multiply, lambda x: x * x, (2, 3), ref=lambda x: x * x, label="x*x"),
    case(Divide, cr.divide, (), (), ref=np.divide, sample=(normal, nonzero(0.5))),
    case(Divide, cr.divide, (3, 1), (4,), ref=np.divide, sample=(normal, nonzero(0.5))),
    case(Divide, cr.divide, (), (2, 3), ref=np.divide, sample=(normal, nonzero(0.5))),
    case(Divide, lambda y: 1.0 / y, (2, 3), ref=lambda y: 1.0 / y, sample=nonzero(0.5),
         label="1/y"),
    case(Power, cr.power, (3, 1), (4,), ref=np.power, sample=(uniform(0.5, 2.0), normal)),
    case(Power, cr.power, (2, 3), (), ref=np.power, sample=(uniform(0.5, 2.0), normal)),
    case(Power, cr.power, (), (), ref=np.power, sample=(uniform(0.5, 2.0), normal)),
    case(Power, lambda x: x**3, (2, 3), ref=lambda x: x**3, sample=nonzero(0.5), label="x**3"),
    case(Power, lambda x: cr.power(x, -0.5), (4,), ref=lambda x: x**-0.5,
         sample=uniform(0.5, 2.0), label="x**-0.5"),
    case(Power, lambda y: cr.power(2.0, y), (2, 3), ref=lambda y: 2.0**y, label="2**y"),
    case(Negative, cr.negative, (), ref=np.negative),
    case(Negative, cr.negative, (2, 3), ref=np.negative),

    # ----- elementwise -----
    case(Exp, cr.exp, (), ref=np.exp),
    case(Exp, cr.exp, (2, 3), ref=np.exp),
    case(Log, cr.log, (), ref=np.log, sample=uniform(0.5, 3.0)),
    case(Log, cr.log, (2, 3), ref=np.log, sample=uniform(0.5, 3.0)),
    case(Sqrt, cr.sqrt, (), ref=np.sqrt, sample=uniform(0.5, 3.0)),
    case(Sqrt, cr.sqrt, (2, 3), ref=np.sqrt, sample=uniform(0.5, 3.0)),
    case(Abs, cr.abs, (), ref=np.abs, sample=nonzero()),
    case(Abs, cr.abs, (2, 3), ref=np.abs, sample=nonzero()),
    case(Sin, cr.sin, (), ref=np.sin),
    case(Sin, cr.sin, (2, 3), ref=np.sin),
    case(Cos, cr.cos, (), ref=np.cos),
    case(Cos, cr.cos, (2, 3), ref=np.cos),
    case(Tanh, cr.tanh, (), ref=np.tanh),
    case(Tanh, cr.tanh, (2, 3), ref=np.tanh),
    case(Sigmoid, cr.sigmoid, (), ref=sigmoid_ref),
    case(Sigmoid, cr.sigmoid, (2, 3), ref=sigmoid_ref, sample=uniform(-5.0, 5.0)),
    case(ReLU, cr.relu, (), ref=lambda x: np.maximum(x, 0), sample=nonzero()),
    case(ReLU, cr.relu, (2, 3), ref=lambda x: np.maximum(x, 0), sample=nonzero()),
    case(LeakyReLU, cr.leaky_relu, (2, 3), ref=lambda x: np.where(x > 0, x, 0.01 * x),
         sample=nonzero()),
    case(LeakyReLU, lambda x: cr.leaky_relu(x, negative_slope=0.2), (),
         ref=lambda x: np.where(x > 0, x, 0.2 * x), sample=nonzero(), label="slope=0.2"),
    case(ELU, cr.elu, (2, 3), ref=lambda x: np.where(x > 0, x, np.exp(x) - 1),
         sample=nonzero()),
    case(ELU, lambda x: cr.elu(x, alpha=0.5), (),
         ref=lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)), sample=nonzero(),
         label="alpha=0.5"),
    case(Softplus, cr.softplus, (), ref=lambda x: np.log(1 + np.exp(x))),
    case(Softplus, cr.softplus, (2, 3), ref=lambda x: np.log(1 + np.exp(x)),
         sample=uniform(-5.0, 5.0)),
    case(Clip, lambda x: cr.clip(x, -0.5, 0.5), (2, 5), ref=lambda x: np.clip(x, -0.5, 0.5),
         sample=lattice(jitter=0.3), label="[-0.5,0.5]"),
    case(Clip, lambda x: cr.clip(x, lo=0.0), (), ref=lambda x: np.maximum(x, 0.0),
         sample=nonzero(), label="lo=0"),
    case(Clip, lambda x: cr.clip(x, hi=0.0), (2, 3), ref=lambda x: np.minimum(x, 0.0),
         sample=nonzero(), label="hi=0"),
    case(Clip, cr.clip, (2, 5), (5,), (), ref=np.clip, label="tensor-bounds",
         sample=(lattice(step=2.0, jitter=0.5), uniform(-1.2, -0.8), uniform(0.8, 1.2))),
    case(Cast, lambda x: cr.astype(x, "float64"), (2, 3), ref=lambda x: x.astype(np.float64),
         label="float64", out_dtype="float64"),

    # ----- selection (ties are tested in test_select.py) -----
    case(Maximum, cr.maximum, (3, 1), (4,), ref=np.maximum,
         sample=(lattice(), lattice(offset=0.5))),
    case(Maximum, cr.maximum, (), (2, 3), ref=np.maximum, sample=(lattice(), lattice(offset=0.5))),
    case(Maximum, lambda x: cr.maximum(x, 0.25), (2, 3), ref=lambda x: np.maximum(x, 0.25),
         sample=lattice(), label="x,0.25"),
    case(Minimum, cr.minimum, (3, 1), (4,), ref=np.minimum,
         sample=(lattice(), lattice(offset=0.5))),
    case(Minimum, cr.minimum, (2, 3), (), ref=np.minimum, sample=(lattice(), lattice(offset=0.5))),
    case(Where, lambda x, y: cr.where(MASK_34, x, y), (3, 1), (4,),
         ref=lambda x, y: np.where(MASK_34, x, y)),
    case(Where, lambda x, y: cr.where(cr.tensor(MASK_23), x, y), (2, 3), (),
         ref=lambda x, y: np.where(MASK_23, x, y), label="tensor-cond"),
    case(Where, lambda x: cr.where(x > 0, x, 0.0), (2, 3), ref=lambda x: np.where(x > 0, x, 0.0),
         sample=nonzero(), label="x>0"),

    # ----- reductions -----
    case(Sum, cr.sum, (), ref=np.sum),
    case(Sum, cr.sum, (2, 3, 4), ref=np.sum),
    case(Sum, lambda x: cr.sum(x, axis=(0, 2), keepdims=True), (2, 3, 4),
         ref=lambda x: np.sum(x, axis=(0, 2), keepdims=True), label="axis=(0,2),keepdims"),
    case(Sum, lambda x: cr.sum(x, axis=-1), (2, 3), ref=lambda x: np.sum(x, axis=-1),
         label="axis=-1"),
    case(Mean, cr.mean, (), ref=np.mean),
    case(Mean, cr.mean, (2, 3, 4), ref=np.mean),
    case(Mean, lambda x: cr.mean(x, axis=(0, 2), keepdims=True), (2, 3, 4),
         ref=lambda x: np.mean(x, axis=(0, 2), keepdims=True), label="axis=(0,2),keepdims"),
    case(Max, cr.max, (), ref=np.max),
    case(Max, cr.max, (3, 4), ref=np.max, sample=distinct()),
    case(Max, lambda x: cr.max(x, axis=1), (2, 3, 4), ref=lambda x: np.max(x, axis=1),
         sample=distinct(), label="axis=1"),
    case(Max, lambda x: cr.max(x, axis=(0, 2), keepdims=True), (2, 3, 4),
         ref=lambda x: np.max(x, axis=(0, 2), keepdims=True), sample=distinct(),
         label="axis=(0,2),keepdims"),
    case(Min, cr.min, (), ref=np.min),
    case(Min, cr.min, (3, 4), ref=np.min, sample=distinct()),
    case(Min, lambda x: cr.min(x, axis=-1, keepdims=True), (2, 3, 4),
         ref=lambda x: np.min(x, axis=-1, keepdims=True), sample=distinct(),
         label="axis=-1,keepdims"),
    case(Var, cr.var, (3, 4), ref=np.var),
    case(Var, lambda x: cr.var(x, axis=0), (3, 4), ref=lambda x: np.var(x, axis=0), label="axis=0"),
    case(Var, lambda x: cr.var(x, axis=-1, keepdims=True, ddof=1), (2, 3, 4),
         ref=lambda x: np.var(x, axis=-1, keepdims=True, ddof=1), label="axis=-1,keepdims,ddof=1"),
    case(Std, cr.std, (5,), ref=np.std),
    case(Std, lambda x: cr.std(x, axis=1), (3, 4), ref=lambda x: np.std(x, axis=1),
         label="axis=1"),
    case(Std, lambda x: cr.std(x, axis=(0, 2), keepdims=True, ddof=1), (2, 3, 4),
         ref=lambda x: np.std(x, axis=(0, 2), keepdims=True, ddof=1),
         label="axis=(0,2),keepdims,ddof=1"),
    case(LogSumExp, cr.logsumexp, (), ref=logsumexp_ref),
    case(LogSumExp, cr.logsumexp, (3, 4), ref=logsumexp_ref),
    case(LogSumExp, lambda x: cr.logsumexp(x, axis=-1), (3, 4),
         ref=lambda x: logsumexp_ref(x, axis=-1), label="axis=-1"),
    case(LogSumExp, lambda x: cr.logsumexp(x, axis=(0, 2), keepdims=True), (2, 3, 4),
         ref=lambda x: logsumexp_ref(x, axis=(0, 2), keepdims=True), label="axis=(0,2),keepdims"),

    # ----- softmax -----
    case(Softmax, cr.softmax, (5,), ref=softmax_ref),
    case(Softmax, cr.softmax, (3, 4), ref=softmax_ref),
    case(Softmax, lambda x: cr.softmax(x, axis=0), (3, 4), ref=lambda x: softmax_ref(x, axis=0),
         label="axis=0"),
    case(Softmax, lambda x: cr.softmax(x, axis=1), (2, 3, 4),
         ref=lambda x: softmax_ref(x, axis=1), label="axis=1"),
    case(LogSoftmax, cr.log_softmax, (5,), ref=lambda x: np.log(softmax_ref(x))),
    case(LogSoftmax, cr.log_softmax, (3, 4), ref=lambda x: np.log(softmax_ref(x))),
    case(LogSoftmax, lambda x: cr.log_softmax(x, axis=0), (3, 4),
         ref=lambda x: np.log(softmax_ref(x, axis=0)), label="axis=0"),

    # ----- linear algebra -----
    case(MatMul, cr.matmul, (3, 4), (4, 2), ref=np.matmul),
    case(MatMul, cr.matmul, (4,), (4,), ref=np.matmul),
    case(MatMul, cr.matmul, (4,), (4, 2), ref=np.matmul),
    case(MatMul, cr.matmul, (3, 4), (4,), ref=np.matmul),
    case(MatMul, cr.matmul, (2, 3, 4), (4, 2), ref=np.matmul),
    case(MatMul, cr.matmul, (2, 1, 3, 4), (5, 4, 2), ref=np.matmul),
    case(MatMul, cr.matmul, (2, 3, 4), (4,), ref=np.matmul),
    case(MatMul, cr.matmul, (4,), (2, 4, 3), ref=np.matmul),

    # ----- neural-network gates -----
    case(Linear, F.linear, (4, 3), (2, 3), (2,), ref=linear_ref),
    case(Linear, F.linear, (4, 3), (2, 3), ref=linear_ref, label="no-bias"),
    case(Linear, F.linear, (2, 4, 3), (5, 3), (5,), ref=linear_ref),
    case(Linear, F.linear, (3,), (2, 3), (2,), ref=linear_ref),
    case(Normalize, lambda x: F.layer_norm(x, 4), (3, 4), ref=normalize_ref),
    case(Normalize, lambda x, w, b: F.layer_norm(x, (3, 4), w, b), (2, 3, 4), (3, 4), (3, 4),
         ref=lambda x, w, b: normalize_ref(x, w, b, axis=(1, 2)), label="layer_norm"),
    case(Normalize, lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (5, 3),
         (3,), (3,), ref=lambda x, w, b: normalize_ref(x, w, b, axis=0), label="batch_norm"),
    case(Normalize, lambda x, b: F.batch_norm(x, None, None, None, b, training=True),
         (3, 2, 4), (2,),
         ref=lambda x, b: normalize_ref(x, 1.0, b[:, None], axis=(0, 2)), label="batch_norm"),
    case(SoftmaxCrossEntropy, lambda x: F.cross_entropy(x, TARGETS_4), (4, 3),
         ref=lambda x: cross_entropy_ref(x, TARGETS_4)),
    case(SoftmaxCrossEntropy, lambda x: F.cross_entropy(x, TARGETS_4, reduction="none"), (4, 3),
         ref=lambda x: cross_entropy_ref(x, TARGETS_4, reduction="none"), label="none"),
    case(SoftmaxCrossEntropy,
         lambda x: F.cross_entropy(x, TARGETS_4, CLASS_WEIGHT, reduction="sum"), (4, 3),
         ref=lambda x: cross_entropy_ref(x, TARGETS_4, CLASS_WEIGHT, reduction="sum"),
         label="weight,sum"),
    case(SoftmaxCrossEntropy,
         lambda x: F.cross_entropy(x, TARGETS_4, CLASS_WEIGHT, label_smoothing=0.2), (4, 3),
         ref=lambda x: cross_entropy_ref(x, TARGETS_4, CLASS_WEIGHT, smoothing=0.2),
         label="weight,smoothing"),
    case(SoftmaxCrossEntropy,
         lambda x: F.cross_entropy(x, TARGETS_2x4, label_smoothing=0.1, reduction="none"),
         (2, 3, 4),
         ref=lambda x: cross_entropy_ref(x, TARGETS_2x4, smoothing=0.1, reduction="none"),
         label="smoothing,none"),
    case(SoftmaxCrossEntropy, lambda x: F.cross_entropy(x, TARGETS_2x4, CLASS_WEIGHT), (2, 3, 4),
         ref=lambda x: cross_entropy_ref(x, TARGETS_2x4, CLASS_WEIGHT), label="weight"),

    # ----- shape -----
    case(Reshape, lambda x: cr.reshape(x, (6, -1)), (2, 3, 4), ref=lambda x: x.reshape(6, -1),
         label="(6,-1)"),
    case(Reshape, lambda x: cr.reshape(x, (1, 1)), (), ref=lambda x: x.reshape(1, 1),
         label="(1,1)"),
    case(Reshape, cr.flatten, (2, 3), ref=np.ravel, label="flatten"),
    case(Reshape, lambda x: cr.expand_dims(x, (0, 2)), (2, 3),
         ref=lambda x: np.expand_dims(x, (0, 2)), label="expand_dims"),
    case(Reshape, cr.squeeze, (1, 3, 1), ref=np.squeeze, label="squeeze"),
    case(Transpose, cr.transpose, (2, 3, 4), ref=np.transpose),
    case(Transpose, lambda x: cr.transpose(x, (1, 2, 0)), (2, 3, 4),
         ref=lambda x: np.transpose(x, (1, 2, 0)), label="axes=(1,2,0)"),
    case(Transpose, lambda x: cr.swapaxes(x, 0, -1), (2, 3, 4), ref=lambda x: np.swapaxes(x, 0, -1),
         label="swapaxes"),
    case(Transpose, lambda x: x.T, (3, 4), ref=lambda x: x.T, label="T"),
    case(BroadcastTo, lambda x: cr.broadcast_to(x, (2, 3, 4)), (3, 1),
         ref=lambda x: np.broadcast_to(x, (2, 3, 4)), label="to(2,3,4)"),
    case(BroadcastTo, lambda x: cr.broadcast_to(x, (2, 3)), (),
         ref=lambda x: np.broadcast_to(x, (2, 3)), label="to(2,3)"),
    case(Concatenate, lambda x, y: cr.concatenate([x, y]), (2, 3), (4, 3),
         ref=lambda x, y: np.concatenate([x, y])),
    case(Concatenate, lambda x, y, z: cr.concatenate([x, y, z], axis=-1), (2, 3), (2, 1), (2, 2),
         ref=lambda x, y, z: np.concatenate([x, y, z], axis=-1), label="axis=-1"),
    case(Concatenate, lambda x, y: cr.stack([x, y], axis=1), (3,), (3,),
         ref=lambda x, y: np.stack([x, y], axis=1), label="stack"),
    case(Pad, lambda x: cr.pad(x, 1), (2, 3), ref=lambda x: np.pad(x, 1), label="1"),
    case(Pad, lambda x: cr.pad(x, ((1, 0), (2, 3)), value=1.5), (2, 3),
         ref=lambda x: np.pad(x, ((1, 0), (2, 3)), constant_values=1.5), label="((1,0),(2,3))"),

    # ----- indexing -----
    case(GetItem, lambda x: x[1:3, ::2], (4, 5), ref=lambda x: x[1:3, ::2], label="[1:3,::2]"),
    case(GetItem, lambda x: x[-1], (4, 5), ref=lambda x: x[-1], label="[-1]"),
    case(GetItem, lambda x: x[None, ..., 2], (4, 5), ref=lambda x: x[None, ..., 2],
         label="[None,...,2]"),
    case(GetItem, lambda x: x[[0, 0, 3]], (4, 5), ref=lambda x: x[[0, 0, 3]], label="[[0,0,3]]"),
    case(GetItem, lambda x: x[[[1, 2], [2, 2]], -2:], (4, 5),
         ref=lambda x: x[[[1, 2], [2, 2]], -2:], label="[[[1,2],[2,2]],-2:]"),
    case(GetItem, lambda x: x[MASK_34], (3, 4), ref=lambda x: x[MASK_34], label="[mask]"),
    case(IndexAdd, lambda x: IndexAdd.apply(x, index=INDEX_REPEATS, shape=(3, 2)), (4, 2),
         ref=lambda x: index_add_ref(x, INDEX_REPEATS, (3, 2)), label="[[0,2,0,0]]"),
]
# fmt: on

# ----- convolution, pooling and edge padding (naive loop references in naive_conv.py) -----

import naive_conv  # noqa: E402  (appended with the convolution gates)

from chainrule.gates import (  # noqa: E402
    AvgPool2d,
    Conv2d,
    Conv2dWeightGrad,
    ConvTranspose2d,
    EdgePad,
    MaxPool2d,
)


def _weight_grad(x, gy):
    return Conv2dWeightGrad.apply(
        x, gy, kernel_size=(3, 3), stride=(2, 2), padding=((1, 1), (1, 1)), dilation=(1, 1),
        groups=1,
    )  # fmt: skip


# fmt: off
CASES += [
    case(Conv2d, F.conv2d, (1, 2, 5, 5), (3, 2, 3, 3), (3,), ref=naive_conv.conv2d),
    case(Conv2d, lambda x, w: F.conv2d(x, w, padding=1), (1, 1, 6, 8), (2, 1, 3, 3),
         ref=lambda x, w: naive_conv.conv2d(x, w, padding=1), label="pad=1,wide-rows"),
    case(Conv2d,
         lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
         (2, 4, 5, 6), (4, 2, 2, 3), (4,),
         ref=lambda x, w, b: naive_conv.conv2d(x, w, b, (2, 1), 1, (1, 2), 2), tol=1e-5,
         label="stride,pad,dilation,groups"),
    case(Conv2d, F.conv2d, (2, 3, 3, 3), (2, 3, 1, 1), ref=naive_conv.conv2d, label="1x1"),
    case(Conv2d, F.conv2d, (1, 2, 3, 4), (2, 2, 3, 4), (2,), ref=naive_conv.conv2d,
         label="kernel=input"),
    case(ConvTranspose2d,
         lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
         (1, 2, 3, 3), (2, 3, 3, 3), (3,),
         ref=lambda x, w, b: naive_conv.conv_transpose2d(x, w, b, 2, 1, 1)),
    case(ConvTranspose2d, lambda x, w: F.conv_transpose2d(x, w, groups=2, dilation=2),
         (1, 4, 3, 2), (4, 1, 2, 2),
         ref=lambda x, w: naive_conv.conv_transpose2d(x, w, groups=2, dilation=2),
         label="groups,dilation"),
    case(Conv2dWeightGrad, _weight_grad, (1, 2, 4, 4), (1, 3, 2, 2),
         ref=lambda x, gy: naive_conv.conv2d_weight_grad(x, gy, 3, 2, 1)),
    case(MaxPool2d, lambda x: F.max_pool2d(x, 2), (1, 2, 4, 4),
         ref=lambda x: naive_conv.max_pool2d(x, 2)[0], sample=distinct()),
    case(MaxPool2d, lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 1, 6, 6),
         ref=lambda x: naive_conv.max_pool2d(x, 3, 2, 1, ceil_mode=True)[0], sample=distinct(),
         label="overlap,pad,ceil"),
    case(MaxPool2d, lambda x: F.max_pool2d(x, 2, 1, dilation=2), (2, 1, 4, 5),
         ref=lambda x: naive_conv.max_pool2d(x, 2, 1, dilation=2)[0], sample=distinct(),
         label="dilation"),
    case(AvgPool2d, lambda x: F.avg_pool2d(x, 2), (1, 2, 4, 4),
         ref=lambda x: naive_conv.avg_pool2d(x, 2)),
    case(AvgPool2d,
         lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 1, 6, 6),
         ref=lambda x: naive_conv.avg_pool2d(x, 3, 2, 1, True, False),
         label="overlap,pad,ceil,exclude-pad"),
    case(EdgePad, lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), (2, 3, 4),
         ref=lambda x: np.pad(x, ((0, 0), (1, 2), (2, 1)), mode="reflect"), label="reflect"),
    case(EdgePad, lambda x: F.pad(x, (1, 3), mode="replicate"), (2, 3),
         ref=lambda x: np.pad(x, ((0, 0), (1, 3)), mode="edge"), label="replicate"),
    case(EdgePad, lambda x: F.pad(x, (2, 1, 3, 0), mode="circular"), (1, 3, 4),
         ref=lambda x: np.pad(x, ((0, 0), (3, 0), (2, 1)), mode="wrap"), label="circular"),
]
# fmt: on
