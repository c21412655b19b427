//===- TestUtils.h - Shared helpers for ChipMesh unit tests -----*- C++ -*-===//
#ifndef CHIPMESH_UNITTESTS_TESTUTILS_H
#define CHIPMESH_UNITTESTS_TESTUTILS_H

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include <gtest/gtest.h>
#include <string>

namespace chipmesh::test {

/// A context with every ChipMesh dialect, and a parser for snippets.
class IRTest : public ::testing::Test {
protected:
  IRTest() {
    context.loadDialect<graph::GraphDialect, topo::TopoDialect,
                        mlir::func::FuncDialect>();
  }
  mlir::OwningOpRef<mlir::ModuleOp> parse(llvm::StringRef source) {
    auto module = mlir::parseSourceString<mlir::ModuleOp>(source, &context);
    EXPECT_TRUE(module) << "failed to parse:\n" << source.str();
    return module;
  }
  /// The first op of type OpTy in `module`.
  template <typename OpTy> OpTy first(mlir::ModuleOp module) {
    OpTy found;
    module.walk([&](OpTy op) {
      if (!found)
        found = op;
    });
    EXPECT_TRUE(found) << "no " << OpTy::getOperationName().str();
    return found;
  }
  mlir::MLIRContext context;
};


/// Korthikanti et al. 2022, "Reducing Activation Recomputation in Large
/// Transformer Models", sec. 4.1: one GPT layer (16-bit, dropout, no tensor
/// or sequence parallelism) on s x b x h with a heads. `repeat` 0 gives the
/// bare layer as the function body; N wraps it in `graph.layer repeat N`.
inline std::string korthikantiGptLayers(int64_t s, int64_t b, int64_t h,
                                        int64_t a, unsigned repeat) {
  std::string body = R"(
      %g1 = graph.param "ln1.w" : tensor<$Hxf16>
      %b1 = graph.param "ln1.b" : tensor<$Hxf16>
      %n1 = graph.layer_norm %in, %g1, %b1 : tensor<$Bx$Sx$Hxf16>, tensor<$Hxf16>, tensor<$Hxf16>
      %wqkv = graph.param "qkv" : tensor<$Hx$Qxf16>
      %qkv = graph.linear %n1, %wqkv : tensor<$Bx$Sx$Hxf16>, tensor<$Hx$Qxf16>
      %q, %k, %v = graph.split %qkv {axis = 2 : i64, sizes = array<i64: $H, $H, $H>} : tensor<$Bx$Sx$Qxf16>
      %q4 = graph.reshape %q : tensor<$Bx$Sx$Hxf16> -> tensor<$Bx$Sx$Ax$Dxf16>
      %k4 = graph.reshape %k : tensor<$Bx$Sx$Hxf16> -> tensor<$Bx$Sx$Ax$Dxf16>
      %v4 = graph.reshape %v : tensor<$Bx$Sx$Hxf16> -> tensor<$Bx$Sx$Ax$Dxf16>
      %att = graph.attention %q4, %k4, %v4 {causal, dropout = 0.1 : f64} : tensor<$Bx$Sx$Ax$Dxf16>, tensor<$Bx$Sx$Ax$Dxf16>, tensor<$Bx$Sx$Ax$Dxf16>
      %att3 = graph.reshape %att : tensor<$Bx$Sx$Ax$Dxf16> -> tensor<$Bx$Sx$Hxf16>
      %wo = graph.param "proj" : tensor<$Hx$Hxf16>
      %o = graph.linear %att3, %wo : tensor<$Bx$Sx$Hxf16>, tensor<$Hx$Hxf16>
      %od = graph.dropout %o {rate = 0.1 : f64} : tensor<$Bx$Sx$Hxf16>
      %r1 = graph.add %in, %od : tensor<$Bx$Sx$Hxf16>, tensor<$Bx$Sx$Hxf16>
      %g2 = graph.param "ln2.w" : tensor<$Hxf16>
      %b2 = graph.param "ln2.b" : tensor<$Hxf16>
      %n2 = graph.layer_norm %r1, %g2, %b2 : tensor<$Bx$Sx$Hxf16>, tensor<$Hxf16>, tensor<$Hxf16>
      %w1 = graph.param "fc1" : tensor<$Hx$Fxf16>
      %f1 = graph.linear %n2, %w1 : tensor<$Bx$Sx$Hxf16>, tensor<$Hx$Fxf16>
      %ge = graph.gelu %f1 : tensor<$Bx$Sx$Fxf16>
      %w2 = graph.param "fc2" : tensor<$Fx$Hxf16>
      %f2 = graph.linear %ge, %w2 : tensor<$Bx$Sx$Fxf16>, tensor<$Fx$Hxf16>
      %fd = graph.dropout %f2 {rate = 0.1 : f64} : tensor<$Bx$Sx$Hxf16>
      %r2 = graph.add %r1, %fd : tensor<$Bx$Sx$Hxf16>, tensor<$Bx$Sx$Hxf16>
)";
  std::string ir;
  if (repeat == 0)
    ir = "func.func @gpt(%in: tensor<$Bx$Sx$Hxf16>) -> tensor<$Bx$Sx$Hxf16> {" +
         body + "  return %r2 : tensor<$Bx$Sx$Hxf16>\n}";
  else
    ir = "func.func @gpt(%x: tensor<$Bx$Sx$Hxf16>) -> tensor<$Bx$Sx$Hxf16> {\n"
         "  %out = graph.layer \"h\" repeat " + std::to_string(repeat) +
         " (%x) : (tensor<$Bx$Sx$Hxf16>) -> tensor<$Bx$Sx$Hxf16> {\n"
         "  ^bb0(%in: tensor<$Bx$Sx$Hxf16>):" +
         body + "  graph.yield %r2 : tensor<$Bx$Sx$Hxf16>\n  }\n"
         "  return %out : tensor<$Bx$Sx$Hxf16>\n}";
  const std::pair<const char *, int64_t> values[] = {
      {"$S", s}, {"$B", b}, {"$H", h}, {"$A", a}, {"$D", h / a},
      {"$Q", 3 * h}, {"$F", 4 * h}};
  for (auto [key, value] : values)
    for (size_t at = ir.find(key); at != std::string::npos; at = ir.find(key))
      ir.replace(at, 2, std::to_string(value));
  return ir;
}

} // namespace chipmesh::test

#endif // CHIPMESH_UNITTESTS_TESTUTILS_H
