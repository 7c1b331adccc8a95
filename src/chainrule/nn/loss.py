"""Losses as modules: each stores its settings and calls its `functional` function.

Class weights (`weight`, `pos_weight`) are registered as buffers, as in PyTorch, so
they are saved in `state_dict` and cast by `Module.to`.

    >>> import chainrule as cr
    >>> loss_fn = cr.nn.CrossEntropyLoss()
    >>> logits = cr.zeros(4, 10)
    >>> round(loss_fn(logits, [0, 1, 2, 3]).item(), 4)  # log(10)
    2.3026
"""

from __future__ import annotations

from chainrule.nn import functional as F
from chainrule.nn.module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', "
                f"got {reduction!r}"
            )
        self.reduction = reduction

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits: (N, C) scores and (N,) integer class indices.

    `weight` (C,) rescales each class; `label_smoothing` mixes the one-hot target with
    the uniform distribution. See `chainrule.nn.functional.cross_entropy`.

    >>> import chainrule as cr
    >>> loss_fn = cr.nn.CrossEntropyLoss(reduction="none")
    >>> loss_fn(cr.zeros(2, 4), [0, 3])  # uniform scores: log(4) per sample
    Tensor([1.3862944, 1.3862944], dtype=float32)
    """

    def __init__(self, weight=None, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of (N, C) log-probabilities at (N,) class indices.

    Applied to `LogSoftmax` outputs it gives `CrossEntropyLoss`.

    >>> import chainrule as cr
    >>> log_probs = cr.log(cr.tensor([[0.5, 0.5], [0.25, 0.75]]))
    >>> round(cr.nn.NLLLoss()(log_probs, [0, 1]).item(), 4)  # -(log 0.5 + log 0.75) / 2
    0.4904
    """

    def __init__(self, weight=None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, reduction=self.reduction)


class SVMLoss(_Loss):
    """The CS231n multiclass SVM (hinge) loss: sum over j != y of max(0, s_j - s_y + margin).

    Not in PyTorch (its ``MultiMarginLoss`` divides by the number of classes). Scores
    (N, C), targets (N,) class indices.

    >>> import chainrule as cr
    >>> scores = cr.tensor([[3.2, 5.1, -1.7]])  # the lecture's cat image, class 0
    >>> round(cr.nn.SVMLoss()(scores, [0]).item(), 4)  # max(0, 2.9) + max(0, -3.9)
    2.9
    """

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.svm_loss(input, target, margin=self.margin, reduction=self.reduction)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return f"margin={self.margin}" + (f", {extra}" if extra else "")


class MSELoss(_Loss):
    """Mean squared error: (input - target)**2, reduced; input and target of one shape.

    >>> import chainrule as cr
    >>> cr.nn.MSELoss()(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0]))  # (0 + 4) / 2
    Tensor(2., dtype=float32)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: |input - target|, reduced; input and target of one shape.

    >>> import chainrule as cr
    >>> cr.nn.L1Loss(reduction="sum")(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 4.0]))
    Tensor(2., dtype=float32)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: quadratic within `delta` of the target, linear beyond.

    Per element 0.5 * d**2 where |d| <= delta, else delta * (|d| - 0.5 * delta).

    >>> import chainrule as cr
    >>> loss_fn = cr.nn.HuberLoss(reduction="none")
    >>> loss_fn(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]))
    Tensor([0.125, 2.5  ], dtype=float32)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, delta=self.delta, reduction=self.reduction)

    def extra_repr(self) -> str:
        extra = super().extra_repr()
        return f"delta={self.delta}" + (f", {extra}" if extra else "")


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (sigmoid fused in, stable); targets in [0, 1].

    `weight` rescales each element's loss; `pos_weight` (one per class) the positive
    term.

    >>> import chainrule as cr
    >>> loss_fn = cr.nn.BCEWithLogitsLoss()
    >>> loss_fn(cr.tensor([0.0, 0.0]), cr.tensor([1.0, 0.0]))  # p = 0.5: log 2
    Tensor(0.6931472, dtype=float32)
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input,
            target,
            weight=self.weight,
            pos_weight=self.pos_weight,
            reduction=self.reduction,
        )
