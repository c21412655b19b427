//===- Apportion.cpp - Whole parts in proportion to weights ---------------===//

#include "chipmesh/Support/Apportion.h"
#include <algorithm>
#include <cmath>
#include <numeric>

using namespace chipmesh;

std::optional<std::vector<uint64_t>>
chipmesh::apportionLargestRemainder(uint64_t total,
                                    llvm::ArrayRef<double> weights) {
  size_t n = weights.size();
  if (n == 0 || total < n)
    return std::nullopt;
  double sum = 0;
  for (double w : weights)
    sum += w;
  std::vector<double> quota(n);
  std::vector<uint64_t> parts(n);
  // Summed in 128 bits: the floors of a total near 2^64 may round above it.
  unsigned __int128 assigned = 0;
  for (size_t i = 0; i < n; ++i) {
    quota[i] = static_cast<double>(total) * weights[i] / sum;
    double whole = std::floor(quota[i]);
    parts[i] = whole < 1 ? 1
               : whole >= static_cast<double>(total)
                   ? total
                   : static_cast<uint64_t>(whole);
    assigned += parts[i];
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (assigned < total) {
    // Each part lost less than one to its floor, so the missing parts go
    // one each to the largest remainders.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return quota[a] - parts[a] > quota[b] - parts[b];
    });
    for (size_t i = 0; assigned < total; ++i, ++assigned)
      ++parts[order[i % n]];
  } else if (assigned > total) {
    // The floor of one gave too much: take from the parts closest above
    // their quota, round after round (a part taken from falls below all
    // that were not), never below one.
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return parts[a] - quota[a] > parts[b] - quota[b];
    });
    while (assigned > total) {
      bool took = false;
      for (size_t i : order) {
        if (assigned == total)
          break;
        if (parts[i] > 1) {
          --parts[i];
          --assigned;
          took = true;
        }
      }
      if (!took)
        return std::nullopt; // unreachable: total >= n
    }
  }
  return parts;
}
