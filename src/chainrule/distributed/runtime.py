"""The job's communicator: `init`, and `rank`, `world_size`, `is_main`, `barrier` on it.

`init()` is called once per process, before anything else distributed; it starts MPI
(through mpi4py, the ``mpi`` extra), makes the world's `Communicator`, and installs
`chainrule.distributed.failure`'s hook, so that an uncaught exception on one rank
ends the whole job instead of leaving the others waiting in a collective. The other
functions here raise a clear error before `init()`: under ``mpiexec`` a forgotten
``init()`` would otherwise let every rank believe it is rank 0 and write files.
"""

from __future__ import annotations

from chainrule.distributed.communicator import Communicator

_WORLD: Communicator | None = None

INSTALL_HINT = (
    "chainrule.distributed needs mpi4py and an MPI library: "
    "pip install 'chainrule[mpi]' (brings mpi4py and the MPICH wheel)"
)


def init(comm=None) -> Communicator:
    """Start MPI (once) and return the communicator of the job.

    `comm` is an mpi4py communicator to use instead of ``MPI.COMM_WORLD``. Calling
    `init` again returns the same `Communicator` (or, given another `comm`, makes that
    one the job's). A plain ``python script.py`` (no ``mpiexec``) is a job of one
    process.

        >>> from chainrule import distributed as dist
        >>> comm = dist.init()
        >>> dist.rank(), dist.world_size(), dist.is_main(), dist.init() is comm
        (0, 1, True, True)
    """
    global _WORLD
    if _WORLD is not None and (comm is None or comm is _WORLD.mpi):
        return _WORLD
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"{INSTALL_HINT} ({error})") from None
    from chainrule.distributed.failure import install_abort_hook

    _WORLD = Communicator(MPI.COMM_WORLD if comm is None else comm)
    install_abort_hook()
    return _WORLD


def is_initialized() -> bool:
    """Whether `init` has been called in this process."""
    return _WORLD is not None


def communicator() -> Communicator:
    """The `Communicator` that `init` made (an error before `init`)."""
    if _WORLD is None:
        raise RuntimeError(
            "chainrule.distributed: call chainrule.distributed.init() first "
            "(once per process, before anything distributed)"
        )
    return _WORLD


def rank() -> int:
    """This process's rank, 0 to ``world_size() - 1``."""
    return communicator().rank


def world_size() -> int:
    """The number of processes in the job."""
    return communicator().size


def is_main() -> bool:
    """True on rank 0, the process that writes checkpoints, logs and plots."""
    return communicator().is_main


def barrier() -> None:
    """Wait until every process of the job has reached this call."""
    communicator().barrier()
