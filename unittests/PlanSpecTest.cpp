//===- PlanSpecTest.cpp - Share rounding, by hand ------------------------===//

#include "chipmesh/Materialize/PlanSpec.h"
#include <gtest/gtest.h>

using namespace chipmesh;

namespace {

using Sizes = llvm::SmallVector<int64_t>;

TEST(ApportionShares, ProportionalWholeGranules) {
  // 16 columns at 3:1 -> 12 and 4.
  EXPECT_EQ(*apportionShares(16, 1, {0.75, 0.25}), Sizes({12, 4}));
  // 32 columns at 0.639:0.361 -> quotas 20.45 and 11.55; remainders give
  // the last column to the second member: 20 and 12.
  EXPECT_EQ(*apportionShares(32, 1, {0.639097, 0.360903}), Sizes({20, 12}));
  // Granules of 64 (a head): 8 heads at 3:1 -> 6 and 2 heads.
  EXPECT_EQ(*apportionShares(512, 64, {0.75, 0.25}), Sizes({384, 128}));
  // Shares need not sum to 1.
  EXPECT_EQ(*apportionShares(10, 1, {2, 2, 1}), Sizes({4, 4, 2}));
}

TEST(ApportionShares, EveryMemberGetsOne) {
  // 5 columns at 0.9:0.05:0.05 -> quotas 4.5, 0.25, 0.25; at least one each,
  // taken from the largest: 3, 1, 1.
  EXPECT_EQ(*apportionShares(5, 1, {0.9, 0.05, 0.05}), Sizes({3, 1, 1}));
}

TEST(ApportionShares, TiesGoToTheLowerRank) {
  // 3 columns at equal shares of 2: quotas 1.5 each; the odd one to rank 0.
  EXPECT_EQ(*apportionShares(3, 1, {0.5, 0.5}), Sizes({2, 1}));
}

TEST(ApportionShares, RefusesWhatCannotBeSplit) {
  EXPECT_FALSE(apportionShares(1, 1, {0.5, 0.5}));     // fewer granules than members
  EXPECT_FALSE(apportionShares(100, 64, {0.5, 0.5}));  // granule does not divide
  EXPECT_FALSE(apportionShares(8, 0, {1.0}));
  EXPECT_FALSE(apportionShares(8, 1, {}));
}

} // namespace
