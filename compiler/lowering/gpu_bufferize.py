"""`gpu-bufferize`: linalg on tensors -> linalg on destination-passing memrefs, for the GPU.

Contract
--------
Lowers: every `func.func` of linalg/tensor/arith/math ops on static tensors (after
`gpu-split-reductions` and `gpu-pad-matmuls`).

Assumes: static shapes, identity layouts; no calls between functions (the tracer inlines).
A value returned twice is first copied (distinct_results.py), so each out-param has its own
buffer.

Produces: memrefs with identity layouts at function boundaries; the results become trailing
memref arguments (the caller allocates outputs) and the function attribute `cellc.num_results`
records how many trailing arguments are outputs; arguments are read-only (an input is never
written in place: read_only_arguments.py); temporaries are `memref.alloc` with no dealloc
(device buffers the launch plan owns for the entry's lifetime).
The upstream pipeline is `pass_pipelines.GPU_BUFFERIZE`.

Illegal after it: tensors, `bufferization.*` ops, function results.
"""

from __future__ import annotations

from mlir import ir

from cellc.compiler import pass_pipelines

from .distinct_results import copy_repeated_results
from .gpu_ir import functions, run_pipeline
from .read_only_arguments import mark_arguments_read_only


def bufferize_for_gpu(module: ir.Module) -> None:
    """linalg on tensors -> memrefs with caller-allocated outputs, for the GPU back end.

    The pass `gpu-bufferize`, in place."""
    with module.context:
        i64 = ir.IntegerType.get_signless(64)
        for func in functions(module):
            function_type = ir.FunctionType(ir.TypeAttr(func.attributes["function_type"]).value)
            func.attributes["cellc.num_results"] = ir.IntegerAttr.get(
                i64, len(function_type.results)
            )
        copy_repeated_results(module)
        mark_arguments_read_only(module)
        run_pipeline(module, pass_pipelines.GPU_BUFFERIZE)
