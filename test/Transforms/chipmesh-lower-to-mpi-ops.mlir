// RUN: chipmesh-opt %S/Inputs/elementwise-model.mlir --chipmesh-lower-to-mpi=reference | FileCheck %s
// RUN: chipmesh-opt %S/Inputs/elementwise-model.mlir --chipmesh-lower-to-mpi=reference \
// RUN:   | mlir-opt --pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-scf-to-cf,convert-vector-to-llvm,convert-to-llvm,reconcile-unrealized-casts)' \
// RUN:   | chipmesh-opt --chipmesh-drop-dlti \
// RUN:   | mlir-runner -e main -entry-point-result=void -shared-libs=%llvm_lib_dir/libmlir_c_runner_utils.so,%llvm_lib_dir/libmlir_runner_utils.so \
// RUN:   | FileCheck %s --check-prefix=EXEC

// Every graph op the MPI path lowers, besides linear and relu (tested in
// chipmesh-lower-to-mpi.mlir): matmul with a transposed right operand,
// sigmoid, silu, exp, neg, sub with a broadcast bias, mul, div, slice,
// concat, reshape and transpose.
// The bias [4] is read along the columns only:
// CHECK: #[[$BCAST:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @main()
// CHECK: %[[WT:.*]] = linalg.transpose ins(%{{.*}} : tensor<4x4xf32>) outs(%{{.*}} : tensor<4x4xf32>) permutation = [1, 0]
// CHECK: linalg.matmul ins(%{{.*}}, %[[WT]] : tensor<2x4xf32>, tensor<4x4xf32>)
// Sigmoid, then silu = x * sigmoid(x):
// CHECK: arith.negf
// CHECK-NEXT: math.exp
// CHECK-NEXT: arith.addf
// CHECK-NEXT: arith.divf
// CHECK: arith.divf
// CHECK-NEXT: arith.mulf %in, %{{.*}} : f32
// CHECK: math.exp %in : f32
// CHECK: arith.negf %in : f32
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$BCAST]], #{{.*}}]
// CHECK: arith.subf %in, %{{.*}} : f32
// CHECK: arith.mulf %in, %{{.*}} : f32
// CHECK: arith.divf %in, %{{.*}} : f32
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [2, 2] [1, 1] : tensor<2x4xf32> to tensor<2x2xf32>
// CHECK: tensor.extract_slice %{{.*}}[0, 2] [2, 2] [1, 1] : tensor<2x4xf32> to tensor<2x2xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<4x2xf32>
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[2, 0] [2, 2] [1, 1] : tensor<2x2xf32> into tensor<4x2xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<4x2xf32> into tensor<8xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x4xf32>) outs(%{{.*}} : tensor<4x2xf32>) permutation = [1, 0]

// The values, computed independently in NumPy from the generating formula
// (x = ((7i + 101) mod 23 - 11) / 4, w with seed fnv1a("w") mod 997 and
// scale 1/32, b with its own seed and scale 1/16) and the same ops.
// EXEC: sizes = [4, 2]
// EXEC-NEXT: {{\[\[}}-0.961114, -2.11685],
// EXEC-NEXT: [-1.29669, -0.762228],
// EXEC-NEXT: [-0.851797, -2.15886],
// EXEC-NEXT: [-1.35326, -0.770416]]
