//===- chipmesh-catalog.cpp - Print the chip and link catalog -------------===//

#include "chipmesh/Support/Version.h"
#include "chipmesh/Dialect/Topo/Catalog.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace chipmesh;

static llvm::cl::opt<bool> asJson("json",
                                  llvm::cl::desc("Print JSON (SI units)"));
static llvm::cl::opt<bool> withSources("sources",
                                       llvm::cl::desc("Show sources and notes"));

static std::string tera(double v) {
  return v > 0 ? llvm::formatv("{0:F1}", v / 1e12).str() : "-";
}

int main(int argc, char **argv) {
  chipmesh::addVersionPrinter("chipmesh-catalog");
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "Prints ChipMesh's built-in catalog of chips and links, each with its "
      "public sources.\nUse the ids in IR: topo.chip_kind @x catalog \"id\".\n");
  llvm::raw_ostream &os = llvm::outs();
  if (asJson) {
    llvm::json::Array chips, links;
    for (const CatalogChip &c : catalogChips()) {
      llvm::json::Object peaks;
      for (unsigned t = 0; t < kNumDTypes; ++t)
        if (c.peakFlopPerS[t] > 0)
          peaks[stringifyDType(static_cast<DType>(t))] = c.peakFlopPerS[t];
      chips.push_back(llvm::json::Object{
          {"id", c.id}, {"name", c.name}, {"vendor", c.vendor},
          {"peak_flop_per_s", std::move(peaks)},
          {"memory_bytes", c.memoryBytes},
          {"memory_bytes_per_s", c.memoryBytesPerS},
          {"scaleup_link", c.scaleupLink}, {"tdp_watts", c.tdpWatts},
          {"sources", c.sources}, {"note", c.note}});
    }
    for (const CatalogLink &l : catalogLinks())
      links.push_back(llvm::json::Object{
          {"id", l.id}, {"name", l.name}, {"technology", l.technology},
          {"bytes_per_s", l.bytesPerS}, {"latency_s", l.latencyS},
          {"sources", l.sources}, {"note", l.note}});
    os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                     {"version", 1},
                                     {"chips", std::move(chips)},
                                     {"links", std::move(links)}}))
       << "\n";
    return 0;
  }
  os << "Chips (dense TFLOP/s; memory GiB; bandwidth GB/s; TDP W)\n";
  os << llvm::formatv("{0,-22}{1,7}{2,7}{3,7}{4,7}{5,7}{6,7}{7,6}{8,7}{9,6}  {10}\n",
                      "id", "fp32", "tf32", "bf16", "fp16", "fp8", "int8",
                      "mem", "mem-bw", "tdp", "scale-up link");
  for (const CatalogChip &c : catalogChips()) {
    const auto &p = c.peakFlopPerS;
    os << llvm::formatv("{0,-22}{1,7}{2,7}{3,7}{4,7}{5,7}{6,7}{7,6}{8,7}{9,6}  {10}\n",
                        c.id, tera(p[0]), tera(p[1]), tera(p[2]), tera(p[3]),
                        tera(p[4]), tera(p[5]),
                        llvm::formatv("{0:F0}", c.memoryBytes / (1ull << 30)),
                        llvm::formatv("{0:F0}", c.memoryBytesPerS / 1e9),
                        llvm::formatv("{0:F0}", c.tdpWatts), c.scaleupLink);
    if (withSources)
      os << "    sources: " << c.sources << "\n    note: " << c.note << "\n";
  }
  os << "\nLinks (GB/s per direction; latency us)\n";
  os << llvm::formatv("{0,-20}{1,-13}{2,9}{3,9}  {4}\n", "id", "technology",
                      "GB/s", "lat-us", "name");
  for (const CatalogLink &l : catalogLinks()) {
    os << llvm::formatv("{0,-20}{1,-13}{2,9}{3,9}  {4}\n", l.id, l.technology,
                        llvm::formatv("{0:F1}", l.bytesPerS / 1e9),
                        llvm::formatv("{0:F1}", l.latencyS * 1e6), l.name);
    if (withSources)
      os << "    sources: " << l.sources << "\n    note: " << l.note << "\n";
  }
  return 0;
}
