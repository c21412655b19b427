//===- ModelCut.cpp - The model cut into pieces by the plan's stages ------===//

#include "ModelCut.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "llvm/Support/FormatVariadic.h"

using namespace chipmesh::graph;

namespace chipmesh::materialize {

FailureOr<Model> cutModel(func::FuncOp func, const PlanSpec &plan) {
  Model model;
  llvm::DenseMap<Value, int64_t> idOf;
  func.walk([&](ParamOp param) {
    int64_t next = static_cast<int64_t>(model.paramIndex.size());
    model.paramIndex[param] = next;
  });
  for (BlockArgument arg : func.getArguments()) {
    idOf[arg] = static_cast<int64_t>(model.values.size());
    LogicalValue value;
    value.type = arg.getType();
    value.argument = arg.getArgNumber();
    model.values.push_back(value);
    if (!model.tracedBatch)
      if (auto t = dyn_cast<RankedTensorType>(arg.getType());
          t && t.getRank() >= 1 && t.hasStaticShape())
        model.tracedBatch = t.getShape()[0];
  }
  auto newValue = [&](Type type, int64_t stage) {
    LogicalValue value;
    value.type = type;
    value.producer = stage;
    model.values.push_back(value);
    return static_cast<int64_t>(model.values.size()) - 1;
  };
  auto inputsOf = [&](Piece &piece, Operation *op) -> LogicalResult {
    for (Value operand : op->getOperands()) {
      auto it = idOf.find(operand);
      if (it == idOf.end())
        continue; // a weight or constant: made where it is used
      LogicalValue &value = model.values[it->second];
      if (value.producer > piece.stage)
        return op->emitError()
               << "is placed on stage " << piece.stage
               << " but reads a value of stage " << value.producer
               << "; placements must follow the order of the "
                  "model";
      piece.inputs.push_back(it->second);
      piece.bindings.push_back({operand, it->second});
      value.consumers.insert(piece.stage);
    }
    return success();
  };
  int64_t layerIndex = 0; // expanded layers placed so far
  std::vector<bool> stageHasWork(plan.stages.size(), false);
  Operation *rangeViolation = nullptr;
  std::string rangeMessage;
  for (Operation &op : func.getBody().front()) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        auto it = idOf.find(v);
        if (it == idOf.end())
          return ret.emitError() << "returns a value no stage computes";
        model.values[it->second].returnedAs.push_back(static_cast<int64_t>(i));
      }
      continue;
    }
    auto placement = op.getAttrOfType<DictionaryAttr>("chipmesh.placement");
    if (!placement) {
      if (isa<ParamOp>(op) ||
          (op.getNumOperands() == 0 && op.getNumRegions() == 0))
        continue;
      return op.emitError() << "has no 'chipmesh.placement'; run "
                               "--chipmesh-partition on this module first";
    }
    auto stages = placement.getAs<DenseI64ArrayAttr>("stages");
    auto repeats = placement.getAs<DenseI64ArrayAttr>("repeats");
    if (!stages || !repeats || stages.size() != repeats.size() ||
        stages.empty())
      return op.emitError() << "has a malformed 'chipmesh.placement': needs "
                               "'stages' and 'repeats' of one length";
    auto layer = dyn_cast<LayerOp>(op);
    int64_t total = 0;
    for (auto [s, r] : llvm::zip(stages.asArrayRef(), repeats.asArrayRef())) {
      if (s < 0 || s >= plan.pp || r < 1)
        return op.emitError() << "is placed on stage " << s << " (x" << r
                              << "); the plan has stages 0.." << plan.pp - 1;
      total += r;
    }
    if (total != (layer ? static_cast<int64_t>(layer.getRepeat()) : 1))
      return op.emitError() << "has placement repeats adding up to " << total
                            << ", not its repeat count";
    // The placement must agree with the plan's layer ranges: the k-th
    // piece's layers lie inside its stage's [first, end).
    for (auto [s, r] : llvm::zip(stages.asArrayRef(), repeats.asArrayRef())) {
      const StageSpec &range = plan.stages[s];
      // Reported after the walk, so that the order and value checks below
      // (which say more) come first.
      if (!rangeViolation &&
          (layerIndex < range.firstLayer || layerIndex + r > range.endLayer)) {
        rangeViolation = &op;
        rangeMessage =
            llvm::formatv("is placed with layers [{0}, {1}) on stage "
                          "{2}, whose chipmesh.plan range is [{3}, {4})",
                          layerIndex, layerIndex + r, s, range.firstLayer,
                          range.endLayer)
                .str();
      }
      stageHasWork[s] = true;
      layerIndex += r;
    }
    SmallVector<int64_t> previous;
    int64_t firstRepeat = 0;
    for (int64_t k = 0; k < stages.size(); ++k) {
      Piece piece;
      piece.op = &op;
      piece.stage = stages[k];
      piece.repeat = repeats[k];
      piece.firstRepeat = firstRepeat;
      firstRepeat += repeats[k];
      if (k == 0) {
        if (failed(inputsOf(piece, &op)))
          return failure();
      } else {
        if (stages[k] < stages[k - 1])
          return op.emitError() << "is placed on stages out of order";
        piece.inputs = previous;
        for (auto [operand, id] : llvm::zip(layer.getInputs(), previous))
          piece.bindings.push_back({operand, id});
        for (int64_t id : previous)
          model.values[id].consumers.insert(piece.stage);
      }
      for (Value result : op.getResults())
        piece.outputs.push_back(newValue(result.getType(), piece.stage));
      previous = piece.outputs;
      model.pieces.push_back(std::move(piece));
    }
    for (auto [result, id] : llvm::zip(op.getResults(), previous))
      idOf[result] = id;
  }
  if (rangeViolation)
    return rangeViolation->emitError() << rangeMessage;
  int64_t planned = plan.stages.empty() ? 0 : plan.stages.back().endLayer;
  if (layerIndex != planned)
    return func.emitError()
           << "holds " << layerIndex
           << " placed layers, but chipmesh.plan's stages cover " << planned;
  for (auto [s, work] : llvm::enumerate(stageHasWork))
    if (!work)
      return func.emitError()
             << "chipmesh.plan's stage " << s << " holds no op of the model";
  return model;
}

} // namespace chipmesh::materialize
