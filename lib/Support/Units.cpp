//===- Units.cpp - Quantities rounded and printed one way -----------------===//

#include "chipmesh/Support/Units.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <cstdlib>

std::string chipmesh::formatSeconds(double s) {
  if (s >= 1)
    return llvm::formatv("{0:F2} s", s).str();
  if (s >= 1e-3)
    return llvm::formatv("{0:F2} ms", s * 1e3).str();
  return llvm::formatv("{0:F1} us", s * 1e6).str();
}

double chipmesh::roundToSixDigits(double value) {
  if (value == 0 || !std::isfinite(value))
    return value;
  return std::strtod(llvm::formatv("{0:e5}", value).str().c_str(), nullptr);
}

std::string chipmesh::formatCount(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<int64_t>(value));
  return llvm::formatv("{0:F2}", value).str();
}
