// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg,cpu-pads-to-copies)' --split-input-file | FileCheck %s

// Padding (conv.py's gather marked cellc.pad) becomes a fill of a buffer of its own
// (bufferization.alloc_tensor: CSE does not merge it with another padding's) with the padding
// value and a copy of x into its window at (top, left), inserted back; the im2col reads the
// result. No bounds check is left for elementwise fusion to fold into the im2col.
// CHECK-LABEL: func.func @conv2d_padded
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>
// CHECK-NOT: cellc.pad
// CHECK-NOT: tensor.extract
// CHECK-NOT: tensor.empty() : tensor<1x3x11x10xf32>
// CHECK: %[[BUFFER:.*]] = bufferization.alloc_tensor() : tensor<1x3x11x10xf32>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[FILLED:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[BUFFER]] : tensor<1x3x11x10xf32>)
// CHECK: %[[WINDOW:.*]] = tensor.extract_slice %[[FILLED]][0, 0, 2, 1] [1, 3, 8, 8] [1, 1, 1, 1] : tensor<1x3x11x10xf32> to tensor<1x3x8x8xf32>
// CHECK: %[[COPIED:.*]] = linalg.copy {{.*}}ins(%[[X]] : tensor<1x3x8x8xf32>) outs(%[[WINDOW]] : tensor<1x3x8x8xf32>)
// CHECK: %[[PADDED:.*]] = tensor.insert_slice %[[COPIED]] into %[[FILLED]][0, 0, 2, 1] [1, 3, 8, 8] [1, 1, 1, 1] : tensor<1x3x8x8xf32> into tensor<1x3x11x10xf32>
// CHECK: linalg.generic {{.*}} ins(%[[PADDED]] : tensor<1x3x11x10xf32>)
func.func @conv2d_padded(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x5x4xf32> {
  %0 = "ms.conv2d"(%x, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 2, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x5x4xf32>
  return %0 : tensor<1x4x5x4xf32>
}

// -----

// The same padding of the same tensor twice (a convolution and its filter gradient) is made
// once, and both im2cols read it.
// CHECK-LABEL: func.func @padded_twice
// CHECK-COUNT-1: bufferization.alloc_tensor
// CHECK-NOT: bufferization.alloc_tensor
// CHECK: %[[PADDED:.*]] = tensor.insert_slice
// CHECK-NOT: tensor.insert_slice
// CHECK: linalg.generic {{.*}} ins(%[[PADDED]] : tensor<1x3x10x10xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[PADDED]] : tensor<1x3x10x10xf32>)
func.func @padded_twice(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %dy: tensor<1x4x8x8xf32>) -> (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) {
  %y = "ms.conv2d"(%x, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  %dw = "ms.conv2d_backprop_filter"(%x, %dy) {dilations = array<i64: 1, 1>, groups = 1 : i64, kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<4x3x3x3xf32>
  return %y, %dw : tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>
}

// -----

// Max pooling pads with -inf.
// CHECK-LABEL: func.func @max_pool
// CHECK: bufferization.alloc_tensor() : tensor<1x3x6x6xf32>
// CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[FILLED:.*]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.*}} : tensor<1x3x6x6xf32>)
// CHECK: linalg.copy
// CHECK: tensor.insert_slice %{{.*}} into %[[FILLED]][0, 0, 0, 0] [1, 3, 5, 5] [1, 1, 1, 1]
func.func @max_pool(%x: tensor<1x3x5x5xf32>) -> tensor<1x3x3x3xf32> {
  %0 = "ms.max_pool"(%x) {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 1, 0, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x5x5xf32>) -> tensor<1x3x3x3xf32>
  return %0 : tensor<1x3x3x3xf32>
}

// -----

// A dynamic batch: the padded buffer's batch and the window's are x's (tensor.dim of x).
// CHECK-LABEL: func.func @dynamic_batch
// CHECK-SAME: (%[[X:.*]]: tensor<?x1x4x4xf32>
// CHECK: %[[BUFFER:.*]] = bufferization.alloc_tensor(%[[N:.*]]) : tensor<?x1x6x6xf32>
// CHECK: %[[FILLED:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[BUFFER]] : tensor<?x1x6x6xf32>)
// CHECK: %[[WINDOW:.*]] = tensor.extract_slice %[[FILLED]][0, 0, 1, 1] [%[[N]], 1, 4, 4] [1, 1, 1, 1]
// CHECK: %[[COPIED:.*]] = linalg.copy {{.*}}ins(%[[X]] : tensor<?x1x4x4xf32>) outs(%[[WINDOW]] : tensor<?x1x4x4xf32>)
// CHECK: tensor.insert_slice %[[COPIED]] into %[[FILLED]][0, 0, 1, 1] [%[[N]], 1, 4, 4] [1, 1, 1, 1] : tensor<?x1x4x4xf32> into tensor<?x1x6x6xf32>
module attributes {ms.dynamic_batch = 5 : i64} {
  func.func @dynamic_batch(%x: tensor<?x1x4x4xf32>, %w: tensor<2x1x3x3xf32>) -> tensor<?x2x4x4xf32> {
    %y = "ms.conv2d"(%x, %w) {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, groups = 1 : i64} : (tensor<?x1x4x4xf32>, tensor<2x1x3x3xf32>) -> tensor<?x2x4x4xf32>
    return %y : tensor<?x2x4x4xf32>
  }
}
