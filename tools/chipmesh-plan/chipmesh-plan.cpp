//===- chipmesh-plan.cpp - Flagship matching, what-if and scaling ---------===//
//
//   chipmesh-plan match   MODEL --target=h100-sxm:8 --inventory=inv.json
//   chipmesh-plan what-if MODEL --mesh=h100-sxm:64 --scale-link=nvlink4:0.5
//   chipmesh-plan scale   MODEL --kinds=h100-sxm,h800-sxm --chips=8,64,512
//
// MODEL is a .mlir file (a graph model) or a Hugging Face config.json.
// Every answer comes from the partitioner's search (lib/Plan). Tables go to
// stdout; --json writes the same as JSON.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/Analysis/ModelSummary.h"
#include "chipmesh/Dialect/Comm/IR/CommOps.h"
#include "chipmesh/Dialect/Graph/IR/GraphOps.h"
#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Dialect/Topo/MeshView.h"
#include "chipmesh/Import/HFConfig.h"
#include "chipmesh/InitAllDialects.h"
#include "chipmesh/Interfaces/ExternalModels.h"
#include "chipmesh/Plan/HtmlReport.h"
#include "chipmesh/Plan/Planner.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/Version.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include <cmath>

using namespace mlir;
using namespace chipmesh;
namespace cl = llvm::cl;

static cl::SubCommand matchCmd("match", "Cheapest mix of an inventory that reaches a target's step time");
static cl::SubCommand whatIfCmd("what-if", "Re-plan under one change and compare");
static cl::SubCommand scaleCmd("scale", "Step time and parallel efficiency against chip count");

static cl::OptionCategory common("Model and plan options");
static cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.mlir | config.json>"),
                                      cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> modeName("mode", cl::init("train"), cl::desc("train | infer"),
                                     cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<int64_t> batch("batch", cl::init(0),
                              cl::desc("Global batch in samples (0: as traced / imported)"),
                              cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<int64_t> seqLen("seq-len", cl::init(0),
                               cl::desc("Tokens per sequence for a config.json (0: min(max positions, 4096))"),
                               cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> scheduleName("schedule", cl::init("1f1b"), cl::desc("gpipe | 1f1b"),
                                         cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> recomputeName("recompute", cl::init("none"),
                                          cl::desc("none | selective | full | auto (per stage)"), cl::cat(common),
                                          cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<unsigned> virtualStagesOpt("virtual-stages", cl::init(1),
                                          cl::desc("Model chunks per pipeline device (interleaved 1F1B); 0 searches 1, 2 and 4"),
                                          cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> zeroName("zero", cl::init("0"),
                                     cl::desc("ZeRO stages searched: 0 | 1 | 2 | 3 | a list (0,1) | auto"),
                                     cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> network("network", cl::init("infiniband-ndr"),
                                    cl::desc("Catalog link between nodes of built meshes"),
                                    cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> jsonPath("json", cl::desc("Also write the answer as JSON to this file"),
                                     cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<std::string> htmlPath("html", cl::desc("Also write a self-contained HTML page to this file"),
                                     cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));
static cl::opt<unsigned> threads("threads", cl::init(0), cl::desc("Search threads (0: all)"),
                                 cl::cat(common), cl::sub(matchCmd), cl::sub(whatIfCmd), cl::sub(scaleCmd));

static cl::opt<std::string> target("target", cl::desc("Target mesh: kind:count[:per_node] or a .mlir mesh"),
                                   cl::sub(matchCmd));
static cl::opt<std::string> inventoryPath("inventory", cl::desc("Inventory JSON"), cl::sub(matchCmd));
static cl::opt<unsigned> maxEvaluations("max-evaluations", cl::init(64),
                                        cl::desc("Most mixes to partition"), cl::sub(matchCmd));
static cl::opt<double> slack("slack", cl::init(1.25),
                             cl::desc("Large inventories: skip mixes whose rate at measured "
                                      "per-kind efficiency misses the target by more than this"),
                             cl::sub(matchCmd));

static cl::opt<std::string> meshSpec("mesh", cl::desc("Mesh: kind:count[:per_node] or a .mlir mesh"),
                                     cl::sub(whatIfCmd));
static cl::list<std::string> scaleLink("scale-link", cl::desc("link:factor, e.g. nvlink4:0.5"),
                                       cl::sub(whatIfCmd));
static cl::opt<std::string> swap("swap", cl::desc("from:to chip kinds, e.g. h100-sxm:h800-sxm"),
                                 cl::sub(whatIfCmd));
static cl::opt<int64_t> addChips("add-chips", cl::init(0),
                                 cl::desc("Chips added (kind:count meshes)"), cl::sub(whatIfCmd));
static cl::opt<int64_t> newBatch("new-batch", cl::init(0), cl::desc("Global batch after the change"),
                                 cl::sub(whatIfCmd));
static cl::opt<int64_t> newSeqLen("new-seq-len", cl::init(0),
                                  cl::desc("Tokens per sequence after the change (config.json models)"),
                                  cl::sub(whatIfCmd));
static cl::opt<bool> recover("recover", cl::init(true),
                             cl::desc("Find how many chips recover the original step time (kind:count meshes)"),
                             cl::sub(whatIfCmd));

static cl::list<std::string> kinds("kinds", cl::CommaSeparated, cl::desc("Chip kinds"),
                                   cl::sub(scaleCmd));
static cl::list<int64_t> chipCounts("chips", cl::CommaSeparated, cl::desc("Chip counts"),
                                    cl::sub(scaleCmd));
static cl::opt<int64_t> batchPerChip("batch-per-chip", cl::init(0),
                                     cl::desc("Weak scaling: global batch = this x chips (0: fixed batch)"),
                                     cl::sub(scaleCmd));

namespace {

/// Batches beyond 2^40 samples are refused where they are given.
constexpr int64_t kMaxBatchOption = int64_t(1) << 40;

[[noreturn]] void die(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "chipmesh-plan") << message << "\n";
  // Nothing of a failed run stays on disk (the JSON before a failing HTML).
  discardOutputs();
  std::exit(1);
}

/// The model: a graph .mlir or an imported config.json.
OwningOpRef<ModuleOp> loadModel(MLIRContext &context, int64_t tokens = 0) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(modelPath);
  if (!buffer)
    die("cannot read '" + modelPath + "': " + buffer.getError().message());
  if (llvm::StringRef(modelPath).ends_with(".json")) {
    HFImportOptions options;
    options.batch = batch > 0 ? batch : 1;
    options.seqLen = tokens > 0 ? tokens : seqLen;
    options.training = modeName == "train";
    OwningOpRef<ModuleOp> module =
        importHFConfig((*buffer)->getBuffer(), modelPath, options, &context);
    if (!module)
      std::exit(1); // the importer printed a located error
    return module;
  }
  llvm::SourceMgr sources;
  sources.AddNewSourceBuffer(std::move(*buffer), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sources, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sources, &context);
  if (!module)
    std::exit(1);
  return module;
}

PartitionOptions planOptions() {
  PartitionOptions options;
  std::optional<Mode> mode = symbolizeMode(modeName);
  if (!mode)
    die("--mode must be train or infer, got '" + modeName + "'");
  options.mode = *mode;
  std::optional<Schedule> schedule = symbolizeSchedule(scheduleName);
  if (!schedule)
    die("--schedule must be gpipe or 1f1b, got '" + scheduleName + "'");
  options.schedule = *schedule;
  options.recomputePerStage = recomputeName == "auto";
  std::optional<Recompute> recompute =
      options.recomputePerStage ? Recompute::None : symbolizeRecompute(recomputeName);
  if (!recompute)
    die("--recompute must be none, selective, full or auto, got '" + recomputeName + "'");
  options.recompute = *recompute;
  if (virtualStagesOpt > 1024)
    die("--virtual-stages must be in [0, 1024], got " + llvm::Twine(virtualStagesOpt.getValue()));
  if (virtualStagesOpt > 1 &&
      (options.mode != Mode::Train || options.schedule != Schedule::OneFOneB))
    die("--virtual-stages=" + llvm::Twine(virtualStagesOpt.getValue()) +
        " is interleaved 1F1B: it needs --mode=train and --schedule=1f1b");
  options.virtualStages = virtualStagesOpt;
  std::optional<ZeroStages> zero = parseZeroStages(zeroName);
  if (!zero)
    die("--zero must be 0, 1, 2, 3, a comma list of them, or auto, got '" +
        zeroName + "'");
  options.zeroStages = *zero;
  // The partitioner plays every micro-batch: bound the batch where it is
  // given (the partitioner's own diagnostics then name the micro-batch
  // limit), and the threads before oneTBB allocates for them.
  if (batch < 0 || batch > kMaxBatchOption)
    die("--batch must be in [0, 2^40], got " + llvm::Twine(batch.getValue()));
  options.globalBatch = static_cast<uint64_t>(batch);
  if (threads > kMaxSearchThreads)
    die("--threads must be at most " + llvm::Twine(kMaxSearchThreads) + ", got " +
        llvm::Twine(threads.getValue()));
  options.threads = threads;
  return options;
}

std::string readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    die("cannot read '" + path + "': " + buffer.getError().message());
  return (*buffer)->getBuffer().str();
}

/// Mesh text from a spec or a .mlir file.
std::string meshFrom(llvm::StringRef spec, Inventory *homogeneous = nullptr) {
  if (spec.ends_with(".mlir"))
    return readFile(spec);
  llvm::Expected<Inventory> inv = parseMeshSpec(spec, network);
  if (!inv)
    die(llvm::toString(inv.takeError()));
  if (homogeneous)
    *homogeneous = *inv;
  return meshText(*inv, {inv->items[0].max}, "mesh");
}

Outcome evaluateOrDie(Planner &planner, llvm::StringRef mesh, llvm::StringRef what) {
  llvm::Expected<Outcome> outcome = planner.evaluate(mesh);
  if (!outcome)
    die(what + ": " + llvm::toString(outcome.takeError()));
  return std::move(*outcome);
}

std::string strategyOf(const Outcome &o) {
  if (!o.feasible)
    return "infeasible";
  const Plan &p = o.result.plan;
  std::string text = llvm::formatv("dp={0} pp={1} tp={2}", p.strategy.dp,
                                   p.strategy.pp, p.strategy.tp);
  if (p.virtualStages > 1)
    text += llvm::formatv(" v={0}", p.virtualStages).str();
  if (p.zero)
    text += llvm::formatv(" ZeRO-{0}", p.zero).str();
  // Chips the plan leaves out are neither priced nor powered.
  if (!o.result.idleChips.empty())
    text += llvm::formatv(" ({0} idle)", o.result.idleChips.size()).str();
  return text;
}

llvm::json::Object outcomeJson(const Outcome &o) {
  llvm::json::Object obj{{"feasible", o.feasible}, {"chips", o.chips}};
  if (!o.feasible) {
    obj["why_not"] = o.whyNot;
    return obj;
  }
  const Plan &p = o.result.plan;
  obj["step_time_s"] = p.stepS;
  obj["samples_per_s"] = o.result.globalBatch / p.stepS;
  obj["strategy"] = llvm::json::Object{{"dp", p.strategy.dp}, {"pp", p.strategy.pp},
                                       {"tp", p.strategy.tp}};
  obj["price_usd"] = o.priceUsd;
  obj["energy_per_step_j"] = o.energyJ;
  obj["idle_chips"] = static_cast<int64_t>(o.result.idleChips.size());
  return obj;
}

void writeFile(llvm::StringRef path, llvm::StringRef text) {
  std::string error;
  auto out = openCommittedOutput(path, &error);
  if (!out)
    die("cannot open '" + path + "': " + error);
  out->os() << text;
  out->keep();
}

void writeJson(llvm::json::Value value) {
  if (!jsonPath.empty())
    writeFile(jsonPath, llvm::formatv("{0:2}\n", finiteJSON(std::move(value))).str());
}

void writeHtml(llvm::StringRef title, llvm::ArrayRef<HtmlSection> sections) {
  if (!htmlPath.empty())
    writeFile(htmlPath, htmlPage(title, sections));
}

/// The plan sections of an outcome (its mesh rebuilt for device names).
void addPlanSections(MLIRContext *context, llvm::StringRef meshSource, const Outcome &o,
                     llvm::StringRef prefix, llvm::StringRef heading,
                     std::vector<HtmlSection> &sections) {
  if (!o.feasible)
    return;
  OwningOpRef<ModuleOp> holder = parseSourceString<ModuleOp>(meshSource, context);
  topo::MeshOp mesh;
  if (holder)
    holder->walk([&](topo::MeshOp op) { mesh = op; });
  if (!mesh)
    return;
  FailureOr<MeshView> view = MeshView::build(mesh);
  if (failed(view))
    return;
  for (HtmlSection s : planSections(o.result, *view, prefix)) {
    s.title = heading.str() + ": " + s.title;
    sections.push_back(std::move(s));
  }
}

std::string mixName(const Inventory &inv, llvm::ArrayRef<int64_t> counts) {
  std::vector<std::string> parts;
  for (auto [i, item] : llvm::enumerate(inv.items))
    if (counts[i] > 0)
      parts.push_back(std::to_string(counts[i]) + " x " + item.kind);
  return llvm::join(parts, " + ");
}

int runMatch(Planner &planner) {
  if (target.empty() || inventoryPath.empty())
    die("match needs --target and --inventory");
  Outcome targetOutcome = evaluateOrDie(planner, meshFrom(target), "target " + target);
  if (!targetOutcome.feasible)
    die("the target " + target + " cannot run the model: " + targetOutcome.whyNot);
  double targetS = targetOutcome.stepS();
  llvm::Expected<Inventory> inventory =
      parseInventory(readFile(inventoryPath), inventoryPath);
  if (!inventory)
    die(llvm::toString(inventory.takeError()));
  MatchOptions matchOptions;
  matchOptions.maxEvaluations = maxEvaluations;
  if (!(slack >= 1) || !std::isfinite(slack))
    die("--slack must be a finite number >= 1 (how far a mix's estimated rate may "
        "miss the target and still be partitioned), got " +
        llvm::formatv("{0}", slack.getValue()).str());
  matchOptions.slack = slack;
  llvm::Expected<MatchResult> found = match(planner, *inventory, targetS, matchOptions);
  if (!found)
    die(llvm::toString(found.takeError()));
  MatchResult &result = *found;
  llvm::outs() << llvm::formatv("target {0}: {1} ({2:f4} s per step)\n", target,
                                strategyOf(targetOutcome), targetS);
  llvm::outs() << llvm::formatv(
      "search: {0} mixes in price order, {1} ruled out by compute or memory "
      "bounds, {2} by measured efficiency, {3} partitioned{4}{5}\n",
      result.considered, result.ruledOut, result.heuristicallySkipped,
      result.evaluated.size(), result.exact ? " (exact)" : " (heuristic pruning)",
      result.exhausted ? ", inventory exhausted" : "");
  llvm::outs() << llvm::formatv("{0,-44} {1,10} {2,9} {3,12} {4,12} {5,6}  {6}\n",
                                "mix", "step s", "x target", "price $",
                                "J / step", "chips", "plan");
  for (const MatchCandidate &c : result.evaluated) {
    const Outcome &o = c.outcome;
    llvm::outs() << llvm::formatv(
        "{0,-44} {1,10} {2,9} {3,12} {4,12} {5,6}  {6}{7}\n",
        mixName(*inventory, c.counts),
        o.feasible ? llvm::formatv("{0:f4}", o.stepS()).str() : std::string("-"),
        o.feasible ? llvm::formatv("{0:f2}", targetS / o.stepS()).str() : std::string("-"),
        llvm::formatv("{0:f0}", o.priceUsd).str(),
        o.feasible ? llvm::formatv("{0:f0}", o.energyJ).str() : std::string("-"),
        o.chips, strategyOf(o), c.meetsTarget ? "  meets target" : "");
  }
  std::vector<int> front = paretoFront(result);
  llvm::outs() << "Pareto front (step time, price):";
  for (int i : front)
    llvm::outs() << llvm::formatv(" ({0:f4} s, ${1:f0})", result.evaluated[i].outcome.stepS(),
                                  result.evaluated[i].outcome.priceUsd);
  llvm::outs() << "\n";
  llvm::json::Array evaluated;
  for (const MatchCandidate &c : result.evaluated) {
    llvm::json::Object obj = outcomeJson(c.outcome);
    obj["mix"] = mixName(*inventory, c.counts);
    obj["counts"] = llvm::json::Array(c.counts);
    obj["meets_target"] = c.meetsTarget;
    evaluated.push_back(std::move(obj));
  }
  llvm::json::Object json{{"target", target}, {"target_step_time_s", targetS},
                          {"evaluated", std::move(evaluated)},
                          {"considered", int64_t(result.considered)},
                          {"ruled_out", int64_t(result.ruledOut)},
                          {"pareto_front", llvm::json::Array(front)}};
  if (result.winner >= 0) {
    const MatchCandidate &w = result.evaluated[result.winner];
    llvm::outs() << llvm::formatv(
        "winner: {0} for ${1:f0}: {2:f4} s per step ({3:f2}x the target), {4}\n",
        mixName(*inventory, w.counts), w.outcome.priceUsd, w.outcome.stepS(),
        targetS / w.outcome.stepS(), strategyOf(w.outcome));
    const Plan &p = w.outcome.result.plan;
    for (auto [s, stage] : llvm::enumerate(p.stages))
      llvm::outs() << llvm::formatv("  stage {0}: layers [{1}, {2}) on {3} replica(s) x {4} chip(s)\n",
                                    s, stage.firstLayer, stage.endLayer,
                                    stage.devices.size(), stage.devices.front().size());
    json["winner"] = result.winner;
  } else {
    if (result.exhausted)
      llvm::outs() << "no mix of the inventory reaches the target";
    else
      llvm::outs() << llvm::formatv(
          "no mix among the {0} partitioned reaches the target (the search "
          "stopped there; raise --max-evaluations to go on)",
          result.evaluated.size());
    llvm::outs() << llvm::formatv(": the best reaches {0:f2}x its speed; binding: {1}\n",
                                  result.bestFraction, result.binding);
    json["best_fraction"] = result.bestFraction;
    json["binding"] = result.binding;
  }
  writeJson(std::move(json));
  if (!htmlPath.empty()) {
    std::vector<ParetoPoint> points;
    llvm::DenseSet<int> onFront(front.begin(), front.end());
    for (auto [i, c] : llvm::enumerate(result.evaluated))
      if (c.outcome.feasible)
        points.push_back({mixName(*inventory, c.counts), c.outcome.priceUsd,
                          c.outcome.stepS(), onFront.contains(int(i)),
                          int(i) == result.winner});
    std::vector<HtmlSection> sections = {paretoSection(points, targetS)};
    if (result.winner >= 0) {
      const MatchCandidate &w = result.evaluated[result.winner];
      addPlanSections(planner.getModel()->getContext(),
                      meshText(*inventory, w.counts), w.outcome, "winner-",
                      "Winner " + mixName(*inventory, w.counts), sections);
    }
    writeHtml("chipmesh-plan match: " + target, sections);
  }
  return 0;
}

/// Applies the what-if changes to mesh text.
std::string changed(std::string mesh, const Inventory *homogeneous,
                    std::string &described) {
  std::vector<std::string> what;
  for (const std::string &change : scaleLink) {
    auto [link, factorText] = llvm::StringRef(change).split(':');
    double factor = 0;
    if (factorText.getAsDouble(factor) || !(factor > 0))
      die("--scale-link '" + change + "': expected link:factor with factor > 0");
    const CatalogLink *entry = lookupCatalogLink(link);
    if (!entry)
      die("--scale-link '" + change + "': unknown link '" + link +
          "' (expected one of " + catalogLinkIds() + ")");
    std::string needle = "catalog \"" + link.str() + "\"";
    size_t at = mesh.find(needle);
    if (at == std::string::npos)
      die("--scale-link '" + change + "': the mesh has no link of kind '" + link + "'");
    while (at != std::string::npos) {
      std::string replacement = needle + llvm::formatv(" {{bytes_per_s = {0:e} : f64}",
                                                       entry->bytesPerS * factor).str();
      mesh.replace(at, needle.size(), replacement);
      at = mesh.find(needle, at + replacement.size());
    }
    what.push_back(link.str() + " x " + factorText.str());
  }
  if (!swap.empty()) {
    auto [from, to] = llvm::StringRef(swap).split(':');
    const CatalogChip *a = lookupCatalogChip(from), *b = lookupCatalogChip(to);
    if (!a || !b)
      die("--swap '" + swap + "': expected from:to catalog chips (" +
          catalogChipIds() + ")");
    std::string needle = "catalog \"" + from.str() + "\"";
    if (mesh.find(needle) == std::string::npos)
      die("--swap '" + swap + "': the mesh has no " + from + " chips");
    // The chip and its scale-up fabric change together (an H800 brings its
    // reduced NVLink).
    for (auto [oldId, newId] : {std::pair{from.str(), to.str()},
                                std::pair{a->scaleupLink.str(), b->scaleupLink.str()}}) {
      std::string oldNeedle = "catalog \"" + oldId + "\"", newText = "catalog \"" + newId + "\"";
      for (size_t at = mesh.find(oldNeedle); at != std::string::npos;
           at = mesh.find(oldNeedle, at + newText.size()))
        mesh.replace(at, oldNeedle.size(), newText);
    }
    what.push_back(swap);
  }
  if (addChips != 0) {
    if (!homogeneous)
      die("--add-chips needs a kind:count mesh");
    Inventory inv = *homogeneous;
    inv.items[0].max += addChips;
    if (inv.items[0].max < 1)
      die("--add-chips leaves no chips");
    mesh = meshText(inv, {inv.items[0].max}, "mesh");
    what.push_back(llvm::formatv("{0:+} chips", addChips).str());
  }
  described = llvm::join(what, ", ");
  return mesh;
}

int runWhatIf(Planner &planner, PartitionOptions options) {
  if (meshSpec.empty())
    die("what-if needs --mesh");
  Inventory homogeneous;
  bool isSpec = !llvm::StringRef(meshSpec).ends_with(".mlir");
  std::string baseMesh = meshFrom(meshSpec, isSpec ? &homogeneous : nullptr);
  Outcome before = evaluateOrDie(planner, baseMesh, "mesh " + meshSpec);
  std::string described;
  std::string afterMesh = changed(baseMesh, isSpec ? &homogeneous : nullptr, described);
  if (newBatch < 0 || newBatch > kMaxBatchOption)
    die("--new-batch must be in [0, 2^40], got " + llvm::Twine(newBatch.getValue()));
  if (newBatch > 0) {
    options.globalBatch = static_cast<uint64_t>(newBatch);
    described += (described.empty() ? "" : ", ") + llvm::formatv("batch {0}", newBatch).str();
  }
  OwningOpRef<ModuleOp> resized;
  func::FuncOp changedModel = planner.getModel();
  if (newSeqLen > 0) {
    if (!llvm::StringRef(modelPath).ends_with(".json"))
      die("--new-seq-len needs a config.json model (a .mlir model has fixed shapes)");
    resized = loadModel(*changedModel->getContext(), newSeqLen);
    FailureOr<func::FuncOp> f = findModelFunction(*resized, "");
    if (failed(f))
      return 1;
    changedModel = *f;
    described += (described.empty() ? "" : ", ") +
                 llvm::formatv("sequence length {0}", newSeqLen).str();
  }
  if (described.empty())
    die("what-if needs a change: --scale-link, --swap, --add-chips, --new-batch "
        "or --new-seq-len");
  Planner changedPlanner(changedModel, Calibration(), options);
  Outcome after = evaluateOrDie(changedPlanner, afterMesh, "changed mesh");
  auto row = [](llvm::StringRef label, const Outcome &o) {
    llvm::outs() << llvm::formatv("{0,-8} {1,8} {2,12} {3,14} {4}\n", label, o.chips,
                                  o.feasible ? llvm::formatv("{0:f4}", o.stepS()).str() : "-",
                                  o.feasible ? llvm::formatv("{0:f2}", o.result.globalBatch / o.stepS()).str() : "-",
                                  o.feasible ? strategyOf(o) : "infeasible: " + o.whyNot);
  };
  llvm::outs() << "what-if on " << meshSpec << ": " << described << "\n";
  llvm::outs() << llvm::formatv("{0,-8} {1,8} {2,12} {3,14} {4}\n", "", "chips",
                                "step s", "samples/s", "plan");
  row("before", before);
  row("after", after);
  llvm::json::Object json{{"mesh", meshSpec}, {"change", described},
                          {"before", outcomeJson(before)}, {"after", outcomeJson(after)}};
  if (before.feasible && after.feasible) {
    double slowdown = after.stepS() / before.stepS();
    llvm::outs() << llvm::formatv("step time x{0:f3} ({1:+f1}%)\n", slowdown,
                                  100 * (slowdown - 1));
    json["slowdown"] = slowdown;
    if (recover && isSpec && slowdown > 1 + 1e-9 && addChips == 0) {
      // The fewest added nodes that bring the changed mesh back to the
      // original step time: doubling, then bisection (assumes more chips
      // never make the best plan slower; checked at the answer).
      Inventory inv = homogeneous;
      int64_t base = inv.items[0].max, step = inv.items[0].perNode;
      auto trial = [&](int64_t extra) {
        inv.items[0].max = base + extra;
        std::string unused;
        std::string mesh = meshText(inv, {inv.items[0].max}, "mesh");
        return evaluateOrDie(changedPlanner, changed(mesh, &inv, unused), "recovery mesh");
      };
      auto recovers = [&](const Outcome &o) {
        return o.feasible && o.stepS() <= before.stepS() * (1 + 1e-9);
      };
      int64_t lo = 0, hi = step;
      std::optional<Outcome> at;
      while (hi <= 4 * base) {
        Outcome o = trial(hi);
        if (recovers(o)) {
          at = std::move(o);
          break;
        }
        lo = hi;
        hi *= 2;
      }
      bool found = at.has_value();
      if (found) {
        while (hi - lo > step) {
          int64_t mid = lo + ((hi - lo) / 2 / step) * step;
          if (mid <= lo)
            break;
          Outcome o = trial(mid);
          if (recovers(o)) {
            hi = mid;
            at = std::move(o);
          } else {
            lo = mid;
          }
        }
        llvm::outs() << llvm::formatv(
            "recovery: {0} more chips ({1} in all) bring the step back to {2:f4} s ({3})\n",
            hi, base + hi, at->stepS(), strategyOf(*at));
        json["recovery_extra_chips"] = hi;
      }
      if (!found) {
        llvm::outs() << "recovery: not within 4x the chips\n";
        json["recovery_extra_chips"] = nullptr;
      }
    }
  }
  writeJson(std::move(json));
  std::vector<HtmlSection> sections;
  MLIRContext *context = planner.getModel()->getContext();
  addPlanSections(context, baseMesh, before, "before-", "Before", sections);
  addPlanSections(context, afterMesh, after, "after-", "After (" + described + ")", sections);
  writeHtml("chipmesh-plan what-if: " + meshSpec + ", " + described, sections);
  return 0;
}

int runScale(Planner &planner, PartitionOptions options) {
  if (kinds.empty() || chipCounts.empty())
    die("scale needs --kinds and --chips");
  if (batchPerChip < 0)
    die("--batch-per-chip must be positive (0: a fixed batch)");
  llvm::json::Array curves;
  std::vector<ScalingCurve> htmlCurves;
  llvm::outs() << llvm::formatv("{0,-16} {1,7} {2,8} {3,12} {4,14} {5,11}  {6}\n", "kind",
                                "chips", "batch", "step s", "samples/s", "efficiency", "plan");
  for (const std::string &kind : kinds) {
    llvm::json::Array points;
    double baseRate = 0;
    int64_t baseChips = 0;
    for (int64_t chips : chipCounts) {
      if (chips < 1)
        die("--chips must be positive");
      std::string spec = kind + ":" + std::to_string(chips);
      PartitionOptions o = options;
      if (batchPerChip > 0) {
        int64_t total = 0;
        if (__builtin_mul_overflow(batchPerChip.getValue(), chips, &total) ||
            total > kMaxBatchOption)
          die(llvm::formatv("--batch-per-chip {0} x {1} chips is more than 2^40 samples",
                            batchPerChip.getValue(), chips)
                  .str());
        o.globalBatch = static_cast<uint64_t>(total);
      }
      Planner p(planner.getModel(), Calibration(), o);
      Outcome out = evaluateOrDie(p, meshFrom(spec), spec);
      double rate = out.feasible ? out.result.globalBatch / out.stepS() : 0;
      if (out.feasible && baseRate == 0) {
        baseRate = rate;
        baseChips = chips;
      }
      double efficiency = out.feasible && baseRate > 0
                              ? (rate / chips) / (baseRate / baseChips)
                              : 0;
      llvm::outs() << llvm::formatv(
          "{0,-16} {1,7} {2,8} {3,12} {4,14} {5,11}  {6}\n", kind, chips,
          out.feasible ? std::to_string(out.result.globalBatch) : "-",
          out.feasible ? llvm::formatv("{0:f4}", out.stepS()).str() : "-",
          out.feasible ? llvm::formatv("{0:f1}", rate).str() : "-",
          out.feasible ? llvm::formatv("{0:f3}", efficiency).str() : "-",
          out.feasible ? strategyOf(out) : "infeasible: " + out.whyNot);
      llvm::json::Object point = outcomeJson(out);
      point["efficiency"] = efficiency;
      points.push_back(std::move(point));
      if (out.feasible) {
        if (htmlCurves.empty() || htmlCurves.back().kind != kind)
          htmlCurves.push_back({kind, {}});
        htmlCurves.back().efficiency.push_back({chips, efficiency});
      }
    }
    curves.push_back(llvm::json::Object{{"kind", kind}, {"points", std::move(points)}});
  }
  writeJson(llvm::json::Object{{"curves", std::move(curves)}});
  writeHtml("chipmesh-plan scale", {scalingSection(htmlCurves)});
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  chipmesh::addVersionPrinter("chipmesh-plan");
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "ChipMesh planner: flagship matching, what-if, scaling\n");
  bool sub = matchCmd || whatIfCmd || scaleCmd;
  if (!sub)
    die("expected a sub-command: match, what-if or scale (see --help)");
  if (modelPath.empty())
    die("expected a model (.mlir or config.json)");
  DialectRegistry registry;
  registerChipMeshDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = loadModel(context);
  FailureOr<func::FuncOp> model = findModelFunction(*module, "");
  if (failed(model))
    return 1;
  PartitionOptions options = planOptions();
  Planner planner(*model, Calibration(), options);
  // --json and --html appear together when the run succeeds, or not at all.
  beginOutputTransaction();
  int code = matchCmd ? runMatch(planner)
             : whatIfCmd ? runWhatIf(planner, options)
                         : runScale(planner, options);
  std::string error;
  if (code != 0) {
    discardOutputs();
  } else if (!commitOutputs(&error)) {
    llvm::WithColor::error(llvm::errs(), "chipmesh-plan") << error << "\n";
    return 1;
  }
  return code;
}
