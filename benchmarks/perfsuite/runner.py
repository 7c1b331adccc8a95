"""The parent side: start one worker process per (library, workload), collect the JSON,
and stop the run loudly when two libraries' results disagree."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from perfsuite import spec
from perfsuite.worker import MEMORY_MALLOC, TIMING_MALLOC

BENCHMARKS = Path(__file__).resolve().parents[1]


class Disagreement(SystemExit):
    """Two libraries computed different results: timing different work is worthless."""


def child_env(threads: int, memory: bool) -> dict[str, str]:
    """One thread count for every library's BLAS and OpenMP pools."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCHMARKS), env.get("PYTHONPATH")]))
    env.update(MEMORY_MALLOC if memory else TIMING_MALLOC)
    return env


def run_worker(job: dict, workdir: Path, threads: int) -> list[dict]:
    """Run one job in a fresh interpreter and return its per-case reports."""
    job_file = workdir / f"job-{job['library']}-{job['mode']}.json"
    job_file.write_text(json.dumps(job))
    result = subprocess.run(
        [sys.executable, "-m", "perfsuite.worker", str(job_file)],
        capture_output=True, text=True, timeout=900,
        env=child_env(threads, job["mode"] == "memory"), check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(
            f"suite: {job['library']} on {job['maker']} ({job['mode']}) failed "
            f"with exit code {result.returncode}:\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def library_info(libraries) -> dict[str, dict]:
    """Each installed library's version, workloads and reasons for skipping the others,
    asked in a child (one per library) so that the parent never imports torch."""
    code = (
        "import json, importlib, sys; m = importlib.import_module('perfsuite.lib_' + sys.argv[1]);"
        "print(json.dumps({'version': m.version(), 'workloads': list(m.MAKERS),"
        " 'skipped': m.SKIPPED}))"
    )
    info = {}
    for library in libraries:
        if spec.installed(library):
            out = subprocess.run(
                [sys.executable, "-c", code, library], capture_output=True, text=True,
                env=child_env(1, memory=False), check=True,
            )  # fmt: skip
            info[library] = json.loads(out.stdout)
    return info


def available(workload: str, info: dict[str, dict]) -> tuple[list[str], dict[str, str]]:
    """The libraries that run `workload`, and why each other one is skipped."""
    runs, skipped = [], {}
    for library in spec.LIBRARIES:
        if library not in info:
            skipped[library] = spec.not_installed_reason(library)
        elif workload in info[library]["workloads"]:
            runs.append(library)
        else:
            skipped[library] = info[library]["skipped"][workload]
    return runs, skipped


def check_agreement(label: str, results: dict[str, list], rtol: float, atol: float) -> None:
    """Every library's results must match the first one's (hand-written NumPy)."""
    (ref_lib, reference), *others = results.items()
    for library, got in others:
        for i, (ref, value) in enumerate(zip(reference, got, strict=True)):
            ref, value = ref.astype(np.float64), value.astype(np.float64)
            if ref.shape != value.shape:
                raise Disagreement(
                    f"suite: {label}: {library}'s result {i} has shape {value.shape}, "
                    f"{ref_lib}'s {ref.shape}"
                )
            if not np.allclose(ref, value, rtol=rtol, atol=atol):
                worst = float(np.max(np.abs(ref - value)))
                raise Disagreement(
                    f"suite: {label}: {library} disagrees with {ref_lib} on result {i} "
                    f"(max abs diff {worst:.3g}, rtol {rtol}, atol {atol}): not the same work"
                )


def load_result(path: Path) -> list[np.ndarray]:
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


@dataclass
class Measured:
    """One library's numbers on one workload (per case for sweeps)."""

    rounds: list[list[list[float]]] = field(default_factory=list)  # per case, per round
    memory: list[dict] = field(default_factory=list)

    def round_medians(self) -> list[list[float]]:
        """Per case, the median step of each round (each process), in order."""
        return [[statistics.median(r) for r in rounds] for rounds in self.rounds]

    def medians(self) -> list[float]:
        """Per case, the median step of the fastest round. On a shared machine a process
        is now and then slowed for its whole life by other jobs (a run prints every
        round's median), and interference can only ever add time."""
        return [min(medians) for medians in self.round_medians()]

    def steps(self) -> list[int]:
        """Per case, the timed steps of all rounds together."""
        return [sum(map(len, rounds)) for rounds in self.rounds]


def measure(
    workload: str,
    cases: list[dict],
    libraries: list[str],
    settings: spec.Settings,
    *,
    threads: int,
    workdir: Path,
    tolerance: tuple[float, float],
    memory: bool = False,
    maker: str | None = None,
) -> dict[str, Measured]:
    """Time `workload` on each case for each library, each in its own processes.

    The rounds interleave the libraries (numpy, chainrule, torch, numpy, ...), so that a
    slow spell of a shared machine hits them alike; each round is one process, and a
    library's time is the median step of its fastest round (`Measured.medians`). Before
    anything counts, every library's first step from the same inputs must agree with the
    first library's (`check_agreement`).
    `maker` names the libraries' step maker when it is not `workload` (the sweeps run
    the MLP maker on other sizes).
    """
    paths = []
    for i, arrays in enumerate(cases):
        paths.append(workdir / f"{workload}-{i}-inputs.npz")
        np.savez(paths[-1], **arrays)

    def job(library: str, mode: str, repeats: int) -> dict:
        return {
            "library": library, "maker": maker or workload, "mode": mode, "repeats": repeats,
            "warmup": settings.warmup, "budget_s": settings.budget_s / settings.rounds,
            "cases": [
                {"inputs": str(p), "result": str(workdir / f"{workload}-{i}-{library}.npz")}
                for i, p in enumerate(paths)
            ],
        }  # fmt: skip

    measured = {library: Measured(rounds=[[] for _ in cases]) for library in libraries}
    per_round = max(1, settings.repeats // settings.rounds)
    for _ in range(settings.rounds):
        for library in libraries:
            for rounds, report in zip(
                measured[library].rounds,
                run_worker(job(library, "time", per_round), workdir, threads),
            ):
                rounds.append(report["times"])
    for i in range(len(cases)):
        results = {lib: load_result(workdir / f"{workload}-{i}-{lib}.npz") for lib in libraries}
        check_agreement(f"{workload} (case {i})", results, *tolerance)
    if memory:
        # One process's peak moves up by a few hundred KiB with where the allocators find
        # memory (PyTorch's caching allocator reuses blocks resident before the step;
        # malloc's heap grows where small blocks do not fit): as many processes per
        # library as timing rounds, interleaved, and the smallest, which that noise can
        # only have added to (as the fastest round of the timings).
        runs: dict[str, list] = {library: [] for library in libraries}
        for _ in range(settings.rounds):
            for library in libraries:
                runs[library].append(run_worker(job(library, "memory", 0), workdir, threads))
        for library, reports in runs.items():
            measured[library].memory = [
                {key: min(r[i][key] for r in reports) for key in reports[0][i]}
                for i in range(len(cases))
            ]
    return measured
