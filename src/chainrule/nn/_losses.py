"""Loss functions, re-exported by `chainrule.nn.functional` (use them as ``F.cross_entropy``).

Each takes ``reduction='mean' | 'sum' | 'none'`` as PyTorch does. Softmax cross-entropy
is one fused gate (`chainrule.gates.SoftmaxCrossEntropy`); the others are compositions
of existing gates, so their second derivatives come for free.
"""

from __future__ import annotations

import numpy as np

from chainrule import gates
from chainrule.errors import ShapeError
from chainrule.gates.nn import REDUCTIONS, SoftmaxCrossEntropy, check_class_range
from chainrule.tensor import Tensor

# ----- argument checks shared by the losses -----


def check_reduction(name: str, reduction) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def reduce(loss, reduction: str):
    if reduction == "mean":
        return gates.mean(loss)
    if reduction == "sum":
        return gates.sum(loss)
    return loss


def float_input(name: str, x, what: str = "input") -> Tensor:
    """`x` as a Tensor of floating dtype (arrays are wrapped without a copy)."""
    if not isinstance(x, Tensor):
        x = Tensor._make(x) if isinstance(x, np.ndarray) else Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must be floating point, got dtype {x.dtype}")
    return x


def class_targets(
    name: str, shape: tuple, targets, what: str = "logits", check_range: bool = True
) -> np.ndarray:
    """Integer class indices checked against `what` of `shape` (N, C) or (N, C, d...)
    (their range too, unless the gate they go to checks it itself)."""
    t = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if len(shape) < 2:
        raise ShapeError(f"{name}: {what} must have shape (N, C) or (N, C, d...), got {shape}")
    expected = shape[:1] + shape[2:]
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: targets must be integer class indices of shape {expected}, got dtype "
            f"{t.dtype} (for {what} of shape {shape})"
        )
    if t.shape != expected:
        raise ShapeError(
            f"{name}: targets of shape {t.shape} do not fit {what} of shape {shape}; "
            f"expected targets of shape {expected} (class indices)"
        )
    if check_range:
        check_class_range(name, t, shape[1], f"{what} of shape {shape}")
    return t


def class_weight(name: str, weight, n_classes: int, dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.shape != (n_classes,):
        raise ShapeError(
            f"{name}: weight has shape {w.shape}, expected one weight per class: ({n_classes},)"
        )
    return w.astype(dtype, copy=False)


def same_shape(name: str, x: Tensor, target, what: str = "target"):
    """`target` checked to have x's shape (PyTorch would broadcast; we refuse).

    A floating Tensor is kept as it is (it may require grad); anything else becomes a
    constant array of x's dtype.
    """
    if not (isinstance(target, Tensor) and target.dtype.kind == "f"):
        target = np.asarray(target.data if isinstance(target, Tensor) else target)
        target = target.astype(x.dtype, copy=False)
    if target.shape != x.shape:
        raise ShapeError(
            f"{name}: {what} has shape {target.shape}, input {x.shape}; expected the same shape"
        )
    return target


def broadcastable(name: str, x: Tensor, value, what: str):
    """`value` (a weight) checked to broadcast to x's shape without enlarging it."""
    if value is None:
        return None
    if not isinstance(value, Tensor):
        value = np.asarray(value).astype(x.dtype, copy=False)
    try:
        fits = np.broadcast_shapes(value.shape, x.shape) == x.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(
            f"{name}: {what} of shape {value.shape} does not broadcast to input of shape {x.shape}"
        )
    return value


# ----- classification -----


def cross_entropy(
    logits, targets, weight=None, *, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """Softmax cross-entropy from logits, in one fused and numerically stable gate.

    Parameters
    ----------
    logits : Tensor, (N, C) or (N, C, d1, ...)
        Unnormalised scores; the class axis is 1, as in PyTorch.
    targets : integer array or Tensor, (N,) or (N, d1, ...)
        Class indices in ``[0, C)``.
    weight : array or Tensor, (C,), optional
        A weight per class. With ``reduction='mean'`` the sum of the losses is divided
        by the sum of the target weights ``weight[targets].sum()``, as in PyTorch.
    reduction : {'mean', 'sum', 'none'}
        'none' returns the loss per sample, of the shape of `targets`.
    label_smoothing : float in [0, 1]
        Mixes the one-hot target with the uniform distribution (PyTorch's definition).

    Returns
    -------
    Tensor
        The loss: a scalar, or (N, d1, ...) for ``reduction='none'``.

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> logits = cr.tensor([[2.0, 0.0, 0.0], [0.0, 1e8, 0.0]], requires_grad=True)
    >>> loss = F.cross_entropy(logits, [0, 1])
    >>> round(loss.item(), 4)
    0.1198
    >>> loss.backward()
    >>> logits.grad.shape
    (2, 3)
    """
    name = "cross_entropy"
    check_reduction(name, reduction)
    x = float_input(name, logits, "logits")
    t = class_targets(name, x.shape, targets, "logits", check_range=False)  # the gate does
    w = class_weight(name, weight, x.shape[1], x.dtype)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    return SoftmaxCrossEntropy.apply(
        x, targets=t, weight=w, label_smoothing=float(label_smoothing), reduction=reduction
    )


def nll_loss(log_probs, targets, weight=None, *, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of the target classes, given log-probabilities.

    ``nll_loss(log_softmax(x, axis=1), y)`` equals ``cross_entropy(x, y)`` (which is
    faster and stabler in one gate).

    Parameters
    ----------
    log_probs : Tensor, (N, C) or (N, C, d1, ...)
        Log-probabilities (class axis 1).
    targets : integer array or Tensor, (N,) or (N, d1, ...)
        Class indices in ``[0, C)``.
    weight : array or Tensor, (C,), optional
        A weight per class; 'mean' divides by ``weight[targets].sum()``.
    reduction : {'mean', 'sum', 'none'}

    Examples
    --------
    >>> import numpy as np
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> log_probs = cr.tensor(np.log([[0.5, 0.5], [0.25, 0.75]]))
    >>> round(F.nll_loss(log_probs, [0, 1]).item(), 4)
    0.4904
    """
    name = "nll_loss"
    check_reduction(name, reduction)
    x = float_input(name, log_probs, "log_probs")
    t = class_targets(name, x.shape, targets, "log_probs")
    w = class_weight(name, weight, x.shape[1], x.dtype)
    n_classes = x.shape[1]
    classes = np.arange(n_classes).reshape((1, n_classes) + (1,) * (x.ndim - 2))
    t_kept = np.expand_dims(t, 1)
    # The picked log-probability times its weight, as a product with a constant mask:
    # one multiply and one sum, no scatter in backward.
    picked = (t_kept == classes).astype(x.dtype)
    if w is not None:
        picked = picked * w.reshape(classes.shape)
    loss = -gates.sum(x * picked, axis=1)
    if reduction == "mean":
        total = loss.size if w is None else float(np.sum(w[t]))
        return gates.sum(loss) / total
    return reduce(loss, reduction)


def svm_loss(scores, targets, margin: float = 1.0, *, reduction: str = "mean") -> Tensor:
    """The multiclass SVM (hinge) loss of CS231n.

    Per sample, ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``; 'mean' averages
    over the batch (PyTorch's ``multi_margin_loss`` would also divide by C).

    Parameters
    ----------
    scores : Tensor, (N, C)
        Class scores.
    targets : integer array or Tensor, (N,)
        The correct classes.
    margin : float
        The required gap between the correct score and each other score.
    reduction : {'mean', 'sum', 'none'}

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> scores = cr.tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> round(F.svm_loss(scores, [0, 1, 2]).item(), 2)  # the lecture's cat, car, frog
    5.27
    """
    name = "svm_loss"
    check_reduction(name, reduction)
    x = float_input(name, scores, "scores")
    if x.ndim != 2:
        raise ShapeError(f"{name}: scores must have shape (N, C), got {x.shape}")
    t = class_targets(name, x.shape, targets, "scores")
    onehot = t[:, None] == np.arange(x.shape[1])
    correct = gates.sum(x * onehot.astype(x.dtype), axis=1, keepdims=True)
    margins = gates.relu(x - correct + margin) * (~onehot).astype(x.dtype)
    return reduce(gates.sum(margins, axis=1), reduction)


def binary_cross_entropy_with_logits(
    logits, targets, weight=None, pos_weight=None, *, reduction: str = "mean"
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable expression.

    ``loss = max(x, 0) - x * t + log1p(exp(-|x|))`` (= softplus(x) - x * t), which never
    overflows; with `pos_weight` the positive term is weighted as in PyTorch:
    ``(1 - t) * x + (1 + (pos_weight - 1) * t) * softplus(-x)``.

    Parameters
    ----------
    logits : Tensor
        Any shape.
    targets : array or Tensor
        Probabilities in [0, 1] of the shape of `logits` (integers and bools are cast).
    weight : array or Tensor, optional
        Broadcast against the loss: a weight per element.
    reduction : {'mean', 'sum', 'none'}
    pos_weight : array or Tensor, optional
        Weight of the positive examples, broadcast along the last axis (one per class).

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> x = cr.tensor([0.0, 1e8, -1e8])
    >>> F.binary_cross_entropy_with_logits(x, [1.0, 1.0, 1.0], reduction="none")
    Tensor([6.931472e-01, 0.000000e+00, 1.000000e+08], dtype=float32)
    """
    name = "binary_cross_entropy_with_logits"
    check_reduction(name, reduction)
    x = float_input(name, logits, "logits")
    t = same_shape(name, x, targets, "targets")
    weight = broadcastable(name, x, weight, "weight")
    pos_weight = broadcastable(name, x, pos_weight, "pos_weight")
    if pos_weight is None:
        # NOTE: softplus(x) = max(x, 0) + log1p(exp(-|x|)): exp of a non-positive number
        # only, so finite for any logit, and exact where log(1 + exp(x)) would round.
        loss = gates.softplus(x) - x * t
    else:
        loss = (1 - t) * x + (1 + (pos_weight - 1) * t) * gates.softplus(-x)
    if weight is not None:
        loss = loss * weight
    return reduce(loss, reduction)


# ----- regression -----


def mse_loss(input, target, *, reduction: str = "mean") -> Tensor:
    """Squared error ``(input - target) ** 2``, averaged by default.

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.mse_loss(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([1.0, 0.0, 0.0]))
    Tensor(4.3333335, dtype=float32)
    """
    name = "mse_loss"
    check_reduction(name, reduction)
    x = float_input(name, input)
    d = x - same_shape(name, x, target)
    return reduce(d * d, reduction)


def l1_loss(input, target, *, reduction: str = "mean") -> Tensor:
    """Absolute error ``|input - target|`` (its gradient at 0 is 0).

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.l1_loss(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([1.0, 0.0, 0.0]), reduction="sum")
    Tensor(5., dtype=float32)
    """
    name = "l1_loss"
    check_reduction(name, reduction)
    x = float_input(name, input)
    return reduce(gates.absolute(x - same_shape(name, x, target)), reduction)


def huber_loss(input, target, delta: float = 1.0, *, reduction: str = "mean") -> Tensor:
    """Quadratic near 0, linear beyond `delta`: robust to outliers (PyTorch's definition).

    ``0.5 * d**2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``, with
    ``d = input - target``.

    Examples
    --------
    >>> import chainrule as cr
    >>> import chainrule.nn.functional as F
    >>> F.huber_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), reduction="none")
    Tensor([0.125, 2.5  ], dtype=float32)
    """
    name = "huber_loss"
    check_reduction(name, reduction)
    if isinstance(delta, str):  # PyTorch's third positional argument is `reduction`
        raise TypeError(f"{name}: delta must be a number, got {delta!r}; pass reduction=...")
    if not delta > 0:
        raise ValueError(f"{name}: delta must be positive, got {delta}")
    x = float_input(name, input)
    d = x - same_shape(name, x, target)
    a = gates.absolute(d)
    small = (a.data if isinstance(a, Tensor) else a) < delta
    loss = gates.where(small, 0.5 * d * d, delta * (a - 0.5 * delta))
    return reduce(loss, reduction)
