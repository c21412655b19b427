//===- JSONFuzzer.cpp - Arbitrary bytes through every JSON reader ---------===//
//
// libFuzzer target: the input is read as each JSON file ChipMesh accepts —
// a Hugging Face config.json (imported for training and for inference), a
// chipmesh-plan inventory, a calibration file, and a plan file against a
// small fixed mesh. Errors are expected; crashes, sanitizer reports, hangs
// and unbounded allocations are bugs.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/CostModel/Calibration.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Dialect/Topo/MeshView.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/InitAllDialects.h"
#include "chipmesh/Partition/Partitioner.h"
#include "chipmesh/Plan/Planner.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include <cstdint>

using namespace mlir;

static constexpr const char *kMesh = R"(
  topo.mesh @m {
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chip_kind @a100 catalog "a100-sxm-80gb"
    topo.link_kind @nvl catalog "nvlink4"
    topo.link_kind @net catalog "roce-200g"
    topo.group "cluster" switched via @net {
      topo.group "n0" switched via @nvl { topo.chips @h100 x 2 }
      topo.group "n1" switched via @nvl { topo.chips @a100 x 2 }
    }
  })";

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 1 << 16)
    return 0;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  DialectRegistry registry;
  chipmesh::registerChipMeshDialects(registry);
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  ScopedDiagnosticHandler quiet(&context, [](Diagnostic &) { return success(); });

  for (bool training : {true, false}) {
    chipmesh::HFImportOptions options;
    options.training = training;
    options.batch = 2;
    options.seqLen = 16;
    options.kvCache = training ? 0 : 16;
    (void)chipmesh::importHFConfig(text, "fuzz.json", options, &context);
  }
  if (auto inventory = chipmesh::parseInventory(text, "fuzz.json"); !inventory)
    llvm::consumeError(inventory.takeError());
  if (auto calibration = chipmesh::Calibration::fromJSON(text); !calibration)
    llvm::consumeError(calibration.takeError());

  // Built once and kept for the process (never destroyed: static
  // destruction order would free the context before the module).
  static chipmesh::MeshView *mesh = [&] {
    auto *meshContext = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
    meshContext->loadAllAvailableDialects();
    ModuleOp meshModule = parseSourceString<ModuleOp>(kMesh, meshContext).release();
    auto built = chipmesh::MeshView::build(*meshModule.getOps<chipmesh::topo::MeshOp>().begin());
    if (failed(built))
      __builtin_trap(); // the mesh is ours: must build
    return new chipmesh::MeshView(std::move(*built));
  }();
  if (auto plan = chipmesh::parsePlanFile(text, *mesh); !plan)
    llvm::consumeError(plan.takeError());
  return 0;
}
