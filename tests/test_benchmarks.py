"""The benchmark runners run: smoke tests of `benchmarks/run.py --quick`,
`benchmarks/phases.py --quick` and `benchmarks/instructions.py` (where valgrind is
installed), no timings checked."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ("chain", "deep_chain", "mlp", "cnn", "digits_train", "import_time")


def run_quick(script: str) -> str:
    """The output of ``python benchmarks/<script> --quick``, which must succeed."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_benchmarks_quick_run_prints_every_workload():
    stdout = run_quick("run.py")
    table = stdout.split("\n\n", 1)[1]
    for name in WORKLOADS:
        assert f"{name}: " in table, f"{name} missing from:\n{stdout}"
    assert "chainrule / numpy = " in table


def test_phases_quick_run_splits_both_steps():
    lines = run_quick("phases.py").splitlines()
    for phase in ("zero_grad", "forward", "loss", "backward", "step"):
        row = next(line for line in lines if line.startswith(phase + " "))
        assert len(row.split()) == 4, row  # chainrule, numpy, difference
    for name in ("numpy (hand-written)", "chainrule eager", "chainrule Graph replay"):
        row = next(line for line in lines if line.startswith(name))
        forward, backward = map(float, row[len(name) :].split())
        assert forward > 0 and backward > 0, row


def test_phases_takes_other_sizes_without_collecting_between_steps():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "phases.py"), "--quick",
         "--sizes", "8-8-8-4", "--batch", "4", "--warm"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("MLP 8-8-8-4 SGD step, batch 4, no collection between steps")
    total = next(line for line in lines if line.startswith("sum "))
    ours, floor, difference = map(float, total.split()[1:])
    assert abs(ours - floor - difference) < 0.2


def test_phases_rejects_a_network_of_another_depth():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "phases.py"), "--sizes", "8-8-4"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--sizes: four layer sizes (three layers), got '8-8-4'" in result.stderr


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_instructions_counts_the_chain_of_a_source_tree():
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "instructions.py"), "--runs", "1",
         str(ROOT / "src")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    count, ratio, source = result.stdout.splitlines()[1].split()
    # the Python of an op of the engine: thousands of instructions, not tens or millions
    assert 3_000 < int(count.replace(",", "")) < 300_000
    assert ratio == "1.000x" and source == str(ROOT / "src")


def test_instructions_says_what_it_needs_without_valgrind(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "instructions.py")],
        capture_output=True, text=True, timeout=60, check=False,
        env={"PATH": str(tmp_path)},  # an empty directory: no valgrind on it
    )  # fmt: skip
    assert result.returncode == 1
    assert "needs valgrind on the PATH (apt-get install valgrind)" in result.stderr
