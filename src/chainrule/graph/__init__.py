"""Captured computational graphs: `Graph` (also `ComputationalGraph`).

``cr.Graph(f)`` traces `f` once and replays its gates forward and backward on arrays;
``cr.Graph.from_tensor(out)`` captures the graph behind a computed result. The modules:
`records` (slots, nodes, a capture), `traced` (the tensors a trace watches), `capture`
(tracing), `walk` (walking back from a tensor), `program` (replay, and the
`GraphOutput` gate of the outputs), `lowering` and `codegen` (replay as generated NumPy
code), `summary` (the table), `graph` (the `Graph` class).
"""

from chainrule.graph.graph import ComputationalGraph, Graph
from chainrule.graph.program import GraphOutput
from chainrule.graph.records import Node, Slot

__all__ = ["ComputationalGraph", "Graph", "GraphOutput", "Node", "Slot"]
