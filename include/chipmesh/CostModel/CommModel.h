//===- CommModel.h - Seconds of transfers and collectives -------*- C++ -*-===//
//
// Alpha-beta per link: a message pays the latency of every link on its path
// plus bytes over the slowest hop's achieved bandwidth. Transfers that run
// at the same time share every directed hop they have in common equally
// (contention). Collectives are sequences of such concurrent steps (ring,
// tree, hierarchical), so heterogeneous groups, uneven shards and shared
// NICs are priced by the same rule; the cheapest algorithm is chosen per
// call, as NCCL and HCCL do.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_COSTMODEL_COMMMODEL_H
#define CHIPMESH_COSTMODEL_COMMMODEL_H

#include "chipmesh/CostModel/Calibration.h"
#include "llvm/ADT/DenseMap.h"
#include <array>
#include <map>
#include <mutex>
#include <tuple>

namespace chipmesh {

// CollectiveKind, CollectiveAlgorithm and Protocol (NCCL's LL, LL128 and
// Simple; the cheapest is chosen per call and message size) are declared
// in Support/Enums.td.
/// The collective library a group runs (its fixed per-call cost).
enum class CollectiveLibrary { NCCL, RCCL };

struct Transfer {
  unsigned from = 0, to = 0;
  double bytes = 0;
};

struct CollectiveCost {
  double seconds = 0;
  CollectiveAlgorithm algorithm = CollectiveAlgorithm::Direct;
  Protocol protocol = Protocol::Simple;
};

/// The class of hardware a link is in NCCL's latency tables (NVLink-like
/// scale-up, PCI, RDMA network), or kernel TCP, whose latency the socket
/// stack sets whatever the protocol.
enum class LinkClass { ScaleUp, PCIe, Network, Socket };

class CommModel {
public:
  CommModel(const MeshView &mesh, const Calibration &calibration);

  const MeshView &mesh() const { return view; }

  /// Achieved bytes/s and per-step collective latency of a link kind.
  double linkBytesPerS(unsigned linkKind) const { return linkBandwidth[linkKind]; }
  double linkLatencyS(unsigned linkKind) const { return linkLatency[linkKind]; }

  /// One message alone on the mesh (0 seconds from a chip to itself).
  double transferTime(unsigned from, unsigned to, double bytes) const;

  /// Seconds of each transfer when all of them start together and share
  /// every directed hop they have in common.
  std::vector<double> concurrentTimes(llvm::ArrayRef<Transfer> transfers) const;
  /// The slowest of them: the time of one synchronous step.
  double stepTime(llvm::ArrayRef<Transfer> transfers) const;

  /// Collectives over `group` (chip indices, at least one; order is the
  /// ring order). `bytes` per member:
  ///  - AllReduce: the buffer each member holds (the largest one counts);
  ///  - AllGather / ReduceScatter: the shard each member contributes /
  ///    keeps (uneven shards allowed; the largest sets each ring step);
  ///  - AllToAll: what each member sends in all, split evenly over peers;
  ///  - Broadcast: bytes[0] is what the first member sends.
  CollectiveCost collective(CollectiveKind kind, llvm::ArrayRef<unsigned> group,
                            llvm::ArrayRef<double> bytes) const;
  /// Seconds of one algorithm under one protocol (infinity where it does
  /// not apply), without the per-call base latency that collective() adds
  /// (baseLatency()).
  double algorithmTime(CollectiveKind kind, CollectiveAlgorithm algorithm,
                       llvm::ArrayRef<unsigned> group,
                       llvm::ArrayRef<double> bytes,
                       Protocol protocol = Protocol::Simple) const;
  /// The library's fixed cost of one call of an algorithm and protocol
  /// (its tuner's baseLat: NCCL's, or RCCL's on AMD GPUs).
  static double baseLatency(CollectiveAlgorithm algorithm, Protocol protocol,
                            CollectiveLibrary library = CollectiveLibrary::NCCL);
  /// The library a group's collectives run in: RCCL when a member is an
  /// AMD GPU, else NCCL (HCCL and the others publish no tuner constants;
  /// NCCL's stand in).
  CollectiveLibrary libraryOf(llvm::ArrayRef<unsigned> group) const;
  /// Fraction of a link's achieved bandwidth a protocol moves as payload.
  static double protocolBandwidth(CollectiveAlgorithm algorithm,
                                  Protocol protocol);
  /// Per-step latency of one traversal of `linkKind` under an algorithm
  /// and protocol: the link's calibrated step latency (NCCL's LL ring
  /// figure for its class) scaled by NCCL's ratio for that row.
  double hopLatency(unsigned linkKind, CollectiveAlgorithm algorithm,
                    Protocol protocol) const;

  /// Convenience: the same `bytes` for every member.
  CollectiveCost collective(CollectiveKind kind, llvm::ArrayRef<unsigned> group,
                            double bytes) const;

  /// Path between two chips, cached (thread-safe).
  const MeshPath &path(unsigned from, unsigned to) const;

  /// Seconds under each protocol (indexed by Protocol): one pass over the
  /// routes prices all three.
  static constexpr unsigned kProtocols = 3;
  using Times = std::array<double, kProtocols>;
  /// algorithmTime for every protocol at once.
  Times algorithmTimes(CollectiveKind kind, CollectiveAlgorithm algorithm,
                       llvm::ArrayRef<unsigned> group,
                       llvm::ArrayRef<double> bytes) const;

  /// Several collectives of one kind started together (the data-parallel
  /// groups of a stage, one per tensor rank): the slowest one's seconds
  /// when their flows share every directed hop they have in common (a
  /// node's shared NICs), groups of one size running the algorithm and
  /// protocol best for all of them together. `bytes[i]` is as
  /// collective()'s for `groups[i]`. All-reduce, all-gather and reduce-
  /// scatter; other kinds are priced one group at a time.
  CollectiveCost concurrentCollectives(CollectiveKind kind,
                                       llvm::ArrayRef<std::vector<unsigned>> groups,
                                       llvm::ArrayRef<std::vector<double>> bytes) const;

private:
  /// One ring's flows over `order` (NCCL's channels across nodes).
  void appendRingFlows(llvm::ArrayRef<unsigned> order, double chunkBytes,
                       std::vector<Transfer> &flows) const;
  /// `steps` synchronous steps of the rings over all `orders` at once.
  Times ringTime(llvm::ArrayRef<std::vector<unsigned>> orders,
                 llvm::ArrayRef<double> chunkBytes, unsigned steps,
                 CollectiveAlgorithm algorithm) const;
  Times treeAllReduce(llvm::ArrayRef<std::vector<unsigned>> groups,
                      llvm::ArrayRef<double> bytes) const;
  Times hierarchicalAllReduce(llvm::ArrayRef<std::vector<unsigned>> groups,
                              llvm::ArrayRef<double> bytes) const;
  Times meshStep(llvm::ArrayRef<std::vector<unsigned>> groups,
                 llvm::ArrayRef<double> slices, CollectiveAlgorithm algorithm) const;
  /// All-reduce, all-gather or reduce-scatter over groups of one size at
  /// once; `most`: each group's largest buffer or shard.
  Times reductionTimes(CollectiveKind kind, CollectiveAlgorithm algorithm,
                       llvm::ArrayRef<std::vector<unsigned>> groups,
                       llvm::ArrayRef<double> most) const;
  Times stepLatencies(const MeshPath &path, CollectiveAlgorithm algorithm) const;
  Times collectiveStep(llvm::ArrayRef<Transfer> transfers,
                       CollectiveAlgorithm algorithm) const;

  const MeshView &view;
  std::vector<double> linkBandwidth, linkLatency;
  std::vector<LinkClass> linkClass;
  std::vector<CollectiveLibrary> kindLibrary; ///< per chip kind
  mutable std::mutex cacheMutex, collectiveMutex;
  /// Results of collective(), keyed by kind, the group's shape and bytes.
  mutable std::map<std::tuple<CollectiveKind, std::vector<int64_t>,
                              std::vector<double>>,
                   CollectiveCost>
      collectiveCache;
  /// transferTime()'s latency and seconds per byte, keyed by the pair's
  /// shape (guarded by collectiveMutex).
  mutable std::map<std::vector<int64_t>, std::pair<double, double>> transferCache;
  /// The group's shape: equal for two groups that a symmetry of the mesh
  /// maps onto each other (then every collective costs the same); the
  /// chip indices themselves when the mesh has no such symmetry.
  std::vector<int64_t> groupShape(llvm::ArrayRef<unsigned> group) const;
  /// Per chip: group instances from the innermost outwards, the template
  /// (group path without instance indices) and position in its group.
  std::vector<std::vector<int>> chipAncestors;
  std::vector<int> chipTemplate, chipLocalIndex;
  mutable llvm::DenseMap<std::pair<unsigned, unsigned>,
                         std::unique_ptr<MeshPath>> pathCache;
  /// All routes from a chip, for sources asked often; bounded in memory.
  mutable llvm::DenseMap<unsigned, std::unique_ptr<MeshView::Routes>> routeCache;
  mutable llvm::DenseMap<unsigned, unsigned> sourceMisses;
  mutable size_t routeCacheBytes = 0;
};

} // namespace chipmesh

#endif // CHIPMESH_COSTMODEL_COMMMODEL_H
