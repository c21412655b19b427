//===- Units.h - The unit constants every library uses ----------*- C++ -*-===//
//
// ChipMesh computes in SI base units (seconds, bytes, FLOP/s, bytes/s);
// catalogs, reports and options speak GiB, TB/s and microseconds. These are
// the only spellings of those factors, and the one way quantities are
// rounded and printed.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_SUPPORT_UNITS_H
#define CHIPMESH_SUPPORT_UNITS_H

#include <limits>
#include <string>

namespace chipmesh::units {

constexpr double kGiB =
    1024.0 * 1024.0 * 1024.0;   ///< bytes (binary: memory sizes)
constexpr double kGiga = 1e9;   ///< decimal: GB/s, GFLOP/s
constexpr double kTera = 1e12;  ///< decimal: TFLOP/s, TB/s
constexpr double kMicro = 1e-6; ///< microseconds to seconds
constexpr double kInf = std::numeric_limits<double>::infinity();

} // namespace chipmesh::units

namespace chipmesh {

/// "1.23 s", "4.56 ms", "7.8 us".
std::string formatSeconds(double seconds);
/// A count held in a double: "8" rather than "8.00", else with decimals.
std::string formatCount(double value);
/// Six significant digits: stable, readable figures in attributes and
/// reports (an exact double prints as hex in MLIR).
double roundToSixDigits(double value);

} // namespace chipmesh

#endif // CHIPMESH_SUPPORT_UNITS_H
