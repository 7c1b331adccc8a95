"""Adagrad: per-coordinate learning rates from the sum of all past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.inplace import blockwise, constant
from chainrule.optim.optimizer import Optimizer
from chainrule.tensor import Tensor


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), as PyTorch's ``optim.Adagrad``.

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g = -g                        if maximize
        g = g + weight_decay * p      if weight_decay != 0
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                  (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimize, or parameter groups (see `Optimizer`).
    lr : float, default 1e-2
        Learning rate.
    lr_decay : float, default 0
        Learning-rate decay: the effective rate at step t is ``lr / (1 + (t - 1) lr_decay)``.
    weight_decay : float, default 0
        L2 penalty coefficient, added to the gradient.
    initial_accumulator_value : float, default 0
        Starting value of the sum of squared gradients.
    eps : float, default 1e-10
        Added to the denominator for numerical stability.
    maximize : bool, default False
        Maximize the objective.

    Notes
    -----
    State per parameter: ``step`` and ``sum``. PyTorch creates it in the constructor;
    here it is created at the first step (same values).

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()           # s = g**2, so the first step is lr * sign(g)
    >>> w
    Tensor([ 0.5, -1.5], dtype=float32, requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "eps": eps,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate(self, group: dict, index: int) -> None:
        lr, lr_decay, weight_decay, initial, eps = self._numbers(
            group, index, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"
        )
        self._check(lr >= 0, f"invalid learning rate lr={lr} (must be >= 0)", index)
        self._check(lr_decay >= 0, f"invalid lr_decay={lr_decay} (must be >= 0)", index)
        self._check(weight_decay >= 0, f"invalid weight_decay={weight_decay} (must be >= 0)", index)
        self._check(
            initial >= 0,
            f"invalid initial_accumulator_value={initial} (must be >= 0)",
            index,
        )
        self._check(eps >= 0, f"invalid eps={eps} (must be >= 0)", index)

    def _init_state(self, param: np.ndarray, group: dict) -> dict:
        initial = float(group["initial_accumulator_value"])
        return {"step": 0, "sum": np.full_like(param, initial)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if not state:
            state.update(self._init_state(param, group))
        lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
        maximize = group["maximize"]
        state["step"] += 1

        # The scalars as 0-d arrays of the parameter's dtype (see `constant`), None where
        # their option is off.
        clr = constant(lr / (1 + (state["step"] - 1) * lr_decay), param)
        eps = constant(float(group["eps"]), param)
        weight_decay = float(group["weight_decay"])
        weight_decay = constant(weight_decay, param) if weight_decay != 0 else None

        # Elementwise, run on blocks of the arrays (see `blockwise`): its temporaries
        # are then one block in size, not one parameter, and the result is bitwise
        # the same.
        def adagrad(param, grad, total):
            if maximize:
                grad = -grad
            if weight_decay is not None:
                grad = grad + weight_decay * param
            total += grad * grad
            std = np.sqrt(total)
            std += eps
            param -= clr * (grad / std)

        blockwise(adagrad, param, grad, state["sum"])
