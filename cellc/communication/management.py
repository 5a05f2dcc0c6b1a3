"""MindSpore's `mindspore.communication.management`: `init`, `release`, `get_rank`,
`get_group_size`, `get_local_rank`, `get_local_rank_size` and the world group's names.

cellc's collectives run on MPI (`cellc.communication.engine`) whatever the backend a script
names: `init()`, `init("nccl")`, `init("hccl")` and `init("mccl")` all join the MPI job that the
launcher started, and each group name a script passes for the world (`HCCL_WORLD_COMM_GROUP`,
`NCCL_WORLD_COMM_GROUP`, `MCCL_WORLD_COMM_GROUP`, `GlobalComm.WORLD_COMM_GROUP`) is that job.
Groups of some of the processes (`create_group`) are not supported and say so.
"""

from __future__ import annotations

from cellc.errors import DistributedError, UnsupportedError

from . import engine

HCCL_WORLD_COMM_GROUP = "hccl_world_group"
NCCL_WORLD_COMM_GROUP = "nccl_world_group"
MCCL_WORLD_COMM_GROUP = "mccl_world_group"
WORLD_GROUPS = (HCCL_WORLD_COMM_GROUP, NCCL_WORLD_COMM_GROUP, MCCL_WORLD_COMM_GROUP)
BACKENDS = ("hccl", "nccl", "mccl")


class GlobalComm:
    """MindSpore's world communication information: the backend named at `init`, the world
    group's name, and whether `init` has run."""

    BACKEND = "mccl"
    WORLD_COMM_GROUP = HCCL_WORLD_COMM_GROUP
    INITED = False
    CHECK_ENVS = True


def init(backend_name: str | None = None) -> None:
    """Joins the job the MPI launcher started (`mpirun -n N cellc run train.py`, `cellc launch
    -n N train.py`); run without a launcher, the job is this process alone. `backend_name`
    ("hccl", "nccl", "mccl" or None) is checked and kept; the data go through MPI either way.
    Raises DistributedError when mpi4py is not installed."""
    if backend_name is not None and not isinstance(backend_name, str):
        raise TypeError(
            "For 'init', the argument 'backend_name' must be a string, "
            f"but got the type : {type(backend_name)}"
        )
    if backend_name is not None and backend_name not in BACKENDS:
        raise ValueError(
            f"For 'init', the argument 'backend_name' must be one of {BACKENDS}, "
            f"but got {backend_name!r}"
        )
    engine.initialize()
    GlobalComm.BACKEND = backend_name or "mccl"
    GlobalComm.WORLD_COMM_GROUP = {"nccl": NCCL_WORLD_COMM_GROUP}.get(
        GlobalComm.BACKEND, HCCL_WORLD_COMM_GROUP
    )
    GlobalComm.INITED = True


def release() -> None:
    """Leaves the job: `get_rank` and the collectives raise again until the next `init`."""
    engine.release()
    GlobalComm.INITED = False


def get_rank(group: str = GlobalComm.WORLD_COMM_GROUP) -> int:
    """This process's rank in the world group, from 0."""
    check_group("get_rank", group)
    return engine.rank()


def get_group_size(group: str = GlobalComm.WORLD_COMM_GROUP) -> int:
    """The number of processes in the world group."""
    check_group("get_group_size", group)
    return engine.size()


def get_local_rank(group: str = GlobalComm.WORLD_COMM_GROUP) -> int:
    """This process's rank among the job's processes on this machine."""
    check_group("get_local_rank", group)
    return engine.local_rank()


def get_local_rank_size(group: str = GlobalComm.WORLD_COMM_GROUP) -> int:
    """The number of the job's processes on this machine."""
    check_group("get_local_rank_size", group)
    return engine.local_size()


def create_group(group, rank_ids) -> None:
    raise UnsupportedError(
        f"cellc has no communication groups of some processes (create_group({group!r}, "
        f"{rank_ids!r})): its collectives run on the whole job, the world group"
    )


def check_group(function: str, group) -> None:
    """MindSpore's checks of a `group` argument: a string naming the world group, after
    `init()`."""
    if not isinstance(group, str):
        raise TypeError(
            f"For '{function}', the argument 'group' must be type of string, "
            f"but got 'group' type : {type(group)}."
        )
    if not GlobalComm.INITED:
        raise DistributedError(
            "Distributed Communication has not been inited: call "
            "mindspore.communication.init() first"
        )
    if group not in WORLD_GROUPS:
        raise UnsupportedError(
            f"For '{function}', cellc knows only the world group ({', '.join(WORLD_GROUPS)}), "
            f"not {group!r}"
        )


__all__ = [
    "GlobalComm",
    "HCCL_WORLD_COMM_GROUP",
    "MCCL_WORLD_COMM_GROUP",
    "NCCL_WORLD_COMM_GROUP",
    "create_group",
    "get_group_size",
    "get_local_rank",
    "get_local_rank_size",
    "get_rank",
    "init",
    "release",
]
