//===- GraphToShard.cpp - Tensor-parallel stages to upstream shard --------===//
//
// Upstream `shard-partition` can split a function once every value says
// how it is sharded, but nothing upstream decides the shardings, let alone
// uneven ones. This pass writes the plan's decisions (Megatron-style
// column/row splits with speed-proportional `sharded_dims_offsets`) on a
// linalg form of each tensor-parallel stage.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Conversion/Passes.h"
#include "chipmesh/Materialize/PlanSpec.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHEXPORTSHARD
#include "chipmesh/Conversion/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;

namespace {

/// Dimension split across the grid (-1: replicated) and its offsets.
struct ShardSpec {
  int64_t dim = -1;
  SmallVector<int64_t> offsets;
};

class StageExporter {
public:
  StageExporter(OpBuilder &b, FlatSymbolRefAttr grid, ArrayRef<double> shares)
      : b(b), grid(grid), shares(shares) {}

  /// Whether every op of the stage has a lowering; names the first that
  /// does not.
  static Operation *unsupported(Operation *op) {
    if (auto layer = dyn_cast<LayerOp>(op)) {
      for (Operation &inner : layer.getBodyBlock())
        if (Operation *bad = unsupported(&inner))
          return bad;
      return nullptr;
    }
    if (isa<ParamOp, YieldOp, ReluOp>(op))
      return nullptr;
    if (auto linear = dyn_cast<LinearOp>(op))
      return linear.getBias() || linear.getInput().getType().getRank() != 2
                 ? op
                 : nullptr;
    if (auto add = dyn_cast<AddOp>(op))
      return add.getLhs().getType() == add.getRhs().getType() ? nullptr : op;
    return op;
  }

  /// `value` annotated with `spec`: its own sharding and its users'.
  Value annotate(Value value, const ShardSpec &spec, Location loc) {
    auto type = cast<RankedTensorType>(value.getType());
    SmallVector<shard::GridAxesAttr> axes;
    for (int64_t d = 0; d <= std::max<int64_t>(spec.dim, 0); ++d)
      axes.push_back(b.getDenseI16ArrayAttr(
          d == spec.dim ? ArrayRef<int16_t>{0} : ArrayRef<int16_t>{}));
    // In LLVM 22 this builder stores its third argument as the sharded
    // dimension offsets and its fourth as the halo sizes, whatever the
    // declared parameter names say; this was checked against the printed IR.
    Value sharding = shard::ShardingOp::create(
        b, loc, grid, axes,
        spec.dim < 0 ? ArrayRef<int64_t>{} : ArrayRef<int64_t>(spec.offsets),
        ArrayRef<int64_t>{});
    Value own = shard::ShardOp::create(b, loc, type, value, sharding, false);
    Value forUsers = shard::ShardOp::create(b, loc, type, own, sharding, true);
    layouts[forUsers] = spec;
    return forUsers;
  }

  ShardSpec split(int64_t dim, int64_t extent) {
    ShardSpec spec;
    std::optional<SmallVector<int64_t>> sizes =
        apportionShares(extent, 1, shares);
    if (!sizes)
      return spec; // fewer columns than chips: keep it whole
    spec.dim = dim;
    spec.offsets.push_back(0);
    for (int64_t s : *sizes)
      spec.offsets.push_back(spec.offsets.back() + s);
    return spec;
  }

  /// A zero-filled tensor of `type`, annotated with `spec`.
  Value zeros(RankedTensorType type, const ShardSpec &spec, Location loc) {
    Value empty = annotate(
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType()),
        spec, loc);
    Value zero = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(type.getElementType(), 0.0));
    return annotate(
        linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
            .getResult(0),
        spec, loc);
  }

  LogicalResult emit(Operation *op, IRMapping &map,
                     SmallVectorImpl<std::pair<ParamOp, ShardSpec>> &weights,
                     Block *entry, int64_t repeat = -1) {
    Location loc = op->getLoc();
    if (auto layer = dyn_cast<LayerOp>(op)) {
      SmallVector<Value> current;
      for (Value v : layer.getInputs())
        current.push_back(map.lookup(v));
      int64_t times =
          repeat >= 0 ? repeat : static_cast<int64_t>(layer.getRepeat());
      for (int64_t r = 0; r < times; ++r) {
        IRMapping inner;
        for (auto [arg, v] :
             llvm::zip(layer.getBodyBlock().getArguments(), current))
          inner.map(arg, v);
        for (Operation &bodyOp : layer.getBodyBlock()) {
          if (auto yield = dyn_cast<YieldOp>(bodyOp)) {
            current.clear();
            for (Value v : yield.getValues())
              current.push_back(inner.lookup(v));
            continue;
          }
          if (failed(emit(&bodyOp, inner, weights, entry)))
            return failure();
        }
      }
      for (auto [result, v] : llvm::zip(layer.getResults(), current))
        map.map(result, v);
      return success();
    }
    if (isa<ParamOp>(op))
      return success(); // an argument, added where it is first used
    auto weightArg = [&](ParamOp param, const ShardSpec &spec) {
      Value arg = entry->addArgument(param.getType(), param.getLoc());
      weights.push_back({param, spec});
      return annotate(arg, spec, loc);
    };
    if (auto linear = dyn_cast<LinearOp>(op)) {
      Value x = map.lookup(linear.getInput());
      const ShardSpec &in = layouts[x];
      auto w = linear.getWeight();
      auto wType = cast<RankedTensorType>(w.getType());
      auto param = w.getDefiningOp<ParamOp>();
      if (!param)
        return op->emitWarning() << "has a weight that is not a graph.param";
      int64_t rows = linear.getInput().getType().getShape()[0];
      auto resultType = RankedTensorType::get({rows, wType.getShape()[1]},
                                              wType.getElementType());
      ShardSpec weightSpec, outSpec;
      if (in.dim == 1) { // row-parallel: the result is summed over the grid
        weightSpec.dim = 0;
        weightSpec.offsets = in.offsets;
      } else {
        weightSpec = split(1, wType.getShape()[1]);
        if (weightSpec.dim >= 0) {
          outSpec.dim = 1;
          outSpec.offsets = weightSpec.offsets;
        }
      }
      Value weight = weightArg(param, weightSpec);
      Value init = zeros(resultType, outSpec, loc);
      Value product = linalg::MatmulOp::create(b, loc, ValueRange{x, weight},
                                               ValueRange{init})
                          .getResult(0);
      map.map(linear.getResult(), annotate(product, outSpec, loc));
      return success();
    }
    if (auto relu = dyn_cast<ReluOp>(op)) {
      Value x = map.lookup(relu.getInput());
      ShardSpec spec = layouts[x];
      auto type = cast<RankedTensorType>(x.getType());
      Value zero = zeros(type, spec, loc);
      Value init = annotate(tensor::EmptyOp::create(b, loc, type.getShape(),
                                                    type.getElementType()),
                            spec, loc);
      Value max =
          linalg::MaxOp::create(b, loc, ValueRange{x, zero}, ValueRange{init})
              .getResult(0);
      map.map(relu.getResult(), annotate(max, spec, loc));
      return success();
    }
    auto add = cast<AddOp>(op);
    Value lhs = map.lookup(add.getLhs()), rhs = map.lookup(add.getRhs());
    ShardSpec spec = layouts[lhs];
    if (layouts[rhs].dim != spec.dim || layouts[rhs].offsets != spec.offsets)
      spec = ShardSpec{}; // shard-partition reshards both to replicated
    auto type = cast<RankedTensorType>(lhs.getType());
    Value init = annotate(
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType()),
        spec, loc);
    Value sum =
        linalg::AddOp::create(b, loc, ValueRange{lhs, rhs}, ValueRange{init})
            .getResult(0);
    map.map(add.getResult(), annotate(sum, spec, loc));
    return success();
  }

private:
  OpBuilder &b;
  FlatSymbolRefAttr grid;
  ArrayRef<double> shares;
  llvm::DenseMap<Value, ShardSpec> layouts;
};

struct ExportShardPass
    : public ListsOptionsOnError<
          chipmesh::impl::ChipMeshExportShardBase<ExportShardPass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override;

private:
  LogicalResult exportStage(const PlanSpec &plan, size_t s,
                            const StageSpec &stage, SymbolTable &symbols,
                            SmallVector<Operation *> &exported);
};

/// Stage `s` as a shard-dialect function over a grid of its tensor group,
/// appended to `exported`; stages without tensor parallelism, whose
/// replicas split differently or with an op that has no linalg lowering
/// are skipped (the last with a warning).
LogicalResult ExportShardPass::exportStage(const PlanSpec &plan, size_t s,
                                           const StageSpec &stage,
                                           SymbolTable &symbols,
                                           SmallVector<Operation *> &exported) {
  ModuleOp module = getOperation();
  func::FuncOp func = plan.model;
  OpBuilder b(&getContext());
  bool uniform = llvm::all_of(stage.shares, [&](const std::vector<double> &sh) {
    return sh == stage.shares.front();
  });
  if (stage.shares.front().size() < 2 || !uniform)
    return success(); // no tensor parallelism, or replicas split differently
  // The stage's top-level ops (whole layers only: a layer cut between
  // stages is exported with the repetitions this stage holds).
  SmallVector<std::pair<Operation *, int64_t>> ops;
  Operation *bad = nullptr;
  for (Operation &op : func.getBody().front()) {
    auto placement = op.getAttrOfType<DictionaryAttr>("chipmesh.placement");
    if (!placement)
      continue;
    auto stages = placement.getAs<DenseI64ArrayAttr>("stages");
    auto repeats = placement.getAs<DenseI64ArrayAttr>("repeats");
    for (auto [st, rep] : llvm::zip(stages.asArrayRef(), repeats.asArrayRef()))
      if (st == static_cast<int64_t>(s)) {
        ops.push_back({&op, rep});
        if (!bad)
          bad = StageExporter::unsupported(&op);
      }
  }
  if (bad) {
    bad->emitWarning() << "stage " << s
                       << " is not exported to the shard dialect: '"
                       << bad->getName() << "' has no linalg lowering here";
    return success();
  }
  std::string name = plan.func + "_stage" + std::to_string(s);
  if (symbols.lookup(name + "_shard") || symbols.lookup(name + "_grid")) {
    module.emitError() << "the module already has @" << name << "_shard or @"
                       << name << "_grid";
    return failure();
  }
  b.setInsertionPointToEnd(module.getBody());
  auto grid = shard::GridOp::create(
      b, func.getLoc(), name + "_grid",
      ArrayRef<int64_t>{static_cast<int64_t>(stage.shares.front().size())});
  auto fn = func::FuncOp::create(b, func.getLoc(), name + "_shard",
                                 b.getFunctionType({}, {}));
  fn->setAttr("comm.stage", b.getI64IntegerAttr(static_cast<int64_t>(s)));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  StageExporter exporter(b, FlatSymbolRefAttr::get(grid.getSymNameAttr()),
                         stage.shares.front());
  IRMapping map;
  SmallVector<std::pair<ParamOp, ShardSpec>> weights;
  // Stage inputs: values defined outside the stage, replicated.
  llvm::DenseSet<Operation *> inStage;
  for (auto [op, rep] : ops)
    inStage.insert(op);
  SmallVector<Value> produced;
  bool lowered = true;
  for (auto [op, rep] : ops) {
    for (Value operand : op->getOperands())
      if (!map.contains(operand) && !operand.getDefiningOp<ParamOp>() &&
          !inStage.contains(operand.getDefiningOp())) {
        Value arg = entry->addArgument(operand.getType(), operand.getLoc());
        map.map(operand, exporter.annotate(arg, ShardSpec{}, operand.getLoc()));
      }
    if (failed(exporter.emit(op, map, weights, entry, rep))) {
      lowered = false;
      break;
    }
    llvm::append_range(produced, op->getResults());
  }
  if (!lowered) {
    fn.erase();
    grid.erase();
    return success();
  }
  // Results: what the stage produces for others, made replicated.
  SmallVector<Value> results;
  for (Value v : produced) {
    bool external = llvm::any_of(
        v.getUsers(), [&](Operation *user) { return !inStage.contains(user); });
    if (external)
      results.push_back(
          exporter.annotate(map.lookup(v), ShardSpec{}, v.getLoc()));
  }
  func::ReturnOp::create(b, func.getLoc(), results);
  fn.setType(b.getFunctionType(entry->getArgumentTypes(),
                               ValueRange(results).getTypes()));
  for (auto [i, weight] : llvm::enumerate(weights)) {
    unsigned index = entry->getNumArguments() - weights.size() + i;
    fn.setArgAttr(index, "chipmesh.param", weight.first.getNameAttr());
  }
  exported.push_back(grid);
  exported.push_back(fn);
  return success();
}

void ExportShardPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<PlanSpec> planOr = readPlanSpec(module);
  if (failed(planOr))
    return signalPassFailure();
  const PlanSpec &plan = *planOr;
  SymbolTable symbols(module);
  SmallVector<Operation *> exported;
  for (auto [s, stage] : llvm::enumerate(plan.stages))
    if (failed(exportStage(plan, s, stage, symbols, exported)))
      return signalPassFailure();
  if (outputFile.empty())
    return;
  OwningOpRef<ModuleOp> standalone = ModuleOp::create(module.getLoc());
  for (Operation *op : exported) {
    op->remove();
    standalone->getBody()->push_back(op);
  }
  std::string error;
  auto out = openCommittedOutput(outputFile, &error);
  if (!out) {
    module.emitError() << "cannot open '" << outputFile << "': " << error;
    return signalPassFailure();
  }
  standalone->print(out->os());
  out->os() << "\n";
  out->keep();
}

} // namespace
