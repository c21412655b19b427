//===- Planner.h - Flagship matching, what-if and scaling -------*- C++ -*-===//
//
// The planners' questions, answered with the partitioner's own search:
// which mix of an inventory of chips reaches a target's step time at the
// lowest price (`match`), what one change to a mesh costs (`what-if`),
// and how step time and efficiency scale with chip count (`scale`). Every
// answer is a partitionModel run on a mesh built from catalog ids; there
// is no planner of its own here.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_PLAN_PLANNER_H
#define CHIPMESH_PLAN_PLANNER_H

#include "chipmesh/Partition/Partitioner.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"
#include <string>
#include <vector>

namespace chipmesh {

/// Chips of one kind a team can get, and how they are packaged.
struct InventoryItem {
  std::string kind;       ///< catalog chip id
  int64_t max = 0;        ///< how many are available
  int64_t perNode = 8;    ///< chips per node (joined by the scale-up link)
  int64_t step = 0;       ///< mixes use multiples of this (default perNode)
  double priceUsd = -1;   ///< per chip; < 0: none given
  double tdpWatts = -1;   ///< per chip; < 0: the catalog's
  std::string scaleup;    ///< link within a node (default: the chip's)
};

struct Inventory {
  std::vector<InventoryItem> items;
  std::string network = "infiniband-ndr"; ///< link between nodes
};

/// Parses an inventory JSON file:
///   {"network": "roce-200g", "chips": [{"kind": "ascend-910b", "max": 64,
///    "per_node": 8, "step": 8, "price_usd": 15000, "tdp_watts": 400,
///    "scaleup": "hccs-910b"}, ...]}
/// Errors name the file and the field (chips[1].kind: unknown chip ...).
llvm::Expected<Inventory> parseInventory(llvm::StringRef text,
                                         llvm::StringRef fileName);

/// A homogeneous mesh written "kind:count[:per_node]" (h100-sxm:64).
llvm::Expected<Inventory> parseMeshSpec(llvm::StringRef spec,
                                        llvm::StringRef network);

/// A topo.mesh with counts[i] chips of inventory item i, in nodes of
/// perNode, nodes joined by the network.
std::string meshText(const Inventory &inventory, llvm::ArrayRef<int64_t> counts,
                     llvm::StringRef name = "mix");

/// One partition of the model over one mesh.
struct Outcome {
  bool feasible = false;
  std::string whyNot;
  PartitionResult result;
  std::string meshName;
  int64_t chips = 0;
  double priceUsd = 0;     ///< sum over chips; 0 when prices are unknown
  double energyJ = 0;      ///< sum of TDP x step time
  double stepS() const { return feasible ? result.plan.stepS : 0; }
};

class Planner {
public:
  Planner(mlir::func::FuncOp model, Calibration calibration,
          PartitionOptions options)
      : model(model), calibration(std::move(calibration)),
        options(std::move(options)) {}

  /// Partitions the model over the mesh in `meshSource` (MLIR text holding
  /// one topo.mesh). Parse or verifier errors are returned, not emitted.
  llvm::Expected<Outcome> evaluate(llvm::StringRef meshSource);

  /// Per catalog chip: seconds one chip would take for the whole step by
  /// compute alone (memory ignored), and the bytes of weights, gradients
  /// and optimizer state that must fit somewhere.
  struct KindBound {
    double stepS = 0;
    double capacityBytes = 0;
  };
  llvm::Expected<KindBound> kindBound(const InventoryItem &item);
  double stateBytes() const { return modelStateBytes; }

  mlir::func::FuncOp getModel() { return model; }
  const PartitionOptions &getOptions() const { return options; }

private:
  mlir::func::FuncOp model;
  Calibration calibration;
  PartitionOptions options;
  double modelStateBytes = 0;
  /// The model at its traced batch, built on first use by kindBound.
  std::optional<ModelProfile> profile;
};

struct MatchCandidate {
  std::vector<int64_t> counts;
  Outcome outcome;
  bool meetsTarget = false;
};

struct MatchResult {
  double targetS = 0;
  std::vector<MatchCandidate> evaluated; ///< in the order tried (by price)
  int winner = -1;                       ///< index into evaluated
  /// Mixes looked at in price order, and how many the bounds ruled out.
  uint64_t considered = 0, ruledOut = 0;
  bool exhausted = false; ///< every mix was looked at
  bool exact = true;      ///< no heuristic pruning was used
  uint64_t heuristicallySkipped = 0;
  /// When nothing matched: the best fraction of the target's speed any
  /// evaluated mix reached, and the resource that binds.
  double bestFraction = 0;
  std::string binding;
};

struct MatchOptions {
  unsigned maxEvaluations = 64;
  /// Inventories with at most this many mixes are searched exactly (only
  /// valid bounds rule mixes out); larger ones also use measured
  /// efficiencies (see `slack`).
  uint64_t exactUpTo = 4096;
  /// Heuristic pruning for large inventories: each kind's achieved rate
  /// per chip is measured once on a homogeneous mesh of it, and a mix whose
  /// rate at those efficiencies misses the target by more than this
  /// factor is not partitioned.
  double slack = 1.25;
  /// Counts that cannot matter are not looked at: a kind is taken up to
  /// this many times the fewest chips of it whose aggregate compute and
  /// memory could reach the target (those chips would then run at under
  /// 1/8 of their single-chip rate). So the search, and its answer, are the
  /// same for an inventory of 256 or 100,000 chips of each kind.
  double maxOverBound = 8;
};

/// Mixes of `inventory` in increasing price (then fewer chips), skipping
/// those whose aggregate compute or memory cannot reach the target, each
/// partitioned until one reaches `targetS`. In exact mode the first mix
/// that meets the target in price order is the cheapest.
llvm::Expected<MatchResult> match(Planner &planner, const Inventory &inventory,
                                  double targetS, const MatchOptions &options);

/// The Pareto front of (step time, price) over feasible evaluated mixes,
/// by increasing price.
std::vector<int> paretoFront(const MatchResult &result);

} // namespace chipmesh

#endif // CHIPMESH_PLAN_PLANNER_H
