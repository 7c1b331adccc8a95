"""Compiling a captured graph into the steps replay runs, and what compiling knows.

`chainrule.graph.program` numbers a capture's slots; the functions here turn its nodes
into steps (one small tuple per node) and decide what a replay need not check again,
because it is known before any replay runs:

- which nodes the outputs depend on (`live_nodes`), and which inputs need a gradient;
- which values have the same shape on every replay (`fixed_shapes`: not ``x[x > 0]``);
- the shapes of the built-in gates' gradients (the suite checks every gate), and so the
  type of one for an input of fixed shape other than ``()``: an ndarray (only a NumPy
  scalar, which is 0-d, could be another; the suite checks this too), whose dtype alone
  is then checked;
- which slots are sent a single gradient (`gradient_counts`): it is stored, with no test
  for one already there;
- where an add gate would hand the upstream gradient on unchanged (`passes_gradient`):
  it is passed on without the call; and where that input is sent nothing else, and the
  gradient is sure to be an ndarray of its dtype already (the add's output is not 0-d,
  nor an output of the graph, whose gradient the caller gives), with no step at all:
  the gate that made the input reads its gradient where it is (its *source*), and the
  input's slot gets it once the backward is done.

Each of these saves a few percent of a replay on small tensors (benchmarks/chain.py).
"""

from __future__ import annotations

from collections import Counter
from types import FunctionType

from chainrule.graph.records import NODE, Capture

# How a backward step of a built-in gate with one input needing a gradient stores it:
STORE = None  # as the input's only gradient, known to be an ndarray: its dtype checked
ADD = False  # checked as the engine checks it, and added to what the slot has


def gate_function(cache: dict, cls, name: str):
    """``cls.<name>`` as a plain function of (gate, ...), to call without a bound method.

    >>> from chainrule.gates.arith import Add
    >>> gate_function({}, Add, "forward") is Add.__dict__["forward"]
    True
    """
    key = (cls, name)
    if key not in cache:
        cache[key] = _find_function(cls, name)
    return cache[key]


def _find_function(cls, name: str):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            method = klass.__dict__[name]
            if type(method) is FunctionType:  # not a staticmethod, classmethod or callable
                return method
            break
    return lambda gate, *args, **kwargs: getattr(gate, name)(*args, **kwargs)


def live_nodes(capture: Capture) -> tuple[list, set]:
    """The nodes the outputs depend on (a traced function may compute things it drops),
    and the ids of the slots they and the outputs use.

    >>> import chainrule as cr
    >>> from chainrule.graph.capture import trace
    >>> capture = trace(lambda x: (x * 2.0, cr.exp(x))[0], [cr.tensor([1.0])], ["x"])
    >>> [node.op for node in capture.nodes], [node.op for node in live_nodes(capture)[0]]
    (['Multiply', 'Exp'], ['Multiply'])
    """
    live = set(map(id, capture.outputs))
    kept = []
    for node in reversed(capture.nodes):
        if id(node.output) in live:
            kept.append(node)
            live.update(map(id, node.inputs))
            for _, _, slot in node.keyword_inputs:
                live.add(id(slot))
    kept.reverse()
    return kept, live


def fixed_shapes(nodes) -> set[int]:
    """The ids of the node outputs whose shape is the same on every replay.

    The inputs, parameters and constants have their traced shapes (the signature and
    `Program.start` see to it), and so has the output of a built-in gate whose inputs
    all do, unless it reads a value of the run through a keyword (an index mask: the
    shape of ``x[x > 0]`` depends on the values). A user's gate may do anything.

    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x: (x * 2.0)[x > 0].sum())
    >>> _ = graph.forward(cr.tensor([1.0, -1.0]))
    >>> [(node.op, id(node.output) in fixed_shapes(graph.nodes)) for node in graph.nodes]
    [('Multiply', True), ('greater', False), ('GetItem', False), ('Sum', False)]
    """
    fixed = set()
    for node in nodes:
        if (
            not node.gate.checked
            and not node.keyword_inputs
            and all(s.kind != NODE or id(s) in fixed for s in node.inputs)
        ):
            fixed.add(id(node.output))
    return fixed


def has_fixed_shape(slot, fixed: set[int]) -> bool:
    """Whether `slot` has its traced shape on every replay (`fixed` as `fixed_shapes`).

    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x: (x * 2.0)[x > 0].sum())
    >>> _ = graph.forward(cr.tensor([1.0, -1.0]))
    >>> fixed = fixed_shapes(graph.nodes)
    >>> [slot.label for slot in graph.slots if not has_fixed_shape(slot, fixed)]
    ['%1', '%2', '%3']
    """
    return slot.kind != NODE or id(slot) in fixed


def passes_gradient(node, pos: int, fixed: set[int]) -> bool:
    """Whether the node's backward would hand input `pos` the upstream gradient itself:
    the gate declares so (`Gate.passes_gradient`) when the input has the output's shape
    and dtype, and both shapes are fixed (`fixed` as `fixed_shapes`).

    >>> import chainrule as cr
    >>> b = cr.ones(3)
    >>> graph = cr.Graph(lambda x: (x + b).sum())
    >>> _ = graph.forward(cr.ones(3, requires_grad=True))
    >>> add = graph.nodes[0]
    >>> passes_gradient(add, 0, fixed_shapes(graph.nodes))
    True
    """
    x, out = node.inputs[pos], node.output
    return (
        pos < len(node.gate.passes_gradient)
        and node.gate.passes_gradient[pos]
        and id(out) in fixed
        and has_fixed_shape(x, fixed)
        and x.shape == out.shape
        and x.dtype == out.dtype
    )


def gradient_counts(nodes, outputs) -> Counter:
    """How many gradients each slot is sent in a backward, by slot id: one per time it
    is an output that requires grad (a root), one per argument of a gate that needs a
    gradient for it. A slot sent exactly one needs no sum: its gradient is stored.

    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x: (x * x).sum())
    >>> _ = graph.forward(cr.ones(2, requires_grad=True))
    >>> counts = gradient_counts(graph.nodes, graph.outputs)
    >>> [counts[id(slot)] for slot in graph.slots]  # x, x * x, the sum
    [2, 1, 1]
    """
    counts = Counter(id(slot) for slot in outputs if slot.requires_grad)
    for node in nodes:
        if node.output.requires_grad:
            for slot, need in zip(node.inputs, node.needs_input_grad):
                if need:
                    counts[id(slot)] += 1
    return counts


def forward_steps(nodes, gates: list, functions: dict) -> list:
    """Per node, in order: (its gate's forward, its gate, first argument slot, second, call).

    A built-in gate with one or two arguments and no keywords, whose output is not 0-d,
    always returns an ndarray: nothing to check. Its step has its gate in the program's
    own set (`gates`, see `chainrule.graph.gateset`), its argument slots (second -1 for
    one) and call None. Every other node goes the general way: gate None, first its
    number, second -2, call (argument slots, keyword arguments, keyword inputs or None).
    One small tuple per node, read in order: a replay that runs after other work finds
    little of the program in the CPU caches, so what it reads should be compact.

    >>> import chainrule as cr
    >>> from chainrule.graph.gateset import GateSet
    >>> a, b = cr.ones(3), cr.zeros(3)
    >>> graph = cr.Graph(lambda x: cr.tanh(x * a + b).sum())
    >>> _ = graph.forward(cr.ones(3, requires_grad=True))
    >>> steps = forward_steps(graph.nodes, GateSet(graph.nodes).gates, {})
    >>> [(step[2], step[3]) for step in steps]  # slots x, a, b, then %0 to %3
    [(0, 1), (3, 2), (4, -1), (3, -2)]
    """
    steps = []
    for node, gate in zip(nodes, gates):
        args = tuple([s.index for s in node.inputs])
        refs = None
        if node.keyword_inputs:
            refs = tuple((key, i, slot.index) for key, i, slot in node.keyword_inputs)
        forward = gate_function(functions, node.gate, "forward")
        if refs or node.params or len(args) not in (1, 2) or node.gate.checked or not node.shape:
            steps.append((forward, None, node.index, -2, (args, node.params or {}, refs)))
        else:
            second = args[1] if len(args) == 2 else -1
            steps.append((forward, gate, args[0], second, None))
    return steps


def backward_steps(nodes, outputs, functions: dict) -> tuple[list, list, list]:
    """The backward steps of `nodes`, latest first: (every step, the steps of a backward
    outside anomaly mode, sources).

    A step is (node number, its gate's backward, the slot its gradient is read from,
    then, for a built-in gate with one input that needs a gradient, that input's
    position, slot and dtype, and how its gradient is stored: `STORE` or `ADD`; the
    backward is None where the gate would pass the gradient on). A gate with several
    such inputs, or a user's, has -1, -1, None and (number of inputs, checked, routes).
    Anomaly mode runs every step as the engine would (`ADD`), each gradient a gate
    returns checked; otherwise a passed gradient whose input is sent nothing else has no
    step, and sources lists the (slot, source slot) to fill in after the backward.

    >>> import chainrule as cr
    >>> a, b = cr.ones(3), cr.zeros(3)
    >>> graph = cr.Graph(lambda x: cr.tanh(x * a + b).sum())
    >>> _ = graph.forward(cr.ones(3, requires_grad=True))
    >>> every, fast, sources = backward_steps(graph.nodes, graph.outputs, {})
    >>> [graph.nodes[step[0]].op for step in every], [graph.nodes[step[0]].op for step in fast]
    (['Sum', 'Tanh', 'Add', 'Multiply'], ['Sum', 'Tanh', 'Multiply'])
    >>> [graph.slots[i].label for pair in sources for i in pair]  # x * a gets the sum's
    ['%0', '%1']
    """
    fixed = fixed_shapes(nodes)
    counts = gradient_counts(nodes, outputs)
    roots = set(map(id, outputs))
    every, fast, sources = [], [], []
    source: dict[int, int] = {}  # slot number: where its gradient is read (passed on)
    for node in reversed(nodes):
        if not node.output.requires_grad:
            continue
        routes = tuple(
            (pos, slot.index, slot.dtype)
            for pos, (slot, need) in enumerate(zip(node.inputs, node.needs_input_grad))
            if need
        )
        backward = gate_function(functions, node.gate, "backward")
        out = node.output.index
        read = source.get(out, out)
        if len(routes) != 1 or node.gate.checked:
            general = (len(node.inputs), node.gate.checked, routes)
            every.append((node.index, backward, out, -1, -1, None, general))
            fast.append((node.index, backward, read, -1, -1, None, general))
            continue
        pos, slot, dtype = routes[0]
        x = node.inputs[pos]
        sole = counts[id(x)] == 1
        if passes_gradient(node, pos, fixed):
            every.append((node.index, None, out, pos, slot, dtype, ADD))
            # The gradient at `read` is an ndarray of x's dtype (it comes from steps that
            # check it, and sums of such arrays are arrays unless 0-d): as passing it on.
            if sole and node.shape and id(node.output) not in roots:
                source[slot] = read
                sources.append((slot, read))
            else:
                fast.append((node.index, None, read, pos, slot, dtype, ADD))
            continue
        every.append((node.index, backward, out, pos, slot, dtype, ADD))
        store = sole and x.shape and has_fixed_shape(x, fixed)
        fast.append((node.index, backward, read, pos, slot, dtype, STORE if store else ADD))
    return every, fast, sources
