"""The backprop explorer for the graphs of CS231n lecture 4: one page per graph.

Run it from the repository root (the layout needs the draw extra: ``pip install '.[draw]'``)::

    python examples/explore_lecture.py            # writes explorer/*.html
    python examples/explore_lecture.py pages --large

Open a page in a browser and press -> to step: forward one gate at a time (values in
green), then backward in reverse order (gradients in red, bold), with each gate's
``upstream x local = downstream`` in numbers in the side panel.
"""

import argparse
import os

import lecture_pictures

import chainrule as cr
from chainrule.explorer.command import model_graph
from chainrule.expression import parse


def relu_layer():
    """A vectorized graph small enough to show its Jacobians: sum(relu(W @ x))."""
    return parse("sum(relu(W @ x))").graph({"W": [[1, -2], [3, 4], [0.5, -1]], "x": [1, 2]})


PAGES = {
    "add_mul": (lecture_pictures.add_mul, "f(x, y, z) = (x + y) z"),
    "sigmoid_primitive": (
        lecture_pictures.sigmoid_neuron_primitive,
        "f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))",
    ),
    "sigmoid_gate": (lecture_pictures.sigmoid_neuron_gate, "the same neuron with a sigmoid gate"),
    "gate_patterns": (lecture_pictures.gate_patterns, "add distributes, max routes, mul switches"),
    "branch": (lecture_pictures.branch, "f = x y + exp(x): gradients add at a branch"),
    "relu_layer": (relu_layer, "sum(relu(W x)): a vectorized gate and its Jacobian"),
    "mlp": (model_graph, "f = W2 max(0, W1 x) on 4 digits, with its loss"),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default="explorer")
    parser.add_argument("--large", action="store_true", help="large fonts, for a projector")
    args = parser.parse_args(argv)
    os.makedirs(args.directory, exist_ok=True)
    for name, (make, title) in PAGES.items():
        graph = make("mlp") if make is model_graph else make()
        path = cr.explore(graph, os.path.join(args.directory, f"{name}.html"), title=title,
                          large=args.large)  # fmt: skip
        print(f"{path}: {len(graph.nodes)} gates, {os.path.getsize(path) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
