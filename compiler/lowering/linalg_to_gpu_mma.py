"""`convert-linalg-to-gpu-mma`: matmuls -> warp-level tensor-core kernels (`nvgpu.mma.sync`)
for sm_80 and newer.

Contract
--------
Lowers: every `linalg.matmul` in host code (after `gpu-bufferize`: static memrefs, any operand
maps) when the chip is sm_80 or newer and
  * its operands are f32 and tf32 is allowed (`allow_tf32`, opt-in as PyTorch's
    `torch.backends.cuda.matmul.allow_tf32`: tf32 keeps 10 of the inputs' 23 mantissa bits):
    `mma.sync.aligned.m16n8k4.row.col.f32.tf32.tf32.f32`, f32 accumulators; or
  * its operands are f16: `m16n8k16 ... .f16.f16.f16.f16`, f16 accumulators (what a
    linalg.matmul on f16 computes: it accumulates in its output type);
and M, N are multiples of 64 and K of the instruction's k (4 or 16; `gpu-pad-matmuls` pads the
f32 matmuls to 64x64x16). Each becomes one `gpu.launch`:

    grid  = (N / 64, M / 64)   one block per 64x64 tile of C
    block = (64, 2, 1)         four warps, 2 x 2, each owning a 32x32 tile of C:
                               2 x 4 instruction tiles of 16x8
    warp:  acc[i][j] = C fragments                        (read once)
           for k in 0..K step k_mma:                      (scf.for, acc as iter_args)
             a[i] = A fragments, b[j] = B fragments       (each lane its own elements)
             acc[i][j] = mma.sync(a[i], b[j], acc[i][j])
           C fragments = acc[i][j]                        (written once)

The accumulators live in registers for the whole K loop; A and B are read straight from
global memory (no shared-memory staging yet). Fragments follow the PTX ISA's layouts for
mma.m16n8k4 (.tf32) and mma.m16n8k16 (.f16) (groupID = lane / 4, threadID_in_group = lane % 4).
With tf32, A and B are rounded to tf32 (`nvvm.convert.float.to.tf32` rna: `cvt.rna.tf32.f32`,
round to nearest, ties away from zero) before each mma, so the numerics are the PTX ISA's,
not whatever the tensor cores make of the low 13 bits.

Built from upstream transform ops and passes: `tile_using_forall` (blocks, then warps:
`#gpu.warp<y/x>`), `tile_using_for` (K, then 16x8), `loop.unroll` (the 2x4 instruction tiles),
`structured.vectorize {create_named_contraction}` (vector.contract), `fold_memref_alias_ops`
and `hoist_redundant_vector_transfers` (the accumulators out of the K loop), `map_forall_to_
blocks` / `map_nested_forall_to_threads`, then the pass `convert-vector-to-gpu{use-nvgpu=1}`
(per-lane loads in the fragment layouts, vector.contract -> nvgpu.mma.sync). Own code here:
which matmuls qualify, `tf32Enabled` on the f32 mma.sync ops and the tf32 rounding.

Assumes: static shapes; runs after `convert-linalg-to-gpu-block-reductions` and before
`convert-linalg-to-gpu-launch` (which tiles every linalg op left, such as C's zero fill).

Illegal after it: nothing new. The launches hold vector loads/stores, vector.from_elements /
to_elements / extract / insert / broadcast, `gpu.lane_id`, `nvgpu.mma.sync` and
`nvvm.convert.float.to.tf32`; `gpu-to-nvvm` lowers them (`convert-nvgpu-to-nvvm`,
`convert-vector-to-llvm`, after unrolling n-D `vector.from_elements`).

Gaps: no shared-memory staging (ldmatrix) and no double buffering, so nothing is known of its
speed; bf16 (needs f32 accumulators: an f32 output with extf'd bf16 inputs, which
`gpu_ir.matmul_sizes` does not take) and f16 with f32 accumulators are not taken; sm_90's
wgmma is not used (sm_90 runs these mma.sync kernels).
"""

from __future__ import annotations

from mlir import ir
from mlir.dialects import func

from cellc.compiler import pass_pipelines

from .gpu_ir import apply_transform, functions, matmul_sizes, run_pipeline, walk

MMA_MIN_CHIP = 80  # mma.sync with tf32 / f16 operands: sm_80 (Ampere) and newer
MMA_BLOCK_TILE = (64, 64)  # (M, N) of C per block
MMA_WARPS = (2, 2)  # (y, x) warps per block, each a 32x32 tile of C
MMA_BLOCK_DIMS = (64, 2, 1)  # 2 warps along x (64 threads), 2 along y
# Element type -> (m, n, k) of the mma.sync instruction.
MMA_SHAPES = {"f32": (16, 8, 4), "f16": (16, 8, 16)}

_ANY = "!transform.any_op"


def chip_version(chip: str) -> int:
    """`sm_86` -> 86."""
    return int(chip.removeprefix("sm_"))


def _flag(value: bool | str) -> bool:
    """A pass option from `cellc opt` arrives as text (`allow_tf32=1`)."""
    if isinstance(value, str):
        return value.lower() in ("1", "true", "yes", "on")
    return bool(value)


def mma_shape(op: ir.Operation, chip: str, allow_tf32: bool) -> tuple[int, int, int] | None:
    """The mma.sync shape that runs `op` on `chip`, or None when it does not qualify (see the
    module docstring)."""
    if chip_version(chip) < MMA_MIN_CHIP or op.name != "linalg.matmul":
        return None
    if any(not isinstance(v.type, ir.MemRefType) for v in op.operands):
        return None
    sizes = matmul_sizes(op, tuple(MMA_SHAPES))
    element = str(ir.ShapedType(op.operands[0].type).element_type)
    if sizes is None or element not in MMA_SHAPES or (element == "f32" and not allow_tf32):
        return None
    m, n, k = sizes
    shape = MMA_SHAPES[element]
    if m % MMA_BLOCK_TILE[0] or n % MMA_BLOCK_TILE[1] or k % shape[2]:
        return None
    return shape


def convert_matmuls_to_gpu_mma(
    module: ir.Module, chip: str = "sm_80", allow_tf32: bool | str = False
) -> int:
    """Every qualifying matmul -> one gpu.launch of warp-level mma.sync tiles.

    The pass `convert-linalg-to-gpu-mma{chip=sm_80 allow_tf32=1}`, in place; returns how many
    matmuls it rewrote."""
    allow_tf32 = _flag(allow_tf32)
    with module.context, ir.Location.unknown():
        matmuls = []
        for func in functions(module):
            for op in walk(func):
                shape = mma_shape(op, chip, allow_tf32)
                if shape is not None and not _inside_launch(op):
                    matmuls.append((op, shape))
        for op, shape in matmuls:
            _rewrite(op, shape)
    return len(matmuls)


def _rewrite(op: ir.Operation, shape: tuple[int, int, int]) -> None:
    """The matmul becomes its kernel in a function of its own (a scratch module), which then
    replaces it: upstream's convert-vector-to-gpu also takes scalar arith ops elsewhere in a
    function for fragment ops (and fails on them), so it must see the kernel alone."""
    scratch = ir.Module.create()
    with ir.InsertionPoint(scratch.body):
        kernel = func.FuncOp("mma", ir.FunctionType.get([v.type for v in op.operands], []))
        entry = kernel.add_entry_block()
        with ir.InsertionPoint(entry):
            clone = op.clone()
            for index, argument in enumerate(entry.arguments):
                clone.operands[index] = argument
            func.ReturnOp([])
    clone.attributes["cellc.mma"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 0)
    apply_transform(scratch, _script(0, shape))
    run_pipeline(scratch, pass_pipelines.GPU_VECTOR_TO_MMA)
    _enable_tf32(scratch)
    for kernel_op in list(entry.operations)[:-1]:  # all but the return
        kernel_op.move_before(op)
    for argument, value in zip(entry.arguments, op.operands):
        argument.replace_all_uses_with(value)
    op.erase()


def _inside_launch(op: ir.Operation) -> bool:
    parent = op.parent
    while parent is not None:
        if parent.name == "gpu.launch":
            return True
        parent = parent.parent
    return False


def _script(i: int, shape: tuple[int, int, int]) -> str:
    """Tiles matmul `i` onto blocks, warps, the K loop and 16x8 instruction tiles, vectorizes
    the tiles, hoists the accumulators out of the K loop and maps it onto a gpu.launch."""
    m, n, k = shape
    warp_m, warp_n = (MMA_BLOCK_TILE[0] // MMA_WARPS[0], MMA_BLOCK_TILE[1] // MMA_WARPS[1])
    x, y, z = MMA_BLOCK_DIMS
    return (
        f"    %op{i} = transform.structured.match attributes{{cellc.mma = {i} : i64}} in %root"
        f" : ({_ANY}) -> {_ANY}\n"
        f'    %fn{i} = transform.get_parent_op %op{i} {{op_name = "func.func"}}'
        f" : ({_ANY}) -> {_ANY}\n"
        f"    %b{i}, %blk{i} = transform.structured.tile_using_forall %op{i} tile_sizes"
        f" [{MMA_BLOCK_TILE[0]}, {MMA_BLOCK_TILE[1]}]"
        f" (mapping = [#gpu.block<y>, #gpu.block<x>]) : ({_ANY}) -> ({_ANY}, {_ANY})\n"
        f"    %w{i}, %warps{i} = transform.structured.tile_using_forall %b{i} num_threads"
        f" [{MMA_WARPS[0]}, {MMA_WARPS[1]}] (mapping = [#gpu.warp<y>, #gpu.warp<x>])"
        f" : ({_ANY}) -> ({_ANY}, {_ANY})\n"
        f"    %k{i}, %kloop{i} = transform.structured.tile_using_for %w{i} tile_sizes [0, 0, {k}]"
        f" : ({_ANY}) -> ({_ANY}, {_ANY})\n"
        f"    %t{i}, %rows{i}, %cols{i} = transform.structured.tile_using_for %k{i}"
        f" tile_sizes [{m}, {n}, 0] : ({_ANY}) -> ({_ANY}, {_ANY}, {_ANY})\n"
        f"    transform.loop.unroll %cols{i} {{factor = {warp_n // n}}} : {_ANY}\n"
        f"    transform.loop.unroll %rows{i} {{factor = {warp_m // m}}} : {_ANY}\n"
        f'    %tiles{i} = transform.structured.match ops{{["linalg.matmul"]}} in %blk{i}'
        f" : ({_ANY}) -> {_ANY}\n"
        f"    transform.structured.vectorize %tiles{i} {{create_named_contraction}} : {_ANY}\n"
        f"    %tag{i} = transform.param.constant {i} : i64 -> !transform.param<i64>\n"
        f'    transform.annotate %blk{i} "cellc.mma_launch" = %tag{i}'
        f" : {_ANY}, !transform.param<i64>\n"
        f"    transform.apply_patterns to %blk{i} {{\n"
        f"      transform.apply_patterns.memref.fold_memref_alias_ops\n"
        f"      transform.apply_patterns.canonicalization\n"
        f"    }} : {_ANY}\n"
        f"    transform.apply_cse to %fn{i} : {_ANY}\n"
        f"    %h{i} = transform.structured.hoist_redundant_vector_transfers %fn{i}"
        f" : ({_ANY}) -> {_ANY}\n"
        f"    transform.apply_cse to %h{i} : {_ANY}\n"
        f"    %f{i} = transform.structured.match attributes{{cellc.mma_launch = {i} : i64}}"
        f" in %h{i} : ({_ANY}) -> {_ANY}\n"
        f"    %l{i} = transform.gpu.map_forall_to_blocks %f{i} generate_gpu_launch"
        f" : ({_ANY}) -> {_ANY}\n"
        f"    %g{i} = transform.gpu.map_nested_forall_to_threads %l{i}"
        f" block_dims = [{x}, {y}, {z}] : ({_ANY}) -> {_ANY}\n"
    )


def _enable_tf32(module: ir.Module) -> None:
    """nvgpu.mma.sync on f32 operands -> tf32Enabled (the opt-in), A and B rounded to tf32
    (rna) first. Each operand vector is rounded once, however many mma.sync ops read it."""
    rounded: dict = {}
    for function in functions(module):
        for op in list(walk(function)):
            if op.name != "nvgpu.mma.sync":
                continue
            if str(ir.VectorType(op.operands[0].type).element_type) != "f32":
                continue
            op.attributes["tf32Enabled"] = ir.UnitAttr.get()
            for index in (0, 1):
                operand = op.operands[index]
                if operand not in rounded:
                    with ir.InsertionPoint(op):
                        rounded[operand] = _round_to_tf32(operand)
                op.operands[index] = rounded[operand]


def _round_to_tf32(vector: ir.Value) -> ir.Value:
    """Each element of an f32 vector rounded to tf32 (`cvt.rna.tf32.f32`, kept in 32 bits), at
    the current insertion point."""
    vector_type = ir.VectorType(vector.type)
    f32, i32 = vector_type.element_type, ir.IntegerType.get_signless(32)
    count = 1
    for size in vector_type.shape:
        count *= size
    elements = ir.Operation.create(
        "vector.to_elements", results=[f32] * count, operands=[vector]
    ).results
    rounded = []
    for element in elements:
        tf32 = ir.Operation.create(
            "nvvm.convert.float.to.tf32",
            results=[i32],
            operands=[element],
            attributes={"rnd": ir.Attribute.parse("#nvvm.fp_rnd_mode<rna>")},
        ).result
        rounded.append(ir.Operation.create("arith.bitcast", results=[f32], operands=[tf32]).result)
    return ir.Operation.create(
        "vector.from_elements", results=[vector_type], operands=rounded
    ).result
