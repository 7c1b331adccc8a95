"""Function transforms with JAX's conventions: grad, value_and_grad, vjp, jvp, jacobian, hessian.

Each transform runs the function on tensors that require grad and asks the engine for
the gradients (`chainrule.engine.grad`), leaving every ``.grad`` untouched. Inside
another transform the gradients are built as graphs themselves (``create_graph``), so
the transforms compose: ``grad(grad(f))``, ``jacobian(grad(f))`` (that is `hessian`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from chainrule import engine
from chainrule.creation import zeros_like
from chainrule.gates import reshape, stack
from chainrule.mode import enable_grad
from chainrule.tensor import Tensor

_depth = 0  # how many transforms are running: inside one, gradients must stay differentiable


def _argnums(argnums, nargs: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(f"{name}: argnums {argnums} is out of range for {nargs} arguments")
    return tuple(i % nargs for i in nums)


def _differentiable(x, i: int, name: str) -> Tensor:
    """`x` as a new tensor that requires grad, distinct from every tensor outside.

    A tensor that already requires grad (an enclosing transform's variable, or one a
    closure also uses) gets a fresh node on top of it: this transform then
    differentiates with respect to its own argument only, while an enclosing one still
    sees through it. Reusing the tensor itself would mix the two up ("perturbation
    confusion"): ``grad(lambda x: grad(lambda y: x * y)(x))(3.0)`` must be 1, not 2.
    """
    if isinstance(x, Tensor) and x.requires_grad:
        return reshape(x, x.shape)
    t = Tensor(x)
    if t.dtype.kind != "f":
        raise TypeError(
            f"{name}: argument {i} has dtype {t.dtype}; only floating-point "
            "inputs can be differentiated (pass 3.0, not 3)"
        )
    return t.requires_grad_()


def _as_tensor(out, name: str) -> Tensor:
    if isinstance(out, Tensor):
        return out
    try:
        return Tensor(out)
    except TypeError:
        raise TypeError(
            f"{name}: the function must return a tensor, got {type(out).__name__}"
        ) from None


def _run(f, args, kwargs, nums, name):
    """Call f with the differentiated arguments made into tensors that require grad."""
    global _depth
    args = list(args)
    _depth += 1
    try:
        with enable_grad():
            for i in nums:
                args[i] = _differentiable(args[i], i, name)
            out = _as_tensor(f(*args, **kwargs), name)
    finally:
        _depth -= 1
    return out, [args[i] for i in nums]


def _gradients(out: Tensor, xs, cotangent=None, create_graph=False, retain_graph=None):
    """d(out . cotangent)/dx for each x, zeros (not None) where out does not depend on x."""
    if not out.requires_grad:
        return [zeros_like(x) for x in xs]
    grads = engine.grad(
        out,
        xs,
        grad_outputs=cotangent,
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )
    return [zeros_like(x) if g is None else g for x, g in zip(xs, grads)]


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """Like `grad`, but the returned function gives ``(f(*args), gradient)``.

    >>> import chainrule as cr
    >>> value, slope = cr.value_and_grad(lambda x: x ** 3)(2.0)
    >>> value.item(), slope.item()
    (8.0, 12.0)
    """

    def value_and_grad_f(*args, **kwargs):
        nums = _argnums(argnums, len(args), "grad")
        nested = _depth > 0
        out, xs = _run(f, args, kwargs, nums, "grad")
        if out.size != 1:
            raise ValueError(
                f"grad: the function must return a scalar, got shape {out.shape} "
                "(use vjp or jacobian for other outputs)"
            )
        grads = _gradients(out, xs, create_graph=nested)
        value = out if nested else out.detach()
        return value, grads[0] if isinstance(argnums, int) else tuple(grads)

    return value_and_grad_f


def grad(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The gradient of a scalar function, as a function (JAX's ``grad``).

    `argnums` picks the argument (or tuple of arguments) to differentiate. Transforms
    compose, so ``grad(grad(f))`` is the second derivative.

        >>> import chainrule as cr
        >>> d = cr.grad(lambda x: x ** 3)
        >>> d(2.0).item(), cr.grad(d)(2.0).item()
        (12.0, 12.0)
    """
    value_and_grad_f = value_and_grad(f, argnums)

    def grad_f(*args, **kwargs):
        return value_and_grad_f(*args, **kwargs)[1]

    return grad_f


def vjp(f: Callable, *primals):
    """Run ``f(*primals)`` and return ``(out, vjp_fn)``; ``vjp_fn(v)`` gives v^T J per primal.

    >>> import chainrule as cr
    >>> out, vjp_fn = cr.vjp(lambda x: x * 2, cr.tensor([1.0, 2.0]))
    >>> vjp_fn(cr.tensor([1.0, 10.0]))
    (Tensor([ 2., 20.], dtype=float32),)
    """
    nested = _depth > 0
    out, xs = _run(f, primals, {}, tuple(range(len(primals))), "vjp")

    def vjp_fn(cotangent):
        cotangent = (
            cotangent if isinstance(cotangent, Tensor) else Tensor(cotangent, dtype=out.dtype)
        )
        if cotangent.shape != out.shape:
            raise ValueError(
                f"vjp: the cotangent has shape {cotangent.shape}, the output {out.shape}"
            )
        return tuple(_gradients(out, xs, cotangent, create_graph=nested, retain_graph=True))

    return (out if nested else out.detach()), vjp_fn


def jvp(f: Callable, primals: Sequence, tangents: Sequence):
    """Forward-mode product: ``(f(*primals), J @ tangents)``.

    Computed by transposing a vjp (the linear map v -> v^T J is differentiated with
    respect to v), so every gate's backward must itself be differentiable.

        >>> import chainrule as cr
        >>> out, t = cr.jvp(lambda x: x ** 2, (cr.tensor(3.0),), (cr.tensor(1.0),))
        >>> out.item(), t.item()
        (9.0, 6.0)
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    nested = _depth > 0
    out, xs = _run(f, primals, {}, tuple(range(len(primals))), "jvp")
    tangents = [
        t if isinstance(t, Tensor) else Tensor(t, dtype=x.dtype) for t, x in zip(tangents, xs)
    ]
    for k, (t, x) in enumerate(zip(tangents, xs)):
        if t.shape != x.shape:
            raise ValueError(f"jvp: tangent {k} has shape {t.shape}, its primal {x.shape}")
    if not out.requires_grad:
        return out, zeros_like(out)
    dummy = zeros_like(out, requires_grad=True)  # the vjp is linear in it
    vjps = _gradients(out, xs, dummy, create_graph=True, retain_graph=True)
    total = None
    for v, t in zip(vjps, tangents):
        term = (v * t).sum()
        total = term if total is None else total + term
    (tangent_out,) = _gradients(total, [dummy], create_graph=nested)
    return (out if nested else out.detach()), tangent_out


def jacobian(f: Callable, argnums: int | Sequence[int] = 0) -> Callable:
    """The Jacobian as a function: its value has shape ``out.shape + x.shape``.

    Built one output element at a time (reverse mode), which is what a teaching-sized
    function needs; elementwise gates never form it, but this shows it.

        >>> import chainrule as cr
        >>> cr.jacobian(cr.relu)(cr.tensor([-1.0, 2.0]))
        Tensor([[0., 0.],
                [0., 1.]], dtype=float32)
    """

    def jacobian_f(*args, **kwargs):
        nums = _argnums(argnums, len(args), "jacobian")
        nested = _depth > 0
        out, xs = _run(f, args, kwargs, nums, "jacobian")
        rows = [[] for _ in xs]
        for k in range(out.size):
            onehot = np.zeros(out.size, dtype=out.dtype)
            onehot[k] = 1
            cotangent = Tensor._make(onehot.reshape(out.shape))
            grads = _gradients(out, xs, cotangent, create_graph=nested, retain_graph=True)
            for row, g in zip(rows, grads):
                row.append(g)
        jacobians = [
            reshape(stack(row), out.shape + x.shape)
            if row
            else zeros_like(np.zeros(out.shape + x.shape, x.dtype))
            for row, x in zip(rows, xs)
        ]
        if not nested:
            jacobians = [j.detach() for j in jacobians]
        return jacobians[0] if isinstance(argnums, int) else tuple(jacobians)

    return jacobian_f


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """The Hessian of a scalar function, shape ``x.shape + x.shape`` (``jacobian(grad(f))``).

    >>> import chainrule as cr
    >>> cr.hessian(lambda x: (x ** 3).sum())(cr.tensor([1.0, 2.0]))
    Tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=float32)
    """
    if not isinstance(argnums, int):
        raise TypeError("hessian: argnums must be one int")
    return jacobian(grad(f, argnums), argnums)
