//===- InitAllDialects.h - Every dialect a ChipMesh tool reads --*- C++ -*-===//
//
// The one list of dialects, for chipmesh-opt, chipmesh-plan,
// chipmesh-translate, the Python module and the fuzzers (instead of a list
// written by hand in each). lib/InitAll/InitAllDialects.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_INITALLDIALECTS_H
#define CHIPMESH_INITALLDIALECTS_H

#include "mlir/IR/DialectRegistry.h"

namespace chipmesh {

/// ChipMesh's own dialects (graph, topo, comm) with func, and the cost
/// model's external models on the upstream ops it prices.
void registerChipMeshDialects(mlir::DialectRegistry &registry);

/// Also the upstream dialects a model may arrive in (tensor, linalg, tosa)
/// or leave in (shard, from --chipmesh-export-shard).
void registerModelDialects(mlir::DialectRegistry &registry);

/// Also what --chipmesh-lower-to-mpi writes and the LLVM dialect
/// --chipmesh-drop-dlti reads: everything chipmesh-opt parses.
void registerAllDialects(mlir::DialectRegistry &registry);

} // namespace chipmesh

#endif // CHIPMESH_INITALLDIALECTS_H
