// RUN: cellc opt %s --pass-pipeline='builtin.module(cpu-dynamic-entry-abi)' | FileCheck %s

// A public function with a dynamic (batch) dimension takes bare buffers (memref<1xT>, a T* once
// lowered) and the batch size last; each argument is viewed again at its dynamic shape,
// row-major. A static function and a private one are left as they are.

// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:.*]]: memref<1xf32>, %[[W:.*]]: memref<1xf32>, %[[OUT:.*]]: memref<1xf32>, %[[N:.*]]: index)
// CHECK-DAG: %[[XV:.*]] = memref.reinterpret_cast %[[X]] to offset: [0], sizes: [%[[N]], 4], strides: [4, 1] : memref<1xf32> to memref<?x4xf32>
// CHECK-DAG: %[[WV:.*]] = memref.reinterpret_cast %[[W]] to offset: [0], sizes: [4, 3], strides: [3, 1] : memref<1xf32> to memref<4x3xf32>
// CHECK-DAG: %[[OV:.*]] = memref.reinterpret_cast %[[OUT]] to offset: [0], sizes: [3, %[[N]]], strides: [%[[N]], 1] : memref<1xf32> to memref<3x?xf32>
// CHECK: linalg.matmul ins(%[[XV]], %[[WV]] : memref<?x4xf32>, memref<4x3xf32>)
// CHECK: return
func.func @step(%x: memref<?x4xf32>, %w: memref<4x3xf32>, %out: memref<3x?xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %tmp = memref.alloc(%n) : memref<?x3xf32>
  linalg.matmul ins(%x, %w : memref<?x4xf32>, memref<4x3xf32>) outs(%tmp : memref<?x3xf32>)
  linalg.transpose ins(%tmp : memref<?x3xf32>) outs(%out : memref<3x?xf32>) permutation = [1, 0]
  memref.dealloc %tmp : memref<?x3xf32>
  return
}

// CHECK-LABEL: func.func @static
// CHECK-SAME: (%{{.*}}: memref<2x4xf32>)
func.func @static(%x: memref<2x4xf32>) {
  return
}

// CHECK-LABEL: func.func private @helper
// CHECK-SAME: (%{{.*}}: memref<?x4xf32>)
func.func private @helper(%x: memref<?x4xf32>) {
  return
}
