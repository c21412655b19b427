//===- chipmesh-translate.cpp - Importers into the graph dialect ----------===//

#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/InitAllDialects.h"
#include "chipmesh/Support/Version.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;

static llvm::cl::OptionCategory hfCategory("Hugging Face import options");
static llvm::cl::opt<int64_t> hfBatch("hf-batch", llvm::cl::init(1),
                                      llvm::cl::desc("Batch size (sequences)"),
                                      llvm::cl::cat(hfCategory));
static llvm::cl::opt<int64_t> hfSeqLen(
    "hf-seq-len", llvm::cl::init(0),
    llvm::cl::desc("Tokens per sequence (0: min(max positions, 4096))"),
    llvm::cl::cat(hfCategory));
static llvm::cl::opt<std::string>
    hfMode("hf-mode", llvm::cl::init("train"),
           llvm::cl::desc("train (loss, labels input) or infer (logits)"),
           llvm::cl::cat(hfCategory));
static llvm::cl::opt<int64_t>
    hfKvCache("hf-kv-cache", llvm::cl::init(0),
              llvm::cl::desc("Inference: cached positions before the new tokens"),
              llvm::cl::cat(hfCategory));
static llvm::cl::opt<bool> hfFlash(
    "hf-flash-attention", llvm::cl::init(true),
    llvm::cl::desc("Fused attention that saves no probabilities"),
    llvm::cl::cat(hfCategory));
static llvm::cl::opt<std::string>
    hfDtype("hf-dtype", llvm::cl::init(""),
            llvm::cl::desc("bf16, fp16 or fp32 (default: the config's "
                           "torch_dtype, else bf16)"),
            llvm::cl::cat(hfCategory));

int main(int argc, char **argv) {
  chipmesh::addVersionPrinter("chipmesh-translate");
  TranslateToMLIRRegistration importHF(
      "import-hf-config", "Hugging Face config.json to a graph model",
      [](llvm::SourceMgr &sourceMgr,
         MLIRContext *context) -> OwningOpRef<Operation *> {
        const llvm::MemoryBuffer *buffer =
            sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
        chipmesh::HFImportOptions options;
        options.batch = hfBatch;
        options.seqLen = hfSeqLen;
        if (hfMode != "train" && hfMode != "infer") {
          emitError(UnknownLoc::get(context))
              << "--hf-mode must be 'train' or 'infer', got '" << hfMode << "'";
          return nullptr;
        }
        options.training = hfMode == "train";
        options.kvCache = hfKvCache;
        options.flashAttention = hfFlash;
        options.dtype = hfDtype;
        OwningOpRef<ModuleOp> module = chipmesh::importHFConfig(
            buffer->getBuffer(), buffer->getBufferIdentifier(), options,
            context);
        if (!module)
          return nullptr;
        return OwningOpRef<Operation *>(module.release());
      },
      [](DialectRegistry &registry) {
        chipmesh::registerChipMeshDialects(registry);
      });
  return failed(mlirTranslateMain(argc, argv, "ChipMesh translation tool"));
}
