"""`gpu-outline-kernels`: host code with `gpu.launch` -> `gpu.launch_func` into one
`gpu.module @cellc_kernels`.

Contract
--------
Lowers: the `gpu.launch` ops that `convert-linalg-to-gpu-launch` leaves in host functions.

Assumes: constant grid and block sizes; shared memory as `memref.alloc` in
`#gpu.address_space<workgroup>` inside the launch body.

Produces: upstream's `gpu-kernel-outlining` (after sinking index computations into the
launches: `pass_pipelines.GPU_OUTLINE`) gives one gpu.module per launch; they are merged into
`gpu.module @cellc_kernels` (one PTX image), each kernel named after its old module (unique
within it), and each shared-memory `memref.alloc` becomes a `memref.global` in the workgroup
address space (`memref.get_global` in the kernel). Then `pass_pipelines.GPU_CLEANUP`.

Illegal after it: `gpu.launch` (all outlined); any gpu.module but `@cellc_kernels` (present,
empty, when nothing was launched);
`memref.alloc` of workgroup memory. Host code keeps only memref.alloc / memref.get_global /
view-like reshapes / memref.copy / gpu.launch_func / constants / return, which
`launch_plan.extract_launch_plan` turns into a plan; the kernels are ready for gpu_to_nvvm.py.
"""

from __future__ import annotations

from mlir import ir

from cellc.compiler import pass_pipelines

from .gpu_ir import functions, run_pipeline, walk

KERNEL_MODULE = "cellc_kernels"


def outline_kernels(module: ir.Module) -> None:
    """Outlines every gpu.launch into one gpu.module of kernels (shared memory as globals).

    The pass `gpu-outline-kernels`, in place."""
    with module.context, ir.Location.unknown():
        run_pipeline(module, pass_pipelines.GPU_OUTLINE)
        merge_kernel_modules(module)
        run_pipeline(module, pass_pipelines.GPU_CLEANUP)


def merge_kernel_modules(module: ir.Module) -> None:
    """Outlining makes one gpu.module per launch; gather every kernel into `@cellc_kernels` (one
    PTX image), naming each kernel after its old module (unique), and give each workgroup
    `memref.alloc` a `memref.global` in address space 3 instead (shared memory)."""
    gpu_modules = [op.operation for op in module.body if op.operation.name == "gpu.module"]
    if not gpu_modules:
        _add_empty_kernel_module(module)
        return
    merged = gpu_modules[0]
    merged_body = merged.regions[0].blocks[0]
    renames: dict[str, str] = {}
    for gmod in gpu_modules:
        module_name = ir.StringAttr(gmod.attributes["sym_name"]).value
        for kernel in list(gmod.regions[0].blocks[0]):
            kernel = kernel.operation
            old_name = ir.StringAttr(kernel.attributes["sym_name"]).value
            renames[f"@{module_name}::@{old_name}"] = module_name
            kernel.attributes["sym_name"] = ir.StringAttr.get(module_name)
            if gmod != merged:
                kernel.move_after(list(merged_body)[-1].operation)
        if gmod != merged:
            gmod.erase()
    merged.attributes["sym_name"] = ir.StringAttr.get(KERNEL_MODULE)
    shared_count = 0
    for kernel in list(merged_body):
        shared_count = _allocs_to_shared_globals(kernel.operation, merged_body, shared_count)
    for func in functions(module):
        for op in walk(func):
            if op.name == "gpu.launch_func":
                old = str(op.attributes["kernel"])
                op.attributes["kernel"] = ir.SymbolRefAttr.get([KERNEL_MODULE, renames[old]])


def _add_empty_kernel_module(module: ir.Module) -> None:
    """A program with no kernel (its results are copies of its arguments or constants, as the
    gradient of a dropout, mask * 1, canonicalizes to the mask) still gets `@cellc_kernels`:
    an empty PTX image, so that every CUDA artifact has one and the plan only copies."""
    parsed = ir.Module.parse(f"gpu.module @{KERNEL_MODULE} {{\n}}", module.context)
    kernels = parsed.body.operations[0].operation
    kernels.detach_from_parent()
    ir.InsertionPoint(module.body).insert(kernels)
    module.operation.attributes["gpu.container_module"] = ir.UnitAttr.get(module.context)


def _allocs_to_shared_globals(kernel: ir.Operation, module_body: ir.Block, count: int) -> int:
    for op in list(walk(kernel)):
        if op.name == "memref.alloc" and "workgroup" in str(op.results[0].type):
            memref_type = op.results[0].type
            name = f"__shared_{count}"
            count += 1
            with ir.InsertionPoint.at_block_begin(module_body), op.location:
                ir.Operation.create(
                    "memref.global",
                    attributes={
                        "sym_name": ir.StringAttr.get(name),
                        "sym_visibility": ir.StringAttr.get("private"),
                        "type": ir.TypeAttr.get(memref_type),
                        "alignment": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), 16),
                    },
                )
            with ir.InsertionPoint(op), op.location:
                get = ir.Operation.create(
                    "memref.get_global",
                    results=[memref_type],
                    attributes={"name": ir.FlatSymbolRefAttr.get(name)},
                )
            op.results[0].replace_all_uses_with(get.results[0])
            for use in list(get.results[0].uses):
                if use.owner.name == "memref.dealloc":
                    use.owner.erase()
            op.erase()
    return count
