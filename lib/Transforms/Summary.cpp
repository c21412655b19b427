//===- Summary.cpp - --chipmesh-summary -----------------------------------===//

#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Transforms/Passes.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/ToolOutputFile.h"

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHSUMMARY
#include "chipmesh/Transforms/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;

namespace {
struct ChipMeshSummaryPass
    : public ListsOptionsOnError<chipmesh::impl::ChipMeshSummaryBase<ChipMeshSummaryPass>> {
  using ListsOptionsOnError::ListsOptionsOnError;

  void runOnOperation() override {
    FailureOr<func::FuncOp> model = findModelFunction(getOperation(), funcName);
    if (failed(model))
      return signalPassFailure();
    ModelSummary summary = summarizeModel(*model);
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> out =
        openCommittedOutput(outputFile, &error);
    if (!out) {
      getOperation().emitError() << "cannot open '" << outputFile
                                 << "': " << error;
      return signalPassFailure();
    }
    out->os() << llvm::formatv("{0:2}", finiteJSON(toJSON(summary))) << "\n";
    out->keep();
    markAllAnalysesPreserved();
  }
};
} // namespace
