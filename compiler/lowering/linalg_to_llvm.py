"""The CPU back end's middle: linalg on tensors to the LLVM dialect.

Contract
- Lowers: linalg/tensor/arith/math on tensors and `func.*` (the output of
  `convert-ms-to-linalg`) to the LLVM dialect, through one-shot bufferization, destination
  passing at function boundaries, loops, and the LLVM conversions (`pass_pipelines`).
- Assumes: static shapes; every function takes and returns ranked tensors.
- After it, the module is in the LLVM dialect only, and for every function `NAME` it holds
  `llvm.func @NAME(ptr in0, ..., ptr out0, ...)`: bare pointers to contiguous row-major
  buffers, the function's arguments in order, then one per result, written by the callee and
  never aliasing an argument. Private functions get internal linkage (not exported).
"""

from __future__ import annotations

from cellc.compiler import pass_pipelines
from mlir import ir
from mlir.dialects import linalg, tensor
from mlir.dialects.transform import interpreter
from mlir.passmanager import PassManager

from .ms_to_linalg import LoweringError

# Loop order for matrix products on the CPU: linalg.matmul iterates (m, n, k) with k innermost,
# which reads B by column. Interchanged to (m, k, n), the innermost loop walks rows of B and C
# contiguously, and LLVM's loop vectorizer turns it into SIMD multiply-adds.
MATMUL_SCHEDULE = """
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %matmuls = transform.structured.match ops{["linalg.matmul"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %generic = transform.structured.generalize %matmuls
        : (!transform.any_op) -> !transform.any_op
    %interchanged = transform.structured.interchange %generic iterator_interchange = [0, 2, 1]
        : (!transform.any_op) -> !transform.any_op
    transform.yield
  }
}
"""


def lower_linalg_to_llvm(module: ir.Module) -> None:
    """Runs the CPU back end on `module` in place: elementwise fusion, the matmul schedule,
    then `pass_pipelines.LINALG_TO_LLVM`."""
    _internalize_private_functions(module)
    run_pipeline(module, pass_pipelines.LINALG_FUSION, "linalg-fusion")
    apply_schedule(module, MATMUL_SCHEDULE)
    _copy_repeated_results(module)
    run_pipeline(module, pass_pipelines.LINALG_TO_LLVM, "linalg-to-llvm")


def apply_schedule(module: ir.Module, schedule: str) -> None:
    """Applies a transform-dialect script (`@__transform_main`) to `module`."""
    with module.context, ir.Location.unknown():
        script = ir.Module.parse(schedule)
        main = next(
            op
            for op in script.body.operations
            if ir.StringAttr(op.attributes["sym_name"]).value == "__transform_main"
        )
        try:
            interpreter.apply_named_sequence(module, main, script)
        except ir.MLIRError as error:
            raise LoweringError(f"stage 'matmul-schedule' failed: {error}") from error


def run_pipeline(module: ir.Module, pipeline: str, stage: str) -> None:
    """Runs a textual upstream pipeline; a failure raises LoweringError with MLIR's messages."""
    with module.context:
        pm = PassManager.parse(pipeline)
        try:
            pm.run(module.operation)
        except ir.MLIRError as error:
            raise LoweringError(f"stage '{stage}' failed: {error}") from error


def _copy_repeated_results(module: ir.Module) -> None:
    """A value returned more than once gets a `linalg.copy` per extra occurrence, so that
    each result has its own buffer (buffer-results-to-out-params cannot give one buffer two
    out-params; it crashes on it)."""
    with module.context:
        for func_op in module.body.operations:
            if func_op.operation.name != "func.func" or not func_op.regions[0].blocks:
                continue
            for block in func_op.regions[0].blocks:
                terminator = block.operations[len(block.operations) - 1]
                if terminator.operation.name != "func.return":
                    continue
                seen = set()
                for index, value in enumerate(terminator.operands):
                    if value in seen:
                        result_type = ir.RankedTensorType(value.type)
                        with terminator.location, ir.InsertionPoint(terminator):
                            init = tensor.empty(list(result_type.shape), result_type.element_type)
                            terminator.operands[index] = linalg.copy(value, outs=[init])
                    seen.add(value)


def _internalize_private_functions(module: ir.Module) -> None:
    """Marks private func.func bodies `llvm.linkage = internal`, so only public functions
    are exported from the shared library (convert-func-to-llvm reads the attribute)."""
    with module.context:
        internal = ir.Attribute.parse("#llvm.linkage<internal>")
        for op in module.body.operations:
            if op.operation.name != "func.func" or "sym_visibility" not in op.attributes:
                continue
            is_private = ir.StringAttr(op.attributes["sym_visibility"]).value == "private"
            if is_private and len(op.regions[0].blocks) > 0:
                op.attributes["llvm.linkage"] = internal
