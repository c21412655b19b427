//===- ComputeModel.h - Seconds of one kernel on one chip -------*- C++ -*-===//
//
// Roofline per kernel: max(matmul time + vector time, memory time) plus a
// fixed per-kernel overhead, where matmul time uses a shape-dependent
// efficiency (tile quantization, wave quantization over the chip's compute
// units, K-depth ramp) capped by the chip's best measured GEMM efficiency.
// See docs/cost-model.md for every formula and constant.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_COSTMODEL_COMPUTEMODEL_H
#define CHIPMESH_COSTMODEL_COMPUTEMODEL_H

#include "chipmesh/CostModel/Calibration.h"
#include "chipmesh/Interfaces/CostInterface.h"
#include <optional>

namespace chipmesh {

/// The machine-independent facts about one op that the cost model prices,
/// for one run of the op (inside a repeated layer: one repetition).
struct KernelCost {
  double forwardFlops = 0, backwardFlops = 0;
  /// Weight bytes read (independent of the batch).
  double parameterBytes = 0;
  /// Activation bytes read and written in the forward pass (they scale
  /// with the batch).
  double activationBytes = 0;
  llvm::SmallVector<MatmulShape, 4> matmuls;
  unsigned kernels = 0;
  /// Op-internal bytes saved for backward (softmax probabilities...).
  double internalSavedBytes = 0;
  /// Bytes that separate memory-bound kernels inside the op move, forward
  /// and backward, and how many kernels they are (added, not overlapped).
  double sideBytesForward = 0, sideBytesBackward = 0;
  unsigned sideKernels = 0;
  /// Element type of the compute (the first floating-point operand).
  std::optional<DType> dtype;

  /// Extracts the costs of `op` (which must not be a container).
  static KernelCost of(CostOpInterface op);
  /// True for attention whose score matrix is materialized (what
  /// selective recomputation recomputes).
  bool isUnfusedAttention() const {
    for (const MatmulShape &shape : matmuls)
      if (shape.kind == MatmulShape::Kind::Attention)
        return true;
    return false;
  }
  /// The same op at `scale` times the samples (micro-batch resizing):
  /// FLOPs and activation bytes scale, weights do not, and each matmul
  /// grows along its sample dimension.
  KernelCost scaled(double scale) const;
};

/// The data type a chip computes an element type in: itself if the chip
/// has a fast path, else the closest wider type it has.
std::optional<DType> dtypeFor(mlir::Type elementType);

struct KernelTime {
  double forwardS = 0, backwardS = 0;
  /// True when the FLOP term exceeds the memory term in the forward pass.
  bool computeBound = false;
};

/// How FP32 matrix products run: at the FP32 rate, or on the tensor cores
/// in TF32 (PyTorch's allow_tf32, cuBLAS CUBLAS_TF32_TENSOR_OP_MATH; the
/// default of many Ampere/Hopper stacks).
enum class MathMode { FP32, TF32 };

class ComputeModel {
public:
  ComputeModel(const ChipKindSpec &chip, ChipCalibration calibration);

  /// FP32 products at the chip's TF32 rate where it has one.
  void setMathMode(MathMode mode) { math = mode; }
  MathMode mathMode() const { return math; }

  const ChipKindSpec &chip() const { return spec; }
  const ChipCalibration &calibration() const { return calib; }

  /// Peak FLOP/s of `type` on this chip after falling back to a wider
  /// type the chip has; 0 if it has none.
  double peakFlopPerS(DType type) const;
  /// Peak FLOP/s of matrix products in `type` under the math mode (FP32
  /// products at the TF32 rate with MathMode::TF32): what MFU divides by.
  double matmulPeakFlopPerS(DType type) const;
  /// FLOP/s for work that is not a matrix product (the FP32 vector peak).
  double vectorFlopPerS() const;
  /// Achieved bytes/s of memory traffic.
  double memoryBytesPerS() const {
    return spec.memoryBytesPerS * calib.memoryEfficiency;
  }

  /// Fraction of the tensor peak one matmul reaches, in (0, 1].
  double matmulEfficiency(const MatmulShape &shape, bool backward) const;
  /// Seconds of the matrix products alone.
  double matmulSeconds(llvm::ArrayRef<MatmulShape> shapes, DType type,
                       bool backward) const;

  /// Forward and backward seconds of one kernel.
  KernelTime time(const KernelCost &cost) const;

private:
  ChipKindSpec spec;
  ChipCalibration calib;
  MathMode math = MathMode::FP32;
};

} // namespace chipmesh

#endif // CHIPMESH_COSTMODEL_COMPUTEMODEL_H
