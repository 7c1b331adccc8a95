"""The backward pass: the chain rule applied gate by gate in reverse topological order.

The walk is iterative (Kahn's algorithm on consumer counts, as in HIPS autograd), so a
graph of any depth backprops without recursion. Gradients are keyed by the identity of
the gate that produced a tensor (every gate has one output), added up where a tensor
branched, and popped as soon as the gate that needs them has run.
"""

from __future__ import annotations

import numpy as np

from chainrule.errors import GateError, GraphFreedError
from chainrule.gate import check_finite
from chainrule.mode import STATE, enable_grad, no_grad
from chainrule.tensor import Tensor

_FREED = None  # what `gate.saved` becomes once a backward without retain_graph is done


def backward(root: Tensor, grad=None, retain_graph: bool = False, create_graph: bool = False):
    """Backpropagate from `root` into the ``.grad`` of every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad (no input of the computation "
            "requires grad, or it was computed under no_grad)"
        )
    grad = _root_grad(root, grad, create_graph)
    if root._gate is None:
        _accumulate_leaf(root, grad, create_graph, set())
        return
    leaves = _walk([(root, grad)], None, retain_graph or create_graph, create_graph)
    seen: set[int] = {id(grad)}
    for leaf, g in leaves.values():
        _accumulate_leaf(leaf, g, create_graph, seen)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned rather than accumulated.

    The engine behind `chainrule.grad`, `vjp` and friends (PyTorch's ``autograd.grad``).
    Leaves' ``.grad`` are left untouched. Inputs may be leaves or intermediate tensors.
    """
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for x in inputs:
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError("grad: every input must be a tensor that requires grad")
    roots = []
    for out, g in zip(outputs, grad_outputs, strict=True):
        if not out.requires_grad:
            raise RuntimeError("grad: an output does not require grad (it does not depend on "
                               "the inputs, or was computed under no_grad)")
        roots.append((out, _root_grad(out, g, create_graph)))
    found = _walk(roots, inputs, retain_graph, create_graph)
    results = []
    for x in inputs:
        entry = found.get(id(x))
        if entry is None:
            if not allow_unused:
                raise RuntimeError("grad: an input was not used to compute the outputs "
                                   "(pass allow_unused=True to get None for it)")
            results.append(None)
        else:
            g = entry[1]
            results.append(g if create_graph else Tensor._make(g))
    return tuple(results)


def _root_grad(root: Tensor, grad, create_graph: bool):
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the gradient can be implicit only for a scalar output; this "
                f"output has shape {root.shape}, so pass grad= with that shape"
            )
        grad = np.ones_like(root.data)
    else:
        if isinstance(grad, Tensor):
            grad = grad if create_graph else grad.data
        else:
            grad = np.asarray(grad, dtype=root.dtype)
        if grad.shape != root.shape:
            raise ValueError(f"backward: grad has shape {grad.shape}, the output {root.shape}")
    if create_graph and not isinstance(grad, Tensor):
        grad = Tensor._make(grad)
    return grad


def _walk(roots, targets, retain_graph: bool, create_graph: bool) -> dict:
    """Run every gate behind `roots` backward once, in reverse topological order.

    Returns ``{id(tensor): (tensor, grad)}`` for the leaves reached (``targets is
    None``) or for the `targets`, whose gates the walk then does not go behind.
    """
    stop = {id(t) for t in targets} if targets is not None else set()
    pending = _count_consumers([r for r, _ in roots], stop)
    grads: dict[int, object] = {}
    found: dict[int, tuple] = {}
    for root, g in roots:
        if root._gate is None or id(root) in stop:
            _add(found, root, g)
        else:
            key = id(root._gate)
            grads[key] = grads[key] + g if key in grads else g
    ready = [r._gate for r, _ in roots if r._gate is not None and id(r) not in stop]
    ready = list({id(gate): gate for gate in ready if pending[id(gate)] == 0}.values())

    mode = enable_grad() if create_graph else no_grad()
    with mode:
        while ready:
            gate = ready.pop()
            g = grads.pop(id(gate), None)
            inputs = gate.inputs
            if g is not None:
                retained = gate._retained() if gate._retained is not None else None
                if retained is not None:
                    retained.grad = g if isinstance(g, Tensor) else Tensor._make(g)
                input_grads = _run_gate(gate, g, create_graph)
            else:  # no gradient reached this gate: it only passes that on
                input_grads = (None,) * len(inputs)
            if not retain_graph:
                # Free what the gate held, as PyTorch does: a loss kept alive after
                # backward must not keep every activation of the step alive with it.
                gate.saved = _FREED
                gate.inputs = ()
            for x, dx in zip(inputs, input_grads):
                if not isinstance(x, Tensor) or not x.requires_grad:
                    continue
                parent = x._gate
                if parent is None or id(x) in stop:
                    if dx is not None:
                        _add(found, x, dx)
                    continue
                key = id(parent)
                if dx is not None:
                    grads[key] = grads[key] + dx if key in grads else dx
                pending[key] -= 1
                if pending[key] == 0:
                    ready.append(parent)
    return found


def _count_consumers(roots, stop: set[int]) -> dict[int, int]:
    """For every gate behind `roots`, how many gradient edges flow into it."""
    pending: dict[int, int] = {}
    stack = []
    for root in roots:
        if root._gate is not None and id(root) not in stop and id(root._gate) not in pending:
            pending[id(root._gate)] = 0
            stack.append(root._gate)
    while stack:
        gate = stack.pop()
        if gate.saved is _FREED:
            raise GraphFreedError(
                f"backward: went through {type(gate).__name__} a second time, but its saved "
                "values were freed by the first backward; pass retain_graph=True to the "
                "first backward to go through the graph again"
            )
        for x in gate.inputs:
            if not isinstance(x, Tensor) or not x.requires_grad or x._gate is None:
                continue
            if id(x) in stop:
                continue
            key = id(x._gate)
            if key in pending:
                pending[key] += 1
            else:
                pending[key] = 1
                stack.append(x._gate)
    return pending


def _run_gate(gate, g, create_graph: bool) -> tuple:
    """Call ``gate.backward(g)`` and check what it returns against the contract."""
    if create_graph:
        arrays = gate.saved
        gate.saved = gate.saved_tensors()
        try:
            input_grads = gate.backward(g)
        finally:
            gate.saved = arrays
    else:
        input_grads = gate.backward(g)
    inputs = gate.inputs
    if type(input_grads) is not tuple:
        if isinstance(input_grads, list):
            input_grads = tuple(input_grads)
        elif len(inputs) == 1:
            input_grads = (input_grads,)
    if len(input_grads) != len(inputs):
        raise GateError(
            f"{type(gate).__name__}.backward returned {len(input_grads)} gradient(s) "
            f"for {len(inputs)} input(s)"
        )
    checked = []
    for i, (x, dx) in enumerate(zip(inputs, input_grads)):
        if dx is not None and isinstance(x, Tensor) and x.requires_grad:
            dx = _check_grad(gate, i, x, dx, create_graph)
        checked.append(dx)
    return checked


def _check_grad(gate, i: int, x: Tensor, dx, create_graph: bool):
    if create_graph:
        if not isinstance(dx, Tensor):
            dx = Tensor._make(np.asarray(dx, dtype=x.dtype))
        elif dx.dtype != x.dtype:
            dx = dx.astype(x.dtype)
    else:
        if isinstance(dx, Tensor):
            dx = dx.data
        elif type(dx) is not np.ndarray:
            dx = np.asarray(dx)
        if dx.dtype != x.data.dtype:
            if dx.dtype.kind not in "fiub":
                raise GateError(f"{type(gate).__name__}.backward returned a {dx.dtype} "
                                f"gradient for input {i}")
            dx = dx.astype(x.data.dtype)
    if dx.shape != x.data.shape:
        raise GateError(
            f"{type(gate).__name__}.backward returned a gradient of shape {tuple(dx.shape)} "
            f"for input {i} of shape {x.shape}"
        )
    if STATE.anomaly:
        check_finite(gate, dx, "backward")
    return dx


def _add(found: dict, x: Tensor, g) -> None:
    key = id(x)
    if key in found:
        found[key] = (x, found[key][1] + g)
    else:
        found[key] = (x, g)


def _accumulate_leaf(leaf: Tensor, g, create_graph: bool, seen: set[int]) -> None:
    """Add `g` into ``leaf.grad``. The stored array is never shared with another owner."""
    if create_graph:
        if g.dtype != leaf.dtype:
            g = g.astype(leaf.dtype)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if isinstance(g, Tensor):
        g = g.data
    if g.dtype != leaf.data.dtype:
        g = g.astype(leaf.data.dtype)
    if leaf.grad is None:
        # A gradient may be a view, read-only (broadcast), or the very array another
        # leaf or the caller holds: copy it then, so that users may edit .grad in place.
        if g.base is not None or not g.flags.writeable or id(g) in seen:
            g = g.copy()
        seen.add(id(g))
        leaf.grad = Tensor._make(g)
    else:
        leaf.grad = Tensor._make(leaf.grad.data + g)
