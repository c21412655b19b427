//===- VerifyPlan.cpp - Check per-device programs against their plan ------===//
//
// A driver over checkDevicePrograms (lib/Materialize/ProgramCheck.cpp).
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Materialize/ProgramCheck.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "chipmesh/Transforms/Passes.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHVERIFYPLAN
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;

namespace {

struct VerifyPlanPass
    : public ListsOptionsOnError<
          chipmesh::impl::ChipMeshVerifyPlanBase<VerifyPlanPass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override;
};

void VerifyPlanPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<PlanSpec> plan = readPlanSpec(module);
  if (failed(plan))
    return signalPassFailure();
  FailureOr<ProgramCheckSummary> checked = checkDevicePrograms(module, *plan);
  if (failed(checked))
    return signalPassFailure();
  if (report)
    llvm::outs() << llvm::formatv(
        "verify-plan: {0} devices, {1} messages matched, {2} collectives "
        "agreed, no deadlock under {3}; {4} weights held in each of {5} "
        "replicas ({6} tiled from shards); {7:e} FLOPs per step, equal to "
        "the model's\n",
        checked->devices, checked->messageEnds / 2, checked->collectives,
        stringifySchedule(checked->schedule), checked->weights,
        checked->replicas, checked->shardsTiled, checked->flops);
}

} // namespace
