//===- HFConfig.cpp - Hugging Face config.json -> graph model -------------===//
//
// Rebuilds the architecture a config.json describes as `graph` ops: GPT-2,
// the LLaMA family (LLaMA, Mistral, Qwen2, Mixtral) and BERT. Weights keep
// their Hugging Face names (relative to their layer inside `graph.layer`),
// ops carry a NameLoc with the module path, so a plan maps back to the
// framework. Weight matrices are stored [in, out], the transpose of
// PyTorch's nn.Linear layout; the element counts are the same.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/Support/JSON.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::graph;

llvm::StringRef chipmesh::supportedHFModelTypes() {
  return "gpt2, llama, mistral, qwen2, mixtral, bert";
}

namespace {

/// Reads typed fields of the config, reporting errors at the field's line.
class ConfigReader {
public:
  ConfigReader(const llvm::json::Object &object, StringRef text,
               StringRef fileName, MLIRContext *context)
      : object(object), text(text), fileName(fileName), context(context) {}

  /// Location of `"key"` in the file, or of the file itself.
  Location locOf(StringRef key = "") const {
    size_t at = key.empty() ? StringRef::npos : text.find(("\"" + key + "\"").str());
    unsigned line = 1, column = 1;
    if (at != StringRef::npos) {
      StringRef before = text.take_front(at);
      line += before.count('\n');
      size_t lastNewline = before.rfind('\n');
      column = at - (lastNewline == StringRef::npos ? 0 : lastNewline + 1) + 1;
    }
    return FileLineColLoc::get(context, fileName, line, column);
  }

  bool has(StringRef key) const {
    const llvm::json::Value *v = object.get(key);
    return v && v->kind() != llvm::json::Value::Null;
  }

  /// A positive integer field; `fallback` when absent (nullopt = required).
  FailureOr<int64_t> positive(StringRef key,
                              std::optional<int64_t> fallback = std::nullopt) {
    if (!has(key)) {
      if (fallback)
        return *fallback;
      return emitError(locOf()) << "config is missing required field '" << key
                                << "' (model_type '" << modelType << "')";
    }
    std::optional<int64_t> value = object.getInteger(key);
    if (!value)
      return emitError(locOf(key)) << "field '" << key
                                   << "' must be an integer";
    if (*value <= 0 || *value > (int64_t(1) << 40))
      return emitError(locOf(key)) << "field '" << key << "' must be in [1, 2^40], got "
                                   << *value;
    return *value;
  }

  FailureOr<bool> boolean(StringRef key, bool fallback) {
    if (!has(key))
      return fallback;
    std::optional<bool> value = object.getBoolean(key);
    if (!value)
      return emitError(locOf(key)) << "field '" << key
                                   << "' must be true or false";
    return *value;
  }

  /// A probability in [0, 1); `fallback` when absent.
  FailureOr<double> probability(StringRef key, double fallback) {
    if (!has(key))
      return fallback;
    std::optional<double> value = object.getNumber(key);
    if (!value)
      return emitError(locOf(key)) << "field '" << key << "' must be a number";
    if (!(*value >= 0 && *value < 1))
      return emitError(locOf(key)) << "field '" << key
                                   << "' must be in [0, 1), got "
                                   << llvm::formatv("{0}", *value).str();
    return *value;
  }

  /// A normalization epsilon: a number in (0, 1); `fallback` when absent.
  FailureOr<double> epsilon(StringRef key, double fallback) {
    if (!has(key))
      return fallback;
    std::optional<double> value = object.getNumber(key);
    if (!value)
      return emitError(locOf(key)) << "field '" << key << "' must be a number";
    if (!(*value > 0 && *value < 1))
      return emitError(locOf(key)) << "field '" << key
                                   << "' must be in (0, 1), got "
                                   << llvm::formatv("{0}", *value).str();
    return *value;
  }

  /// A string field that must be one of `allowed` (the first when absent).
  LogicalResult oneOf(StringRef key, ArrayRef<StringRef> allowed) {
    if (!has(key))
      return success();
    std::optional<StringRef> value = object.getString(key);
    if (!value)
      return emitError(locOf(key)) << "field '" << key << "' must be a string";
    if (!llvm::is_contained(allowed, *value))
      return emitError(locOf(key))
             << "field '" << key << "' is '" << *value << "'; model_type '"
             << modelType << "' is imported with " << allowed.front()
             << " (accepted: " << llvm::join(allowed, ", ") << ")";
    return success();
  }

  std::string string(StringRef key) const {
    return object.getString(key).value_or("").str();
  }

  std::string modelType;

private:
  const llvm::json::Object &object;
  StringRef text, fileName;
  MLIRContext *context;
};

/// Architecture numbers common to the families.
struct Arch {
  std::string modelType;
  int64_t vocab, hidden, layers, heads, kvHeads, headDim, ffn, positions;
  int64_t experts = 0, topK = 0, typeVocab = 0;
  bool tied = false, qkvBias = false, outBias = false, mlpBias = false;
  double epsilon = 1e-5;
  /// Dropout probabilities (training only): on attention probabilities,
  /// on each sub-layer's output before its residual add, on embeddings.
  double attentionDropout = 0, residualDropout = 0, embeddingDropout = 0;
};

/// Emits graph ops with framework-named locations.
class ModelBuilder {
public:
  ModelBuilder(OpBuilder &builder, Type elementType, StringRef scope)
      : b(builder), element(elementType), scope(scope.str()) {}

  Location at(StringRef name) {
    return NameLoc::get(b.getStringAttr(scope.empty() ? name.str()
                                                      : scope + "." + name.str()));
  }
  RankedTensorType tensor(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, element);
  }
  /// Inside a layer, weights are named relative to the layer (each
  /// repetition has its own); elsewhere by their full module path.
  Value param(StringRef name, ArrayRef<int64_t> shape) {
    Location loc = at(name);
    StringRef full = cast<NameLoc>(loc).getName().getValue();
    return ParamOp::create(b, loc, tensor(shape),
                           b.getStringAttr(insideLayer ? name : full));
  }
  Value linear(StringRef module, Value x, int64_t in, int64_t out, bool bias) {
    Value w = param((module + ".weight").str(), {in, out});
    Value bv = bias ? param((module + ".bias").str(), {out}) : Value();
    return LinearOp::create(b, at(module), x, w, bv);
  }
  Value layerNorm(StringRef module, Value x, int64_t d, double eps) {
    Value scale = param((module + ".weight").str(), {d});
    Value bias = param((module + ".bias").str(), {d});
    return LayerNormOp::create(b, at(module), x, scale, bias,
                               llvm::APFloat(eps));
  }
  Value rmsNorm(StringRef module, Value x, int64_t d, double eps) {
    Value scale = param((module + ".weight").str(), {d});
    return RmsNormOp::create(b, at(module), x, scale, llvm::APFloat(eps));
  }
  /// Dropout with probability `rate`, or `x` itself when it is 0.
  Value dropout(StringRef name, Value x, double rate) {
    if (rate <= 0)
      return x;
    return DropoutOp::create(b, at(name), x.getType(), x,
                             b.getF64FloatAttr(rate));
  }
  Value reshape(StringRef name, Value x, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(
        shape, cast<RankedTensorType>(x.getType()).getElementType());
    return ReshapeOp::create(b, at(name), type, x);
  }

  OpBuilder &b;
  Type element;
  std::string scope;
  bool insideLayer = false;
};

class HFImporter {
public:
  HFImporter(ConfigReader &config, const HFImportOptions &options,
             MLIRContext *context)
      : config(config), options(options), context(context) {}

  OwningOpRef<ModuleOp> run(StringRef modelType);

private:
  LogicalResult readArch(StringRef modelType);
  Value attention(ModelBuilder &m, Value x, bool causal, bool rotary,
                  bool fusedQKV, StringRef qName, StringRef kName,
                  StringRef vName, StringRef outName);
  Value decoderLayer(ModelBuilder &m, Value x);
  Value gpt2Layer(ModelBuilder &m, Value x);
  Value bertLayer(ModelBuilder &m, Value x);
  Value buildLayers(OpBuilder &b, Value x, StringRef name,
                    function_ref<Value(ModelBuilder &, Value)> body);

  ConfigReader &config;
  HFImportOptions options;
  MLIRContext *context;
  Arch arch;
  int64_t batch = 1, seq = 1;
  Type element;
};

LogicalResult HFImporter::readArch(StringRef modelType) {
  arch.modelType = modelType.str();
  auto get = [&](StringRef key, std::optional<int64_t> fallback = std::nullopt,
                 int64_t *out = nullptr) -> LogicalResult {
    FailureOr<int64_t> value = config.positive(key, fallback);
    if (failed(value))
      return failure();
    *out = *value;
    return success();
  };
  bool gpt2 = modelType == "gpt2";
  if (gpt2) {
    if (failed(get("vocab_size", std::nullopt, &arch.vocab)) ||
        failed(get("n_embd", std::nullopt, &arch.hidden)) ||
        failed(get("n_layer", std::nullopt, &arch.layers)) ||
        failed(get("n_head", std::nullopt, &arch.heads)) ||
        failed(get("n_positions", 1024, &arch.positions)) ||
        failed(get("n_inner", 4 * arch.hidden, &arch.ffn)))
      return failure();
    arch.kvHeads = arch.heads;
    FailureOr<double> eps = config.epsilon("layer_norm_epsilon", 1e-5);
    if (failed(eps) ||
        failed(config.oneOf("activation_function",
                            {"gelu_new", "gelu", "gelu_fast", "gelu_pytorch_tanh"})))
      return failure();
    arch.epsilon = *eps;
    arch.qkvBias = arch.outBias = arch.mlpBias = true;
  } else {
    if (failed(get("vocab_size", std::nullopt, &arch.vocab)) ||
        failed(get("hidden_size", std::nullopt, &arch.hidden)) ||
        failed(get("num_hidden_layers", std::nullopt, &arch.layers)) ||
        failed(get("num_attention_heads", std::nullopt, &arch.heads)) ||
        failed(get("intermediate_size", std::nullopt, &arch.ffn)) ||
        failed(get("max_position_embeddings", 4096, &arch.positions)) ||
        failed(get("num_key_value_heads", arch.heads, &arch.kvHeads)))
      return failure();
    FailureOr<double> eps = config.epsilon(
        modelType == "bert" ? "layer_norm_eps" : "rms_norm_eps",
        modelType == "bert" ? 1e-12 : 1e-6);
    if (failed(eps))
      return failure();
    arch.epsilon = *eps;
    // The importer builds each family's own activation; a config naming
    // another would be priced as if it used this one.
    LogicalResult act = modelType == "bert"
                            ? config.oneOf("hidden_act", {"gelu", "gelu_new",
                                                          "gelu_pytorch_tanh"})
                            : config.oneOf("hidden_act", {"silu", "swish"});
    if (failed(act))
      return failure();
  }
  if (arch.hidden % arch.heads != 0 && !config.has("head_dim"))
    return emitError(config.locOf(gpt2 ? "n_head" : "num_attention_heads"))
           << "hidden size " << arch.hidden << " is not divisible by "
           << arch.heads << " attention heads";
  if (failed(get("head_dim", arch.hidden / arch.heads, &arch.headDim)))
    return failure();
  if (arch.heads % arch.kvHeads != 0)
    return emitError(config.locOf("num_key_value_heads"))
           << arch.heads << " attention heads are not a multiple of "
           << arch.kvHeads << " key/value heads";

  FailureOr<bool> tied = config.boolean(
      "tie_word_embeddings", /*HF default=*/gpt2 || modelType == "bert");
  if (failed(tied))
    return failure();
  arch.tied = *tied;
  if (modelType == "qwen2") {
    arch.qkvBias = true; // Qwen2 attention: bias on q, k, v only
  } else if (modelType == "llama" || modelType == "mistral" ||
             modelType == "mixtral") {
    FailureOr<bool> attnBias = config.boolean("attention_bias", false);
    FailureOr<bool> mlpBias = config.boolean("mlp_bias", false);
    if (failed(attnBias) || failed(mlpBias))
      return failure();
    arch.qkvBias = arch.outBias = *attnBias;
    arch.mlpBias = *mlpBias;
  } else if (modelType == "bert") {
    arch.qkvBias = arch.outBias = arch.mlpBias = true;
    if (failed(get("type_vocab_size", 2, &arch.typeVocab)))
      return failure();
  }
  // Dropout as each family's config names it, with Hugging Face's
  // defaults (GPT2Config 0.1 each; BertConfig 0.1 each; LLaMA-family
  // attention_dropout 0.0 and no hidden dropout).
  auto prob = [&](StringRef key, double fallback, double &out) {
    FailureOr<double> value = config.probability(key, fallback);
    if (failed(value))
      return failure();
    out = *value;
    return success();
  };
  if (gpt2) {
    if (failed(prob("attn_pdrop", 0.1, arch.attentionDropout)) ||
        failed(prob("resid_pdrop", 0.1, arch.residualDropout)) ||
        failed(prob("embd_pdrop", 0.1, arch.embeddingDropout)))
      return failure();
  } else if (modelType == "bert") {
    if (failed(prob("attention_probs_dropout_prob", 0.1, arch.attentionDropout)) ||
        failed(prob("hidden_dropout_prob", 0.1, arch.residualDropout)))
      return failure();
    arch.embeddingDropout = arch.residualDropout;
  } else {
    if (failed(prob("attention_dropout", 0.0, arch.attentionDropout)) ||
        failed(prob("hidden_dropout", 0.0, arch.residualDropout)))
      return failure();
  }
  if (!options.training)
    arch.attentionDropout = arch.residualDropout = arch.embeddingDropout = 0;
  if (modelType == "mixtral") {
    if (failed(get("num_local_experts", std::nullopt, &arch.experts)) ||
        failed(get("num_experts_per_tok", std::nullopt, &arch.topK)))
      return failure();
    if (arch.topK > arch.experts)
      return emitError(config.locOf("num_experts_per_tok"))
             << "num_experts_per_tok (" << arch.topK
             << ") exceeds num_local_experts (" << arch.experts << ")";
  }
  return success();
}

Value HFImporter::attention(ModelBuilder &m, Value x, bool causal, bool rotary,
                            bool fusedQKV, StringRef qName, StringRef kName,
                            StringRef vName, StringRef outName) {
  int64_t d = arch.hidden, hd = arch.headDim;
  int64_t qWidth = arch.heads * hd, kvWidth = arch.kvHeads * hd;
  Value q, k, v;
  if (fusedQKV) { // GPT-2's c_attn: one [D, 3D] projection, then split
    Value qkv = m.linear(qName, x, d, qWidth + 2 * kvWidth, arch.qkvBias);
    auto split = SplitOp::create(m.b, m.at(qName), qkv, /*axis=*/2,
                                 ArrayRef<int64_t>{qWidth, kvWidth, kvWidth});
    q = split.getResult(0);
    k = split.getResult(1);
    v = split.getResult(2);
  } else {
    q = m.linear(qName, x, d, qWidth, arch.qkvBias);
    k = m.linear(kName, x, d, kvWidth, arch.qkvBias);
    v = m.linear(vName, x, d, kvWidth, arch.qkvBias);
  }
  q = m.reshape("attn.q_heads", q, {batch, seq, arch.heads, hd});
  k = m.reshape("attn.k_heads", k, {batch, seq, arch.kvHeads, hd});
  v = m.reshape("attn.v_heads", v, {batch, seq, arch.kvHeads, hd});
  if (rotary) {
    q = RotaryOp::create(m.b, m.at("rotary_emb.q"), q);
    k = RotaryOp::create(m.b, m.at("rotary_emb.k"), k);
  }
  uint64_t cache = options.training ? 0 : options.kvCache;
  Value attn = AttentionOp::create(m.b, m.at("attn.sdpa"), q, k, v, causal,
                                   options.flashAttention, cache,
                                   llvm::APFloat(arch.attentionDropout));
  Value merged = m.reshape("attn.merge_heads", attn, {batch, seq, qWidth});
  return m.linear(outName, merged, qWidth, d, arch.outBias);
}

Value HFImporter::decoderLayer(ModelBuilder &m, Value x) {
  int64_t d = arch.hidden, f = arch.ffn;
  Value h = m.rmsNorm("input_layernorm", x, d, arch.epsilon);
  Value a = attention(m, h, /*causal=*/true, /*rotary=*/true, false,
                      "self_attn.q_proj", "self_attn.k_proj",
                      "self_attn.v_proj", "self_attn.o_proj");
  a = m.dropout("resid_dropout.attn", a, arch.residualDropout);
  Value r = AddOp::create(m.b, m.at("residual.attn"), x, a);
  Value n = m.rmsNorm("post_attention_layernorm", r, d, arch.epsilon);
  Value out;
  if (arch.experts > 0) {
    int64_t e = arch.experts;
    Value router = m.param("block_sparse_moe.gate.weight", {d, e});
    Value gate = m.param("block_sparse_moe.experts.w1", {e, d, f});
    Value down = m.param("block_sparse_moe.experts.w2", {e, f, d});
    Value up = m.param("block_sparse_moe.experts.w3", {e, d, f});
    out = MoeOp::create(m.b, m.at("block_sparse_moe"), n, router, up, down,
                        gate, arch.topK, Activation::silu);
  } else {
    Value g = m.linear("mlp.gate_proj", n, d, f, arch.mlpBias);
    Value u = m.linear("mlp.up_proj", n, d, f, arch.mlpBias);
    Value s = SiluOp::create(m.b, m.at("mlp.act_fn"), g);
    Value p = MulOp::create(m.b, m.at("mlp.gated"), s, u);
    out = m.linear("mlp.down_proj", p, f, d, arch.mlpBias);
  }
  out = m.dropout("resid_dropout.mlp", out, arch.residualDropout);
  return AddOp::create(m.b, m.at("residual.mlp"), r, out);
}

Value HFImporter::gpt2Layer(ModelBuilder &m, Value x) {
  int64_t d = arch.hidden, f = arch.ffn;
  Value h = m.layerNorm("ln_1", x, d, arch.epsilon);
  Value a = attention(m, h, /*causal=*/true, /*rotary=*/false, true,
                      "attn.c_attn", "", "", "attn.c_proj");
  a = m.dropout("attn.resid_dropout", a, arch.residualDropout);
  Value r = AddOp::create(m.b, m.at("residual.attn"), x, a);
  Value n = m.layerNorm("ln_2", r, d, arch.epsilon);
  Value up = m.linear("mlp.c_fc", n, d, f, true);
  Value act = GeluOp::create(m.b, m.at("mlp.act"), up);
  Value down = m.linear("mlp.c_proj", act, f, d, true);
  down = m.dropout("mlp.dropout", down, arch.residualDropout);
  return AddOp::create(m.b, m.at("residual.mlp"), r, down);
}

Value HFImporter::bertLayer(ModelBuilder &m, Value x) {
  int64_t d = arch.hidden, f = arch.ffn;
  Value a = attention(m, x, /*causal=*/false, /*rotary=*/false, false,
                      "attention.self.query", "attention.self.key",
                      "attention.self.value", "attention.output.dense");
  a = m.dropout("attention.output.dropout", a, arch.residualDropout);
  Value r = AddOp::create(m.b, m.at("attention.output.residual"), x, a);
  Value n = m.layerNorm("attention.output.LayerNorm", r, d, arch.epsilon);
  Value up = m.linear("intermediate.dense", n, d, f, true);
  Value act = GeluOp::create(m.b, m.at("intermediate.intermediate_act_fn"), up);
  Value down = m.linear("output.dense", act, f, d, true);
  down = m.dropout("output.dropout", down, arch.residualDropout);
  Value r2 = AddOp::create(m.b, m.at("output.residual"), n, down);
  return m.layerNorm("output.LayerNorm", r2, d, arch.epsilon);
}

Value HFImporter::buildLayers(OpBuilder &b, Value x, StringRef name,
                              function_ref<Value(ModelBuilder &, Value)> body) {
  auto layer = LayerOp::create(b, NameLoc::get(b.getStringAttr(name)), name,
                               arch.layers, ValueRange{x},
                               TypeRange{x.getType()});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&layer.getBodyBlock());
  ModelBuilder inner(b, element, name);
  inner.insideLayer = true;
  Value out = body(inner, layer.getBodyBlock().getArgument(0));
  YieldOp::create(b, NameLoc::get(b.getStringAttr(name)), ValueRange{out});
  return layer.getResult(0);
}

OwningOpRef<ModuleOp> HFImporter::run(StringRef modelType) {
  config.modelType = modelType.str();
  if (failed(readArch(modelType)))
    return nullptr;
  // The graph verifier bounds every extent and the KV cache by 2^40; say
  // so here, naming the option, before an op is built with it.
  constexpr int64_t kMaxExtent = int64_t(1) << 40;
  if (options.batch < 1 || options.seqLen < 0 || options.kvCache < 0 ||
      options.batch > kMaxExtent || options.seqLen > kMaxExtent ||
      options.kvCache > kMaxExtent)
    return emitError(config.locOf())
               << "batch must be in [1, 2^40] and seq-len, kv-cache in [0, "
                  "2^40]; got batch "
               << options.batch << ", seq-len " << options.seqLen
               << ", kv-cache " << options.kvCache,
           nullptr;
  batch = options.batch;
  seq = options.seqLen ? options.seqLen : std::min<int64_t>(arch.positions, 4096);
  bool absolutePositions = modelType == "gpt2" || modelType == "bert";
  if (absolutePositions && seq + (options.training ? 0 : options.kvCache) >
                               arch.positions)
    return emitError(config.locOf(modelType == "gpt2" ? "n_positions"
                                                      : "max_position_embeddings"))
               << "sequence of " << seq + options.kvCache
               << " tokens exceeds the " << arch.positions
               << " learned positions",
           nullptr;

  std::string dtype = options.dtype;
  if (dtype.empty()) {
    std::string torchDtype = config.string("torch_dtype");
    dtype = torchDtype == "float16" ? "fp16"
            : torchDtype == "float32" ? "fp32"
                                      : "bf16";
  }
  if (dtype == "bf16")
    element = BFloat16Type::get(context);
  else if (dtype == "fp16")
    element = Float16Type::get(context);
  else if (dtype == "fp32")
    element = Float32Type::get(context);
  else
    return emitError(config.locOf()) << "unknown dtype '" << dtype
                                     << "'; expected bf16, fp16 or fp32",
           nullptr;

  Location fileLoc = config.locOf();
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  OpBuilder b(context);
  b.setInsertionPointToEnd(module->getBody());
  auto ids = RankedTensorType::get({batch, seq}, b.getI64Type());
  bool bert = modelType == "bert";
  bool gpt2 = modelType == "gpt2";
  SmallVector<Type> inputs{ids};
  SmallVector<std::string> inputNames{"input_ids"};
  if (gpt2 || bert) {
    inputs.push_back(ids);
    inputNames.push_back("position_ids");
  }
  if (bert) {
    inputs.push_back(ids);
    inputNames.push_back("token_type_ids");
  }
  if (options.training) {
    inputs.push_back(ids);
    inputNames.push_back("labels");
  }
  auto func = func::FuncOp::create(b, fileLoc, "forward",
                                   b.getFunctionType(inputs, {}));
  func->setAttr("chipmesh.model_type", b.getStringAttr(modelType));
  func->setAttr("chipmesh.mode",
                b.getStringAttr(options.training ? "train" : "infer"));
  Block *entry = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(inputNames))
    func.setArgAttr(i, "chipmesh.name", b.getStringAttr(name));
  b.setInsertionPointToStart(entry);
  int64_t d = arch.hidden, v = arch.vocab;
  auto arg = [&](StringRef name) {
    auto it = llvm::find(inputNames, name.str());
    return entry->getArgument(it - inputNames.begin());
  };

  Value x, logits, table;
  SmallVector<Value> results;
  if (gpt2) {
    ModelBuilder m(b, element, "transformer");
    table = m.param("wte.weight", {v, d});
    Value pos = m.param("wpe.weight", {arch.positions, d});
    Value tok = EmbeddingOp::create(b, m.at("wte"), arg("input_ids"), table);
    Value where = EmbeddingOp::create(b, m.at("wpe"), arg("position_ids"), pos);
    x = AddOp::create(b, m.at("embed_sum"), tok, where);
    x = m.dropout("drop", x, arch.embeddingDropout);
    x = buildLayers(b, x, "transformer.h",
                    [&](ModelBuilder &lm, Value in) { return gpt2Layer(lm, in); });
    x = m.layerNorm("ln_f", x, d, arch.epsilon);
  } else if (bert) {
    ModelBuilder m(b, element, "bert.embeddings");
    table = m.param("word_embeddings.weight", {v, d});
    Value pos = m.param("position_embeddings.weight", {arch.positions, d});
    Value types = m.param("token_type_embeddings.weight", {arch.typeVocab, d});
    Value e0 = EmbeddingOp::create(b, m.at("word_embeddings"), arg("input_ids"), table);
    Value e1 = EmbeddingOp::create(b, m.at("position_embeddings"), arg("position_ids"), pos);
    Value e2 = EmbeddingOp::create(b, m.at("token_type_embeddings"), arg("token_type_ids"), types);
    x = AddOp::create(b, m.at("sum"), AddOp::create(b, m.at("sum"), e0, e1), e2);
    x = m.layerNorm("LayerNorm", x, d, arch.epsilon);
    x = m.dropout("dropout", x, arch.embeddingDropout);
    x = buildLayers(b, x, "bert.encoder.layer",
                    [&](ModelBuilder &lm, Value in) { return bertLayer(lm, in); });
  } else {
    ModelBuilder m(b, element, "model");
    table = m.param("embed_tokens.weight", {v, d});
    x = EmbeddingOp::create(b, m.at("embed_tokens"), arg("input_ids"), table);
    x = buildLayers(b, x, "model.layers",
                    [&](ModelBuilder &lm, Value in) { return decoderLayer(lm, in); });
    x = m.rmsNorm("norm", x, d, arch.epsilon);
  }

  ModelBuilder top(b, element, "");
  if (bert && !options.training) {
    // BertModel: sequence output and the pooler on the first token.
    ModelBuilder pooler(b, element, "bert.pooler");
    Value first = SliceOp::create(b, pooler.at("first_token"), x,
                                  ArrayRef<int64_t>{0, 0, 0},
                                  ArrayRef<int64_t>{batch, 1, d});
    Value flat = pooler.reshape("first_token", first, {batch, d});
    Value dense = pooler.linear("dense", flat, d, d, true);
    results = {x, TanhOp::create(b, pooler.at("activation"), dense)};
  } else {
    if (bert) { // BertForMaskedLM head: transform, then the tied decoder
      ModelBuilder cls(b, element, "cls.predictions");
      Value t = cls.linear("transform.dense", x, d, d, true);
      t = GeluOp::create(b, cls.at("transform.transform_act_fn"), t);
      x = cls.layerNorm("transform.LayerNorm", t, d, arch.epsilon);
    }
    if (arch.tied) {
      logits = MatmulOp::create(b, top.at("lm_head"), x, table,
                                /*transpose_rhs=*/true);
    } else {
      logits = top.linear("lm_head", x, d, v, false);
    }
    if (bert)
      logits = AddOp::create(b, top.at("cls.predictions.decoder"), logits,
                             top.param("cls.predictions.bias", {v}));
    if (options.training)
      results = {CrossEntropyOp::create(b, top.at("loss"), logits, arg("labels"))};
    else
      results = {logits};
  }
  func::ReturnOp::create(b, fileLoc, results);
  func.setType(b.getFunctionType(inputs, ValueRange(results).getTypes()));
  return module;
}

} // namespace

OwningOpRef<ModuleOp> chipmesh::importHFConfig(StringRef configText,
                                               StringRef fileName,
                                               const HFImportOptions &options,
                                               MLIRContext *context) {
  context->loadDialect<GraphDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(context, fileName, 1, 1);
  llvm::Expected<llvm::json::Value> parsed = parseBoundedJSON(configText);
  if (!parsed) {
    emitError(fileLoc) << "invalid JSON: " << llvm::toString(parsed.takeError());
    return nullptr;
  }
  const llvm::json::Object *object = parsed->getAsObject();
  if (!object) {
    emitError(fileLoc) << "config must be a JSON object";
    return nullptr;
  }
  ConfigReader reader(*object, configText, fileName, context);
  std::optional<StringRef> modelType = object->getString("model_type");
  if (!modelType) {
    emitError(fileLoc) << "config has no 'model_type'; supported: "
                       << supportedHFModelTypes();
    return nullptr;
  }
  static const char *const known[] = {"gpt2",  "llama",   "mistral",
                                      "qwen2", "mixtral", "bert"};
  if (!llvm::is_contained(known, *modelType)) {
    emitError(reader.locOf("model_type"))
        << "unsupported model_type '" << *modelType
        << "'; supported: " << supportedHFModelTypes();
    return nullptr;
  }
  HFImporter importer(reader, options, context);
  OwningOpRef<ModuleOp> module = importer.run(*modelType);
  // One verification for every caller (the command line verifies again;
  // Python and C++ callers get the same answer): a product of sizes past
  // the element bound is refused here, with the verifier's located error.
  if (module && failed(mlir::verify(*module)))
    return nullptr;
  return module;
}
