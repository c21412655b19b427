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
#include <string>
#include <vector>

#include "chipmesh/Support/Enums.h.inc"

namespace chipmesh {

/// The largest value of each enum (values run from 0 without gaps).
template <typename E> struct EnumTraits;
#define CHIPMESH_ENUM_TRAITS(E)                                                \
  template <> struct EnumTraits<E> {                                           \
    static constexpr unsigned maxValue = getMaxEnumValFor##E();                \
  };
CHIPMESH_ENUM_TRAITS(Mode)
CHIPMESH_ENUM_TRAITS(Recompute)
CHIPMESH_ENUM_TRAITS(DType)
CHIPMESH_ENUM_TRAITS(CollectiveKind)
CHIPMESH_ENUM_TRAITS(CollectiveAlgorithm)
CHIPMESH_ENUM_TRAITS(Protocol)
CHIPMESH_ENUM_TRAITS(Schedule)
CHIPMESH_ENUM_TRAITS(Objective)
CHIPMESH_ENUM_TRAITS(ReplicaLayout)
#undef CHIPMESH_ENUM_TRAITS

/// Every spelling of `E` for a message that says what is accepted:
/// "'gpipe' or '1f1b'" (`quoted`), or "none, selective, full or auto" with
/// `extra` = "auto" as a further alternative.
template <typename E>
std::string spellingsOf(bool quoted = true, llvm::StringRef extra = {}) {
  std::vector<std::string> words;
  for (unsigned v = 0; v <= EnumTraits<E>::maxValue; ++v)
    words.push_back(stringifyEnum(static_cast<E>(v)).str());
  if (!extra.empty())
    words.push_back(extra.str());
  std::string text;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i)
      text += i + 1 == words.size() ? " or " : ", ";
    text += quoted ? "'" + words[i] + "'" : words[i];
  }
  return text;
}

} // namespace chipmesh

#endif // CHIPMESH_SUPPORT_ENUMS_H
