//===- Materialize.cpp - --chipmesh-materialize ---------------------------===//
//
// A driver over materializePlan (lib/Materialize/Materializer.cpp): one
// program per device from the module's chipmesh.plan.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Materialize/Materializer.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "chipmesh/Transforms/Passes.h"

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHMATERIALIZE
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;

namespace {

struct MaterializePass
    : public ListsOptionsOnError<
          chipmesh::impl::ChipMeshMaterializeBase<MaterializePass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<PlanSpec> plan = readPlanSpec(module);
    if (failed(plan) || failed(materializePlan(module, *plan)))
      return signalPassFailure();
  }
};

} // namespace
