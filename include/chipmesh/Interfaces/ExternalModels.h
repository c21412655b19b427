//===- ExternalModels.h - CostOpInterface for upstream dialects -*- C++ -*-===//
//
// Models arriving from framework lowerings (linalg on tensors, TOSA) are
// costed without conversion: the cost interface is attached to upstream
// ops as external models.
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_INTERFACES_EXTERNALMODELS_H
#define CHIPMESH_INTERFACES_EXTERNALMODELS_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace chipmesh {
/// Every linalg structured op (named and generic), and TOSA matmul, conv2d
/// and elementwise ops.
void registerCostExternalModels(mlir::DialectRegistry &registry);
} // namespace chipmesh

#endif // CHIPMESH_INTERFACES_EXTERNALMODELS_H
