//===- Enums.cpp - The planning vocabulary's enums ------------------------===//

#include "chipmesh/Support/Enums.h"
#include "llvm/ADT/StringSwitch.h"

#include "chipmesh/Support/Enums.cpp.inc"
