"""The benchmark runner runs: a smoke test of `benchmarks/run.py --quick`, no timings checked."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("chain", "deep_chain", "mlp", "cnn", "digits_train", "import_time")


def test_benchmarks_quick_run_prints_every_workload():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("\n\n", 1)[1]
    for name in WORKLOADS:
        assert f"{name}: " in table, f"{name} missing from:\n{result.stdout}"
    assert "chainrule / numpy = " in table


def test_phases_quick_run_splits_both_steps():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "phases.py"), "--quick"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for phase in ("zero_grad", "forward", "loss", "backward", "step"):
        row = next(line for line in lines if line.startswith(phase + " "))
        assert len(row.split()) == 4, row  # chainrule, numpy, difference
    for name in ("numpy (hand-written)", "chainrule eager", "chainrule Graph replay"):
        row = next(line for line in lines if line.startswith(name))
        forward, backward = map(float, row[len(name) :].split())
        assert forward > 0 and backward > 0, row
