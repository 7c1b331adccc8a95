"""Neural-network gates: fused linear layer, normalisation and softmax cross-entropy.

Each is one gate where a composition of existing gates would also do, for the reasons
the design gives: speed (`Linear` makes one pass where matmul, transpose and add make
three, on the hot path of every MLP; `Normalize` backpropagates batch and layer norm in
a few passes instead of a dozen gates' worth) and stability (`SoftmaxCrossEntropy` never
forms a probability that could underflow before its log is taken).

Their backward passes are written with NumPy operations on the saved inputs, so they
differentiate again under ``create_graph``. `Normalize` and `SoftmaxCrossEntropy` keep
an intermediate (the normalised input, the probabilities) outside ``saved`` for the
first backward, and recompute it from the input when it is gone or when the input is a
Tensor.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError
from chainrule.gate import Gate, shape_of, sum_to
from chainrule.gates.reduce import normalize_axis
from chainrule.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # by itemsize


def check_class_range(name: str, targets: np.ndarray, n_classes: int, what: str) -> None:
    """Raise unless every target is a class index in [0, n_classes)."""
    if not targets.size:
        return
    # One pass, not min and max: read as unsigned, a negative index is above any count.
    signed = targets.dtype.kind == "i"
    if (targets.view(_UNSIGNED[targets.itemsize]) if signed else targets).max() < n_classes:
        return
    lo, hi = int(targets.min()), int(targets.max())
    raise ValueError(
        f"{name}: target {lo if lo < 0 else hi} is out of range for {what}; "
        f"expected class indices in [0, {n_classes})"
    )


class Linear(Gate):
    """out = x @ w^T + b  (PyTorch's layout).
    Shapes: x (..., in), w (out, in), b (out,) or absent; out (..., out).
    Backward: dx = g @ w, dw = g^T @ x and db = sum of g, both summed over the batch dims."""

    def forward(self, x, w, b=None):
        # getattr, not np.shape: this is the hot path of every MLP, and np.shape costs
        # more than the rest of the checks together.
        x_shape, w_shape = getattr(x, "shape", ()), getattr(w, "shape", ())
        if not x_shape or len(w_shape) != 2 or x_shape[-1] != w_shape[1]:
            raise ShapeError(
                f"linear: x of shape {x_shape} does not fit weight of shape {w_shape}; "
                "expected x (..., in_features) and weight (out_features, in_features)"
            )
        if b is not None and getattr(b, "shape", ()) != (w_shape[0],):
            raise ShapeError(
                f"linear: bias has shape {np.shape(b)}, expected ({w_shape[0]},) for weight "
                f"of shape {w_shape}"
            )
        need_x, need_w = self.needs_input_grad[:2]
        self.save(x if need_w else None, w if need_x else None)
        self.x_shape = x_shape
        # One GEMM over all the batch dims (a 2-D view), not a loop of small ones.
        out = (x if len(x_shape) == 2 else x.reshape(-1, w_shape[1])) @ w.T
        if b is not None:
            if out.dtype == b.dtype:
                out += b  # out is a fresh array: adding in place saves a pass and a copy
            else:  # NumPy's promotion decides the dtype
                out = out + b
        return out if len(x_shape) == 2 else out.reshape(x_shape[:-1] + (w_shape[0],))

    def backward(self, g):
        x, w = self.saved
        need_x, need_w, *need_b = self.needs_input_grad
        x_shape = self.x_shape
        flat = len(x_shape) == 2
        g2 = g if flat else g.reshape(-1, g.shape[-1])
        dx = dw = None
        if need_x:
            dx = g2 @ w if flat else (g2 @ w).reshape(x_shape)
        if need_w:
            dw = g2.T @ (x if flat else x.reshape(-1, x_shape[-1]))
        if not need_b:  # called without a bias
            return dx, dw
        db = g2.sum(axis=0) if need_b[0] else None
        return dx, dw, db


class Normalize(Gate):
    """out = (x - mean) / sqrt(var + eps) * w + b, mean and biased var taken over `axis`
    (batch norm: the batch axes; layer norm: the feature axes).
    Shapes: w and b broadcast against x, or None (1 and 0).
    Backward: with xh the normalised x and dxh = g * w, dw = sum(g * xh), db = sum(g),
    dx = (dxh - mean(dxh) - xh * mean(dxh * xh)) / sqrt(var + eps)  (means over axis)."""

    def forward(self, x, w=None, b=None, axis=-1, eps=1e-5, stats=None):
        self.axes = axes = normalize_axis("normalize", axis, x.ndim)
        self.eps = eps
        # `stats` = (mean, var) when the caller computed them already (batch norm
        # needs them for its running statistics); they must be those of this x.
        if stats is None:
            mean = np.mean(x, axis=axes, keepdims=True)
            var = np.var(x, axis=axes, keepdims=True)
        else:
            mean, var = stats
        inv = 1 / np.sqrt(var + eps)
        xh = x - mean
        xh *= inv
        out = xh
        if w is not None:
            out = xh * w
        if b is not None:
            if out is not xh and out.dtype == np.result_type(out, b):
                out += b
            else:
                out = out + b
        self.save(x, w, b)
        self.xh, self.inv = xh, inv  # for the first backward (see the module docstring)
        return out

    def backward(self, g):
        x, w, b = self.saved
        need_x, need_w, need_b = self.needs_input_grad
        xh, inv = self.xh, self.inv
        self.xh = self.inv = None
        if xh is None or isinstance(x, Tensor):
            xc = x - x.mean(axis=self.axes, keepdims=True)
            inv = 1 / np.sqrt((xc * xc).mean(axis=self.axes, keepdims=True) + self.eps)
            xh = xc * inv
        dx = dw = db = None
        if need_x:
            dxh = g if w is None else g * w
            mean_dxh = dxh.mean(axis=self.axes, keepdims=True)
            mean_dxh_xh = (dxh * xh).mean(axis=self.axes, keepdims=True)
            dx = (dxh - mean_dxh - xh * mean_dxh_xh) * inv
        if need_w:
            dw = sum_to(g * xh, shape_of(w))
        if need_b:
            db = sum_to(g, shape_of(b))
        return dx, dw, db


class SoftmaxCrossEntropy(Gate):
    """out = -sum_c q_c * log_softmax(x)_c over the class axis 1, reduced over the rest,
    where q = (1 - s) * w[y] * onehot(y) + s * w / C (s: label smoothing, w: class weights).
    Shapes: x (N, C) or (N, C, d...), targets (N,) or (N, d...) integers, w (C,);
    out () for 'mean' (divided by the sum of w[y]) and 'sum', (N, d...) for 'none'.
    Backward: dx = (softmax(x) * sum_c q_c - q) * g / normaliser  (= softmax - onehot
    without weights or smoothing)."""

    def forward(self, x, targets, weight=None, label_smoothing=0.0, reduction="mean"):
        n_classes = x.shape[1]
        # Checked here, not only by `cross_entropy`: a replayed Graph calls forward alone,
        # and a target of -1 would otherwise pick the last class without a word.
        check_class_range("cross_entropy", targets, n_classes, f"logits of shape {x.shape}")
        shift, e, total, log_p = log_softmax_parts(x)
        t = targets[:, None]  # (N, 1, d...): broadcasts against the classes
        if x.ndim == 2:  # the common case, without take_along_axis's index building
            picked = log_p[np.arange(len(targets)), targets]
        else:
            picked = np.take_along_axis(log_p, t, axis=1)[:, 0]
        w_y = None if weight is None else weight[targets]
        loss = -picked if w_y is None else -(w_y * picked)
        if label_smoothing:
            if weight is None:
                smooth = -np.sum(log_p, axis=1) / n_classes
            else:
                w_c = weight.reshape((n_classes,) + (1,) * (x.ndim - 2))
                smooth = -np.sum(log_p * w_c, axis=1) / n_classes
            loss = (1 - label_smoothing) * loss + label_smoothing * smooth

        if reduction == "mean":
            self.normaliser = float(loss.size if w_y is None else w_y.sum())
            out = loss.sum() / self.normaliser
        elif reduction == "sum":
            self.normaliser = 1.0
            out = loss.sum()
        else:
            self.normaliser = None
            out = loss
        self.reduction = reduction
        self.targets, self.weight, self.smoothing = t, weight, label_smoothing
        self.shift = shift  # a constant to backward: softmax(x - shift) does not depend on it
        # Kept for the first backward only (not in `saved`: an intermediate array would bar
        # create_graph); backward recomputes it from x when it is gone or x is a Tensor.
        self.probs = e / total
        self.save(x)
        return np.asarray(out, dtype=x.dtype)

    def backward(self, g):
        (x,) = self.saved
        p, self.probs = self.probs, None
        if p is None or isinstance(x, Tensor):
            e = np.exp(x - self.shift)
            p = e / e.sum(axis=1, keepdims=True)
        if self.weight is None and not self.smoothing and x.ndim == 2 and type(p) is np.ndarray:
            dx = subtract_onehot(p, self.targets[:, 0])  # the loss of most classifiers
        else:
            q, q_total = self.target_distribution(x.shape, x.dtype)
            dx = p - q if q_total is None else p * q_total - q
        if self.reduction == "none":
            scale = g.reshape(self.targets.shape)  # (N, 1, d...): broadcast over classes
        elif self.normaliser != 1.0:
            scale = g / self.normaliser
        else:
            scale = g
        return (dx * scale,)

    def target_distribution(self, shape, dtype):
        """q (the smoothed, weighted one-hot targets) and its sum over classes (None if 1)."""
        n_classes = shape[1]
        classes = np.arange(n_classes).reshape((1, n_classes) + (1,) * (len(shape) - 2))
        onehot = (self.targets == classes).astype(dtype)
        weight, s = self.weight, self.smoothing
        if weight is None:
            if not s:
                return onehot, None
            return onehot * (1 - s) + s / n_classes, None
        w_y = weight[self.targets]  # (N, 1, d...)
        w_c = weight.reshape(classes.shape)
        q = onehot * ((1 - s) * w_y)
        if s:
            q = q + (s / n_classes) * w_c
        return q, (1 - s) * w_y + (s / n_classes) * np.sum(weight)


def log_softmax_parts(x: np.ndarray) -> tuple:
    """The stable log-softmax of `x` over axis 1 and what it is made of:
    ``(shift, e, total, log_p)``, with ``e = exp(x - shift)`` and ``total`` its sum."""
    # NOTE: log-softmax as x - max - log(sum(exp(x - max))): every exponent is <= 0 and
    # the largest term is 1, so nothing overflows, the sum is never 0, and the
    # log-probability of a class far below the max stays finite (-1e8, not -inf), where
    # log(softmax(x)) would underflow. The loss is finite for logits of 1e8.
    shift = x.max(axis=1, keepdims=True)
    shifted = x - shift
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    return shift, e, total, shifted - np.log(total)


def subtract_onehot(probs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``probs - onehot(targets)`` for (N, C) probabilities, written into `probs` (an
    array of the caller's own), without building the one-hot rows: the same bits."""
    probs[np.arange(len(probs)), targets] -= 1
    return probs


# ----- SoftmaxCrossEntropy as plain functions, for compiled replay -----
# (`chainrule.graph.lowering`): 2-D logits without class weights or label smoothing,
# the gate's forward and backward step for step, so that they give its very bits.


def cross_entropy_loss(x: np.ndarray, targets: np.ndarray, reduction: str) -> np.ndarray:
    """The gate's output: the loss of logits `x` (N, C) and class indices `targets` (N,)."""
    check_class_range("cross_entropy", targets, x.shape[1], f"logits of shape {x.shape}")
    log_p = log_softmax_parts(x)[3]
    loss = -log_p[np.arange(len(targets)), targets]
    if reduction == "mean":
        loss = loss.sum() / float(loss.size)
    elif reduction == "sum":
        loss = loss.sum()
    return np.asarray(loss, dtype=x.dtype)


def cross_entropy_grad(x, targets, g, reduction: str) -> np.ndarray:
    """The gate's gradient for `x`, given the loss's gradient `g`."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    dx = subtract_onehot(e / e.sum(axis=1, keepdims=True), targets)
    if reduction == "none":
        return dx * g.reshape(-1, 1)
    if reduction == "mean" and len(x) != 1:
        return dx * (g / float(len(x)))
    return dx * g


def linear(x, weight, bias=None) -> Tensor:
    """``x @ weight.T + bias`` in one fused gate, with PyTorch's shapes.

    Parameters
    ----------
    x : Tensor, (..., in_features)
    weight : Tensor, (out_features, in_features)
    bias : Tensor, (out_features,), optional

    Returns
    -------
    Tensor, (..., out_features)

    Examples
    --------
    >>> import chainrule as cr
    >>> w = cr.tensor([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])
    >>> cr.gates.linear(cr.tensor([[1.0, 1.0]]), w, cr.tensor([0.5, 0.5, 0.5]))
    Tensor([[3.5, 7.5, 1.5]], dtype=float32)
    """
    if bias is None:
        return Linear._run(x, weight)
    return Linear.apply(x, weight, bias)
