//===- CostInterface.h - What an op costs -----------------------*- C++ -*-===//
#ifndef CHIPMESH_INTERFACES_COSTINTERFACE_H
#define CHIPMESH_INTERFACES_COSTINTERFACE_H

#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallVector.h"
#include <cstdint>
#include <optional>

namespace chipmesh {

/// Elements of a statically shaped tensor as a double (0 for other types).
double numElements(mlir::Type type);
/// Bytes of one element: ceil(bitwidth / 8); 0 for non-tensor types.
double elementBytes(mlir::Type type);
/// numElements * elementBytes.
double tensorBytes(mlir::Type type);
/// Exact element count, or nullopt if it overflows 2^63 - 1.
std::optional<int64_t> exactNumElements(llvm::ArrayRef<int64_t> shape);
/// Sum of tensorBytes over the op's operands / results.
double operandBytes(mlir::Operation *op);
double resultBytes(mlir::Operation *op);
/// True if `value` is defined by a parameter op (weights are not
/// activations: they stay resident and are not counted as saved).
bool isParameter(mlir::Value value);

/// One (batched) matrix product `batch x [m, k] x [k, n]`.
struct MatmulShape {
  enum class Kind { Dense, FusedAttention, Attention };
  /// Which extent grows with the number of samples in a micro-batch.
  enum class SampleDim { M, Batch };
  double batch = 1, m = 1, n = 1, k = 1;
  /// Fraction of the m x n outputs computed (causal attention: about 1/2).
  double density = 1;
  Kind kind = Kind::Dense;
  SampleDim sampleDim = SampleDim::M;
  double flops() const { return 2.0 * batch * m * n * k * density; }
};

/// The tensor whose storage `value` shares: follows single-operand ops that
/// launch no kernel (views such as reshape), so a tensor saved for
/// backward under two names is counted once.
mlir::Value viewSource(mlir::Value value);

/// Totals over a block of ops (nested layers expanded by their repeat).
struct CostTotals {
  uint64_t parameters = 0;
  double parameterBytes = 0;
  double forwardFlops = 0;
  double backwardFlops = 0;
  double bytesRead = 0;
  double bytesWritten = 0;
  /// Activation bytes saved for backward, each value counted once.
  double savedActivationBytes = 0;
  /// Inference state kept between steps (KV cache).
  double cacheBytes = 0;
  unsigned ops = 0;
  CostTotals &operator+=(const CostTotals &other);
  CostTotals scaled(uint64_t repeat) const;
};

} // namespace chipmesh

#include "chipmesh/Interfaces/CostInterface.h.inc"

namespace chipmesh {
/// Sums the costs of the ops of `block`; ops without the interface cost
/// nothing. Saved values are de-duplicated within the block.
CostTotals sumCosts(mlir::Block &block);
} // namespace chipmesh

#endif // CHIPMESH_INTERFACES_COSTINTERFACE_H
