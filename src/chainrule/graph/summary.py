"""`Graph.summary()`: a table of the nodes, their shapes, parameters and FLOPs."""

from __future__ import annotations

import math

from chainrule.graph.program import Program
from chainrule.graph.records import PARAMETER, Node

_MAX_INPUTS = 36  # characters of the inputs column before it is cut


def _matmul_flops(node: Node) -> int:
    # (..., n, k) @ (..., k, m): k multiply-adds per output element (k = x's last dim).
    k = node.inputs[0].shape[-1]
    return 2 * k * math.prod(node.shape)


def _linear_flops(node: Node) -> int:
    # x (..., in) @ w.T: `in` multiply-adds per output element, plus the bias add.
    k = node.inputs[0].shape[-1]
    bias = math.prod(node.shape) if len(node.inputs) == 3 else 0
    return 2 * k * math.prod(node.shape) + bias


def _conv_flops(node: Node) -> int:
    # w (C_out, C_in/groups, kh, kw): that many multiply-adds per output element.
    k = math.prod(node.inputs[1].shape[1:])
    return 2 * k * math.prod(node.shape)


def _conv_transpose_flops(node: Node) -> int:
    # Every input element is spread over C_out/groups * kh * kw outputs: w (C_in, that).
    return 2 * math.prod(node.inputs[0].shape) * math.prod(node.inputs[1].shape[1:])


#: FLOP estimates per op: a multiply-add counts 2. Elementwise ops are not counted
#: (they are memory-bound, and small next to the products).
FLOPS = {
    "MatMul": _matmul_flops, "Linear": _linear_flops, "Conv2d": _conv_flops,
    "ConvTranspose2d": _conv_transpose_flops,
}  # fmt: skip


def flops(node: Node) -> int | None:
    """The estimated floating-point operations of one node, or None if not estimated."""
    estimate = FLOPS.get(node.op)
    return None if estimate is None else estimate(node)


def summary(program: Program, name: str) -> str:
    """The table `Graph.summary()` returns."""
    headers = ("node", "op", "inputs", "shape", "dtype", "params", "FLOPs")
    rows = []
    counted: set[int] = set()
    total_flops = 0
    for node in program.nodes:
        new = [s for s in node.inputs if s.kind == PARAMETER and id(s) not in counted]
        counted.update(id(s) for s in new)
        n_params = sum(math.prod(s.shape) for s in new)
        estimate = flops(node)
        total_flops += estimate or 0
        inputs = ", ".join(node.argument_labels)
        if len(inputs) > _MAX_INPUTS:
            inputs = inputs[: _MAX_INPUTS - 3] + "..."
        rows.append(
            (f"%{node.index}", node.op, inputs, str(node.shape), str(node.dtype),
             f"{n_params:,}" if n_params else "", f"{estimate:,}" if estimate else "")
        )  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]  # fmt: skip
    right = {5, 6}  # numbers are right-aligned

    def line(cells) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    def describe(slot) -> str:
        grad = ", requires grad" if slot.requires_grad else ""
        return f"{slot.label} {slot.shape} {slot.dtype}{grad}"

    n_elements = sum(math.prod(s.shape) for s in program.parameter_slots)
    out = [
        f"Graph of {name}: {len(program.nodes)} nodes",
        "inputs:  " + ("; ".join(describe(s) for s in program.inputs) or "none"),
        "",
        line(headers),
        "  ".join("-" * w for w in widths),
        *(line(r) for r in rows),
        "",
        "outputs: " + "; ".join(describe(s) for s in program.outputs),
        f"parameters: {len(program.parameter_slots)} tensors, {n_elements:,} elements",
        f"FLOPs (matmul, linear and convolutions, a multiply-add = 2): {total_flops:,}",
    ]
    return "\n".join(out)
