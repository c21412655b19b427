//===- MeshView.h - Flat C++ view of a topo.mesh ----------------*- C++ -*-===//
//
// Expands a `topo.mesh` (hierarchy with repeat counts, irregular links) into
// a flat list of chips and a link graph, and answers "what is the path
// between chips a and b": its bottleneck bandwidth and its latency. Later
// passes and the cost model use this, never the IR directly.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_DIALECT_TOPO_MESHVIEW_H
#define CHIPMESH_DIALECT_TOPO_MESHVIEW_H

#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/SmallVector.h"
#include <string>
#include <vector>

namespace chipmesh {

/// A chip kind with every number resolved (catalog plus overrides).
struct ChipKindSpec {
  std::string name;      ///< symbol name in the mesh
  std::string catalogId; ///< empty if given by number
  std::array<double, kNumDTypes> peakFlopPerS{}; ///< 0 = unsupported
  double memoryBytes = 0, memoryBytesPerS = 0, tdpWatts = 0, priceUsd = 0;
  bool supports(DType type) const {
    return peakFlopPerS[static_cast<unsigned>(type)] > 0;
  }
};

struct LinkKindSpec {
  std::string name;
  std::string catalogId;
  topo::LinkTechnology technology = topo::LinkTechnology::other;
  double bytesPerS = 0; ///< per direction
  double latencyS = 0;
};

/// One expanded instance of a `topo.group` (a node, a rack, ...).
struct GroupInstance {
  std::string path;           ///< e.g. "cluster/node[1]"
  int parent = -1;            ///< index into groups(), -1 for the mesh root
  topo::Interconnect interconnect = topo::Interconnect::none;
  int linkKind = -1;          ///< index into linkKinds(), -1 if none
  unsigned firstChip = 0, numChips = 0; ///< chips are contiguous
  /// Ports shared by the group's chips towards the switches around it
  /// (`ports N`); 0: one per chip.
  unsigned ports = 0;
  /// The port chip `chip` (inside the group) leaves through.
  unsigned portOf(unsigned chip) const {
    return static_cast<unsigned>(static_cast<uint64_t>(chip - firstChip) * ports /
                                 numChips);
  }
};

struct ChipInstance {
  unsigned kind;              ///< index into chipKinds()
  std::string path;           ///< e.g. "cluster/node[1]/a100[3]"
  int group;                  ///< innermost group, -1 if at mesh top level
};

/// One directed hop between two vertices of the link graph (chips are
/// vertices 0..numChips-1, switches and shared ports follow). Two
/// transfers that share a hop share its bandwidth.
struct MeshHop {
  unsigned from, to, linkKind;
};

/// A route between two chips.
struct MeshPath {
  double bottleneckBytesPerS = 0; ///< slowest hop
  double latencyS = 0;            ///< sum over traversed links
  llvm::SmallVector<unsigned, 4> linkKinds; ///< one per traversed link
  llvm::SmallVector<MeshHop, 4> hops;       ///< every directed hop, in order
  bool reachable() const { return bottleneckBytesPerS > 0; }
  /// Alpha-beta time of one message of `bytes` along this path.
  double transferTime(double bytes) const {
    return latencyS + bytes / bottleneckBytesPerS;
  }
};

class MeshView {
public:
  /// Expands `mesh`. On error, emits a located diagnostic and fails.
  static mlir::FailureOr<MeshView> build(topo::MeshOp mesh);

  /// Resolves a chip kind declaration against the catalog (no diagnostics).
  static ChipKindSpec resolve(topo::ChipKindOp op);
  /// A catalog chip as a kind named by its id.
  static ChipKindSpec resolve(const CatalogChip &entry);
  static LinkKindSpec resolve(topo::LinkKindOp op);

  llvm::StringRef name() const { return meshName; }
  llvm::ArrayRef<ChipKindSpec> chipKinds() const { return kinds; }
  llvm::ArrayRef<LinkKindSpec> linkKinds() const { return links; }
  llvm::ArrayRef<ChipInstance> chips() const { return chipList; }
  llvm::ArrayRef<GroupInstance> groups() const { return groupList; }
  unsigned numChips() const { return chipList.size(); }
  const ChipKindSpec &kindOf(unsigned chip) const {
    return kinds[chipList[chip].kind];
  }

  /// Widest path (largest bottleneck bandwidth, then lowest latency)
  /// between two distinct chips.
  MeshPath path(unsigned from, unsigned to) const;

  /// Every route from one chip at once (one widest-path pass, then one
  /// lowest-latency pass per distinct bottleneck): for callers that ask
  /// for many paths from the same chip. routeTo() gives the same answer
  /// as path().
  struct Routes {
    unsigned from = 0;
    std::vector<double> widest;
    std::vector<double> classes; ///< distinct bottlenecks, one pass each
    std::vector<std::vector<unsigned>> previous, linkKind;
    std::vector<std::vector<double>> latency;
  };
  Routes routesFrom(unsigned from) const;
  MeshPath routeTo(const Routes &routes, unsigned to) const;

  /// True if the mesh has irregular `topo.link`s. Without them, repeated
  /// group instances are interchangeable: a set of chips and its image
  /// under swapping instances of the same group see the same links.
  bool hasIrregularLinks() const { return irregular; }

  /// Largest number of chips a mesh may expand to.
  static constexpr uint64_t kMaxChips = 1u << 20;

private:
  struct Edge {
    unsigned to;
    unsigned linkKind;
    double latencyS; ///< half a traversal for chip<->switch edges
  };
  /// Widest-path pass from `from`, stopping once `stop` is final (~0u:
  /// every vertex).
  void widestFrom(unsigned from, unsigned stop, std::vector<double> &widest) const;
  /// Lowest-latency pass over links at least `bottleneck` wide.
  void fastestFrom(unsigned from, double bottleneck, unsigned stop,
                   std::vector<double> &latency, std::vector<unsigned> &previous,
                   std::vector<unsigned> &linkKind) const;
  /// The route to `to` read back from a lowest-latency pass.
  MeshPath tracePath(unsigned from, unsigned to, double bottleneck,
                     double latency, llvm::ArrayRef<unsigned> previous,
                     llvm::ArrayRef<unsigned> linkKind) const;
  unsigned addVertex() {
    adjacency.emplace_back();
    return adjacency.size() - 1;
  }
  void addEdge(unsigned a, unsigned b, unsigned linkKind, double latency);
  /// One direction only (a shared port's uplink or downlink).
  void addArc(unsigned from, unsigned to, unsigned linkKind, double latency);

  std::string meshName;
  std::vector<ChipKindSpec> kinds;
  std::vector<LinkKindSpec> links;
  std::vector<ChipInstance> chipList;
  std::vector<GroupInstance> groupList;
  /// Vertices 0..numChips-1 are chips; the rest are switches.
  std::vector<std::vector<Edge>> adjacency;
  bool irregular = false; ///< has topo.link edges (breaks group symmetry)

  friend class MeshBuilder;
};

} // namespace chipmesh

#endif // CHIPMESH_DIALECT_TOPO_MESHVIEW_H
