"""The collective-communication engine under `cellc.communication`: MPI, through mpi4py.

cellc writes no collective of its own. Every all-reduce, all-gather, broadcast and barrier here
is one call of the MPI library that the optional extra installs (`pip install
'cellc[distributed]'`: mpi4py and Open MPI's wheel from PyPI; an MPICH wheel or a system MPI
works the same). The processes are started by that MPI's launcher (`mpirun -n N cellc run
train.py`, or `cellc launch -n N train.py`, which runs it), and MPI is initialized on the first
`init()`. A script run without a launcher is a job of one process.

The data move between compiled steps, as numpy arrays in host memory: gradients come out of the
compiled gradient program, are all-reduced here in one fused buffer per dtype, and go into the
compiled optimizer program (see `cellc.nn.DistributedGradReducer`).

A process of a job of several that meets an uncaught exception prints it with its rank and
aborts the whole job (`MPI_Abort`): the others are killed by the launcher instead of waiting
forever in their next collective, and the launcher exits with an error naming the rank.
"""

from __future__ import annotations

import os
import sys
import time
import traceback

import numpy as np

from cellc.errors import DistributedError

INSTALL_HINT = "pip install 'cellc[distributed]' (mpi4py and Open MPI from PyPI)"

# MindSpore's ReduceOp names -> mpi4py's operation names
REDUCE_OPS = {"sum": "SUM", "max": "MAX", "min": "MIN", "prod": "PROD"}


class Stats:
    """Time spent in collectives since the last `reset()` (the distributed bench reads it)."""

    calls = 0
    seconds = 0.0
    bytes = 0

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.seconds, cls.bytes = 0, 0.0, 0


class _State:
    comm = None  # MPI.COMM_WORLD once initialized
    previous_hook = None  # sys.excepthook before ours


def mpi():
    """mpi4py's MPI module (importing it initializes MPI), or a DistributedError saying how to
    install it."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise DistributedError(
            f"cellc's distributed training runs on MPI through mpi4py, which is not installed "
            f"here ({error}): {INSTALL_HINT}"
        ) from None
    return MPI


def initialize():
    """Initializes MPI (once) and returns the world communicator. In a job of several
    processes, an uncaught exception from now on aborts the job (see the module docstring)."""
    if _State.comm is None:
        _State.comm = mpi().COMM_WORLD
        if _State.comm.Get_size() > 1:
            _State.previous_hook = sys.excepthook
            sys.excepthook = _abort_on_uncaught
    return _State.comm


def release() -> None:
    """Forgets the communicator (MindSpore's `release`); MPI itself is finalized at exit, since
    it cannot be initialized twice in one process."""
    if _State.previous_hook is not None:
        sys.excepthook = _State.previous_hook
        _State.previous_hook = None
    _State.comm = None


def initialized() -> bool:
    return _State.comm is not None


def world():
    """The world communicator; MindSpore's RuntimeError before `init()`."""
    if _State.comm is None:
        raise DistributedError(
            "Distributed Communication has not been inited: call "
            "mindspore.communication.init() first"
        )
    return _State.comm


def rank() -> int:
    return world().Get_rank()


def size() -> int:
    return world().Get_size()


def local_rank() -> int:
    """This process's rank among the job's processes on its machine."""
    return _local_comm().Get_rank()


def local_size() -> int:
    return _local_comm().Get_size()


def _local_comm():
    return world().Split_type(mpi().COMM_TYPE_SHARED, key=rank())


def is_parallel() -> bool:
    """True inside an initialized job of more than one process."""
    return _State.comm is not None and _State.comm.Get_size() > 1


# --- collectives --------------------------------------------------------------------------


def all_reduce(arrays: list[np.ndarray], op: str = "sum") -> list[np.ndarray]:
    """Every array reduced elementwise across the processes (`op`: sum, max, min, prod), as
    new arrays. Arrays of one dtype travel in one buffer: one MPI_Allreduce per dtype, not one
    per array (MindSpore's gradient fusion)."""
    comm, MPI = world(), mpi()
    started = time.perf_counter()
    results: list[np.ndarray | None] = [None] * len(arrays)
    for dtype in dict.fromkeys(np.asarray(a).dtype for a in arrays):
        indices = [i for i, a in enumerate(arrays) if np.asarray(a).dtype == dtype]
        fused = np.concatenate([np.ravel(arrays[i]) for i in indices])
        comm.Allreduce(MPI.IN_PLACE, fused, op=getattr(MPI, REDUCE_OPS[op]))
        offset = 0
        for i in indices:
            count = np.asarray(arrays[i]).size
            results[i] = fused[offset : offset + count].reshape(np.shape(arrays[i]))
            offset += count
        Stats.bytes += fused.nbytes
    _count(started)
    return results


def all_gather(array: np.ndarray) -> np.ndarray:
    """The arrays of every process, concatenated along the first axis in rank order
    (MindSpore's AllGather); every process's array must have the same shape."""
    comm = world()
    array = np.ascontiguousarray(array)
    shapes = comm.allgather(array.shape)
    if any(shape != array.shape for shape in shapes):
        raise ValueError(f"For 'AllGather', every rank's input must have one shape, got {shapes}")
    started = time.perf_counter()
    out = np.empty((comm.Get_size(), *array.shape), array.dtype)
    comm.Allgather(array, out)
    _count(started)
    return out.reshape((-1, *array.shape[1:])) if array.ndim else out


def broadcast(arrays: list[np.ndarray], root: int) -> list[np.ndarray]:
    """Process `root`'s arrays, in every process (new arrays; the shapes must agree)."""
    comm = world()
    if not 0 <= root < comm.Get_size():
        raise ValueError(
            f"For 'Broadcast', root_rank must be in [0, {comm.Get_size()}), got {root}"
        )
    started = time.perf_counter()
    results = []
    for array in arrays:
        buffer = np.array(array, copy=True, order="C")
        comm.Bcast(buffer, root=root)
        results.append(buffer)
    _count(started)
    return results


def barrier() -> None:
    world().Barrier()


def _count(started: float) -> None:
    Stats.calls += 1
    Stats.seconds += time.perf_counter() - started


# --- failures -----------------------------------------------------------------------------


def abort(message: str, status: int = 1) -> None:
    """Prints `message` with this process's rank and aborts the whole job (never returns)."""
    comm = _State.comm
    where = f"rank {comm.Get_rank()} of {comm.Get_size()}" if comm is not None else "a rank"
    host = os.uname().nodename
    sys.stderr.write(f"[cellc] {where} (on {host}) failed:\n{message.rstrip()}\n")
    sys.stderr.flush()
    if comm is not None:
        comm.Abort(status)
    os._exit(status)


def _abort_on_uncaught(kind, error, trace) -> None:
    abort("".join(traceback.format_exception(kind, error, trace)))
