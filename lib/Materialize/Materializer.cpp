//===- Materializer.cpp - One program per device from a plan --------------===//
//
// For every device of the plan: a stage function (the forward of one
// micro-batch, cut to the device's tensor-parallel shard by StageEmitter)
// and a step function running the schedule over the replica's
// micro-batches: slices of the model inputs, sends and receives between
// stages, backward calls, the gradient all-reduce over the replicas and
// the optimizer step.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Materialize/Materializer.h"
#include "ModelCut.h"
#include "StageEmitter.h"
#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Interfaces/CostInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/SymbolTable.h"
#include <map>

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;
using namespace chipmesh::materialize;

namespace {

RankedTensorType withLeading(Type type, int64_t leading) {
  auto tensor = cast<RankedTensorType>(type);
  SmallVector<int64_t> shape(tensor.getShape());
  shape[0] = leading;
  return tensor.clone(shape);
}

/// The member of a group of `theirSize` that member `myRank` of another
/// group talks to.
int64_t peerRank(int64_t myRank, int64_t theirSize) {
  return myRank % theirSize;
}

/// One device's place in the plan, and the values its stage reads from
/// other stages (inputs) and hands on (outputs).
struct DeviceSite {
  int64_t replica, stage, rank, chip;
  int64_t microBatches;    ///< of this replica
  int64_t samplesBefore;   ///< of the replicas before it
  ArrayRef<int64_t> group; ///< the stage's tensor group in this replica
  SmallVector<int64_t> inputs, outputs;
};

/// What the step function keeps per micro-batch while it plays the
/// schedule.
struct StepState {
  Block *body = nullptr;
  func::FuncOp stageFn;
  SmallVector<int64_t> argIds; ///< logical values given as step arguments
  std::vector<SmallVector<Value>> savedInputs, stageOutputs;
  std::map<int64_t, SmallVector<Value>> returned; ///< result pos -> per mb
};

class Materializer {
public:
  Materializer(ModuleOp module, const PlanSpec &plan, Model &model)
      : module(module), plan(plan), model(model), func(plan.model),
        ctx(module.getContext()), b(ctx), symbols(module),
        numValues(static_cast<int64_t>(model.values.size())) {}

  LogicalResult run();

private:
  bool isBatched(Type type) const {
    auto t = dyn_cast<RankedTensorType>(type);
    return t && t.getRank() >= 1 && t.getShape()[0] == model.tracedBatch;
  }
  Type microType(Type type) const {
    return isBatched(type) ? Type(withLeading(type, plan.microBatch)) : type;
  }
  comm::DeviceAttr deviceAttr(int64_t chip) const {
    return comm::DeviceAttr::get(ctx, plan.mesh, chip);
  }
  /// Unique per (micro-batch, value, direction).
  int64_t tagFor(int64_t microBatch, int64_t value, bool backward) const {
    return (microBatch * numValues + value) * 2 + (backward ? 1 : 0);
  }
  void collectStageValues(DeviceSite &site) const;
  FailureOr<func::FuncOp> emitStage(const DeviceSite &site);
  LogicalResult emitStep(const DeviceSite &site, func::FuncOp stageFn);
  void emitForward(const DeviceSite &site, StepState &state, int64_t mb);
  void emitBackward(const DeviceSite &site, StepState &state, int64_t mb);
  LogicalResult emitOptimizer(const DeviceSite &site, StepState &state);
  void emitStepResults(StepState &state, func::FuncOp stepFn,
                       ArrayRef<Type> argTypes);

  ModuleOp module;
  const PlanSpec &plan;
  Model &model;
  func::FuncOp func;
  MLIRContext *ctx;
  OpBuilder b;
  SymbolTable symbols;
  int64_t numValues;
};

LogicalResult Materializer::run() {
  int64_t samplesBefore = 0;
  for (int64_t r = 0; r < plan.dp; ++r) {
    int64_t micro = plan.replicaMicroBatches[r];
    for (int64_t s = 0; s < plan.pp; ++s) {
      DeviceSite site{
          r, s, 0, 0, micro, samplesBefore, plan.stages[s].devices[r], {}, {}};
      collectStageValues(site);
      for (int64_t t = 0; t < static_cast<int64_t>(site.group.size()); ++t) {
        site.rank = t;
        site.chip = site.group[t];
        FailureOr<func::FuncOp> stageFn = emitStage(site);
        if (failed(stageFn) || failed(emitStep(site, *stageFn)))
          return failure();
      }
    }
    samplesBefore += micro * plan.microBatch;
  }
  return success();
}

void Materializer::collectStageValues(DeviceSite &site) const {
  int64_t s = site.stage;
  for (const Piece &piece : model.pieces)
    if (piece.stage == s)
      for (int64_t id : piece.inputs)
        if (model.values[id].producer != s &&
            !llvm::is_contained(site.inputs, id))
          site.inputs.push_back(id);
  for (int64_t id = 0; id < numValues; ++id) {
    const LogicalValue &value = model.values[id];
    if (value.producer == s &&
        (!value.returnedAs.empty() ||
         llvm::any_of(value.consumers, [&](int64_t c) { return c != s; })))
      site.outputs.push_back(id);
  }
}

/// The stage: the forward of one micro-batch on one member.
FailureOr<func::FuncOp> Materializer::emitStage(const DeviceSite &site) {
  std::string base = plan.func + "_dev" + std::to_string(site.chip);
  std::string stageName = base + "_stage";
  for (StringRef name : {StringRef(stageName), StringRef(base)})
    if (symbols.lookup(name))
      return module.emitError() << "cannot materialize: the module already "
                                   "has a symbol @"
                                << name;
  SmallVector<Type> inTypes;
  for (int64_t id : site.inputs)
    inTypes.push_back(microType(model.values[id].type));
  b.setInsertionPointToEnd(module.getBody());
  auto stageFn = func::FuncOp::create(b, func.getLoc(), stageName,
                                      b.getFunctionType(inTypes, {}));
  stageFn.setPrivate();
  stageFn->setAttr(comm::CommDialect::getDeviceAttrName(),
                   deviceAttr(site.chip));
  Block *body = stageFn.addEntryBlock();
  b.setInsertionPointToStart(body);
  const StageSpec &stage = plan.stages[site.stage];
  StageEmitter emitter(b, site.group, stage.shares[site.replica], site.rank,
                       model.paramIndex);
  llvm::DenseMap<int64_t, Value> local;
  for (auto [id, arg] : llvm::zip(site.inputs, body->getArguments()))
    local[id] = arg;
  for (const Piece &piece : model.pieces) {
    if (piece.stage != site.stage)
      continue;
    auto layer = dyn_cast<LayerOp>(piece.op);
    for (auto [operand, id] : piece.bindings)
      emitter.bind(operand, local[id]);
    LogicalResult emitted =
        layer ? emitter.emitLayer(layer, piece.repeat, piece.firstRepeat)
              : emitter.emitOp(piece.op);
    if (failed(emitted))
      return failure();
    for (auto [result, id] : llvm::zip(piece.op->getResults(), piece.outputs)) {
      FailureOr<Value> value = emitter.replicated(result);
      if (failed(value))
        return failure();
      local[id] = *value;
    }
  }
  SmallVector<Value> results;
  for (int64_t id : site.outputs)
    results.push_back(local[id]);
  func::ReturnOp::create(b, func.getLoc(), results);
  stageFn.setType(b.getFunctionType(inTypes, ValueRange(results).getTypes()));
  return stageFn;
}

/// The step: the schedule over this replica's micro-batches.
LogicalResult Materializer::emitStep(const DeviceSite &site,
                                     func::FuncOp stageFn) {
  StepState state;
  state.stageFn = stageFn;
  SmallVector<Type> argTypes;
  for (int64_t id : site.inputs)
    if (model.values[id].argument >= 0) {
      state.argIds.push_back(id);
      Type type = model.values[id].type;
      argTypes.push_back(
          isBatched(type)
              ? Type(withLeading(type, site.microBatches * plan.microBatch))
              : type);
    }
  b.setInsertionPointToEnd(module.getBody());
  std::string stepName = plan.func + "_dev" + std::to_string(site.chip);
  auto stepFn = func::FuncOp::create(b, func.getLoc(), stepName,
                                     b.getFunctionType(argTypes, {}));
  stepFn->setAttr(comm::CommDialect::getDeviceAttrName(),
                  deviceAttr(site.chip));
  stepFn->setAttr("comm.stage", b.getI64IntegerAttr(site.stage));
  stepFn->setAttr("comm.replica", b.getI64IntegerAttr(site.replica));
  stepFn->setAttr("comm.tp_rank", b.getI64IntegerAttr(site.rank));
  stepFn->setAttr("comm.micro_batches", b.getI64IntegerAttr(site.microBatches));
  for (auto [i, id] : llvm::enumerate(state.argIds)) {
    stepFn.setArgAttr(i, "comm.input",
                      b.getI64IntegerAttr(model.values[id].argument));
    if (isBatched(model.values[id].type))
      stepFn.setArgAttr(i, "comm.batch_offset",
                        b.getI64IntegerAttr(site.samplesBefore));
  }
  state.body = stepFn.addEntryBlock();
  b.setInsertionPointToStart(state.body);
  state.savedInputs.resize(site.microBatches);
  state.stageOutputs.resize(site.microBatches);
  int64_t opsPerStage =
      plan.training ? 2 * site.microBatches : site.microBatches;
  for (int64_t i = 0; i < opsPerStage; ++i) {
    PipeOp pipeOp = pipelineOpAt(plan.schedule, plan.training, plan.pp,
                                 site.stage, site.microBatches, i);
    int64_t mb = static_cast<int64_t>(pipeOp.microBatch);
    if (pipeOp.backward)
      emitBackward(site, state, mb);
    else
      emitForward(site, state, mb);
  }
  if (plan.training && failed(emitOptimizer(site, state)))
    return failure();
  emitStepResults(state, stepFn, argTypes);
  return success();
}

void Materializer::emitForward(const DeviceSite &site, StepState &state,
                               int64_t mb) {
  Location loc = func.getLoc();
  int64_t r = site.replica, t = site.rank;
  int64_t tpSize = static_cast<int64_t>(site.group.size());
  SmallVector<Value> args;
  for (int64_t id : site.inputs) {
    const LogicalValue &value = model.values[id];
    if (value.argument >= 0) {
      Value whole = state.body->getArgument(llvm::find(state.argIds, id) -
                                            state.argIds.begin());
      if (!isBatched(value.type)) {
        args.push_back(whole);
        continue;
      }
      auto type = cast<RankedTensorType>(whole.getType());
      SmallVector<int64_t> offsets(type.getRank(), 0), sizes(type.getShape());
      offsets[0] = mb * plan.microBatch;
      sizes[0] = plan.microBatch;
      args.push_back(SliceOp::create(b, loc, whole, offsets, sizes));
      continue;
    }
    const StageSpec &from = plan.stages[value.producer];
    int64_t src =
        from.devices[r]
                    [peerRank(t, static_cast<int64_t>(from.devices[r].size()))];
    args.push_back(comm::RecvOp::create(b, loc, microType(value.type), src,
                                        tagFor(mb, id, false)));
  }
  auto call = func::CallOp::create(b, loc, state.stageFn, args);
  state.savedInputs[mb] = args;
  state.stageOutputs[mb].assign(call.getResults().begin(),
                                call.getResults().end());
  for (auto [k, id] : llvm::enumerate(site.outputs)) {
    const LogicalValue &value = model.values[id];
    for (int64_t c : value.consumers) {
      if (c == site.stage)
        continue;
      const auto &to = plan.stages[c].devices[r];
      for (int64_t j = 0; j < static_cast<int64_t>(to.size()); ++j)
        if (peerRank(j, tpSize) == t)
          comm::SendOp::create(b, loc, call.getResult(k), to[j],
                               tagFor(mb, id, false));
    }
    for (int64_t pos : value.returnedAs)
      state.returned[pos].push_back(call.getResult(k));
  }
}

void Materializer::emitBackward(const DeviceSite &site, StepState &state,
                                int64_t mb) {
  Location loc = func.getLoc();
  int64_t r = site.replica, t = site.rank;
  int64_t tpSize = static_cast<int64_t>(site.group.size());
  SmallVector<Value> operands(state.savedInputs[mb]);
  for (auto [k, id] : llvm::enumerate(site.outputs)) {
    const LogicalValue &value = model.values[id];
    Type type = state.stageOutputs[mb][k].getType();
    Value cotangent;
    auto accumulate = [&](Value v) {
      cotangent = cotangent ? Value(AddOp::create(b, loc, cotangent, v)) : v;
    };
    for (int64_t c : value.consumers) {
      if (c == site.stage)
        continue;
      const auto &to = plan.stages[c].devices[r];
      int64_t src = to[peerRank(t, static_cast<int64_t>(to.size()))];
      accumulate(comm::RecvOp::create(b, loc, type, src, tagFor(mb, id, true)));
    }
    if (!value.returnedAs.empty()) {
      // d(loss)/d(loss) = 1: the seed of backpropagation.
      auto tensor = cast<RankedTensorType>(type);
      accumulate(arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(
              tensor, b.getFloatAttr(tensor.getElementType(), 1.0))));
    }
    operands.push_back(cotangent);
  }
  SmallVector<Type> gradTypes;
  for (Value v : state.savedInputs[mb])
    if (isa<FloatType>(cast<ShapedType>(v.getType()).getElementType()))
      gradTypes.push_back(v.getType());
  const StageSpec &stage = plan.stages[site.stage];
  auto backward = BackwardOp::create(
      b, loc, gradTypes, FlatSymbolRefAttr::get(state.stageFn), operands,
      b.getI64IntegerAttr(static_cast<int64_t>(state.savedInputs[mb].size())),
      b.getStringAttr(stage.recompute == "full" ? "full" : "none"));
  size_t g = 0;
  for (int64_t id : site.inputs) {
    const LogicalValue &value = model.values[id];
    auto elem = cast<ShapedType>(microType(value.type)).getElementType();
    if (!isa<FloatType>(elem))
      continue;
    Value grad = backward.getResult(g++);
    if (value.argument >= 0)
      continue; // model inputs need no gradient
    const auto &from = plan.stages[value.producer].devices[r];
    for (int64_t j = 0; j < static_cast<int64_t>(from.size()); ++j)
      if (peerRank(j, tpSize) == t)
        comm::SendOp::create(b, loc, grad, from[j], tagFor(mb, id, true));
  }
}

/// The stage's gradients, all-reduced over the replicas, and the
/// optimizer step.
LogicalResult Materializer::emitOptimizer(const DeviceSite &site,
                                          StepState &state) {
  Location loc = func.getLoc();
  uint64_t count = 0;
  Type elem;
  for (Operation &op : state.stageFn.getBody().front())
    if (auto cost = dyn_cast<CostOpInterface>(op))
      count += cost.getParameterCount();
  state.stageFn.walk([&](ParamOp p) {
    if (!elem)
      elem = p.getType().getElementType();
  });
  if (count == 0)
    return success();
  auto flat = RankedTensorType::get({static_cast<int64_t>(count)}, elem);
  Value grads = GradientsOp::create(
      b, loc, flat, FlatSymbolRefAttr::get(state.stageFn), ArrayAttr());
  const StageSpec &stage = plan.stages[site.stage];
  if (plan.dp > 1) {
    SmallVector<int64_t> peers;
    for (int64_t q = 0; q < plan.dp; ++q) {
      if (stage.devices[q].size() != site.group.size() ||
          stage.shares[q] != stage.shares[site.replica])
        return func.emitError()
               << "cannot materialize the gradient all-reduce of stage "
               << site.stage << ": replicas " << site.replica << " and " << q
               << " split its weights differently (tensor-parallel groups "
                  "of different sizes or shares)";
      peers.push_back(stage.devices[q][site.rank]);
    }
    grads = comm::AllReduceOp::create(b, loc, flat, comm::ReductionKind::sum,
                                      grads, peers);
  }
  OptimizerStepOp::create(b, loc, FlatSymbolRefAttr::get(state.stageFn), grads);
  return success();
}

/// The model's results of every micro-batch, joined along the batch (or
/// stacked, for results without one).
void Materializer::emitStepResults(StepState &state, func::FuncOp stepFn,
                                   ArrayRef<Type> argTypes) {
  Location loc = func.getLoc();
  SmallVector<Value> stepResults;
  for (auto &[pos, perMicro] : state.returned) {
    if (perMicro.size() == 1) {
      stepResults.push_back(perMicro.front());
      continue;
    }
    auto type = cast<RankedTensorType>(perMicro.front().getType());
    SmallVector<Value> parts;
    if (isBatched(func.getResultTypes()[pos])) {
      parts = perMicro;
    } else {
      SmallVector<int64_t> shape{1};
      llvm::append_range(shape, type.getShape());
      for (Value v : perMicro)
        parts.push_back(ReshapeOp::create(b, loc, type.clone(shape), v));
    }
    stepResults.push_back(ConcatOp::create(b, loc, parts, 0));
  }
  func::ReturnOp::create(b, loc, stepResults);
  stepFn.setType(
      b.getFunctionType(argTypes, ValueRange(stepResults).getTypes()));
}

} // namespace

LogicalResult chipmesh::materializePlan(ModuleOp module, const PlanSpec &plan) {
  func::FuncOp func = plan.model;
  FailureOr<Model> model = cutModel(func, plan);
  if (failed(model))
    return failure();
  if (model->tracedBatch < 1)
    return func.emitError()
           << "has no tensor argument whose leading dimension is the batch; "
              "cannot cut it into micro-batches";
  return Materializer(module, plan, *model).run();
}
