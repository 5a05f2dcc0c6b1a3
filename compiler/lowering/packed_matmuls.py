"""Large matmuls read B from packed panels: each NT columns of B contiguous, row after row.

Contract
- `pack_right_operands` rewrites (linalg on tensors, in place) each float linalg.matmul
  C = A @ B that is large (`min_macs` multiply-adds), has PACK_ROWS rows or more, a B (read as
  (k, n) or transposed, (n, k)) of PACK_DEPTH rows or more and N a multiple of the register
  tile's width NT (two SIMD vectors) into (a dynamic size, a batch merged into B's dims, is
  taken as `planned` says; a dynamic K is packed as it is, a dynamic N only where B is
  gathered into the panels, whose inner dims are static and divide by NT):
  - Bp = B copied into panels (N/NT, K, NT): a linalg.transpose of B's expanded view;
  - C3 = the accumulator viewed as (M, N/NT, NT) (a zero fill: filled so directly);
  - a linalg.generic over (m, p, n, k): C3[m, p, n] += A[m, k] * Bp[p, k, n], marked
    PACKED_ATTR; a transposed A is copied into (m, k) first, as the matmul schedule does;
  - its chain of elementwise consumers (`elementwise_consumers`: a bias-add, a ReLU, a
    gradient's mask), rewritten over the same (M, N/NT, NT) view so that they can still be
    fused into the matmul's blocks; the last result (or the generic's) collapsed to (M, N).
- `matmuls_of_panels`, once the schedule has cut each such generic into one panel per
  iteration (p of extent 1), rewrites every tile into a linalg.matmul of the tile's rows of A
  by its panel, (K, NT), into its (rows, NT) columns of C (rank-reducing slices), which the
  matmul schedule then tiles into register tiles like any other.
- Why: a register tile reads one NT-wide piece of a row of B at each k. In place, those pieces
  are a row of B apart: 4 KiB for 1024 floats, so the KC pieces of a slice fall into a few sets
  of L1 and evict each other, and how much so depends on where the buffers happen to lie
  (sgemm 256x1024x1024 on one Zen 4 core: 59-81 GFLOP/s from run to run, OpenBLAS 81-91; the
  same kernel over a 1024x32 B, contiguous: 97-102). GotoBLAS and BLIS pack B for this reason;
  here B is packed once per call, an O(K*N) copy against O(M*N*K) work (hence PACK_ROWS):
  before the matmul's blocks, in parallel blocks of its own, or (at most PANEL_ROWS rows,
  linalg_to_llvm.py) inside each of the matmul's blocks, its own panels just before it reads
  them. A's rows are not packed: a tile reads 6 of them at a time,
  each sequentially.
"""

from __future__ import annotations

from collections.abc import Callable

from mlir import ir
from mlir.dialects import arith, linalg, tensor

from cellc.compiler.ops import linalg_builders as lb

from .gathered_blocks import GATHERED_ATTR
from .parallel_loops import ops_named

PACKED_ATTR = "cellc.packed"
# Below this many rows of A the copy of B costs more than the faster kernel saves. Measured
# first with B packed before the blocks (one core, 7 alternating rounds: 32x1024x1024 packed
# 1.16 ms against 0.93 unpacked), it was 64; with each block packing its own panels (PANEL_ROWS
# in linalg_to_llvm.py), 32 (two threads, 5 rounds, unpacked -> packed: 32x256x256 0.072 ->
# 0.052 ms, 32x256x288 0.057 -> 0.039, 60x256x256 0.127 -> 0.092, 60x784x512 0.341 -> 0.304;
# 16x784x512 0.170 -> 0.176; 8x784x512 0.051 -> 0.119; one core: 32x1024x1024 1.37 -> 1.23,
# 16x1024x1024 0.51 -> 0.84). The small MLP gradient of bench_cpu.py at a batch of 60: 0.253 ->
# 0.159 ms; at 32, 0.142 -> 0.102.
PACK_ROWS = 32
PACK_DEPTH = 16


def pack_right_operands(
    module: ir.Module,
    lanes_bits: int,
    min_macs: int,
    planned: Callable[[ir.Value, int], int],
    max_chain: int,
) -> None:
    """Rewrites the eligible matmuls of `module` as the contract says; `planned(value, axis)`
    is the size a schedule assumes for a dimension of an operand or result (a dynamic one's
    size at a nominal batch), and `max_chain` bounds the consumer chain rewritten with each."""
    m, n, k = (ir.AffineDimExpr.get(d) for d in range(3))
    plain_lhs, plain_rhs = ir.AffineMap.get(3, 0, [m, k]), ir.AffineMap.get(3, 0, [k, n])
    transposed_lhs, transposed_rhs = ir.AffineMap.get(3, 0, [k, m]), ir.AffineMap.get(3, 0, [n, k])
    for op in ops_named(module, "linalg.matmul"):
        lhs, rhs, acc = op.operands
        result = ir.RankedTensorType(op.results[0].type)
        element = result.element_type
        if not all(lb.is_float(ir.ShapedType(v.type).element_type) for v in (lhs, rhs)):
            continue
        if ir.ShapedType(lhs.type).element_type != element:
            continue
        if ir.ShapedType(rhs.type).element_type != element:
            continue
        maps = [plain_lhs, plain_rhs]
        if "indexing_maps" in op.attributes:
            maps = [ir.AffineMapAttr(a).value for a in list(op.attributes["indexing_maps"])[:2]]
        if maps[0] not in (plain_lhs, transposed_lhs) or maps[1] not in (plain_rhs, transposed_rhs):
            continue
        rhs_transposed = maps[1] == transposed_rhs
        cols, depth = ir.RankedTensorType(rhs.type).shape
        if not rhs_transposed:
            cols, depth = depth, cols
        # a dynamic B (a batch merged into its dims): its depth at any size; its columns only
        # where gathered into panels, whose inner dims are static (`_gathered_in_panels`)
        dynamic_cols = ir.ShapedType.is_dynamic_size(cols)
        width = register_tile_width(lanes_bits, element.width)
        rows = planned(op.results[0], 0)
        cols = planned(rhs, 0 if rhs_transposed else 1)
        depth = planned(rhs, 1 if rhs_transposed else 0)
        if (
            cols % width
            or cols == width  # one panel: B is contiguous already
            or depth < PACK_DEPTH
            or rows < PACK_ROWS
            or rows * cols * depth < min_macs
        ):
            continue
        with op.location, ir.InsertionPoint(op):
            panels = _gathered_in_panels(rhs, width, rhs_transposed)
            if panels is None and dynamic_cols:
                continue
            if panels is None:
                panels = _packed(rhs, width, rhs_transposed)
            if maps[0] == transposed_lhs:
                lhs = transposed_copy(lhs)
            chain = elementwise_consumers(op.results[0], max_chain)
            # a body that reads its position (linalg.index) would see the split columns
            indexed = [i for i, c in enumerate(chain) if ops_named(c, "linalg.index")]
            chain = chain[: indexed[0]] if indexed else chain
            product = _panel_product(lhs, panels, _split_columns(acc, width))
        last = op.results[0]
        for consumer in chain:
            with consumer.location, ir.InsertionPoint(consumer):
                product = _split_elementwise(consumer, last, product, width)
            last = consumer.results[0]
        with last.owner.location, ir.InsertionPoint(last.owner):
            merged = tensor.collapse_shape(last.type, product, lb.reassociation([[0], [1, 2]]))
        last.replace_all_uses_with(merged)
        for dead in reversed([op, *chain]):
            dead.erase()


def matmuls_of_panels(module: ir.Module) -> list[ir.Operation]:
    """Each PACKED_ATTR generic of one panel -> a linalg.matmul of its rows of A by the panel
    into the panel's columns of C; returns the new matmuls."""
    made = []
    for op in ops_named(module, "linalg.generic"):
        if PACKED_ATTR not in op.attributes:
            continue
        lhs, panels, acc = op.operands
        with op.location, ir.InsertionPoint(op):
            product = linalg.matmul(lhs, _dropped(panels, 0), outs=[_dropped(acc, 1)])
            merged = _dropped(acc, 1, product)
        made.append(product.owner)
        op.results[0].replace_all_uses_with(merged)
        op.erase()
    return made


def _dropped(x: ir.Value, axis: int, into: ir.Value | None = None) -> ir.Value:
    """The slice of `x` at 0 along `axis` (one element wide), without that axis; with `into`,
    `into` inserted there instead (a rank-reducing extract_slice, or its insert_slice)."""
    x_type = ir.RankedTensorType(x.type)
    sizes = [1 if d == axis else lb.dim(x, d) for d in range(x_type.rank)]
    static = [ir.ShapedType.get_dynamic_size() if isinstance(v, ir.Value) else v for v in sizes]
    dynamic = [v for v in sizes if isinstance(v, ir.Value)]
    zeros, ones = [0] * x_type.rank, [1] * x_type.rank
    if into is not None:
        return tensor.insert_slice(into, x, [], dynamic, [], zeros, static, ones)
    reduced = ir.RankedTensorType.get(
        [size for d, size in enumerate(static) if d != axis], x_type.element_type
    )
    return tensor.extract_slice(reduced, x, [], dynamic, [], zeros, static, ones)


def elementwise_consumers(value: ir.Value, limit: int) -> list[ir.Operation]:
    """The chain of ops after `value` that can be its epilogue: each the only user of the one
    before, a top-level all-parallel linalg.generic of the same result type reading it in
    place (identity maps)."""
    chain = []
    rank = ir.ShapedType(value.type).rank
    while len(chain) < limit and single_use(value):
        use = next(iter(value.uses))
        consumer = use.owner
        if consumer.name != "linalg.generic" or consumer.parent.name != "func.func":
            break
        if len(consumer.results) != 1 or consumer.results[0].type != value.type:
            break
        if any("parallel" not in str(kind) for kind in consumer.attributes["iterator_types"]):
            break
        maps = [ir.AffineMapAttr(attr).value for attr in consumer.attributes["indexing_maps"]]
        identity = ir.AffineMap.get_identity(rank)
        if maps[use.operand_number] != identity or maps[-1] != identity:
            break
        chain.append(consumer)
        value = consumer.results[0]
    return chain


def single_use(value: ir.Value) -> bool:
    uses = iter(value.uses)
    return next(uses, None) is not None and next(uses, None) is None


def unshared_fill(value: ir.Value) -> bool:
    """Whether `value` is a linalg.fill's result that nothing else uses."""
    owner = value.owner
    return not isinstance(owner, ir.Block) and owner.name == "linalg.fill" and single_use(value)


def register_tile_width(lanes_bits: int, bits: int) -> int:
    """Columns of a matmul's register tile: two SIMD vectors of `bits`-bit elements."""
    return 2 * max(1, lanes_bits // bits)


def transposed_copy(x: ir.Value) -> ir.Value:
    """x (R, C) copied into a (C, R) tensor; a dynamic (batch) dim keeps its size."""
    x_type = ir.RankedTensorType(x.type)
    sizes = [lb.dim(x, d) for d in (1, 0)]
    init = tensor.empty(sizes, x_type.element_type)
    return linalg.transpose(x, outs=[init], permutation=[1, 0]).results[0]


def _packed(rhs: ir.Value, width: int, transposed: bool) -> ir.Value:
    """B (K, N), or B^T (N, K), of static N, copied into panels (N/width, K, width)."""
    rhs_type = ir.RankedTensorType(rhs.type)
    element = rhs_type.element_type
    if transposed:
        cols, depth = rhs_type.shape[0], lb.dim(rhs, 1)
        view = _expanded(rhs, 0, width)  # (N/w, w, K)
        permutation = [0, 2, 1]
    else:
        depth, cols = lb.dim(rhs, 0), rhs_type.shape[1]
        view = _expanded(rhs, 1, width)  # (K, N/w, w)
        permutation = [1, 0, 2]
    init = tensor.empty([cols // width, depth, width], element)
    return linalg.transpose(view, outs=[init], permutation=permutation).results[0]


def _gathered_in_panels(rhs: ir.Value, width: int, transposed: bool) -> ir.Value | None:
    """B's producer G cloned to write the panels itself, or None where it cannot be.

    G: a gather, a linalg.generic whose body only yields an element of an input (a
    convolution's im2col, (C, KH, KW, N, OH, OW) reshaped to (K, N) = (C*KH*KW, N*OH*OW)), of
    one result indexed in place, all its loops parallel, reshaped into B. Its leading dims
    make B's rows and the others its columns; the columns' innermost dims, one of them split,
    make a panel's `width` (OH, OW = 16, 16: OH split into (8, 2)). The clone loops over (the
    panel's outer dims, K's dims, the panel's inner dims) and reads its input at the same
    places; its result collapsed so is the panels. G, dead unless others read it (the filter
    gradient reads a convolution's im2col too), goes with the matmul. A convolution's B was
    gathered once and then copied into panels, and the copy cost more than the gather (a
    ResNet block's training step: 5.41 -> 4.90 ms); a second gather costs less than that copy
    too: it reads at most as many elements (fewer, from a smaller input, for an im2col) and
    writes as many."""
    value = rhs
    while isinstance(value, ir.OpResult) and value.owner.name in (
        "tensor.expand_shape",
        "tensor.collapse_shape",
    ):
        value = value.owner.operands[0]
    if not isinstance(value, ir.OpResult) or value.owner.name != "linalg.generic":
        return None
    gather = value.owner
    result_type = ir.RankedTensorType(value.type)
    maps = [ir.AffineMapAttr(a).value for a in gather.attributes["indexing_maps"]]
    body = list(gather.regions[0].blocks[0].operations)
    if (
        len(body) != 1
        or not isinstance(body[0].operands[0], ir.BlockArgument)
        or body[0].operands[0].arg_number >= len(maps) - 1
        or len(gather.results) != 1
        or maps[-1] != ir.AffineMap.get_identity(result_type.rank)
        or any("parallel" not in str(kind) for kind in gather.attributes["iterator_types"])
    ):
        return None
    dims = list(result_type.shape)
    static = [not ir.ShapedType.is_dynamic_size(d) for d in dims]
    first = ir.RankedTensorType(rhs.type).shape[0]
    split = next((j for j in range(len(dims) + 1) if lb.product(dims[:j]) == first), None)
    if split is None or split in (0, len(dims)) or not all(static[:split]):
        return None
    rows, cols = list(range(split)), list(range(split, len(dims)))
    depth_dims, col_dims = (cols, rows) if transposed else (rows, cols)
    # the panel's inner dims: the innermost column dims, the outermost of them split by `factor`;
    # a dynamic dim (the batch) only among the outer ones
    inner, at = 1, len(col_dims)
    while at > 0 and static[col_dims[at - 1]] and width % (inner * dims[col_dims[at - 1]]) == 0:
        at -= 1
        inner *= dims[col_dims[at]]
    factor = width // inner
    if factor > 1:
        if at == 0 or not static[col_dims[at - 1]] or dims[col_dims[at - 1]] % factor:
            return None
        at -= 1
    elif at == len(col_dims):
        return None
    # the new loops, and where each old one is among them
    old_of: dict[int, ir.AffineExpr] = {}
    shape = []

    def loop(size: int) -> ir.AffineExpr:
        shape.append(size)
        return ir.AffineDimExpr.get(len(shape) - 1)

    for d in col_dims[:at]:
        old_of[d] = loop(dims[d])
    split_dim = col_dims[at] if factor > 1 else None
    if split_dim is not None:
        outer = loop(dims[split_dim] // factor)
    for d in depth_dims:
        old_of[d] = loop(dims[d])
    if split_dim is not None:
        old_of[split_dim] = outer * factor + loop(factor)
    for d in col_dims[at + (split_dim is not None) :]:
        old_of[d] = loop(dims[d])
    rank = len(shape)
    substitution = ir.AffineMap.get(rank, 0, [old_of[d] for d in range(len(dims))])
    new_maps = [
        ir.AffineMap.get(rank, 0, [expr.compose(substitution) for expr in old_map.results])
        for old_map in maps[:-1]
    ] + [ir.AffineMap.get_identity(rank)]
    element = result_type.element_type
    with ir.InsertionPoint(gather):
        init = gather.operands[len(maps) - 1]
        dynamic = {
            ir.AffineDimExpr(old_of[d]).position: lb.dim(init, d)
            for d in range(len(dims))
            if not static[d]
        }
        empty = tensor.empty([dynamic.get(i, size) for i, size in enumerate(shape)], element)
    gathered = gather.clone(ip=ir.InsertionPoint(gather))
    gathered.operands[len(maps) - 1] = empty
    gathered.results[0].set_type(empty.type)
    gathered.attributes["indexing_maps"] = lb.maps_attribute(new_maps)
    gathered.attributes["iterator_types"] = lb.iterators_attribute(["parallel"] * rank)
    gathered.attributes[GATHERED_ATTR] = ir.UnitAttr.get()
    outer_count = at + (split_dim is not None)
    groups = [
        list(range(outer_count)),
        list(range(outer_count, outer_count + len(depth_dims))),
        list(range(outer_count + len(depth_dims), rank)),
    ]
    depth = lb.product([dims[d] for d in depth_dims])
    count = lb.product([dims[d] for d in col_dims])
    if not ir.ShapedType.is_dynamic_size(count):
        count //= width
    panels_type = ir.RankedTensorType.get([count, depth, width], element)
    return tensor.collapse_shape(panels_type, gathered.results[0], lb.reassociation(groups))


def _expanded(x: ir.Value, axis: int, width: int) -> ir.Value:
    """x with its `axis` split into (size / width, width): a view."""
    x_type = ir.RankedTensorType(x.type)
    given = [lb.dim(x, d) for d in range(x_type.rank)]
    given[axis] = _divided(given[axis], width)
    shape = [size if isinstance(size, int) else ir.ShapedType.get_dynamic_size() for size in given]
    shape.insert(axis + 1, width)
    given = [size for size in given if isinstance(size, ir.Value)]
    groups, position = [], 0
    for d in range(x_type.rank):
        span = 2 if d == axis else 1
        groups.append(list(range(position, position + span)))
        position += span
    return tensor.expand_shape(
        ir.RankedTensorType.get(shape, x_type.element_type),
        x,
        lb.reassociation(groups),
        given,
        shape,
    )


def _split_columns(acc: ir.Value, width: int) -> ir.Value:
    """The accumulator (M, N) as (M, N/width, width): a zero fill is filled so directly."""
    if unshared_fill(acc):
        element = ir.RankedTensorType(acc.type).element_type
        cols = _divided(lb.dim(acc, 1), width)
        empty = tensor.empty([lb.dim(acc, 0), cols, width], element)
        return linalg.fill(acc.owner.operands[0], outs=[empty])
    return _expanded(acc, 1, width)


def _divided(size: int | ir.Value, width: int) -> int | ir.Value:
    """size / width, of a static size or a dynamic one (arith.divui, here where the caller
    knows that width divides it)."""
    if isinstance(size, int):
        return size // width
    return arith.divui(size, arith.constant(ir.IndexType.get(), width))


def _panel_product(lhs: ir.Value, panels: ir.Value, acc: ir.Value) -> ir.Value:
    """acc[m, p, n] += lhs[m, k] * panels[p, k, n]."""
    m, p, n, k = (ir.AffineDimExpr.get(d) for d in range(4))
    maps = [
        ir.AffineMap.get(4, 0, [m, k]),
        ir.AffineMap.get(4, 0, [p, k, n]),
        ir.AffineMap.get(4, 0, [m, p, n]),
    ]
    product = lb.generic(
        [lhs, panels],
        acc,
        maps,
        ["parallel", "parallel", "parallel", "reduction"],
        lambda a, b, c: lb.add(c, lb.mul(a, b)),
    )
    product.owner.attributes[PACKED_ATTR] = ir.UnitAttr.get()
    return product


def _split_elementwise(
    consumer: ir.Operation, old: ir.Value, new: ir.Value, width: int
) -> ir.Value:
    """`consumer` (2-D, reading `old`) over the columns split as `new` is: (M, N/width, width);
    each operand indexed by the columns is viewed so too."""
    m, p, n = (ir.AffineDimExpr.get(d) for d in range(3))
    inputs, maps = [], []
    for operand, attr in zip(consumer.operands, consumer.attributes["indexing_maps"]):
        old_map = ir.AffineMapAttr(attr).value
        if operand == old:
            inputs.append(new)
            maps.append(ir.AffineMap.get_identity(3))
            continue
        exprs, axis = [], None
        for position, expr in enumerate(old_map.results):
            if expr == ir.AffineDimExpr.get(1):
                exprs += [p, n]
                axis = position
            elif expr == ir.AffineDimExpr.get(0):
                exprs.append(m)
            else:  # a broadcast dim of size 1
                exprs.append(expr)
        inputs.append(operand if axis is None else _expanded(operand, axis, width))
        maps.append(ir.AffineMap.get(3, 0, exprs))
    init, input_values = inputs[-1], inputs[:-1]
    op = linalg.GenericOp(
        result_tensors=[init.type],
        inputs=input_values,
        outputs=[init],
        indexing_maps=lb.maps_attribute(maps),
        iterator_types=lb.iterators_attribute(["parallel"] * 3),
    )
    consumer.regions[0].blocks[0].append_to(op.regions[0])  # the body, as it is
    return op.results[0]
