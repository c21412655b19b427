//===- JSON.cpp - Bounded JSON reading, finite JSON writing ---------------===//

#include "chipmesh/Support/JSON.h"
#include "llvm/Support/FormatVariadic.h"
#include <cmath>
#include <vector>

using namespace chipmesh;
namespace json = llvm::json;

unsigned chipmesh::jsonNestingDepth(llvm::StringRef text) {
  unsigned depth = 0, deepest = 0;
  bool inString = false, escaped = false;
  for (char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
      continue;
    }
    if (c == '"')
      inString = true;
    else if (c == '[' || c == '{')
      deepest = std::max(deepest, ++depth);
    else if ((c == ']' || c == '}') && depth > 0)
      --depth;
  }
  return deepest;
}

llvm::Expected<json::Value> chipmesh::parseBoundedJSON(llvm::StringRef text,
                                                       unsigned maxDepth) {
  unsigned depth = jsonNestingDepth(text);
  if (depth > maxDepth)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("nests {0} levels deep; at most {1} are read", depth,
                      maxDepth)
            .str());
  return json::parse(text);
}

json::Value chipmesh::finiteJSON(json::Value value) {
  // Iterative: the value may come from anywhere, however deep.
  std::vector<json::Value *> work = {&value};
  while (!work.empty()) {
    json::Value *v = work.back();
    work.pop_back();
    if (json::Object *object = v->getAsObject()) {
      for (auto &entry : *object)
        work.push_back(&entry.second);
    } else if (json::Array *array = v->getAsArray()) {
      for (json::Value &element : *array)
        work.push_back(&element);
    } else if (v->kind() == json::Value::Number) {
      std::optional<double> number = v->getAsNumber();
      if (number && !std::isfinite(*number))
        *v = nullptr;
    }
  }
  return value;
}
