"""The graphs of the explorer's tests: the lecture's, a small vectorized one, a wide one."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import chainrule as cr

ROOT = Path(__file__).resolve().parents[2]


def _lecture():
    """examples/lecture_pictures.py, the lecture's graphs."""
    spec = importlib.util.spec_from_file_location(
        "lecture_pictures", ROOT / "examples" / "lecture_pictures.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


lecture = _lecture()


def wide_graph(chains: int = 37, depth: int = 6) -> cr.Graph:
    """About 500 gates (chains x (2 depth + 1) + chains - 1): short chains of tanh and
    constants, summed pairwise, shallow enough for Graphviz's WebAssembly stack."""

    def f(x):
        terms = []
        for k in range(chains):
            h = x * (0.1 * k + 0.1)
            for _ in range(depth):
                h = cr.tanh(h) * 0.9
            terms.append(h)
        while len(terms) > 1:
            pairs = [a + b for a, b in zip(terms[::2], terms[1::2])]
            terms = pairs + terms[len(pairs) * 2 :]
        return terms[0]

    graph = cr.Graph(f)
    graph.forward(cr.tensor(0.3, dtype="float64", requires_grad=True, name="x"))
    graph.backward()
    return graph


def relu_graph() -> cr.Graph:
    """A small vectorized graph: sum(relu(W @ x)), float64."""
    from chainrule.expression import parse

    graph = parse("sum(relu(W @ x))").graph({"W": [[1, -2], [3, 4], [0.5, -1]], "x": [1, 2]})
    graph.backward()
    return graph
