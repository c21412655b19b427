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

} // namespace chipmesh::test

#endif // CHIPMESH_UNITTESTS_TESTUTILS_H
