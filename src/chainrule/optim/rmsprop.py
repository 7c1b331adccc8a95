"""RMSprop: divide the gradient by a running root mean square of recent gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.inplace import blockwise, constant
from chainrule.optim.optimizer import Optimizer
from chainrule.tensor import Tensor


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e), as PyTorch's ``optim.RMSprop``.

    For each parameter ``p`` with gradient ``g``::

        g = -g                        if maximize
        g = g + weight_decay * p      if weight_decay != 0
        v = alpha * v + (1 - alpha) * g**2
        if centered:
            m = m + (1 - alpha) * (g - m)          (running mean of g)
            d = sqrt(v - m**2) + eps
        else:
            d = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / d
            p = p - lr * b
        else:
            p = p - lr * g / d

    ``v``, ``m`` and ``b`` start at zero. Note that ``eps`` is added outside the square
    root, as in PyTorch (Keras and TensorFlow add it inside).

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimize, or parameter groups (see `Optimizer`).
    lr : float, default 1e-2
        Learning rate.
    alpha : float, default 0.99
        Smoothing constant of the running average of squared gradients.
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0
        L2 penalty coefficient, added to the gradient.
    momentum : float, default 0
        Momentum factor.
    centered : bool, default False
        Normalize by an estimate of the gradient's variance instead of its second moment.
    maximize : bool, default False
        Maximize the objective.

    Notes
    -----
    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (when
    momentum > 0) and ``grad_avg`` (when centered).

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward()
    >>> opt.step()           # first step: g / sqrt(0.01 g**2) = 10 sign(g), times lr
    >>> print(w.numpy().round(4))
    [ 0.9 -1.9]
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate(self, group: dict, index: int) -> None:
        lr, alpha, eps, weight_decay, momentum = self._numbers(
            group, index, "lr", "alpha", "eps", "weight_decay", "momentum"
        )
        self._check(lr >= 0, f"invalid learning rate lr={lr} (must be >= 0)", index)
        self._check(eps >= 0, f"invalid eps={eps} (must be >= 0)", index)
        self._check(momentum >= 0, f"invalid momentum={momentum} (must be >= 0)", index)
        self._check(weight_decay >= 0, f"invalid weight_decay={weight_decay} (must be >= 0)", index)
        self._check(alpha >= 0, f"invalid alpha={alpha} (must be >= 0)", index)

    def _init_state(self, param: np.ndarray, group: dict) -> dict:
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if not state:
            state.update(self._init_state(param, group))
        maximize = group["maximize"]
        state["step"] += 1
        buf = state["momentum_buffer"] if float(group["momentum"]) > 0 else None
        grad_avg = state["grad_avg"] if group["centered"] else None

        # The scalars as 0-d arrays of the parameter's dtype (see `constant`), None where
        # their option is off.
        lr, eps = constant(float(group["lr"]), param), constant(float(group["eps"]), param)
        alpha = float(group["alpha"])
        alpha, one_minus_alpha = constant(alpha, param), constant(1 - alpha, param)
        momentum = constant(float(group["momentum"]), param) if buf is not None else None
        weight_decay = float(group["weight_decay"])
        weight_decay = constant(weight_decay, param) if weight_decay != 0 else None

        # Elementwise, run on blocks of the arrays (see `blockwise`): its temporaries
        # are then one block in size, not one parameter, and the result is bitwise
        # the same.
        def rmsprop(param, grad, square_avg, grad_avg, buf):
            if maximize:
                grad = -grad
            if weight_decay is not None:
                grad = grad + weight_decay * param
            square_avg *= alpha
            square_avg += one_minus_alpha * grad * grad
            if grad_avg is not None:
                grad_avg += one_minus_alpha * (grad - grad_avg)
                avg = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                avg = np.sqrt(square_avg)
            avg += eps
            if buf is not None:
                buf *= momentum
                buf += grad / avg
                param -= lr * buf
            else:
                param -= lr * (grad / avg)

        blockwise(rmsprop, param, grad, state["square_avg"], grad_avg, buf)
