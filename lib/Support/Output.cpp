//===- Output.cpp - Output files that appear only when the run succeeds ---===//

#include "chipmesh/Support/Output.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include <mutex>
#include <vector>

using namespace chipmesh;

namespace {
struct Pending {
  std::string temporary, final;
};
struct Registry {
  std::mutex mutex;
  /// Per open transaction, how many outputs were pending when it began:
  /// a nested transaction that fails discards its own outputs only.
  std::vector<size_t> marks;
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
  bool deferred = !r.marks.empty() && path != "-";
  lock.unlock();
  // Only a regular file (or a new one) is replaced by renaming: a device,
  // a pipe or a symbolic link is written in place (renaming over
  // /dev/null as root would replace the device).
  llvm::sys::fs::file_status status;
  if (deferred && !llvm::sys::fs::status(path, status, /*follow=*/false) &&
      status.type() != llvm::sys::fs::file_type::regular_file)
    deferred = false;
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
  // Removed on a signal even once the writer keep()s it (keep() drops
  // ToolOutputFile's own registration, not this one).
  llvm::sys::RemoveFileOnSignal(temporary);
  lock.lock();
  r.pending.push_back({temporary.str().str(), path.str()});
  return out;
}

std::string chipmesh::readablePath(llvm::StringRef path) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  // The latest write wins, as it would on disk.
  for (auto it = r.pending.rbegin(); it != r.pending.rend(); ++it)
    if (it->final == path && llvm::sys::fs::exists(it->temporary))
      return it->temporary;
  return path.str();
}

void chipmesh::beginOutputTransaction() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.marks.push_back(r.pending.size());
}

bool chipmesh::commitOutputs(std::string *error) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (!r.marks.empty())
    r.marks.pop_back();
  if (!r.marks.empty())
    return true; // the outermost transaction commits
  bool ok = true;
  for (const Pending &p : r.pending) {
    // A temporary the writer did not keep() was removed by ToolOutputFile.
    if (!llvm::sys::fs::exists(p.temporary)) {
      llvm::sys::DontRemoveFileOnSignal(p.temporary);
      continue;
    }
    if (std::error_code ec = llvm::sys::fs::rename(p.temporary, p.final)) {
      if (ok && error)
        *error = "cannot write '" + p.final + "': " + ec.message();
      ok = false;
      llvm::sys::fs::remove(p.temporary);
    }
    llvm::sys::DontRemoveFileOnSignal(p.temporary);
  }
  r.pending.clear();
  return ok;
}

void chipmesh::discardOutputs() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  size_t mark = 0;
  if (!r.marks.empty()) {
    mark = r.marks.back();
    r.marks.pop_back();
  }
  for (size_t i = mark; i < r.pending.size(); ++i) {
    llvm::sys::fs::remove(r.pending[i].temporary);
    llvm::sys::DontRemoveFileOnSignal(r.pending[i].temporary);
  }
  r.pending.resize(std::min(mark, r.pending.size()));
}

OutputTransaction::OutputTransaction() { beginOutputTransaction(); }

OutputTransaction::~OutputTransaction() {
  if (open)
    discardOutputs();
}

bool OutputTransaction::commit(std::string *error) {
  if (!open)
    return true;
  open = false;
  return commitOutputs(error);
}

void OutputTransaction::discard() {
  if (!open)
    return;
  open = false;
  discardOutputs();
}
