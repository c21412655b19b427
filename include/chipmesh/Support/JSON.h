//===- JSON.h - Bounded JSON reading, finite JSON writing -------*- C++ -*-===//
//
// Every JSON file ChipMesh reads (HF configs, inventories, calibrations,
// plan files) goes through parseBoundedJSON: llvm::json::parse recurses once
// per nesting level, so deeply nested input would overflow the stack; the
// depth is checked first, without recursion. Every report it writes goes
// through finiteJSON: JSON has no infinity or NaN, and llvm::json would print
// them bare (invalid JSON).
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_SUPPORT_JSON_H
#define CHIPMESH_SUPPORT_JSON_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace chipmesh {

/// The deepest nesting of arrays and objects any ChipMesh input needs is a
/// few levels; 64 leaves room for hand-written files and stays far from the
/// stack.
constexpr unsigned kMaxJSONDepth = 64;

/// The nesting depth of `text` (arrays and objects, strings skipped), in
/// one pass without recursion.
unsigned jsonNestingDepth(llvm::StringRef text);

/// llvm::json::parse, refusing input nested deeper than `maxDepth` first
/// ("nests N levels deep; at most M are read").
llvm::Expected<llvm::json::Value> parseBoundedJSON(llvm::StringRef text,
                                                   unsigned maxDepth = kMaxJSONDepth);

/// `value` with every non-finite number replaced by null.
llvm::json::Value finiteJSON(llvm::json::Value value);

} // namespace chipmesh

#endif // CHIPMESH_SUPPORT_JSON_H
