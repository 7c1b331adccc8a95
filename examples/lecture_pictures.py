"""The pictures of CS231n lecture 4, drawn by chainrule from the graphs it computes.

Run it from the repository root (SVG needs the draw extra: ``pip install '.[draw]'``)::

    python examples/lecture_pictures.py            # writes docs/images/*.svg
    python examples/lecture_pictures.py out --format png

Each picture is a graph captured with `cr.Graph`, run forward and backward, and drawn
with `cr.draw`: forward values in green above each edge, gradients in red below.
"""

import argparse
import os

import numpy as np

import chainrule as cr


def scalars(**values: float) -> list[cr.Tensor]:
    """One named float64 scalar per keyword, each a leaf that requires grad."""
    return [cr.tensor(v, dtype="float64", requires_grad=True, name=k) for k, v in values.items()]


def run(f, *inputs) -> cr.Graph:
    graph = cr.Graph(f)
    graph.forward(*inputs)
    graph.backward()
    return graph


def add_mul():
    """The first example: f(x, y, z) = (x + y) z at x = -2, y = 5, z = -4."""
    return run(lambda x, y, z: (x + y) * z, *scalars(x=-2.0, y=5.0, z=-4.0))


def sigmoid_neuron_primitive():
    """f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2))) with the slides' primitive gates."""

    def f(w0, x0, w1, x1, w2):
        return 1.0 / (((w0 * x0 + w1 * x1 + w2) * -1.0).exp() + 1.0)

    return run(f, *scalars(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0))


def sigmoid_neuron_gate():
    """The same neuron with the sigmoid as one compound gate: same gradients."""
    f = lambda w0, x0, w1, x1, w2: cr.sigmoid(w0 * x0 + w1 * x1 + w2)  # noqa: E731
    return run(f, *scalars(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0))


def gate_patterns():
    """The patterns slide: the add gate distributes, max routes, mul switches."""
    f = lambda x, y, z, w: (x * y + cr.maximum(z, w)) * 2.0  # noqa: E731
    return run(f, *scalars(x=3.0, y=-4.0, z=2.0, w=-1.0))


def branch():
    """A value used twice: the gradients of its two uses add up."""
    f = lambda x, y: x * y + cr.exp(x)  # noqa: E731
    return run(f, *scalars(x=1.0, y=-2.0))


class TwoLayerNet(cr.nn.Module):
    """f = W2 max(0, W1 x), as the lecture writes it."""

    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.fc1 = cr.nn.Linear(n_in, n_hidden)
        self.relu = cr.nn.ReLU()
        self.fc2 = cr.nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def two_layer_net():
    """The 2-layer net on a batch of 32 digits with its loss, one box per module."""
    cr.seed(0)
    images, labels, _, _ = cr.data.digits_split()
    model = TwoLayerNet(64, 100, 10)
    loss_fn = cr.nn.CrossEntropyLoss()
    return run(lambda x, y: loss_fn(model(x), y), cr.tensor(images[:32]), cr.tensor(labels[:32]))


PICTURES = {
    "add_mul": (add_mul, {"title": "f(x, y, z) = (x + y) z"}),
    "sigmoid_primitive": (
        sigmoid_neuron_primitive, {"title": "f(w, x) = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))"},
    ),
    "sigmoid_gate": (sigmoid_neuron_gate, {"title": "the same neuron with a sigmoid gate"}),
    "gate_patterns": (
        gate_patterns, {"title": "add distributes, max routes, mul switches"},
    ),
    "branch": (branch, {"title": "f = x y + exp(x): gradients add at a branch"}),
    "two_layer_net": (
        two_layer_net, {"title": "f = W2 max(0, W1 x), a box per module", "collapse": True},
    ),
}  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=os.path.join("docs", "images"))
    parser.add_argument("--format", choices=("svg", "png", "dot"), default="svg")
    args = parser.parse_args(argv)
    os.makedirs(args.directory, exist_ok=True)
    for name, (make, options) in PICTURES.items():
        graph = make()
        path = os.path.join(args.directory, f"{name}.{args.format}")
        cr.draw(graph, path, **options)
        grads = [g for g in (graph.grad(s) for s in graph.inputs) if g is not None]
        summary = ", ".join(f"{np.asarray(g).item():.2f}" for g in grads if np.size(g) == 1)
        grads = f"; input gradients {summary}" if summary else ""
        print(f"{path}: {len(graph.nodes)} gates{grads}")


if __name__ == "__main__":
    main()
