"""Import time: `import numpy` vs `import chainrule`, each in fresh interpreters.

The time is taken around the import statement inside the subprocess, so interpreter
start-up is left out. chainrule imports NumPy, so the difference is what it adds.

The children get a private bytecode cache (PYTHONPYCACHEPREFIX, warmed by a first
import) even where PYTHONDONTWRITEBYTECODE is set: an installed package has its .pyc
files, so compiling the sources on every import is not what users pay. The source tree
and site-packages are left untouched.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from common import Row

NAME = "import_time"
SNIPPET = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"


def import_ms(modules: tuple[str, ...], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median milliseconds to import each module, the subprocesses interleaved."""
    times: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(runs):
        for module in modules:
            out = subprocess.run(
                [sys.executable, "-c", SNIPPET.format(module)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            times[module].append(float(out.stdout) * 1e3)
    return {module: statistics.median(values) for module, values in times.items()}


def run(quick: bool) -> list[Row]:
    runs = 3 if quick else 11
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        import_ms(("chainrule",), 1, env)  # fills the cache for numpy and chainrule
        ms = import_ms(("numpy", "chainrule"), runs, env)
    numpy_ms, chainrule_ms = ms["numpy"], ms["chainrule"]
    workload = f"{NAME}: fresh process, median of {runs}"
    return [
        Row(workload, "import numpy", numpy_ms, "ms"),
        Row(workload, "import chainrule", chainrule_ms, "ms"),
        Row(workload, "chainrule - numpy", chainrule_ms - numpy_ms, "ms", "added by chainrule"),
    ]
