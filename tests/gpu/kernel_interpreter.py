"""A numpy SIMT interpreter for the kernels and launch plans of `--target cuda`, to check their
numerics on a machine without a GPU.

`run_plan(entry_plan, gpu_text, inputs, weights)` does what runtime/cuda.py does with the
driver (buffers per plan role, copy and launch steps, outputs read back), but each launch runs
the kernel's `gpu.func` from the "gpu" stage (before NVVM) here: every thread of the grid is
one lane of numpy arrays, executed in lockstep, op by op.

  * scf.for with per-lane bounds (`for g = thread_id to N step T`) runs until every lane is
    done, each lane masked off past its own end; scf.if runs both sides under masks.
  * Stores write only the active lanes; loads of inactive lanes read index 0.
  * Shared memory (a `memref.global` in workgroup memory) has one copy per block.
  * `gpu.barrier` is a no-op: in lockstep every thread has finished the ops before it.
  * `gpu.all_reduce` combines in upstream's order (mlir/lib/Dialect/GPU/Transforms/
    AllReduceLowering.cpp): an xor butterfly (offsets 1, 2, 4, 8, 16) within each warp of 32
    consecutive threads, lanes past the block's end skipped; then the same over the warps'
    results; every thread gets the first lane's value. Float results are therefore the bits
    the GPU computes, assuming that lowering.

  * Vectors (the tensor-core kernels' fragments) are per-lane arrays [lanes, *shape].
    `nvgpu.mma.sync` gathers each warp's 32 fragments into the A, B and C matrices by the PTX
    ISA's fragment layouts (`MMA_LAYOUTS`, written from the ISA's tables, not from the
    compiler), multiplies in float64, adds C and rounds to the accumulator type once per
    instruction (the hardware's internal order and precision are not modelled: compare with
    a tolerance); tf32 operands keep their top 19 bits (a no-op on operands rounded by
    `nvvm.convert.float.to.tf32`, which is modelled exactly: rna, ties away from zero).

Uninitialized device memory (outputs and temporaries before a kernel writes them) is NaN for
floats and 0x5A bytes for integers, so a kernel that reads before writing shows it.

What this cannot show: races (lockstep hides a missing barrier), the NVVM/PTX lowering and the
hardware itself (ptxas checks the PTX; tests/gpu/test_linalg_to_gpu.py runs it on a GPU).
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir
from scipy import special

from cellc.dialects import ms

WARP = 32

_DTYPES = {
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
    "i1": np.bool_,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
    "index": np.int64,
}


class InterpreterError(NotImplementedError):
    """An op or form the interpreter does not model; the message names it."""


def _dtype(mlir_type) -> np.dtype:
    name = str(mlir_type)
    if name not in _DTYPES:
        raise InterpreterError(f"element type {name}")
    return np.dtype(_DTYPES[name])


class View:
    """A strided view of a flat device buffer; with `per_block`, one copy per block (shared
    memory): lane l addresses copy block_of[l]."""

    def __init__(self, data, offset, strides, shape, per_block=False):
        self.data, self.offset, self.strides = data, offset, list(strides)
        self.shape, self.per_block = list(shape), per_block

    def address(self, state, indices):
        address = self.offset
        for index, stride in zip(indices, self.strides):
            address = address + index * stride
        if self.per_block:
            size = self.data.size // state.num_blocks
            address = address + state.block_of * size
        return np.broadcast_to(np.asarray(address, np.int64), (state.lanes,))


def _contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= size
    return list(reversed(strides))


def _memref_layout(memref_type: ir.MemRefType):
    """(static offset or None, static strides with None for dynamic ones)."""
    strides, offset = memref_type.get_strides_and_offset()
    dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
    return (None if offset == dynamic else offset), [None if s == dynamic else s for s in strides]


class _State:
    def __init__(self, grid, block):
        self.grid, self.block = grid, block
        self.num_blocks = int(np.prod(grid))
        self.threads = int(np.prod(block))
        self.lanes = self.num_blocks * self.threads
        lane = np.arange(self.lanes, dtype=np.int64)
        self.block_of = lane // self.threads
        thread = lane % self.threads
        self.thread_ids = (
            thread % block[0],
            thread // block[0] % block[1],
            thread // (block[0] * block[1]),
        )
        self.block_ids = (
            self.block_of % grid[0],
            self.block_of // grid[0] % grid[1],
            self.block_of // (grid[0] * grid[1]),
        )
        self.shared: dict[str, View] = {}


def _predicate(op) -> int:
    return ir.IntegerAttr(op.attributes["predicate"]).value


def _unsigned(x):
    x = np.asarray(x)
    return x.view(np.dtype(f"u{x.dtype.itemsize}")) if x.dtype.kind == "i" else x


def _signed_divide(a, b):
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q).astype(np.result_type(a, b))


_CMPI = {
    0: lambda a, b: a == b,
    1: lambda a, b: a != b,
    2: lambda a, b: a < b,
    3: lambda a, b: a <= b,
    4: lambda a, b: a > b,
    5: lambda a, b: a >= b,
    6: lambda a, b: _unsigned(a) < _unsigned(b),
    7: lambda a, b: _unsigned(a) <= _unsigned(b),
    8: lambda a, b: _unsigned(a) > _unsigned(b),
    9: lambda a, b: _unsigned(a) >= _unsigned(b),
}


def _cmpf(predicate, a, b):
    unordered = np.isnan(a) | np.isnan(b)
    base = {
        1: a == b, 2: a > b, 3: a >= b, 4: a < b, 5: a <= b, 6: a != b,
        8: a == b, 9: a > b, 10: a >= b, 11: a < b, 12: a <= b, 13: a != b,
    }  # fmt: skip
    if predicate == 0:
        return np.zeros_like(unordered)
    if predicate == 15:
        return np.ones_like(unordered)
    if predicate == 7:
        return ~unordered
    if predicate == 14:
        return unordered
    return (base[predicate] & ~unordered) if predicate <= 6 else (base[predicate] | unordered)


def _maximumf(a, b):
    return np.maximum(a, b)  # NaN propagates, as arith.maximumf


def _minimumf(a, b):
    return np.minimum(a, b)


_BINARY = {
    "arith.addf": np.add,
    "arith.subf": np.subtract,
    "arith.mulf": np.multiply,
    "arith.divf": np.divide,
    "arith.remf": np.fmod,
    "arith.maximumf": _maximumf,
    "arith.minimumf": _minimumf,
    "arith.maxnumf": np.fmax,
    "arith.minnumf": np.fmin,
    "arith.addi": np.add,
    "arith.subi": np.subtract,
    "arith.muli": np.multiply,
    "arith.andi": np.bitwise_and,
    "arith.ori": np.bitwise_or,
    "arith.xori": np.bitwise_xor,
    "arith.maxsi": np.maximum,
    "arith.minsi": np.minimum,
    "arith.divsi": _signed_divide,
    "arith.remsi": lambda a, b: (a - _signed_divide(a, b) * b).astype(np.result_type(a, b)),
    "arith.maxui": lambda a, b: np.maximum(_unsigned(a), _unsigned(b)).view(np.asarray(a).dtype),
    "arith.minui": lambda a, b: np.minimum(_unsigned(a), _unsigned(b)).view(np.asarray(a).dtype),
    "arith.divui": lambda a, b: (_unsigned(a) // _unsigned(b)).view(np.asarray(a).dtype),
    "arith.remui": lambda a, b: (_unsigned(a) % _unsigned(b)).view(np.asarray(a).dtype),
    "arith.shli": np.left_shift,
    "arith.shrsi": np.right_shift,
    "math.powf": np.power,
    "math.atan2": np.arctan2,
    "math.copysign": np.copysign,
}

_UNARY = {
    "arith.negf": np.negative,
    "math.absf": np.abs,
    "math.absi": np.abs,
    "math.exp": np.exp,
    "math.exp2": np.exp2,
    "math.expm1": np.expm1,
    "math.log": np.log,
    "math.log1p": np.log1p,
    "math.log2": np.log2,
    "math.sqrt": np.sqrt,
    "math.rsqrt": lambda x: (1 / np.sqrt(x)).astype(x.dtype),
    "math.tanh": np.tanh,
    "math.sin": np.sin,
    "math.cos": np.cos,
    "math.erf": lambda x: special.erf(x).astype(x.dtype),
    "math.floor": np.floor,
    "math.ceil": np.ceil,
    "math.round": lambda x: np.where(x >= 0, np.floor(x + 0.5), np.ceil(x - 0.5)).astype(x.dtype),
    "math.roundeven": np.rint,
    "math.trunc": np.trunc,
}

_CASTS = (
    "arith.index_cast",
    "arith.index_castui",
    "arith.extf",
    "arith.truncf",
    "arith.sitofp",
    "arith.fptosi",
    "arith.extsi",
    "arith.trunci",
)

# The all-reduce combiners (gpu.all_reduce's operation -> numpy).
_ALL_REDUCE = {
    "add": np.add,
    "mul": np.multiply,
    "maximumf": _maximumf,
    "minimumf": _minimumf,
    "maxnumf": np.fmax,
    "minnumf": np.fmin,
    "maxsi": np.maximum,
    "minsi": np.minimum,
    "maxui": _BINARY["arith.maxui"],
    "minui": _BINARY["arith.minui"],
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
}


def _butterfly(values: np.ndarray, active: np.ndarray, combine) -> np.ndarray:
    """values[..., 32]: lane 0's result of upstream's xor-shuffle reduction over the first
    `active[...]` lanes (each lane accumulates lane ^ offset when that lane is active)."""
    lane = np.arange(WARP)
    for offset in (1, 2, 4, 8, 16):
        partner = lane ^ offset
        other = values[..., partner]
        valid = partner[(None,) * (values.ndim - 1)] < active[..., None]
        values = np.where(valid, combine(values, other), values)
    return values[..., 0]


def all_reduce(values: np.ndarray, threads: int, kind: str) -> np.ndarray:
    """gpu.all_reduce over each block's threads (values: [blocks, threads]) in upstream's
    order; returns [blocks]."""
    combine = _ALL_REDUCE[kind]
    blocks = values.shape[0]
    warps = -(-threads // WARP)
    padded = np.zeros((blocks, warps * WARP), values.dtype)
    padded[:, :threads] = values
    active = np.minimum(WARP, threads - WARP * np.arange(warps))
    per_warp = _butterfly(
        padded.reshape(blocks, warps, WARP), np.broadcast_to(active, (blocks, warps)), combine
    )
    second = np.zeros((blocks, WARP), values.dtype)
    second[:, :warps] = per_warp
    return _butterfly(second, np.full(blocks, warps), combine)


def tf32_rna(values: np.ndarray) -> np.ndarray:
    """float32 values rounded to tf32 (10 mantissa bits), to nearest, ties away from zero
    (`cvt.rna.tf32.f32`), kept in 32 bits; infinities and NaN unchanged."""
    values = np.asarray(values, np.float32)
    bits = values.view(np.uint32)
    # Adding half a unit of the last kept place to the magnitude, then truncating, rounds
    # ties away from zero (sign-magnitude); a carry into the exponent is the right result.
    rounded = (bits + np.uint32(0x1000)) & np.uint32(0xFFFFE000)
    return np.where(np.isfinite(values), rounded, bits).view(np.float32)


def _tf32_truncate(values: np.ndarray) -> np.ndarray:
    return (np.asarray(values, np.float32).view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)


def _lane_layout(g: np.ndarray, t: np.ndarray, pairs) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of each fragment element for every lane: `pairs` maps (groupID,
    threadID_in_group) to a list of (row, col), one per element."""
    rows, cols = zip(*pairs(g, t))
    return np.stack(rows, axis=1), np.stack(cols, axis=1)


# PTX ISA, "Matrix fragments for mma.m16n8k4" (.tf32) and "for mma.m16n8k16" (.f16): for
# lane l, groupID g = l >> 2 and threadID_in_group t = l % 4; each entry gives the (row, col)
# of the fragment's elements a0, a1, ... (b0..., c0...) in order (the element order of the
# nvgpu vector, row-major: vector<4x2xf16> row i holds a(2i), a(2i+1)).
MMA_LAYOUTS = {
    (16, 8, 4): {
        "a": lambda g, t: [(g, t), (g + 8, t)],
        "b": lambda g, t: [(t, g)],
        "c": lambda g, t: [(g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1)],
    },
    (16, 8, 16): {
        "a": lambda g, t: [
            (g, 2 * t),
            (g, 2 * t + 1),
            (g + 8, 2 * t),
            (g + 8, 2 * t + 1),
            (g, 2 * t + 8),
            (g, 2 * t + 9),
            (g + 8, 2 * t + 8),
            (g + 8, 2 * t + 9),
        ],
        "b": lambda g, t: [(2 * t, g), (2 * t + 1, g), (2 * t + 8, g), (2 * t + 9, g)],
        "c": lambda g, t: [(g, 2 * t), (g, 2 * t + 1), (g + 8, 2 * t), (g + 8, 2 * t + 1)],
    },
}


def mma_layout(shape: tuple[int, int, int], operand: str) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols), each [32 lanes, elements], of an mma.sync operand ("a", "b", "c")."""
    lane = np.arange(WARP)
    return _lane_layout(lane >> 2, lane % 4, MMA_LAYOUTS[tuple(shape)][operand])


def mma_sync(shape, a, b, c, tf32: bool) -> np.ndarray:
    """One nvgpu.mma.sync per warp. a, b, c: [warps, 32, elements] (each lane's fragment,
    flattened); returns D's fragments [warps, 32, elements] in c's dtype."""
    m, n, k = shape
    warps = a.shape[0]
    if tf32:
        a, b = _tf32_truncate(a), _tf32_truncate(b)
    matrices = {}
    for name, values, (rows, cols) in (
        ("a", a, (m, k)),
        ("b", b, (k, n)),
        ("c", c, (m, n)),
    ):
        row, col = mma_layout(shape, name)
        matrix = np.full((warps, rows, cols), np.nan)
        matrix[:, row, col] = values
        if np.isnan(matrix).any() and not np.isnan(values).any():
            raise InterpreterError(f"mma.sync {shape}: the {name} layout leaves holes")
        matrices[name] = matrix
    d = np.matmul(matrices["a"], matrices["b"]) + matrices["c"]
    row, col = mma_layout(shape, "c")
    return d[:, row, col].astype(c.dtype)


class KernelRunner:
    """Runs the kernels of one "gpu" stage module (see the module docstring)."""

    def __init__(self, gpu_text: str):
        self.module = ir.Module.parse(gpu_text, ms.make_context())
        self.kernels, self.globals = {}, {}
        for op in self.module.body:
            if op.operation.name != "gpu.module":
                continue
            for child in op.regions[0].blocks[0]:
                child = child.operation
                name = ir.StringAttr(child.attributes["sym_name"]).value
                if child.name == "gpu.func":
                    self.kernels[name] = child
                elif child.name == "memref.global":
                    self.globals[name] = child

    def launch(self, kernel: str, grid, block, args) -> None:
        """args: a flat numpy buffer per memref parameter, a Python number per scalar."""
        func = self.kernels[kernel]
        state = _State(tuple(grid), tuple(block))
        entry = func.regions[0].blocks[0]
        env = {}
        for argument, value in zip(entry.arguments, args):
            if isinstance(argument.type, ir.MemRefType):
                shape = list(ir.MemRefType(argument.type).shape)
                env[argument] = View(value, 0, _contiguous_strides(shape), shape)
            else:
                env[argument] = np.asarray(value, _dtype(argument.type))
        self._run_block(entry, env, np.ones(state.lanes, bool), state)

    def _run_block(self, block, env, mask, state):
        """Runs the ops of `block`; returns the operands of its terminator (scf.yield)."""
        for op in block:
            op = op.operation
            if op.name in ("scf.yield", "gpu.return"):
                return [env[v] for v in op.operands]
            self._run(op, env, mask, state)
        return []

    def _run(self, op, env, mask, state):  # noqa: C901 (one branch per op family)
        name = op.name
        operands = [env[v] if v in env else None for v in op.operands]
        result = None
        if name == "arith.constant":
            attr = op.attributes["value"]
            dtype = _dtype(op.results[0].type)
            value = ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None
            if isinstance(attr, ir.FloatAttr):
                value = ir.FloatAttr(attr).value
            if value is None:
                raise InterpreterError(f"'{name}' op with {attr}")
            if dtype == np.bool_:
                value = bool(value & 1)
            elif dtype.kind == "i":
                value = np.array(value).astype(np.int64).astype(dtype)  # wrap like the type
            result = np.asarray(value, dtype)
        elif name in _BINARY:
            result = _BINARY[name](*operands)
        elif name in _UNARY:
            result = _UNARY[name](operands[0])
        elif name == "math.fma":
            result = operands[0] * operands[1] + operands[2]
        elif name == "arith.cmpi":
            result = _CMPI[_predicate(op)](*operands)
        elif name == "arith.cmpf":
            result = _cmpf(_predicate(op), *operands)
        elif name == "arith.select":
            result = np.where(*operands)
        elif name in _CASTS:
            result = np.asarray(operands[0]).astype(_dtype(op.results[0].type))
        elif name == "arith.extui":
            result = _unsigned(operands[0]).astype(_dtype(op.results[0].type))
        elif name == "arith.uitofp":
            result = _unsigned(operands[0]).astype(_dtype(op.results[0].type))
        elif name in ("gpu.thread_id", "gpu.block_id", "gpu.block_dim", "gpu.grid_dim"):
            result = self._id(op, state)
        elif name == "gpu.barrier":
            pass
        elif name == "gpu.all_reduce":
            result = self._all_reduce(op, operands[0], mask, state)
        elif name == "memref.get_global":
            result = self._shared(op, state)
        elif name == "memref.subview":
            result = self._subview(op, operands)
        elif name == "memref.load":
            view = operands[0]
            indices = [np.where(mask, i, 0) if np.ndim(i) else i for i in operands[1:]]
            address = view.address(state, indices)
            result = view.data[np.where(mask, address, 0)]
        elif name == "memref.store":
            value, view = operands[0], operands[1]
            address = view.address(state, operands[2:])
            value = np.broadcast_to(np.asarray(value, view.data.dtype), (state.lanes,))
            view.data[address[mask]] = value[mask]
        elif name == "arith.bitcast":
            result = np.asarray(operands[0]).view(_dtype(op.results[0].type))
        elif name == "gpu.lane_id":
            linear = state.thread_ids[0] + state.block[0] * (
                state.thread_ids[1] + state.block[1] * state.thread_ids[2]
            )
            result = linear % WARP
        elif name.startswith(("vector.", "nvgpu.", "nvvm.", "ub.")):
            self._run_vector_op(op, operands, env, mask, state)
            return
        elif name == "scf.for":
            results = self._for(op, operands, env, mask, state)
            for value, out in zip(op.results, results):
                env[value] = out
            return
        elif name == "scf.if":
            results = self._if(op, operands[0], env, mask, state)
            for value, out in zip(op.results, results):
                env[value] = out
            return
        else:
            raise InterpreterError(f"'{name}' op")
        if op.results:
            env[op.results[0]] = result

    def _run_vector_op(self, op, operands, env, mask, state):  # noqa: C901 (one per op)
        """The tensor-core kernels' ops: vectors are [lanes, *shape] arrays."""
        name = op.name
        if name == "vector.to_elements":
            vector = operands[0].reshape(state.lanes, -1)
            for index, value in enumerate(op.results):
                env[value] = vector[:, index]
            return
        result_type = op.results[0].type if op.results else None
        if name == "vector.load":
            view, indices = operands[0], operands[1:]
            count = ir.VectorType(result_type).shape[0]
            base = view.address(state, [np.where(mask, i, 0) if np.ndim(i) else i for i in indices])
            address = base[:, None] + np.arange(count) * view.strides[-1]
            result = view.data[np.where(mask[:, None], address, 0)]
        elif name == "vector.store":
            value, view, indices = operands[0], operands[1], operands[2:]
            count = ir.VectorType(op.operands[0].type).shape[0]
            address = view.address(state, indices)[:, None] + np.arange(count) * view.strides[-1]
            view.data[address[mask]] = np.asarray(value, view.data.dtype)[mask]
            return
        elif name == "vector.from_elements":
            shape = ir.VectorType(result_type).shape
            columns = [np.broadcast_to(np.asarray(v), (state.lanes,)) for v in operands]
            result = np.stack(columns, axis=1).reshape(state.lanes, *shape)
        elif name == "vector.broadcast":
            shape = ir.VectorType(result_type).shape
            source_type = op.operands[0].type
            source_shape = (
                ir.VectorType(source_type).shape if isinstance(source_type, ir.VectorType) else []
            )
            source = _per_lane(operands[0], state)
            ones = [1] * (len(shape) - len(source_shape))
            source = source.reshape(state.lanes, *ones, *source_shape)
            result = np.broadcast_to(source, (state.lanes, *shape)).copy()
        elif name in ("vector.extract", "vector.insert"):
            position = list(ir.DenseI64ArrayAttr(op.attributes["static_position"]))
            if any(p < 0 for p in position):
                raise InterpreterError(f"'{name}' op with a dynamic position")
            index = (slice(None), *position)
            if name == "vector.extract":
                result = np.asarray(operands[0])[index]
            else:
                result = np.array(operands[1], copy=True)
                result[index] = operands[0]
        elif name == "ub.poison":
            result = np.full((state.lanes, *ir.VectorType(result_type).shape), np.nan)
            result = result.astype(_dtype(ir.VectorType(result_type).element_type))
        elif name == "nvvm.convert.float.to.tf32":
            if "rna" not in str(op.attributes["rnd"]):
                raise InterpreterError(f"'{name}' op with {op.attributes['rnd']}")
            result = tf32_rna(operands[0]).view(np.int32)
        elif name == "nvgpu.mma.sync":
            result = self._mma_sync(op, operands, mask, state)
        else:
            raise InterpreterError(f"'{name}' op")
        env[op.results[0]] = result

    def _mma_sync(self, op, operands, mask, state):
        """Warp-wide: every lane of each warp must take part (all 32 active)."""
        if state.threads % WARP or not mask.all():
            raise InterpreterError("'nvgpu.mma.sync' op with partial warps or divergent lanes")
        shape = tuple(ir.IntegerAttr(a).value for a in ir.ArrayAttr(op.attributes["mmaShape"]))
        warps = state.lanes // WARP
        a, b, c = (np.asarray(v).reshape(warps, WARP, -1) for v in operands)
        d = mma_sync(shape, a, b, c, tf32="tf32Enabled" in op.attributes)
        return d.reshape(np.asarray(operands[2]).shape)

    def _id(self, op, state):
        dimension = str(op.attributes["dimension"]).split()[-1].rstrip(">")
        axis = "xyz".index(dimension)
        if op.name == "gpu.thread_id":
            return state.thread_ids[axis]
        if op.name == "gpu.block_id":
            return state.block_ids[axis]
        sizes = state.block if op.name == "gpu.block_dim" else state.grid
        return np.asarray(sizes[axis], np.int64)

    def _all_reduce(self, op, value, mask, state):
        if not mask.all():
            raise InterpreterError("'gpu.all_reduce' op under divergent control flow")
        if "op" not in op.attributes:
            raise InterpreterError("'gpu.all_reduce' op with a region")
        kind = str(op.attributes["op"]).split()[-1].rstrip(">")
        value = np.broadcast_to(np.asarray(value), (state.lanes,))
        per_block = all_reduce(value.reshape(state.num_blocks, state.threads), state.threads, kind)
        return per_block[state.block_of]

    def _shared(self, op, state):
        symbol = ir.FlatSymbolRefAttr(op.attributes["name"]).value
        memref_type = ir.MemRefType(op.results[0].type)
        if "workgroup" not in str(memref_type.memory_space):
            raise InterpreterError(f"'memref.get_global' op of @{symbol} outside shared memory")
        if symbol not in state.shared:
            shape = list(memref_type.shape)
            data = np.full(state.num_blocks * math.prod(shape), np.nan)
            data = data.astype(_dtype(memref_type.element_type))
            state.shared[symbol] = View(data, 0, _contiguous_strides(shape), shape, per_block=True)
        return state.shared[symbol]

    def _subview(self, op, operands):
        source = operands[0]
        dynamic = ir.ShapedType.get_dynamic_stride_or_offset()
        dynamic_values = iter(operands[1:])

        def values(attribute):
            out = []
            for static in ir.DenseI64ArrayAttr(op.attributes[attribute]):
                out.append(
                    next(dynamic_values)
                    if static in (dynamic, ir.ShapedType.get_dynamic_size())
                    else static
                )
            return out

        offsets, _sizes, steps = (
            values("static_offsets"),
            values("static_sizes"),
            values("static_strides"),
        )
        offset = source.offset
        for index, stride in zip(offsets, source.strides):
            offset = offset + index * stride
        result_type = ir.MemRefType(op.results[0].type)
        _static_offset, strides = _memref_layout(result_type)
        if None in strides:
            raise InterpreterError("'memref.subview' op with dynamic strides")
        del steps
        return View(source.data, offset, strides, result_type.shape, source.per_block)

    def _for(self, op, operands, env, mask, state):
        lower, upper, step, *carried = operands
        body = op.regions[0].blocks[0]
        iv = np.broadcast_to(np.asarray(lower, np.int64), (state.lanes,)).copy()
        carried = [_per_lane(c, state) for c in carried]
        while True:
            active = mask & (iv < upper)
            if not active.any():
                return carried
            env[body.arguments[0]] = iv
            for argument, value in zip(list(body.arguments)[1:], carried):
                env[argument] = value
            yielded = self._run_block(body, env, active, state)
            carried = [_lanes_where(active, y, c) for y, c in zip(yielded, carried)]
            iv = iv + step

    def _if(self, op, condition, env, mask, state):
        condition = np.broadcast_to(np.asarray(condition, bool), (state.lanes,))
        then = self._run_block(op.regions[0].blocks[0], env, mask & condition, state)
        if not op.results:
            if len(op.regions) > 1 and len(op.regions[1].blocks):
                self._run_block(op.regions[1].blocks[0], env, mask & ~condition, state)
            return []
        otherwise = self._run_block(op.regions[1].blocks[0], env, mask & ~condition, state)
        return [_lanes_where(condition, t, e) for t, e in zip(then, otherwise)]


def _per_lane(value, state) -> np.ndarray:
    """A scalar broadcast to one value per lane; a vector ([lanes, *shape]) copied."""
    value = np.asarray(value)
    if value.ndim == 0:
        return np.broadcast_to(value, (state.lanes,)).copy()
    return value.copy()


def _lanes_where(mask, a, b):
    """np.where over lanes, for scalars ([lanes]) and vectors ([lanes, *shape]) alike."""
    a, b = np.asarray(a), np.asarray(b)
    mask = np.asarray(mask).reshape((-1,) + (1,) * (max(a.ndim, b.ndim, 1) - 1))
    return np.where(mask, a, b)


def _uninitialized(spec: dict) -> np.ndarray:
    dtype = np.dtype("int8" if spec["dtype"] == "bool" else spec["dtype"])
    size = int(np.prod(spec["shape"], dtype=np.int64))
    if dtype.kind == "f":
        return np.full(size, np.nan, dtype)
    return np.frombuffer(b"\x5a" * (size * dtype.itemsize), dtype).copy()


def run_plan(entry: dict, gpu_text: str, inputs, weights=()) -> list[np.ndarray]:
    """Executes one entry of a launch plan (launch_plan.py's layout) with the kernels of the
    "gpu" stage interpreted; returns the outputs, as runtime/cuda.py's CudaEntry would."""
    runner = KernelRunner(gpu_text)
    buffers = {}
    for role, key in (
        ("input", "inputs"),
        ("weight", "weights"),
        ("output", "outputs"),
        ("temp", "temporaries"),
    ):
        for index, spec in enumerate(entry[key]):
            buffers[f"{role}:{index}"] = _uninitialized(spec)
    for index, spec in enumerate(entry["constants"]):
        buffers[f"const:{index}"] = np.asarray(spec["values"], spec["dtype"]).reshape(-1)
    for role, arrays in (("input", inputs), ("weight", weights)):
        for index, array in enumerate(arrays):
            target = buffers[f"{role}:{index}"]
            target[...] = np.ascontiguousarray(array).reshape(-1).view(target.dtype)
    for step in entry["steps"]:
        if step["op"] == "copy":
            source, target = buffers[step["src"]], buffers[step["dst"]]
            target.view(np.uint8)[: step["nbytes"]] = source.view(np.uint8)[: step["nbytes"]]
            continue
        args = [buffers[a["buffer"]] if "buffer" in a else a["value"] for a in step["args"]]
        runner.launch(step["kernel"], step["grid"], step["block"], args)
    outputs = []
    for index, spec in enumerate(entry["outputs"]):
        data = buffers[f"output:{index}"]
        if spec["dtype"] == "bool":
            data = data.view(np.bool_)
        outputs.append(data.reshape(spec["shape"]))
    return outputs
