//===- PlanReport.h - A found plan as a JSON report and a table -*- C++ -*-===//
//
// What `--chipmesh-partition` writes beside the plan (report=FILE.json,
// table): the plan, every device's figures, the bound, the search's
// counts, and the mesh against one reference chip at the same batch.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_PARTITION_PLANREPORT_H
#define CHIPMESH_PARTITION_PLANREPORT_H

#include "chipmesh/CostModel/Calibration.h"
#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Partition/Partitioner.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"
#include <string>

namespace chipmesh {

class PlanReport {
public:
  /// `reference`: the chip the mesh is compared with, priced alone on the
  /// same global batch under `calibration`.
  PlanReport(llvm::StringRef funcName, llvm::StringRef meshName,
             const PartitionResult &result, const MeshView &view,
             const PartitionOptions &options, const CatalogChip &reference,
             const Calibration &calibration);

  /// The JSON report (docs/partitioner.md lists its fields).
  llvm::json::Value json() const;
  /// The plan table: stages, devices (summarised per stage and kind on
  /// large meshes), idle chips, step, bound, reference, search.
  void printTable(llvm::raw_ostream &os) const;

private:
  std::string funcName, meshName, referenceName;
  const PartitionResult &result;
  const Plan &plan;
  const MeshView &view;
  const PartitionOptions &options;
  ChipEstimate ref;
  double equivalent = 0, samplesPerS = 0, tokensPerS = 0, ratio = 0;
  /// Recomputation chosen per stage (each stage reports its own).
  bool perStage = false;
};

} // namespace chipmesh

#endif // CHIPMESH_PARTITION_PLANREPORT_H
