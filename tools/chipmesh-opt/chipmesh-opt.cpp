//===- chipmesh-opt.cpp - The opt-style driver ----------------------------===//
//
// Every ChipMesh dialect and pass, plus the upstream dialects a model may
// arrive in (func, arith, tensor, linalg, tosa) or leave in (shard, and
// the linalg + mpi program of --chipmesh-lower-to-mpi).
//
//===----------------------------------------------------------------------===//

#include "chipmesh/InitAllDialects.h"
#include "chipmesh/InitAllPasses.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/Version.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include <algorithm>
#include <vector>

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  chipmesh::registerAllDialects(registry);
  chipmesh::registerAllPasses();
  chipmesh::addVersionPrinter("chipmesh-opt");
  // A failing op's diagnostic does not dump the whole module in generic
  // form unless asked for (--mlir-print-op-on-diagnostic; a later flag on
  // the command line wins).
  std::vector<char *> args(argv, argv + argc);
  static char quiet[] = "--mlir-print-op-on-diagnostic=false";
  args.insert(args.begin() + std::min(argc, 1), quiet);
  argc = static_cast<int>(args.size());
  argv = args.data();
  // Reports and other files the passes write appear only when the whole
  // pipeline succeeds (a later pass's failure leaves none behind).
  chipmesh::OutputTransaction outputs;
  mlir::LogicalResult result =
      mlir::MlirOptMain(argc, argv, "ChipMesh optimizer driver\n", registry);
  if (mlir::failed(result))
    return 1; // the transaction discards the outputs
  std::string error;
  if (!outputs.commit(&error)) {
    llvm::errs() << "chipmesh-opt: error: " << error << "\n";
    return 1;
  }
  return 0;
}
