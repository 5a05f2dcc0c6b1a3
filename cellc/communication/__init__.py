"""`mindspore.communication`: joining a data-parallel job and asking where this process is in
it (`init`, `get_rank`, `get_group_size`, `release`, the world group's names), on MPI through
mpi4py (`engine.py`; `pip install 'cellc[distributed]'`). The collective primitives
(`ops.AllReduce`, `ops.AllGather`, `ops.Broadcast`) are in `cellc.ops`, the gradient reducer
(`nn.DistributedGradReducer`) in `cellc.nn`."""

from cellc import compat

from . import engine, management  # noqa: F401
from .management import *  # noqa: F403
from .management import __all__  # noqa: F401  (mindspore.communication names these)


def __getattr__(name: str):
    raise compat.missing("communication", name)
