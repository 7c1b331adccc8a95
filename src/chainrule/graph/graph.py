"""Graph: a captured computational graph, replayed forward and backward.

The lecture's "modularized implementation": a graph object whose ``forward()`` runs its
gates in topological order and whose ``backward()`` runs them in reverse and returns the
gradients of the inputs.
"""

from __future__ import annotations

import numpy as np

from chainrule import gate as gate_module
from chainrule.errors import TraceError
from chainrule.graph.outputs import output_tensors, root_grads
from chainrule.graph.program import Program, Run, forward, forward_compiled
from chainrule.graph.records import Node, Slot
from chainrule.mode import STATE
from chainrule.tensor import Tensor


class Graph:
    """A function of tensors captured once as a graph of gates, then replayed.

    The first ``forward(*inputs)`` runs `f` once, eagerly, and records every gate it
    applies (a *trace*). Later calls replay those gates on arrays: no Tensor objects are
    built and no Python code of `f` runs, which makes a step cheaper than eager mode,
    with bitwise the same values and gradients. ``backward()`` runs the gates' backward
    in reverse topological order and returns one gradient per input; the gradients of
    the parameters (leaf tensors that require grad and that `f` closes over, such as a
    module's) are added into their ``.grad``, exactly as ``loss.backward()`` would.

    Parameters
    ----------
    f : callable
        Takes tensors (positionally) and returns a Tensor or a tuple of Tensors.
    retrace : bool
        What a call with inputs of another signature (shape, dtype, requires_grad, or
        grad mode) does: trace `f` again for it (True, the default; up to `max_traces`
        graphs are kept, as ``jax.jit`` keeps one per signature) or raise `TraceError`.
    max_traces : int
        How many signatures are kept; the oldest is dropped beyond that.
    compile : bool
        Replay a graph whose gates all have a lowering rule (`chainrule.graph.lowering`:
        arithmetic, elementwise, activations, sum, mean, reshape, transpose, linear and
        matmul on matrices) as straight-line NumPy code, generated once
        per signature (True, the default), or always through the gates (False). Both give
        bitwise the same values and gradients; the code is faster on small tensors and is
        shown by `source`. Anomaly mode always runs the gates, which it checks one by one.

    Notes
    -----
    Replay runs what the trace recorded, so whatever `f` decided in Python from tensor
    values is frozen. The trace refuses such cases rather than replay them wrongly (see
    `chainrule.graph.capture`): a tensor turned into a Python value (``.item()``,
    ``if x > 0:``), a value read as an array and computed on with NumPy, random draws
    (dropout in training mode). Comparisons (``x > 0``) are recorded and recomputed.
    Parameters and tensor constants are read again at every call (an optimizer's
    in-place updates are seen); arrays and numbers `f` closes over are captured by
    reference (rebinding the variable later is not seen). Side effects of `f` (prints,
    appends, running statistics) happen only when it is traced.

    Examples
    --------
    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x, y, z: (x + y) * z)
    >>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> graph.forward(x, y, z)
    Tensor(-12., dtype=float32, gate=GraphOutput)
    >>> [g.item() for g in graph.backward()]
    [-4.0, -4.0, 3.0]
    >>> [node.op for node in graph.nodes]
    ['Add', 'Multiply']
    """

    def __init__(
        self, f, *, retrace: bool = True, max_traces: int = 8, compile: bool = True
    ) -> None:
        if not callable(f):
            raise TypeError(f"Graph: expected a function, got {type(f).__name__}")
        if max_traces < 1:
            raise ValueError(f"Graph: max_traces must be at least 1, got {max_traces}")
        self._f = f
        self._retrace = retrace
        self._max_traces = max_traces
        self._compile = compile
        self._programs: dict[tuple, Program] = {}
        self._program: Program | None = None
        self._run: Run | None = None
        #: How many times `f` was traced (once per new signature).
        self.trace_count = 0

    @classmethod
    def from_tensor(cls, outputs, inputs=None) -> Graph:
        """The graph behind an already computed result (a Tensor or a tuple of them).

        It is walked back from the gates the eager engine recorded, so it must still be
        intact: capture it before ``backward()`` (or after ``backward(retain_graph=True)``).
        The inputs are `inputs` (tensors, in that order; the walk stops there, so they may
        be intermediate results), or by default the leaves that require grad and are not
        ``nn.Parameter`` objects, in order of first use; the parameters are the
        ``nn.Parameter`` objects (all the leaves that require grad and are not inputs,
        when `inputs` is given). Constants are the tensors that do not require grad.

        ``backward()`` then works at once (on what the eager gates saved), and
        ``forward`` replays the gates on new inputs of the same signature (each recorded
        gate kept the keyword arguments of its forward).

        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
        >>> graph = cr.Graph.from_tensor((x * x).sum())
        >>> [node.op for node in graph.nodes], graph.backward()[0]
        (['Multiply', 'Sum'], Tensor([2., 4.], dtype=float32))
        """
        single = isinstance(outputs, Tensor)
        outs = [outputs] if single else list(outputs)
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not any(isinstance(o, Tensor) and o._gate is not None for o in outs):
            raise RuntimeError(
                "Graph.from_tensor: no gate made this tensor (a leaf, or computed from "
                "tensors that do not require grad, or under no_grad), so there is no graph "
                "to capture; use cr.Graph(f) to capture a function"
            )
        from chainrule.graph.walk import walk  # kept off the import path, as tracing

        capture, gates, values = walk(outs, inputs)
        capture.single = single
        program = Program(capture)
        graph = cls.__new__(cls)
        graph._f = None
        graph._retrace = False
        graph._max_traces = 1
        graph._compile = True
        key = tuple((s.shape, s.dtype, s.requires_grad) for s in program.inputs)
        graph._programs = {key: program}
        graph._program = program
        graph.trace_count = 0
        run_values = [values.get(id(slot)) for slot in program.slots]
        graph._run = Run(program, run_values, gates, tuple(capture.input_tensors))
        return graph

    # ----- forward and backward -----

    def forward(self, *inputs):
        """Run the graph on `inputs` (tensors; arrays and numbers become tensors that do
        not require grad). Returns its output, or a tuple of outputs.

        The outputs that require grad are tensors whose gate is the whole graph (a
        `GraphOutput`): ``out.backward()`` works as in eager mode (it also fills the
        ``.grad`` of inputs that are leaves), and so does using them in more eager code.
        """
        if gate_module.TRACE is not None:
            # Called inside a function another Graph traces: let that trace see the gates.
            if self._f is None:
                raise TraceError("Graph: a graph from from_tensor cannot be traced again")
            return self._f(*inputs)
        tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
        arrays = [t.data for t in tensors]
        key = (STATE.grad_enabled, STATE.default_dtype) if self._f is not None else ()
        key += tuple((a.shape, a.dtype, t.requires_grad) for a, t in zip(arrays, tensors))
        program = self._programs.get(key)
        values = program.start(arrays) if program is not None else None
        if values is None:
            program = self._trace(key, tensors)
            values = program.start(arrays)
        code = None
        if self._compile and not STATE.anomaly:
            code = program.compiled(_name(self._f))
        if code is None:
            run = forward(program, values, tuple(tensors))
        else:
            run = forward_compiled(program, code, values, tuple(tensors))
        self._program, self._run = program, run
        return output_tensors(run)

    __call__ = forward

    def backward(self, grad=None, retain_graph: bool = False) -> tuple:
        """Backpropagate from the outputs of the last forward; one gradient per input.

        Parameters
        ----------
        grad : array, Tensor or number, or a sequence of them (one per output)
            The upstream gradient of the output; may be left out for a scalar output
            (it is then 1), as in ``Tensor.backward``.
        retain_graph : bool
            Keep what the gates saved, so that backward can run again on this forward.

        Returns
        -------
        tuple
            A Tensor per input of `forward`, or None for an input that does not require
            grad or that the outputs do not depend on. The inputs' ``.grad`` are left as
            they are; the parameters' ``.grad`` get their gradients added (as
            ``loss.backward()`` does), each in an array of its own.
        """
        run = self._run
        if run is None:
            raise RuntimeError("Graph.backward: call forward first")
        program = run.program
        roots = root_grads(run, grad)
        grads = run.backward(roots, retain_graph)
        seen = {id(g) for _, g in roots}  # never hand out an array the caller holds
        results = []
        for slot in program.inputs:
            g = grads[slot.index]
            if g is None or not slot.requires_grad:
                results.append(None)
                continue
            if type(g) is not np.ndarray:
                g = np.asarray(g)
            if g.base is not None or not g.flags.writeable or id(g) in seen:
                g = g.copy()
            seen.add(id(g))
            results.append(Tensor._make(g))
        run.accumulate(grads, seen)
        return tuple(results)

    # ----- what was captured -----

    def _current(self) -> Program:
        if self._program is None:
            raise RuntimeError("Graph: not traced yet; call forward(*inputs) first")
        return self._program

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The gates, in topological order (of the signature of the last forward)."""
        return self._current().nodes

    @property
    def slots(self) -> tuple[Slot, ...]:
        """Every value of the graph: inputs, parameters, constants, then node outputs."""
        return self._current().slots

    @property
    def inputs(self) -> tuple[Slot, ...]:
        """The slots of the inputs, in argument order."""
        return self._current().inputs

    @property
    def outputs(self) -> tuple[Slot, ...]:
        """The slots of the outputs."""
        return self._current().outputs

    @property
    def parameters(self) -> tuple[Tensor, ...]:
        """The parameter tensors (leaves that require grad, closed over), in order of use."""
        return self._current().parameters

    def value(self, slot: Slot | int) -> np.ndarray:
        """The value a slot had in the last forward."""
        return self._last().values[_index(slot)]

    def grad(self, slot: Slot | int) -> np.ndarray | None:
        """The gradient a slot got in the last backward (None if none reached it)."""
        grads = self._last().grads
        return None if grads is None else grads[_index(slot)]

    def _last(self) -> Run:
        if self._run is None:
            raise RuntimeError("Graph: call forward first")
        return self._run

    @property
    def source(self) -> str:
        """The Python code a replay runs (of the signature of the last forward): the
        forward, one NumPy expression per node, then the backward from the outputs that
        require grad, one per gradient, the chain rule written out.

        Raises RuntimeError for a graph with a gate that has no lowering rule: such a graph
        is replayed by calling its gates (see ``compile``).

        >>> import chainrule as cr
        >>> graph = cr.Graph(lambda x, y: (x * y).sum())
        >>> _ = graph.forward(cr.ones(2, requires_grad=True), cr.ones(2, requires_grad=True))
        >>> print(graph.source)  # the mul gate switches its inputs
        def forward(values):
            (x, y) = values
            t0 = x * y
            t1 = asarray(np.sum(t0, axis=(0,), keepdims=False))
            values += (t0, t1)
        <BLANKLINE>
        <BLANKLINE>
        def backward(values, grads):
            (x, y, _, _) = values
            dt1 = grads[3]
            dt0 = np.broadcast_to(dt1.reshape((1,)), (2,))
            dx = dt0 * y
            dy = dt0 * x
            return [dx, dy, dt0, dt1]
        <BLANKLINE>
        """
        program = self._current()
        code = program.compiled(_name(self._f))
        if code is None:
            from chainrule.graph.codegen import unlowered_ops

            ops = ", ".join(unlowered_ops(program))
            raise RuntimeError(
                "Graph.source: these ops have no lowering rule, so this graph is replayed "
                f"by calling its gates and has no code of its own: {ops}"
            )
        return code.source(tuple(sorted({s.index for s in program.outputs if s.requires_grad})))

    def summary(self) -> str:
        """A table of the nodes: op, inputs, output shape and dtype, parameters, FLOPs.

        >>> import chainrule as cr
        >>> w = cr.nn.Parameter(cr.ones(4, 3))
        >>> graph = cr.Graph(lambda x: cr.relu(x @ w.T).sum())
        >>> _ = graph.forward(cr.ones(2, 3))
        >>> print(graph.summary())  # doctest: +NORMALIZE_WHITESPACE
        Graph of <lambda>: 4 nodes
        inputs:  x (2, 3) float32
        <BLANKLINE>
        node  op         inputs  shape   dtype    params  FLOPs
        ----  ---------  ------  ------  -------  ------  -----
        %0    Transpose  param0  (3, 4)  float32      12
        %1    MatMul     x, %0   (2, 4)  float32             48
        %2    ReLU       %1      (2, 4)  float32
        %3    Sum        %2      ()      float32
        <BLANKLINE>
        outputs: %3 () float32, requires grad
        parameters: 1 tensors, 12 elements
        FLOPs (matmul, linear and convolutions, a multiply-add = 2): 48
        """
        from chainrule.graph.summary import summary

        return summary(self._current(), _name(self._f))

    def to_dot(self, **options) -> str:
        """The graph as Graphviz DOT text, drawn the lecture's way, with the values of the
        last forward and the gradients of the last backward (options: see `cr.draw`)."""
        from chainrule.graph.dot import DotWriter

        return DotWriter(self, **options).text

    def __repr__(self) -> str:
        name = _name(self._f)
        if self._program is None:
            return f"<Graph of {name}: not traced yet>"
        p = self._program
        return (
            f"<Graph of {name}: {len(p.nodes)} nodes, {len(p.inputs)} inputs, "
            f"{len(p.parameters)} parameters>"
        )

    # ----- internals -----

    def _trace(self, key: tuple, tensors: list[Tensor]) -> Program:
        if self._f is None:
            raise TraceError(
                "Graph.forward: this graph was captured (from_tensor) for inputs "
                f"{_describe(self._program.inputs)}, and cannot be retraced for others: "
                f"got {_describe_tensors(tensors)}"
            )
        if self._programs and not self._retrace:
            old = next(iter(self._programs.values()))
            raise TraceError(
                f"Graph.forward: traced for inputs {_describe(old.inputs)}, got "
                f"{_describe_tensors(tensors)} (or a parameter or grad mode changed); "
                "pass retrace=True to trace again for each new signature"
            )
        # loaded on the first trace, not on import
        from chainrule.graph.capture import argument_names, trace

        capture = trace(self._f, tensors, argument_names(self._f, len(tensors)))
        program = Program(capture)
        self.trace_count += 1
        self._programs.pop(key, None)
        self._programs[key] = program
        while len(self._programs) > self._max_traces:
            self._programs.pop(next(iter(self._programs)))
        return program


#: The lecture's name for it.
ComputationalGraph = Graph


def _index(slot) -> int:
    return slot.index if isinstance(slot, Slot) else int(slot)


def _name(f) -> str:
    if f is None:
        return "a tensor"
    return getattr(f, "__name__", None) or type(f).__name__


def _describe(slots) -> str:
    return "(" + ", ".join(f"{s.shape} {s.dtype}" for s in slots) + ")"


def _describe_tensors(tensors) -> str:
    return "(" + ", ".join(f"{t.shape} {t.dtype}" for t in tensors) + ")"
