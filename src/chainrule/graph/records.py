"""The records a captured graph is made of: slots (its values) and nodes (its gates).

A `Slot` is one edge of the graph, one value: an input of the function, a parameter it
closes over, a constant, or the output of a node. A `Node` is one gate application,
with the slots it read and the slot it wrote. Both are plain descriptions (what a
summary table or a drawing shows); the values and gradients of a slot in the last
forward and backward are read from the graph (``graph.value(slot)``, ``graph.grad(slot)``).
"""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor

INPUT = "input"
PARAMETER = "parameter"
CONSTANT = "constant"
NODE = "node"


class Slot:
    """One value of the graph: an input, a parameter, a constant, or a node's output.

    Attributes
    ----------
    index : int
        Its place in the graph's list of slots (``graph.slots[index] is slot``).
    kind : {'input', 'parameter', 'constant', 'node'}
    shape, dtype
        As captured (a node's output shape can change on replay only where it depends on
        values, as a boolean mask's does).
    requires_grad : bool
        Whether a gradient reaches it in the captured computation.
    name : str or None
        The tensor's name (``cr.tensor(..., name="x")``, ``fc1.weight``), the function's
        argument name for an input, or None.
    source
        What a parameter or a constant is read from (the Tensor, array or number); None
        for inputs and node outputs.
    node : Node or None
        The node that computes it (kind 'node').
    position : int
        The argument position of an input, the index of a parameter in
        ``graph.parameters``; -1 otherwise.

    Examples
    --------
    >>> import chainrule as cr
    >>> w = cr.nn.Parameter(cr.ones(4, 3))
    >>> graph = cr.Graph(lambda x: cr.relu(x @ w.T).sum())
    >>> _ = graph.forward(cr.ones(2, 3))
    >>> graph.slots[:2]
    (<Slot x: input (2, 3) float32>, <Slot param0: parameter (4, 3) float32>)
    >>> graph.slots[1].source is w
    True
    """

    __slots__ = (
        "index", "kind", "shape", "dtype", "requires_grad", "name", "source", "node", "position",
    )  # fmt: skip

    def __init__(self, kind: str, shape, dtype, requires_grad: bool, name=None, source=None):
        self.index = -1
        self.kind = kind
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype) if dtype is not None else None
        self.requires_grad = requires_grad
        self.name = name
        self.source = source
        self.node: Node | None = None
        self.position = -1

    @property
    def label(self) -> str:
        """A short name for tables and drawings: the name, ``%3`` for node 3, or ``const``."""
        if self.kind == NODE:
            return f"%{self.node.index}"
        name = getattr(self.source, "name", None) or self.name  # a module names it later
        if name:
            return name
        if self.kind == INPUT:
            return f"input{self.position}"
        if self.kind == PARAMETER:
            return f"param{self.position}"
        if self.shape == () and isinstance(self.source, (int, float, np.generic)):
            return f"{self.source:g}" if isinstance(self.source, float) else repr(self.source)
        return "const"

    def __repr__(self) -> str:
        dtype = "" if self.dtype is None else f" {self.dtype}"
        return f"<Slot {self.label}: {self.kind} {self.shape}{dtype}>"


class Node:
    """One gate of the graph, in topological order.

    Attributes
    ----------
    index : int
        Its place in ``graph.nodes``.
    op : str
        The gate's class name (``Multiply``, ``Linear``), or the NumPy function's name
        for a comparison (``greater``).
    gate : type
        The Gate class.
    inputs : tuple of Slot
        One per positional argument of the gate's ``forward``, in order.
    output : Slot
    params : dict or None
        The keyword arguments of the gate (``axis``, ``keepdims``...); None when unknown
        (a graph captured with `Graph.from_tensor`: gates do not keep them).
    needs_input_grad : tuple of bool
        Which inputs the gate's backward computes a gradient for.
    keyword_inputs : tuple of (str, int or None, Slot)
        Keyword arguments that are values of the graph, read again on every replay: the
        targets a loss function passes as ``targets=``, an index mask. Each is (key,
        position in a tuple argument or None, slot). No gradient flows through them.
    scope : Scope or None
        The innermost `nn.Module` call the gate ran in, when traced (drawings box a
        module's gates together); None outside modules and for `Graph.from_tensor`.

    Examples
    --------
    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x: (x * 2).sum(axis=0))
    >>> _ = graph.forward(cr.ones(2, 3))
    >>> graph.nodes
    (<Node %0 = Multiply(x, 2): (2, 3) float32>, <Node %1 = Sum(%0): (3,) float32>)
    >>> graph.nodes[1].op, graph.nodes[1].params
    ('Sum', {'axis': 0, 'keepdims': False})
    """

    __slots__ = (
        "index", "op", "gate", "inputs", "output", "params", "needs_input_grad",
        "keyword_inputs", "scope",
    )  # fmt: skip

    def __init__(
        self, op: str, gate: type, inputs, output: Slot, params, needs_input_grad, keyword_inputs=()
    ):
        self.index = -1
        self.op = op
        self.gate = gate
        self.inputs = tuple(inputs)
        self.output = output
        self.params = params
        self.needs_input_grad = tuple(needs_input_grad)
        self.keyword_inputs = tuple(keyword_inputs)
        self.scope: Scope | None = None

    @property
    def argument_labels(self) -> list[str]:
        """The labels of the inputs, then ``key=label`` for the keyword inputs."""
        labels = [slot.label for slot in self.inputs]
        for key, item, slot in self.keyword_inputs:
            labels.append(f"{key}={slot.label}" if item is None else f"{key}[{item}]={slot.label}")
        return labels

    @property
    def shape(self) -> tuple[int, ...]:
        return self.output.shape

    @property
    def dtype(self) -> np.dtype:
        return self.output.dtype

    def __repr__(self) -> str:
        args = ", ".join(self.argument_labels)
        return f"<Node %{self.index} = {self.op}({args}): {self.shape} {self.dtype}>"


class Scope:
    """One call of an `nn.Module` during a trace: the gates it ran belong to it.

    Attributes
    ----------
    name : str
        Its path of attribute names from the outermost module called (``fc1``,
        ``block.0``, as in parameter names); the class name for an outermost module.
    kind : str
        The module's class name (``Linear``).
    parent : Scope or None
        The module call it ran in.
    depth : int
        1 for an outermost module call, 2 for one of its children...
    """

    __slots__ = ("name", "kind", "parent", "depth", "module")

    def __init__(self, name: str, kind: str, parent: Scope | None, module) -> None:
        self.name = name
        self.kind = kind
        self.parent = parent
        self.depth = 1 if parent is None else parent.depth + 1
        self.module = module  # to name the modules it calls; dropped after the trace

    @property
    def title(self) -> str:
        """``fc1: Linear``, or just the class name for an outermost module."""
        return self.kind if self.parent is None else f"{self.name}: {self.kind}"

    def at_depth(self, depth: int) -> Scope | None:
        """This scope's ancestor (or itself) at `depth`, None if it is shallower."""
        scope = self
        while scope is not None and scope.depth > depth:
            scope = scope.parent
        return scope if scope is not None and scope.depth == depth else None

    def __repr__(self) -> str:
        return f"<Scope {self.title} (depth {self.depth})>"


class Capture:
    """What a capture produces: slots and nodes in topological order, inputs, outputs
    (filled by the tracer, or by the walk back from a tensor)."""

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.nodes: list[Node] = []
        self.inputs: list[Slot] = []
        self.outputs: list[Slot] = []
        self.input_tensors: list[Tensor] = []  # from_tensor: the tensors the inputs were
        self.single = True  # the function returned one tensor, not a tuple

    def new_slot(self, kind, shape, dtype, requires_grad, name=None, source=None) -> Slot:
        slot = Slot(kind, shape, dtype, requires_grad, name, source)
        self.slots.append(slot)
        return slot

    def add_node(self, op, cls, args, output, params, needs, refs=()) -> Node:
        node = Node(op, cls, args, output, params, needs, refs)
        output.node = node
        self.nodes.append(node)
        return node
