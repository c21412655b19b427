//===- CatalogTest.cpp - The built-in chip and link catalog ---------------===//

#include "chipmesh/Dialect/Topo/Catalog.h"
#include <gtest/gtest.h>

using namespace chipmesh;

TEST(Catalog, HoldsTheChipsTheProjectPromises) {
  for (const char *id :
       {"h100-sxm", "h100-pcie", "h800-sxm", "h20", "a100-sxm-80gb",
        "a800-sxm-80gb", "l40s", "v100-sxm2-32gb", "rtx-4090", "ascend-910",
        "ascend-910b", "mtt-s4000", "mi300x", "gaudi2"})
    EXPECT_NE(lookupCatalogChip(id), nullptr) << id;
  EXPECT_GE(catalogChips().size(), 16u);
  for (const char *id :
       {"nvlink3", "nvlink4", "pcie4-x16", "pcie5-x16", "hccs", "hccs-910b",
        "infiniband-hdr", "infiniband-ndr", "roce-100g", "roce-200g",
        "roce-400g", "ethernet-25g", "ethernet-100g", "host-bridge-pcie4"})
    EXPECT_NE(lookupCatalogLink(id), nullptr) << id;
}

TEST(Catalog, ConvertsVendorUnitsToSI) {
  const CatalogChip *h100 = lookupCatalogChip("h100-sxm");
  ASSERT_NE(h100, nullptr);
  // chips.tsv: 989.4 dense BF16 TFLOP/s, 80 GiB, 3350 GB/s, 700 W.
  EXPECT_DOUBLE_EQ(h100->peakFlopPerS[unsigned(DType::BF16)], 989.4e12);
  EXPECT_DOUBLE_EQ(h100->memoryBytes, 80.0 * 1024 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(h100->memoryBytesPerS, 3350e9);
  EXPECT_DOUBLE_EQ(h100->tdpWatts, 700);
  // links.tsv: NVLink 4 is 450 GB/s per direction, 1.8-2.6 us -> 2.2 us.
  const CatalogLink *nvl = lookupCatalogLink("nvlink4");
  ASSERT_NE(nvl, nullptr);
  EXPECT_DOUBLE_EQ(nvl->bytesPerS, 450e9);
  EXPECT_NEAR(nvl->latencyS, 2.2e-6, 1e-15);
}

TEST(Catalog, EmptyCellsMeanNoFastPath) {
  // V100 has no BF16 and A100 no FP8 tensor-core path.
  EXPECT_EQ(lookupCatalogChip("v100-sxm2-32gb")->peakFlopPerS[unsigned(DType::BF16)], 0);
  EXPECT_EQ(lookupCatalogChip("a100-sxm-80gb")->peakFlopPerS[unsigned(DType::FP8)], 0);
  EXPECT_DOUBLE_EQ(lookupCatalogChip("v100-sxm2-32gb")->peakFlopPerS[unsigned(DType::FP16)], 125e12);
}

TEST(Catalog, EveryEntryIsSourcedAndPositive) {
  for (const CatalogChip &chip : catalogChips()) {
    EXPECT_FALSE(chip.sources.empty()) << chip.id.str();
    EXPECT_GT(chip.memoryBytes, 0) << chip.id.str();
    EXPECT_GT(chip.memoryBytesPerS, 0) << chip.id.str();
    EXPECT_GT(chip.tdpWatts, 0) << chip.id.str();
    EXPECT_NE(lookupCatalogLink(chip.scaleupLink), nullptr)
        << chip.id.str() << " names unknown link " << chip.scaleupLink.str();
  }
  for (const CatalogLink &link : catalogLinks()) {
    EXPECT_FALSE(link.sources.empty()) << link.id.str();
    EXPECT_GT(link.bytesPerS, 0) << link.id.str();
    EXPECT_GT(link.latencyS, 0) << link.id.str();
  }
}

TEST(Catalog, DTypeNamesRoundTrip) {
  for (unsigned t = 0; t < kNumDTypes; ++t)
    EXPECT_EQ(symbolizeDType(stringifyDType(DType(t))), DType(t));
  EXPECT_FALSE(symbolizeDType("fp64"));
}
