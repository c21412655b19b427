//===- InitAllDialects.cpp - Every dialect a ChipMesh tool reads ----------===//

#include "chipmesh/InitAllDialects.h"
#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Interfaces/ExternalModels.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace chipmesh;

void chipmesh::registerChipMeshDialects(mlir::DialectRegistry &registry) {
  registry.insert<graph::GraphDialect, topo::TopoDialect, comm::CommDialect,
                  mlir::func::FuncDialect, mlir::arith::ArithDialect>();
  registerCostExternalModels(registry);
}

void chipmesh::registerModelDialects(mlir::DialectRegistry &registry) {
  registerChipMeshDialects(registry);
  registry.insert<mlir::tensor::TensorDialect, mlir::linalg::LinalgDialect,
                  mlir::tosa::TosaDialect, mlir::shard::ShardDialect>();
}

void chipmesh::registerAllDialects(mlir::DialectRegistry &registry) {
  registerModelDialects(registry);
  registry.insert<mlir::bufferization::BufferizationDialect, mlir::DLTIDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::mpi::MPIDialect, mlir::scf::SCFDialect,
                  mlir::vector::VectorDialect, mlir::LLVM::LLVMDialect>();
}
