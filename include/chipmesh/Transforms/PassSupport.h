//===- PassSupport.h - Option handling and formatting shared by passes -*- C++ -*-===//
#ifndef CHIPMESH_TRANSFORMS_PASSSUPPORT_H
#define CHIPMESH_TRANSFORMS_PASSSUPPORT_H

#include "chipmesh/CostModel/ModelCost.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace chipmesh {

/// `option`, else the function's `chipmesh.mode`, else train; a located
/// error on anything else.
mlir::FailureOr<Mode> resolveModeOption(mlir::ModuleOp module,
                                        mlir::func::FuncOp func,
                                        llvm::StringRef option);
mlir::FailureOr<Recompute> resolveRecomputeOption(mlir::ModuleOp module,
                                                  llvm::StringRef option);
/// Both workload options of a pass into `options` (CostOptions or
/// PartitionOptions: anything with `mode` and `recompute`).
template <typename Options>
mlir::LogicalResult resolveWorkloadOptions(mlir::ModuleOp module,
                                           mlir::func::FuncOp func,
                                           llvm::StringRef modeName,
                                           llvm::StringRef recomputeName,
                                           Options &options) {
  mlir::FailureOr<Mode> mode = resolveModeOption(module, func, modeName);
  if (mlir::failed(mode))
    return mlir::failure();
  mlir::FailureOr<Recompute> recompute =
      resolveRecomputeOption(module, recomputeName);
  if (mlir::failed(recompute))
    return mlir::failure();
  options.mode = *mode;
  options.recompute = *recompute;
  return mlir::success();
}
/// The built-in defaults, overridden by `path` when it is not empty.
mlir::FailureOr<Calibration> loadCalibrationOption(mlir::ModuleOp module,
                                                   llvm::StringRef path);

/// "1.23 s", "4.56 ms", "7.8 us".
std::string formatSeconds(double seconds);
/// A count held in a double: "8" rather than "8.00", else with decimals.
std::string formatCount(double value);
/// Six significant digits: stable, readable figures in attributes and
/// reports (an exact double prints as hex in MLIR).
double roundToSixDigits(double value);

} // namespace chipmesh

#endif // CHIPMESH_TRANSFORMS_PASSSUPPORT_H
