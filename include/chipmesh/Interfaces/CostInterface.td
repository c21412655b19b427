//===- CostInterface.td - What an op costs -----------------*- tablegen -*-===//
//
// Machine-independent costs of one op: FLOPs forward and backward, bytes it
// moves, the parameters it owns and the activations backward needs. The
// cost model turns these into seconds on a chip; the summary and the
// partitioner add them up. Defaults suit a memory-bound op that owns no
// parameters and saves nothing.
//
//===----------------------------------------------------------------------===//

#ifndef CHIPMESH_INTERFACES_COSTINTERFACE_TD
#define CHIPMESH_INTERFACES_COSTINTERFACE_TD

include "mlir/IR/OpBase.td"

def CostOpInterface : OpInterface<"CostOpInterface"> {
  let cppNamespace = "::chipmesh";
  let description = [{
    FLOPs count a multiply-add as two. Counts are `double`: a 1-trillion-
    parameter model at long sequence length exceeds 2^64 FLOPs per step, and
    these are estimates; parameter counts are exact integers.
  }];
  let methods = [
    InterfaceMethod<"FLOPs of the forward computation", "double",
      "getForwardFlops", (ins), [{}], [{ return 0.0; }]>,
    InterfaceMethod<[{FLOPs of the backward computation (gradients of every
      input that needs one); twice the forward by default, the usual ratio
      for ops that are linear in each input.}], "double",
      "getBackwardFlops", (ins), [{}],
      [{ return 2.0 * ::llvm::cast<::chipmesh::CostOpInterface>(
                          $_op.getOperation()).getForwardFlops(); }]>,
    InterfaceMethod<"Bytes read from memory in the forward pass", "double",
      "getBytesRead", (ins), [{}],
      [{ return ::chipmesh::operandBytes($_op.getOperation()); }]>,
    InterfaceMethod<"Bytes written to memory in the forward pass", "double",
      "getBytesWritten", (ins), [{}],
      [{ return ::chipmesh::resultBytes($_op.getOperation()); }]>,
    InterfaceMethod<"Trainable parameters this op owns (elements)", "uint64_t",
      "getParameterCount", (ins), [{}], [{ return 0; }]>,
    InterfaceMethod<"Bytes of the parameters this op owns", "double",
      "getParameterBytes", (ins), [{}], [{ return 0.0; }]>,
    InterfaceMethod<[{Values (operands or results) that backward needs kept
      alive; the summary de-duplicates values saved by several ops.
      Parameters are never listed: they are resident anyway.}], "void",
      "getSavedValues", (ins "::llvm::SmallVectorImpl<::mlir::Value> &":$saved),
      [{}], [{ (void)saved; }]>,
    InterfaceMethod<[{Bytes of op-internal tensors saved for backward that are
      not SSA values (softmax probabilities, dropout masks).}], "double",
      "getInternalSavedBytes", (ins), [{}], [{ return 0.0; }]>,
    InterfaceMethod<[{The matrix products the forward performs, for the
      cost model's shape-dependent efficiency (tile and wave quantization).
      FLOPs not covered here run on the vector units.}], "void",
      "getMatmuls", (ins "::llvm::SmallVectorImpl<::chipmesh::MatmulShape> &":$matmuls),
      [{}], [{ (void)matmuls; }]>,
    InterfaceMethod<[{Kernels the op launches in the forward pass (0 for
      views and for containers, whose body ops launch their own).}],
      "unsigned", "getKernelCount", (ins), [{}], [{ return 1; }]>,
    InterfaceMethod<[{How many times the op's single-block body runs; 0 if
      the op is not a container. Containers are costed by walking the body
      (once, scaled by this), never through their own methods.}],
      "uint64_t", "getBodyRepeat", (ins), [{}], [{ return 0; }]>,
    InterfaceMethod<[{Bytes of state kept between inference steps (the
      key/value cache of past and new tokens).}], "double",
      "getCacheBytes", (ins), [{}], [{ return 0.0; }]>,
    InterfaceMethod<[{Bytes that memory-bound kernels inside the op move
      apart from its products, forward or backward: they run one after
      another with the products, so their time adds instead of overlapping
      (unfused attention writes and re-reads its score matrix through the
      softmax and dropout kernels).}], "double",
      "getSideTrafficBytes", (ins "bool":$backward), [{}],
      [{ (void)backward; return 0.0; }]>,
    InterfaceMethod<[{Kernels of the side traffic above, per pass.}],
      "unsigned", "getSideKernelCount", (ins), [{}], [{ return 0; }]>
  ];
}

#endif // CHIPMESH_INTERFACES_COSTINTERFACE_TD
