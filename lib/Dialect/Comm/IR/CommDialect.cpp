//===- CommDialect.cpp - Comm dialect and op verifiers --------------------===//

#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::comm;

#include "chipmesh/Dialect/Comm/IR/CommDialect.cpp.inc"
#include "chipmesh/Dialect/Comm/IR/CommEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "chipmesh/Dialect/Comm/IR/CommAttrs.cpp.inc"

void CommDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "chipmesh/Dialect/Comm/IR/CommAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "chipmesh/Dialect/Comm/IR/CommOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "chipmesh/Dialect/Comm/IR/CommOps.cpp.inc"

DeviceAttr chipmesh::comm::getEnclosingDevice(Operation *op) {
  for (Operation *parent = op->getParentOp(); parent;
       parent = parent->getParentOp())
    if (isa<FunctionOpInterface>(parent))
      return parent->getAttrOfType<DeviceAttr>(CommDialect::getDeviceAttrName());
  return {};
}

//===----------------------------------------------------------------------===//
// The device attribute: its mesh exists and has the chip; every comm op of
// the function names chips of that mesh.
//===----------------------------------------------------------------------===//

/// Flat device indices an op names (peers, group members, roots).
static SmallVector<int64_t> namedDevices(Operation *op) {
  SmallVector<int64_t> devices;
  TypeSwitch<Operation *>(op)
      .Case<SendOp, RecvOp>([&](auto p2p) { devices.push_back(p2p.getPeer()); })
      .Case<AllReduceOp, AllGatherOp, ReduceScatterOp, AllToAllOp>(
          [&](auto coll) { llvm::append_range(devices, coll.getGroup()); })
      .Case<BroadcastOp>([&](BroadcastOp b) {
        llvm::append_range(devices, b.getGroup());
        devices.push_back(b.getRoot());
      });
  return devices;
}

LogicalResult CommDialect::verifyOperationAttribute(Operation *op,
                                                    NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  // Where a step function sits in the plan, and what a weight holds.
  if (llvm::is_contained({"comm.stage", "comm.replica", "comm.tp_rank",
                          "comm.micro_batches", "comm.param", "comm.first_repeat"},
                         name)) {
    auto value = dyn_cast<IntegerAttr>(attr.getValue());
    if (!value || value.getInt() < 0)
      return op->emitError() << "'" << name
                             << "' must be a non-negative integer";
    return success();
  }
  if (name == "comm.shard") {
    auto shard = dyn_cast<DenseI64ArrayAttr>(attr.getValue());
    if (!shard || shard.size() != 3 || shard[0] < 0 || shard[1] < 0 ||
        shard[2] < 1)
      return op->emitError() << "'comm.shard' must be array<i64: dim, offset, "
                                "whole extent>";
    return success();
  }
  if (name == getReplicatedAttrName()) {
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitError() << "'" << name << "' is a unit attribute";
    return success();
  }
  if (name != getDeviceAttrName())
    return op->emitError() << "unknown comm attribute '" << name << "'";
  auto device = dyn_cast<DeviceAttr>(attr.getValue());
  if (!device)
    return op->emitError() << "'" << getDeviceAttrName()
                           << "' must be a #comm.device attribute";
  if (!isa<FunctionOpInterface>(op))
    return op->emitError() << "'" << getDeviceAttrName()
                           << "' belongs on a function";
  auto mesh = SymbolTable::lookupNearestSymbolFrom<topo::MeshOp>(
      op, device.getMesh());
  if (!mesh)
    return op->emitError() << "device mesh " << device.getMesh()
                           << " is not a topo.mesh in this module";
  int64_t chips = mesh.getNumChips();
  if (device.getIndex() < 0 || device.getIndex() >= chips)
    return op->emitError() << "device " << device.getIndex() << " is not in @"
                           << mesh.getSymName() << " (chips 0.." << chips - 1
                           << ")";
  WalkResult walk = op->walk([&](Operation *inner) {
    if (inner->getDialect() != op->getContext()->getLoadedDialect<CommDialect>())
      return WalkResult::advance();
    for (int64_t d : namedDevices(inner))
      if (d < 0 || d >= chips) {
        inner->emitOpError() << "names device " << d << ", which is not in @"
                             << mesh.getSymName() << " (chips 0.."
                             << chips - 1 << ")";
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

//===----------------------------------------------------------------------===//
// Op verifiers
//===----------------------------------------------------------------------===//

static FailureOr<int64_t> deviceOf(Operation *op) {
  DeviceAttr device = getEnclosingDevice(op);
  if (!device)
    return op->emitOpError() << "must be inside a function with a '"
                             << CommDialect::getDeviceAttrName()
                             << "' attribute";
  return device.getIndex();
}

static LogicalResult verifyPeer(Operation *op, int64_t peer) {
  FailureOr<int64_t> self = deviceOf(op);
  if (failed(self))
    return failure();
  if (peer == *self)
    return op->emitOpError() << "device " << peer << " cannot talk to itself";
  return success();
}

LogicalResult SendOp::verify() { return verifyPeer(*this, getPeer()); }
LogicalResult RecvOp::verify() { return verifyPeer(*this, getPeer()); }

/// The group has distinct members including this device; returns its rank.
static FailureOr<int64_t> verifyGroup(Operation *op, ArrayRef<int64_t> group) {
  FailureOr<int64_t> self = deviceOf(op);
  if (failed(self))
    return failure();
  if (group.empty())
    return op->emitOpError() << "needs a non-empty group";
  llvm::SmallSet<int64_t, 16> seen;
  for (int64_t member : group)
    if (!seen.insert(member).second)
      return op->emitOpError() << "lists device " << member
                               << " twice in its group";
  const int64_t *it = llvm::find(group, *self);
  if (it == group.end())
    return op->emitOpError() << "runs on device " << *self
                             << ", which is not in its group";
  return it - group.begin();
}

static int64_t sum(ArrayRef<int64_t> values) {
  int64_t total = 0;
  for (int64_t v : values)
    total += v;
  return total;
}

/// `local` is `whole` with dimension `dim` of extent `sizes[rank]` instead
/// of `sum(sizes)`.
static LogicalResult verifyShard(Operation *op, RankedTensorType local,
                                 RankedTensorType whole, int64_t dim,
                                 ArrayRef<int64_t> sizes, size_t groupSize,
                                 int64_t rank, StringRef sizesName = "sizes") {
  if (sizes.size() != groupSize)
    return op->emitOpError() << "has " << sizes.size() << " " << sizesName
                             << " for a group of " << groupSize;
  for (int64_t s : sizes)
    if (s <= 0)
      return op->emitOpError() << sizesName << " must be positive, got " << s;
  if (local.getRank() != whole.getRank())
    return op->emitOpError() << "input and result ranks differ";
  if (dim < 0 || dim >= local.getRank())
    return op->emitOpError() << "dimension " << dim << " is out of range for rank "
                             << local.getRank();
  if (local.getElementType() != whole.getElementType())
    return op->emitOpError() << "input and result element types differ";
  for (int64_t d = 0; d < local.getRank(); ++d) {
    int64_t wantLocal = d == dim ? sizes[rank] : whole.getDimSize(d);
    int64_t wantWhole = d == dim ? sum(sizes) : local.getDimSize(d);
    if (local.getDimSize(d) != wantLocal || whole.getDimSize(d) != wantWhole)
      return op->emitOpError()
             << "shapes disagree with " << sizesName << " along dimension " << d
             << ": this device (rank " << rank << ") holds "
             << local.getDimSize(d) << " of " << whole.getDimSize(d)
             << ", expected " << wantLocal << " of " << wantWhole;
  }
  return success();
}

int64_t chipmesh::comm::rankInGroup(Operation *op, ArrayRef<int64_t> group) {
  DeviceAttr device = getEnclosingDevice(op);
  if (!device)
    return -1;
  const int64_t *it = llvm::find(group, device.getIndex());
  return it == group.end() ? -1 : it - group.begin();
}

LogicalResult AllReduceOp::verify() {
  return failure(failed(verifyGroup(*this, getGroup())));
}

LogicalResult AllGatherOp::verify() {
  FailureOr<int64_t> rank = verifyGroup(*this, getGroup());
  if (failed(rank))
    return failure();
  return verifyShard(*this, cast<RankedTensorType>(getInput().getType()),
                     cast<RankedTensorType>(getResult().getType()), getDim(),
                     getSizes(), getGroup().size(), *rank);
}

LogicalResult ReduceScatterOp::verify() {
  FailureOr<int64_t> rank = verifyGroup(*this, getGroup());
  if (failed(rank))
    return failure();
  return verifyShard(*this, cast<RankedTensorType>(getResult().getType()),
                     cast<RankedTensorType>(getInput().getType()), getDim(),
                     getSizes(), getGroup().size(), *rank);
}

LogicalResult AllToAllOp::verify() {
  FailureOr<int64_t> rank = verifyGroup(*this, getGroup());
  if (failed(rank))
    return failure();
  auto input = cast<RankedTensorType>(getInput().getType());
  auto result = cast<RankedTensorType>(getResult().getType());
  int64_t split = getSplitDim(), concat = getConcatDim();
  if (split == concat)
    return emitOpError() << "split_dim and concat_dim must differ";
  size_t n = getGroup().size();
  for (ArrayRef<int64_t> sizes : {getSplitSizes(), getConcatSizes()}) {
    if (sizes.size() != n)
      return emitOpError() << "has " << sizes.size()
                           << " sizes for a group of " << n;
    for (int64_t s : sizes)
      if (s <= 0)
        return emitOpError() << "sizes must be positive, got " << s;
  }
  if (input.getRank() != result.getRank() ||
      input.getElementType() != result.getElementType())
    return emitOpError() << "input and result must have one rank and element type";
  if (split < 0 || split >= input.getRank() || concat < 0 ||
      concat >= input.getRank())
    return emitOpError() << "split_dim or concat_dim is out of range";
  for (int64_t d = 0; d < input.getRank(); ++d) {
    int64_t wantIn = d == split    ? sum(getSplitSizes())
                     : d == concat ? getConcatSizes()[*rank]
                                   : result.getDimSize(d);
    int64_t wantOut = d == split    ? getSplitSizes()[*rank]
                      : d == concat ? sum(getConcatSizes())
                                    : input.getDimSize(d);
    if (input.getDimSize(d) != wantIn || result.getDimSize(d) != wantOut)
      return emitOpError() << "shapes disagree with the sizes along dimension "
                           << d << ": expected input " << wantIn
                           << " and result " << wantOut << " on rank " << *rank;
  }
  return success();
}

LogicalResult BroadcastOp::verify() {
  if (failed(verifyGroup(*this, getGroup())))
    return failure();
  if (!llvm::is_contained(getGroup(), getRoot()))
    return emitOpError() << "root " << getRoot() << " is not in its group";
  return success();
}
