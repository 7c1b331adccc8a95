"""The suite's output: the machine, the tables (Markdown, for the terminal and the docs
alike), the targets checklist, and the rewrite of the generated parts of the docs."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from perfsuite import runner, spec


def environment(threads: int) -> dict[str, str]:
    """The machine, the interpreter, the BLAS libraries and the thread settings."""
    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        found = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1) if found else cpu
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    env = {
        "CPU": f"{cpu}, {os.cpu_count()} logical CPUs",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "NumPy BLAS": blas.get("openblas configuration") or f"{blas['name']} {blas['version']}",
        "threads": f"{threads} (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and "
        "torch.set_num_threads, in every library's process)",
    }
    if spec.installed("torch"):
        code = "import torch; print(torch.__config__.show())"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env=runner.child_env(threads, memory=False),
        ).stdout  # fmt: skip
        found = re.search(r"BLAS_INFO=([^,\s]+)", out)
        env["PyTorch BLAS"] = found.group(1) if found else "not reported"
    return env


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join(lines)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else ""


def environment_table(results: dict) -> str:
    rows = [[k, v] for k, v in results["environment"].items()]
    rows += [[spec.LABELS[lib], version] for lib, version in results["versions"].items()]
    return markdown_table(["", ""], rows)


def timing_table(results: dict) -> str:
    rows = []
    for workload in results["timing"].values():
        medians = workload["medians"]
        for i, (library, value) in enumerate(medians.items()):
            rows.append([
                "" if i else workload["title"],
                spec.LABELS[library],
                f"{value:.3g} {workload['unit']}",
                str(workload["samples"][library]),
                _ratio(value, medians.get("numpy")),
                _ratio(value, medians.get("torch")),
            ])  # fmt: skip
    headers = ["workload", "library", "median", "steps", "/ numpy", "/ PyTorch"]
    return markdown_table(headers, rows)


def memory_table(results: dict) -> str:
    rows = []
    for name, per_library in results["memory"].items():
        torch_peak = per_library.get("torch", {}).get("peak_mib")
        for i, (library, m) in enumerate(per_library.items()):
            rows.append([
                "" if i else results["timing"][name]["title"].split(",")[0], spec.LABELS[library],
                f"{m['peak_mib']:.1f}", f"{m['held_mib']:.1f}", _ratio(m["peak_mib"], torch_peak),
            ])  # fmt: skip
    headers = ["one training step", "library", "peak MiB", "held after MiB", "peak / PyTorch"]
    return markdown_table(headers, rows)


def footprint_table(results: dict) -> str:
    numpy_ms = results["footprint"]["numpy"]["import_ms"]
    rows = [
        [
            spec.LABELS[library].replace(" (hand-written)", ""),
            f"{f['import_ms']:.1f}", f"{f['import_ms'] - numpy_ms:+.1f}",
            f"{f['own_mib']:.2f}", f"{f['with_deps_mib']:.1f}",
        ]
        for library, f in results["footprint"].items()
    ]  # fmt: skip
    headers = ["library", "import ms", "vs numpy ms", "installed MiB", "with deps MiB"]
    return markdown_table(headers, rows)


def skipped_table(results: dict) -> str:
    rows = [
        [name, spec.LABELS[library], reason]
        for name, per_library in results["skipped"].items()
        for library, reason in per_library.items()
    ]
    return markdown_table(["workload", "library", "skipped because"], rows) if rows else ""


def scaling_table(results: dict) -> str:
    parts = []
    for result in results["scaling"].values():
        seconds = result["seconds"]
        rows = []
        for i, point in enumerate(result["points"]):
            row = [str(point)] + [f"{seconds[lib][i] * 1e3:.3g}" for lib in seconds]
            row += [
                _ratio(seconds["chainrule"][i], seconds[o][i])
                for o in ("numpy", "torch")
                if o in seconds
            ]
            rows.append(row)
        headers = [result["label"]] + [f"{spec.LABELS[lib]} ms" for lib in seconds]
        headers += [f"chainrule / {o}" for o in ("numpy", "torch") if o in seconds]
        parts.append(markdown_table(headers, rows))
    return "\n\n".join(parts)


def targets(results: dict) -> list[tuple[str, str, bool | None]]:
    """The issue's targets: (target, what was measured, met? or None when not measured)."""
    timing = results["timing"]

    def ratio(workload, a, b):
        medians = timing.get(workload, {}).get("medians", {})
        return medians[a] / medians[b] if a in medians and b in medians else None

    checks = [
        ("MLP step <= 1.05x hand-written NumPy", ratio("mlp", "chainrule", "numpy"), 1.05),
        ("per-op chain, eager <= 0.6x PyTorch eager", ratio("chain", "chainrule", "torch"), 0.6),
        ("per-op chain, Graph <= 1.5x hand-written NumPy",
         ratio("chain", "chainrule_graph", "numpy"), 1.5),
        ("CNN step <= 1.5x PyTorch", ratio("cnn", "chainrule", "torch"), 1.5),
        ("deep chain faster than PyTorch (< 1x)", ratio("deep_chain", "chainrule", "torch"), 1.0),
    ]  # fmt: skip
    out = []
    for name, value, limit in checks:
        met = None if value is None else (value < limit if limit == 1.0 else value <= limit)
        out.append((name, "not measured" if value is None else f"{value:.2f}x", met))
    footprint = results.get("footprint", {})
    if "chainrule" in footprint and "numpy" in footprint:
        added = footprint["chainrule"]["import_ms"] - footprint["numpy"]["import_ms"]
        out.append(("import <= 50 ms over NumPy", f"{added:+.1f} ms", added <= 50))
    for name, per_library in results["memory"].items():
        if "torch" in per_library:
            value = per_library["chainrule"]["peak_mib"] / per_library["torch"]["peak_mib"]
            out.append((f"{name} step peak memory <= PyTorch's", f"{value:.2f}x", value <= 1))
    return out


def checklist(results: dict) -> str:
    marks = {True: "[x] met    ", False: "[ ] NOT met", None: "[ ] not run"}
    return "\n".join(f"- {marks[met]}  {name}: {value}" for name, value, met in targets(results))


def sections(results: dict) -> dict[str, str]:
    """The generated parts of docs/performance.md, by marker name."""
    return {
        "environment": environment_table(results),
        "timing": timing_table(results),
        "memory": memory_table(results),
        "footprint": footprint_table(results),
        "skipped": skipped_table(results),
        "scaling": scaling_table(results),
        "targets": checklist(results),
    }


MARKER = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[a-z]+) .*?-->\n)(?P<body>.*?)"
    r"(<!-- END generated:(?P=name) -->)",
    re.DOTALL,
)


def rewrite_docs(path: Path, generated: dict[str, str]) -> None:
    """Replace the text between each pair of marker comments; the prose around stays.

    Every section must have its markers in the file, and every marker pair a section:
    a renamed or deleted marker is an error, not a silently stale table.
    """
    text = path.read_text()
    found = {m["name"] for m in MARKER.finditer(text)}
    if found != set(generated):
        raise SystemExit(
            f"suite --write-docs: {path} has generated sections {sorted(found)}, "
            f"the suite writes {sorted(generated)}"
        )
    path.write_text(
        MARKER.sub(lambda m: m[1] + "\n" + generated[m["name"]].rstrip() + "\n\n" + m[4], text)
    )
