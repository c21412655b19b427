//===- CommModel.cpp - Seconds of transfers and collectives ---------------===//

#include "chipmesh/CostModel/CommModel.h"
#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Support/Units.h"
#include "llvm/ADT/MapVector.h"
#include <cmath>
#include <limits>
#include <map>

using namespace chipmesh;
using llvm::ArrayRef;

static constexpr double kInfinity = units::kInf;

// NCCL's tuner constants (src/graph/tuning.cc, ncclTunerConstantsDefaults,
// NVIDIA/nccl at 5067397, 2026-06), in microseconds, per protocol
// {LL, LL128, Simple}. Base latency of one call, tree and ring:
static constexpr double kBaseLatencyUs[2][3] = {{6.8, 14.0, 8.4},
                                                {6.6, 14.0, 8.4}};
// RCCL's (ROCm/rccl src/graph/tuning.cc baseLat at 0cbce2a, 2024-10), the
// same for trees and rings: AMD GPUs pay about twice NCCL's fixed cost
// per call.
static constexpr double kRcclBaseLatencyUs[2][3] = {{12.0, 12.0, 17.0},
                                                    {12.0, 12.0, 17.0}};

static const double (&baseLatencyTable(CollectiveLibrary library))[2][3] {
  return library == CollectiveLibrary::RCCL ? kRcclBaseLatencyUs : kBaseLatencyUs;
}
// Per-step hardware latency, [link class][tree, ring][protocol], for
// NVLink, PCI and the network.
static constexpr double kHwLatencyUs[3][2][3] = {
    {{0.6, 1.25, 4.0}, {0.6, 1.9, 3.4}},
    {{1.0, 1.9, 4.0}, {1.0, 2.5, 5.7}},
    {{5.0, 8.5, 14.0}, {2.7, 4.0, 14.0}}};

static unsigned latencyRow(CollectiveAlgorithm algorithm) {
  // Tree rows for trees; rings, hierarchical rings and direct sends use
  // the ring rows.
  return algorithm == CollectiveAlgorithm::Tree ? 0 : 1;
}

double CommModel::baseLatency(CollectiveAlgorithm algorithm, Protocol protocol,
                              CollectiveLibrary library) {
  return baseLatencyTable(library)[latencyRow(algorithm)]
                                  [static_cast<unsigned>(protocol)] *
         1e-6;
}

CollectiveLibrary CommModel::libraryOf(ArrayRef<unsigned> group) const {
  // A group with an AMD member runs RCCL (a mixed-vendor group cannot run
  // one library; the slower fixed cost is the honest one).
  for (unsigned c : group)
    if (kindLibrary[view.chips()[c].kind] == CollectiveLibrary::RCCL)
      return CollectiveLibrary::RCCL;
  return CollectiveLibrary::NCCL;
}

double CommModel::protocolBandwidth(CollectiveAlgorithm algorithm,
                                    Protocol protocol) {
  // tuning.cc "model refinements": ring LL moves half its bytes as flags,
  // ring LL128 0.92 (120 of 128 bytes); a tree all-reduce first gets 0.92
  // of the bus bandwidth, then LL 1/3.8 of that and LL128 120/128 (the
  // multi-node figure: trees are chosen across nodes).
  bool tree = algorithm == CollectiveAlgorithm::Tree;
  switch (protocol) {
  case Protocol::LL:
    return tree ? 0.92 / 3.8 : 0.5;
  case Protocol::LL128:
    return tree ? 0.92 * 120.0 / 128.0 : 0.92;
  case Protocol::Simple:
    return tree ? 0.92 : 1.0;
  }
  return 1.0;
}

double CommModel::hopLatency(unsigned linkKind, CollectiveAlgorithm algorithm,
                             Protocol protocol) const {
  // Kernel TCP (NCCL's socket transport): the stack's latency dominates
  // whatever the protocol; NCCL's ratios are measured on RDMA networks.
  if (linkClass[linkKind] == LinkClass::Socket)
    return linkLatency[linkKind];
  unsigned cls = static_cast<unsigned>(linkClass[linkKind]);
  double ratio = kHwLatencyUs[cls][latencyRow(algorithm)]
                             [static_cast<unsigned>(protocol)] /
                 kHwLatencyUs[cls][1][0];
  return linkLatency[linkKind] * ratio;
}

CommModel::CommModel(const MeshView &mesh, const Calibration &calibration)
    : view(mesh) {
  // The collective library of each chip kind, by its catalog vendor (a
  // kind given by numbers: NCCL-class).
  for (const ChipKindSpec &kind : mesh.chipKinds()) {
    const CatalogChip *entry =
        kind.catalogId.empty() ? nullptr : lookupCatalogChip(kind.catalogId);
    kindLibrary.push_back(entry && entry->vendor == "AMD" ? CollectiveLibrary::RCCL
                                                          : CollectiveLibrary::NCCL);
  }
  for (const LinkKindSpec &link : mesh.linkKinds()) {
    LinkCalibration calib = calibration.link(link);
    linkBandwidth.push_back(link.bytesPerS * calib.bandwidthEfficiency);
    linkLatency.push_back(calib.stepLatencyS);
    switch (link.technology) {
    case topo::LinkTechnology::pcie:
    case topo::LinkTechnology::host_bridge:
      linkClass.push_back(LinkClass::PCIe);
      break;
    case topo::LinkTechnology::infiniband:
    case topo::LinkTechnology::roce:
      linkClass.push_back(LinkClass::Network);
      break;
    case topo::LinkTechnology::ethernet:
      linkClass.push_back(LinkClass::Socket);
      break;
    default:
      linkClass.push_back(LinkClass::ScaleUp);
      break;
    }
  }
  // Group templates: "cluster/node[3]" and "cluster/node[5]" are both
  // "cluster/node".
  llvm::StringMap<int> templates;
  std::vector<int> groupTemplate;
  for (const GroupInstance &group : mesh.groups()) {
    std::string name;
    bool inIndex = false;
    for (char c : group.path) {
      if (c == '[')
        inIndex = true;
      else if (c == ']')
        inIndex = false;
      else if (!inIndex)
        name += c;
    }
    groupTemplate.push_back(templates.try_emplace(name, templates.size()).first->second);
  }
  for (unsigned c = 0; c < mesh.numChips(); ++c) {
    const ChipInstance &chip = mesh.chips()[c];
    std::vector<int> ancestors;
    for (int g = chip.group; g >= 0; g = mesh.groups()[g].parent)
      ancestors.push_back(g);
    chipAncestors.push_back(std::move(ancestors));
    chipTemplate.push_back(chip.group >= 0 ? groupTemplate[chip.group] : -1);
    chipLocalIndex.push_back(chip.group >= 0
                                 ? static_cast<int>(c - mesh.groups()[chip.group].firstChip)
                                 : static_cast<int>(c));
  }
}

std::vector<int64_t> CommModel::groupShape(ArrayRef<unsigned> group) const {
  std::vector<int64_t> shape;
  if (view.hasIrregularLinks()) {
    shape.assign(group.begin(), group.end());
    shape.push_back(-1);
    return shape;
  }
  // Per member: its kind, group template and position in its group, and
  // for every group instance of its ancestry the first member inside that
  // same instance (matched by identity, so members at different depths
  // that share an ancestor say so), the shared port it uses there (if the
  // group has `ports`), and the instance's position in its
  // parent where the parent is a ring (its neighbours depend on it; in a
  // switched or fully meshed parent every position prices alike).
  llvm::DenseMap<int, int64_t> first;
  for (auto [i, c] : llvm::enumerate(group)) {
    shape.push_back(view.chips()[c].kind);
    shape.push_back(chipTemplate[c]);
    shape.push_back(chipLocalIndex[c]);
    shape.push_back(static_cast<int64_t>(chipAncestors[c].size()));
    for (int g : chipAncestors[c]) {
      shape.push_back(first.try_emplace(g, static_cast<int64_t>(i)).first->second);
      // Which shared port of the group the member leaves through.
      if (view.groups()[g].ports > 0)
        shape.push_back(static_cast<int64_t>(view.groups()[g].portOf(c)));
      int parent = view.groups()[g].parent;
      if (parent >= 0 && view.groups()[parent].interconnect == topo::Interconnect::ring)
        shape.push_back(static_cast<int64_t>(view.groups()[g].firstChip -
                                             view.groups()[parent].firstChip));
    }
  }
  return shape;
}

const MeshPath &CommModel::path(unsigned from, unsigned to) const {
  // A source asked for a few times gets all its routes computed at once
  // (two Dijkstra passes per source instead of two per pair), within a
  // memory budget; the answer is the same either way. The searches run
  // outside the lock (threads asking for other pairs do not wait), and
  // the first answer stored for a pair is the one every caller gets.
  constexpr size_t kRouteBudgetBytes = size_t(256) << 20;
  const MeshView::Routes *routes = nullptr;
  bool computeRoutes = false;
  {
    std::lock_guard<std::mutex> lock(cacheMutex);
    auto found = pathCache.find({from, to});
    if (found != pathCache.end())
      return *found->second;
    auto cached = routeCache.find(from);
    if (cached != routeCache.end())
      routes = cached->second.get();
    else
      computeRoutes = ++sourceMisses[from] >= 4 && routeCacheBytes < kRouteBudgetBytes;
  }
  std::unique_ptr<MeshView::Routes> computed;
  if (computeRoutes) {
    computed = std::make_unique<MeshView::Routes>(view.routesFrom(from));
    routes = computed.get();
  }
  auto answer = std::make_unique<MeshPath>(routes ? view.routeTo(*routes, to)
                                                  : view.path(from, to));
  std::lock_guard<std::mutex> lock(cacheMutex);
  if (computed && !routeCache.count(from)) {
    routeCacheBytes += computed->widest.size() *
                       (sizeof(double) + computed->classes.size() *
                                             (2 * sizeof(unsigned) + sizeof(double)));
    routeCache.try_emplace(from, std::move(computed));
  }
  std::unique_ptr<MeshPath> &slot = pathCache[{from, to}];
  if (!slot)
    slot = std::move(answer);
  return *slot;
}

CommModel::Times CommModel::stepLatencies(const MeshPath &route,
                                         CollectiveAlgorithm algorithm) const {
  // The library's per-step latency of every traversal, per protocol; a
  // chip-switch-chip traversal counts once (half on each side of the
  // switch), and the hops between shared ports and switches add nothing.
  Times latency{0, 0, 0};
  unsigned chips = view.numChips();
  for (const MeshHop &hop : route.hops) {
    double weight = 0.5 * ((hop.from < chips) + (hop.to < chips));
    for (unsigned p = 0; p < kProtocols; ++p)
      latency[p] += weight * hopLatency(hop.linkKind, algorithm,
                                        static_cast<Protocol>(p));
  }
  return latency;
}

double CommModel::transferTime(unsigned from, unsigned to, double bytes) const {
  if (from == to || bytes <= 0)
    return 0;
  // Pairs that a symmetry of the mesh maps onto each other have the same
  // route cost: one route search per shape, not per pair (a 4096-chip
  // mesh would otherwise run two Dijkstra passes for most of its pairs).
  std::vector<int64_t> shape = groupShape({from, to});
  {
    std::lock_guard<std::mutex> lock(collectiveMutex);
    auto it = transferCache.find(shape);
    if (it != transferCache.end())
      return it->second.first + bytes * it->second.second;
  }
  // Alone on the mesh: no hop is shared, the slowest one bounds it.
  const MeshPath &route = path(from, to);
  double latency = kInfinity, secondsPerByte = 0;
  if (route.reachable()) {
    latency = route.latencyS;
    for (const MeshHop &hop : route.hops)
      secondsPerByte = std::max(secondsPerByte, 1.0 / linkBandwidth[hop.linkKind]);
  }
  {
    std::lock_guard<std::mutex> lock(collectiveMutex);
    transferCache.emplace(std::move(shape), std::make_pair(latency, secondsPerByte));
  }
  if (!route.reachable())
    return kInfinity;
  return latency + bytes * secondsPerByte;
}

/// Routes of `transfers` and, per transfer, the seconds per byte of its
/// most loaded hop when all of them share every directed hop equally.
static void shareHops(
    const CommModel &comm, ArrayRef<Transfer> transfers,
    llvm::function_ref<double(unsigned)> bandwidth,
    std::vector<const MeshPath *> &routes, std::vector<double> &secondsPerByte) {
  routes.assign(transfers.size(), nullptr);
  secondsPerByte.assign(transfers.size(), 0.0);
  llvm::DenseMap<std::pair<unsigned, unsigned>, unsigned> load;
  for (auto [i, t] : llvm::enumerate(transfers)) {
    if (t.from == t.to || t.bytes <= 0)
      continue;
    routes[i] = &comm.path(t.from, t.to);
    for (const MeshHop &hop : routes[i]->hops)
      ++load[{hop.from, hop.to}];
  }
  for (size_t i = 0; i < transfers.size(); ++i) {
    if (!routes[i] || !routes[i]->reachable())
      continue;
    double worst = 0;
    for (const MeshHop &hop : routes[i]->hops)
      worst = std::max(worst, load[{hop.from, hop.to}] / bandwidth(hop.linkKind));
    secondsPerByte[i] = worst;
  }
}

std::vector<double>
CommModel::concurrentTimes(ArrayRef<Transfer> transfers) const {
  std::vector<const MeshPath *> routes;
  std::vector<double> perByte;
  shareHops(*this, transfers, [&](unsigned k) { return linkBandwidth[k]; },
            routes, perByte);
  std::vector<double> times(transfers.size(), 0.0);
  for (auto [i, t] : llvm::enumerate(transfers)) {
    if (!routes[i])
      continue;
    times[i] = routes[i]->reachable() ? routes[i]->latencyS + t.bytes * perByte[i]
                                      : kInfinity;
  }
  return times;
}

double CommModel::stepTime(ArrayRef<Transfer> transfers) const {
  double worst = 0;
  for (double t : concurrentTimes(transfers))
    worst = std::max(worst, t);
  return worst;
}

CommModel::Times CommModel::collectiveStep(ArrayRef<Transfer> transfers,
                                           CollectiveAlgorithm algorithm) const {
  // One synchronous step under every protocol at once: the routes and the
  // hop sharing are the same, only the latency row and the payload share
  // differ.
  std::vector<const MeshPath *> routes;
  std::vector<double> perByte;
  shareHops(*this, transfers, [&](unsigned k) { return linkBandwidth[k]; },
            routes, perByte);
  Times worst{0, 0, 0};
  for (auto [i, t] : llvm::enumerate(transfers)) {
    if (!routes[i])
      continue;
    if (!routes[i]->reachable())
      return {kInfinity, kInfinity, kInfinity};
    Times latency = stepLatencies(*routes[i], algorithm);
    for (unsigned p = 0; p < kProtocols; ++p)
      worst[p] = std::max(worst[p],
                          latency[p] + t.bytes * perByte[i] /
                                           protocolBandwidth(algorithm,
                                                             static_cast<Protocol>(p)));
  }
  return worst;
}

static CommModel::Times scaled(CommModel::Times t, double factor) {
  for (double &x : t)
    x *= factor;
  return t;
}
static CommModel::Times plus(CommModel::Times a, const CommModel::Times &b) {
  for (size_t p = 0; p < a.size(); ++p)
    a[p] += b[p];
  return a;
}
static CommModel::Times largest(CommModel::Times a, const CommModel::Times &b) {
  for (size_t p = 0; p < a.size(); ++p)
    a[p] = std::max(a[p], b[p]);
  return a;
}

void CommModel::appendRingFlows(ArrayRef<unsigned> order, double chunkBytes,
                                std::vector<Transfer> &flows) const {
  if (order.size() < 2)
    return;
  // Consecutive members in the same innermost group (a node) form a run.
  std::vector<std::pair<size_t, size_t>> runs; // [begin, end)
  for (size_t i = 0; i < order.size(); ++i) {
    int group = view.chips()[order[i]].group;
    if (runs.empty() || view.chips()[order[runs.back().first]].group != group)
      runs.push_back({i, i + 1});
    else
      runs.back().second = i + 1;
  }
  // Several rings (channels) at once, as NCCL builds them: channel j
  // enters and leaves every run at a member rotated by j, so the hops
  // between runs (the NICs) differ per channel and their bandwidth adds
  // up. One run: rotations reuse the same hops, so one channel suffices.
  size_t channels = 1;
  if (runs.size() > 1) {
    channels = order.size();
    for (auto [begin, end] : runs)
      channels = std::min(channels, end - begin);
  }
  std::vector<unsigned> ring;
  for (size_t j = 0; j < channels; ++j) {
    ring.clear();
    for (auto [begin, end] : runs) {
      size_t k = end - begin;
      for (size_t r = 0; r < k; ++r)
        ring.push_back(order[begin + (r + j) % k]);
    }
    for (size_t i = 0; i < ring.size(); ++i)
      flows.push_back({ring[i], ring[(i + 1) % ring.size()],
                       chunkBytes / static_cast<double>(channels)});
  }
}

CommModel::Times CommModel::ringTime(ArrayRef<std::vector<unsigned>> orders,
                                     ArrayRef<double> chunkBytes, unsigned steps,
                                     CollectiveAlgorithm algorithm) const {
  std::vector<Transfer> flows;
  for (auto [order, chunk] : llvm::zip(orders, chunkBytes))
    appendRingFlows(order, chunk, flows);
  if (flows.empty() || steps == 0)
    return {0, 0, 0};
  return scaled(collectiveStep(flows, algorithm), steps);
}

CommModel::Times CommModel::treeAllReduce(ArrayRef<std::vector<unsigned>> groups,
                                          ArrayRef<double> bytes) const {
  // Binary tree in heap order, pipelined: a reduce up the tree and a
  // broadcast down it, each bounded by the busiest edge plus one latency
  // per extra level for the pipeline to fill (NCCL's tree algorithm).
  constexpr CollectiveAlgorithm tree = CollectiveAlgorithm::Tree;
  std::vector<Transfer> up, down;
  double depth = 0;
  for (auto [group, size] : llvm::zip(groups, bytes)) {
    size_t n = group.size();
    for (size_t i = 1; i < n; ++i) {
      up.push_back({group[i], group[(i - 1) / 2], size});
      down.push_back({group[(i - 1) / 2], group[i], size});
    }
    if (n > 0)
      depth = std::max(depth, std::floor(std::log2(static_cast<double>(n))));
  }
  Times maxLatency{0, 0, 0};
  for (const Transfer &t : up)
    maxLatency = largest(maxLatency, stepLatencies(path(t.from, t.to), tree));
  Times fill = scaled(maxLatency, std::max(0.0, depth - 1));
  return plus(plus(collectiveStep(up, tree), collectiveStep(down, tree)),
              scaled(fill, 2));
}

CommModel::Times
CommModel::hierarchicalAllReduce(ArrayRef<std::vector<unsigned>> groups,
                                 ArrayRef<double> bytes) const {
  constexpr CollectiveAlgorithm hier = CollectiveAlgorithm::Hierarchical;
  // Per node: the parts of every group inside it (they reduce-scatter and
  // all-gather at once, sharing the node's links), and the rail flows of
  // every group across nodes (sharing the NICs and switches).
  llvm::MapVector<int, std::pair<std::vector<std::vector<unsigned>>, std::vector<double>>>
      nodes;
  llvm::MapVector<int, unsigned> nodeSteps;
  std::vector<Transfer> flows;
  size_t mostParts = 0;
  for (auto [group, size] : llvm::zip(groups, bytes)) {
    // Parts: members grouped by their innermost topology group (a node),
    // in order of first appearance.
    llvm::MapVector<int, std::vector<unsigned>> parts;
    for (unsigned chip : group)
      parts[view.chips()[chip].group].push_back(chip);
    if (parts.size() < 2 || parts.size() == group.size())
      return {kInfinity, kInfinity, kInfinity};
    size_t smallest = group.size();
    for (auto &part : parts)
      smallest = std::min(smallest, part.second.size());
    // 1. Reduce-scatter inside every part, 3. all-gather inside every
    //    part: (k-1) ring steps each.
    for (auto &part : parts) {
      double k = part.second.size();
      auto &node = nodes[part.first];
      node.first.push_back(part.second);
      node.second.push_back(size / k);
      unsigned &steps = nodeSteps[part.first];
      steps = std::max(steps, static_cast<unsigned>(k - 1));
    }
    // 2. All-reduce across parts on `smallest` rails at once (local rank r
    //    of every part), each rail carrying 1/smallest of the buffer.
    size_t p = parts.size();
    mostParts = std::max(mostParts, p);
    double railBytes = size / static_cast<double>(smallest);
    for (size_t r = 0; r < smallest; ++r)
      for (size_t j = 0; j < p; ++j)
        flows.push_back({(parts.begin() + j)->second[r],
                         (parts.begin() + (j + 1) % p)->second[r],
                         railBytes / static_cast<double>(p)});
  }
  Times intra{0, 0, 0};
  for (auto &[node, members] : nodes)
    intra = largest(intra, ringTime(members.first, members.second,
                                    nodeSteps[node], hier));
  Times inter = scaled(collectiveStep(flows, hier), 2.0 * (mostParts - 1));
  return plus(scaled(intra, 2.0), inter);
}

CommModel::Times CommModel::meshStep(ArrayRef<std::vector<unsigned>> groups,
                                     ArrayRef<double> slices,
                                     CollectiveAlgorithm algorithm) const {
  // Direct (HCCL's "mesh" algorithm): on a full mesh every member sends
  // its slice to all peers at once over its own links, so a reduce-
  // scatter or all-gather is one concurrent step. Only where each group is
  // one full-mesh group: on a switch every member's single port would
  // carry all the slices, and NCCL rings instead.
  std::vector<Transfer> flows;
  for (auto [group, slice] : llvm::zip(groups, slices)) {
    int node = view.chips()[group[0]].group;
    if (node < 0 ||
        view.groups()[node].interconnect != topo::Interconnect::full_mesh)
      return {kInfinity, kInfinity, kInfinity};
    for (unsigned c : group)
      if (view.chips()[c].group != node)
        return {kInfinity, kInfinity, kInfinity};
    size_t n = group.size();
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j)
        if (i != j)
          flows.push_back({group[i], group[j], slice});
  }
  return collectiveStep(flows, algorithm);
}

CommModel::Times CommModel::reductionTimes(CollectiveKind kind,
                                           CollectiveAlgorithm algorithm,
                                           ArrayRef<std::vector<unsigned>> groups,
                                           ArrayRef<double> most) const {
  // Groups of one size (their steps agree); `most` is each group's largest
  // buffer (all-reduce) or shard (all-gather, reduce-scatter).
  const Times never{kInfinity, kInfinity, kInfinity};
  size_t n = groups.front().size();
  unsigned steps = static_cast<unsigned>(n - 1);
  std::vector<double> perMember;
  for (double m : most)
    perMember.push_back(m / static_cast<double>(n));
  switch (kind) {
  case CollectiveKind::AllReduce:
    if (algorithm == CollectiveAlgorithm::Direct)
      return scaled(meshStep(groups, perMember, algorithm), 2);
    if (algorithm == CollectiveAlgorithm::Ring)
      return ringTime(groups, perMember, 2 * steps, algorithm);
    if (algorithm == CollectiveAlgorithm::Tree)
      return treeAllReduce(groups, most);
    if (algorithm == CollectiveAlgorithm::Hierarchical)
      return hierarchicalAllReduce(groups, most);
    return never;
  case CollectiveKind::AllGather:
  case CollectiveKind::ReduceScatter:
    // Every step moves one shard per member; the largest shard sets it.
    if (algorithm == CollectiveAlgorithm::Ring)
      return ringTime(groups, most, steps, algorithm);
    if (algorithm == CollectiveAlgorithm::Direct)
      return meshStep(groups, most, algorithm);
    return never;
  default:
    return never;
  }
}

double CommModel::algorithmTime(CollectiveKind kind,
                                CollectiveAlgorithm algorithm,
                                ArrayRef<unsigned> group,
                                ArrayRef<double> bytes,
                                Protocol protocol) const {
  return algorithmTimes(kind, algorithm, group, bytes)
      [static_cast<unsigned>(protocol)];
}

CommModel::Times CommModel::algorithmTimes(CollectiveKind kind,
                                           CollectiveAlgorithm algorithm,
                                           ArrayRef<unsigned> group,
                                           ArrayRef<double> bytes) const {
  const Times never{kInfinity, kInfinity, kInfinity};
  size_t n = group.size();
  if (n < 2)
    return {0, 0, 0};
  double most = 0;
  for (double b : bytes)
    most = std::max(most, b);
  if (most <= 0)
    return {0, 0, 0};
  switch (kind) {
  case CollectiveKind::AllReduce:
  case CollectiveKind::AllGather:
  case CollectiveKind::ReduceScatter: {
    std::vector<unsigned> members(group.begin(), group.end());
    return reductionTimes(kind, algorithm, {members}, {most});
  }
  case CollectiveKind::AllToAll: {
    auto share = [&](size_t i) {
      return (i < bytes.size() ? bytes[i] : bytes.back()) / n;
    };
    if (algorithm == CollectiveAlgorithm::Direct) {
      std::vector<Transfer> flows;
      for (size_t i = 0; i < n; ++i)
        for (size_t j = 0; j < n; ++j)
          if (i != j)
            flows.push_back({group[i], group[j], share(i)});
      return collectiveStep(flows, algorithm);
    }
    if (algorithm == CollectiveAlgorithm::Ring) {
      // Pairwise exchange: in step s member i sends to member i + s.
      Times total{0, 0, 0};
      for (size_t s = 1; s < n; ++s) {
        std::vector<Transfer> flows;
        for (size_t i = 0; i < n; ++i)
          flows.push_back({group[i], group[(i + s) % n], share(i)});
        total = plus(total, collectiveStep(flows, algorithm));
      }
      return total;
    }
    return never;
  }
  case CollectiveKind::Broadcast: {
    double size = bytes.front();
    if (algorithm == CollectiveAlgorithm::Ring) {
      // Pipelined chain from the root: all hops busy at once, plus one
      // latency per hop for the first chunk to reach the end.
      std::vector<Transfer> chain;
      Times maxLatency{0, 0, 0};
      for (size_t i = 0; i + 1 < n; ++i) {
        chain.push_back({group[i], group[i + 1], size});
        maxLatency = largest(maxLatency,
                             stepLatencies(path(group[i], group[i + 1]), algorithm));
      }
      return plus(collectiveStep(chain, algorithm), scaled(maxLatency, n - 2.0));
    }
    if (algorithm == CollectiveAlgorithm::Tree) {
      // Binomial tree: round r doubles the members that hold the data.
      Times total{0, 0, 0};
      for (size_t have = 1; have < n; have *= 2) {
        std::vector<Transfer> round;
        for (size_t i = 0; i < have && i + have < n; ++i)
          round.push_back({group[i], group[i + have], size});
        total = plus(total, collectiveStep(round, algorithm));
      }
      return total;
    }
    return never;
  }
  }
  return never;
}

/// Every algorithm under every protocol, each with its base latency, as
/// NCCL's tuner does; ties keep the earlier (simpler) one: deterministic.
/// Nothing applicable costs 0 (a group with nothing to exchange).
static CollectiveCost
cheapest(llvm::function_ref<CommModel::Times(CollectiveAlgorithm)> timesOf,
         CollectiveLibrary library) {
  CollectiveCost best{kInfinity, CollectiveAlgorithm::Ring, Protocol::Simple};
  for (CollectiveAlgorithm algorithm :
       {CollectiveAlgorithm::Ring, CollectiveAlgorithm::Tree,
        CollectiveAlgorithm::Hierarchical, CollectiveAlgorithm::Direct}) {
    CommModel::Times times = timesOf(algorithm);
    for (Protocol protocol : {Protocol::LL, Protocol::LL128, Protocol::Simple}) {
      double t = times[static_cast<unsigned>(protocol)];
      if (!(t > 0) || t == kInfinity)
        continue;
      t += CommModel::baseLatency(algorithm, protocol, library);
      if (t < best.seconds)
        best = {t, algorithm, protocol};
    }
  }
  if (best.seconds == kInfinity)
    best = {0, CollectiveAlgorithm::Direct, Protocol::Simple};
  return best;
}

CollectiveCost CommModel::collective(CollectiveKind kind,
                                     ArrayRef<unsigned> group,
                                     ArrayRef<double> bytes) const {
  CollectiveCost best{kInfinity, CollectiveAlgorithm::Ring, Protocol::Simple};
  if (group.size() < 2 || bytes.empty())
    return {0, CollectiveAlgorithm::Direct};
  // The partitioner asks for the same collective many times.
  auto key = std::make_tuple(kind, groupShape(group),
                             std::vector<double>(bytes.begin(), bytes.end()));
  {
    std::lock_guard<std::mutex> lock(collectiveMutex);
    auto it = collectiveCache.find(key);
    if (it != collectiveCache.end())
      return it->second;
  }
  best = cheapest(
      [&](CollectiveAlgorithm algorithm) {
        return algorithmTimes(kind, algorithm, group, bytes);
      },
      libraryOf(group));
  std::lock_guard<std::mutex> lock(collectiveMutex);
  collectiveCache.emplace(std::move(key), best);
  return best;
}

CollectiveCost
CommModel::concurrentCollectives(CollectiveKind kind,
                                 ArrayRef<std::vector<unsigned>> groups,
                                 ArrayRef<std::vector<double>> bytes) const {
  // Groups that have a peer to talk to, by size (their step counts agree);
  // one alone is collective() itself.
  std::map<size_t, std::vector<size_t>> bySize;
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].size() >= 2 && i < bytes.size() && !bytes[i].empty())
      bySize[groups[i].size()].push_back(i);
  bool reduction = kind == CollectiveKind::AllReduce ||
                   kind == CollectiveKind::AllGather ||
                   kind == CollectiveKind::ReduceScatter;
  CollectiveCost slowest{0, CollectiveAlgorithm::Direct, Protocol::Simple};
  for (auto &[size, members] : bySize) {
    CollectiveCost cost;
    if (members.size() == 1 || !reduction) {
      for (size_t i : members) {
        CollectiveCost one = collective(kind, groups[i], bytes[i]);
        if (one.seconds > cost.seconds)
          cost = one;
      }
    } else {
      std::vector<std::vector<unsigned>> set;
      std::vector<double> most;
      std::vector<int64_t> shape;
      std::vector<double> keyBytes;
      std::vector<unsigned> all;
      for (size_t i : members) {
        set.push_back(groups[i]);
        double m = 0;
        for (double b : bytes[i])
          m = std::max(m, b);
        most.push_back(m);
        keyBytes.push_back(m);
        all.insert(all.end(), groups[i].begin(), groups[i].end());
      }
      // The set's shape: every member's as one group, plus the group size
      // (the members of one symmetric set map onto another's).
      shape = groupShape(all);
      shape.push_back(-2);
      shape.push_back(static_cast<int64_t>(size));
      auto key = std::make_tuple(kind, std::move(shape), std::move(keyBytes));
      {
        std::lock_guard<std::mutex> lock(collectiveMutex);
        auto it = collectiveCache.find(key);
        if (it != collectiveCache.end())
          cost = it->second;
      }
      if (!(cost.seconds > 0)) {
        CollectiveCost best = cheapest(
            [&](CollectiveAlgorithm algorithm) {
              return reductionTimes(kind, algorithm, set, most);
            },
            libraryOf(all));
        cost = best;
        std::lock_guard<std::mutex> lock(collectiveMutex);
        collectiveCache.emplace(std::move(key), best);
      }
    }
    if (cost.seconds > slowest.seconds)
      slowest = cost;
  }
  return slowest;
}

CollectiveCost CommModel::collective(CollectiveKind kind,
                                     ArrayRef<unsigned> group,
                                     double bytes) const {
  std::vector<double> each(group.size(), bytes);
  return collective(kind, group, each);
}
