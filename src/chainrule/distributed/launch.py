"""The ``mpiexec`` command line that starts a job on this machine.

The ``mpi`` extra's MPICH wheel installs ``mpiexec`` beside the Python interpreter
(the ``bin`` folder of the virtual environment); that one is preferred, as it matches
the MPI library mpi4py loads. Another MPI on ``PATH`` is the fallback. Open MPI's
``mpiexec`` refuses to start more processes than cores, or to run as root, without
flags; MPICH's needs none.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path


def find_mpiexec() -> str | None:
    """The path of ``mpiexec``: beside this Python first, then on ``PATH`` (None if neither).

    >>> from chainrule.distributed.launch import find_mpiexec
    >>> find_mpiexec().endswith("mpiexec")
    True
    """
    here = shutil.which("mpiexec", path=str(Path(sys.executable).parent))
    return here or shutil.which("mpiexec")


def mpiexec_command(n: int, args: list[str], mpiexec: str | None = None) -> list[str]:
    """The command that runs `args` as `n` processes on this machine.

    >>> from chainrule.distributed.launch import mpiexec_command
    >>> mpiexec_command(2, ["python", "train.py"])[-4:]
    ['-n', '2', 'python', 'train.py']
    """
    mpiexec = mpiexec or find_mpiexec()
    if mpiexec is None:
        raise FileNotFoundError(
            "mpiexec not found beside Python or on PATH: pip install 'chainrule[mpi]'"
        )
    return [mpiexec, *_single_machine_flags(mpiexec), "-n", str(n), *map(str, args)]


@functools.cache
def _single_machine_flags(mpiexec: str) -> tuple[str, ...]:
    try:
        version = subprocess.run(
            [mpiexec, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    if "Open MPI" not in version and "OpenRTE" not in version:
        return ()
    flags = ["--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--allow-run-as-root")
    return tuple(flags)
