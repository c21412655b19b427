//===- Passes.h - ChipMesh passes -------------------------------*- C++ -*-===//
#ifndef CHIPMESH_TRANSFORMS_PASSES_H
#define CHIPMESH_TRANSFORMS_PASSES_H

#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Partition/Partitioner.h" // enum pass options
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace chipmesh {
#define GEN_PASS_DECL
#include "chipmesh/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

#endif // CHIPMESH_TRANSFORMS_PASSES_H
