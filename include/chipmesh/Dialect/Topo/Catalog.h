//===- Catalog.h - Built-in catalog of real chips and links -----*- C++ -*-===//
//
// The data lives in Catalog.def (one source of truth, each entry with its
// public sources); this header gives it SI units.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_DIALECT_TOPO_CATALOG_H
#define CHIPMESH_DIALECT_TOPO_CATALOG_H

#include "chipmesh/Support/Enums.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include <array>
#include <optional>
#include <string>

namespace chipmesh {

/// Data types a chip may have a dense fast path for (DType, Enums.td).
constexpr unsigned kNumDTypes = getMaxEnumValForDType() + 1;

struct CatalogChip {
  llvm::StringRef id, name, vendor;
  /// Dense peak per DType in FLOP/s (op/s for INT8); 0 = no fast path.
  std::array<double, kNumDTypes> peakFlopPerS;
  double memoryBytes;        ///< bytes (marketed GiB x 2^30)
  double memoryBytesPerS;    ///< bytes/s
  llvm::StringRef scaleupLink; ///< catalog link id of its scale-up fabric
  double tdpWatts;
  llvm::StringRef sources, note;
};

struct CatalogLink {
  llvm::StringRef id, name;
  llvm::StringRef technology; ///< matches topo::LinkTechnology names
  double bytesPerS;           ///< per direction
  double latencyS;            ///< small-message latency of one traversal
  llvm::StringRef sources, note;
};

llvm::ArrayRef<CatalogChip> catalogChips();
llvm::ArrayRef<CatalogLink> catalogLinks();
const CatalogChip *lookupCatalogChip(llvm::StringRef id);
const CatalogLink *lookupCatalogLink(llvm::StringRef id);

/// Comma-separated ids, for "expected one of ..." diagnostics.
std::string catalogChipIds();
std::string catalogLinkIds();

} // namespace chipmesh

#endif // CHIPMESH_DIALECT_TOPO_CATALOG_H
