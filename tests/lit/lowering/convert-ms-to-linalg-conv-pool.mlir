// RUN: cellc opt %s --pass-pipeline='builtin.module(convert-ms-to-linalg)' --split-input-file | FileCheck %s

// Convolution and pooling (compiler/ops/conv.py, pooling.py). Padding is a gathering
// linalg.generic (clamped tensor.extract + select), never tensor.pad. An ungrouped convolution
// is im2col (a copying generic whose input map walks the windows) and one linalg.matmul,
// which the CPU back end tiles and vectorizes; grouped ones use linalg's named NCHW op.

// CHECK-DAG: #[[WINDOWS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d4 * 2 + d1, d5 * 2 + d2)>
// CHECK-LABEL: func.func @conv2d_padded
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>)
func.func @conv2d_padded(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32> {
  // CHECK-NOT: tensor.pad
  // CHECK: %[[PADDED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x3x10x10xf32>)
  // CHECK: arith.cmpi ult
  // CHECK: tensor.extract %[[X]]
  // CHECK: arith.select
  // CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[WINDOWS]], {{.*}}]{{.*}} ins(%[[PADDED]] : tensor<1x3x10x10xf32>) outs(%{{.*}} : tensor<3x3x3x1x4x4xf32>)
  // CHECK: %[[COLS2D:.*]] = tensor.expand_shape {{.*}} output_shape [27, 16]
  // CHECK: %[[W2D:.*]] = tensor.expand_shape {{.*}} output_shape [4, 27]
  // CHECK: %[[Y:.*]] = linalg.matmul ins(%[[W2D]], %[[COLS2D]] : tensor<4x27xf32>, tensor<27x16xf32>)
  // CHECK: %[[OUT:.*]] = linalg.transpose ins(%{{.*}} : tensor<4x1x4x4xf32>) outs(%{{.*}} : tensor<1x4x4x4xf32>) permutation = [1, 0, 2, 3]
  %0 = "ms.conv2d"(%x, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32>
  // CHECK: return %[[OUT]]
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// Depthwise (groups = C): the grouped named op on expanded views, no padding generic.
// CHECK-LABEL: func.func @conv2d_depthwise
func.func @conv2d_depthwise(%x: tensor<1x4x6x6xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x2x2xf32> {
  // CHECK-NOT: linalg.generic
  // CHECK-DAG: %[[XG:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2], [3], [4]] output_shape [1, 4, 1, 6, 6]
  // CHECK-DAG: %[[WG:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0, 1], [2], [3], [4]] output_shape [4, 1, 1, 3, 3]
  // CHECK: %[[Y:.*]] = linalg.conv_2d_ngchw_gfchw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>} ins(%[[XG]], %[[WG]]
  // CHECK: tensor.collapse_shape %[[Y]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<1x4x1x2x2xf32> into tensor<1x4x2x2xf32>
  %0 = "ms.conv2d"(%x, %w) {dilations = array<i64: 2, 2>, groups = 4 : i64, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}

// -----

// Strided, grouped: the transposed convolution gathers dy: (h + top - i) must be a multiple of
// the stride.
// CHECK-DAG: #[[WMAP:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d5, d2, d6, d7)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>
// CHECK-LABEL: func.func @backprop_input_grouped
func.func @backprop_input_grouped(%dy: tensor<1x4x4x4xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x2x8x8xf32> {
  // CHECK: %[[DY:.*]] = tensor.expand_shape %{{.*}} : tensor<1x4x4x4xf32> into tensor<1x2x2x4x4xf32>
  // CHECK: linalg.generic {indexing_maps = [#[[WMAP]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
  // CHECK: arith.remui
  // CHECK: arith.divui
  // CHECK: tensor.extract %[[DY]]
  // CHECK: arith.mulf
  // CHECK: arith.select
  // CHECK: tensor.collapse_shape
  %0 = "ms.conv2d_backprop_input"(%dy, %w) {dilations = array<i64: 1, 1>, groups = 2 : i64, input_size = array<i64: 8, 8>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x4x4xf32>, tensor<4x1x3x3xf32>) -> tensor<1x2x8x8xf32>
  return %0 : tensor<1x2x8x8xf32>
}

// -----

// Ungrouped, strided: col2im. The columns' gradient w^T (C*KH*KW, O) @ dy (O, N*OH*OW), then
// each input element sums the taps (i, j) that read it (a reduction between the parallel
// (n, c) and (h, w); (h + top - i) must be a multiple of the stride).
// CHECK-DAG: #[[TAPS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d2, d3)>
// CHECK-DAG: #[[DX:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
// CHECK-LABEL: func.func @backprop_input
// CHECK-SAME: (%[[DY:.*]]: tensor<1x4x4x4xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>)
func.func @backprop_input(%dy: tensor<1x4x4x4xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32> {
  // CHECK: linalg.transpose ins(%{{.*}} : tensor<4x27xf32>) outs(%{{.*}} : tensor<27x4xf32>) permutation = [1, 0]
  // CHECK: linalg.transpose ins(%[[DY]] : tensor<1x4x4x4xf32>) outs(%{{.*}} : tensor<4x1x4x4xf32>) permutation = [1, 0, 2, 3]
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<27x4xf32>, tensor<4x16xf32>) outs(%{{.*}} : tensor<27x16xf32>)
  // CHECK: %[[DCOLS6:.*]] = tensor.expand_shape %{{.*}} output_shape [3, 3, 3, 1, 4, 4]
  // CHECK: linalg.generic {indexing_maps = [#[[TAPS]], #[[DX]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel", "parallel"]} ins(%{{.*}} : tensor<3x3xf32>) outs(%{{.*}} : tensor<1x3x8x8xf32>)
  // CHECK: arith.remui
  // CHECK: arith.divui
  // CHECK: tensor.extract %[[DCOLS6]]
  // CHECK: arith.select
  %0 = "ms.conv2d_backprop_input"(%dy, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, input_size = array<i64: 8, 8>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x4x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x3x8x8xf32>
  return %0 : tensor<1x3x8x8xf32>
}

// -----

// With strides 1 and dx of as many channels as dy or more (4 >= 3), the transposed convolution
// is an ordinary one: dy padded by the kernel's reach (2) less the padding (0), by the filter
// flipped (gathered at 2 - i, 2 - j) with its in and out channels swapped.
// CHECK-LABEL: func.func @backprop_input_stride1
// CHECK-SAME: (%[[DY:.*]]: tensor<1x3x6x6xf32>, %[[W:.*]]: tensor<3x4x3x3xf32>)
func.func @backprop_input_stride1(%dy: tensor<1x3x6x6xf32>, %w: tensor<3x4x3x3xf32>) -> tensor<1x4x8x8xf32> {
  // CHECK: %[[WG:.*]] = tensor.expand_shape %[[W]]
  // CHECK: %[[FLIPPED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x4x3x3x3xf32>)
  // CHECK: %[[I:.*]] = linalg.index 3
  // CHECK: %[[J:.*]] = linalg.index 4
  // CHECK: %[[ROW:.*]] = arith.subi %{{.*}}, %[[I]]
  // CHECK: %[[COL:.*]] = arith.subi %{{.*}}, %[[J]]
  // CHECK: tensor.extract %[[WG]][%{{.*}}, %{{.*}}, %{{.*}}, %[[ROW]], %[[COL]]]
  // CHECK: %[[WT:.*]] = tensor.collapse_shape %[[FLIPPED]] {{.*}} into tensor<4x3x3x3xf32>
  // CHECK: %[[PADDED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x3x10x10xf32>)
  // CHECK: tensor.extract %[[DY]]
  // CHECK: linalg.generic {{.*}} ins(%[[PADDED]] : tensor<1x3x10x10xf32>) outs(%{{.*}} : tensor<3x3x3x1x8x8xf32>)
  // CHECK: tensor.collapse_shape %[[WT]]
  // CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x27xf32>, tensor<27x64xf32>)
  %0 = "ms.conv2d_backprop_input"(%dy, %w) {dilations = array<i64: 1, 1>, groups = 1 : i64, input_size = array<i64: 8, 8>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x3x6x6xf32>, tensor<3x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

// dw^T (C*KH*KW, O) = cols @ dy as (N*OH*OW, O), transposed: the forward's im2col columns
// (so a training step computes them once), dy and dw^T transposed.
// CHECK-DAG: #[[WINDOWS:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d4 * 2 + d1, d5 * 2 + d2)>
// CHECK-LABEL: func.func @backprop_filter
// CHECK-SAME: (%{{.*}}: tensor<1x3x8x8xf32>, %[[DY:.*]]: tensor<1x4x4x4xf32>)
func.func @backprop_filter(%x: tensor<1x3x8x8xf32>, %dy: tensor<1x4x4x4xf32>) -> tensor<4x3x3x3xf32> {
  // CHECK: linalg.generic {indexing_maps = [#[[WINDOWS]], {{.*}}]{{.*}} outs(%{{.*}} : tensor<3x3x3x1x4x4xf32>)
  // CHECK: linalg.transpose ins(%[[DY]] : tensor<1x4x4x4xf32>) outs(%{{.*}} : tensor<1x4x4x4xf32>) permutation = [0, 2, 3, 1]
  // CHECK: %[[DWT:.*]] = linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<27x16xf32>, tensor<16x4xf32>) outs(%{{.*}} : tensor<27x4xf32>)
  // CHECK: linalg.transpose ins(%[[DWT]] : tensor<27x4xf32>) outs(%{{.*}} : tensor<4x27xf32>) permutation = [1, 0]
  // CHECK: tensor.expand_shape {{.*}} output_shape [4, 3, 3, 3] : tensor<108xf32> into tensor<4x3x3x3xf32>
  %0 = "ms.conv2d_backprop_filter"(%x, %dy) {dilations = array<i64: 1, 1>, groups = 1 : i64, kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>, tensor<1x4x4x4xf32>) -> tensor<4x3x3x3xf32>
  return %0 : tensor<4x3x3x3xf32>
}

// -----

// 'same' max pooling: -inf padding at the bottom and right, a -inf accumulator.
// CHECK-LABEL: func.func @max_pool
func.func @max_pool(%x: tensor<1x3x5x5xf32>) -> tensor<1x3x3x3xf32> {
  // CHECK-DAG: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK: %[[PADDED:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<1x3x6x6xf32>)
  // CHECK: %[[WINDOW:.*]] = tensor.empty() : tensor<2x2xf32>
  // CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NEG_INF]] : f32)
  // CHECK: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[PADDED]], %[[WINDOW]] : tensor<1x3x6x6xf32>, tensor<2x2xf32>) outs(%[[INIT]] : tensor<1x3x3x3xf32>)
  %0 = "ms.max_pool"(%x) {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 1, 0, 1>, strides = array<i64: 2, 2>} : (tensor<1x3x5x5xf32>) -> tensor<1x3x3x3xf32>
  return %0 : tensor<1x3x3x3xf32>
}

// -----

// The mean divides by a constant of window counts.
// CHECK-LABEL: func.func @avg_pool
func.func @avg_pool(%x: tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32> {
  // CHECK: %[[SUMS:.*]] = linalg.pooling_nchw_sum {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x3x4x4xf32>, tensor<2x2xf32>)
  // CHECK: %[[COUNTS:.*]] = arith.constant dense<4.000000e+00> : tensor<2x2xf32>
  // CHECK: linalg.generic {{.*}} ins(%[[SUMS]], %[[COUNTS]] : tensor<1x3x2x2xf32>, tensor<2x2xf32>)
  // CHECK: arith.divf
  %0 = "ms.avg_pool"(%x) {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32>
  return %0 : tensor<1x3x2x2xf32>
}

// -----

// The first maximum of each window (strict ogt, row-major tap index i * KW + j). Windows that
// tile the input (kernel = strides): each input element is one tap of one window, an
// elementwise generic picks that window's dy where the tap is its first maximum.
// CHECK-LABEL: func.func @max_pool_grad
func.func @max_pool_grad(%x: tensor<1x3x4x4xf32>, %dy: tensor<1x3x2x2xf32>) -> tensor<1x3x4x4xf32> {
  // CHECK: %[[FIRST:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<1x3x2x2xf32>, tensor<1x3x2x2xi64>)
  // CHECK: arith.cmpf ogt
  // CHECK: linalg.yield %{{.*}}, %{{.*}} : f32, i64
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%{{.*}} : tensor<1x3x4x4xf32>)
  // CHECK: arith.divui
  // CHECK: arith.remui
  // CHECK: tensor.extract %[[FIRST]]#1
  // CHECK: tensor.extract %{{.*}} : tensor<1x3x2x2xf32>
  // CHECK: arith.select
  %0 = "ms.max_pool_grad"(%x, %dy) {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x4x4xf32>, tensor<1x3x2x2xf32>) -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

// Overlapping windows (3x3, stride 2): a gather of dy into each input element over the taps
// (i, j) of every window that reads it and whose first maximum it is.
// CHECK-LABEL: func.func @max_pool_grad_overlapping
func.func @max_pool_grad_overlapping(%x: tensor<1x3x5x5xf32>, %dy: tensor<1x3x2x2xf32>) -> tensor<1x3x5x5xf32> {
  // CHECK: %[[FIRST:.*]]:2 = linalg.generic
  // CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%{{.*}} : tensor<3x3xf32>) outs(%{{.*}} : tensor<1x3x5x5xf32>)
  // CHECK: tensor.extract %[[FIRST]]#1
  // CHECK: tensor.extract %{{.*}} : tensor<1x3x2x2xf32>
  %0 = "ms.max_pool_grad"(%x, %dy) {kernel_size = array<i64: 3, 3>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x5x5xf32>, tensor<1x3x2x2xf32>) -> tensor<1x3x5x5xf32>
  return %0 : tensor<1x3x5x5xf32>
}

// -----

// CHECK-LABEL: func.func @max_pool_grad_grad
func.func @max_pool_grad_grad(%x: tensor<1x3x4x4xf32>, %g: tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32> {
  // CHECK: %[[FIRST:.*]]:2 = linalg.generic
  // CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}}, %[[FIRST]]#1 : tensor<1x3x4x4xf32>, tensor<2x2xf32>, tensor<1x3x2x2xi64>) outs(%{{.*}} : tensor<1x3x2x2xf32>)
  // CHECK: arith.cmpi eq
  // CHECK: arith.select
  %0 = "ms.max_pool_grad_grad"(%x, %g) {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x2x2xf32>
  return %0 : tensor<1x3x2x2xf32>
}
