//===- Enums.h - The planning vocabulary's enums ----------------*- C++ -*-===//
//
// Generated from Enums.td: Mode, Recompute, DType, CollectiveKind,
// CollectiveAlgorithm, Protocol, Schedule, Objective and ReplicaLayout, each
// with stringify<Enum>(value) and symbolize<Enum>(text).
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_SUPPORT_ENUMS_H
#define CHIPMESH_SUPPORT_ENUMS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMapInfo.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdint>
#include <optional>

#include "chipmesh/Support/Enums.h.inc"

#endif // CHIPMESH_SUPPORT_ENUMS_H
