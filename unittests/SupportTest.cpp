//===- SupportTest.cpp - Bounded JSON reading, finite JSON writing --------===//

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
