"""The backward pass: the chain rule applied gate by gate in reverse topological order.

The walk is iterative (a heap of gates ordered by creation, latest first), so a graph
of any depth backprops without recursion. Gradients are keyed by the identity of
the gate that produced a tensor (every gate has one output), added up where a tensor
branched, and popped as soon as the gate that needs them has run.
"""

from __future__ import annotations

import weakref
from heapq import heappop, heappush, heapreplace

import numpy as np

from chainrule.anomaly import check_finite
from chainrule.errors import GateError, GraphFreedError
from chainrule.gate import Gate
from chainrule.mode import STATE
from chainrule.tensor import Tensor

_FREED = None  # what `gate.saved` becomes once a backward without retain_graph is done

#: The gates whose output tensor called ``retain_grad()``, each with a weak reference to
#: that tensor (weak both ways: neither keeps the other alive). A registry, not an
#: attribute of every gate, because the walk would read it for each gate it runs.
RETAINED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: Called as ``hook(leaves)`` by `backward` after the walk and before any ``.grad`` is
#: written, with ``leaves = {id(leaf): (leaf, gradient)}``; a hook may replace entries.
#: `chainrule.distributed` averages gradients across processes here. Empty: one test.
BACKWARD_HOOKS: list = []


def backward(root: Tensor, grad=None, retain_graph: bool = False, create_graph: bool = False):
    """Backpropagate from `root` into the ``.grad`` of every leaf that requires grad."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad (no input of the computation "
            "requires grad, or it was computed under no_grad)"
        )
    grad = _root_grad(root, grad, create_graph)
    seen = {id(grad)}  # the caller may hold the root gradient: never store it as a .grad
    if root._gate is None:
        accumulate_leaf(root, grad, create_graph, seen)
        return
    leaves = _walk([(root, grad)], None, retain_graph or create_graph, create_graph)
    if BACKWARD_HOOKS:
        for hook in BACKWARD_HOOKS:
            hook(leaves)
    for leaf, g in leaves.values():
        accumulate_leaf(leaf, g, create_graph, seen)


def grad(
    outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False
):
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
            raise RuntimeError(
                "grad: an output does not require grad (it does not depend on "
                "the inputs, or was computed under no_grad)"
            )
        roots.append((out, _root_grad(out, g, create_graph)))
    found = _walk(roots, inputs, retain_graph, create_graph)
    results = []
    for x in inputs:
        entry = found.get(id(x))
        if entry is None:
            if not allow_unused:
                raise RuntimeError(
                    "grad: an input was not used to compute the outputs "
                    "(pass allow_unused=True to get None for it)"
                )
            results.append(None)
        else:
            g = entry[1]
            results.append(g if create_graph else Tensor._make(np.asarray(g)))
    return tuple(results)


def _root_grad(root: Tensor, grad, create_graph: bool):
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: the gradient can be implicit only for a scalar output; this "
                f"output has shape {root.shape}, so pass grad= with that shape"
            )
        data = root.data
        grad = np.array(1, data.dtype)  # faster than ones_like; a view of it if not 0-d
        if data.ndim:
            grad = grad.reshape(data.shape)
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

    Every recorded gate has a sequence number larger than those of the gates that
    made its inputs, so popping gates from a max-heap on that number visits each one
    after all of its consumers: its gradient is complete by then, with no counting
    pass over the graph beforehand (PyTorch orders its ready queue the same way).

    Returns ``{id(tensor): (tensor, grad)}`` for the leaves reached (``targets is
    None``) or for the `targets`, whose gates the walk then does not go behind.
    Gradients in flight are keyed by the gate that made the tensor (gates hash by
    identity; tensors are never used as keys): a gate's inputs are those gates
    (`Gate.inputs`), and leaves.
    """
    # A computed target stops the walk at its gate; leaves are always found.
    stop_gates = {t._gate: t for t in targets if t._gate is not None} if targets else {}
    grads: dict = {}
    found: dict[int, tuple] = {}
    heap: list = []
    for root, g in roots:  # the roots are sent their gradients as the edges below are
        gate = root._gate
        if gate is None or gate in stop_gates:
            _add(found, root, g)
        elif gate in grads:
            grads[gate] = grads[gate] + g
        else:
            grads[gate] = g
            heappush(heap, (-gate.seq, gate))
    anomaly = STATE.anomaly
    retained = RETAINED or None
    ndarray = np.ndarray
    # The latest gate found since the last pop, and its gradient, held outside the heap
    # and the dict: in a chain it is always the next one, and neither is then touched.
    upcoming = upcoming_g = None

    # Gradient recording on under create_graph (the backward is recorded), else off: as
    # `enable_grad` / `no_grad` would set it, without their objects on every backward.
    grad_was_enabled, STATE.grad_enabled = STATE.grad_enabled, create_graph
    try:
        while True:
            if upcoming is not None:
                gate, g, upcoming = upcoming, upcoming_g, None
                if heap and heap[0][0] < -gate.seq:  # a later gate is waiting: it goes first
                    grads[gate] = g
                    gate = heapreplace(heap, (-gate.seq, gate))[1]
                    g = grads.pop(gate)
            elif heap:
                gate = heappop(heap)[1]
                g = grads.pop(gate)
            else:
                break
            inputs = gate.inputs
            if not inputs:  # () once a backward freed it: a recorded gate has inputs
                raise GraphFreedError(
                    f"backward: went through {type(gate).__name__} a second time, but its "
                    "saved values were freed by the first backward; pass retain_graph=True "
                    "to the first backward to go through the graph again"
                )
            if retained is not None and gate in retained:
                _retain(retained[gate], g)
            input_grads = _backward_graph(gate, g) if create_graph else gate.backward(g)
            checked = gate.checked
            # The built-in gates return a tuple of one gradient per input (a test checks
            # each); what a user's gate returns is checked.
            if checked and (type(input_grads) is not tuple or len(input_grads) != len(inputs)):
                input_grads = as_grad_tuple(gate, input_grads, len(inputs))
            if not retain_graph:
                # Free what the gate held, as PyTorch does: a loss kept alive after
                # backward must not keep every activation of the step alive with it.
                gate.saved = _FREED
                gate.inputs = ()
                gate.params = None
            for x, dx, need in zip(inputs, input_grads, gate.needs_input_grad):
                if not need or dx is None:
                    continue
                if isinstance(x, Tensor):  # a leaf
                    if checked or type(dx) is not ndarray or dx.dtype is not x.data.dtype:
                        dx = conform_grad(gate, _position(inputs, x), dx, x.data, create_graph)
                    if anomaly:
                        check_finite(gate, dx, "backward")
                    _add(found, x, dx)
                    continue
                # x is the gate that made this input. A user's gate's gradients are
                # checked in full (shape too); the built-in gates' only where their type
                # or dtype is not the input's.
                if checked or type(dx) is not ndarray or dx.dtype is not x.out_dtype:
                    dx = conform_grad(gate, _position(inputs, x), dx, x, create_graph)
                if anomaly:
                    check_finite(gate, dx, "backward")
                if x is upcoming:
                    upcoming_g = upcoming_g + dx
                elif x in grads:
                    grads[x] = grads[x] + dx
                elif stop_gates and x in stop_gates:
                    _add(found, stop_gates[x], dx)
                elif upcoming is None:
                    upcoming, upcoming_g = x, dx
                else:
                    grads[x] = dx
                    heappush(heap, (-x.seq, x))
    finally:
        STATE.grad_enabled = grad_was_enabled
    return found


def _position(inputs: tuple, x) -> int:
    """Which input `x` is (for messages; the first, when it is more than one)."""
    return next(k for k, other in enumerate(inputs) if other is x)


def _retain(output, g) -> None:
    tensor = output()
    if tensor is not None:
        # A copy: g flows on downstream and may become a leaf's .grad as well.
        tensor.grad = g if isinstance(g, Tensor) else Tensor._make(np.array(g))


def _backward_graph(gate, g):
    """``gate.backward(g)`` on Tensors, so that the backward pass is recorded too."""
    arrays = gate.saved
    gate.saved = gate.saved_tensors()
    try:
        return gate.backward(g)
    finally:
        gate.saved = arrays


def as_grad_tuple(gate, input_grads, n: int) -> tuple:
    """A gate's gradients as a tuple of `n`: a list or a lone gradient is accepted, a
    wrong count is a `GateError` (also used by `Graph` replay)."""
    if isinstance(input_grads, list):
        input_grads = tuple(input_grads)
    elif not isinstance(input_grads, tuple) and n == 1:
        input_grads = (input_grads,)
    if not isinstance(input_grads, tuple) or len(input_grads) != n:
        got = len(input_grads) if isinstance(input_grads, tuple) else type(input_grads).__name__
        raise GateError(
            f"{type(gate).__name__}.backward returned {got} gradient(s) for "
            f"{n} input(s); return a tuple with one entry per input"
        )
    return input_grads


def conform_grad(gate, i: int, dx, like, create_graph: bool = False):
    """Input `i`'s gradient brought to the type and dtype of its value `like` (an array,
    or the gate that made it), or a `GateError` if its shape is wrong (also used by
    `Graph` replay)."""
    name = type(gate).__name__
    if isinstance(like, Gate):
        # A computed input: the gate that made it kept its dtype; its shape was kept by
        # `gate` if it is a user's (a built-in gate's shapes are the test suite's to check).
        shape = gate.in_shapes[i] if gate.checked else None
        dtype = like.out_dtype
    else:
        shape, dtype = like.shape, like.dtype
    if create_graph:
        if not isinstance(dx, Tensor):
            dx = Tensor._make(np.asarray(dx, dtype=dtype))
    elif isinstance(dx, Tensor):
        dx = dx.data
    elif not isinstance(dx, np.ndarray):
        try:
            dx = np.asarray(dx)
        except Exception:
            raise GateError(
                f"{name}.backward returned a {type(dx).__name__} for input {i}; expected an array"
            ) from None
    if dx.dtype.kind not in "fiub":
        raise GateError(f"{name}.backward returned a {dx.dtype} gradient for input {i}")
    if shape is not None and dx.shape != shape:
        raise GateError(
            f"{name}.backward returned a gradient of shape {tuple(dx.shape)} for input {i} "
            f"of shape {shape}"
        )
    return dx.astype(dtype) if dx.dtype != dtype else dx


def _add(found: dict, x: Tensor, g) -> None:
    key = id(x)
    if key in found:
        found[key] = (x, found[key][1] + g)
    else:
        found[key] = (x, g)


def accumulate_leaf(leaf: Tensor, g, create_graph: bool, seen: set[int]) -> None:
    """Add `g` into ``leaf.grad``. The stored array is never shared with another owner."""
    dtype = leaf.data.dtype
    if dtype.kind != "f":
        raise TypeError(
            f"backward: a {dtype} tensor cannot hold a gradient; only "
            "floating-point tensors can require grad"
        )
    if create_graph:
        if g.dtype != dtype:
            g = g.astype(dtype)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
        return
    if type(g) is not np.ndarray:
        # a Tensor's array; sums of 0-d arrays are NumPy scalars
        g = g.data if isinstance(g, Tensor) else np.asarray(g)
    if g.dtype != dtype:
        g = g.astype(dtype)
    if leaf.grad is None:
        # A gradient may be a view, read-only (broadcast), or the very array another
        # leaf or the caller holds: copy it then, so that users may edit .grad in place.
        # (A view's base is set; an array NumPy just made owns its memory, writeable.)
        if g.base is not None or id(g) in seen or not g.flags.writeable:
            g = g.copy()
        seen.add(id(g))
        leaf.grad = Tensor._make(g)
    else:
        leaf.grad = Tensor._make(leaf.grad.data + g)


def clear_grad(leaf: Tensor, set_to_none: bool = True) -> None:
    """``leaf.grad = None``, or zeros if not `set_to_none` (what ``zero_grad`` does to each
    parameter): written in place when the gradient is a plain writeable array, else a new
    zero gradient replaces it (one recorded under create_graph, or a read-only array)."""
    grad = leaf.grad
    if set_to_none or grad is None:
        leaf.grad = None
    elif grad.gate is None and isinstance(grad.data, np.ndarray) and grad.data.flags.writeable:
        grad.data.fill(0)
    else:
        leaf.grad = Tensor._make(np.zeros_like(leaf.data))
