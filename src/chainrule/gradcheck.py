"""Numerical gradient checking, usable on your own gates (CS231n's gradient_check, grown up).

Central differences, ``(f(x + eps) - f(x - eps)) / (2 eps)``, have an error of order
eps**2 plus rounding of order 1e-16 / eps: in float64 with eps = 1e-6 that is about
1e-10 relative. In float32 the rounding alone is about 1e-1: check in float64.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

from chainrule import engine
from chainrule.errors import GradcheckError
from chainrule.mode import enable_grad, no_grad
from chainrule.tensor import Tensor


def rel_error(a, b) -> float:
    """The CS231n relative error: max |a - b| / max(1e-8, |a| + |b|).

    About 1e-7 or less means the gradient is right; 1e-2 or more means it is wrong.

        >>> import chainrule as cr
        >>> round(cr.rel_error([1.0, 2.0], [1.0, 2.000001]), 9)
        2.5e-07
    """
    a = np.asarray(a.data if isinstance(a, Tensor) else a, dtype=np.float64)
    b = np.asarray(b.data if isinstance(b, Tensor) else b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes {a.shape} and {b.shape} differ")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def _warn_if_low_precision(name: str, dtype, stacklevel: int = 3) -> None:
    if np.dtype(dtype) != np.float64:
        warnings.warn(
            f"{name}: checking in {dtype}; central differences need float64 to be meaningful",
            stacklevel=stacklevel,
        )


def _scalar(out, name: str, grad_output) -> float:
    data = out.data if isinstance(out, Tensor) else np.asarray(out)
    if grad_output is not None:
        return float(np.sum(data * grad_output))
    if data.size != 1:
        raise ValueError(
            f"{name}: f returned shape {data.shape}; pass grad_output to "
            "check a non-scalar function"
        )
    return float(data.reshape(()))


def numerical_gradient(f: Callable, x, eps: float = 1e-6, grad_output=None) -> np.ndarray:
    """Central-difference gradient of ``sum(f(x) * grad_output)`` (of f(x) if scalar).

    `x` is an array or tensor; `f` gets a tensor of the same values, perturbed one
    element at a time.

        >>> import chainrule as cr
        >>> import numpy as np
        >>> cr.numerical_gradient(lambda x: (x ** 2).sum(), np.array([1.0, -3.0]))
        array([ 2., -6.])
    """
    base = np.array(x.data if isinstance(x, Tensor) else x, dtype=None, copy=True)
    if base.dtype.kind != "f":
        raise TypeError(f"numerical_gradient: x must be floating, got {base.dtype}")
    _warn_if_low_precision("numerical_gradient", base.dtype)
    grad = np.zeros_like(base)
    flat, grad_flat = base.reshape(-1), grad.reshape(-1)
    with no_grad():
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            plus = _scalar(f(Tensor._make(base.copy())), "numerical_gradient", grad_output)
            flat[i] = old - eps
            minus = _scalar(f(Tensor._make(base.copy())), "numerical_gradient", grad_output)
            flat[i] = old
            grad_flat[i] = (plus - minus) / (2 * eps)
    return grad


def _check(f, inputs, eps, atol, rtol, raise_exception, name) -> bool:
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError(f"{name}: no input requires grad, so there is nothing to check")
    for i in checked:
        _warn_if_low_precision(name, inputs[i].dtype, stacklevel=4)  # the caller's line
    out = f(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: f must return a tensor, got {type(out).__name__}")
    rng = np.random.default_rng(0)
    cotangent = rng.standard_normal(out.shape).astype(out.dtype)
    if out.requires_grad:
        analytic = engine.grad(
            out,
            [inputs[i] for i in checked],
            grad_outputs=Tensor._make(cotangent),
            allow_unused=True,
        )
    else:
        analytic = [None] * len(checked)
    for i, a in zip(checked, analytic):
        x = inputs[i]
        a = np.zeros(x.shape) if a is None else a.data

        def f_of_input(value, i=i):
            args = list(inputs)
            args[i] = value
            return f(*args)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            numeric = numerical_gradient(f_of_input, x, eps, cotangent)
        if a.shape != numeric.shape:
            if not raise_exception:
                return False
            raise GradcheckError(
                f"{name}: gradient of input {i} has shape {a.shape}, the input {x.shape}"
            )
        bad = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if (bad > 0).any():
            if not raise_exception:
                return False
            label = f" ({x.name})" if x.name else ""
            where = np.unravel_index(int(np.argmax(bad)), bad.shape)
            raise GradcheckError(
                f"{name}: gradient of input {i}{label}, shape {x.shape}, is wrong at index "
                f"{tuple(int(k) for k in where)}: analytic {float(a[where])!r}, numerical "
                f"{float(numeric[where])!r} (rel_error over the input {rel_error(a, numeric):.2e}, "
                f"atol={atol}, rtol={rtol})"
            )
    return True


def gradcheck(
    f: Callable,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Compare backprop's gradients of ``f(*inputs)`` with central differences.

    The output is projected on a fixed random cotangent v, so one backward pass checks
    the whole vector-Jacobian product v^T J for every input that requires grad. An
    element fails when ``|analytic - numerical| > atol + rtol * |numerical|``. Returns
    True, or raises `GradcheckError` naming the input, the worst element and both
    values (returns False instead when `raise_exception` is False). Use float64 inputs.

        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.5], dtype="float64", requires_grad=True)
        >>> cr.gradcheck(cr.tanh, x)
        True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    return _check(f, inputs, eps, atol, rtol, raise_exception, "gradcheck")


def gradgradcheck(
    f: Callable,
    inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second-order gradients: `gradcheck` applied to the backward pass of f.

    The backward pass, as a function of the inputs and of the upstream gradient v, is
    ``h(v, *inputs) = sum_i <w_i, d(f . v)/d input_i>`` for fixed random w_i; its
    gradients come from backprop through the graph that ``create_graph=True`` records.

        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.5], dtype="float64", requires_grad=True)
        >>> cr.gradgradcheck(cr.sigmoid, x)
        True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    out = f(*inputs)
    rng = np.random.default_rng(1)
    v = Tensor(rng.standard_normal(out.shape), dtype=out.dtype, requires_grad=True)
    weights = [rng.standard_normal(inputs[i].shape).astype(inputs[i].dtype) for i in checked]

    def backward_pass(v, *args):
        # Central differences call this under no_grad with plain tensors; the inner
        # backward still needs a graph, so those become fresh leaves here.
        args = list(args)
        for i in checked:
            if not args[i].requires_grad:
                args[i] = Tensor._make(args[i].data).requires_grad_()
        with enable_grad():
            return _weighted_grads(v, args)

    def _weighted_grads(v, args):
        out = f(*args)
        if not out.requires_grad:
            return (v * 0).sum()
        grads = engine.grad(
            out, [args[i] for i in checked], grad_outputs=v, create_graph=True, allow_unused=True
        )
        total = (v * 0).sum()
        for g, w in zip(grads, weights):
            if g is not None:
                total = total + (g * w).sum()
        return total

    return _check(backward_pass, (v,) + inputs, eps, atol, rtol, raise_exception, "gradgradcheck")
