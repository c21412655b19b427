//===- PassSupport.h - Option handling and formatting shared by passes -*- C++ -*-===//
#ifndef CHIPMESH_TRANSFORMS_PASSSUPPORT_H
#define CHIPMESH_TRANSFORMS_PASSSUPPORT_H

#include "chipmesh/CostModel/ModelCost.h"
#include "chipmesh/Support/Units.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include <string>
#include <vector>

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

/// The option names `pass` takes, as its textual pipeline form lists them
/// (alphabetically; the one place MLIR lists them).
std::vector<std::string> passOptionNames(mlir::Pass &pass);

/// A ChipMesh pass whose option errors also list the options it takes
/// ("no such option bogus; chipmesh-partition takes: mesh, batch, ...").
/// Wraps the ODS-generated base: `struct P : ListsOptionsOnError<impl::PBase<P>>`.
template <typename Base>
class ListsOptionsOnError : public Base {
public:
  using Base::Base;
  mlir::LogicalResult initializeOptions(
      llvm::StringRef options,
      llvm::function_ref<mlir::LogicalResult(const llvm::Twine &)> errorHandler) override {
    return Base::initializeOptions(options, [&](const llvm::Twine &message) {
      std::string list;
      for (const std::string &name : passOptionNames(*this))
        list += (list.empty() ? "" : ", ") + name;
      std::string text = llvm::StringRef(message.str()).rtrim().str();
      // A value llvm::cl rejects is reported on the line before, by it.
      if (text.empty())
        return errorHandler("invalid value for an option of " + this->getArgument() +
                            " (the message above names it)");
      return errorHandler(text + "; " + this->getArgument() +
                          (list.empty() ? " takes no options" : " takes: " + list));
    });
  }
};

} // namespace chipmesh

#endif // CHIPMESH_TRANSFORMS_PASSSUPPORT_H
