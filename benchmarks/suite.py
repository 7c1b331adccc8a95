"""The performance suite: five workloads, every library in its own process, one table.

    python benchmarks/suite.py                # the full run (about 10 minutes on 2 cores)
    python benchmarks/suite.py --quick        # few repeats, small sizes: checks it all runs
    python benchmarks/suite.py --write-docs   # the full run, then rewrites the generated
                                              # parts of docs/performance.md and its plots

Workloads: the MLP training step, the per-op chain (eager and `cr.Graph` replay), the
CNN training step, import time and installed size, the 100,000-op deep chain; the peak
and held memory of the MLP and CNN steps; the MLP step against batch size and width.
Libraries: hand-written NumPy, chainrule, PyTorch, HIPS autograd, MyGrad, micrograd,
each where installed. Every library gets the same seeded inputs and initial weights
(one .npz written here), and the run stops if their results disagree. The end of the
output is the issue's targets as a checklist. docs/performance.md says how and why.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perfsuite import footprint, report, runner, scaling, spec  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "performance.md"
IMAGES = ROOT / "docs" / "images" / "performance"


def run_suite(quick: bool, threads: int, workdir: Path, with_scaling: bool) -> dict:
    """Measure everything; returns the numbers the tables are made from."""
    info = runner.library_info(spec.LIBRARIES)
    results = {
        "environment": report.environment(threads),
        "versions": {lib: i["version"] for lib, i in info.items()},
        "timing": {}, "memory": {}, "skipped": {}, "footprint": {}, "scaling": {},
    }  # fmt: skip
    for name, workload in spec.workloads(quick).items():
        libraries, results["skipped"][name] = runner.available(name, info)
        print(f"running {name}: {', '.join(libraries)}", flush=True)
        measured = runner.measure(
            name, [spec.workload_inputs(name, quick)], libraries,
            workload.quick if quick else workload.full, threads=threads, workdir=workdir,
            tolerance=(workload.rtol, workload.atol), memory=workload.memory,
        )  # fmt: skip
        if "chainrule_graph" in libraries:
            check_replay_is_eager(workdir, name)
        results["timing"][name] = {
            "title": workload.title,
            "unit": workload.unit,
            "medians": {lib: m.medians()[0] * workload.per_second for lib, m in measured.items()},
            "samples": {lib: m.steps()[0] for lib, m in measured.items()},
        }
        for lib, m in measured.items():
            rounds = ", ".join(f"{t * workload.per_second:.4g}" for t in m.round_medians()[0])
            print(f"  {lib}: round medians ({workload.unit}) {rounds}", flush=True)
        if workload.memory:
            results["memory"][name] = {
                lib: {"peak_mib": m.memory[0]["peak_kib"] / 1024,
                      "held_mib": m.memory[0]["held_kib"] / 1024}
                for lib, m in measured.items()
            }  # fmt: skip
    libraries = [lib for lib in info if lib != "chainrule_graph"]
    print(f"running import time and size: {', '.join(libraries)}", flush=True)
    results["footprint"] = footprint.measure(libraries, runs=1 if quick else 11)
    if with_scaling:
        print("running scaling sweeps: batch size and width", flush=True)
        results["scaling"] = scaling.run(quick, list(info), threads, workdir)
    return results


def check_replay_is_eager(workdir: Path, workload: str) -> None:
    """Graph replay promises the very same bits as eager chainrule, not just agreement."""
    eager = runner.load_result(workdir / f"{workload}-0-chainrule.npz")
    replay = runner.load_result(workdir / f"{workload}-0-chainrule_graph.npz")
    if not all((a == b).all() for a, b in zip(eager, replay, strict=True)):
        raise runner.Disagreement(f"suite: {workload}: Graph replay differs from eager chainrule")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, small sizes")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="BLAS/OpenMP threads for every library (default 1: steady on a shared machine)",
    )  # fmt: skip
    parser.add_argument(
        "--write-docs", action="store_true",
        help=f"rewrite the generated sections of {DOCS.relative_to(ROOT)} and the plots",
    )  # fmt: skip
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling sweeps")
    args = parser.parse_args(argv)
    if args.write_docs and (args.quick or args.no_scaling):
        parser.error("--write-docs publishes a full run: drop --quick and --no-scaling")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")

    with tempfile.TemporaryDirectory() as workdir:
        results = run_suite(args.quick, args.threads, Path(workdir), not args.no_scaling)
    generated = report.sections(results)
    for title, key in (
        ("Machine and libraries", "environment"), ("Time", "timing"),
        ("Memory", "memory"), ("Import time and installed size", "footprint"),
        ("Skipped", "skipped"), ("Scaling", "scaling"), ("Targets", "targets"),
    ):  # fmt: skip
        print(f"\n## {title}\n\n{generated[key]}")
    if args.write_docs:
        scaling.plot(results["scaling"], IMAGES, args.threads)
        report.rewrite_docs(DOCS, generated)
        print(f"\nwrote {DOCS.relative_to(ROOT)} and {IMAGES.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
