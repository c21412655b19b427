//===- Output.h - Output files that appear only when the run succeeds -*- C++ -*-===//
//
// A pass that writes a report cannot know whether a later pass of the same
// pipeline will fail. Tools that run pipelines (chipmesh-opt, the Python
// Module.run, chipmesh-plan) open a transaction: while one is open, every
// file opened through openCommittedOutput is written to a temporary file
// beside its path and renamed onto it only by commitOutputs(); a failed run
// calls discardOutputs() and leaves nothing behind (nor a half-written file:
// the rename is atomic). Outside a transaction (a library caller that never
// commits) files are written directly, as llvm::ToolOutputFile does; so are
// paths that are not regular files (/dev/null, a pipe, a symbolic link).
//
//===----------------------------------------------------------------------===//
#ifndef CHIPMESH_SUPPORT_OUTPUT_H
#define CHIPMESH_SUPPORT_OUTPUT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/ToolOutputFile.h"
#include <memory>
#include <string>

namespace chipmesh {

/// Opens `path` ("-" is stdout) for writing; the caller writes and calls
/// keep(), as with mlir::openOutputFile. Null with `error` set on failure.
std::unique_ptr<llvm::ToolOutputFile> openCommittedOutput(llvm::StringRef path,
                                                          std::string *error);

/// Where `path` can be read now: the temporary of an output written
/// earlier in the open transaction (a pass reading what an earlier pass of
/// the same pipeline wrote, e.g. report= then plan=), else `path` itself.
std::string readablePath(llvm::StringRef path);

/// Starts deferring outputs (nested calls are counted).
void beginOutputTransaction();
/// Renames every kept temporary onto its path; false with `error` naming
/// the file when one cannot be renamed. Ends the transaction.
bool commitOutputs(std::string *error = nullptr);
/// Removes the temporaries opened since the innermost transaction began
/// (an enclosing transaction keeps its own). Ends the transaction.
void discardOutputs();

/// A transaction as a scope: discarded when left without commit() (an
/// early return or an exception leaves nothing behind).
class OutputTransaction {
public:
  OutputTransaction();
  ~OutputTransaction();
  OutputTransaction(const OutputTransaction &) = delete;
  OutputTransaction &operator=(const OutputTransaction &) = delete;
  bool commit(std::string *error = nullptr);
  void discard();

private:
  bool open = true;
};

} // namespace chipmesh

#endif // CHIPMESH_SUPPORT_OUTPUT_H
