"""How long Graphviz (the draw extra's WebAssembly build) takes to lay out a drawing.

This is what sets `chainrule.graph.render.MAX_NODES`: layout time grows much faster
than the number of nodes once edges carry labels and cross. The graphs are chains of
blocks in which every value feeds the next two gates (branches everywhere, as in a
network), drawn with values and gradients; the time is `cr.draw` to SVG, DOT writing
included.

    python benchmarks/draw_layout.py             # 100 to 1,000 gates
    python benchmarks/draw_layout.py --sizes 100 3000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import chainrule as cr


def branching_graph(n_gates: int) -> cr.Graph:
    """`n_gates` gates; each value is used by the next two (a branch at every step)."""

    def f(x):
        previous, current = x, x * 0.5
        for _ in range((n_gates - 2) // 2):  # two gates a step
            previous, current = current, (current + previous).tanh()
        return current.sum()

    graph = cr.Graph(f)
    graph.forward(cr.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x"))
    graph.backward()
    return graph


def layout_seconds(n_gates: int, repeats: int) -> tuple[int, float]:
    graph = branching_graph(n_gates)
    times = []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "graph.svg")
        for _ in range(repeats):
            start = time.perf_counter()
            cr.draw(graph, path, max_nodes=None)
            times.append(time.perf_counter() - start)
    return len(graph.nodes), statistics.median(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 600, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:  # the first layout compiles the WebAssembly
        cr.draw(branching_graph(3), os.path.join(folder, "warmup.svg"))
    print(f"{'gates':>8}  {'layout (s)':>10}   (median of {args.repeats} runs)")
    for size in args.sizes:
        try:
            n, seconds = layout_seconds(size, args.repeats)
        except cr.DrawError as error:
            print(f"{size:8,d}  failed: {error}", flush=True)
            continue
        print(f"{n:8,d}  {seconds:10.2f}", flush=True)


if __name__ == "__main__":
    main()
