//===- HtmlReport.cpp - Self-contained HTML pages for plans ---------------===//

#include "chipmesh/Plan/HtmlReport.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>
#include <cmath>
#include <map>

using namespace chipmesh;

namespace {

// Tableau 10: distinguishable, and readable on white.
const char *const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                                "#9c755f", "#bab0ac"};
const char *stageColor(unsigned stage) { return kPalette[stage % 10]; }

std::string seconds(double s) {
  if (s >= 1)
    return llvm::formatv("{0:f2} s", s).str();
  if (s >= 1e-3)
    return llvm::formatv("{0:f2} ms", s * 1e3).str();
  return llvm::formatv("{0:f1} us", s * 1e6).str();
}

/// Green (idle links) to red (busy), for a fraction in [0, 1].
std::string heat(double f) {
  f = std::clamp(f, 0.0, 1.0);
  int r = static_cast<int>(89 + f * (225 - 89));
  int g = static_cast<int>(161 - f * (161 - 87));
  int b = static_cast<int>(79 + f * (89 - 79));
  return llvm::formatv("rgb({0},{1},{2})", r, g, b).str();
}

std::string nodeOf(llvm::StringRef path) {
  size_t slash = path.rfind('/');
  return slash == llvm::StringRef::npos ? std::string("mesh") : path.substr(0, slash).str();
}

} // namespace

std::string chipmesh::htmlEscape(llvm::StringRef text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::vector<HtmlSection> chipmesh::planSections(const PartitionResult &result,
                                                const MeshView &mesh,
                                                llvm::StringRef prefix) {
  const Plan &plan = result.plan;
  std::vector<HtmlSection> sections;
  std::string id = prefix.str();

  // Summary.
  {
    std::string body;
    llvm::raw_string_ostream os(body);
    os << "<table><tr><th>strategy</th><td>"
       << llvm::formatv("dp={0} pp={1} tp={2} ({3} replicas), {4}{5}", plan.strategy.dp,
                        plan.strategy.pp, plan.strategy.tp,
                        stringifyReplicaLayout(plan.layout),
                        stringifySchedule(plan.schedule),
                        plan.zero ? llvm::formatv(", ZeRO-{0}", plan.zero).str()
                                  : std::string())
       << "</td></tr><tr><th>step time</th><td>" << seconds(plan.stepS)
       << " (pipeline " << seconds(plan.pipelineS) << ", gradient sync "
       << seconds(plan.gradientSyncS) << ", optimizer " << seconds(plan.optimizerS)
       << ")</td></tr><tr><th>throughput</th><td>"
       << llvm::formatv("{0:f2} samples/s, {1:f0} tokens/s",
                        result.globalBatch / plan.stepS,
                        result.globalBatch * result.tokensPerSample / plan.stepS)
       << "</td></tr><tr><th>lower bound</th><td>" << seconds(result.lowerBoundS)
       << llvm::formatv(" (plan is {0:f2}x)", plan.stepS / result.lowerBoundS)
       << "</td></tr></table>\n<table><tr><th>stage</th><th>layers</th><th>devices</th></tr>\n";
    for (auto [s, stage] : llvm::enumerate(plan.stages)) {
      std::vector<std::string> groups;
      for (size_t r = 0; r < stage.devices.size(); ++r) {
        std::vector<std::string> names;
        for (auto [t, chip] : llvm::enumerate(stage.devices[r]))
          names.push_back(htmlEscape(mesh.chips()[chip].path) +
                          llvm::formatv(" ({0:f0}%)", 100 * stage.shares[r][t]).str());
        groups.push_back(llvm::join(names, ", "));
      }
      os << "<tr><td><span class=\"swatch\" style=\"background:" << stageColor(s)
         << "\"></span>" << s << "</td><td>[" << stage.firstLayer << ", "
         << stage.endLayer << ")</td><td>" << llvm::join(groups, "<br>")
         << "</td></tr>\n";
    }
    os << "</table>\n";
    sections.push_back({id + "summary", "Plan", body});
  }

  // Timeline of replica 0 (replicas of the same kinds play the same).
  if (!plan.pipelines.empty()) {
    const ReplicaPipeline &pipe = plan.pipelines.front();
    bool training = false;
    for (double b : pipe.backward)
      training |= b > 0;
    std::vector<PipeEvent> events;
    double makespan = simulatePipeline(plan.schedule, pipe.forward, pipe.backward,
                                       pipe.sendForward, pipe.sendBackward,
                                       pipe.microBatches, training, &events,
                                       nullptr, plan.virtualStages);
    double total = std::max(plan.stepS, makespan);
    unsigned stages = static_cast<unsigned>(pipe.forward.size());
    const double left = 70, width = 880, row = 26, top = 10;
    double height = top + stages * row + 40;
    std::string svg;
    llvm::raw_string_ostream os(svg);
    os << llvm::formatv("<svg id=\"{0}timeline-svg\" xmlns=\"http://www.w3.org/2000/svg\" "
                        "width=\"{1}\" height=\"{2}\" role=\"img\">\n",
                        id, left + width + 20, height);
    auto x = [&](double t) { return left + width * t / total; };
    // Interleaved plans: one row per model chunk, named by its device.
    unsigned depth = std::max(1u, stages / std::max(1u, plan.virtualStages));
    for (unsigned s = 0; s < stages; ++s)
      os << llvm::formatv("<text x=\"4\" y=\"{0}\" class=\"label\">{1}</text>\n",
                          top + s * row + 17,
                          plan.virtualStages > 1
                              ? llvm::formatv("st {0} c{1}", s % depth, s / depth).str()
                              : llvm::formatv("stage {0}", s).str());
    for (const PipeEvent &e : events) {
      double w = std::max(0.5, x(e.endS) - x(e.startS));
      os << llvm::formatv("<rect class=\"{0}\" x=\"{1:f1}\" y=\"{2}\" width=\"{3:f1}\" "
                          "height=\"{4}\" fill=\"{5}\" stroke=\"#fff\" stroke-width=\"0.5\">"
                          "<title>stage {6}, micro-batch {7}, {0}: {8} .. {9}</title></rect>\n",
                          e.backward ? "backward" : "forward", x(e.startS),
                          top + e.stage * row + 3, w, row - 6,
                          e.backward ? "#59a14f" : "#4e79a7", e.stage, e.microBatch,
                          seconds(e.startS), seconds(e.endS));
      if (w > 14)
        os << llvm::formatv("<text x=\"{0:f1}\" y=\"{1}\" class=\"mb\">{2}</text>\n",
                            x(e.startS) + w / 2, top + e.stage * row + 17, e.microBatch);
    }
    if (plan.stepS > makespan)
      os << llvm::formatv("<rect class=\"sync\" x=\"{0:f1}\" y=\"{1}\" width=\"{2:f1}\" "
                          "height=\"{3}\" fill=\"#bab0ac\"><title>gradient sync {4} + "
                          "optimizer {5}</title></rect>\n",
                          x(makespan), top, std::max(0.5, x(plan.stepS) - x(makespan)),
                          stages * row, seconds(plan.gradientSyncS),
                          seconds(plan.optimizerS));
    for (int i = 0; i <= 4; ++i)
      os << llvm::formatv("<text x=\"{0:f1}\" y=\"{1}\" class=\"tick\">{2}</text>\n",
                          x(total * i / 4), top + stages * row + 18, seconds(total * i / 4));
    os << "</svg>\n";
    std::string body = "<p>Replica 0, played op by op under " +
                       stringifySchedule(plan.schedule).str() +
                       ": <span class=\"swatch\" style=\"background:#4e79a7\"></span>forward, "
                       "<span class=\"swatch\" style=\"background:#59a14f\"></span>backward, "
                       "gaps are idle (waiting for a neighbour or a send), grey is gradient "
                       "sync and optimizer.</p>\n" + svg;
    sections.push_back({id + "timeline", "Pipeline timeline", body});
  }

  // The mesh: nodes, devices coloured by stage, nodes by link busy-ness.
  {
    std::map<std::string, std::vector<unsigned>> nodes;
    std::vector<std::string> order;
    for (unsigned c = 0; c < mesh.numChips(); ++c) {
      std::string node = nodeOf(mesh.chips()[c].path);
      if (!nodes.count(node))
        order.push_back(node);
      nodes[node].push_back(c);
    }
    const double box = 22, gap = 4, nodeWidth = 8 * (box + gap) + 16;
    const unsigned perRow = 4;
    std::string svg;
    llvm::raw_string_ostream os(svg);
    double y = 10, maxY = 0;
    std::string shapes;
    llvm::raw_string_ostream ss(shapes);
    for (auto [n, node] : llvm::enumerate(order)) {
      const std::vector<unsigned> &chips = nodes[node];
      unsigned rows = (chips.size() + 7) / 8;
      double nodeHeight = rows * (box + gap) + 34;
      double nx = 10 + (n % perRow) * (nodeWidth + 12);
      if (n % perRow == 0 && n > 0)
        y = maxY + 12;
      double busy = 0;
      for (unsigned c : chips)
        busy += plan.devices[c].commS / std::max(plan.stepS, 1e-30);
      busy /= chips.size();
      ss << llvm::formatv("<g class=\"node\"><rect x=\"{0}\" y=\"{1}\" width=\"{2}\" "
                          "height=\"{3}\" rx=\"4\" fill=\"#f7f7f7\" stroke=\"{4}\" "
                          "stroke-width=\"3\"><title>{5}: links busy {6:f0}% of the step"
                          "</title></rect>\n<text x=\"{7}\" y=\"{8}\" class=\"label\">{5}</text>\n",
                          nx, y, nodeWidth, nodeHeight, heat(busy), htmlEscape(node),
                          100 * busy, nx + 6, y + 14);
      for (auto [i, c] : llvm::enumerate(chips)) {
        const DevicePlan &d = plan.devices[c];
        double cx = nx + 8 + (i % 8) * (box + gap), cy = y + 22 + (i / 8) * (box + gap);
        if (d.idle) {
          ss << llvm::formatv("<rect class=\"device idle\" x=\"{0}\" y=\"{1}\" "
                              "width=\"{2}\" height=\"{2}\" fill=\"#ffffff\" "
                              "stroke=\"#999999\" stroke-dasharray=\"3 2\"><title>{3} "
                              "({4}): idle, left out of the plan</title></rect>\n",
                              cx, cy, box, htmlEscape(mesh.chips()[c].path),
                              htmlEscape(mesh.kindOf(c).name));
          continue;
        }
        ss << llvm::formatv("<rect class=\"device\" x=\"{0}\" y=\"{1}\" width=\"{2}\" "
                            "height=\"{2}\" fill=\"{3}\"><title>{4} ({5}): stage {6}, replica "
                            "{7}, rank {8}; compute {9}, comm {10}, idle {11}</title></rect>\n",
                            cx, cy, box, stageColor(d.stage), htmlEscape(mesh.chips()[c].path),
                            htmlEscape(mesh.kindOf(c).name), d.stage, d.replica, d.tpRank,
                            seconds(d.computeS), seconds(d.commS), seconds(d.idleS));
      }
      ss << "</g>\n";
      maxY = std::max(maxY, y + nodeHeight);
    }
    os << llvm::formatv("<svg id=\"{0}mesh-svg\" xmlns=\"http://www.w3.org/2000/svg\" "
                        "width=\"{1}\" height=\"{2}\">\n",
                        id, 10 + perRow * (nodeWidth + 12), maxY + 10)
       << shapes << "</svg>\n";
    sections.push_back({id + "mesh", "Mesh",
                        "<p>Devices coloured by pipeline stage (as in the plan table); "
                        "node borders from green to red by the share of the step its "
                        "chips spend communicating.</p>\n" + svg});
  }

  // Memory per device.
  {
    const double left = 230, width = 600, row = 16;
    std::string svg;
    llvm::raw_string_ostream os(svg);
    double maxCapacity = 1;
    for (const DevicePlan &d : plan.devices)
      maxCapacity = std::max({maxCapacity, d.capacityBytes, d.memoryBytes});
    os << llvm::formatv("<svg id=\"{0}memory-svg\" xmlns=\"http://www.w3.org/2000/svg\" "
                        "width=\"{1}\" height=\"{2}\">\n",
                        id, left + width + 120, plan.devices.size() * row + 10);
    for (auto [c, d] : llvm::enumerate(plan.devices)) {
      double y = 4 + c * row;
      double used = width * d.memoryBytes / maxCapacity;
      double cap = width * d.capacityBytes / maxCapacity;
      bool tight = d.memoryBytes > 0.9 * d.capacityBytes;
      os << llvm::formatv("<text x=\"0\" y=\"{0}\" class=\"small\">{1}</text>"
                          "<rect x=\"{2}\" y=\"{3}\" width=\"{4:f1}\" height=\"{5}\" "
                          "fill=\"none\" stroke=\"#888\"/>"
                          "<rect class=\"used\" x=\"{2}\" y=\"{3}\" width=\"{6:f1}\" height=\"{5}\" "
                          "fill=\"{7}\"><title>{1}: {8:f1} of {9:f1} GiB</title></rect>"
                          "<text x=\"{10:f1}\" y=\"{0}\" class=\"small\">{8:f1} / {9:f1} GiB</text>\n",
                          y + 11, htmlEscape(mesh.chips()[c].path), left, y, cap, row - 4,
                          used, tight ? "#e15759" : "#76b7b2", d.memoryBytes / (1u << 30),
                          d.capacityBytes / (1u << 30), left + cap + 6);
    }
    os << "</svg>\n";
    sections.push_back({id + "memory", "Memory per device", svg});
  }
  return sections;
}

HtmlSection chipmesh::paretoSection(llvm::ArrayRef<ParetoPoint> points,
                                    double targetS) {
  const double left = 80, bottom = 40, width = 700, height = 360;
  double maxPrice = 1, maxStep = targetS;
  for (const ParetoPoint &p : points) {
    maxPrice = std::max(maxPrice, p.priceUsd);
    maxStep = std::max(maxStep, p.stepS);
  }
  maxPrice *= 1.05;
  maxStep *= 1.1;
  auto x = [&](double price) { return left + width * price / maxPrice; };
  auto y = [&](double step) { return 10 + height * (1 - step / maxStep); };
  std::string svg;
  llvm::raw_string_ostream os(svg);
  os << llvm::formatv("<svg id=\"pareto-svg\" xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"{0}\" height=\"{1}\">\n",
                      left + width + 20, height + bottom + 20);
  os << llvm::formatv("<line x1=\"{0}\" y1=\"{1:f1}\" x2=\"{2}\" y2=\"{1:f1}\" stroke=\"#e15759\" "
                      "stroke-dasharray=\"6 4\"/><text x=\"{3}\" y=\"{4:f1}\" class=\"small\">"
                      "target {5}</text>\n",
                      left, y(targetS), left + width, left + width - 120, y(targetS) - 4,
                      seconds(targetS));
  std::vector<const ParetoPoint *> front;
  for (const ParetoPoint &p : points)
    if (p.onFront)
      front.push_back(&p);
  llvm::sort(front, [](const ParetoPoint *a, const ParetoPoint *b) {
    return a->priceUsd < b->priceUsd;
  });
  if (front.size() > 1) {
    os << "<polyline fill=\"none\" stroke=\"#4e79a7\" stroke-width=\"2\" points=\"";
    for (const ParetoPoint *p : front)
      os << llvm::formatv("{0:f1},{1:f1} ", x(p->priceUsd), y(p->stepS));
    os << "\"/>\n";
  }
  for (const ParetoPoint &p : points)
    os << llvm::formatv("<circle class=\"{0}\" cx=\"{1:f1}\" cy=\"{2:f1}\" r=\"{3}\" "
                        "fill=\"{4}\"><title>{5}: {6}, ${7:f0}</title></circle>\n",
                        p.winner ? "point winner" : p.onFront ? "point front" : "point",
                        x(p.priceUsd), y(p.stepS), p.winner ? 7 : 4,
                        p.winner ? "#f28e2b" : p.onFront ? "#4e79a7" : "#bab0ac",
                        htmlEscape(p.label), seconds(p.stepS), p.priceUsd);
  os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#333\"/>"
                      "<line x1=\"{0}\" y1=\"10\" x2=\"{0}\" y2=\"{1}\" stroke=\"#333\"/>\n",
                      left, 10 + height, left + width);
  for (int i = 0; i <= 4; ++i)
    os << llvm::formatv("<text x=\"{0:f1}\" y=\"{1}\" class=\"tick\">${2:f0}k</text>"
                        "<text x=\"4\" y=\"{3:f1}\" class=\"tick\">{4}</text>\n",
                        x(maxPrice * i / 4), 10 + height + 18, maxPrice * i / 4 / 1000,
                        y(maxStep * i / 4) + 4, seconds(maxStep * i / 4));
  os << "</svg>\n";
  return {"pareto", "Step time against price",
          "<p>Every partitioned mix; the line is the Pareto front, the large dot the "
          "winner, the dashed line the target.</p>\n" + svg};
}

HtmlSection chipmesh::scalingSection(llvm::ArrayRef<ScalingCurve> curves) {
  const double left = 60, width = 700, height = 320;
  int64_t maxChips = 1;
  for (const ScalingCurve &c : curves)
    for (auto [chips, e] : c.efficiency)
      maxChips = std::max(maxChips, chips);
  double logMax = std::max(1.0, std::log2(double(maxChips)));
  auto x = [&](int64_t chips) { return left + width * std::log2(double(chips)) / logMax; };
  auto y = [&](double e) { return 10 + height * (1 - std::min(e, 1.1) / 1.1); };
  std::string svg;
  llvm::raw_string_ostream os(svg);
  os << llvm::formatv("<svg id=\"scaling-svg\" xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"{0}\" height=\"{1}\">\n",
                      left + width + 160, height + 60);
  for (auto [i, c] : llvm::enumerate(curves)) {
    os << "<polyline class=\"curve\" fill=\"none\" stroke-width=\"2\" stroke=\""
       << kPalette[i % 10] << "\" points=\"";
    for (auto [chips, e] : c.efficiency)
      os << llvm::formatv("{0:f1},{1:f1} ", x(chips), y(e));
    os << "\"/>\n";
    for (auto [chips, e] : c.efficiency)
      os << llvm::formatv("<circle cx=\"{0:f1}\" cy=\"{1:f1}\" r=\"3\" fill=\"{2}\">"
                          "<title>{3}, {4} chips: efficiency {5:f3}</title></circle>\n",
                          x(chips), y(e), kPalette[i % 10], htmlEscape(c.kind), chips, e);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" class=\"label\" fill=\"{2}\">{3}</text>\n",
                        left + width + 10, 24 + 18 * i, kPalette[i % 10], htmlEscape(c.kind));
  }
  for (double e : {0.0, 0.25, 0.5, 0.75, 1.0})
    os << llvm::formatv("<text x=\"4\" y=\"{0:f1}\" class=\"tick\">{1:f2}</text>"
                        "<line x1=\"{2}\" y1=\"{0:f1}\" x2=\"{3}\" y2=\"{0:f1}\" stroke=\"#eee\"/>\n",
                        y(e), e, left, left + width);
  for (int64_t chips = 1; chips <= maxChips; chips *= 4)
    os << llvm::formatv("<text x=\"{0:f1}\" y=\"{1}\" class=\"tick\">{2}</text>\n",
                        x(chips), 10 + height + 18, chips);
  os << "</svg>\n";
  return {"scaling", "Parallel efficiency against chips",
          "<p>Throughput per chip relative to the smallest count, per chip kind "
          "(log-scale chips).</p>\n" + svg};
}

std::string chipmesh::htmlPage(llvm::StringRef title,
                               llvm::ArrayRef<HtmlSection> sections) {
  std::string page;
  llvm::raw_string_ostream os(page);
  os << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>" << htmlEscape(title) << "</title>\n<style>\n"
        "body{font-family:sans-serif;margin:20px;color:#222}"
        "h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;"
        "padding:3px 8px;font-size:13px;text-align:left}"
        ".swatch{display:inline-block;width:10px;height:10px;margin-right:5px}"
        ".label{font-size:12px}.small{font-size:10px}.tick{font-size:10px;fill:#555}"
        ".mb{font-size:9px;fill:#fff;text-anchor:middle}\n</style></head><body>\n<h1>"
     << htmlEscape(title) << "</h1>\n";
  for (const HtmlSection &s : sections)
    os << "<section id=\"" << s.id << "\"><h2>" << htmlEscape(s.title) << "</h2>\n"
       << s.body << "</section>\n";
  os << "<p class=\"small\">Written by ChipMesh; self-contained (inline SVG, no "
        "scripts, no network).</p>\n</body></html>\n";
  return page;
}
