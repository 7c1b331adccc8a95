"""Launching MPI jobs from the tests: ``mpiexec -n N`` on this machine, or a clear skip."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.distributed.launch import find_mpiexec, mpiexec_command

HAS_MPI4PY = importlib.util.find_spec("mpi4py") is not None
MPIEXEC = find_mpiexec() if HAS_MPI4PY else None
WORKER = Path(__file__).with_name("worker.py")

needs_mpi4py = pytest.mark.skipif(
    not HAS_MPI4PY, reason="needs the mpi extra (mpi4py): pip install 'chainrule[mpi]'"
)
needs_mpiexec = pytest.mark.skipif(
    MPIEXEC is None,
    reason="needs the mpi extra (mpi4py and an mpiexec): pip install 'chainrule[mpi]'",
)


def mpirun(n: int, args: list, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `args` as an `n`-process job; its output and exit status.

    One BLAS thread per process: up to 3 processes share this machine's 2 cores.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        mpiexec_command(n, [str(a) for a in args], MPIEXEC), env=env,
        capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def run_worker(n: int, out_dir: Path, *scenarios: str) -> subprocess.CompletedProcess:
    """The worker's `scenarios` in one `n`-process job, which must succeed."""
    result = mpirun(n, [sys.executable, WORKER, out_dir, *scenarios])
    assert result.returncode == 0, result.stdout + result.stderr
    return result
