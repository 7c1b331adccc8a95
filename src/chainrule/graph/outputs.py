"""The tensors a replay hands back, and the gradients its backward starts from.

An output of a `Graph` that requires grad is the output of a `GraphOutput` gate, whose
inputs are the graph's inputs and parameters that require grad and whose backward is
the replayed backward: ``out.backward()`` then works as in eager mode, and so does more
eager code on top of the output.
"""

from __future__ import annotations

import numpy as np

from chainrule.gate import Gate
from chainrule.graph.program import Run
from chainrule.graph.records import INPUT, NODE
from chainrule.mode import STATE
from chainrule.tensor import Tensor


class GraphOutput(Gate):
    """out = output k of one forward of a Graph; its inputs are the graph's inputs and
    parameters that require grad.   Backward: the graph's replayed backward."""

    differentiable = False  # the replay runs on arrays: no create_graph through it

    def forward(self, *arrays, run, k):
        # In `saved`, so that a backward that frees this gate (the engine's, or the
        # graph's) lets go of the run: a loss kept after backward keeps nothing alive.
        self.save(run, k)
        return run.values[run.program.outputs[k].index]

    def backward(self, g):
        run, k = self.saved
        program = run.program
        grads = run.backward([(program.outputs[k].index, g)], retain_graph=True)
        dx = [grads[s.index] for s in program.inputs if s.requires_grad]
        dp = [grads[s.index] for s in program.parameter_slots if s.source.requires_grad]
        return (*dx, *dp)


def root_grads(run: Run, grad) -> list:
    """[(slot number, upstream gradient)] for the outputs that require grad, as the
    engine's `_root_grad` makes them."""
    outputs = run.program.outputs
    if len(outputs) == 1 or grad is None:
        grads = [grad] * len(outputs) if grad is None else [grad]
    else:
        grads = list(grad)
        if len(grads) != len(outputs):
            raise ValueError(
                f"Graph.backward: got {len(grads)} gradients for {len(outputs)} outputs"
            )
    roots = []
    for slot, g in zip(outputs, grads):
        if not slot.requires_grad:
            continue
        value = run.values[slot.index]
        if g is None:
            if value.size != 1:
                raise RuntimeError(
                    f"backward: the gradient can be implicit only for a scalar output; this "
                    f"output has shape {value.shape}, so pass grad= with that shape"
                )
            g = np.ones_like(value)
        else:
            g = g.data if isinstance(g, Tensor) else np.asarray(g, dtype=value.dtype)
            if g.shape != value.shape:
                raise ValueError(f"backward: grad has shape {g.shape}, the output {value.shape}")
        roots.append((slot.index, g))
    if not roots:
        raise RuntimeError(
            "backward: the output does not require grad (no input or parameter of the "
            "graph requires grad, or it ran under no_grad)"
        )
    return roots


def output_tensors(run: Run):
    """What a forward returns: the output, or a tuple of them. An output that requires
    grad is made by a `GraphOutput` gate, so that it backpropagates as in eager mode."""
    program = run.program
    differentiable = None
    results = []
    for k, slot in enumerate(program.outputs):
        if slot.kind == INPUT:
            results.append(run.inputs[slot.position])
        elif slot.kind != NODE:
            source = slot.source
            results.append(source if isinstance(source, Tensor) else Tensor(source))
        elif slot.requires_grad and STATE.grad_enabled:
            if differentiable is None:
                differentiable = [t for t in run.inputs if t.requires_grad]
                differentiable += [p for p in program.parameters if p.requires_grad]
            out = GraphOutput.apply(*differentiable, run=run, k=k)
            if out._gate is not None:
                run.output_gates.append(out._gate)
            results.append(out)
        else:
            results.append(Tensor._make(run.values[slot.index]))
    return results[0] if program.single else tuple(results)
