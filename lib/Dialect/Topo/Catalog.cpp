//===- Catalog.cpp - Built-in catalog of real chips and links -------------===//

#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Support/Units.h"
#include "llvm/ADT/StringSwitch.h"

using namespace chipmesh;

namespace {
using namespace chipmesh::units;

// The catalog stores vendor units (TFLOP/s, GiB, GB/s, us); convert once.
const CatalogChip kChips[] = {
#define CHIPMESH_CHIP(ID, NAME, VENDOR, FP32, TF32, BF16, FP16, FP8, INT8,     \
                      MEM_GIB, MEM_BW_GBPS, LINK, TDP, SOURCES, NOTE)          \
  {ID,                                                                         \
   NAME,                                                                       \
   VENDOR,                                                                     \
   {FP32 * kTera, TF32 * kTera, BF16 * kTera, FP16 * kTera, FP8 * kTera,       \
    INT8 * kTera},                                                             \
   MEM_GIB * kGiB,                                                             \
   MEM_BW_GBPS * kGiga,                                                        \
   LINK,                                                                       \
   TDP,                                                                        \
   SOURCES,                                                                    \
   NOTE},
#include "chipmesh/Dialect/Topo/Catalog.def"
};

const CatalogLink kLinks[] = {
#define CHIPMESH_LINK(ID, NAME, TECH, BW_GBPS, LAT_US, SOURCES, NOTE)          \
  {ID, NAME, TECH, BW_GBPS * kGiga, LAT_US * kMicro, SOURCES, NOTE},
#include "chipmesh/Dialect/Topo/Catalog.def"
};

template <typename T> std::string joinIds(llvm::ArrayRef<T> entries) {
  std::string out;
  for (const T &entry : entries) {
    if (!out.empty())
      out += ", ";
    out += entry.id.str();
  }
  return out;
}
} // namespace

llvm::ArrayRef<CatalogChip> chipmesh::catalogChips() { return kChips; }
llvm::ArrayRef<CatalogLink> chipmesh::catalogLinks() { return kLinks; }

const CatalogChip *chipmesh::lookupCatalogChip(llvm::StringRef id) {
  for (const CatalogChip &chip : kChips)
    if (chip.id == id)
      return &chip;
  return nullptr;
}

const CatalogLink *chipmesh::lookupCatalogLink(llvm::StringRef id) {
  for (const CatalogLink &link : kLinks)
    if (link.id == id)
      return &link;
  return nullptr;
}

std::string chipmesh::catalogChipIds() {
  return joinIds(llvm::ArrayRef<CatalogChip>(kChips));
}
std::string chipmesh::catalogLinkIds() {
  return joinIds(llvm::ArrayRef<CatalogLink>(kLinks));
}
