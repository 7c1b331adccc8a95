"""One (library, workload) pair in a process of its own: the child side of the suite.

    python -m perfsuite.worker JOB.json      (with benchmarks/ on PYTHONPATH)

The job names the library, the workload, the mode and the cases (an inputs .npz the
parent wrote, and where to write the result .npz). Each case's first step runs from
the initial weights and its result is saved for the parent's agreement check; then
the mode's measurement follows, and one JSON line on stdout reports it:

- ``time``: wall seconds of each timed step (after warm-up steps), within a budget;
- ``memory``: the peak of one warm step and what it leaves behind, in KiB, by the
  method of `benchmarks/cnn.py` (`measure_memory`).
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import time

import numpy as np

# Memory runs (the parent sets these in the child's environment): glibc maps each block
# of 128 KiB or more on its own and unmaps it when freed, so the resident set follows
# the arrays alive.
MEMORY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(128 * 1024)}
# Timing runs: every block comes from the heap (up to glibc's 32 MiB maximum) and the
# heap is never trimmed, so a step reuses the memory the previous one freed. With the
# default, glibc's adaptive thresholds depend on the history of each process: the
# hand-written NumPy MLP step paid fresh page faults for its large temporaries on every
# step, chainrule's and PyTorch's did not; this way none does.
TIMING_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(2**30),
}


def load_inputs(path: str) -> dict:
    """The arrays of an .npz, with 0-d entries (sizes, counts) as Python scalars."""
    with np.load(path) as data:
        return {k: data[k].item() if data[k].ndim == 0 else data[k] for k in data.files}


def time_steps(step, repeats: int, warmup: int, budget_s: float) -> list[float]:
    """Seconds per call of `step`, `repeats` of them, or fewer once `budget_s` is spent
    (at least one). The heap is collected before each call, as in common.median_seconds."""
    for _ in range(warmup):
        step()
    times: list[float] = []
    spent = 0.0
    while len(times) < repeats and (not times or spent < budget_s):
        gc.collect()
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        spent += times[-1]
    return times


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure_memory(step) -> dict[str, int]:
    """Peak and held memory of one warm step, in KiB (Linux; the parent sets
    MALLOC_MMAP_THRESHOLD_ so that freed arrays leave the resident set).

    After two warm-up steps, the gradients the library keeps are released
    (`step.release`, its ``zero_grad(set_to_none)``, where it keeps any), so that the
    resident set is the parameters and the batch; the peak of one more step above it is
    `peak_kib`, and what is still resident after it, once collected, is `held_kib`: the
    parameter gradients where the library keeps them, and nothing else when the graph,
    saved values and temporaries were all freed.
    """
    step(), step()
    getattr(step, "release", lambda: None)()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident set
    before = _status_kib("VmRSS")
    step()
    peak = _status_kib("VmHWM") - before
    gc.collect()
    return {"peak_kib": peak, "held_kib": _status_kib("VmRSS") - before}


def run_job(job: dict) -> list[dict]:
    library = importlib.import_module(f"perfsuite.lib_{job['library']}")
    make = library.MAKERS[job["maker"]]
    reports = []
    for case in job["cases"]:
        step = make(load_inputs(case["inputs"]))
        first = [np.asarray(value) for value in step()]
        np.savez(case["result"], *first)
        if job["mode"] == "memory":
            reports.append(measure_memory(step))
        else:
            reports.append(
                {"times": time_steps(step, job["repeats"], job["warmup"], job["budget_s"])}
            )
        del step
    return reports


def main() -> None:
    with open(sys.argv[1]) as f:
        job = json.load(f)
    print(json.dumps(run_job(job)))


if __name__ == "__main__":
    main()
