//===- Apportion.h - Whole parts in proportion to weights -------*- C++ -*-===//
//
// The one rule by which ChipMesh splits a whole number over members in
// proportion to weights: micro-batches over data-parallel replicas (the
// partitioner), features over a tensor group (materialization, the torch
// runtime, shard export). Hamilton's largest-remainder method with a floor
// of one part per member: each member gets floor(quota), raised to 1 where
// the quota is below 1; parts still missing go to the largest fractional
// remainders, parts in excess (from the floor of one) come off the members
// closest above their quota; ties go to the lower index, so the result is
// deterministic. 10 split 1:1:8 is [1, 1, 8].
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_SUPPORT_APPORTION_H
#define CHIPMESH_SUPPORT_APPORTION_H

#include "llvm/ADT/ArrayRef.h"
#include <cstdint>
#include <optional>
#include <vector>

namespace chipmesh {

/// Splits `total` into `weights.size()` parts of at least one, in
/// proportion to `weights` (positive, finite). Fails when there are fewer
/// units than members. O(n log n).
std::optional<std::vector<uint64_t>>
apportionLargestRemainder(uint64_t total, llvm::ArrayRef<double> weights);

} // namespace chipmesh

#endif // CHIPMESH_SUPPORT_APPORTION_H
