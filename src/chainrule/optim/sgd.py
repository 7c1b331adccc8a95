"""SGD: stochastic gradient descent with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

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
        lr, momentum = float(group["lr"]), float(group["momentum"])
        weight_decay = float(group["weight_decay"])
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # A copy: grad may be the parameter's .grad array itself.
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - float(group["dampening"])) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
