//===- CommToMPI.cpp - Per-device programs to one runnable MPI program ----===//
//
// The materialized plan has one step function per device, written with
// `graph` ops and `comm` transfers. This pass turns them into a single SPMD
// program that `mlir-runner` runs under `mpirun`: `@main` asks MPI for its
// rank and switches to that device's code, in linalg on tensors, with
// every `comm` op lowered to `mpi` point-to-point or all-reduce calls.
// Inputs and weights are not read from files: every value is a fixed
// function of its global position (and, for a weight, its name and layer
// repetition), so each rank makes exactly its own shard and the
// unpartitioned model, lowered with `reference`, makes the same numbers.
//
// Upstream `convert-shard-to-mpi` covers SPMD code with even splits; the
// plan's programs are MPMD (pipeline stages) with uneven splits, so the
// comm lowering is ours. MPI collectives over a tensor-parallel group use
// a communicator split off MPI_COMM_WORLD once at start-up; gathers of
// uneven pieces are all-reduces of zero-padded buffers (exact in floating
// point: every element is one value plus zeros).
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Conversion/Passes.h"
#include "chipmesh/Materialize/PlanSpec.h"
#include "chipmesh/Transforms/PassSupport.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Dialect/MPI/IR/MPI.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include <cmath>
#include <map>
#include <set>

namespace chipmesh {
#define GEN_PASS_DEF_CHIPMESHLOWERTOMPI
#define GEN_PASS_DEF_CHIPMESHDROPDLTI
#include "chipmesh/Conversion/Passes.h.inc"
} // namespace chipmesh

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;

namespace {

/// FNV-1a: a weight's name to a stable seed, the same on every platform.
uint32_t stableHash(StringRef text) {
  uint32_t h = 2166136261u;
  for (unsigned char c : text)
    h = (h ^ c) * 16777619u;
  return h;
}

/// Seeds of the generated values: inputs and weights never share one.
int64_t inputSeed(int64_t index) { return 101 + 17 * index; }
int64_t weightSeed(StringRef name, int64_t repetition) {
  return static_cast<int64_t>(stableHash(name) % 997) + 31 * repetition;
}

class ProgramEmitter {
public:
  ProgramEmitter(OpBuilder &b, ModuleOp module, func::FuncOp rtclock,
                 func::FuncOp printMemref)
      : b(b), module(module), rtclock(rtclock), printMemref(printMemref) {}

  /// The device this code runs as (-1: the unpartitioned reference).
  int64_t device = -1;
  Value world;                                  ///< null in the reference
  std::map<std::vector<int64_t>, Value> groups; ///< group -> communicator
  Value mpiSeconds;                             ///< f64 running sum
  Value idleSeconds; ///< f64 running sum of waits for a peer's ready message

  /// A tensor of `type` whose element at global position p is
  /// ((sum p_d * stride_d) * 7 + seed) mod 23 - 11, scaled by `scale`:
  /// small exact integers over a power of two, so sums stay exact long.
  Value generate(Location loc, RankedTensorType type,
                 ArrayRef<int64_t> globalShape, ArrayRef<int64_t> offsets,
                 int64_t seed, double scale) {
    int64_t rank = type.getRank();
    SmallVector<int64_t> strides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      strides[d] = strides[d + 1] * globalShape[d + 1];
    Value empty =
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
    SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        b, loc, TypeRange{type}, ValueRange{}, ValueRange{empty}, maps,
        iterators, [&](OpBuilder &nb, Location nl, ValueRange) {
          auto constant = [&](int64_t v) {
            return arith::ConstantIndexOp::create(nb, nl, v).getResult();
          };
          Value flat = constant(0);
          for (int64_t d = 0; d < rank; ++d) {
            Value index = linalg::IndexOp::create(nb, nl, d);
            Value global =
                arith::AddIOp::create(nb, nl, index, constant(offsets[d]));
            Value term =
                arith::MulIOp::create(nb, nl, global, constant(strides[d]));
            flat = arith::AddIOp::create(nb, nl, flat, term);
          }
          Value mixed = arith::AddIOp::create(
              nb, nl, arith::MulIOp::create(nb, nl, flat, constant(7)),
              constant(seed));
          Value wrapped = arith::SubIOp::create(
              nb, nl, arith::RemUIOp::create(nb, nl, mixed, constant(23)),
              constant(11));
          Value asInt =
              arith::IndexCastOp::create(nb, nl, nb.getI64Type(), wrapped);
          Value asFloat =
              arith::SIToFPOp::create(nb, nl, type.getElementType(), asInt);
          Value factor = arith::ConstantOp::create(
              nb, nl, nb.getFloatAttr(type.getElementType(), scale));
          linalg::YieldOp::create(
              nb, nl,
              ValueRange{arith::MulFOp::create(nb, nl, asFloat, factor)});
        });
    return generic.getResult(0);
  }

  Value zeros(Location loc, RankedTensorType type) {
    Value empty =
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
    Value zero = arith::ConstantOp::create(
        b, loc, b.getFloatAttr(type.getElementType(), 0.0));
    return linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
        .getResult(0);
  }

  /// Elementwise `body` over `operands` with NumPy broadcasting to `type`.
  Value
  elementwise(Location loc, RankedTensorType type, ValueRange operands,
              function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
    int64_t rank = type.getRank();
    SmallVector<AffineMap> maps;
    for (Value operand : operands) {
      auto operandType = cast<RankedTensorType>(operand.getType());
      SmallVector<AffineExpr> exprs;
      int64_t lead = rank - operandType.getRank();
      for (int64_t d = 0; d < operandType.getRank(); ++d)
        exprs.push_back(operandType.getShape()[d] == 1 &&
                                type.getShape()[lead + d] != 1
                            ? b.getAffineConstantExpr(0)
                            : b.getAffineDimExpr(lead + d));
      maps.push_back(AffineMap::get(rank, 0, exprs, b.getContext()));
    }
    maps.push_back(b.getMultiDimIdentityMap(rank));
    Value empty =
        tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    return linalg::GenericOp::create(
               b, loc, TypeRange{type}, operands, ValueRange{empty}, maps,
               iterators,
               [&](OpBuilder &nb, Location nl, ValueRange args) {
                 linalg::YieldOp::create(
                     nb, nl, ValueRange{body(nb, nl, args.drop_back())});
               })
        .getResult(0);
  }

  /// `value` with its shape changed to `type` (same elements, row-major).
  Value reshape(Location loc, Value value, RankedTensorType type) {
    auto source = cast<RankedTensorType>(value.getType());
    if (source.getShape() == type.getShape())
      return value;
    auto flatType = RankedTensorType::get({source.getNumElements()},
                                          source.getElementType());
    auto allDims = [](int64_t rank) {
      ReassociationIndices all;
      for (int64_t d = 0; d < rank; ++d)
        all.push_back(d);
      return SmallVector<ReassociationIndices>{all};
    };
    Value flat = value;
    if (source.getRank() != 1)
      flat = tensor::CollapseShapeOp::create(b, loc, flatType, value,
                                             allDims(source.getRank()));
    if (type.getRank() == 1)
      return flat;
    return tensor::ExpandShapeOp::create(b, loc, type, flat,
                                         allDims(type.getRank()));
  }

  // --- MPI transfers, timed --------------------------------------------

  Value now(Location loc) {
    return func::CallOp::create(b, loc, rtclock, ValueRange{}).getResult(0);
  }
  /// Adds the time from `start` to now to the running sum `seconds`;
  /// returns now.
  Value addTime(Location loc, Value &seconds, Value start) {
    Value end = now(loc);
    Value elapsed = arith::SubFOp::create(b, loc, end, start);
    seconds = arith::AddFOp::create(b, loc, seconds, elapsed);
    return end;
  }
  void addMpiTime(Location loc, Value start) {
    addTime(loc, mpiSeconds, start);
  }
  Value i32(Location loc, int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  /// MPI's lowering counts elements from a memref's first dimension, so
  /// every buffer handed to MPI is one-dimensional.
  Value flatBuffer(Location loc, Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    auto flatType =
        RankedTensorType::get({type.getNumElements()}, type.getElementType());
    Value flat = reshape(loc, tensor, flatType);
    return bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(flatType.getShape(), type.getElementType()),
        flat);
  }
  Value fromBuffer(Location loc, Value buffer, RankedTensorType type) {
    auto memrefType = cast<MemRefType>(buffer.getType());
    auto flatType =
        RankedTensorType::get(memrefType.getShape(), type.getElementType());
    Value flat =
        bufferization::ToTensorOp::create(b, loc, flatType, buffer,
                                          /*restrict=*/true, /*writable=*/true);
    return reshape(loc, flat, type);
  }
  Value newBuffer(Location loc, RankedTensorType type) {
    return memref::AllocOp::create(
        b, loc,
        MemRefType::get({type.getNumElements()}, type.getElementType()));
  }

  /// A one-element message sent ahead of every payload, on the same tag
  /// (MPI does not let messages of one sender and tag overtake each other).
  /// The receiver's wait for it is idle time, the peer not yet at its send;
  /// the payload's receive after it is transfer time.
  Value readyToken(Location loc) {
    return memref::AllocOp::create(b, loc,
                                   MemRefType::get({1}, b.getF32Type()));
  }
  void send(Location loc, Value tensor, int64_t peer, int64_t tag) {
    Value start = now(loc);
    mpi::SendOp::create(b, loc, Type(), readyToken(loc), i32(loc, tag),
                        i32(loc, peer), world);
    mpi::SendOp::create(b, loc, Type(), flatBuffer(loc, tensor), i32(loc, tag),
                        i32(loc, peer), world);
    addMpiTime(loc, start);
  }
  Value recv(Location loc, RankedTensorType type, int64_t peer, int64_t tag) {
    Value buffer = newBuffer(loc, type);
    Value waitStart = now(loc);
    mpi::RecvOp::create(b, loc, Type(), readyToken(loc), i32(loc, tag),
                        i32(loc, peer), world);
    Value start = addTime(loc, idleSeconds, waitStart);
    mpi::RecvOp::create(b, loc, Type(), buffer, i32(loc, tag), i32(loc, peer),
                        world);
    addMpiTime(loc, start);
    return fromBuffer(loc, buffer, type);
  }
  Value allReduce(Location loc, Value tensor, ArrayRef<int64_t> group,
                  comm::ReductionKind kind) {
    auto type = cast<RankedTensorType>(tensor.getType());
    Value in = flatBuffer(loc, tensor);
    Value out = newBuffer(loc, type);
    mpi::MPI_ReductionOpEnum op =
        kind == comm::ReductionKind::sum   ? mpi::MPI_ReductionOpEnum::MPI_SUM
        : kind == comm::ReductionKind::max ? mpi::MPI_ReductionOpEnum::MPI_MAX
                                           : mpi::MPI_ReductionOpEnum::MPI_MIN;
    Value start = now(loc);
    mpi::AllReduceOp::create(
        b, loc, Type(), in, out, op,
        groups.at(std::vector<int64_t>(group.begin(), group.end())));
    addMpiTime(loc, start);
    return fromBuffer(loc, out, type);
  }

  /// Where this device's piece starts: the sizes of the members before it.
  int64_t offsetIn(ArrayRef<int64_t> group, ArrayRef<int64_t> sizes) {
    int64_t position = llvm::find(group, device) - group.begin();
    int64_t offset = 0;
    for (int64_t i = 0; i < position; ++i)
      offset += sizes[i];
    return offset;
  }

  /// 1 / (1 + exp(-x)).
  static Value sigmoid(OpBuilder &nb, Location nl, Value x) {
    Value one = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(1));
    Value e = math::ExpOp::create(nb, nl, arith::NegFOp::create(nb, nl, x));
    return arith::DivFOp::create(nb, nl, one,
                                 arith::AddFOp::create(nb, nl, one, e));
  }

  Value insertAt(Location loc, Value piece, Value into, int64_t dim,
                 int64_t offset) {
    auto type = cast<RankedTensorType>(piece.getType());
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    offsets[dim] = b.getIndexAttr(offset);
    SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t s : type.getShape())
      sizes.push_back(b.getIndexAttr(s));
    return tensor::InsertSliceOp::create(b, loc, piece, into, offsets, sizes,
                                         strides);
  }
  Value extract(Location loc, Value whole, RankedTensorType type,
                ArrayRef<int64_t> offsetsIn) {
    SmallVector<OpFoldResult> offsets, sizes,
        strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t o : offsetsIn)
      offsets.push_back(b.getIndexAttr(o));
    for (int64_t s : type.getShape())
      sizes.push_back(b.getIndexAttr(s));
    return tensor::ExtractSliceOp::create(b, loc, type, whole, offsets, sizes,
                                          strides);
  }

  // --- Graph and comm ops ----------------------------------------------

  /// Makes every weight the code under `block` uses, so that weight
  /// generation stays out of the timed step.
  LogicalResult makeWeights(Block &block, int64_t repetition) {
    for (Operation &op : block) {
      if (auto param = dyn_cast<ParamOp>(op)) {
        if (failed(weight(param, repetition)))
          return failure();
      } else if (auto layer = dyn_cast<LayerOp>(op)) {
        int64_t first = firstRepeat(layer);
        for (int64_t r = 0; r < static_cast<int64_t>(layer.getRepeat()); ++r)
          if (failed(makeWeights(layer.getBodyBlock(), first + r)))
            return failure();
      } else if (auto call = dyn_cast<func::CallOp>(op)) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (callee && !callee.isExternal() &&
            failed(makeWeights(callee.getBody().front(), repetition)))
          return failure();
      }
    }
    return success();
  }

  static int64_t firstRepeat(LayerOp layer) {
    auto attr = layer->getAttrOfType<IntegerAttr>("comm.first_repeat");
    return attr ? attr.getInt() : 0;
  }

  FailureOr<Value> weight(ParamOp param, int64_t repetition) {
    auto key = std::make_pair(param.getName().str(), repetition);
    auto type = param.getType();
    auto it = weights.find(key);
    if (it != weights.end() && it->second.getType() == type)
      return it->second;
    SmallVector<int64_t> global(type.getShape()), offsets(type.getRank(), 0);
    if (auto shard = param->getAttrOfType<DenseI64ArrayAttr>("comm.shard")) {
      if (shard[0] >= type.getRank())
        return param.emitError()
               << "has 'comm.shard' on dimension " << shard[0] << " of a rank-"
               << type.getRank() << " weight";
      global[shard[0]] = shard[2];
      offsets[shard[0]] = shard[1];
    }
    // Keep activations near 1 through deep stacks: a matrix is scaled by
    // 1/16 over the next power of two of sqrt(fan-in) (a power of two, so
    // exact), a vector by 1/16.
    double scale = 1.0 / 16;
    if (type.getRank() >= 2)
      scale /= static_cast<double>(llvm::PowerOf2Ceil(static_cast<uint64_t>(
          std::ceil(std::sqrt(static_cast<double>(global[0]))))));
    Value value = generate(param.getLoc(), type, global, offsets,
                           weightSeed(param.getName(), repetition), scale);
    weights[key] = value;
    return value;
  }

  LogicalResult emitBlock(Block &block, IRMapping &map, int64_t repetition,
                          SmallVectorImpl<Value> &yielded) {
    for (Operation &op : block) {
      if (op.hasTrait<OpTrait::IsTerminator>()) {
        for (Value v : op.getOperands())
          yielded.push_back(map.lookup(v));
        return success();
      }
      if (failed(emitOp(&op, map, repetition)))
        return failure();
    }
    return success();
  }

  LogicalResult emitCall(func::FuncOp callee, ValueRange args,
                         int64_t repetition, SmallVectorImpl<Value> &results) {
    IRMapping map;
    for (auto [arg, v] : llvm::zip(callee.getArguments(), args))
      map.map(arg, v);
    return emitBlock(callee.getBody().front(), map, repetition, results);
  }

  LogicalResult emitOp(Operation *op, IRMapping &map, int64_t repetition) {
    Location loc = op->getLoc();
    auto bind = [&](Value result) {
      map.map(op->getResult(0), result);
      return success();
    };
    auto resultType = [&]() {
      return cast<RankedTensorType>(op->getResult(0).getType());
    };
    auto in = [&](unsigned i) { return map.lookup(op->getOperand(i)); };
    for (Value result : op->getResults())
      if (auto tensor = dyn_cast<RankedTensorType>(result.getType()))
        if (!tensor.getElementType().isF32())
          return op->emitError() << "yields " << tensor
                                 << ": the MPI path runs f32 models only";

    if (auto call = dyn_cast<func::CallOp>(op)) {
      auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
      if (!callee || callee.isExternal())
        return op->emitError() << "calls @" << call.getCallee()
                               << ", which has no body in this module";
      SmallVector<Value> args, results;
      for (Value v : call.getOperands())
        args.push_back(map.lookup(v));
      if (failed(emitCall(callee, args, repetition, results)))
        return failure();
      for (auto [r, v] : llvm::zip(call.getResults(), results))
        map.map(r, v);
      return success();
    }
    if (auto layer = dyn_cast<LayerOp>(op)) {
      SmallVector<Value> current;
      for (Value v : layer.getInputs())
        current.push_back(map.lookup(v));
      int64_t first = firstRepeat(layer);
      for (int64_t r = 0; r < static_cast<int64_t>(layer.getRepeat()); ++r) {
        IRMapping inner;
        for (auto [arg, v] :
             llvm::zip(layer.getBodyBlock().getArguments(), current))
          inner.map(arg, v);
        SmallVector<Value> next;
        if (failed(emitBlock(layer.getBodyBlock(), inner, first + r, next)))
          return failure();
        current = std::move(next);
      }
      for (auto [r, v] : llvm::zip(layer.getResults(), current))
        map.map(r, v);
      return success();
    }
    if (auto param = dyn_cast<ParamOp>(op)) {
      FailureOr<Value> value = weight(param, repetition);
      if (failed(value))
        return failure();
      return bind(*value);
    }
    if (auto linear = dyn_cast<LinearOp>(op)) {
      Value x = in(0), w = in(1);
      auto xType = cast<RankedTensorType>(x.getType());
      auto wType = cast<RankedTensorType>(w.getType());
      if (xType.getRank() < 2)
        return op->emitError() << "has a rank-1 input; the MPI path needs rows";
      int64_t rows = xType.getNumElements() / xType.getShape().back();
      auto x2 = RankedTensorType::get({rows, xType.getShape().back()},
                                      xType.getElementType());
      auto y2 = RankedTensorType::get({rows, wType.getShape()[1]},
                                      xType.getElementType());
      Value product =
          linalg::MatmulOp::create(b, loc, ValueRange{reshape(loc, x, x2), w},
                                   ValueRange{zeros(loc, y2)})
              .getResult(0);
      if (linear.getBias())
        product = elementwise(
            loc, y2, ValueRange{product, map.lookup(linear.getBias())},
            [](OpBuilder &nb, Location nl, ValueRange a) {
              return arith::AddFOp::create(nb, nl, a[0], a[1]).getResult();
            });
      return bind(reshape(loc, product, resultType()));
    }
    if (auto matmul = dyn_cast<MatmulOp>(op)) {
      auto lhsType = cast<RankedTensorType>(in(0).getType());
      auto rhsType = cast<RankedTensorType>(in(1).getType());
      if (lhsType.getRank() != 2 || rhsType.getRank() != 2)
        return op->emitError() << "is a batched matmul; the MPI path lowers "
                                  "rank-2 matmuls only";
      Value rhs = in(1);
      if (matmul.getTransposeRhs()) {
        auto t = RankedTensorType::get(
            {rhsType.getShape()[1], rhsType.getShape()[0]},
            rhsType.getElementType());
        rhs = linalg::TransposeOp::create(
                  b, loc, rhs,
                  tensor::EmptyOp::create(b, loc, t.getShape(),
                                          t.getElementType()),
                  ArrayRef<int64_t>{1, 0})
                  .getResult()[0];
      }
      return bind(linalg::MatmulOp::create(b, loc, ValueRange{in(0), rhs},
                                           ValueRange{zeros(loc, resultType())})
                      .getResult(0));
    }
    using Body = Value (*)(OpBuilder &, Location, ValueRange);
    Body unary = nullptr;
    if (isa<ReluOp>(op))
      unary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value zero = arith::ConstantOp::create(nb, nl, nb.getF32FloatAttr(0));
        return arith::MaximumFOp::create(nb, nl, a[0], zero);
      };
    else if (isa<ExpOp>(op))
      unary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return math::ExpOp::create(nb, nl, a[0]);
      };
    else if (isa<NegOp>(op))
      unary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::NegFOp::create(nb, nl, a[0]);
      };
    else if (isa<SigmoidOp>(op))
      unary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return sigmoid(nb, nl, a[0]);
      };
    else if (isa<SiluOp>(op))
      unary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, nl, a[0], sigmoid(nb, nl, a[0]));
      };
    if (unary)
      return bind(elementwise(loc, resultType(), ValueRange{in(0)}, unary));
    Body binary = nullptr;
    if (isa<AddOp>(op))
      binary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::AddFOp::create(nb, nl, a[0], a[1]);
      };
    else if (isa<SubOp>(op))
      binary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::SubFOp::create(nb, nl, a[0], a[1]);
      };
    else if (isa<MulOp>(op))
      binary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, nl, a[0], a[1]);
      };
    else if (isa<DivOp>(op))
      binary = [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        return arith::DivFOp::create(nb, nl, a[0], a[1]);
      };
    if (binary)
      return bind(
          elementwise(loc, resultType(), ValueRange{in(0), in(1)}, binary));
    if (auto slice = dyn_cast<SliceOp>(op))
      return bind(extract(loc, in(0), resultType(), slice.getOffsets()));
    if (auto concat = dyn_cast<ConcatOp>(op)) {
      Value whole = tensor::EmptyOp::create(b, loc, resultType().getShape(),
                                            resultType().getElementType());
      int64_t offset = 0, axis = concat.getAxis();
      for (Value input : concat.getInputs()) {
        whole = insertAt(loc, map.lookup(input), whole, axis, offset);
        offset += cast<RankedTensorType>(input.getType()).getShape()[axis];
      }
      return bind(whole);
    }
    if (isa<ReshapeOp>(op))
      return bind(reshape(loc, in(0), resultType()));
    if (auto transpose = dyn_cast<TransposeOp>(op)) {
      Value empty = tensor::EmptyOp::create(b, loc, resultType().getShape(),
                                            resultType().getElementType());
      return bind(linalg::TransposeOp::create(b, loc, in(0), empty,
                                              transpose.getPermutation())
                      .getResult()[0]);
    }
    if (auto sendOp = dyn_cast<comm::SendOp>(op)) {
      send(loc, in(0), sendOp.getPeer(), sendOp.getTag());
      return success();
    }
    if (auto recvOp = dyn_cast<comm::RecvOp>(op))
      return bind(recv(loc, resultType(), recvOp.getPeer(), recvOp.getTag()));
    if (auto reduce = dyn_cast<comm::AllReduceOp>(op))
      return bind(allReduce(loc, in(0), reduce.getGroup(), reduce.getKind()));
    if (auto gather = dyn_cast<comm::AllGatherOp>(op)) {
      // Each member writes its piece into zeros; the sum is the gather.
      int64_t offset = offsetIn(gather.getGroup(), gather.getSizes());
      Value padded = insertAt(loc, in(0), zeros(loc, resultType()),
                              gather.getDim(), offset);
      return bind(
          allReduce(loc, padded, gather.getGroup(), comm::ReductionKind::sum));
    }
    if (auto scatter = dyn_cast<comm::ReduceScatterOp>(op)) {
      int64_t offset = offsetIn(scatter.getGroup(), scatter.getSizes());
      Value reduced =
          allReduce(loc, in(0), scatter.getGroup(), scatter.getKind());
      SmallVector<int64_t> offsets(resultType().getRank(), 0);
      offsets[scatter.getDim()] = offset;
      return bind(extract(loc, reduced, resultType(), offsets));
    }
    if (auto broadcast = dyn_cast<comm::BroadcastOp>(op)) {
      // The root contributes its value, everyone else zeros.
      Value mine = static_cast<int64_t>(broadcast.getRoot()) == device
                       ? in(0)
                       : zeros(loc, resultType());
      return bind(
          allReduce(loc, mine, broadcast.getGroup(), comm::ReductionKind::sum));
    }
    if (isa<comm::AllToAllOp>(op))
      return op->emitError()
             << "has no lowering on the MPI path yet (all-to-all "
                "is used by expert parallelism)";
    if (op->getNumRegions() == 0 &&
        (isa<arith::ArithDialect, tensor::TensorDialect>(op->getDialect()))) {
      b.clone(*op, map); // constants and the like; results land in `map`
      return success();
    }
    return op->emitError() << "'" << op->getName()
                           << "' has no lowering on the MPI path (it lowers "
                              "linear, matmul, elementwise, slice, concat, "
                              "reshape, transpose, layers and comm ops)";
  }

  /// Prints `value` after a header line the run script parses.
  void print(Location loc, StringRef header, Value value) {
    vector::PrintOp::create(b, loc, Value(), vector::PrintPunctuation::NewLine,
                            b.getStringAttr(header));
    auto type = cast<RankedTensorType>(value.getType());
    Value unranked = tensor::CastOp::create(
        b, loc, UnrankedTensorType::get(type.getElementType()), value);
    func::CallOp::create(b, loc, printMemref, ValueRange{unranked});
  }
  void printScalar(Location loc, StringRef label, Value value, bool last) {
    vector::PrintOp::create(b, loc, Value(), vector::PrintPunctuation::NewLine,
                            b.getStringAttr(label));
    vector::PrintOp::create(b, loc, value,
                            last ? vector::PrintPunctuation::NewLine
                                 : vector::PrintPunctuation::NoPunctuation,
                            StringAttr());
  }

  /// One program: generated inputs, the weights, then the timed step and
  /// its printed results. `batchOffset` places the results in the batch.
  LogicalResult emitProgram(func::FuncOp step, int64_t batchOffset) {
    Location loc = step.getLoc();
    weights.clear(); // each device's weights live in its own switch case
    SmallVector<Value> args;
    for (auto [i, arg] : llvm::enumerate(step.getArguments())) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type || !type.getElementType().isF32())
        return step.emitError() << "takes " << arg.getType()
                                << ": the MPI path generates f32 inputs only";
      auto index = step.getArgAttrOfType<IntegerAttr>(i, "comm.input");
      auto offset = step.getArgAttrOfType<IntegerAttr>(i, "comm.batch_offset");
      SmallVector<int64_t> global(type.getShape()), offsets(type.getRank(), 0);
      if (offset && type.getRank() > 0)
        offsets[0] = offset.getInt(); // strides do not depend on dim 0
      args.push_back(generate(arg.getLoc(), type, global, offsets,
                              inputSeed(index ? index.getInt() : i), 1.0 / 4));
    }
    if (failed(makeWeights(step.getBody().front(), 0)))
      return failure();
    mpiSeconds = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0));
    idleSeconds = mpiSeconds;
    if (world) { // everyone starts the timed step together; mpi.barrier
                 // has no LLVM lowering in 22, a one-element all-reduce does
      auto one = RankedTensorType::get({1}, b.getF32Type());
      Value in = newBuffer(loc, one), out = newBuffer(loc, one);
      mpi::AllReduceOp::create(b, loc, Type(), in, out,
                               mpi::MPI_ReductionOpEnum::MPI_SUM, world);
    }
    Value start = now(loc);
    SmallVector<Value> results;
    if (failed(emitCall(step, args, 0, results)))
      return failure();
    Value total = arith::SubFOp::create(b, loc, now(loc), start);
    std::string who = "reference";
    if (device >= 0) {
      auto attr = [&](StringRef name) {
        auto value = step->getAttrOfType<IntegerAttr>(name);
        return std::to_string(value ? value.getInt() : 0);
      };
      who = "device=" + std::to_string(device) +
            " stage=" + attr("comm.stage") +
            " replica=" + attr("comm.replica") +
            " tp_rank=" + attr("comm.tp_rank");
    }
    for (auto [k, result] : llvm::enumerate(results)) {
      if (!isa<RankedTensorType>(result.getType()))
        return step.emitError() << "returns " << result.getType()
                                << ": the MPI path prints tensors only";
      print(loc,
            "chipmesh-mpi " + who + " result=" + std::to_string(k) +
                " batch_offset=" + std::to_string(batchOffset) + "\n",
            result);
    }
    printScalar(loc, "chipmesh-mpi " + who + " step_s=", total, false);
    printScalar(loc, " mpi_s=", mpiSeconds, false);
    printScalar(loc, " idle_s=", idleSeconds, true);
    return success();
  }

private:
  OpBuilder &b;
  ModuleOp module;
  func::FuncOp rtclock, printMemref;
  std::map<std::pair<std::string, int64_t>, Value> weights;
};

struct LowerToMPIPass
    : public ListsOptionsOnError<
          chipmesh::impl::ChipMeshLowerToMPIBase<LowerToMPIPass>> {
  using ListsOptionsOnError::ListsOptionsOnError;
  void runOnOperation() override;

private:
  LogicalResult collectSteps(std::map<int64_t, func::FuncOp> &steps);
  LogicalResult emitRankDispatch(OpBuilder &b, ProgramEmitter &emitter,
                                 const PlanSpec &plan,
                                 const std::map<int64_t, func::FuncOp> &steps);
};

/// Every device's step function; devices must be 0..n-1 (MPI rank i
/// runs device i).
LogicalResult
LowerToMPIPass::collectSteps(std::map<int64_t, func::FuncOp> &steps) {
  ModuleOp module = getOperation();
  for (auto fn : module.getOps<func::FuncOp>()) {
    auto device = fn->getAttrOfType<comm::DeviceAttr>(
        comm::CommDialect::getDeviceAttrName());
    if (device && fn->hasAttr("comm.stage"))
      steps[device.getIndex()] = fn;
  }
  if (steps.empty()) {
    module.emitError() << "has no per-device step functions; run "
                          "--chipmesh-materialize first";
    return failure();
  }
  int64_t expected = 0;
  for (auto [device, fn] : steps) {
    if (device != expected) {
      module.emitError() << "has no step function for device " << expected
                         << "; MPI rank i runs device i, so devices must be "
                            "0.."
                         << steps.size() - 1;
      return failure();
    }
    ++expected;
  }
  return success();
}

/// MPI set-up, one communicator per collective group, and a switch on the
/// rank over the devices' programs.
LogicalResult
LowerToMPIPass::emitRankDispatch(OpBuilder &b, ProgramEmitter &emitter,
                                 const PlanSpec &plan,
                                 const std::map<int64_t, func::FuncOp> &steps) {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  Location loc = module.getLoc();
  mpi::InitOp::create(b, loc, Type());
  auto commType = mpi::CommType::get(ctx);
  emitter.world = mpi::CommWorldOp::create(b, loc, commType);
  Value rank =
      mpi::CommRankOp::create(b, loc, Type(), b.getI32Type(), emitter.world)
          .getRank();
  // One communicator per collective group, split off the world by every
  // rank in the same order (MPI_Comm_split is collective).
  std::set<std::vector<int64_t>> groups;
  for (auto fn : module.getOps<func::FuncOp>())
    if (fn->hasAttr(comm::CommDialect::getDeviceAttrName()))
      fn.walk([&](Operation *op) {
        if (auto g = op->getAttrOfType<DenseI64ArrayAttr>("group"))
          groups.insert(std::vector<int64_t>(g.asArrayRef().begin(),
                                             g.asArrayRef().end()));
      });
  for (const std::vector<int64_t> &group : groups) {
    Value inGroup = arith::ConstantOp::create(b, loc, b.getBoolAttr(false));
    for (int64_t member : group)
      inGroup = arith::OrIOp::create(
          b, loc, inGroup,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, rank,
                                emitter.i32(loc, member)));
    Value color = arith::SelectOp::create(b, loc, inGroup, emitter.i32(loc, 0),
                                          emitter.i32(loc, 1));
    emitter.groups[group] = mpi::CommSplitOp::create(b, loc, Type(), commType,
                                                     emitter.world, color, rank)
                                .getNewcomm();
  }
  Value index = arith::IndexCastOp::create(b, loc, b.getIndexType(), rank);
  SmallVector<int64_t> cases;
  for (auto [device, fn] : steps)
    cases.push_back(device);
  auto dispatch = scf::IndexSwitchOp::create(b, loc, TypeRange{}, index, cases,
                                             cases.size());
  // Where each replica's samples start in the global batch.
  std::vector<int64_t> replicaOffset{0};
  for (int64_t m : plan.replicaMicroBatches)
    replicaOffset.push_back(replicaOffset.back() + m * plan.microBatch);
  for (auto [k, entryAndFn] : llvm::enumerate(steps)) {
    auto [device, fn] = entryAndFn;
    Block *block = b.createBlock(&dispatch.getCaseRegions()[k]);
    b.setInsertionPointToStart(block);
    emitter.device = device;
    auto replica = fn->getAttrOfType<IntegerAttr>("comm.replica");
    int64_t r = replica ? replica.getInt() : 0;
    int64_t offset =
        r < static_cast<int64_t>(replicaOffset.size()) ? replicaOffset[r] : 0;
    if (failed(emitter.emitProgram(fn, offset)))
      return failure();
    scf::YieldOp::create(b, loc);
  }
  // A rank beyond the plan says so and does nothing.
  Block *fallback = b.createBlock(&dispatch.getDefaultRegion());
  b.setInsertionPointToStart(fallback);
  vector::PrintOp::create(
      b, loc, Value(), vector::PrintPunctuation::NewLine,
      b.getStringAttr("chipmesh-mpi error: this rank has no "
                      "device in the plan (it has " +
                      std::to_string(steps.size()) + ")\n"));
  scf::YieldOp::create(b, loc);
  b.setInsertionPointAfter(dispatch);
  mpi::FinalizeOp::create(b, loc, Type());
  return success();
}

void LowerToMPIPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  if (module.lookupSymbol("main")) {
    module.emitError()
        << "already has a @main; the MPI program needs that name";
    return signalPassFailure();
  }
  FailureOr<PlanSpec> planOr = readPlanSpec(module);
  if (failed(planOr))
    return signalPassFailure();
  const PlanSpec &plan = *planOr;
  if (plan.training) {
    module.emitError() << "the plan trains (mode = \"train\"); the MPI path "
                          "runs inference plans only: backward and the "
                          "optimizer have no linalg lowering here";
    return signalPassFailure();
  }
  // Per-device step functions, by device.
  std::map<int64_t, func::FuncOp> steps;
  if (!reference && failed(collectSteps(steps)))
    return signalPassFailure();

  OpBuilder b(ctx);
  Location loc = module.getLoc();
  b.setInsertionPointToEnd(module.getBody());
  auto rtclock = func::FuncOp::create(b, loc, "rtclock",
                                      b.getFunctionType({}, {b.getF64Type()}));
  rtclock.setPrivate();
  auto printMemref = func::FuncOp::create(
      b, loc, "printMemrefF32",
      b.getFunctionType({UnrankedTensorType::get(b.getF32Type())}, {}));
  printMemref.setPrivate();
  auto main = func::FuncOp::create(b, loc, "main", b.getFunctionType({}, {}));
  Block *entry = main.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ProgramEmitter emitter(b, module, rtclock, printMemref);

  bool ok = true;
  if (reference) {
    ok = succeeded(emitter.emitProgram(plan.model, 0));
  } else {
    ok = succeeded(emitRankDispatch(b, emitter, plan, steps));
  }
  if (!ok)
    return signalPassFailure();
  b.setInsertionPointToEnd(entry);
  func::ReturnOp::create(b, loc);

  // Keep only the program: upstream tools read it.
  for (Operation &op :
       llvm::make_early_inc_range(module.getBody()->getOperations()))
    if (&op != main && &op != rtclock && &op != printMemref)
      op.erase();
  for (NamedAttribute attr : llvm::to_vector(module->getAttrs()))
    if (attr.getName().getValue().starts_with("chipmesh."))
      module->removeAttr(attr.getName());
  // How many processes the program wants, for the launcher to check.
  module->setAttr(
      "chipmesh.mpi_ranks",
      b.getI64IntegerAttr(reference ? 1 : static_cast<int64_t>(steps.size())));
  if (!reference)
    module->setAttr(
        "dlti.map",
        MapAttr::get(ctx, {DataLayoutEntryAttr::get(
                              StringAttr::get(ctx, "MPI:Implementation"),
                              StringAttr::get(ctx, "MPICH"))}));
}

struct DropDLTIPass : public ListsOptionsOnError<
                          chipmesh::impl::ChipMeshDropDLTIBase<DropDLTIPass>> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (NamedAttribute attr : llvm::to_vector(module->getAttrs()))
      if (attr.getName().getValue().starts_with("dlti."))
        module->removeAttr(attr.getName());
  }
};

} // namespace
