"""micrograd: Karpathy's scalar engine, one Python object per number and per op.

It runs the per-op chain only, as 16 scalar chains (one per element) summed at the
end. micrograd has no tanh, so one is added here the way its own ops are written (an
output `Value` whose `_backward` closure applies tanh' = 1 - out^2): one node per op,
the same work. Its backward builds the topological order by recursion, one Python
frame per node along the chain, so the recursion limit is raised for the 1,000-op
chain.
"""

from __future__ import annotations

import math
import sys
from importlib.metadata import version as dist_version

import chain
import numpy as np
from micrograd.engine import Value


def version() -> str:
    return dist_version("micrograd")


def tanh(v: Value) -> Value:
    out = Value(math.tanh(v.data), (v,), "tanh")

    def _backward():
        v.grad += (1 - out.data**2) * out.grad

    out._backward = _backward
    return out


def make_chain(inputs: dict) -> callable:
    x, a, b = (inputs[k].tolist() for k in ("x", "a", "b"))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20 * chain.N_OPS))

    def step():
        xs = [Value(v) for v in x]
        ys = []
        for y, ai, bi in zip(xs, a, b):
            for _ in range(chain.REPEATS):
                y = tanh(y * ai + bi)
            ys.append(y)
        value = sum(ys)
        value.backward()
        return value.data, np.array([v.grad for v in xs])

    return step


MAKERS = {"chain": make_chain}
_SCALAR = "scalar-only: one Python object per multiply-add ({}), far past a benchmark's time"
SKIPPED = {
    "mlp": _SCALAR.format("34 million multiply-adds in an MLP step forward"),
    "cnn": _SCALAR.format("52 million multiply-adds in a CNN step forward"),
    "deep_chain": "its backward sorts the graph by recursion, one Python frame per node: "
    "100,000 nested calls is past what CPython's recursion limit can safely allow",
}
