//===- ProgramCheck.cpp - Per-device programs checked against their plan -===//
//
// Whole-program checks of a materialized module: step functions cover the
// plan's devices and read real model inputs; messages match and the
// schedule cannot deadlock (the programs are played, op by op); every
// weight is held exactly once per replica, shards tiling it; and the
// devices' FLOPs add up to the model's.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Materialize/ProgramCheck.h"
#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Interfaces/CostInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include <cmath>
#include <deque>
#include <map>

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;

namespace {
/// One communication step of a device, in program order.
struct Event {
  enum Kind { Send, Recv, Group } kind;
  int64_t peer = -1, tag = -1;
  Type type;
  SmallVector<int64_t> members; ///< sorted, for Group
  std::string signature;        ///< what every member must agree on
  Operation *op = nullptr;
};

std::string collectiveSignature(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << op->getName() << " " << op->getAttrDictionary();
  // The whole tensor: the result of a gather, the input of a scatter.
  Type whole = isa<comm::ReduceScatterOp>(op) ? op->getOperand(0).getType()
                                              : op->getResult(0).getType();
  if (!isa<comm::AllToAllOp>(op))
    os << " " << whole;
  return text;
}

/// The collectives a forward function runs, in order, and their devices.
void calleeSignature(Block &block, std::string &out,
                     llvm::SmallSetVector<int64_t, 8> &members) {
  for (Operation &op : block) {
    if (auto layer = dyn_cast<LayerOp>(op)) {
      std::string inner;
      calleeSignature(layer.getBodyBlock(), inner, members);
      if (!inner.empty())
        out +=
            "layer x" + std::to_string(layer.getRepeat()) + " {" + inner + "}";
      continue;
    }
    if (!isa<comm::CommDialect>(op.getDialect()))
      continue;
    out += collectiveSignature(&op) + ";";
    for (int64_t d : op.getAttrOfType<DenseI64ArrayAttr>("group").asArrayRef())
      members.insert(d);
  }
}

/// Forward or backward FLOPs of a function; work every member of a
/// tensor-parallel group repeats (`comm.replicated`) counts once per group.
double functionFlops(Block &block, bool backward, double groupSize) {
  double total = 0;
  for (Operation &op : block) {
    if (auto layer = dyn_cast<LayerOp>(op)) {
      total += layer.getRepeat() *
               functionFlops(layer.getBodyBlock(), backward, groupSize);
      continue;
    }
    auto cost = dyn_cast<CostOpInterface>(op);
    if (!cost)
      continue;
    double flops = backward ? cost.getBackwardFlops() : cost.getForwardFlops();
    if (op.hasAttr(comm::CommDialect::getReplicatedAttrName()))
      flops /= groupSize;
    total += flops;
  }
  return total;
}

/// What is checked of a stage function once, however often it is called.
struct CalleeFacts {
  bool pointToPoint = false;
  std::string signature;
  SmallVector<int64_t> members;
  double forwardFlops = -1, backwardFlops = -1;
};

class ProgramChecker {
public:
  ProgramChecker(ModuleOp module, const PlanSpec &plan)
      : module(module), plan(plan), model(plan.model), symbols(module) {}

  FailureOr<ProgramCheckSummary> run() {
    summary.schedule = plan.schedule;
    summary.replicas = plan.dp;
    for (Type type : model.getArgumentTypes())
      if (auto t = dyn_cast<RankedTensorType>(type);
          t && t.getRank() >= 1 && t.hasStaticShape()) {
        traced = t.getShape()[0];
        break;
      }
    if (failed(matchStepFunctions()) || failed(checkArguments()) ||
        failed(collectEvents()) || failed(play()) || failed(checkWeights()) ||
        failed(checkFlops()))
      return failure();
    summary.devices = steps.size();
    summary.weights = originals.size();
    return summary;
  }

private:
  /// 1. One step function per device of the plan, where the plan puts it.
  LogicalResult matchStepFunctions() {
    for (auto [s, stage] : llvm::enumerate(plan.stages))
      for (auto [r, devices] : llvm::enumerate(stage.devices))
        for (auto [t, chip] : llvm::enumerate(devices))
          slots[chip] = {static_cast<int64_t>(s), static_cast<int64_t>(r),
                         static_cast<int64_t>(t)};
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (!fn->hasAttr("comm.stage"))
        continue;
      auto device = fn->getAttrOfType<comm::DeviceAttr>(
          comm::CommDialect::getDeviceAttrName());
      if (!device) {
        fn.emitError() << "is a step function without a 'comm.device'";
        return failure();
      }
      int64_t chip = device.getIndex();
      auto slot = slots.find(chip);
      if (slot == slots.end()) {
        fn.emitError() << "runs on device " << chip
                       << ", which the plan does not use";
        return failure();
      }
      auto attrInt = [&](StringRef name) {
        auto attr = fn->getAttrOfType<IntegerAttr>(name);
        return attr ? attr.getInt() : -1;
      };
      if (attrInt("comm.stage") != slot->second.stage ||
          attrInt("comm.replica") != slot->second.replica ||
          attrInt("comm.tp_rank") != slot->second.rank) {
        fn.emitError() << "says stage " << attrInt("comm.stage") << ", replica "
                       << attrInt("comm.replica") << ", rank "
                       << attrInt("comm.tp_rank") << "; the plan puts device "
                       << chip << " at stage " << slot->second.stage
                       << ", replica " << slot->second.replica << ", rank "
                       << slot->second.rank;
        return failure();
      }
      if (!steps.emplace(chip, fn).second) {
        fn.emitError() << "is a second step function for device " << chip;
        return failure();
      }
    }
    for (auto &[chip, slot] : slots)
      if (!steps.count(chip)) {
        module.emitError() << "device " << chip << " (stage " << slot.stage
                           << ", replica " << slot.replica << ", rank "
                           << slot.rank
                           << ") has no step function; run "
                              "--chipmesh-materialize";
        return failure();
      }
    return success();
  }

  /// 2. Step arguments are model inputs cut to the replica's samples.
  LogicalResult checkArguments() {
    for (auto &[chip, fn] : steps) {
      int64_t micro = plan.replicaMicroBatches[slots[chip].replica];
      for (BlockArgument arg : fn.getArguments()) {
        auto input =
            fn.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(), "comm.input");
        if (!input || input.getInt() < 0 ||
            input.getInt() >= static_cast<int64_t>(model.getNumArguments())) {
          fn.emitError()
              << "argument " << arg.getArgNumber()
              << " is not a model input ('comm.input'); every value "
                 "a device reads must be computed, received or given";
          return failure();
        }
        auto want = dyn_cast<RankedTensorType>(
            model.getArgumentTypes()[input.getInt()]);
        if (want && want.getRank() >= 1 && want.getShape()[0] == traced) {
          SmallVector<int64_t> shape(want.getShape());
          shape[0] = micro * plan.microBatch;
          want = want.clone(shape);
        }
        if (want && arg.getType() != want) {
          fn.emitError() << "argument " << arg.getArgNumber() << " is "
                         << arg.getType() << "; model input " << input.getInt()
                         << " for " << micro << " micro-batches of "
                         << plan.microBatch << " is " << want;
          return failure();
        }
      }
    }
    return success();
  }

  /// Stage functions are called 2m times per device: what is checked of a
  /// callee (point-to-point ops, its collectives, its FLOPs) is computed once.
  CalleeFacts &factsOf(func::FuncOp callee) {
    auto [it, inserted] = calleeFacts.try_emplace(callee);
    if (inserted) {
      callee.walk([&](Operation *inner) {
        it->second.pointToPoint |= isa<comm::SendOp, comm::RecvOp>(inner);
      });
      llvm::SmallSetVector<int64_t, 8> members;
      calleeSignature(callee.getBody().front(), it->second.signature, members);
      it->second.members.assign(members.begin(), members.end());
      llvm::sort(it->second.members);
    }
    return it->second;
  }

  /// 3a. Each device's communication events, in program order.
  LogicalResult collectEvents() {
    // deadlock.
    for (auto &[chip, fn] : steps) {
      std::vector<Event> &list = events[chip];
      for (Operation &op : fn.getBody().front()) {
        Event event{Event::Group};
        event.op = &op;
        if (auto send = dyn_cast<comm::SendOp>(op)) {
          event.kind = Event::Send;
          event.peer = send.getPeer();
          event.tag = send.getTag();
          event.type = send.getValue().getType();
        } else if (auto recv = dyn_cast<comm::RecvOp>(op)) {
          event.kind = Event::Recv;
          event.peer = recv.getPeer();
          event.tag = recv.getTag();
          event.type = recv.getType();
        } else if (isa<comm::CommDialect>(op.getDialect())) {
          event.signature = collectiveSignature(&op);
          auto group =
              op.getAttrOfType<DenseI64ArrayAttr>("group").asArrayRef();
          event.members.assign(group.begin(), group.end());
        } else if (isa<func::CallOp, BackwardOp>(op)) {
          auto callee = isa<func::CallOp>(op)
                            ? cast<func::CallOp>(op).getCalleeAttr()
                            : cast<BackwardOp>(op).getCalleeAttr();
          auto fnCallee = symbols.lookup<func::FuncOp>(callee.getAttr());
          if (!fnCallee || fnCallee.isExternal()) {
            op.emitError() << "calls " << callee << ", which has no body";
            return failure();
          }
          auto calleeDevice = fnCallee->getAttrOfType<comm::DeviceAttr>(
              comm::CommDialect::getDeviceAttrName());
          if (!calleeDevice || calleeDevice.getIndex() != chip) {
            op.emitError() << "calls " << callee
                           << ", which is not a program of device " << chip;
            return failure();
          }
          const CalleeFacts &facts = factsOf(fnCallee);
          if (facts.pointToPoint) {
            fnCallee.emitError()
                << "sends or receives inside a stage; only the "
                   "step function may";
            return failure();
          }
          if (facts.signature.empty())
            continue;
          event.signature = (isa<BackwardOp>(op) ? "backward " : "forward ") +
                            facts.signature;
          event.members = facts.members;
        } else {
          continue;
        }
        if (event.kind == Event::Group) {
          llvm::sort(event.members);
          ++summary.collectives;
        } else {
          ++summary.messageEnds;
          if (!steps.count(event.peer)) {
            op.emitError() << "talks to device " << event.peer
                           << ", which runs no program of this plan";
            return failure();
          }
        }
        list.push_back(std::move(event));
      }
    }
    return success();
  }

  /// 3b. Play the programs: matching messages, agreeing collectives, no
  /// deadlock.
  LogicalResult play() {
    std::map<int64_t, size_t> pos;
    std::map<std::tuple<int64_t, int64_t, int64_t>, std::deque<const Event *>>
        mailbox;
    std::map<SmallVector<int64_t>, std::map<int64_t, const Event *>> arrived;
    std::deque<int64_t> ready;
    std::map<int64_t, bool> queued;
    for (auto &[chip, list] : events) {
      pos[chip] = 0;
      ready.push_back(chip);
      queued[chip] = true;
    }
    auto wake = [&](int64_t chip) {
      if (!queued[chip]) {
        queued[chip] = true;
        ready.push_back(chip);
      }
    };
    while (!ready.empty()) {
      int64_t chip = ready.front();
      ready.pop_front();
      queued[chip] = false;
      std::vector<Event> &list = events[chip];
      while (pos[chip] < list.size()) {
        const Event &event = list[pos[chip]];
        if (event.kind == Event::Send) {
          mailbox[{chip, event.peer, event.tag}].push_back(&event);
          ++pos[chip];
          wake(event.peer);
          continue;
        }
        if (event.kind == Event::Recv) {
          auto &queue = mailbox[{event.peer, chip, event.tag}];
          if (queue.empty())
            break;
          const Event *send = queue.front();
          queue.pop_front();
          if (send->type != event.type) {
            InFlightDiagnostic diag = event.op->emitError()
                                      << "receives " << event.type
                                      << " but device " << event.peer
                                      << " sends " << send->type;
            diag.attachNote(send->op->getLoc()) << "the send";
            return failure();
          }
          ++pos[chip];
          continue;
        }
        auto &waiting = arrived[event.members];
        if (!llvm::is_contained(event.members, chip)) {
          event.op->emitError()
              << "enters a collective of devices it is not in";
          return failure();
        }
        if (waiting.count(chip))
          break; // already waiting here
        waiting[chip] = &event;
        if (waiting.size() < event.members.size())
          break;
        for (auto &[member, other] : waiting)
          if (other->signature != event.signature) {
            InFlightDiagnostic diag =
                other->op->emitError()
                << "device " << member
                << " enters a collective its group does not agree on: "
                << other->signature;
            diag.attachNote(event.op->getLoc())
                << "device " << chip << " enters " << event.signature;
            return failure();
          }
        for (auto &[member, other] : waiting) {
          ++pos[member];
          if (member != chip)
            wake(member);
        }
        waiting.clear();
      }
    }
    std::string blocked;
    llvm::raw_string_ostream os(blocked);
    unsigned stuck = 0;
    Operation *first = nullptr;
    for (auto &[chip, list] : events) {
      if (pos[chip] >= list.size())
        continue;
      const Event &event = list[pos[chip]];
      if (!first)
        first = event.op;
      if (++stuck > 4)
        continue;
      os << "\n  device " << chip << " waits ";
      if (event.kind == Event::Recv)
        os << "for tag " << event.tag << " from device " << event.peer;
      else {
        os << "in a collective over [";
        llvm::interleaveComma(event.members, os);
        os << "]";
      }
    }
    if (first) {
      first->emitError() << "the programs deadlock under the schedule: "
                         << stuck << " devices wait forever" << blocked;
      return failure();
    }
    for (auto &[key, queue] : mailbox)
      if (!queue.empty()) {
        queue.front()->op->emitError()
            << "is never received: device " << std::get<1>(key)
            << " has no matching comm.recv from device " << std::get<0>(key)
            << " with tag " << std::get<2>(key);
        return failure();
      }
    return success();
  }

  /// 4. Every weight held once per replica; shards tile it.
  LogicalResult checkWeights() {
    struct Holding {
      int64_t stage, rank, repeat;
      ParamOp param;
    };
    model.walk([&](ParamOp param) {
      auto layer = param->getParentOfType<LayerOp>();
      originals.push_back(
          {param, layer ? static_cast<int64_t>(layer.getRepeat()) : 0});
    });
    std::map<std::pair<int64_t, int64_t>, std::vector<Holding>>
        held; // (replica, index)
    for (auto &[chip, fn] : steps) {
      DeviceSlot slot = slots[chip];
      // The device's stage functions (step 3 checked they are its own).
      llvm::SetVector<Operation *> stageFunctions;
      for (auto call : fn.getBody().front().getOps<func::CallOp>())
        if (auto callee = symbols.lookup<func::FuncOp>(call.getCallee()))
          stageFunctions.insert(callee);
      for (Operation *stageFn : stageFunctions) {
        WalkResult walk = stageFn->walk([&](ParamOp param) {
          auto index = param->getAttrOfType<IntegerAttr>("comm.param");
          if (!index || index.getInt() < 0 ||
              index.getInt() >= static_cast<int64_t>(originals.size())) {
            param.emitError() << "is not one of the model's weights (needs "
                                 "'comm.param' with the weight's index)";
            return WalkResult::interrupt();
          }
          auto layer = param->getParentOfType<LayerOp>();
          held[{slot.replica, index.getInt()}].push_back(
              {slot.stage, slot.rank,
               layer ? static_cast<int64_t>(layer.getRepeat()) : 0, param});
          return WalkResult::advance();
        });
        if (walk.wasInterrupted())
          return failure();
      }
    }
    for (int64_t r = 0; r < plan.dp; ++r)
      for (auto [index, original] : llvm::enumerate(originals)) {
        auto [param, repeat] = original;
        auto it = held.find({r, static_cast<int64_t>(index)});
        if (it == held.end()) {
          param.emitError() << "weight \"" << param.getName()
                            << "\" is held by no device of replica " << r;
          return failure();
        }
        std::map<int64_t, std::vector<Holding *>> byStage;
        for (Holding &h : it->second)
          byStage[h.stage].push_back(&h);
        int64_t repeats = 0;
        for (auto &[s, list] : byStage) {
          int64_t groupSize =
              static_cast<int64_t>(plan.stages[s].devices[r].size());
          repeats += list.front()->repeat;
          RankedTensorType whole = param.getType();
          bool sharded = list.front()->param->hasAttr("comm.shard");
          std::vector<std::pair<int64_t, int64_t>> pieces; // offset, size
          for (Holding *h : list) {
            auto shard =
                h->param->getAttrOfType<DenseI64ArrayAttr>("comm.shard");
            if (h->repeat != list.front()->repeat || bool(shard) != sharded) {
              h->param.emitError()
                  << "weight \"" << param.getName()
                  << "\" is held differently by the members of "
                     "stage "
                  << s << " in replica " << r;
              return failure();
            }
            RankedTensorType local = h->param.getType();
            if (!shard) {
              if (local != whole) {
                h->param.emitError()
                    << "holds " << local << " of weight \"" << param.getName()
                    << "\", which is " << whole << ", without a 'comm.shard'";
                return failure();
              }
              continue;
            }
            int64_t dim = shard.size() == 3 ? shard[0] : -1;
            bool ok = dim >= 0 && dim < whole.getRank() &&
                      shard[2] == whole.getDimSize(dim) &&
                      local.getRank() == whole.getRank();
            for (int64_t d = 0; ok && d < whole.getRank(); ++d)
              ok = d == dim || local.getDimSize(d) == whole.getDimSize(d);
            if (!ok) {
              h->param.emitError()
                  << "holds " << local << " as a shard " << shard
                  << " of weight \"" << param.getName() << "\" (" << whole
                  << "); the shard must be [dim, offset, whole "
                     "extent] with the other dimensions whole";
              return failure();
            }
            pieces.push_back({shard[1], local.getDimSize(dim)});
          }
          if (sharded) {
            llvm::sort(pieces);
            int64_t dim = list.front()->param->getAttrOfType<DenseI64ArrayAttr>(
                "comm.shard")[0];
            int64_t next = 0;
            for (auto [offset, size] : pieces) {
              if (offset != next)
                break;
              next += size;
            }
            if (next != whole.getDimSize(dim) ||
                static_cast<int64_t>(pieces.size()) != groupSize) {
              list.front()->param.emitError()
                  << "the shards of weight \"" << param.getName()
                  << "\" on stage " << s << " of replica " << r
                  << " do not tile dimension " << dim << " ("
                  << whole.getDimSize(dim)
                  << "): a gap, an overlap or a missing member";
              return failure();
            }
            ++summary.shardsTiled;
          }
        }
        if (repeat > 0 && repeats != repeat) {
          param.emitError() << "weight \"" << param.getName() << "\" has "
                            << repeat << " copies (layer repeats) but replica "
                            << r << " holds " << repeats;
          return failure();
        }
      }
    return success();
  }

  /// 5. FLOPs add up.
  LogicalResult checkFlops() {
    for (auto &[chip, fn] : steps) {
      DeviceSlot slot = slots[chip];
      double groupSize = static_cast<double>(
          plan.stages[slot.stage].devices[slot.replica].size());
      // A callee runs on one device, so its group size is fixed.
      auto flopsOf = [&](func::FuncOp callee, bool backward) {
        CalleeFacts &facts = factsOf(callee);
        double &cached = backward ? facts.backwardFlops : facts.forwardFlops;
        if (cached < 0)
          cached = functionFlops(callee.getBody().front(), backward, groupSize);
        return cached;
      };
      for (Operation &op : fn.getBody().front()) {
        if (auto call = dyn_cast<func::CallOp>(op)) {
          summary.flops +=
              flopsOf(symbols.lookup<func::FuncOp>(call.getCallee()), false);
        } else if (auto backward = dyn_cast<BackwardOp>(op)) {
          auto callee = symbols.lookup<func::FuncOp>(backward.getCallee());
          summary.flops += flopsOf(callee, true);
          if (backward.getRecompute() == "full")
            summary.flops += flopsOf(callee, false);
        }
      }
    }
    CostTotals totals = sumCosts(model.getBody().front());
    double scale =
        traced > 0 ? static_cast<double>(plan.globalBatch()) / traced : 1;
    double expected = totals.forwardFlops * scale;
    // Full recomputation runs a stage's forward again in its backward: the
    // whole model's, or (recompute chosen per stage) the forward FLOPs of
    // the layers placed on stages that recompute fully.
    double recomputed = plan.recompute == "full" ? totals.forwardFlops : 0;
    if (plan.recompute == "auto") {
      for (Operation &op : model.getBody().front()) {
        auto cost = dyn_cast<CostOpInterface>(op);
        auto placement = op.getAttrOfType<DictionaryAttr>("chipmesh.placement");
        if (!cost || !placement)
          continue;
        auto stages = placement.getAs<DenseI64ArrayAttr>("stages");
        auto repeats = placement.getAs<DenseI64ArrayAttr>("repeats");
        if (!stages || !repeats || stages.size() != repeats.size())
          continue;
        double perRepeat = cost.getBodyRepeat()
                               ? sumCosts(op.getRegion(0).front()).forwardFlops
                               : cost.getForwardFlops();
        for (auto [s, n] : llvm::zip(stages.asArrayRef(), repeats.asArrayRef()))
          if (s >= 0 && s < static_cast<int64_t>(plan.stages.size()) &&
              plan.stages[s].recompute == "full")
            recomputed += perRepeat * static_cast<double>(n);
      }
    }
    if (plan.training)
      expected += (totals.backwardFlops + recomputed) * scale;
    double error = expected > 0 ? std::fabs(summary.flops - expected) / expected
                                : std::fabs(summary.flops);
    if (error > 1e-6) {
      module.emitError() << llvm::formatv(
          "the device programs compute {0:e} FLOPs per step but the model "
          "needs {1:e} for a batch of {2}: {3:F2}% {4}",
          summary.flops, expected, plan.globalBatch(), 100 * error,
          summary.flops > expected ? "more" : "less");
      return failure();
    }
    return success();
  }

  ModuleOp module;
  const PlanSpec &plan;
  func::FuncOp model;
  SymbolTable symbols;
  /// The batch the model was traced at (its first input's first extent).
  int64_t traced = 0;
  std::map<int64_t, DeviceSlot> slots;
  std::map<int64_t, func::FuncOp> steps;
  llvm::DenseMap<Operation *, CalleeFacts> calleeFacts;
  std::map<int64_t, std::vector<Event>> events;
  /// The model's weights and their layer repeats (0 outside layers).
  std::vector<std::pair<ParamOp, int64_t>> originals;
  ProgramCheckSummary summary;
};

} // namespace

FailureOr<ProgramCheckSummary>
chipmesh::checkDevicePrograms(ModuleOp module, const PlanSpec &plan) {
  return ProgramChecker(module, plan).run();
}
