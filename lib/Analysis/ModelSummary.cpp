//===- ModelSummary.cpp - Parameters, FLOPs and activations of a model ----===//

#include "chipmesh/Analysis/ModelSummary.h"
#include "llvm/Support/MathExtras.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"

using namespace mlir;
using namespace chipmesh;

/// Ops the cost model can price: every graph op, and upstream ops with
/// the cost interface attached as an external model (linalg, TOSA).
static bool holdsCostedOps(func::FuncOp func) {
  return func
      .walk([](CostOpInterface) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Prices need sizes: an op whose operands or results have a dynamic
/// dimension would be priced at zero FLOPs and bytes, so it is refused.
static LogicalResult requireStaticShapes(func::FuncOp func) {
  WalkResult result = func.walk([&](Operation *op) {
    if (!isa<CostOpInterface>(op))
      return WalkResult::advance();
    for (Type type : llvm::concat<Type>(llvm::to_vector(op->getOperandTypes()),
                                        llvm::to_vector(op->getResultTypes()))) {
      auto shaped = dyn_cast<ShapedType>(type);
      if (shaped && !shaped.hasStaticShape()) {
        op->emitError() << "has a dynamic shape (" << type
                        << "); ChipMesh prices static shapes only: give every "
                           "dimension a size";
        return WalkResult::interrupt();
      }
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

FailureOr<func::FuncOp> chipmesh::findModelFunction(ModuleOp module,
                                                    StringRef name) {
  FailureOr<func::FuncOp> found = findModelFunctionByName(module, name);
  if (failed(found) || failed(requireStaticShapes(*found)))
    return failure();
  return found;
}

FailureOr<func::FuncOp> chipmesh::findModelFunctionByName(ModuleOp module,
                                                          StringRef name) {
  if (!name.empty()) {
    auto func = module.lookupSymbol<func::FuncOp>(name);
    if (!func)
      return module.emitError() << "no function named '" << name << "'";
    return func;
  }
  SmallVector<func::FuncOp> candidates;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() && holdsCostedOps(func))
      candidates.push_back(func);
  if (candidates.size() == 1)
    return candidates.front();
  if (candidates.empty())
    return module.emitError() << "no function holds graph ops; import a "
                                 "model first (chipmesh-translate "
                                 "--import-hf-config)";
  InFlightDiagnostic diag = module.emitError()
                            << candidates.size()
                            << " functions hold graph ops; choose one with "
                               "func=<name>:";
  for (func::FuncOp func : candidates)
    diag << " @" << func.getSymName();
  return diag;
}

static uint64_t countLayers(Block &block) {
  uint64_t layers = 0;
  for (auto layer : block.getOps<graph::LayerOp>()) {
    uint64_t inner = countLayers(layer.getBodyBlock());
    layers = llvm::SaturatingAdd(
        layers, llvm::SaturatingMultiply(static_cast<uint64_t>(layer.getRepeat()),
                                         inner ? inner : uint64_t(1)));
  }
  return layers;
}

ModelSummary chipmesh::summarizeModel(func::FuncOp func) {
  ModelSummary summary;
  summary.func = func.getSymName().str();
  if (func.isExternal())
    return summary;
  summary.totals = sumCosts(func.getBody().front());
  summary.layers = countLayers(func.getBody().front());
  return summary;
}

llvm::json::Value chipmesh::toJSON(const ModelSummary &summary) {
  const CostTotals &t = summary.totals;
  return llvm::json::Object{
      {"func", summary.func},
      {"parameters", static_cast<int64_t>(std::min<uint64_t>(
                         t.parameters, std::numeric_limits<int64_t>::max()))},
      {"parameter_bytes", t.parameterBytes},
      {"forward_flops", t.forwardFlops},
      {"backward_flops", t.backwardFlops},
      {"training_flops", t.forwardFlops + t.backwardFlops},
      {"activation_bytes_saved", t.savedActivationBytes},
      {"layers", static_cast<int64_t>(summary.layers)},
      {"ops", static_cast<int64_t>(t.ops)},
  };
}
