//===- ChipMeshModule.cpp - pybind11 module over the ChipMesh libraries ---===//
//
// A small facade: one MLIR context with every ChipMesh dialect, modules
// parsed or imported into it, printed, and transformed by pass pipelines.
// Every diagnostic a call emits is collected; a failed call raises
// chipmesh.Error carrying their text, located as in chipmesh-opt.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/InitAllDialects.h"
#include "chipmesh/InitAllPasses.h"
#include "chipmesh/Interfaces/ExternalModels.h"
#include "chipmesh/Materialize/PlanSpec.h"
#include "chipmesh/Partition/Partitioner.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Transforms/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include <memory>
#include <mutex>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <stdexcept>

namespace py = pybind11;
using namespace mlir;

namespace {

/// What a failed call raises (chipmesh.Error in Python).
struct ChipMeshError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The context every module lives in.
struct Session {
  Session() {
    DialectRegistry registry;
    chipmesh::registerModelDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
    // Diagnostics carry their location; the whole module is noise.
    context.printOpOnDiagnostic(false);
  }
  MLIRContext context;
  std::mutex mutex; ///< one call at a time per context
};

std::shared_ptr<Session> session() {
  static std::shared_ptr<Session> shared = [] {
    chipmesh::registerAllPasses();
    return std::make_shared<Session>();
  }();
  return shared;
}

/// Collects every diagnostic emitted while it lives, as chipmesh-opt
/// prints them ("file:line:col: error: ...").
class Diagnostics {
public:
  explicit Diagnostics(MLIRContext &context)
      : handler(&context, [this](Diagnostic &diag) {
          llvm::raw_string_ostream os(text);
          if (auto loc = dyn_cast<FileLineColLoc>(diag.getLocation()))
            os << loc.getFilename().getValue() << ":" << loc.getLine() << ":"
               << loc.getColumn() << ": ";
          switch (diag.getSeverity()) {
          case DiagnosticSeverity::Error: os << "error: "; break;
          case DiagnosticSeverity::Warning: os << "warning: "; break;
          case DiagnosticSeverity::Note: os << "note: "; break;
          case DiagnosticSeverity::Remark: os << "remark: "; break;
          }
          os << diag.str() << "\n";
          for (Diagnostic &note : diag.getNotes())
            os << "  note: " << note.str() << "\n";
          return success();
        }) {}
  [[noreturn]] void raise(llvm::StringRef what) {
    throw ChipMeshError(text.empty() ? what.str() : text);
  }
  const std::string &str() const { return text; }

private:
  std::string text;
  ScopedDiagnosticHandler handler;
};

py::object toPython(Attribute attr) {
  if (!attr || isa<UnitAttr>(attr))
    return py::none();
  if (auto b = dyn_cast<BoolAttr>(attr))
    return py::bool_(b.getValue());
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return py::int_(i.getInt());
  if (auto f = dyn_cast<FloatAttr>(attr))
    return py::float_(f.getValueAsDouble());
  if (auto s = dyn_cast<StringAttr>(attr))
    return py::str(s.getValue().str());
  if (auto s = dyn_cast<FlatSymbolRefAttr>(attr))
    return py::str(s.getValue().str());
  if (auto a = dyn_cast<DenseI64ArrayAttr>(attr))
    return py::cast(std::vector<int64_t>(a.asArrayRef()));
  if (auto a = dyn_cast<DenseF64ArrayAttr>(attr))
    return py::cast(std::vector<double>(a.asArrayRef()));
  if (auto a = dyn_cast<ArrayAttr>(attr)) {
    py::list list;
    for (Attribute e : a)
      list.append(toPython(e));
    return list;
  }
  if (auto d = dyn_cast<DictionaryAttr>(attr)) {
    py::dict dict;
    for (NamedAttribute n : d)
      dict[py::str(n.getName().str())] = toPython(n.getValue());
    return dict;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  attr.print(os);
  return py::str(text);
}

/// A module of the session, owned by Python.
class Module {
public:
  Module(std::shared_ptr<Session> s, OwningOpRef<ModuleOp> m)
      : sess(std::move(s)), module(std::move(m)) {}

  static Module parse(const std::string &text, const std::string &name) {
    auto s = session();
    std::lock_guard<std::mutex> lock(s->mutex);
    Diagnostics diags(s->context);
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(text, name);
    llvm::SourceMgr sources;
    sources.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
    OwningOpRef<ModuleOp> module =
        parseSourceFile<ModuleOp>(sources, &s->context);
    if (!module)
      diags.raise("cannot parse " + name);
    return Module(s, std::move(module));
  }

  static Module importHF(const std::string &config, const std::string &name,
                         int64_t batch, int64_t seqLen, const std::string &mode,
                         int64_t kvCache, bool flash, const std::string &dtype) {
    auto s = session();
    std::lock_guard<std::mutex> lock(s->mutex);
    Diagnostics diags(s->context);
    if (mode != "train" && mode != "infer")
      throw ChipMeshError("mode must be 'train' or 'infer', got '" + mode + "'");
    chipmesh::HFImportOptions options;
    options.batch = batch;
    options.seqLen = seqLen;
    options.training = mode == "train";
    options.kvCache = kvCache;
    options.flashAttention = flash;
    options.dtype = dtype;
    OwningOpRef<ModuleOp> module =
        chipmesh::importHFConfig(config, name, options, &s->context);
    if (!module)
      diags.raise("cannot import " + name);
    return Module(s, std::move(module));
  }

  std::string str() {
    std::lock_guard<std::mutex> lock(sess->mutex);
    std::string text;
    llvm::raw_string_ostream os(text);
    module->print(os);
    return text;
  }

  Module clone() {
    std::lock_guard<std::mutex> lock(sess->mutex);
    return Module(sess, OwningOpRef<ModuleOp>(module->clone()));
  }

  /// Runs a textual pass pipeline ("chipmesh-partition{mesh=@m},...") in
  /// place; returns the warnings and remarks it emitted.
  std::string run(const std::string &pipeline) {
    std::lock_guard<std::mutex> lock(sess->mutex);
    Diagnostics diags(sess->context);
    PassManager pm(&sess->context);
    std::string error;
    llvm::raw_string_ostream errorStream(error);
    if (failed(parsePassPipeline(pipeline, pm, errorStream)))
      throw ChipMeshError("bad pass pipeline '" + pipeline + "': " + error);
    // Files the passes write appear only if the whole pipeline succeeds.
    chipmesh::OutputTransaction outputs;
    if (failed(pm.run(*module))) {
      outputs.discard();
      diags.raise("pipeline '" + pipeline + "' failed");
    }
    std::string commitError;
    if (!outputs.commit(&commitError))
      throw ChipMeshError(commitError);
    return diags.str();
  }

  py::object attribute(const std::string &name) {
    std::lock_guard<std::mutex> lock(sess->mutex);
    return toPython((*module)->getAttr(name));
  }

  /// Names of the functions, in order.
  std::vector<std::string> functions() {
    std::lock_guard<std::mutex> lock(sess->mutex);
    std::vector<std::string> names;
    for (auto fn : module->getOps<func::FuncOp>())
      names.push_back(fn.getSymName().str());
    return names;
  }

  /// Per top-level op of `func`: (name from its location or attribute,
  /// placement dictionary or None).
  std::vector<std::pair<std::string, py::object>> placements(const std::string &func) {
    std::lock_guard<std::mutex> lock(sess->mutex);
    auto fn = module->lookupSymbol<func::FuncOp>(func);
    if (!fn)
      throw ChipMeshError("no function @" + func);
    std::vector<std::pair<std::string, py::object>> out;
    for (Operation &op : fn.getBody().front()) {
      std::string name;
      if (auto attr = op.getAttrOfType<StringAttr>("chipmesh.node"))
        name = attr.str();
      else if (auto loc = dyn_cast<NameLoc>(op.getLoc()))
        name = loc.getName().str();
      else if (auto attr = op.getAttrOfType<StringAttr>("name"))
        name = attr.str();
      out.push_back({name, toPython(op.getAttr("chipmesh.placement"))});
    }
    return out;
  }

private:
  std::shared_ptr<Session> sess;
  OwningOpRef<ModuleOp> module;
};

py::list catalogChips() {
  py::list list;
  const char *types[] = {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8"};
  for (const chipmesh::CatalogChip &chip : chipmesh::catalogChips()) {
    py::dict d;
    d["id"] = chip.id.str();
    d["name"] = chip.name.str();
    d["vendor"] = chip.vendor.str();
    py::dict peaks;
    for (unsigned t = 0; t < chipmesh::kNumDTypes; ++t)
      peaks[py::str(chipmesh::stringifyDType(static_cast<chipmesh::DType>(t)).str())] =
          chip.peakFlopPerS[t];
    (void)types;
    d["peak_flop_per_s"] = peaks;
    d["memory_bytes"] = chip.memoryBytes;
    d["memory_bytes_per_s"] = chip.memoryBytesPerS;
    d["scaleup_link"] = chip.scaleupLink.str();
    d["tdp_watts"] = chip.tdpWatts;
    d["sources"] = chip.sources.str();
    list.append(d);
  }
  return list;
}

py::list catalogLinks() {
  py::list list;
  for (const chipmesh::CatalogLink &link : chipmesh::catalogLinks()) {
    py::dict d;
    d["id"] = link.id.str();
    d["name"] = link.name.str();
    d["technology"] = link.technology.str();
    d["bytes_per_s"] = link.bytesPerS;
    d["latency_s"] = link.latencyS;
    d["sources"] = link.sources.str();
    list.append(d);
  }
  return list;
}

/// The materializer's apportioning of `total` features over a group, so the
/// torch runtime cuts exactly the blocks the MLIR programs cut; None when
/// there are fewer features than members.
std::optional<std::vector<int64_t>> apportion(int64_t total,
                                              const std::vector<double> &shares) {
  for (double share : shares)
    if (!(share > 0))
      throw ChipMeshError("tensor-parallel shares must be positive");
  std::optional<llvm::SmallVector<int64_t>> sizes =
      chipmesh::apportionShares(total, 1, shares);
  if (!sizes)
    return std::nullopt;
  return std::vector<int64_t>(sizes->begin(), sizes->end());
}

/// The ops of pipeline stage `stage`, in the order the partitioner's
/// simulator plays them: (backward?, micro-batch) pairs.
std::vector<std::pair<bool, uint64_t>>
scheduleOrder(const std::string &schedule, bool training, size_t stages,
              size_t stage, uint64_t microBatches) {
  chipmesh::Schedule kind;
  if (schedule == "gpipe")
    kind = chipmesh::Schedule::GPipe;
  else if (schedule == "1f1b")
    kind = chipmesh::Schedule::OneFOneB;
  else
    throw ChipMeshError("schedule must be 'gpipe' or '1f1b', got '" +
                        schedule + "'");
  if (stage >= stages)
    throw ChipMeshError("stage " + std::to_string(stage) + " of a " +
                        std::to_string(stages) + "-stage pipeline");
  uint64_t ops = training ? 2 * microBatches : microBatches;
  std::vector<std::pair<bool, uint64_t>> order;
  order.reserve(ops);
  for (uint64_t i = 0; i < ops; ++i) {
    chipmesh::PipeOp op = chipmesh::pipelineOpAt(kind, training, stages, stage,
                                                 microBatches, i);
    order.emplace_back(op.backward, op.microBatch);
  }
  return order;
}

/// Seconds of one collective over a mesh's chips (all of them, or
/// `group`), priced by the cost model as the partitioner prices it.
py::dict collectiveTime(const std::string &meshText, const std::string &kind,
                        double bytes, std::vector<unsigned> group,
                        const std::string &calibrationJSON) {
  static const std::pair<const char *, chipmesh::CollectiveKind> kinds[] = {
      {"all_reduce", chipmesh::CollectiveKind::AllReduce},
      {"all_gather", chipmesh::CollectiveKind::AllGather},
      {"reduce_scatter", chipmesh::CollectiveKind::ReduceScatter},
      {"all_to_all", chipmesh::CollectiveKind::AllToAll},
      {"broadcast", chipmesh::CollectiveKind::Broadcast}};
  std::optional<chipmesh::CollectiveKind> which;
  for (auto &[name, k] : kinds)
    if (kind == name)
      which = k;
  if (!which)
    throw ChipMeshError("kind must be all_reduce, all_gather, reduce_scatter, "
                        "all_to_all or broadcast, got '" + kind + "'");
  if (!(bytes >= 0) || bytes > 1e15)
    throw ChipMeshError("bytes must be in [0, 1e15]");
  auto s = session();
  std::lock_guard<std::mutex> lock(s->mutex);
  Diagnostics diags(s->context);
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(meshText, "<mesh>"),
                             llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, &s->context);
  if (!module)
    diags.raise("cannot parse the mesh");
  auto meshes = llvm::to_vector(module->getOps<chipmesh::topo::MeshOp>());
  if (meshes.size() != 1)
    throw ChipMeshError("expected exactly one topo.mesh");
  FailureOr<chipmesh::MeshView> view = chipmesh::MeshView::build(meshes.front());
  if (failed(view))
    diags.raise("invalid mesh");
  chipmesh::Calibration calibration;
  if (!calibrationJSON.empty()) {
    auto parsed = chipmesh::Calibration::fromJSON(calibrationJSON);
    if (!parsed)
      throw ChipMeshError("calibration: " + llvm::toString(parsed.takeError()));
    calibration = std::move(*parsed);
  }
  if (group.empty())
    for (unsigned c = 0; c < view->numChips(); ++c)
      group.push_back(c);
  std::vector<char> seen(view->numChips(), 0);
  for (unsigned c : group) {
    if (c >= view->numChips())
      throw ChipMeshError("group member " + std::to_string(c) +
                          " is not a chip of the mesh");
    if (seen[c]++)
      throw ChipMeshError("group member " + std::to_string(c) +
                          " is listed twice");
  }
  chipmesh::CommModel comm(*view, calibration);
  chipmesh::CollectiveCost cost = comm.collective(*which, group, bytes);
  py::dict d;
  d["seconds"] = cost.seconds;
  d["algorithm"] = chipmesh::stringifyCollectiveAlgorithm(cost.algorithm).str();
  d["protocol"] = chipmesh::stringifyProtocol(cost.protocol).str();
  return d;
}

} // namespace

PYBIND11_MODULE(_chipmesh, m) {
  m.doc() = "ChipMesh native module: parse, import, print and transform "
            "MLIR modules; the chip and link catalog";
  static py::exception<ChipMeshError> error(m, "Error");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const ChipMeshError &e) {
      error(e.what());
    }
  });
  py::class_<Module>(m, "Module")
      .def_static("parse", &Module::parse, py::arg("text"),
                  py::arg("name") = "<string>")
      .def_static("import_hf_config", &Module::importHF, py::arg("config"),
                  py::arg("name"), py::arg("batch"), py::arg("seq_len"),
                  py::arg("mode"), py::arg("kv_cache"), py::arg("flash"),
                  py::arg("dtype"))
      .def("__str__", &Module::str)
      .def("clone", &Module::clone)
      .def("run", &Module::run, py::arg("pipeline"))
      .def("attribute", &Module::attribute, py::arg("name"))
      .def("functions", &Module::functions)
      .def("placements", &Module::placements, py::arg("func"));
  m.def("catalog_chips", &catalogChips);
  m.def("collective_time", &collectiveTime, py::arg("mesh"), py::arg("kind"),
        py::arg("bytes"), py::arg("group") = std::vector<unsigned>(),
        py::arg("calibration") = std::string());
  m.def("catalog_links", &catalogLinks);
  m.def("apportion_shares", &apportion, py::arg("total"), py::arg("shares"));
  m.def("schedule_order", &scheduleOrder, py::arg("schedule"),
        py::arg("training"), py::arg("stages"), py::arg("stage"),
        py::arg("micro_batches"));
}
