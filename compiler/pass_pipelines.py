"""Upstream MLIR pass pipelines, as textual pipeline strings (STYLE rule 5).

Each constant is one stage of the compiler; the Python passes of cellc (`ms-expand-grad`,
`convert-ms-to-linalg`) are not here but in their packages' `PASSES` tables. Options are spelled
out so that a reader sees the whole contract of each stage in one place.
"""

from __future__ import annotations


def _sequence(*passes: str) -> str:
    """Passes in order, as the comma-separated body of a textual pipeline."""
    return ",".join(passes)


# linalg on tensors: fuse chains of elementwise generics (a * b + c -> one loop nest, no
# temporary buffer), then fold the constants and duplicates it leaves.
LINALG_FUSION = "builtin.module(linalg-fuse-elementwise-ops,canonicalize,cse)"

# tensor.dim of an op's result -> computed from its operands' sizes (a reshape's from its
# source's, a linalg op's from its destination's), then the duplicates it leaves folded.
RESOLVE_DIMS = "builtin.module(resolve-ranked-shaped-type-result-dims,cse)"

# linalg on tensors -> memrefs, destination-passing at function boundaries.
# - one-shot-bufferize across functions, with identity layouts on function signatures (so the
#   runtime passes plain contiguous row-major buffers);
# - buffer-results-to-out-params: every tensor result becomes a trailing memref argument that
#   the caller allocates; `hoist-static-allocs` lets the last op write straight into it, and a
#   result that is an argument, a constant or a view of either is copied (never aliased);
#   `hoist-dynamic-allocs` does the same for a dynamic batch's result, whose every `?` is the
#   batch that the caller allocated it for (dynamic_entry_abi.py); without it, such a result
#   was computed in a buffer of its own and copied (a 256x256 matmul gradient at a dynamic
#   batch: 1.15x the static code's time on 2 threads);
# - promote-buffers-to-stack: a temporary of at most 1 KiB (upstream's default) whose buffer is
#   made outside any loop lives on the stack (`alloca`, no malloc/free; allocations inside a loop
#   stay on the heap: the pass leaves them);
# - buffer-deallocation-pipeline frees every other temporary buffer (malloc/free; no global
#   state).
# - canonicalize right after bufferizing folds the memref iter_args of the tiled matmul loops
#   (yielded unchanged), so that the function returns the allocation itself and
#   hoist-static-allocs can turn it into the out-param (no temporary, no copy);
BUFFERIZE = _sequence(
    (
        "one-shot-bufferize{bufferize-function-boundaries=1 "
        "function-boundary-type-conversion=identity-layout-map}"
    ),
    "canonicalize",
    "buffer-results-to-out-params{hoist-static-allocs=1 hoist-dynamic-allocs=1 "
    "modify-public-functions=1}",
    "canonicalize",
    "func.func(promote-buffers-to-stack)",
    "buffer-deallocation-pipeline",
    "convert-bufferization-to-memref",
)

# linalg on memrefs -> scf loops (LLVM's own vectorizer, `opt -O2` in llvm_to_object, turns the
# innermost loops into SIMD code). A parallel loop that `cpu-outline-parallel-loops` left in place
# (one iteration, or captures it cannot pass) runs serially. Nested on func.func, as most of
# TO_LLVM is (see there).
LINALG_TO_LOOPS = (
    "func.func("
    + _sequence(
        "scf-forall-to-for",
        "convert-linalg-to-loops",
        "canonicalize",
        "cse",
    )
    + ")"
)

# vector/scf/memref/arith/math/func -> LLVM dialect. Functions take bare pointers
# (`use-bare-ptr-memref-call-conv`): `void f(T* in0, ..., T* out0, ...)`. The vector code of
# the matmul micro-kernels (`linalg_to_llvm.VECTOR_LOWERING` left 1-D transfers and FMAs) is
# fully unrolled (`full-unroll`: no stack temporaries inside loops) and becomes LLVM vectors.
# math ops become LLVM intrinsics (exp, log, tanh: calls into libm after instruction selection,
# vectorized through libmvec by `opt`, see OPT_FLAGS).
# The passes that stay inside a function run nested on `func.func` (on `llvm.func` after the
# function conversion), so MLIR's thread pool runs them on several functions at once (each
# loop nest is a function of its own, loop_nests.py); those that add declarations to the module
# (libm's, malloc's) or convert the functions themselves run on the module; the order of any
# two passes is the one they had when all ran on the module. The same LLVM dialect comes out
# (compared as text: the seed gradient and the MLP, LeNet and ResNet-block training steps of
# bench_train.py, each static and at a dynamic batch), and LINALG_TO_LOOPS with TO_LLVM take
# 0.24 s instead of 0.37 on a LeNet step, 0.35 s instead of 0.58 at a dynamic batch (medians
# of 5 alternating runs on 2 cores, without the per-pass verifier).
TO_LLVM = _sequence(
    "func.func("
    + _sequence(
        "convert-vector-to-scf{full-unroll=1}",
        "expand-strided-metadata",
        "lower-affine",
        "convert-scf-to-cf",
        "convert-vector-to-llvm",
        "convert-ub-to-llvm",
        "convert-math-to-llvm",
    )
    + ")",
    "convert-math-to-libm",
    "finalize-memref-to-llvm",
    "func.func(convert-arith-to-llvm,convert-index-to-llvm)",
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1}",
    "convert-cf-to-llvm",
    "reconcile-unrealized-casts",
    "llvm.func(canonicalize)",
)

# The whole CPU back end after convert-ms-to-linalg.
LINALG_TO_LLVM = f"builtin.module({BUFFERIZE},{LINALG_TO_LOOPS},{TO_LLVM})"

# LLVM IR optimization (`opt`) and code generation (`llc`) flags.
# `opt` runs a short function pipeline of its own (OPT_PASSES), not `-O2`: the code MLIR hands it
# is already tiled, vectorized and unrolled where it matters (the matmul micro-kernels), and
# what is left for LLVM is to clean up the lowered address arithmetic, hoist invariants out of
# the loops and vectorize the elementwise and reduction loops. `-O2`'s interprocedural passes,
# inliner, loop idioms and repeated function simplifications bought nothing on this code.
# A LeNet training step's module, three runs each: `opt` 0.88-1.18 -> 0.54-0.56 s of CPU, and
# `llc` on the smaller IR 0.58-0.67 -> 0.52-0.56 s. The code runs as fast: 11 alternating rounds
# each, all within 3% either way (the 256x1024^3 MLP gradient, the 1024^2 matmul gradient,
# LeNet, MLP and ResNet-block training steps, a softmax of tanh and sigmoid over 256x4096).
# - `inject-tli-mappings` before the vectorizer: without it, loops calling exp/log/tanh stay
#   scalar (the softmax above ran 30% slower).
# - `-vector-library=LIBMVEC`: such loops vectorize into glibc's libmvec (`_ZGVdN8v_expf`...;
#   linked by llvm_to_object), instead of staying scalar libm calls.
# (Before this, `-O2` rather than `-O3`: -O3's extra unrolling and unswitching made the
# micro-kernels slower, sgemm 1024^3 5.7 -> 6.6 ms.)
# `-disable-lsr`: Loop Strength Reduction took 58% of `llc`'s time on a LeNet training step's
# code (1.0 of 1.7 s: the unrolled micro-kernels and gathers have hundreds of address uses per
# loop), and the code ran as fast without it (6 alternating runs each, static steps: LeNet 2.78
# -> 2.84 ms, ResNet block 8.8 -> 8.1, MLP and sgemm 1024^3 unchanged within noise): a LeNet
# step's export 3.1 -> 2.2 s.
# `-unroll-threshold=50 -unroll-runtime=false`: LLVM's own loop unrolling (the micro-kernels are
# unrolled by MLIR already) took a third of `opt` on a LeNet step; unrolling only small loops
# and none by a runtime trip count ran as fast (6 alternating runs each: ResNet block, LeNet,
# MLP steps, sgemm 1024^3 and a softmax of tanh and exp, all within noise). Without any
# unrolling (`-disable-loop-unrolling`) the ResNet step ran 25% slower.
_INSTCOMBINE = "instcombine<no-verify-fixpoint>"  # one round each; no check for a fixpoint
OPT_PASSES = _sequence(
    "sroa",
    "early-cse",
    _INSTCOMBINE,
    "simplifycfg",
    "loop-mssa(loop-rotate,licm)",
    "loop(indvars)",
    "gvn",
    "inject-tli-mappings",
    "loop-vectorize",
    # the cleanup after the vectorizers, as -O2's
    "loop-load-elim",
    _INSTCOMBINE,
    "simplifycfg",
    "slp-vectorizer",
    "vector-combine",
    _INSTCOMBINE,
    "loop-unroll",
    _INSTCOMBINE,
    "loop-mssa(licm)",
    "simplifycfg",
)
OPT_FLAGS = (
    f"-passes=function({OPT_PASSES})",
    "-unroll-threshold=50",
    "-unroll-runtime=false",
    "-vector-library=LIBMVEC",
)
LLC_FLAGS = ("-O3", "-disable-lsr", "-relocation-model=pic", "-filetype=obj")

# ---------------------------------------------------------------------------------------------
# GPU (`--target cuda`): the stages composed in compiler/lowering/linalg_to_gpu.py.
# ---------------------------------------------------------------------------------------------

# Before bufferizing: fuse chains of elementwise linalg.generic ops (fewer kernels, fewer
# temporaries) and fold the tensor.empty/fill producers they leave behind.
GPU_PRE_BUFFERIZE = "builtin.module(inline,linalg-fuse-elementwise-ops,canonicalize,cse)"

# After gpu-split-reductions and gpu-pad-matmuls (each ends with it): fold the fills and
# constants the rewrites leave and drop the ops they replaced.
GPU_AFTER_REWRITE = "builtin.module(canonicalize,cse)"

# Tensors -> memrefs, destination-passing at function boundaries like the CPU path, but with no
# deallocation pipeline: temporaries are device buffers the launch plan owns.
GPU_BUFFERIZE = (
    "builtin.module(one-shot-bufferize{bufferize-function-boundaries=1 "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1},"
    "canonicalize,cse)"
)

# convert-linalg-to-gpu-mma, after its transform script: the warps' vector.contract ops on
# 16x8 tiles -> nvgpu.mma.sync, their transfers -> per-lane loads/stores in the PTX fragment
# layouts (upstream's VectorToGPU, mma.sync flavour).
GPU_VECTOR_TO_MMA = "builtin.module(func.func(convert-vector-to-gpu{use-nvgpu=1}),canonicalize,cse)"

# After the transform scripts mapped foralls to gpu.launch (convert-linalg-to-gpu-launch): the
# linalg ops left inside the kernels (per-thread tiles) become loops.
GPU_PREPARE_KERNELS = "builtin.module(func.func(convert-linalg-to-loops),canonicalize,cse)"

# One gpu.module + gpu.func per gpu.launch; index/arith constants are sunk into the kernels.
GPU_OUTLINE = (
    "builtin.module(gpu-launch-sink-index-computations,gpu-kernel-outlining,canonicalize,cse)"
)
GPU_CLEANUP = "builtin.module(lower-affine,canonicalize,cse)"


def gpu_to_nvvm(chip: str = "sm_80", features: str = "+ptx80") -> str:
    """Kernels (gpu.module) -> NVVM + LLVM dialect, target attached (`--emit=nvvm`).

    The gpu.module half of upstream's `gpu-lower-to-nvvm-pipeline`, spelled out so that the NVVM
    stage can be printed before serialization. Kernels take bare pointers
    (`use-bare-ptr-memref-call-conv`): one `T*` per memref argument (static shapes), so the
    runtime passes device pointers and scalars by value, nothing else. The tensor-core kernels'
    `nvgpu.mma.sync` become `nvvm.mma.sync` (convert-nvgpu-to-nvvm), their fragment vectors
    LLVM vectors and arrays (convert-vector-to-llvm).
    """
    return (
        f"builtin.module(nvvm-attach-target{{chip={chip} features={features} O=3}},"
        "gpu.module(convert-vector-to-scf,convert-scf-to-cf,expand-strided-metadata,"
        "lower-affine,convert-nvgpu-to-nvvm,convert-vector-to-llvm,"
        "convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},"
        "canonicalize,cse,reconcile-unrealized-casts))"
    )


# NVVM -> PTX text in a `gpu.binary` (`--emit=ptx`); no GPU needed.
GPU_SERIALIZE_PTX = "builtin.module(gpu-module-to-binary{format=isa})"
