"""One failing rank ends the whole job, with the rank and the error printed.

MPI leaves a process that raises to shut down on its own, and its peers wait forever
in their next collective (MPI_Finalize itself waits for them). Both ways out here end
with ``MPI_Abort``, which makes ``mpiexec`` kill every process within about a second:

- `install_abort_hook` (installed by `init`) wraps ``sys.excepthook``: any exception
  that reaches the top of the main thread is printed, then the job is aborted;
- `abort_on_error` is a context manager for code that would otherwise turn an error
  into an exit status (``chainrule train --distributed`` runs inside it): ``SystemExit``
  with a non-zero status and ``KeyboardInterrupt`` abort as well.
"""

from __future__ import annotations

import sys
import time
import traceback
from contextlib import contextmanager

_installed = False


def install_abort_hook() -> None:
    """Make an uncaught exception abort every rank of the job (idempotent)."""
    global _installed
    if _installed:
        return
    previous = sys.excepthook

    def abort_hook(kind, error, tb):
        previous(kind, error, tb)
        _abort(f"raised {kind.__name__}: {error}")

    sys.excepthook = abort_hook
    _installed = True


@contextmanager
def abort_on_error():
    """Run the body; if it raises (or exits with a non-zero status), abort the job.

    The traceback and a line naming the rank are printed on standard error first.

        >>> from chainrule import distributed as dist
        >>> _ = dist.init()
        >>> with dist.abort_on_error():
        ...     print("fine")
        fine
    """
    try:
        yield
    except SystemExit as exit_:
        if exit_.code in (None, 0):
            raise
        message = exit_.code if isinstance(exit_.code, str) else f"status {exit_.code}"
        _abort(f"exited: {message}")
    except BaseException as error:
        traceback.print_exc()
        _abort(f"raised {type(error).__name__}: {error}")


def _abort(what: str) -> None:
    from chainrule.distributed.runtime import communicator

    comm = communicator()
    print(
        f"chainrule.distributed: rank {comm.rank} of {comm.size} {what}; "
        f"aborting all {comm.size} processes",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    # The launcher forwards this rank's output through a pipe; an abort at once can tear
    # the job down before it read the traceback (seen on a loaded machine): wait a moment.
    time.sleep(0.5)
    comm.abort(1)
