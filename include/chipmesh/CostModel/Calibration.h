//===- Calibration.h - Efficiencies and overheads per chip and link -*- C++ -*-===//
//
// The catalog says what a chip or link is rated at; a calibration says how
// much of that real software reaches. Defaults are sourced per catalog id
// (see docs/cost-model.md); a JSON file overrides any field per chip or link
// kind, so a user with measurements plugs them in without recompiling.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_COSTMODEL_CALIBRATION_H
#define CHIPMESH_COSTMODEL_CALIBRATION_H

#include "chipmesh/Dialect/Topo/MeshView.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include <string>

namespace chipmesh {

/// How much of a chip's rated throughput kernels reach.
struct ChipCalibration {
  /// Best fraction of the dense tensor peak a large GEMM reaches (the
  /// "maximum achievable matmul FLOPS" divided by the datasheet peak).
  double matmulEfficiency = 0;
  /// Best fraction of the tensor peak a fused (flash) attention kernel
  /// reaches, forward and backward.
  double attentionForwardEfficiency = 0;
  double attentionBackwardEfficiency = 0;
  /// Fraction of the rated memory bandwidth a streaming kernel reaches.
  double memoryEfficiency = 0;
  /// Fixed cost of one kernel (launch plus tail), seconds.
  double kernelOverheadS = 0;
  /// Parallel compute units (SMs, AI cores, CUs): one output tile each per
  /// wave, which is what makes small or odd GEMMs slower than peak.
  unsigned computeUnits = 0;
  /// Output tile of one unit (M x N) and the K depth a tile needs to hide
  /// its prologue and epilogue.
  unsigned tileM = 0, tileN = 0, tileK = 0;
  /// Memory the runtime keeps for itself (context, communication buffers,
  /// allocator slack), bytes.
  double reservedBytes = 0;
  /// Where the numbers come from (catalog id or "calibration file").
  std::string source;
};

/// How much of a link's rated bandwidth collectives reach.
struct LinkCalibration {
  /// Achieved bus bandwidth / rated per-direction bandwidth.
  double bandwidthEfficiency = 0;
  /// Latency one step of a collective pays per traversal of this link
  /// (the library's protocol on top of the wire), seconds. Point-to-point
  /// transfers use the link's own (measured, driver-level) latency.
  double stepLatencyS = 0;
  std::string source;
};

class Calibration {
public:
  /// Built-in defaults only.
  Calibration() = default;

  /// Parses a calibration file on top of the defaults. Keys: "chips" and
  /// "links", objects keyed by catalog id or mesh kind name, each holding
  /// the snake_case fields of ChipCalibration / LinkCalibration. Unknown
  /// keys and out-of-range values are errors (a typo must not be ignored).
  static llvm::Expected<Calibration> fromJSON(llvm::StringRef text);
  static llvm::Expected<Calibration> fromFile(llvm::StringRef path);

  /// Defaults for the chip's catalog id (or generic ones), then overrides
  /// for its catalog id, then for its kind name.
  ChipCalibration chip(const ChipKindSpec &kind) const;
  LinkCalibration link(const LinkKindSpec &kind) const;

  /// The built-in defaults (for documentation and tests).
  static ChipCalibration defaultChip(llvm::StringRef catalogId);
  static LinkCalibration defaultLink(llvm::StringRef catalogId,
                                     topo::LinkTechnology technology);

private:
  llvm::StringMap<llvm::json::Object> chipOverrides, linkOverrides;
};

} // namespace chipmesh

#endif // CHIPMESH_COSTMODEL_CALIBRATION_H
