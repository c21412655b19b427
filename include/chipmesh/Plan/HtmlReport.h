//===- HtmlReport.h - Self-contained HTML pages for plans --------*- C++ -*-===//
//
// Offline pages with inline SVG, no scripts and no requests: a plan's
// pipeline timeline (per stage and micro-batch, forward and backward, then
// gradient sync and optimizer), the mesh with devices coloured by stage
// and nodes by link utilisation, and memory per device against capacity;
// for chipmesh-plan also the Pareto plot of a match and scaling curves.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_PLAN_HTMLREPORT_H
#define CHIPMESH_PLAN_HTMLREPORT_H

#include "chipmesh/Dialect/Topo/MeshView.h"
#include "chipmesh/Partition/Partitioner.h"
#include <string>
#include <vector>

namespace chipmesh {

struct HtmlSection {
  std::string id, title, body; ///< body is HTML (SVG, tables)
};

/// Summary, timeline, mesh and memory sections for one plan; `prefix`
/// makes element ids unique when a page shows several plans.
std::vector<HtmlSection> planSections(const PartitionResult &result,
                                      const MeshView &mesh,
                                      llvm::StringRef prefix = "");

struct ParetoPoint {
  std::string label;
  double priceUsd = 0, stepS = 0;
  bool onFront = false, winner = false;
};
HtmlSection paretoSection(llvm::ArrayRef<ParetoPoint> points, double targetS);

struct ScalingCurve {
  std::string kind;
  std::vector<std::pair<int64_t, double>> efficiency; ///< (chips, efficiency)
};
HtmlSection scalingSection(llvm::ArrayRef<ScalingCurve> curves);

/// Escapes text for HTML.
std::string htmlEscape(llvm::StringRef text);

/// The whole page.
std::string htmlPage(llvm::StringRef title, llvm::ArrayRef<HtmlSection> sections);

} // namespace chipmesh

#endif // CHIPMESH_PLAN_HTMLREPORT_H
