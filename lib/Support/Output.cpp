//===- Output.cpp - Output files that appear only when the run succeeds ---===//

#include "chipmesh/Support/Output.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include <mutex>
#include <vector>

using namespace chipmesh;

namespace {
struct Pending {
  std::string temporary, final;
};
struct Registry {
  std::mutex mutex;
  unsigned depth = 0;
  std::vector<Pending> pending;
};
Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

std::unique_ptr<llvm::ToolOutputFile>
chipmesh::openCommittedOutput(llvm::StringRef path, std::string *error) {
  Registry &r = registry();
  std::unique_lock<std::mutex> lock(r.mutex);
  bool deferred = r.depth > 0 && path != "-";
  lock.unlock();
  std::error_code ec;
  if (!deferred) {
    auto out = std::make_unique<llvm::ToolOutputFile>(path, ec, llvm::sys::fs::OF_None);
    if (ec) {
      if (error)
        *error = ec.message();
      return nullptr;
    }
    return out;
  }
  // Beside the final path, so that the rename stays on one file system;
  // opening the final path's directory is what fails for a bad path.
  llvm::SmallString<256> model(path);
  llvm::sys::path::remove_filename(model);
  llvm::sys::path::append(model, "." + llvm::sys::path::filename(path).str() +
                                     ".tmp-%%%%%%");
  int fd = -1;
  llvm::SmallString<256> temporary;
  ec = llvm::sys::fs::createUniqueFile(model, fd, temporary);
  if (ec) {
    if (error)
      *error = "cannot open output file '" + path.str() + "': " + ec.message();
    return nullptr;
  }
  auto out = std::make_unique<llvm::ToolOutputFile>(temporary, fd);
  lock.lock();
  r.pending.push_back({temporary.str().str(), path.str()});
  return out;
}

void chipmesh::beginOutputTransaction() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  ++r.depth;
}

bool chipmesh::commitOutputs(std::string *error) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.depth > 0)
    --r.depth;
  if (r.depth > 0)
    return true; // the outermost transaction commits
  bool ok = true;
  for (const Pending &p : r.pending) {
    // A temporary the writer did not keep() was removed by ToolOutputFile.
    if (!llvm::sys::fs::exists(p.temporary))
      continue;
    if (std::error_code ec = llvm::sys::fs::rename(p.temporary, p.final)) {
      if (ok && error)
        *error = "cannot write '" + p.final + "': " + ec.message();
      ok = false;
      llvm::sys::fs::remove(p.temporary);
    }
  }
  r.pending.clear();
  return ok;
}

void chipmesh::discardOutputs() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.depth > 0)
    --r.depth;
  for (const Pending &p : r.pending)
    llvm::sys::fs::remove(p.temporary);
  r.pending.clear();
}
