"""Adam and AdamW: momentum plus RMSprop-style scaling, with bias correction."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.inplace import blockwise, constant
from chainrule.optim.optimizer import Optimizer, _is_number
from chainrule.tensor import Tensor


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), as PyTorch's ``optim.Adam``.

    For each parameter ``p`` with gradient ``g``, at step ``t = 1, 2, ...``::

        g = -g                            if maximize
        if weight_decay != 0:
            p = p * (1 - lr * weight_decay)   if decoupled_weight_decay (AdamW)
            g = g + weight_decay * p          otherwise (L2 penalty)
        m = beta1 * m + (1 - beta1) * g       (first moment, m_0 = 0)
        v = beta2 * v + (1 - beta2) * g**2    (second moment, v_0 = 0)
        v_max = max(v_max, v)                 if amsgrad, and v_max is used for v below
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The bias corrections ``1 - beta**t`` undo the pull towards zero of the moments'
    zero start. ``eps`` sits outside the square root, after the correction of ``v``.

    Parameters
    ----------
    params : iterable of Tensor or of dict
        Tensors to optimize, or parameter groups (see `Optimizer`).
    lr : float, default 1e-3
        Learning rate.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of the first and second moment estimates, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator for numerical stability.
    weight_decay : float, default 0
        L2 penalty coefficient (added to the gradient, so it is scaled by the second
        moment too; AdamW decouples it).
    amsgrad : bool, default False
        Use the maximum of all second-moment estimates so far (Reddi et al., 2018).
    maximize : bool, default False
        Maximize the objective.
    decoupled_weight_decay : bool, default False
        Decay the weights directly, as AdamW does.

    Notes
    -----
    State per parameter: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v) and
    ``max_exp_avg_sq`` (when amsgrad).

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()           # after bias correction the first step is about lr * sign(g)
    >>> print(w.numpy().round(4))
    [ 0.9 -1.9]
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _validate(self, group: dict, index: int) -> None:
        lr, eps, weight_decay = self._numbers(group, index, "lr", "eps", "weight_decay")
        self._check(lr >= 0, f"invalid learning rate lr={lr} (must be >= 0)", index)
        self._check(eps >= 0, f"invalid eps={eps} (must be >= 0)", index)
        self._check(weight_decay >= 0, f"invalid weight_decay={weight_decay} (must be >= 0)", index)
        betas = group["betas"]
        if isinstance(betas, list):
            betas = group["betas"] = tuple(betas)
        self._check(
            isinstance(betas, tuple) and len(betas) == 2,
            f"betas must be a pair (beta1, beta2), got {betas!r}",
            index,
        )
        for i, beta in enumerate(betas):
            self._check(
                _is_number(beta) and 0 <= beta < 1,
                f"invalid beta parameter at index {i}: {beta!r} (must be in [0, 1))",
                index,
            )

    def _init_state(self, param: np.ndarray, group: dict) -> dict:
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if not state:
            state.update(self._init_state(param, group))
        lr, weight_decay = float(group["lr"]), float(group["weight_decay"])
        beta1, beta2 = (float(beta) for beta in group["betas"])
        maximize = group["maximize"]
        state["step"] += 1
        step = state["step"]
        max_exp_avg_sq = state.get("max_exp_avg_sq") if group["amsgrad"] else None
        if group["amsgrad"] and max_exp_avg_sq is None:  # amsgrad switched on mid-run
            max_exp_avg_sq = state["max_exp_avg_sq"] = np.zeros_like(param)

        # The scalars as 0-d arrays of the parameter's dtype (see `constant`), None where
        # their option is off.
        step_size = constant(lr / (1 - beta1**step), param)
        bias_correction2_sqrt = constant((1 - beta2**step) ** 0.5, param)
        one_minus_beta1, one_minus_beta2 = constant(1 - beta1, param), constant(1 - beta2, param)
        beta2, eps = constant(beta2, param), constant(float(group["eps"]), param)
        shrink = l2 = None
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            shrink = constant(1 - lr * weight_decay, param)
        elif weight_decay != 0:
            l2 = constant(weight_decay, param)

        # Elementwise, run on blocks of the arrays (see `blockwise`): its temporaries
        # (the denominator, the quotient, ...) are then one block in size, not one
        # parameter, and the result is bitwise the same.
        def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq):
            if maximize:
                grad = -grad
            if shrink is not None:
                param *= shrink
            if l2 is not None:
                grad = grad + l2 * param
            # beta1 m + (1 - beta1) g, written as torch's lerp
            exp_avg += one_minus_beta1 * (grad - exp_avg)
            exp_avg_sq *= beta2
            exp_avg_sq += one_minus_beta2 * grad * grad
            if max_exp_avg_sq is not None:
                np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                denom = np.sqrt(max_exp_avg_sq)
            else:
                denom = np.sqrt(exp_avg_sq)
            denom /= bias_correction2_sqrt
            denom += eps
            param -= step_size * (exp_avg / denom)

        blockwise(adam, param, grad, state["exp_avg"], state["exp_avg_sq"], max_exp_avg_sq)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as ``optim.AdamW``.

    The update is Adam's, except that weight decay shrinks the parameter directly
    instead of entering the gradient (so the moments never see it)::

        p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Parameters are Adam's, with ``weight_decay`` defaulting to 1e-2 as in PyTorch.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()           # w * (1 - 0.05), then the Adam step of about 0.1
    >>> w
    Tensor([ 0.85, -1.8 ], dtype=float32, requires_grad=True)
    """

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def _validate(self, group: dict, index: int) -> None:
        group["decoupled_weight_decay"] = True  # what makes it AdamW, whatever was loaded
        super()._validate(group, index)
