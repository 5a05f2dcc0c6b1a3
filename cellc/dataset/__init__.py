"""`mindspore.dataset` as training scripts use it: `NumpySlicesDataset`, `GeneratorDataset`,
`.map`, `.batch`, `.shuffle`, `.repeat`, `.take`, `.skip`, iterators, `get_dataset_size`, and
`num_shards` / `shard_id` for data-parallel training.

Rows are tuples of numpy arrays (one per column); a pipeline is a chain of Python generators
over them, numpy underneath. Iterators yield cellc Tensors (`output_numpy=True`: arrays).
Shuffling draws its seed from numpy's global random state, so `mindspore.set_seed` /
`np.random.seed` make it reproducible. Sharding follows MindSpore's distributed sampler: the
(shuffled) indices are padded by wrapping around to a multiple of `num_shards`, and shard `k`
takes every `num_shards`-th one from `k`, so every shard has the same number of rows. The
shards of one data set must share one order, so a sharded data set shuffles as MindSpore's
sampler does: seeded from the global seed (`set_seed`, else MindSpore's default 5489), plus
one for each pass over it, the same in every process, whatever numpy's state.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np

from cellc import context
from cellc.tensor import Tensor

from . import transforms, vision  # noqa: F401  (mindspore.dataset.transforms / .vision)

Row = tuple  # of numpy arrays, one per column

# MindSpore's dataset seed when no seed is set (std::mt19937's default): a sharded data set's
# order depends on no process's own state
DEFAULT_SEED = 5489


class Dataset:
    """Base of every dataset: a sequence of rows with named columns."""

    def __init__(self, column_names: list[str]):
        self._column_names = list(column_names)

    # --- what a subclass provides -------------------------------------------------------

    def _rows(self) -> Iterator[Row]:
        """One pass over the rows (one epoch)."""
        raise NotImplementedError

    def _size(self) -> int | None:
        """The number of rows of one pass, when known without iterating."""
        return None

    # --- MindSpore's API ----------------------------------------------------------------

    def get_col_names(self) -> list[str]:
        return list(self._column_names)

    def get_dataset_size(self) -> int:
        size = self._size()
        return size if size is not None else sum(1 for _ in self._rows())

    def __len__(self) -> int:
        return self.get_dataset_size()

    def batch(self, batch_size: int, drop_remainder: bool = False, **kwargs) -> Dataset:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"For 'batch', batch_size must be a positive int, got {batch_size!r}")
        return _Batch(self, batch_size, drop_remainder)

    def map(self, operations, input_columns=None, output_columns=None, **kwargs) -> Dataset:
        return _Map(self, operations, input_columns, output_columns)

    def shuffle(self, buffer_size: int) -> Dataset:
        if not isinstance(buffer_size, int) or buffer_size < 2:
            raise ValueError(f"For 'shuffle', buffer_size must be an int >= 2, got {buffer_size!r}")
        return _Shuffle(self, buffer_size)

    def repeat(self, count: int | None = None) -> Dataset:
        return _Repeat(self, None if count in (None, -1) else count)

    def take(self, count: int = -1) -> Dataset:
        return self if count == -1 else _Slice(self, 0, count)

    def skip(self, count: int) -> Dataset:
        return _Slice(self, count, None)

    def create_tuple_iterator(self, columns=None, num_epochs=-1, output_numpy=False, **kwargs):
        indices = self._column_indices(columns)
        for row in self._rows():
            yield [_output(row[i], output_numpy) for i in indices]

    def create_dict_iterator(self, num_epochs=-1, output_numpy=False, **kwargs):
        for row in self._rows():
            yield {
                name: _output(value, output_numpy) for name, value in zip(self._column_names, row)
            }

    def __iter__(self):
        return self.create_tuple_iterator()

    def _column_indices(self, columns) -> list[int]:
        if columns is None:
            return list(range(len(self._column_names)))
        missing = [c for c in columns if c not in self._column_names]
        if missing:
            raise ValueError(f"columns {missing} are not in the dataset ({self._column_names})")
        return [self._column_names.index(c) for c in columns]


def _output(value: np.ndarray, output_numpy: bool):
    return value if output_numpy else Tensor(value)


def _as_array(value) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.asnumpy()
    return np.asarray(value)


# --- sources --------------------------------------------------------------------------------


class _RandomAccess(Dataset):
    """A source of `count` rows read by index, shuffled and sharded by index."""

    def __init__(self, column_names, count, shuffle, num_shards, shard_id, num_samples):
        super().__init__(column_names)
        if (num_shards is None) != (shard_id is None):
            raise ValueError("num_shards and shard_id must be given together")
        if num_shards is not None and not 0 <= shard_id < num_shards:
            raise ValueError(f"shard_id {shard_id} is not in [0, {num_shards})")
        self._count = count
        self._shuffle = True if shuffle is None else bool(shuffle)
        self._num_shards, self._shard_id = num_shards, shard_id
        self._num_samples = num_samples
        self._passes = 0  # shuffled passes over a sharded data set (see _shuffle_seed)

    def _row(self, index: int) -> Row:
        raise NotImplementedError

    def _indices(self) -> list[int]:
        order = list(range(self._count))
        if self._shuffle:
            order = list(np.random.default_rng(self._shuffle_seed()).permutation(order))
        if self._num_shards is not None and order:
            per_shard = math.ceil(len(order) / self._num_shards)
            padded = [order[i % len(order)] for i in range(per_shard * self._num_shards)]
            order = padded[self._shard_id :: self._num_shards]
        if self._num_samples is not None:
            order = order[: self._num_samples]
        return order

    def _shuffle_seed(self) -> int:
        """Unsharded: drawn from numpy's global state. Sharded: the same in every shard (the
        global seed plus the number of passes so far), so that the shards split one order."""
        if self._num_shards is None:
            return np.random.randint(2**31)
        seed = context.get_seed()
        self._passes += 1
        return (DEFAULT_SEED if seed is None else seed) + self._passes - 1

    def _size(self) -> int:
        count = self._count
        if self._num_shards is not None:
            count = math.ceil(count / self._num_shards) if count else 0
        return count if self._num_samples is None else min(count, self._num_samples)

    def _rows(self):
        for index in self._indices():
            yield self._row(int(index))


class NumpySlicesDataset(_RandomAccess):
    """Rows sliced along the first axis of arrays: one array, a list/tuple of them (columns),
    or a dict of column name -> array."""

    def __init__(self, data, column_names=None, num_samples=None, num_parallel_workers=1,
                 shuffle=None, sampler=None, num_shards=None, shard_id=None):  # fmt: skip
        if isinstance(data, dict):
            names, columns = list(data), [_as_array(v) for v in data.values()]
        elif isinstance(data, (list, tuple)) and data and not np.isscalar(data[0]):
            columns = [_as_array(v) for v in data]
            names = [f"column_{i}" for i in range(len(columns))]
        else:
            columns, names = [_as_array(data)], ["column_0"]
        if column_names is not None:
            names = [column_names] if isinstance(column_names, str) else list(column_names)
        if len(names) != len(columns):
            raise ValueError(f"{len(names)} column names for {len(columns)} columns")
        lengths = {len(c) for c in columns}
        if len(lengths) != 1:
            raise ValueError(f"the columns have different lengths: {sorted(lengths)}")
        self._columns = columns
        super().__init__(names, lengths.pop(), shuffle, num_shards, shard_id, num_samples)

    def _row(self, index):
        return tuple(np.asarray(column[index]) for column in self._columns)


class GeneratorDataset(Dataset):
    """Rows from Python: a callable returning an iterator, an iterable, or a random-access
    source (`__getitem__` and `__len__`, which can be shuffled and sharded)."""

    def __init__(self, source, column_names=None, column_types=None, schema=None,
                 num_samples=None, num_parallel_workers=1, shuffle=None, sampler=None,
                 num_shards=None, shard_id=None, **kwargs):  # fmt: skip
        names = [column_names] if isinstance(column_names, str) else list(column_names or [])
        if hasattr(source, "__getitem__") and hasattr(source, "__len__"):
            self._inner = _Indexed(source, names, shuffle, num_shards, shard_id, num_samples)
        else:
            if num_shards is not None:
                raise ValueError(
                    "GeneratorDataset: num_shards needs a random-access source "
                    "(__getitem__ and __len__), not an iterable"
                )
            self._inner = None
        self._source = source
        self._num_samples = num_samples
        super().__init__(names or ["column_0"])

    def _rows(self):
        if self._inner is not None:
            yield from self._inner._rows()
            return
        items = self._source() if callable(self._source) else iter(self._source)
        if self._num_samples is not None:
            items = itertools.islice(items, self._num_samples)
        for item in items:
            yield _row_of(item)

    def _size(self):
        return self._inner._size() if self._inner is not None else None


class _Indexed(_RandomAccess):
    def __init__(self, source, names, shuffle, num_shards, shard_id, num_samples):
        self._source = source
        super().__init__(names, len(source), shuffle, num_shards, shard_id, num_samples)

    def _row(self, index):
        return _row_of(self._source[index])


def _row_of(item) -> Row:
    items = item if isinstance(item, (tuple, list)) else (item,)
    return tuple(_as_array(value) for value in items)


# --- transformations ------------------------------------------------------------------------


class _Batch(Dataset):
    def __init__(self, parent: Dataset, batch_size: int, drop_remainder: bool):
        super().__init__(parent.get_col_names())
        self._parent, self._batch_size, self._drop = parent, batch_size, drop_remainder

    def _rows(self):
        rows = self._parent._rows()
        while True:
            chunk = list(itertools.islice(rows, self._batch_size))
            if not chunk or (self._drop and len(chunk) < self._batch_size):
                return
            yield tuple(np.stack(column) for column in zip(*chunk))

    def _size(self):
        size = self._parent._size()
        if size is None:
            return None
        return size // self._batch_size if self._drop else math.ceil(size / self._batch_size)


class _Map(Dataset):
    def __init__(self, parent: Dataset, operations, input_columns, output_columns):
        names = parent.get_col_names()
        inputs = _column_list(input_columns) or names[:1]
        outputs = _column_list(output_columns) or inputs
        missing = [c for c in inputs if c not in names]
        if missing:
            raise ValueError(f"For 'map', input_columns {missing} are not in the dataset ({names})")
        self._parent = parent
        self._operations: list[Callable] = (
            list(operations) if isinstance(operations, (list, tuple)) else [operations]
        )
        self._inputs = [names.index(c) for c in inputs]
        kept = [n for n in names if n not in inputs]
        # outputs take the place of the first input column, as MindSpore orders them
        first = names.index(inputs[0])
        before = [n for n in names[:first] if n in kept]
        super().__init__(before + outputs + [n for n in kept if n not in before])
        self._outputs = outputs

    def _rows(self):
        names = self._parent.get_col_names()
        for row in self._parent._rows():
            values = tuple(row[i] for i in self._inputs)
            for operation in self._operations:
                result = operation(*values)
                values = tuple(result) if isinstance(result, tuple) else (result,)
            if len(values) != len(self._outputs):
                raise ValueError(
                    f"For 'map', the operations returned {len(values)} columns for output "
                    f"columns {self._outputs}"
                )
            by_name = dict(zip(names, row))
            by_name.update(zip(self._outputs, (_as_array(v) for v in values)))
            yield tuple(by_name[name] for name in self._column_names)

    def _size(self):
        return self._parent._size()


def _column_list(columns) -> list[str] | None:
    if columns is None:
        return None
    return [columns] if isinstance(columns, str) else list(columns)


class _Shuffle(Dataset):
    """A buffer of `buffer_size` rows from which a random one is taken each time."""

    def __init__(self, parent: Dataset, buffer_size: int):
        super().__init__(parent.get_col_names())
        self._parent, self._buffer_size = parent, buffer_size

    def _rows(self):
        rng = np.random.default_rng(np.random.randint(2**31))
        buffer: list = []
        for row in self._parent._rows():
            buffer.append(row)
            if len(buffer) == self._buffer_size:
                yield buffer.pop(int(rng.integers(len(buffer))))
        while buffer:
            yield buffer.pop(int(rng.integers(len(buffer))))

    def _size(self):
        return self._parent._size()


class _Repeat(Dataset):
    def __init__(self, parent: Dataset, count: int | None):
        super().__init__(parent.get_col_names())
        self._parent, self._count = parent, count

    def _rows(self):
        for _ in itertools.count() if self._count is None else range(self._count):
            yield from self._parent._rows()

    def _size(self):
        if self._count is None:
            raise ValueError("the size of a dataset repeated without end is unknown")
        size = self._parent._size()
        return None if size is None else size * self._count


class _Slice(Dataset):
    def __init__(self, parent: Dataset, start: int, stop: int | None):
        super().__init__(parent.get_col_names())
        self._parent, self._start, self._stop = parent, start, stop

    def _rows(self):
        yield from itertools.islice(self._parent._rows(), self._start, self._stop)

    def _size(self):
        size = self._parent._size()
        if size is None:
            return None
        stop = size if self._stop is None else min(size, self._start + self._stop)
        return max(0, stop - self._start)


__all__ = ["Dataset", "GeneratorDataset", "NumpySlicesDataset", "transforms", "vision"]
