"""SGD: stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.inplace import blockwise, constant, scaled_subtract
from chainrule.optim.optimizer import Optimizer
from chainrule.tensor import Tensor


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum (PyTorch's ``optim.SGD``).

    For each parameter ``p`` with gradient ``g``, at step ``t``::

        g = -g                        if maximize
        g = g + weight_decay * p      if weight_decay != 0
        if momentum != 0:
            b = g                                        at t = 1
            b = momentum * b + (1 - dampening) * g       afterwards
            g = g + momentum * b      if nesterov, else  g = b
        p = p - lr * g

    This is PyTorch's form, in which the learning rate multiplies the velocity
    (``v = mu v + g; p -= lr v``), not the CS231n notes' ``v = mu v - lr g; p += v``;
    the two agree while ``lr`` is constant.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimize, or parameter groups (see `Optimizer`).
    lr : float, default 1e-3
        Learning rate.
    momentum : float, default 0
        Momentum factor ``mu``.
    dampening : float, default 0
        Dampening of the gradient's contribution to the momentum buffer.
    weight_decay : float, default 0
        L2 penalty coefficient, added to the gradient.
    nesterov : bool, default False
        Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool, default False
        Maximize the objective (ascend the gradient).

    Notes
    -----
    State per parameter: ``momentum_buffer`` (when momentum != 0), made at the first step.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()      # gradient 2 w
    ...     opt.step()
    >>> w                                 # 1 -> 0.8 -> 0.8 - 0.1 * (0.9 * 2 + 1.6) = 0.46
    Tensor([ 0.46, -0.92], dtype=float32, requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate(self, group: dict, index: int) -> None:
        lr, momentum, dampening, weight_decay = self._numbers(
            group, index, "lr", "momentum", "dampening", "weight_decay"
        )
        self._check(lr >= 0, f"invalid learning rate lr={lr} (must be >= 0)", index)
        self._check(momentum >= 0, f"invalid momentum={momentum} (must be >= 0)", index)
        self._check(weight_decay >= 0, f"invalid weight_decay={weight_decay} (must be >= 0)", index)
        if group["nesterov"]:
            self._check(
                momentum > 0 and dampening == 0,
                f"Nesterov momentum requires momentum > 0 and dampening = 0, got "
                f"momentum={momentum}, dampening={dampening}",
                index,
            )

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        # The scalars as 0-d arrays of the parameter's dtype (see `constant`), None where
        # their option is off.
        lr = constant(float(group["lr"]), param)
        maximize = group["maximize"]
        if not (maximize or group["momentum"] or group["weight_decay"]):
            scaled_subtract(param, lr, grad)  # plain SGD, the common case: the same update
            return
        nesterov = group["nesterov"]
        weight_decay = float(group["weight_decay"])
        weight_decay = constant(weight_decay, param) if weight_decay != 0 else None
        momentum = one_minus_dampening = buf = None
        first_step = False
        if float(group["momentum"]) != 0:
            momentum = constant(float(group["momentum"]), param)
            one_minus_dampening = constant(1 - float(group["dampening"]), param)
            buf = state.get("momentum_buffer")
            first_step = buf is None
            if first_step:
                buf = state["momentum_buffer"] = np.empty_like(param)

        # Elementwise, run on blocks of the arrays (see `blockwise`): its temporaries
        # (lr * grad, grad + weight_decay * param, ...) are then one block in size, not
        # one parameter, and the result is bitwise the same.
        def sgd(param, grad, buf):
            if maximize:
                grad = -grad
            if weight_decay is not None:
                grad = grad + weight_decay * param
            if buf is not None:
                if first_step:
                    buf[...] = grad  # a copy: grad may be the parameter's .grad array
                else:
                    buf *= momentum
                    buf += one_minus_dampening * grad
                grad = grad + momentum * buf if nesterov else buf
            param -= lr * grad

        blockwise(sgd, param, grad, buf)
