//===- Units.h - The unit constants every library uses ----------*- C++ -*-===//
//
// ChipMesh computes in SI base units (seconds, bytes, FLOP/s, bytes/s);
// catalogs, reports and options speak GiB, TB/s and microseconds. These are
// the only spellings of those factors.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_SUPPORT_UNITS_H
#define CHIPMESH_SUPPORT_UNITS_H

#include <limits>

namespace chipmesh::units {

constexpr double kGiB =
    1024.0 * 1024.0 * 1024.0;   ///< bytes (binary: memory sizes)
constexpr double kGiga = 1e9;   ///< decimal: GB/s, GFLOP/s
constexpr double kTera = 1e12;  ///< decimal: TFLOP/s, TB/s
constexpr double kMicro = 1e-6; ///< microseconds to seconds
constexpr double kInf = std::numeric_limits<double>::infinity();

} // namespace chipmesh::units

#endif // CHIPMESH_SUPPORT_UNITS_H
