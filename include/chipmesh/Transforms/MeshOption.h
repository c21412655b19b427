//===- MeshOption.h - Resolve a pass's `mesh` option ------------*- C++ -*-===//
#ifndef CHIPMESH_TRANSFORMS_MESHOPTION_H
#define CHIPMESH_TRANSFORMS_MESHOPTION_H

#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace chipmesh {

/// `option` names a `topo.mesh` in `module` ("@name" or "name"), or a file
/// (it contains '/' or ends in ".mlir") whose module holds one (the only
/// mesh, or the first). `holder` keeps a parsed file alive. Emits a
/// located error listing the meshes that exist and fails otherwise.
mlir::FailureOr<topo::MeshOp>
resolveMeshOption(mlir::ModuleOp module, llvm::StringRef option,
                  mlir::OwningOpRef<mlir::ModuleOp> &holder);

} // namespace chipmesh

#endif // CHIPMESH_TRANSFORMS_MESHOPTION_H
