// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg,cpu-col2im-by-taps)' --split-input-file | FileCheck %s

// The col2im gather of an input gradient (3x3 kernel, stride 2, padding 1; dx 8x8 from dy 4x4)
// becomes one update per tap: the strided window of dx the tap read, clipped to the image,
// plus the tap's columns (rank-reduced from dcols (C, KH, KW, N, OH, OW)). Tap (0, 0) reads
// positions -1, 1, 3, 5 of each axis: outputs 1..3 only, from position 1.
// CHECK-LABEL: func.func @backprop_input
// CHECK-NOT: cellc.col2im
// CHECK: %[[DCOLS:.*]] = tensor.expand_shape {{.*}} output_shape [3, 3, 3, 1, 4, 4]
// CHECK: %[[ZERO:.*]] = linalg.fill
// CHECK: %[[C00:.*]] = tensor.extract_slice %[[DCOLS]][0, 0, 0, 0, 1, 1] [3, 1, 1, 1, 3, 3] [1, 1, 1, 1, 1, 1] : tensor<3x3x3x1x4x4xf32> to tensor<3x1x3x3xf32>
// CHECK: %[[W00:.*]] = tensor.extract_slice %[[ZERO]][0, 0, 1, 1] [1, 3, 3, 3] [1, 1, 2, 2]
// CHECK: %[[S00:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[C00]] : tensor<3x1x3x3xf32>) outs(%[[W00]] : tensor<1x3x3x3xf32>)
// CHECK: arith.addf
// CHECK: %[[DX00:.*]] = tensor.insert_slice %[[S00]] into %[[ZERO]][0, 0, 1, 1] [1, 3, 3, 3] [1, 1, 2, 2]
// Tap (0, 1) reads columns 0, 2, 4, 6: all four outputs.
// CHECK: tensor.extract_slice %[[DCOLS]][0, 0, 1, 0, 1, 0] [3, 1, 1, 1, 3, 4]
// CHECK: tensor.extract_slice %[[DX00]][0, 0, 1, 0] [1, 3, 3, 4] [1, 1, 2, 2]
// CHECK-COUNT-8: tensor.insert_slice
// CHECK-NOT: tensor.insert_slice
// CHECK: return
func.func @backprop_input(%dy: tensor<1x4x4x4xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32> {
  %0 = "ms.conv2d_backprop_input"(%dy, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, input_size = array<i64: 8, 8>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

// A tap that reads only padding adds nothing: with stride 2 down a 1-row image padded by 1 on
// top, kernel row 0 reads rows -1, 1, ... (never row 0); only kernel row 1's two taps update.
// CHECK-LABEL: func.func @padding_only_taps
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 0] [1, 1, 1, 3] [1, 1, 2, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0, 1] [1, 1, 1, 3] [1, 1, 2, 1]
// CHECK-NOT: tensor.insert_slice
func.func @padding_only_taps(%dy: tensor<1x2x1x3xf32>, %w: tensor<2x1x2x2xf32>) -> tensor<1x1x1x4xf32> {
  %0 = "ms.conv2d_backprop_input"(%dy, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, input_size = array<i64: 1, 4>, padding = array<i64: 1, 0, 0, 0>, strides = array<i64: 2, 1>} : (tensor<1x2x1x3xf32>, tensor<2x1x2x2xf32>) -> tensor<1x1x1x4xf32>
  return %0 : tensor<1x1x1x4xf32>
}
