"""`chainrule train`, `evaluate` and `predict` end to end, run as a user runs them."""

import csv
import gzip
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule.data import digits_split
from chainrule.training import load_checkpoint

ACCURACY_LINE = re.compile(r"^test accuracy: (0\.\d{4}|1\.0000)$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SCRIPT = shutil.which("chainrule", path=str(Path(sys.executable).parent))


def chainrule(*args, script: bool = False) -> subprocess.CompletedProcess:
    """Run the command: `python -m chainrule.cli`, or the installed `chainrule` script."""
    command = [SCRIPT] if script else [sys.executable, "-m", "chainrule.cli"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def succeeded(result: subprocess.CompletedProcess) -> list[str]:
    """The lines of standard output of a run that must have worked."""
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def final_accuracy(lines: list[str]) -> float:
    match = ACCURACY_LINE.match(lines[-1])
    assert match, lines[-1]
    return float(match.group(1))


def epoch_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("epoch ")]


def history_without_seconds(out: Path) -> dict:
    history = json.loads((out / "history.json").read_text())["history"]
    del history["seconds"]
    return history


@pytest.fixture(scope="module")
def run3(tmp_path_factory):
    """`chainrule train --epochs 3 --no-progress --out DIR`: (DIR, its output lines)."""
    out = tmp_path_factory.mktemp("run3")
    return out, succeeded(chainrule("train", "--epochs", 3, "--no-progress", "--out", out))


def test_train_prints_the_test_accuracy_last(run3):
    _, lines = run3
    assert lines[0].startswith("digits: 1294 train, 144 validation, 359 test; model mlp")
    assert len(epoch_lines(lines)) == 3
    assert 0.5 < final_accuracy(lines) < 1


def test_train_writes_its_outputs(run3):
    out, lines = run3
    names = {"checkpoint.npz", "model.npz", "history.json", "history.csv", "history.png"}
    assert names <= {p.name for p in out.iterdir()}
    assert (out / "history.png").read_bytes()[:8] == PNG_SIGNATURE

    saved = json.loads((out / "history.json").read_text())
    assert saved["config"] == {"model": "mlp", "hidden": 256, "dataset": "digits",
                               "in_features": 64, "classes": 10,
                               "image_shape": [1, 8, 8]}  # fmt: skip
    assert f"test accuracy: {saved['test_accuracy']:.4f}" == lines[-1]
    history = saved["history"]
    assert set(history) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                            "seconds"}  # fmt: skip
    assert all(len(values) == 3 for values in history.values())

    with open(out / "history.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", *history]
    assert [int(row[0]) for row in rows[1:]] == [1, 2, 3]
    np.testing.assert_allclose([float(row[1]) for row in rows[1:]], history["train_loss"])

    checkpoint = load_checkpoint(out / "checkpoint.npz")
    assert {"model", "optimizer", "history", "best", "rng"} <= set(checkpoint)
    assert len(checkpoint["history"]["train_loss"]) == 3
    model = load_checkpoint(out / "model.npz")
    assert model["config"] == saved["config"]
    assert set(model["model"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert model["model"]["0.weight"].shape == (256, 64)


def test_evaluate_prints_the_accuracy_of_the_train_run(run3):
    out, lines = run3
    evaluated = succeeded(chainrule("evaluate", out / "model.npz"))
    assert evaluated[0].startswith("digits test set: 359 examples, loss ")
    assert evaluated[-1] == lines[-1]


def test_predict_prints_one_line_per_index(run3):
    out, _ = run3
    lines = succeeded(chainrule("predict", out / "model.npz", "--index", 0, 1, 2))
    assert len(lines) == 3
    labels = digits_split()[3]
    for row, line in enumerate(lines):
        match = re.fullmatch(r"(\d): predicted (\d) with probability ([01]\.\d{3})  \(label (\d)\)",
                             line)  # fmt: skip
        assert match, line
        assert int(match.group(1)) == row and int(match.group(4)) == labels[row]
        assert 0.1 <= float(match.group(3)) <= 1


def test_predict_on_an_input_file(run3, tmp_path):
    out, _ = run3
    x_test = digits_split()[2]
    np.save(tmp_path / "x.npy", x_test[:4].reshape(4, 8, 8))
    lines = succeeded(chainrule("predict", out / "model.npz", "--input", tmp_path / "x.npy"))
    assert len(lines) == 4
    assert all(re.fullmatch(r"\d: predicted \d with probability [01]\.\d{3}", x) for x in lines)


def test_evaluate_needs_the_model_file_not_the_checkpoint(run3):
    out, _ = run3
    result = chainrule("evaluate", out / "checkpoint.npz")
    assert result.returncode == 1
    assert "no model config" in result.stderr and "model.npz" in result.stderr


def test_the_defaults_reach_97_percent_reproducibly():
    first = succeeded(chainrule("train", "--no-progress"))
    run = {"script": True} if SCRIPT else {}
    second = succeeded(chainrule("train", "--no-progress", **run))
    assert len(epoch_lines(first)) == 40
    assert final_accuracy(first) >= 0.97
    assert first[-1] == second[-1]
    assert epoch_lines(first) == epoch_lines(second)


def test_resume_continues_as_one_uninterrupted_run(tmp_path):
    # Four epochs: the best validation epoch of this run is not its last one, so the
    # model it ends with (the best) is not the one the run goes on training.
    first = succeeded(chainrule("train", "--epochs", 4, "--no-progress", "--out", tmp_path / "a"))
    accuracies = history_without_seconds(tmp_path / "a")["val_accuracy"]
    assert int(np.argmax(accuracies)) < 3, "the run needs a best epoch before its last"
    resumed = succeeded(chainrule("train", "--epochs", 6, "--no-progress",
                                  "--resume", tmp_path / "a", "--out", tmp_path / "b"))  # fmt: skip
    whole = succeeded(chainrule("train", "--epochs", 6, "--no-progress", "--out", tmp_path / "c"))
    assert epoch_lines(resumed)[:4] == epoch_lines(first)
    assert epoch_lines(resumed) == epoch_lines(whole)
    assert resumed[-1] == whole[-1]
    assert history_without_seconds(tmp_path / "b") == history_without_seconds(tmp_path / "c")
    # --resume also takes the checkpoint file, and a finished run trains no more.
    again = succeeded(chainrule("train", "--epochs", 6, "--no-progress",
                                "--resume", tmp_path / "c" / "checkpoint.npz"))  # fmt: skip
    assert epoch_lines(again) == epoch_lines(whole) and again[-1] == whole[-1]


def test_deep_mlp(tmp_path):
    lines = succeeded(chainrule("train", "--model", "deep-mlp", "--hidden", 64, "--epochs", 3,
                                "--no-progress", "--out", tmp_path))  # fmt: skip
    assert "model deep-mlp" in lines[0]
    assert final_accuracy(lines) > 0.5
    model = load_checkpoint(tmp_path / "model.npz")["model"]
    assert [model[f"{i}.weight"].shape for i in (0, 2, 4, 6)] == [(64, 64)] * 3 + [(10, 64)]
    assert succeeded(chainrule("evaluate", tmp_path / "model.npz"))[-1] == lines[-1]


def test_optimizer_and_schedule_options(tmp_path):
    lines = succeeded(chainrule("train", "--optimizer", "sgd", "--lr", 0.05, "--schedule",
                                "cosine", "--epochs", 2, "--batch-size", 128, "--seed", 3,
                                "--no-progress", "--out", tmp_path))  # fmt: skip
    final_accuracy(lines)
    # Cosine annealing over 2 epochs: the full rate, then half of it.
    assert history_without_seconds(tmp_path)["lr"] == [0.05, 0.025]


def test_patience_stops_early():
    result = chainrule("train", "--lr", 0, "--patience", 2, "--no-progress")
    lines = succeeded(result)
    assert len(epoch_lines(lines)) == 3
    assert "early stopping after epoch 3" in result.stderr
    final_accuracy(lines)


@pytest.mark.parametrize("dataset", ["mnist", "cifar10"])
def test_a_downloaded_dataset_needs_data_dir(dataset):
    result = chainrule("train", "--dataset", dataset, "--epochs", 1)
    assert result.returncode != 0
    assert "--data-dir" in result.stderr and dataset in result.stderr
    assert "Traceback" not in result.stderr


def write_idx(folder: Path, prefix: str, n: int, rng, compress: bool) -> None:
    """MNIST's IDX files for `n` random 28x28 images whose label is in their brightness."""
    labels = (np.arange(n) % 10).astype(np.uint8)
    images = rng.integers(0, 20, (n, 28, 28), dtype=np.uint8)
    images[:, 10:18, 10:18] = (labels * 25)[:, None, None]
    files = {
        f"{prefix}-images-idx3-ubyte": struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes(),
        f"{prefix}-labels-idx1-ubyte": struct.pack(">II", 2049, n) + labels.tobytes(),
    }
    for name, content in files.items():
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_mnist_from_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    write_idx(tmp_path, "train", 40, rng, compress)
    write_idx(tmp_path, "t10k", 12, rng, compress)
    out = tmp_path / "out"
    lines = succeeded(chainrule("train", "--dataset", "mnist", "--data-dir", tmp_path,
                                "--epochs", 2, "--hidden", 16, "--batch-size", 8,
                                "--no-progress", "--out", out))  # fmt: skip
    assert lines[0].startswith("mnist: 36 train, 4 validation, 12 test; model mlp")
    final_accuracy(lines)
    assert load_checkpoint(out / "model.npz")["config"]["in_features"] == 784
    evaluated = succeeded(chainrule("evaluate", out / "model.npz", "--data-dir", tmp_path))
    assert evaluated[0].startswith("mnist test set: 12 examples")
    assert evaluated[-1] == lines[-1]


def test_a_bad_option_value_is_a_usage_error():
    result = chainrule("train", "--epochs", "abc")
    assert result.returncode == 2
    assert "usage: chainrule train" in result.stderr
    assert "argument --epochs: invalid int value: 'abc'" in result.stderr
    assert result.stdout == ""


def test_cnn_reaches_98_percent_on_the_digits(tmp_path):
    lines = succeeded(chainrule("train", "--model", "cnn", "--no-progress", "--out", tmp_path))
    assert "model cnn (6,090 parameters)" in lines[0]
    losses = [float(line.split()[4]) for line in epoch_lines(lines)]
    assert losses[-1] < losses[0] / 10  # the loss falls
    assert final_accuracy(lines) >= 0.98
    model = load_checkpoint(tmp_path / "model.npz")["model"]
    assert model["1.weight"].shape == (16, 1, 3, 3) and model["4.weight"].shape == (32, 16, 3, 3)
    assert succeeded(chainrule("evaluate", tmp_path / "model.npz"))[-1] == lines[-1]
    predicted = succeeded(chainrule("predict", tmp_path / "model.npz", "--index", 0))
    assert len(predicted) >= 1


def test_cnn_on_mnist_files(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path, "train", 40, rng, compress=True)
    write_idx(tmp_path, "t10k", 12, rng, compress=True)
    out = tmp_path / "out"
    lines = succeeded(chainrule("train", "--model", "cnn", "--dataset", "mnist", "--data-dir",
                                tmp_path, "--epochs", 2, "--batch-size", 8, "--no-progress",
                                "--out", out))  # fmt: skip
    final_accuracy(lines)
    config = load_checkpoint(out / "model.npz")["config"]
    assert config["image_shape"] == [1, 28, 28]
    assert load_checkpoint(out / "model.npz")["model"]["8.weight"].shape == (10, 32 * 7 * 7)
