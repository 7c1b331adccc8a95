"""What each gate sent each of its inputs in a graph's last backward.

A slot's gradient (``graph.grad(slot)``) is the sum over the gates that read it; the
lecture's pictures show the parts too ("gradients add at branches"). The backward does
not keep them, so they are recomputed here: the gates are replayed forward on the last
run's inputs, parameters and constants (fresh gates, with what they save), and each
gate's ``backward`` is called once on its output's total gradient. The results are the
very terms the engine added, so they sum to the slot gradients.
"""

from __future__ import annotations

import numpy as np

from chainrule.engine import as_grad_tuple, conform_grad
from chainrule.graph.program import forward


def edge_gradients(graph) -> dict[tuple[int, int], np.ndarray] | None:
    """``{(node index, input position): gradient}`` of the last backward, or None when
    no backward has run."""
    program = graph._current()
    run = graph._last()
    if run.grads is None:
        return None
    n_leaves = len(program.slots) - len(program.nodes)
    replay = forward(program, [run.values[i] for i in range(n_leaves)], run.inputs)
    found = {}
    for node in program.nodes:
        g = run.grads[node.output.index]
        if g is None or not node.output.requires_grad:
            continue
        gate = replay.gates[node.index]
        grads = as_grad_tuple(gate, gate.backward(g), len(node.inputs))
        for pos, (slot, need) in enumerate(zip(node.inputs, node.needs_input_grad)):
            if need and grads[pos] is not None:
                found[node.index, pos] = conform_grad(
                    gate, pos, grads[pos], replay.values[slot.index]
                )
    return found
