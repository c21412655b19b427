//===- MeshOption.cpp - Resolve a pass's `mesh` option --------------------===//

#include "chipmesh/Transforms/MeshOption.h"
#include "mlir/Parser/Parser.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;
using namespace chipmesh;

FailureOr<topo::MeshOp>
chipmesh::resolveMeshOption(ModuleOp module, StringRef option,
                            OwningOpRef<ModuleOp> &holder) {
  bool isFile = option.contains('/') || option.ends_with(".mlir");
  if (isFile) {
    if (!llvm::sys::fs::exists(option))
      return module.emitError() << "mesh file '" << option
                                << "' does not exist";
    holder = parseSourceFile<ModuleOp>(option, module.getContext());
    if (!holder)
      return module.emitError() << "cannot parse mesh file '" << option << "'";
    if (failed(verify(*holder)))
      return failure();
    for (auto mesh : holder->getOps<topo::MeshOp>())
      return mesh;
    return module.emitError() << "mesh file '" << option
                              << "' holds no topo.mesh";
  }
  StringRef name = option;
  name.consume_front("@");
  std::string known;
  for (auto mesh : module.getOps<topo::MeshOp>()) {
    if (mesh.getSymName() == name)
      return mesh;
    known += (known.empty() ? "@" : ", @") + mesh.getSymName().str();
  }
  InFlightDiagnostic diag = module.emitError()
                            << "unknown mesh '@" << name << "'";
  if (known.empty())
    diag << ": the module holds no topo.mesh (give a file path instead)";
  else
    diag << "; the module holds " << known;
  return diag;
}
