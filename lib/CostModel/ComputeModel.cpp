//===- ComputeModel.cpp - Seconds of one kernel on one chip ---------------===//

#include "chipmesh/CostModel/ComputeModel.h"
#include <cmath>

using namespace mlir;
using namespace chipmesh;

std::optional<DType> chipmesh::dtypeFor(Type elementType) {
  if (elementType.isBF16())
    return DType::BF16;
  if (elementType.isF16())
    return DType::FP16;
  if (elementType.isF32())
    return DType::FP32;
  if (isa<FloatType>(elementType) && elementType.getIntOrFloatBitWidth() == 8)
    return DType::FP8;
  if (elementType.isInteger(8))
    return DType::INT8;
  if (isa<FloatType>(elementType))
    return DType::FP32; // f64 and others: no tensor path; vector FP32 rate
  return std::nullopt;
}

KernelCost KernelCost::of(CostOpInterface op) {
  KernelCost cost;
  cost.forwardFlops = op.getForwardFlops();
  cost.backwardFlops = op.getBackwardFlops();
  double read = op.getBytesRead();
  double paramRead = 0;
  for (Value operand : op->getOperands())
    if (isParameter(operand))
      paramRead += tensorBytes(operand.getType());
  cost.parameterBytes = std::min(paramRead, read);
  cost.activationBytes = read - cost.parameterBytes + op.getBytesWritten();
  op.getMatmuls(cost.matmuls);
  cost.kernels = op.getKernelCount();
  cost.internalSavedBytes = op.getInternalSavedBytes();
  cost.sideBytesForward = op.getSideTrafficBytes(/*backward=*/false);
  cost.sideBytesBackward = op.getSideTrafficBytes(/*backward=*/true);
  cost.sideKernels = op.getSideKernelCount();
  for (Type type : op->getOperandTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      if (isa<FloatType>(tensor.getElementType())) {
        cost.dtype = dtypeFor(tensor.getElementType());
        break;
      }
  if (!cost.dtype)
    for (Type type : op->getResultTypes())
      if (auto tensor = dyn_cast<RankedTensorType>(type)) {
        cost.dtype = dtypeFor(tensor.getElementType());
        break;
      }
  return cost;
}

KernelCost KernelCost::scaled(double scale) const {
  KernelCost out = *this;
  out.forwardFlops *= scale;
  out.backwardFlops *= scale;
  out.activationBytes *= scale;
  out.internalSavedBytes *= scale;
  out.sideBytesForward *= scale;
  out.sideBytesBackward *= scale;
  for (MatmulShape &shape : out.matmuls) {
    if (shape.sampleDim == MatmulShape::SampleDim::Batch)
      shape.batch *= scale;
    else
      shape.m *= scale;
  }
  return out;
}

ComputeModel::ComputeModel(const ChipKindSpec &chip,
                           ChipCalibration calibration)
    : spec(chip), calib(std::move(calibration)) {}

double ComputeModel::peakFlopPerS(DType type) const {
  auto peak = [&](DType t) { return spec.peakFlopPerS[static_cast<unsigned>(t)]; };
  if (peak(type) > 0)
    return peak(type);
  // No fast path: compute in the nearest wider type the chip has.
  switch (type) {
  case DType::FP8:
  case DType::INT8:
    if (peak(DType::BF16) > 0)
      return peak(DType::BF16);
    [[fallthrough]];
  case DType::BF16:
  case DType::FP16:
    if (peak(type == DType::BF16 ? DType::FP16 : DType::BF16) > 0)
      return peak(type == DType::BF16 ? DType::FP16 : DType::BF16);
    [[fallthrough]];
  case DType::TF32:
  case DType::FP32:
    if (peak(DType::FP32) > 0)
      return peak(DType::FP32);
    // No FP32 figure at all (e.g. Gaudi 2's matrix engines): emulate in
    // the widest fast type rather than report an infinite time.
    for (DType t : {DType::TF32, DType::BF16, DType::FP16})
      if (peak(t) > 0)
        return peak(t);
    return 0;
  }
  return 0;
}

double ComputeModel::matmulPeakFlopPerS(DType type) const {
  double tf32 = spec.peakFlopPerS[static_cast<unsigned>(DType::TF32)];
  if (type == DType::FP32 && math == MathMode::TF32 && tf32 > 0)
    return tf32;
  return peakFlopPerS(type);
}

double ComputeModel::vectorFlopPerS() const {
  // Non-matmul work runs on the vector/CUDA cores at the FP32 rate; a chip
  // without an FP32 figure gets 1/16 of its BF16 tensor rate (the ratio on
  // H100 SXM: 989 / 67 ~ 15).
  double fp32 = spec.peakFlopPerS[static_cast<unsigned>(DType::FP32)];
  if (fp32 > 0)
    return fp32;
  double tensor = 0;
  for (DType t : {DType::TF32, DType::BF16, DType::FP16})
    tensor = std::max(tensor, spec.peakFlopPerS[static_cast<unsigned>(t)]);
  return tensor / 16.0;
}

/// The tile edge a GEMM library picks for an extent: the full tile, or for
/// a small extent the next power of two, but never below the 16 rows or
/// columns of one tensor-core MMA (mma.m16n8k16 on Ampere and later).
static double tileFor(double extent, double fullTile) {
  double tile = 16;
  while (tile < extent && tile < fullTile)
    tile *= 2;
  return std::min(tile, std::max(16.0, fullTile));
}

double ComputeModel::matmulEfficiency(const MatmulShape &shape,
                                      bool backward) const {
  double units = calib.computeUnits, tk = calib.tileK;
  double m = std::max(1.0, shape.m), n = std::max(1.0, shape.n),
         k = std::max(1.0, shape.k);
  double batch = std::max(1.0, shape.batch);
  double tm = tileFor(m, calib.tileM), tn = tileFor(n, calib.tileN);
  double tilesM = std::ceil(m / tm), tilesN = std::ceil(n / tn);
  // Tile quantization: edge tiles compute padding.
  double tileEff = (m * n) / (tilesM * tm * tilesN * tn);
  // A tile smaller than the full one runs at its share of a unit's peak.
  // (Never above 1: a calibrated tile below the 16 x 16 floor, e.g. a
  // CPU's, is not a smaller tile running faster.)
  double smallTileEff = std::min(
      1.0, (tm * tn) / (static_cast<double>(calib.tileM) * calib.tileN));
  // Wave quantization: the last wave leaves units idle. Causal attention
  // skips fully masked tiles. Too few tiles to fill the chip are split
  // along K (split-K), as long as each slice keeps 4 K steps.
  double tiles = std::max(1.0, std::ceil(batch * tilesM * tilesN *
                                         std::min(1.0, shape.density)));
  if (tiles < units) {
    double splits = std::min(std::floor(units / tiles),
                             std::max(1.0, std::floor(k / (4 * tk))));
    tiles *= splits;
    k /= splits;
  }
  double waves = std::ceil(tiles / units);
  double waveEff = tiles / (waves * units);
  // Short K: the prologue/epilogue of a tile is not amortized.
  double depthEff = k / (k + tk);
  double best = calib.matmulEfficiency;
  if (shape.kind == MatmulShape::Kind::FusedAttention)
    best = backward ? calib.attentionBackwardEfficiency
                    : calib.attentionForwardEfficiency;
  return std::max(1e-6, best * tileEff * smallTileEff * waveEff * depthEff);
}

double ComputeModel::matmulSeconds(ArrayRef<MatmulShape> shapes, DType type,
                                   bool backward) const {
  double peak = matmulPeakFlopPerS(type);
  if (!(peak > 0))
    return std::numeric_limits<double>::infinity();
  double seconds = 0;
  for (const MatmulShape &shape : shapes) {
    if (!backward || shape.kind == MatmulShape::Kind::FusedAttention) {
      seconds += shape.flops() / (peak * matmulEfficiency(shape, backward));
      continue;
    }
    // Backward of C = A B: dA = dC B^T is [m, n] x [n, k]; dB = A^T dC is
    // [k, m] x [m, n]. Each costs the forward's FLOPs at its own shape.
    MatmulShape dA = shape, dB = shape;
    dA.n = shape.k;
    dA.k = shape.n;
    dB.m = shape.k;
    dB.k = shape.m;
    seconds += (shape.flops() / (peak * matmulEfficiency(dA, true)) +
                shape.flops() / (peak * matmulEfficiency(dB, true))) /
               2.0;
  }
  return seconds;
}

KernelTime ComputeModel::time(const KernelCost &cost) const {
  KernelTime result;
  DType type = cost.dtype.value_or(DType::FP32);
  double matmulFlops = 0;
  for (const MatmulShape &shape : cost.matmuls)
    matmulFlops += shape.flops();
  matmulFlops = std::min(matmulFlops, cost.forwardFlops);
  double vectorFlops = cost.forwardFlops - matmulFlops;
  double memBw = memoryBytesPerS();
  double bytes = cost.parameterBytes + cost.activationBytes;

  double forwardCompute = matmulSeconds(cost.matmuls, type, false) +
                          vectorFlops / vectorFlopPerS();
  // A chip without a bandwidth figure cannot be memory bound here.
  auto memorySeconds = [&](double b) { return memBw > 0 ? b / memBw : 0.0; };
  double forwardMemory = memorySeconds(bytes);
  // Side kernels (unfused attention's softmax and dropout over the
  // scores) run between the products: their traffic adds.
  result.forwardS = std::max(forwardCompute, forwardMemory) +
                    memorySeconds(cost.sideBytesForward) +
                    (cost.kernels + cost.sideKernels) * calib.kernelOverheadS;
  result.computeBound = forwardCompute >= forwardMemory;

  // Backward: the op's own backward/forward FLOP ratio applied to both the
  // matmul and the vector part (matmuls at their transposed shapes); it
  // reads activations and output gradients, writes input gradients and
  // reads weights and writes weight gradients: twice the forward traffic.
  double ratio = cost.forwardFlops > 0 ? cost.backwardFlops / cost.forwardFlops
                                       : 0.0;
  double backwardCompute = 0;
  if (cost.forwardFlops > 0) {
    // matmulSeconds(backward) prices the two transposed products at the
    // forward's FLOPs each (as their average); scale by the op's ratio.
    backwardCompute = ratio * (matmulSeconds(cost.matmuls, type, true) +
                               vectorFlops / vectorFlopPerS());
  } else if (cost.backwardFlops > 0) {
    backwardCompute = cost.backwardFlops / vectorFlopPerS();
  }
  double backwardMemory = memorySeconds(2.0 * bytes);
  unsigned backwardKernels =
      (cost.kernels ? 2 * cost.kernels : 0) + cost.sideKernels;
  result.backwardS = std::max(backwardCompute, backwardMemory) +
                     memorySeconds(cost.sideBytesBackward) +
                     backwardKernels * calib.kernelOverheadS;
  return result;
}
