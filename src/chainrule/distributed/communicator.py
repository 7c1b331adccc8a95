"""Communicator: the processes of an MPI job and the collectives chainrule uses.

A thin wrapper over an mpi4py communicator that speaks NumPy arrays and chainrule
Tensors, with PyTorch's names (`all_reduce`, `broadcast`, `barrier`). Array
collectives work in place on C-contiguous arrays (mpi4py's buffer interface: no
pickling, no copies); the ``*_object`` ones pickle small Python values (metrics,
checkpoint state read by rank 0), which only ever travel between the processes of
one job.
"""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor

_OPS = ("sum", "mean", "max", "min")


class Communicator:
    """The ranks of one MPI communicator (``MPI.COMM_WORLD`` by default).

    Made by `chainrule.distributed.init`; wrap another mpi4py communicator (a split of
    the world, say) with ``Communicator(mpi_comm)``.

        >>> from chainrule import distributed as dist
        >>> comm = dist.init()
        >>> comm.rank, comm.size, comm.is_main  # a plain `python`: a world of one
        (0, 1, True)
        >>> import numpy as np
        >>> comm.all_reduce(np.array([1.0, 2.0]), op="mean")
        array([1., 2.])
    """

    def __init__(self, mpi_comm) -> None:
        self.mpi = mpi_comm
        self.rank = int(mpi_comm.Get_rank())
        self.size = int(mpi_comm.Get_size())

    @property
    def is_main(self) -> bool:
        """True on rank 0, the one process that writes files and prints."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait until every rank has called `barrier`."""
        self.mpi.Barrier()

    def all_reduce(self, array, op: str = "sum", async_op: bool = False):
        """Combine `array` element-wise over the ranks, in place; return it.

        `array` is a C-contiguous writeable ndarray (or a Tensor, whose data is used)
        of the same shape and dtype on every rank. `op` is ``"sum"``, ``"mean"`` (floats
        only), ``"max"`` or ``"min"``. With ``async_op=True`` the reduction is started and
        a request is returned; ``request.Wait()`` completes it (``"sum"`` only).

            >>> import numpy as np
            >>> from chainrule import distributed as dist
            >>> dist.init().all_reduce(np.array([3, 4]), op="max")
            array([3, 4])
        """
        data = _buffer("all_reduce", array)
        if op not in _OPS:
            raise ValueError(f"all_reduce: op must be one of {', '.join(_OPS)}, got {op!r}")
        if op == "mean" and data.dtype.kind != "f":
            raise TypeError(f"all_reduce: op='mean' needs a floating array, got {data.dtype}")
        from mpi4py import MPI

        if async_op:
            if op != "sum":
                raise ValueError(f"all_reduce: async_op=True supports op='sum' only, got {op!r}")
            return self.mpi.Iallreduce(MPI.IN_PLACE, data, op=MPI.SUM)
        mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]
        self.mpi.Allreduce(MPI.IN_PLACE, data, op=mpi_op)
        if op == "mean":
            data /= self.size
        return array

    def broadcast(self, array, src: int = 0):
        """Overwrite `array` (ndarray or Tensor) on every rank with rank `src`'s, in place.

        >>> import numpy as np
        >>> from chainrule import distributed as dist
        >>> dist.init().broadcast(np.arange(3.0))
        array([0., 1., 2.])
        """
        data = _buffer("broadcast", array)
        self._check_rank("broadcast", src)
        self.mpi.Bcast(data, root=src)
        return array

    def all_gather(self, array) -> np.ndarray:
        """Every rank's `array` (same shape and dtype everywhere), stacked by rank.

        >>> import numpy as np
        >>> from chainrule import distributed as dist
        >>> dist.init().all_gather(np.array([1.0, 2.0]))
        array([[1., 2.]])
        """
        data = np.ascontiguousarray(array.data if isinstance(array, Tensor) else array)
        gathered = np.empty((self.size, *data.shape), data.dtype)
        self.mpi.Allgather(data, gathered)
        return gathered

    def sum(self, values) -> np.ndarray:
        """The float64 sums over the ranks of a few numbers (metrics, counts).

        >>> from chainrule import distributed as dist
        >>> dist.init().sum([2.5, 4])
        array([2.5, 4. ])
        """
        totals = np.array(values, dtype=np.float64).ravel()
        from mpi4py import MPI

        self.mpi.Allreduce(MPI.IN_PLACE, totals, op=MPI.SUM)
        return totals

    def broadcast_object(self, value, src: int = 0):
        """Rank `src`'s `value` (any picklable Python value) on every rank.

        >>> from chainrule import distributed as dist
        >>> dist.init().broadcast_object({"epoch": 3})
        {'epoch': 3}
        """
        self._check_rank("broadcast_object", src)
        return self.mpi.bcast(value, root=src)

    def all_gather_object(self, value) -> list:
        """Every rank's `value`, as a list indexed by rank (on every rank).

        >>> from chainrule import distributed as dist
        >>> dist.init().all_gather_object("hello")
        ['hello']
        """
        return self.mpi.allgather(value)

    def abort(self, code: int = 1) -> None:
        """End every process of the job now (``MPI_Abort``), with exit status `code`."""
        self.mpi.Abort(code)

    def _check_rank(self, name: str, src) -> None:
        if not isinstance(src, (int, np.integer)) or not 0 <= src < self.size:
            raise ValueError(f"{name}: src must be a rank in [0, {self.size}), got {src!r}")

    def __repr__(self) -> str:
        return f"Communicator(rank={self.rank}, size={self.size})"


def _buffer(name: str, array) -> np.ndarray:
    """The ndarray an array collective works on in place, or a clear error."""
    data = array.data if isinstance(array, Tensor) else array
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{name}: expected a NumPy array or a Tensor, got {type(array).__name__}")
    if data.dtype.kind not in "fiub":
        raise TypeError(f"{name}: unsupported dtype {data.dtype}; use a numeric array")
    if not data.flags.c_contiguous or not data.flags.writeable:
        raise ValueError(
            f"{name}: the array (shape {data.shape}, strides {data.strides}) must be "
            "C-contiguous and writeable, as it is reduced in place; pass a copy "
            "(np.ascontiguousarray) and use the result"
        )
    return data
