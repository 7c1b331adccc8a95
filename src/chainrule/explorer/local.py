"""Each gate's backward, called on its own: what it sent each input, and its Jacobian.

The engine's backward keeps only the total gradient of each value. The explorer shows
more: what one gate sent each of its inputs (the parts that add up at a branch) and,
for small tensors, the Jacobian the gate stands for. Both come from calling the gate's
``backward`` again, exactly as the engine does (the same gate code on the same saved
values, the result brought to the input's dtype as the engine brings it), so that the
numbers are the engine's:

- the part sent to input i is ``backward(g)[i]`` with `g` the output's total gradient;
- the Jacobian ``d out / d input i`` (``m x n`` for m output and n input elements) has
  as row k ``backward(e_k)[i]``, with ``e_k`` the one-hot upstream gradient of output
  element k: a gate computes vector-Jacobian products, so m of them give the matrix.

The gates come from replaying the graph's last forward on its inputs (a `Graph` traced
from a function, or a `from_tensor` capture whose gates took no keyword arguments), or
are the ones the last forward used when it kept what they saved (``retain_graph``).
When neither is possible the explorer shows totals only.
"""

from __future__ import annotations

import numpy as np

from chainrule.engine import as_grad_tuple, conform_grad
from chainrule.graph.program import forward

#: A Jacobian is worked out when the output has at most this many elements...
MAX_JACOBIAN_ROWS = 64
#: ...and the matrix at most this many entries.
MAX_JACOBIAN_SIZE = 4096


class GateCalls:
    """The gates of a graph's last forward, ready to be called backward one at a time.

    Use it as a context manager: replayed gates are handed back to the graph at exit.

    >>> import chainrule as cr
    >>> graph = cr.Graph(lambda x, y: x * y)
    >>> _ = graph.forward(cr.tensor(3.0, requires_grad=True), cr.tensor(-4.0, requires_grad=True))
    >>> with GateCalls(graph) as calls:
    ...     print(calls.jacobian(graph.nodes[0], 0), calls.jacobian(graph.nodes[0], 1))
    [[-4.]] [[3.]]
    """

    def __init__(self, graph) -> None:
        program = graph._current()
        run = graph._last()
        n_leaves = len(program.slots) - len(program.nodes)
        self._replay = forward(program, [run.values[i] for i in range(n_leaves)], run.inputs)
        self.gates, self.values = self._replay.gates, self._replay.values

    def __enter__(self) -> GateCalls:
        return self

    def __exit__(self, *exc) -> None:
        if self._replay is not None:
            self._replay.free()
            self._replay = None

    def backward(self, node, g) -> tuple:
        """What `node`'s gate sends each input for the upstream gradient `g` (None where
        an input needs no gradient), each in its input's dtype, as the engine has it."""
        gate = self.gates[node.index]
        grads = as_grad_tuple(gate, gate.backward(g), len(node.inputs))
        return tuple(
            conform_grad(gate, pos, dx, self.values[slot.index])
            if need and dx is not None
            else None
            for pos, (dx, slot, need) in enumerate(zip(grads, node.inputs, node.needs_input_grad))
        )

    def jacobian(self, node, position: int) -> np.ndarray | None:
        """``d out / d input`` as an (m, n) matrix, or None when it is too big to show
        (see `MAX_JACOBIAN_ROWS`, `MAX_JACOBIAN_SIZE`) or the input needs no gradient."""
        m = int(np.prod(node.output.shape))
        n = int(np.prod(node.inputs[position].shape))
        if not node.needs_input_grad[position] or m > MAX_JACOBIAN_ROWS:
            return None
        if m * n > MAX_JACOBIAN_SIZE:
            return None
        out = self.values[node.output.index]
        rows = []
        for k in range(m):
            onehot = np.zeros(m, dtype=out.dtype)
            onehot[k] = 1
            row = self.backward(node, onehot.reshape(out.shape))[position]
            if row is None:
                return None
            rows.append(row.reshape(-1))
        return np.stack(rows)
