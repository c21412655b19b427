//===- Passes.h - ChipMesh conversions --------------------------*- C++ -*-===//
#ifndef CHIPMESH_CONVERSION_PASSES_H
#define CHIPMESH_CONVERSION_PASSES_H

#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace chipmesh {
#define GEN_PASS_DECL
#include "chipmesh/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "chipmesh/Conversion/Passes.h.inc"
} // namespace chipmesh

#endif // CHIPMESH_CONVERSION_PASSES_H
