//===- ModelSummary.h - Parameters, FLOPs and activations of a model -*- C++ -*-===//
#ifndef CHIPMESH_ANALYSIS_MODELSUMMARY_H
#define CHIPMESH_ANALYSIS_MODELSUMMARY_H

#include "chipmesh/Interfaces/CostInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

namespace chipmesh {

struct ModelSummary {
  std::string func;
  CostTotals totals;
  uint64_t layers = 0; ///< layer repetitions, nested layers included
};

/// The function named `name`, or if `name` is empty the only function that
/// holds graph ops, refusing one whose costed ops have dynamic shapes (they
/// would be priced at zero). Emits a located error and fails otherwise.
mlir::FailureOr<mlir::func::FuncOp> findModelFunction(mlir::ModuleOp module,
                                                      llvm::StringRef name);
/// The same lookup without the shape check.
mlir::FailureOr<mlir::func::FuncOp> findModelFunctionByName(mlir::ModuleOp module,
                                                            llvm::StringRef name);

ModelSummary summarizeModel(mlir::func::FuncOp func);

/// Stable keys: parameters, parameter_bytes, forward_flops, backward_flops,
/// training_flops, activation_bytes_saved, layers, ops, func.
llvm::json::Value toJSON(const ModelSummary &summary);

} // namespace chipmesh

#endif // CHIPMESH_ANALYSIS_MODELSUMMARY_H
