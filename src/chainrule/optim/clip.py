"""Gradient clipping: rescale or clamp the ``.grad`` of parameters in place.

PyTorch has these under ``torch.nn.utils``; chainrule keeps them with the optimizers
(``cr.optim.clip_grad_norm_``), since they are called between ``backward()`` and
``optimizer.step()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.tensor import Tensor


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    """The gradient arrays of `parameters`, each one writable in place."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for p in parameters:
        if p.grad is None:
            continue
        g = p.grad.data
        if not (isinstance(g, np.ndarray) and g.flags.writeable):
            # A 0-d gradient may be a NumPy scalar, which cannot change in place.
            g = p.grad.data = np.array(g)
        grads.append(g)
    return grads


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale the gradients in place so that their total norm is at most `max_norm`.

    The total norm is the norm of all gradients taken together, as if concatenated
    into one vector::

        total_norm = norm([norm(g, norm_type) for g in grads], norm_type)
        clip_coef = max_norm / (total_norm + 1e-6)
        g = g * clip_coef            for every g, when clip_coef < 1

    As ``torch.nn.utils.clip_grad_norm_``. Parameters whose ``.grad`` is None are skipped.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        The parameters whose gradients are clipped.
    max_norm : float
        The largest total norm allowed.
    norm_type : float, default 2.0
        The order of the norm; ``float('inf')`` (or ``'inf'``) for the max norm.
    error_if_nonfinite : bool, default False
        Raise if the total norm is NaN or infinite (else the gradients are scaled by it).

    Returns
    -------
    float
        The total norm of the gradients before clipping.

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, 1.0], requires_grad=True)
    >>> (3.0 * w[0] + 4.0 * w[1]).backward()          # gradient (3, 4), norm 5
    >>> optim.clip_grad_norm_([w], max_norm=1.0)
    5.0
    >>> print(w.grad.numpy().round(4))               # times 1 / (5 + 1e-6)
    [0.6 0.8]
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    grads = _grads(parameters)
    if not grads:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        norms = [np.linalg.norm(g.ravel(), norm_type) for g in grads]
        total_norm = float(np.linalg.norm(np.asarray(norms), norm_type))
        if error_if_nonfinite and not math.isfinite(total_norm):
            raise RuntimeError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                f"{total_norm}, so they cannot be clipped (pass error_if_nonfinite=False to "
                "scale them by it anyway)"
            )
        clip_coef = max_norm / (total_norm + 1e-6)
        if clip_coef < 1 or math.isnan(clip_coef):
            for g in grads:
                g *= clip_coef
    return total_norm


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` in place.

    As ``torch.nn.utils.clip_grad_value_``. Parameters whose ``.grad`` is None are skipped.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        The parameters whose gradients are clamped.
    clip_value : float
        The largest magnitude allowed (>= 0).

    Examples
    --------
    >>> import chainrule as cr
    >>> from chainrule import optim
    >>> w = cr.tensor([1.0, 1.0, 1.0], requires_grad=True)
    >>> (w * cr.tensor([-3.0, 0.5, 2.0])).sum().backward()
    >>> optim.clip_grad_value_(w, 1.0)
    >>> w.grad
    Tensor([-1. ,  0.5,  1. ], dtype=float32)
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
