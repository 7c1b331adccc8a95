"""The performance suite's quick mode runs every workload for every installed library,
and the libraries agree; no time is asserted (benchmarks/suite.py, docs/performance.md)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from perfsuite import report, spec  # noqa: E402

WORKLOAD_TITLES = {
    "mlp": "MLP 784-256-256-10 SGD step",
    "chain": "per-op chain",
    "cnn": "CNN SGD step",
    "deep_chain": "deep chain",
}
# What each library runs; the others are skipped with a printed reason.
RUNS = {
    "numpy": ("mlp", "chain", "cnn", "deep_chain"),
    "chainrule": ("mlp", "chain", "cnn", "deep_chain"),
    "chainrule_graph": ("chain",),
    "torch": ("mlp", "chain", "cnn", "deep_chain"),
    "autograd": ("mlp", "chain", "deep_chain"),
    "mygrad": ("mlp", "chain", "cnn", "deep_chain"),
    "micrograd": ("chain",),
}


def installed(library: str) -> bool:
    return importlib.util.find_spec(spec.LIBRARIES[library]) is not None


@pytest.fixture(scope="module")
def quick_run() -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suite.py"), "--quick"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def section(output: str, title: str) -> str:
    return output.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_suite_quick_runs_every_workload_for_every_installed_library(quick_run):
    timing = section(quick_run, "Time")
    rows = re.findall(r"^\| (.*?) +\| (.*?) +\| ([0-9.e+-]+) ", timing, re.MULTILINE)
    ran, title = set(), None
    for first, label, _ in rows:
        title = first or title
        workload = next(k for k, v in WORKLOAD_TITLES.items() if title.startswith(v))
        ran.add((workload, label))
    expected = {
        (workload, spec.LABELS[library])
        for library, workloads in RUNS.items()
        if installed(library)
        for workload in workloads
    }
    assert ran == expected


def test_suite_quick_says_why_each_missing_run_is_skipped(quick_run):
    skipped = section(quick_run, "Skipped")
    for library, workloads in RUNS.items():
        for workload in set(WORKLOAD_TITLES) - set(workloads):
            assert re.search(
                rf"\| {workload} +\| {re.escape(spec.LABELS[library])} +\| \w", skipped
            )


def test_suite_quick_measures_memory_import_scaling_and_targets(quick_run):
    assert "chainrule" in section(quick_run, "Memory")
    assert re.search(
        r"\| chainrule +\| [0-9.]+ +\| [+-][0-9.]+ ",
        section(quick_run, "Import time and installed size"),
    )
    assert section(quick_run, "Scaling").count("| 64 ") == 2
    targets = section(quick_run, "Targets")
    assert len(re.findall(r"^- \[", targets, re.MULTILINE)) == 6 + 2 * installed("torch")


def test_suite_stops_loudly_when_libraries_disagree(tmp_path):
    from perfsuite import runner

    agree = [__import__("numpy").ones(3)]
    runner.check_agreement("w", {"numpy": agree, "chainrule": [agree[0] * 1.00001]}, 1e-4, 0)
    with pytest.raises(
        runner.Disagreement, match=r"w: chainrule disagrees with numpy.*max abs diff"
    ):
        runner.check_agreement("w", {"numpy": agree, "chainrule": [agree[0] * 1.01]}, 1e-4, 0)


def test_write_docs_replaces_only_between_markers(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(
        "prose before\n<!-- BEGIN generated:timing (cmd) -->\nold table\n"
        "<!-- END generated:timing -->\nprose after\n"
    )
    report.rewrite_docs(doc, {"timing": "| new |"})
    assert doc.read_text() == (
        "prose before\n<!-- BEGIN generated:timing (cmd) -->\n\n| new |\n\n"
        "<!-- END generated:timing -->\nprose after\n"
    )
    with pytest.raises(SystemExit, match=r"generated sections \['timing'\].*\['memory'"):
        report.rewrite_docs(doc, {"memory": "x"})
