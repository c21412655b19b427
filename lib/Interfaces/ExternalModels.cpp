//===- ExternalModels.cpp - CostOpInterface for linalg and TOSA -----------===//

#include "chipmesh/Interfaces/ExternalModels.h"
#include "chipmesh/Interfaces/CostInterface.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace chipmesh;

namespace {

/// Iterations of a structured op's loop nest (nullopt if dynamic).
std::optional<double> iterations(linalg::LinalgOp op) {
  double n = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(range))
      return std::nullopt;
    n *= static_cast<double>(range);
  }
  return n;
}

/// Arithmetic ops in the payload (at least one).
double payloadOps(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (!body)
    return 1;
  double n = 0;
  for (Operation &inner : body->without_terminator())
    if (!inner.hasTrait<OpTrait::ConstantLike>()) // constants cost nothing
      n += 1;
  return std::max(1.0, n);
}

std::optional<linalg::ContractionDimensions> contraction(linalg::LinalgOp op) {
  FailureOr<linalg::ContractionDimensions> dims = linalg::inferContractionDims(op);
  if (failed(dims) || dims->k.empty() || dims->m.empty() || dims->n.empty())
    return std::nullopt;
  return *dims;
}

/// Any linalg structured op: contractions are matmuls (a multiply-add per
/// iteration), everything else costs one FLOP per payload op per iteration.
template <typename OpTy>
struct LinalgCost
    : public CostOpInterface::ExternalModel<LinalgCost<OpTy>, OpTy> {
  double getForwardFlops(Operation *op) const {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    std::optional<double> n = iterations(linalgOp);
    if (!n)
      return 0;
    return contraction(linalgOp) ? 2.0 * *n : *n * payloadOps(linalgOp);
  }
  void getMatmuls(Operation *op, SmallVectorImpl<MatmulShape> &matmuls) const {
    auto linalgOp = cast<linalg::LinalgOp>(op);
    std::optional<linalg::ContractionDimensions> dims = contraction(linalgOp);
    if (!dims || !iterations(linalgOp))
      return;
    SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
    auto product = [&](ArrayRef<unsigned> which) {
      double p = 1;
      for (unsigned d : which)
        p *= static_cast<double>(ranges[d]);
      return p;
    };
    MatmulShape shape;
    shape.batch = product(dims->batch);
    shape.m = product(dims->m);
    shape.n = product(dims->n);
    shape.k = product(dims->k);
    shape.sampleDim = dims->batch.empty() ? MatmulShape::SampleDim::M
                                          : MatmulShape::SampleDim::Batch;
    matmuls.push_back(shape);
  }
  void getSavedValues(Operation *op, SmallVectorImpl<Value> &saved) const {
    // Backward of a product needs its inputs; of a pointwise op, its inputs
    // too (conservative for linear ones).
    for (OpOperand *input : cast<linalg::LinalgOp>(op).getDpsInputOperands())
      if (isa<RankedTensorType>(input->get().getType()))
        saved.push_back(input->get());
  }
};

template <typename... OpTys> void attachLinalg(MLIRContext *context) {
  (OpTys::template attachInterface<LinalgCost<OpTys>>(*context), ...);
}

/// An op that is one matrix product of a shape read off its types.
/// `Derived::shape` returns it (nullopt when the types are not static).
template <typename Derived, typename OpTy>
struct SingleMatmulCost : public CostOpInterface::ExternalModel<Derived, OpTy> {
  double getForwardFlops(Operation *op) const {
    std::optional<MatmulShape> s = Derived::shape(op);
    return s ? s->flops() : 0.0;
  }
  void getMatmuls(Operation *op, SmallVectorImpl<MatmulShape> &matmuls) const {
    if (std::optional<MatmulShape> s = Derived::shape(op))
      matmuls.push_back(*s);
  }
};

/// tosa.matmul: [N, H, C] x [N, C, W].
struct TosaMatmulCost : public SingleMatmulCost<TosaMatmulCost, tosa::MatMulOp> {
  static std::optional<MatmulShape> shape(Operation *op) {
    auto a = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    auto b = dyn_cast<RankedTensorType>(op->getOperand(1).getType());
    if (!a || !b || !a.hasStaticShape() || !b.hasStaticShape() ||
        a.getRank() != 3 || b.getRank() != 3)
      return std::nullopt;
    MatmulShape s;
    s.batch = a.getDimSize(0);
    s.m = a.getDimSize(1);
    s.k = a.getDimSize(2);
    s.n = b.getDimSize(2);
    s.sampleDim = MatmulShape::SampleDim::Batch;
    return s;
  }
  void getSavedValues(Operation *op, SmallVectorImpl<Value> &saved) const {
    saved.push_back(op->getOperand(0));
    saved.push_back(op->getOperand(1));
  }
};

/// tosa.conv2d: input [N, IH, IW, IC], weight [OC, KH, KW, IC], output
/// [N, OH, OW, OC]: an implicit GEMM of M = N OH OW, N = OC, K = KH KW IC.
struct TosaConv2dCost : public SingleMatmulCost<TosaConv2dCost, tosa::Conv2DOp> {
  static std::optional<MatmulShape> shape(Operation *op) {
    auto w = dyn_cast<RankedTensorType>(op->getOperand(1).getType());
    auto out = dyn_cast<RankedTensorType>(op->getResult(0).getType());
    if (!w || !out || !w.hasStaticShape() || !out.hasStaticShape() ||
        w.getRank() != 4 || out.getRank() != 4)
      return std::nullopt;
    MatmulShape s;
    s.m = static_cast<double>(out.getDimSize(0)) * out.getDimSize(1) * out.getDimSize(2);
    s.n = out.getDimSize(3);
    s.k = static_cast<double>(w.getDimSize(1)) * w.getDimSize(2) * w.getDimSize(3);
    return s;
  }
  void getSavedValues(Operation *op, SmallVectorImpl<Value> &saved) const {
    saved.push_back(op->getOperand(0));
  }
};

/// TOSA pointwise ops: one FLOP per output element; backward needs the
/// inputs.
template <typename OpTy>
struct TosaPointwiseCost
    : public CostOpInterface::ExternalModel<TosaPointwiseCost<OpTy>, OpTy> {
  double getForwardFlops(Operation *op) const {
    return numElements(op->getResult(0).getType());
  }
  void getSavedValues(Operation *op, SmallVectorImpl<Value> &saved) const {
    for (Value operand : op->getOperands())
      if (isa<RankedTensorType>(operand.getType()))
        saved.push_back(operand);
  }
};

template <typename... OpTys> void attachPointwise(MLIRContext *context) {
  (OpTys::template attachInterface<TosaPointwiseCost<OpTys>>(*context), ...);
}

} // namespace

void chipmesh::registerCostExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, linalg::LinalgDialect *) {
    attachLinalg<
#define GET_OP_LIST
#include "mlir/Dialect/Linalg/IR/LinalgStructuredOps.cpp.inc"
        >(context);
  });
  registry.addExtension(+[](MLIRContext *context, tosa::TosaDialect *) {
    tosa::MatMulOp::attachInterface<TosaMatmulCost>(*context);
    tosa::Conv2DOp::attachInterface<TosaConv2dCost>(*context);
    attachPointwise<tosa::AddOp, tosa::SubOp, tosa::MulOp, tosa::MaximumOp,
                    tosa::MinimumOp, tosa::ExpOp, tosa::TanhOp,
                    tosa::SigmoidOp, tosa::ReciprocalOp, tosa::RsqrtOp,
                    tosa::ClampOp, tosa::AbsOp, tosa::NegateOp>(context);
  });
}
