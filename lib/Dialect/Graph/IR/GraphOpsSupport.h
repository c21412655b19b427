//===- GraphOpsSupport.h - Helpers the graph op files share -----*- C++ -*-===//
//
// Private to lib/Dialect/Graph/IR: shape-inference errors, attributes read
// while parsing, extent limits and shape arithmetic, used by GraphOps.cpp
// (dialect, compute ops) and GraphStructureOps.cpp (shape, MoE, layer and
// training-step ops).
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_LIB_DIALECT_GRAPH_IR_GRAPHOPSSUPPORT_H
#define CHIPMESH_LIB_DIALECT_GRAPH_IR_GRAPHOPSSUPPORT_H

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/raw_ostream.h"
#include <optional>
#include <string>

namespace chipmesh::graph::support {

using namespace mlir;

/// Shape-inference errors: located at the op, silent when no location is
/// given (as InferTypeOpInterface expects).
struct InferError {
  std::optional<Location> loc;
  StringRef opName;
  LogicalResult operator()(const Twine &message) const {
    return emitOptionalError(loc, "'graph.", opName, "' op ", message);
  }
};

/// An attribute read while parsing: the adaptor's generated getters assume
/// required attributes exist and have the declared kind, which parsing has
/// not checked yet. Absent or mistyped -> null.
template <typename AttrT, typename AdaptorT>
AttrT attrOf(AdaptorT &adaptor, StringRef name) {
  DictionaryAttr attrs = adaptor.getAttributes();
  return attrs ? dyn_cast_or_null<AttrT>(attrs.get(name)) : AttrT();
}

/// Dimensions and attribute values beyond this are rejected before any
/// arithmetic on them can overflow.
constexpr int64_t kMaxExtent = int64_t(1) << 40;

inline RankedTensorType ranked(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() ? tensor : RankedTensorType();
}

inline std::string str(Type type) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << type;
  return out;
}

/// Normalizes a possibly negative axis; nullopt if out of range.
inline std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return std::nullopt;
  return axis < 0 ? axis + rank : axis;
}

/// NumPy broadcasting of two shapes.
inline std::optional<SmallVector<int64_t>>
broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

} // namespace chipmesh::graph::support

#endif // CHIPMESH_LIB_DIALECT_GRAPH_IR_GRAPHOPSSUPPORT_H
