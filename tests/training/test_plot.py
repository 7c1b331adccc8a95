"""The history plot: a PNG with matplotlib, and a run that works and says so without it."""

import math
import subprocess
import sys

import pytest

from chainrule.training.plot import plot_history
from chainrule.training.trainer import History

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def history(validation: bool = True) -> History:
    val = [1.2, 0.8, 0.7] if validation else [math.nan] * 3
    return History(
        train_loss=[1.5, 0.9, 0.6], train_accuracy=[0.5, 0.7, 0.8], val_loss=val,
        val_accuracy=[0.45, 0.65, 0.75] if validation else val, lr=[0.1] * 3,
        seconds=[0.1] * 3,
    )  # fmt: skip


@pytest.mark.parametrize("validation", [True, False])
def test_plot_writes_a_png(tmp_path, validation):
    pytest.importorskip("matplotlib")
    path = tmp_path / "history.png"
    assert plot_history(history(validation), path) is True
    content = path.read_bytes()
    assert content[:8] == PNG_SIGNATURE and len(content) > 1000


def test_plot_without_matplotlib_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    path = tmp_path / "history.png"
    assert plot_history(history(), path) is False
    assert not path.exists()


def test_train_without_matplotlib_still_works_and_says_so(tmp_path):
    out = tmp_path / "out"
    argv = ["train", "--epochs", "2", "--no-progress", "--out", str(out)]
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        f"from chainrule.cli import main; sys.exit(main({argv!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "matplotlib is not installed: no history.png" in result.stderr
    assert result.stdout.splitlines()[-1].startswith("test accuracy: ")
    assert not (out / "history.png").exists()
    names = {"checkpoint.npz", "model.npz", "history.json", "history.csv"}
    assert names <= {p.name for p in out.iterdir()}
