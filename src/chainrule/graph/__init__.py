"""Captured computational graphs: `Graph` (also `ComputationalGraph`).

``cr.Graph(f)`` traces `f` once and replays its gates forward and backward on arrays;
``cr.Graph.from_tensor(out)`` captures the graph behind a computed result. The modules:
`records` (slots, nodes, a capture), `traced` (the tensors a trace watches), `capture`
(tracing), `walk` (walking back from a tensor), `program` (replay), `lowering` and `codegen` (replay
as generated NumPy code), `outputs` (the `GraphOutput` gate of the outputs), `summary`
(the table), `graph` (the `Graph` class).
"""

from chainrule.graph.graph import ComputationalGraph, Graph
from chainrule.graph.outputs import GraphOutput
from chainrule.graph.records import Node, Slot

__all__ = ["ComputationalGraph", "Graph", "GraphOutput", "Node", "Slot"]
