//===- MeshView.cpp - Flat C++ view of a topo.mesh ------------------------===//

#include "chipmesh/Dialect/Topo/MeshView.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <queue>

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::topo;

static double orCatalog(std::optional<llvm::APFloat> attr, double fallback) {
  return attr ? attr->convertToDouble() : fallback;
}

ChipKindSpec MeshView::resolve(const CatalogChip &entry) {
  ChipKindSpec spec;
  spec.name = entry.id.str();
  spec.catalogId = entry.id.str();
  spec.peakFlopPerS = entry.peakFlopPerS;
  spec.memoryBytes = entry.memoryBytes;
  spec.memoryBytesPerS = entry.memoryBytesPerS;
  spec.tdpWatts = entry.tdpWatts;
  return spec;
}

ChipKindSpec MeshView::resolve(ChipKindOp op) {
  ChipKindSpec spec;
  spec.name = op.getSymName().str();
  if (std::optional<StringRef> id = op.getCatalog()) {
    if (const CatalogChip *entry = lookupCatalogChip(*id)) {
      spec.catalogId = id->str();
      spec.peakFlopPerS = entry->peakFlopPerS;
      spec.memoryBytes = entry->memoryBytes;
      spec.memoryBytesPerS = entry->memoryBytesPerS;
      spec.tdpWatts = entry->tdpWatts;
    }
  }
  auto &peak = spec.peakFlopPerS;
  auto at = [](DType type) { return static_cast<unsigned>(type); };
  peak[at(DType::FP32)] = orCatalog(op.getFp32FlopPerS(), peak[at(DType::FP32)]);
  peak[at(DType::TF32)] = orCatalog(op.getTf32FlopPerS(), peak[at(DType::TF32)]);
  peak[at(DType::BF16)] = orCatalog(op.getBf16FlopPerS(), peak[at(DType::BF16)]);
  peak[at(DType::FP16)] = orCatalog(op.getFp16FlopPerS(), peak[at(DType::FP16)]);
  peak[at(DType::FP8)] = orCatalog(op.getFp8FlopPerS(), peak[at(DType::FP8)]);
  peak[at(DType::INT8)] = orCatalog(op.getInt8OpPerS(), peak[at(DType::INT8)]);
  spec.memoryBytes = orCatalog(op.getMemoryBytes(), spec.memoryBytes);
  spec.memoryBytesPerS = orCatalog(op.getMemoryBytesPerS(), spec.memoryBytesPerS);
  spec.tdpWatts = orCatalog(op.getTdpWatts(), spec.tdpWatts);
  spec.priceUsd = orCatalog(op.getPriceUsd(), spec.priceUsd);
  return spec;
}

LinkKindSpec MeshView::resolve(LinkKindOp op) {
  LinkKindSpec spec;
  spec.name = op.getSymName().str();
  if (std::optional<StringRef> id = op.getCatalog()) {
    if (const CatalogLink *entry = lookupCatalogLink(*id)) {
      spec.catalogId = id->str();
      spec.bytesPerS = entry->bytesPerS;
      spec.latencyS = entry->latencyS;
      spec.technology = symbolizeLinkTechnology(entry->technology)
                            .value_or(LinkTechnology::other);
    }
  }
  spec.bytesPerS = orCatalog(op.getBytesPerS(), spec.bytesPerS);
  spec.latencyS = orCatalog(op.getLatencyS(), spec.latencyS);
  if (std::optional<LinkTechnology> tech = op.getTechnology())
    spec.technology = *tech;
  return spec;
}

void MeshView::addEdge(unsigned a, unsigned b, unsigned linkKind,
                       double latency) {
  adjacency[a].push_back({b, linkKind, latency});
  adjacency[b].push_back({a, linkKind, latency});
}

void MeshView::addArc(unsigned from, unsigned to, unsigned linkKind,
                      double latency) {
  adjacency[from].push_back({to, linkKind, latency});
}

namespace chipmesh {
/// Expands the hierarchy of a mesh into a MeshView.
class MeshBuilder {
public:
  MeshBuilder(MeshView &view, MeshOp mesh) : view(view), mesh(mesh) {}

  LogicalResult run() {
    view.meshName = mesh.getSymName().str();
    for (Operation &op : mesh.getBodyBlock()) {
      if (auto kind = dyn_cast<ChipKindOp>(op)) {
        kindIndex[kind.getSymNameAttr()] = view.kinds.size();
        view.kinds.push_back(MeshView::resolve(kind));
      } else if (auto link = dyn_cast<LinkKindOp>(op)) {
        linkIndex[link.getSymNameAttr()] = view.links.size();
        view.links.push_back(MeshView::resolve(link));
      }
    }
    uint64_t total = countChips(mesh.getBodyBlock());
    if (total > MeshView::kMaxChips)
      return mesh.emitOpError()
             << "expands to more than " << MeshView::kMaxChips
             << " chips; split it into several meshes";
    if (total == 0)
      return mesh.emitOpError() << "holds no chips";
    expandBlock(mesh.getBodyBlock(), /*parentGroup=*/-1, "");
    // Switch vertices come after every chip, so chip i is vertex i.
    for (const GroupInstance &group : view.groupList)
      joinMembers(group);
    if (portBudgetExceeded)
      return mesh.emitOpError()
             << "shared ports ('ports') expand to more than " << kMaxPortWork
             << " port steps over its chips and levels; share ports at fewer "
                "levels or split the mesh";
    for (Operation &op : mesh.getBodyBlock())
      if (auto link = dyn_cast<LinkOp>(op))
        if (failed(addIrregularLink(link)))
          return failure();
    return checkConnected();
  }

private:
  /// Saturating count of the chips a block expands to.
  static uint64_t countChips(Block &block) {
    uint64_t total = 0;
    auto saturatingAdd = [](uint64_t a, uint64_t b) {
      return a > std::numeric_limits<uint64_t>::max() - b
                 ? std::numeric_limits<uint64_t>::max()
                 : a + b;
    };
    for (Operation &op : block) {
      uint64_t n = 0;
      if (auto chips = dyn_cast<ChipsOp>(op)) {
        n = static_cast<uint64_t>(std::max<int64_t>(static_cast<int64_t>(chips.getCount()), 0));
      } else if (auto group = dyn_cast<GroupOp>(op)) {
        uint64_t inner = countChips(group.getBodyBlock());
        uint64_t repeats = static_cast<uint64_t>(std::max<int64_t>(static_cast<int64_t>(group.getCount()), 0));
        n = (inner != 0 && repeats > MeshView::kMaxChips / inner + 1)
                ? std::numeric_limits<uint64_t>::max()
                : inner * repeats;
      }
      total = saturatingAdd(total, n);
    }
    return total;
  }

  void expandBlock(Block &block, int parentGroup, const std::string &prefix) {
    for (Operation &op : block) {
      if (auto chips = dyn_cast<ChipsOp>(op)) {
        unsigned kind = kindIndex.lookup(chips.getKindAttr().getAttr());
        int64_t count = chips.getCount();
        for (int64_t i = 0; i < count; ++i) {
          std::string path = prefix + chips.getKind().str();
          if (count > 1)
            path += llvm::formatv("[{0}]", i).str();
          view.chipList.push_back({kind, std::move(path), parentGroup});
          chipOrigin.push_back(chips);
          view.addVertex();
        }
      } else if (auto group = dyn_cast<GroupOp>(op)) {
        for (int64_t r = 0, e = group.getCount(); r < e; ++r)
          expandGroup(group, r, parentGroup, prefix);
      }
    }
  }

  void expandGroup(GroupOp group, int64_t repeat, int parentGroup,
                   const std::string &prefix) {
    GroupInstance instance;
    instance.path = prefix + group.getName().str();
    if (group.getCount() > 1)
      instance.path += llvm::formatv("[{0}]", repeat).str();
    instance.parent = parentGroup;
    instance.interconnect = group.getInterconnect();
    if (group.getLink())
      instance.linkKind = linkIndex.lookup(group.getLinkAttr().getAttr());
    if (std::optional<int64_t> ports = group.getPorts()) {
      instance.ports = static_cast<unsigned>(std::clamp<int64_t>(*ports, 1, MeshView::kMaxChips));
      anyPorts = true;
    }
    instance.firstChip = view.chipList.size();
    int self = view.groupList.size();
    view.groupList.push_back(instance);
    expandBlock(group.getBodyBlock(), self, instance.path + "/");
    GroupInstance &done = view.groupList[self];
    done.numChips = view.chipList.size() - done.firstChip;
  }

  void joinMembers(const GroupInstance &group) {
    if (group.interconnect == Interconnect::none || group.linkKind < 0)
      return;
    unsigned link = group.linkKind;
    double latency = view.links[link].latencyS;
    unsigned first = group.firstChip, n = group.numChips;
    switch (group.interconnect) {
    case Interconnect::switched: {
      // Half the latency on each side, so chip-switch-chip is one traversal.
      unsigned sw = view.addVertex();
      for (unsigned c = first; c < first + n; ++c)
        joinToSwitch(c, sw, &group - view.groupList.data(), link, latency);
      break;
    }
    case Interconnect::full_mesh:
      for (unsigned a = first; a < first + n; ++a)
        for (unsigned b = a + 1; b < first + n; ++b)
          view.addEdge(a, b, link, latency);
      break;
    case Interconnect::ring:
      for (unsigned i = 0; i + 1 < n; ++i)
        view.addEdge(first + i, first + i + 1, link, latency);
      if (n > 2)
        view.addEdge(first + n - 1, first, link, latency);
      break;
    case Interconnect::none:
      break;
    }
  }

  /// Joins chip `chip` to the switch `sw` of group `level`: directly
  /// (its own port), or through the shared ports of every group between
  /// the chip and that level that has `ports`, innermost first. A port is
  /// an uplink vertex (chip -> port -> ... -> switch) and a downlink vertex
  /// (switch -> ... -> port -> chip), so traffic between two chips of the
  /// level crosses the switch and shares each port's two directions.
  void joinToSwitch(unsigned chip, unsigned sw, int level, unsigned link,
                    double latency) {
    llvm::SmallVector<std::pair<int, unsigned>, 4> through; // (group, port)
    if (anyPorts) {
      for (int g = view.chipList[chip].group; g >= 0 && g != level;
           g = view.groupList[g].parent) {
        if (view.groupList[g].ports > 0)
          through.push_back({g, view.groupList[g].portOf(chip)});
        // Bounded work: deep hierarchies of shared ports over many chips.
        if (++portWork > kMaxPortWork) {
          portBudgetExceeded = true;
          return;
        }
      }
    }
    if (through.empty()) {
      view.addEdge(chip, sw, link, latency / 2);
      return;
    }
    // The chip's own arcs to its first port and back; the arcs between
    // ports and on to the switch once each.
    double half = latency / 2;
    auto arcOnce = [&](unsigned from, unsigned to, double arcLatency) {
      if (portArcs.insert({from, to}).second)
        view.addArc(from, to, link, arcLatency);
    };
    unsigned up = chip;
    for (auto [g, port] : through) {
      unsigned vertex = portVertex(g, level, port, /*uplink=*/true);
      if (up == chip)
        view.addArc(up, vertex, link, half);
      else
        arcOnce(up, vertex, 0.0);
      up = vertex;
    }
    arcOnce(up, sw, 0.0);
    unsigned down = sw;
    for (auto [g, port] : llvm::reverse(through)) {
      unsigned vertex = portVertex(g, level, port, /*uplink=*/false);
      arcOnce(down, vertex, down == sw ? half : 0.0);
      down = vertex;
    }
    view.addArc(down, chip, link, 0.0);
  }

  /// The vertex of one direction of port `port` of group `g` towards the
  /// switch of group `level`, made once.
  unsigned portVertex(int g, int level, unsigned port, bool uplink) {
    auto key = std::make_tuple(g, level, port, uplink);
    auto [it, fresh] = portVertices.try_emplace(key, 0u);
    if (fresh)
      it->second = view.addVertex();
    return it->second;
  }

  LogicalResult addIrregularLink(LinkOp link) {
    unsigned n = view.chipList.size();
    for (int64_t index : {static_cast<int64_t>(link.getFrom()),
                          static_cast<int64_t>(link.getTo())})
      if (index < 0 || static_cast<uint64_t>(index) >= n)
        return link.emitOpError()
               << "chip index " << index << " is out of range; the mesh has "
               << n << " chips (0.." << n - 1 << ")";
    if (link.getFrom() == link.getTo())
      return link.emitOpError() << "joins chip " << link.getFrom()
                                << " to itself";
    auto it = linkIndex.find(link.getLinkAttr().getAttr());
    if (it == linkIndex.end())
      return link.emitOpError() << "unknown link kind " << link.getLinkAttr();
    view.addEdge(link.getFrom(), link.getTo(), it->second,
                 view.links[it->second].latencyS);
    view.irregular = true;
    return success();
  }

  LogicalResult checkConnected() {
    std::vector<char> seen(view.adjacency.size(), 0);
    std::vector<unsigned> stack{0};
    seen[0] = 1;
    while (!stack.empty()) {
      unsigned v = stack.back();
      stack.pop_back();
      for (const MeshView::Edge &edge : view.adjacency[v])
        if (!seen[edge.to]) {
          seen[edge.to] = 1;
          stack.push_back(edge.to);
        }
    }
    for (unsigned c = 0; c < view.chipList.size(); ++c)
      if (!seen[c]) {
        InFlightDiagnostic diag = chipOrigin[c]->emitOpError();
        diag << "chip '" << view.chipList[c].path << "' (index " << c
             << ") has no path to chip '" << view.chipList[0].path
             << "' (index 0); join them with a group interconnect or a "
                "'topo.link'";
        return diag;
      }
    return success();
  }

  MeshView &view;
  MeshOp mesh;
  llvm::DenseMap<Attribute, unsigned> kindIndex, linkIndex;
  std::vector<Operation *> chipOrigin;
  std::map<std::tuple<int, int, unsigned, bool>, unsigned> portVertices;
  std::set<std::pair<unsigned, unsigned>> portArcs;
  bool anyPorts = false, portBudgetExceeded = false;
  /// Ancestor steps walked to find shared ports (chips x levels x depth).
  uint64_t portWork = 0;
  static constexpr uint64_t kMaxPortWork = uint64_t(1) << 24;
};
} // namespace chipmesh

FailureOr<MeshView> MeshView::build(MeshOp mesh) {
  MeshView view;
  MeshBuilder builder(view, mesh);
  if (failed(builder.run()))
    return failure();
  return view;
}

void MeshView::widestFrom(unsigned from, unsigned stop,
                          std::vector<double> &widest) const {
  // Max-min Dijkstra: a vertex's width is final when it is popped.
  widest.assign(adjacency.size(), 0.0);
  widest[from] = std::numeric_limits<double>::infinity();
  std::priority_queue<std::pair<double, unsigned>> queue;
  queue.push({widest[from], from});
  while (!queue.empty()) {
    auto [width, v] = queue.top();
    queue.pop();
    if (width < widest[v])
      continue;
    if (v == stop)
      break;
    for (const Edge &edge : adjacency[v]) {
      double w = std::min(width, links[edge.linkKind].bytesPerS);
      if (w > widest[edge.to]) {
        widest[edge.to] = w;
        queue.push({w, edge.to});
      }
    }
  }
}

void MeshView::fastestFrom(unsigned from, double bottleneck, unsigned stop,
                           std::vector<double> &latency,
                           std::vector<unsigned> &previous,
                           std::vector<unsigned> &linkKind) const {
  // Lowest-latency Dijkstra over the links at least `bottleneck` wide.
  unsigned n = adjacency.size();
  latency.assign(n, std::numeric_limits<double>::infinity());
  previous.assign(n, ~0u);
  linkKind.assign(n, ~0u);
  using Item = std::pair<double, unsigned>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> frontier;
  latency[from] = 0;
  frontier.push({0.0, from});
  while (!frontier.empty()) {
    auto [dist, v] = frontier.top();
    frontier.pop();
    if (dist > latency[v])
      continue;
    if (v == stop)
      break;
    for (const Edge &edge : adjacency[v]) {
      if (links[edge.linkKind].bytesPerS < bottleneck)
        continue;
      double d = dist + edge.latencyS;
      if (d < latency[edge.to]) {
        latency[edge.to] = d;
        previous[edge.to] = v;
        linkKind[edge.to] = edge.linkKind;
        frontier.push({d, edge.to});
      }
    }
  }
}

MeshPath MeshView::tracePath(unsigned from, unsigned to, double bottleneck,
                             double latency, llvm::ArrayRef<unsigned> previous,
                             llvm::ArrayRef<unsigned> linkKind) const {
  MeshPath result;
  result.bottleneckBytesPerS = bottleneck;
  result.latencyS = latency;
  // One traversal per link entered from a chip (chip-switch-chip is one).
  llvm::SmallVector<unsigned, 8> kinds;
  llvm::SmallVector<MeshHop, 8> hops;
  for (unsigned v = to; v != from; v = previous[v]) {
    hops.push_back({previous[v], v, linkKind[v]});
    if (previous[v] < numChips())
      kinds.push_back(linkKind[v]);
  }
  result.linkKinds.assign(kinds.rbegin(), kinds.rend());
  result.hops.assign(hops.rbegin(), hops.rend());
  return result;
}

MeshPath MeshView::path(unsigned from, unsigned to) const {
  if (from == to || from >= numChips() || to >= numChips())
    return MeshPath();
  // Scratch arrays reused across calls on this thread (paths are asked
  // for millions of times by the partitioner).
  thread_local std::vector<double> widest, latency;
  thread_local std::vector<unsigned> previous, linkKind;
  widestFrom(from, to, widest);
  double bottleneck = widest[to];
  if (!(bottleneck > 0))
    return MeshPath();
  fastestFrom(from, bottleneck, to, latency, previous, linkKind);
  return tracePath(from, to, bottleneck, latency[to], previous, linkKind);
}

MeshView::Routes MeshView::routesFrom(unsigned from) const {
  Routes routes;
  routes.from = from;
  if (from >= numChips()) {
    routes.widest.assign(adjacency.size(), 0.0);
    return routes;
  }
  widestFrom(from, ~0u, routes.widest);
  for (unsigned c = 0; c < numChips(); ++c)
    if (c != from && routes.widest[c] > 0 &&
        !llvm::is_contained(routes.classes, routes.widest[c]))
      routes.classes.push_back(routes.widest[c]);
  llvm::sort(routes.classes);
  for (double bottleneck : routes.classes) {
    routes.latency.emplace_back();
    routes.previous.emplace_back();
    routes.linkKind.emplace_back();
    fastestFrom(from, bottleneck, ~0u, routes.latency.back(),
                routes.previous.back(), routes.linkKind.back());
  }
  return routes;
}

MeshPath MeshView::routeTo(const Routes &routes, unsigned to) const {
  unsigned from = routes.from;
  if (from == to || from >= numChips() || to >= numChips())
    return MeshPath();
  double bottleneck = routes.widest[to];
  if (!(bottleneck > 0))
    return MeshPath();
  size_t c = std::lower_bound(routes.classes.begin(), routes.classes.end(),
                              bottleneck) -
             routes.classes.begin();
  return tracePath(from, to, bottleneck, routes.latency[c][to],
                   routes.previous[c], routes.linkKind[c]);
}
