//===- HFConfig.h - Hugging Face config.json -> graph model -----*- C++ -*-===//
#ifndef CHIPMESH_IMPORT_HFCONFIG_H
#define CHIPMESH_IMPORT_HFCONFIG_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <string>

namespace chipmesh {

struct HFImportOptions {
  int64_t batch = 1;
  /// Tokens per sequence; 0 = min(max_position_embeddings, 4096).
  int64_t seqLen = 0;
  /// Training imports the loss (labels as an input); inference the logits.
  bool training = true;
  /// Inference only: cached positions before the new tokens (decode step).
  int64_t kvCache = 0;
  /// Fused attention that saves no probabilities (FlashAttention).
  bool flashAttention = true;
  /// Element type: "", "bf16", "fp16", "fp32"; "" = the config's
  /// torch_dtype, else bf16 (mixed-precision training's compute type).
  std::string dtype;
};

/// The architectures the importer knows (model_type values).
llvm::StringRef supportedHFModelTypes();

/// Builds a module with one `func.func @forward` from the text of a
/// config.json. Diagnostics are located in `fileName` (line and column of
/// the offending field where there is one). Returns null on error.
mlir::OwningOpRef<mlir::ModuleOp>
importHFConfig(llvm::StringRef configText, llvm::StringRef fileName,
               const HFImportOptions &options, mlir::MLIRContext *context);

} // namespace chipmesh

#endif // CHIPMESH_IMPORT_HFCONFIG_H
