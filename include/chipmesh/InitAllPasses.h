//===- InitAllPasses.h - Every pass chipmesh-opt offers ---------*- C++ -*-===//
//
// ChipMesh's passes (include/chipmesh/Transforms/Passes.td), its
// conversions (include/chipmesh/Conversion/Passes.td) and the
// upstream clean-ups pipelines use around them.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_INITALLPASSES_H
#define CHIPMESH_INITALLPASSES_H

#include "chipmesh/Conversion/Passes.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

namespace chipmesh {

inline void registerAllPasses() {
  registerChipMeshPasses();
  registerChipMeshConversionPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
}

} // namespace chipmesh

#endif // CHIPMESH_INITALLPASSES_H
