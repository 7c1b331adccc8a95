"""Graph.summary(): the table of nodes, parameters and FLOPs; node and slot records."""

import numpy as np

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.graph.summary import flops


def mlp_graph():
    cr.seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    dict(model.named_parameters())  # names the parameters: 0.weight, ...

    def loss(x, y):
        return F.cross_entropy(model(x), y)

    graph = cr.Graph(loss)
    graph.forward(cr.randn(5, 4), cr.tensor([0, 1, 2, 0, 1]))
    return graph


def test_graph_summary_of_an_mlp():
    text = mlp_graph().summary()
    lines = text.splitlines()
    assert lines[0] == "Graph of loss: 4 nodes"
    assert lines[1] == "inputs:  x (5, 4) float32; y (5,) int64"
    header = lines[3].split()
    assert header == ["node", "op", "inputs", "shape", "dtype", "params", "FLOPs"]
    rows = [line.split() for line in lines[5:9]]
    assert [r[1] for r in rows] == ["Linear", "ReLU", "Linear", "SoftmaxCrossEntropy"]
    assert rows[0] == ["%0", "Linear", "x,", "0.weight,", "0.bias", "(5,", "8)", "float32",
                       "40", "360"]  # fmt: skip
    assert rows[2][-2:] == ["27", "255"]  # 8*3 + 3 parameters; 2*8*15 + 15 FLOPs
    assert "%2, targets=y" in lines[8]
    assert "outputs: %3 () float32, requires grad" in text
    assert "parameters: 4 tensors, 67 elements" in text
    assert "FLOPs (matmul, linear and convolutions, a multiply-add = 2): 615" in text


def test_graph_summary_counts_matmul_flops_and_shared_parameters_once():
    w = cr.tensor(np.ones((3, 2)), requires_grad=True, name="w")
    graph = cr.Graph(lambda x: ((x @ w) + (x @ w)).sum())
    graph.forward(cr.tensor(np.ones((5, 3))))
    assert [flops(node) for node in graph.nodes] == [60, 60, None, None]
    text = graph.summary()
    assert "parameters: 1 tensors, 6 elements" in text
    first, second = (line for line in text.splitlines() if "MatMul" in line)
    assert first.split()[-2:] == ["6", "60"] and second.split()[-1] == "60"
    assert "FLOPs (matmul, linear and convolutions, a multiply-add = 2): 120" in text


def test_graph_summary_of_the_lecture_example():
    graph = cr.Graph(lambda x, y, z: (x + y) * z)
    graph.forward(*(cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0)))
    text = graph.summary()
    assert "%0    Add       x, y" in text and "%1    Multiply  %0, z" in text
    assert "parameters: 0 tensors, 0 elements" in text


def test_graph_summary_shortens_long_input_lists():
    graph = cr.Graph(lambda *xs: cr.concatenate(xs).sum())
    graph.forward(*(cr.ones(1) for _ in range(20)))
    row = next(line for line in graph.summary().splitlines() if "Concatenate" in line)
    assert "..." in row


def test_graph_records_repr_and_labels():
    graph = cr.Graph(lambda x: cr.exp(x) * 2.0)
    graph.forward(cr.tensor([1.0, 2.0], requires_grad=True))
    exp, mul = graph.nodes
    assert repr(exp) == "<Node %0 = Exp(x): (2,) float32>"
    assert repr(mul) == "<Node %1 = Multiply(%0, 2): (2,) float32>"
    assert repr(graph.inputs[0]) == "<Slot x: input (2,) float32>"
    assert repr(graph) == "<Graph of <lambda>: 2 nodes, 1 inputs, 0 parameters>"
    const = mul.inputs[1]
    assert const.kind == "constant" and const.source == 2.0 and const.node is None


def test_convolutions_count_their_flops():
    conv = cr.nn.Conv2d(3, 8, 3, padding=1)
    up = cr.nn.ConvTranspose2d(8, 4, 2, stride=2)
    graph = cr.Graph(lambda x: up(conv(x)).sum())
    graph.forward(cr.ones(2, 3, 5, 5))
    # conv: 2 * (3*3*3) per output, 2*8*5*5 outputs; transpose: 2 * (4*2*2) per input.
    assert [flops(node) for node in graph.nodes] == [21_600, 12_800, None]
