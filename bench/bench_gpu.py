"""GPU matmul and sums: cellc (--target cuda) vs PyTorch CUDA (cuBLAS, torch.sum).

    .venv/bin/python bench/bench_gpu.py [--sizes 1024 2048 4096] [--repeat 20] [--chip sm_90]

Prints one line per matmul size (the shared-memory tiled kernel): milliseconds and GFLOP/s for
each, and the max abs difference; then one line per sum (a split first stage and an in-block
tree reduction, convert-linalg-to-gpu-block-reductions): milliseconds and GB/s read.
Skips (exit 0, with the reason) when there is no GPU or no CUDA driver; without torch.cuda
the torch columns say so.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

MATMUL = """
func.func @matmul(%a: tensor<{n}x{n}xf32>, %b: tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
    attributes {{ms.entry}} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{n}x{n}xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  %r = linalg.matmul ins(%a, %b : tensor<{n}x{n}xf32>, tensor<{n}x{n}xf32>)
                     outs(%c : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  return %r : tensor<{n}x{n}xf32>
}}
"""


# Sums: every element of a vector (split, then one block of 256 threads), and each row of a
# matrix (one block per row).
SUMS = {
    "sum of 2^24": (
        """
#id1 = affine_map<(d0) -> (d0)>
#all1 = affine_map<(d0) -> ()>
func.func @sum(%x: tensor<16777216xf32>) -> tensor<f32> attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %r = linalg.generic {indexing_maps = [#id1, #all1], iterator_types = ["reduction"]}
      ins(%x : tensor<16777216xf32>) outs(%f : tensor<f32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<f32>
  return %r : tensor<f32>
}
""",
        (1 << 24,),
        lambda t: t.sum(),
    ),
    "row sums 4096x4096": (
        """
#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @sum(%x: tensor<4096x4096xf32>) -> tensor<4096xf32> attributes {ms.entry} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4096xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4096xf32>) -> tensor<4096xf32>
  %r = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4096x4096xf32>) outs(%f : tensor<4096xf32>) {
    ^bb0(%u: f32, %acc: f32):
      %s = arith.addf %u, %acc : f32
      linalg.yield %s : f32
  } -> tensor<4096xf32>
  return %r : tensor<4096xf32>
}
""",
        (4096, 4096),
        lambda t: t.sum(dim=1),
    ),
}


def _time_launches(driver, entry, repeat: int) -> float:
    """Milliseconds per call of the entry's steps, inputs already on the device."""
    steps = entry._launches
    start = time.perf_counter()
    for _ in range(repeat):
        for step in steps:
            if step[0] == "copy":
                _, source, target, nbytes = step
                driver.cuMemcpyDtoD(target.ptr, source.ptr, nbytes)
            else:
                _, function, grid, block, kargs = step
                driver.cuLaunchKernel(function, *grid, *block, 0, 0, kargs, 0)
    driver.cuCtxSynchronize()
    return (time.perf_counter() - start) / repeat * 1e3


def _time_torch(torch, fn, repeat: int):
    result = fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        result = fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat * 1e3, result


def bench_sums(cuda, torch, ir, ms, lower_linalg_to_gpu, chip: str, repeat: int) -> None:
    driver = cuda.cuda_context()[0]
    print(f"{'sum':>20} {'cellc ms':>10} {'GB/s':>8} {'torch ms':>10} {'GB/s':>8} {'rel.diff':>9}")
    for name, (text, shape, torch_sum) in SUMS.items():
        program = lower_linalg_to_gpu(ir.Module.parse(text, ms.make_context()), chip=chip)
        entry = cuda.CudaEntry(program.plan["entries"]["sum"], program.cubin or program.ptx)
        x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
        (out,) = entry(x)
        cellc_ms = _time_launches(driver, entry, repeat)
        gigabytes = x.nbytes / 1e9
        line = f"{name:>20} {cellc_ms:>10.3f} {gigabytes / cellc_ms * 1e3:>8.1f}"
        if torch is not None:
            tx = torch.from_numpy(x).cuda()
            torch_ms, result = _time_torch(torch, lambda tx=tx, f=torch_sum: f(tx), repeat)
            want = result.cpu().numpy()
            diff = float(np.max(np.abs(out - want) / (np.abs(want) + 1e-3)))
            line += f" {torch_ms:>10.3f} {gigabytes / torch_ms * 1e3:>8.1f} {diff:>9.2e}"
        else:
            exact = x.astype(np.float64).sum(axis=-1 if len(shape) > 1 else None)
            diff = float(np.max(np.abs(out - exact) / (np.abs(exact) + 1e-3)))
            line += f" {'(no torch.cuda)':>19} {diff:>9.2e}"
        print(line)
        entry.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--chip", default="sm_80")
    args = parser.parse_args()

    from cellc.runtime import cuda

    ok, reason = cuda.cuda_available()
    if not ok:
        print(f"SKIP: {reason}")
        return 0
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and not torch.cuda.is_available():
        torch = None

    from mlir import ir

    from cellc.compiler.lowering.linalg_to_gpu import lower_linalg_to_gpu
    from cellc.dialects import ms

    driver = cuda.cuda_context()[0]
    print(f"{'n':>6} {'cellc ms':>10} {'GFLOP/s':>9} {'torch ms':>10} {'GFLOP/s':>9} {'max|d|':>9}")
    for n in args.sizes:
        module = ir.Module.parse(MATMUL.format(n=n), ms.make_context())
        program = lower_linalg_to_gpu(module, chip=args.chip)
        entry = cuda.CudaEntry(program.plan["entries"]["matmul"], program.cubin or program.ptx)
        rng = np.random.default_rng(0)
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        (out,) = entry(a, b)  # warm-up, and the values to compare
        # Time the kernels alone: inputs are already on the device.
        launches = entry._launches
        start = time.perf_counter()
        for _ in range(args.repeat):
            for _, function, grid, block, kargs in launches:
                driver.cuLaunchKernel(function, *grid, *block, 0, 0, kargs, 0)
        driver.cuCtxSynchronize()
        cellc_ms = (time.perf_counter() - start) / args.repeat * 1e3
        flops = 2.0 * n**3
        line = f"{n:>6} {cellc_ms:>10.3f} {flops / cellc_ms / 1e6:>9.1f}"
        if torch is not None:
            ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
            torch.matmul(ta, tb)
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(args.repeat):
                tc = torch.matmul(ta, tb)
            torch.cuda.synchronize()
            torch_ms = (time.perf_counter() - start) / args.repeat * 1e3
            diff = float(np.abs(tc.cpu().numpy() - out).max())
            line += f" {torch_ms:>10.3f} {flops / torch_ms / 1e6:>9.1f} {diff:>9.2e}"
        else:
            line += f" {'(no torch.cuda)':>30}"
        print(line)
        entry.close()
    bench_sums(cuda, torch, ir, ms, lower_linalg_to_gpu, args.chip, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
