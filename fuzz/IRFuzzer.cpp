//===- IRFuzzer.cpp - Arbitrary bytes through the whole pipeline ----------===//
//
// libFuzzer target: the input is MLIR text. It is parsed with every ChipMesh
// dialect, verified, and — if it holds a model and a mesh — run through
// --chipmesh-summary, --chipmesh-estimate, --chipmesh-partition (one
// search thread, small limits), --chipmesh-materialize and
// --chipmesh-verify-plan. Diagnostics are expected; crashes,
// sanitizer reports and hangs are bugs.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/InitAllDialects.h"
#include "chipmesh/InitAllPasses.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include <cstdint>

using namespace mlir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16)
    return 0;
  static bool registered = [] {
    chipmesh::registerAllPasses();
    return true;
  }();
  (void)registered;
  DialectRegistry registry;
  chipmesh::registerChipMeshDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  if (!module || failed(verify(*module)))
    return 0;
  bool hasMesh = !module->getOps<chipmesh::topo::MeshOp>().empty();
  std::string pipeline =
      "builtin.module(chipmesh-summary{output=/dev/null},"
      "chipmesh-estimate{annotate=true}";
  // With a mesh: partition, then write and check the per-device programs
  // (materialize and verify-plan read the plan the partitioner wrote, and
  // any chipmesh.plan the input itself carries).
  if (hasMesh)
    pipeline += ",chipmesh-partition{threads=1 batch=8},chipmesh-materialize,"
                "chipmesh-verify-plan";
  pipeline += ")";
  PassManager pm(&context);
  if (failed(parsePassPipeline(pipeline, pm)))
    __builtin_trap(); // the pipeline text is ours: must parse
  (void)pm.run(*module);
  return 0;
}
