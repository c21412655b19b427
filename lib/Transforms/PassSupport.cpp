//===- PassSupport.cpp - Option handling and formatting shared by passes --===//

#include "chipmesh/Transforms/PassSupport.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <cstdlib>

using namespace mlir;
using namespace chipmesh;

FailureOr<Mode> chipmesh::resolveModeOption(ModuleOp module, func::FuncOp func,
                                            StringRef option) {
  StringRef mode = option;
  if (mode.empty())
    if (auto attr = func->getAttrOfType<StringAttr>("chipmesh.mode"))
      mode = attr.getValue();
  if (mode.empty())
    mode = "train";
  if (std::optional<Mode> parsed = symbolizeMode(mode))
    return *parsed;
  return module.emitError()
         << "mode must be " << spellingsOf<Mode>() << ", got '" << mode << "'";
}

FailureOr<Recompute> chipmesh::resolveRecomputeOption(ModuleOp module,
                                                      StringRef option) {
  if (std::optional<Recompute> parsed = symbolizeRecompute(option))
    return *parsed;
  return module.emitError() << "recompute must be " << spellingsOf<Recompute>()
                            << ", got '" << option << "'";
}

FailureOr<Calibration> chipmesh::loadCalibrationOption(ModuleOp module,
                                                       StringRef path) {
  if (path.empty())
    return Calibration();
  llvm::Expected<Calibration> loaded = Calibration::fromFile(path);
  if (!loaded)
    return module.emitError() << llvm::toString(loaded.takeError());
  return std::move(*loaded);
}

std::vector<std::string> chipmesh::passOptionNames(mlir::Pass &pass) {
  // "name{a=1 b={x,y} c="text with spaces"}": the keys at brace depth 1.
  std::string text;
  llvm::raw_string_ostream os(text);
  pass.printAsTextualPipeline(os);
  std::vector<std::string> names;
  int depth = 0;
  bool quoted = false, inKey = false;
  std::string key;
  for (char c : text) {
    if (quoted) {
      quoted = c != '"';
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '{') {
      if (++depth == 1)
        inKey = true;
    } else if (c == '}') {
      --depth;
    } else if (depth == 1 && c == ' ') {
      inKey = true;
    } else if (depth == 1 && inKey) {
      if (c == '=') {
        names.push_back(key);
        key.clear();
        inKey = false;
      } else {
        key += c;
      }
    }
  }
  return names;
}
