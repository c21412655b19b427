//===- SupportTest.cpp - JSON reading and writing, apportioning -----------===//

#include "chipmesh/Support/Apportion.h"
#include "chipmesh/Support/JSON.h"
#include "llvm/Support/FormatVariadic.h"
#include "gtest/gtest.h"
#include <cmath>
#include <limits>
#include <string>

using namespace chipmesh;

TEST(SupportJSON, NestingDepthSkipsStrings) {
  EXPECT_EQ(jsonNestingDepth("1"), 0u);
  EXPECT_EQ(jsonNestingDepth("[[1], {\"a\": [2]}]"), 3u);
  // Brackets inside strings (escaped quotes included) do not nest.
  EXPECT_EQ(jsonNestingDepth(R"({"a": "[[[[\"[[["})"), 1u);
}

TEST(SupportJSON, DeepInputIsRefusedWithoutRecursing) {
  // 200,000 levels would overflow llvm::json::parse's recursion.
  std::string deep = std::string(200000, '[') + std::string(200000, ']');
  llvm::Expected<llvm::json::Value> parsed = parseBoundedJSON(deep);
  ASSERT_FALSE(static_cast<bool>(parsed));
  EXPECT_EQ(llvm::toString(parsed.takeError()),
            "nests 200000 levels deep; at most 64 are read");
  std::string ok = std::string(64, '[') + std::string(64, ']');
  llvm::Expected<llvm::json::Value> fine = parseBoundedJSON(ok);
  EXPECT_TRUE(static_cast<bool>(fine));
  if (!fine)
    llvm::consumeError(fine.takeError());
}

TEST(SupportJSON, NonFiniteNumbersBecomeNull) {
  double inf = std::numeric_limits<double>::infinity();
  llvm::json::Value value = llvm::json::Object{
      {"a", inf},
      {"b", llvm::json::Array{1.5, -inf, std::nan(""), llvm::json::Object{{"c", inf}}}},
      {"d", 2},
  };
  std::string text = llvm::formatv("{0}", finiteJSON(std::move(value))).str();
  EXPECT_EQ(text, R"({"a":null,"b":[1.5,null,null,{"c":null}],"d":2})");
  // And what it prints parses back.
  llvm::Expected<llvm::json::Value> back = llvm::json::parse(text);
  EXPECT_TRUE(static_cast<bool>(back));
  if (!back)
    llvm::consumeError(back.takeError());
}

using Parts = std::vector<uint64_t>;

TEST(SupportApportion, OneRuleForMicroBatchesAndFeatures) {
  // Quotas 1, 1, 8: exact, so no remainder moves (the partitioner's old
  // rule gave one each first and split the other 7: [2, 2, 6]).
  EXPECT_EQ(*apportionLargestRemainder(10, {1, 1, 8}), Parts({1, 1, 8}));
  // Quotas 3.33 each: floors 3, 3, 3; the one left goes to the lowest
  // index among equal remainders.
  EXPECT_EQ(*apportionLargestRemainder(10, {1, 1, 1}), Parts({4, 3, 3}));
  // Quotas 7.5, 2.5: floors 7, 2; remainders tie, the lower index wins.
  EXPECT_EQ(*apportionLargestRemainder(10, {3, 1}), Parts({8, 2}));
  // Quotas 2.97, 0.03: floors 2 and (lifted to the minimum) 1 already
  // sum to 3.
  EXPECT_EQ(*apportionLargestRemainder(3, {99, 1}), Parts({2, 1}));
  // Quotas 4.9, 0.05, 0.05: floors 4, 1, 1 overshoot by one; only the
  // first may give a part without dropping below one: [3, 1, 1].
  EXPECT_EQ(*apportionLargestRemainder(5, {0.98, 0.01, 0.01}),
            Parts({3, 1, 1}));
}

TEST(SupportApportion, RefusesFewerUnitsThanMembersAndStaysExactWhenLarge) {
  EXPECT_FALSE(apportionLargestRemainder(2, {1, 1, 1}));
  EXPECT_FALSE(apportionLargestRemainder(0, {}));
  EXPECT_EQ(*apportionLargestRemainder(3, {1, 1, 1}), Parts({1, 1, 1}));
  // 2^40 split 1:3 is exact in doubles and sums to the total.
  uint64_t big = uint64_t(1) << 40;
  EXPECT_EQ(*apportionLargestRemainder(big, {1, 3}),
            Parts({big / 4, 3 * (big / 4)}));
  // 4,096 members, one unit each plus one: the extra goes to index 0.
  std::vector<double> even(4096, 1.0);
  auto parts = *apportionLargestRemainder(4097, even);
  EXPECT_EQ(parts[0], 2u);
  EXPECT_EQ(parts[4095], 1u);
}
