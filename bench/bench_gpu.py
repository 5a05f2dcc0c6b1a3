"""GPU matmul: cellc (--target cuda, shared-memory tiled kernel) vs PyTorch CUDA (cuBLAS).

    .venv/bin/python bench/bench_gpu.py [--sizes 1024 2048 4096] [--repeat 20]

Prints one line per size: milliseconds and GFLOP/s for each, and the max abs difference.
Skips (exit 0, with the reason) when there is no GPU, no CUDA driver or no torch.cuda.
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
