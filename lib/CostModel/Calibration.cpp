//===- Calibration.cpp - Efficiencies and overheads per chip and link -----===//
//
// Every default below names where it comes from; docs/cost-model.md has the
// full table with links. "ASSUMED" marks a value with no public
// measurement for that part: it is a family default a user should replace
// with a measured one through a calibration file.
//
//===----------------------------------------------------------------------===//

#include "chipmesh/CostModel/Calibration.h"
#include "chipmesh/Support/JSON.h"
#include "chipmesh/Support/Output.h"
#include "chipmesh/Support/Units.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace chipmesh;
using llvm::StringRef;

namespace {

using units::kGiB;

struct ChipDefault {
  StringRef id;
  unsigned computeUnits;
  double matmulEfficiency;
  double attentionForward, attentionBackward;
  double memoryEfficiency;
  unsigned tile; ///< square output tile edge
};

// CUDA: ~2.6-2.8 us to enqueue one kernel asynchronously, ~4-6 us with a
// synchronisation (github.com/ahrefs/ocannl/issues/488; susun-blog.com
// "pegainfer-3-cuda-graph"); back-to-back training kernels pay the enqueue
// rate, so 3 us.
constexpr double kCudaKernelOverheadS = 3e-6;
// Other stacks (CANN, ROCm, MUSA, SynapseAI): no public figure. ASSUMED
// twice CUDA's.
constexpr double kOtherKernelOverheadS = 6e-6;
// CUDA context, cuBLAS workspace, NCCL buffers and caching-allocator
// slack: ASSUMED 1 GiB, the usual planning margin; calibrate per site.
constexpr double kReservedBytes = 1.0 * kGiB;
// 128 x 128 output tiles, K step 64: the middle of the cuBLAS/CUTLASS
// Ampere/Hopper tile sizes; cuBLAS chooses among several, so quantization
// is somewhat milder than one tile implies.
constexpr unsigned kTile = 128, kTileK = 64;

// Columns (docs/cost-model.md has the links):
//  units: SMs / AI cores / CUs (NVIDIA whitepapers and deviceQuery, ROCm
//    gpu-specs, HAMi/CANN device configs for Ascend). H800 and A800 are
//    inferred from their H100/A100 dies.
//  mamf: best measured BF16 GEMM / datasheet peak. Stas Bekman's MAMF
//    table (ml-engineering, compute/accelerator): H100 SXM 794.5/989,
//    A100 SXM 271.2/312, A100 PCIe 252.9/312, B200 1745/2250, MI300X
//    668.4/1300, Gaudi2 418.7/432. torch.mm community data
//    (zzc0721/torch-performance-test-data): H100 PCIe 495.9/756, H20
//    142.3/148, A800 266.5/312, L40S 269.2/362, RTX 4090 173/165 (capped
//    at 1: the card boosts above its rated clock). Ascend 910B: 328 TFLOPS
//    measured (gameofdimension/limulidae) against the 910B2's 376 peak.
//    H200 and H800: "the same" as H100 (MAMF table note; same die).
//  attnF / attnB: fused attention forward / backward fraction of peak.
//    A100: FlashAttention-2 reaches 203 TFLOPS fwd+bwd (hdim 128, 16k) =
//    0.65 of peak, split as 0.72 / 0.62 (FA2 paper: forward 50-73%).
//    Hopper: FlashAttention-2, the kernel PyTorch's SDPA, Hugging Face
//    and the flash-attn package run there (FlashAttention-3 is a separate,
//    Hopper-only install): FA2 fwd+bwd 338/989 (FA2 README, hdim 128,
//    16k), forward 362/989 at 2k and backward 322/989 at 16k in the FA3
//    paper's comparison (Shah et al. 2024, figs. 5-6) -> 0.38 / 0.33.
//    Stacks on FlashAttention-3 or cuDNN's fused attention (Transformer
//    Engine) reach 648/989 forward, ~0.45 backward: set
//    attention_*_efficiency in a calibration file. B200: ASSUMED at the
//    FA3-class figures (FA2 has no Blackwell kernels). MI300X: FA2
//    fwd+bwd 328.6/1307 (Azure AI-benchmarking-guide) -> 0.30 / 0.22.
//  mem: BabelStream Triad / rated bandwidth (Azure AI-benchmarking-guide):
//    A100 1.70/2.04, H100 2.97/3.35, H200 4.15/4.8, MI300X 4.09/5.3; H20
//    3.71/4.0 (AutoMegaKernel PR 3).
//  ASSUMED rows have no public measurement: family defaults.
const ChipDefault kChipDefaults[] = {
    // id                   units  mamf   attnF  attnB  mem   tile
    {"h100-sxm",             132, 0.803, 0.38, 0.33, 0.89, kTile},
    {"h100-pcie",            114, 0.656, 0.38, 0.33, 0.89, kTile},
    {"h800-sxm",             132, 0.803, 0.38, 0.33, 0.89, kTile},
    {"h20",                   78, 0.961, 0.38, 0.33, 0.93, kTile},
    {"h200",                 132, 0.803, 0.38, 0.33, 0.86, kTile},
    {"b200",                 148, 0.776, 0.65, 0.45, 0.86, kTile}, // attn, mem ASSUMED
    {"a100-sxm-80gb",        108, 0.869, 0.72, 0.62, 0.83, kTile},
    {"a100-sxm-40gb",        108, 0.869, 0.72, 0.62, 0.83, kTile}, // as the 80 GB SXM4 (same die and clocks); mem ASSUMED
    {"a100-pcie-80gb",       108, 0.811, 0.72, 0.62, 0.83, kTile},
    {"a800-sxm-80gb",        108, 0.854, 0.72, 0.62, 0.83, kTile},
    {"l40s",                 142, 0.743, 0.60, 0.50, 0.85, kTile}, // attn, mem ASSUMED
    {"l20",                   92, 0.743, 0.60, 0.50, 0.85, kTile}, // ASSUMED as L40S
    {"rtx-4090",             128, 1.000, 0.60, 0.50, 0.85, kTile}, // attn, mem ASSUMED
    {"v100-sxm2-32gb",        80, 0.800, 0.50, 0.40, 0.85, kTile}, // ASSUMED
    {"mi300x",               304, 0.514, 0.30, 0.22, 0.77, kTile},
    {"mi250x",               220, 0.514, 0.30, 0.22, 0.77, kTile}, // ASSUMED as MI300X
    {"gaudi2",                 2, 0.969, 0.50, 0.40, 0.80, 256},   // 2 MMEs, 256x256
    {"ascend-910",            30, 0.700, 0.50, 0.40, 0.80, kTile}, // ASSUMED
    {"ascend-910b",           24, 0.872, 0.50, 0.40, 0.80, kTile}, // attn, mem ASSUMED
    {"mtt-s4000",             64, 0.700, 0.50, 0.40, 0.80, kTile}, // ASSUMED
    {"biren-br100",           32, 0.700, 0.50, 0.40, 0.80, kTile}, // ASSUMED
    {"cambricon-mlu370-x8",   64, 0.700, 0.50, 0.40, 0.80, kTile}, // ASSUMED
};
// A chip given only by numbers: the ASSUMED family default.
const ChipDefault kGenericChip = {"", 64, 0.700, 0.50, 0.40, 0.80, kTile};

bool isCuda(StringRef id) {
  const CatalogChip *chip = lookupCatalogChip(id);
  return chip && chip->vendor == "NVIDIA";
}

// Achieved collective bus bandwidth over the rated per-direction figure.
// NVLink: 8-GPU ring all-reduce busbw 365.6/450 (H200, NVLS off, stas00
// network README), 231.6/300 (A100, Azure), ~160/200 (H800, DeepSeek)
// -> 0.80. InfiniBand: "24 GB/s per 200G NIC", "46-48 GB/s per NDR NIC"
// (NCCL maintainers, nccl-tests issues 119 and 290) -> 0.95. RoCE:
// ASSUMED 0.90 (same NICs, lossy-fabric margin). PCIe: host-staged copies
// reach 37 of 63 GB/s on HGX H100 -> 0.60; kernel TCP ASSUMED 0.60.
// Others ASSUMED 0.80.
double technologyEfficiency(topo::LinkTechnology technology) {
  switch (technology) {
  case topo::LinkTechnology::nvlink:
    return 0.80;
  case topo::LinkTechnology::infiniband:
    return 0.95;
  case topo::LinkTechnology::roce:
    return 0.90;
  case topo::LinkTechnology::pcie:
  case topo::LinkTechnology::host_bridge:
  case topo::LinkTechnology::ethernet:
    return 0.60;
  default:
    return 0.80;
  }
}

// Latency one step of a collective pays per link traversal under NCCL's
// LL ring protocol; the other protocols and trees scale this by NCCL's own
// ratios (CommModel::hopLatency). NVLink: 2.0 us, measured: nccl-tests
// on a DGX-A100 with NCCL_ALGO=Ring NCCL_MAX_NCHANNELS=1, 8-128 B, 2..8
// GPUs take 10, 13.76, 16.88, 20.8, 25.2, 29.5, 33.7 us for 2(n-1) = 2..14
// steps (NVIDIA/nccl-tests issue 123): a least-squares slope of 1.98 us
// per step over a 5.6 us call (NCCL's tuner says 0.6 us per step and 6.6
// per call; its figures rank algorithms, they are not wall-clock). PCIe
// 1.0 us and RDMA networks 2.7 us: the tuner's (src/graph/tuning.cc), no
// equally clean measurement found. Kernel TCP Ethernet (NCCL's socket
// transport) is bound by the kernel stack: 20 us, the low end of the
// 20-50 us one-way small-message range in shared/reference/links.tsv
// (malgukke.de, WWT). Other scale-up fabrics (HCCS, xGMI): ASSUMED
// NVLink-class.
double technologyStepLatency(topo::LinkTechnology technology) {
  switch (technology) {
  case topo::LinkTechnology::nvlink:
    return 2.0e-6;
  case topo::LinkTechnology::pcie:
  case topo::LinkTechnology::host_bridge:
    return 1.0e-6;
  case topo::LinkTechnology::ethernet:
    return 20.0e-6;
  case topo::LinkTechnology::infiniband:
  case topo::LinkTechnology::roce:
    return 2.7e-6;
  default:
    return 2.0e-6;
  }
}

std::string formatNumber(double v) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%g", v);
  return text;
}

llvm::Error fieldError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// One settable field of a calibration entry and the values it accepts.
struct Field {
  enum Range { Fraction, NonNegative, Count, Seconds };
  StringRef name;
  Range range;
  double *number = nullptr;
  unsigned *count = nullptr;
};

/// Applies the fields of `object` through `fields`; rejects unknown keys
/// and out-of-range values, naming the field.
llvm::Error applyFields(const llvm::json::Object &object,
                        llvm::ArrayRef<Field> fields, StringRef where) {
  for (const auto &entry : object) {
    StringRef key = entry.first;
    const Field *field = llvm::find_if(fields, [&](const Field &f) { return f.name == key; });
    if (field == fields.end()) {
      std::string expected;
      for (const Field &f : fields)
        expected += (expected.empty() ? "" : ", ") + f.name.str();
      return fieldError(where + ": unknown field '" + key + "' (expected " +
                        expected + ")");
    }
    std::optional<double> number = entry.second.getAsNumber();
    if (!number)
      return fieldError(where + "." + key + ": expected a number");
    double v = *number;
    auto bad = [&](StringRef range) {
      return fieldError(where + "." + key + ": must be " + range + ", got " +
                        formatNumber(v));
    };
    switch (field->range) {
    case Field::Fraction:
      if (!(v > 0 && v <= 1))
        return bad("in (0, 1]");
      break;
    case Field::NonNegative:
      if (!(v >= 0 && v < 1e30))
        return bad(">= 0");
      break;
    case Field::Seconds:
      if (!(v >= 0 && v < 1))
        return bad("in [0, 1)");
      break;
    case Field::Count:
      if (!(v >= 1 && v <= 1 << 20) || v != static_cast<unsigned>(v))
        return bad("an integer in [1, 2^20]");
      *field->count = static_cast<unsigned>(v);
      continue;
    }
    *field->number = v;
  }
  return llvm::Error::success();
}

llvm::Error applyChip(const llvm::json::Object &object, ChipCalibration &c,
                      StringRef where) {
  const Field fields[] = {
      {"matmul_efficiency", Field::Fraction, &c.matmulEfficiency},
      {"attention_forward_efficiency", Field::Fraction, &c.attentionForwardEfficiency},
      {"attention_backward_efficiency", Field::Fraction, &c.attentionBackwardEfficiency},
      {"memory_efficiency", Field::Fraction, &c.memoryEfficiency},
      {"kernel_overhead_s", Field::NonNegative, &c.kernelOverheadS},
      {"reserved_bytes", Field::NonNegative, &c.reservedBytes},
      {"compute_units", Field::Count, nullptr, &c.computeUnits},
      {"tile_m", Field::Count, nullptr, &c.tileM},
      {"tile_n", Field::Count, nullptr, &c.tileN},
      {"tile_k", Field::Count, nullptr, &c.tileK},
  };
  return applyFields(object, fields, where);
}

llvm::Error applyLink(const llvm::json::Object &object, LinkCalibration &c,
                      StringRef where) {
  const Field fields[] = {
      {"bandwidth_efficiency", Field::Fraction, &c.bandwidthEfficiency},
      {"step_latency_s", Field::Seconds, &c.stepLatencyS},
  };
  return applyFields(object, fields, where);
}

} // namespace

ChipCalibration Calibration::defaultChip(StringRef catalogId) {
  const ChipDefault *row = &kGenericChip;
  for (const ChipDefault &candidate : kChipDefaults)
    if (candidate.id == catalogId)
      row = &candidate;
  ChipCalibration calib;
  calib.computeUnits = row->computeUnits;
  calib.matmulEfficiency = row->matmulEfficiency;
  calib.attentionForwardEfficiency = row->attentionForward;
  calib.attentionBackwardEfficiency = row->attentionBackward;
  calib.memoryEfficiency = row->memoryEfficiency;
  calib.kernelOverheadS = !row->id.empty() && isCuda(row->id)
                              ? kCudaKernelOverheadS
                              : kOtherKernelOverheadS;
  calib.tileM = row->tile;
  calib.tileN = row->tile;
  calib.tileK = kTileK;
  calib.reservedBytes = kReservedBytes;
  calib.source = row->id.empty() ? "generic defaults" : ("defaults for " + row->id).str();
  return calib;
}

LinkCalibration Calibration::defaultLink(StringRef catalogId,
                                         topo::LinkTechnology technology) {
  LinkCalibration calib;
  calib.bandwidthEfficiency = technologyEfficiency(technology);
  calib.stepLatencyS = technologyStepLatency(technology);
  calib.source = catalogId.empty() ? "generic defaults"
                                   : ("defaults for " + catalogId).str();
  return calib;
}

llvm::Expected<Calibration> Calibration::fromJSON(StringRef text) {
  llvm::Expected<llvm::json::Value> parsed = parseBoundedJSON(text);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fieldError("the calibration must be a JSON object with \"chips\" "
                      "and/or \"links\"");
  Calibration result;
  for (const auto &section : *root) {
    StringRef name = section.first;
    bool chips = name == "chips";
    if (!chips && name != "links" && name != "comment")
      return fieldError("unknown top-level key '" + name +
                        "' (expected chips, links, comment)");
    if (name == "comment")
      continue;
    const llvm::json::Object *entries = section.second.getAsObject();
    if (!entries)
      return fieldError(name + ": expected an object keyed by kind");
    for (const auto &entry : *entries) {
      const llvm::json::Object *fields = entry.second.getAsObject();
      std::string where = (name + "." + entry.first.str()).str();
      if (!fields)
        return fieldError(where + ": expected an object of fields");
      // Validate now so errors point at the file, not at first use.
      if (chips) {
        ChipCalibration scratch = defaultChip("");
        if (llvm::Error error = applyChip(*fields, scratch, where))
          return std::move(error);
        result.chipOverrides[entry.first.str()] = *fields;
      } else {
        LinkCalibration scratch;
        if (llvm::Error error = applyLink(*fields, scratch, where))
          return std::move(error);
        result.linkOverrides[entry.first.str()] = *fields;
      }
    }
  }
  return result;
}

llvm::Expected<Calibration> Calibration::fromFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(readablePath(path));
  if (!buffer)
    return fieldError("cannot read calibration file '" + path +
                      "': " + buffer.getError().message());
  llvm::Expected<Calibration> result = fromJSON((*buffer)->getBuffer());
  if (!result)
    return fieldError("calibration file '" + path +
                      "': " + llvm::toString(result.takeError()));
  return result;
}

ChipCalibration Calibration::chip(const ChipKindSpec &kind) const {
  ChipCalibration calib = defaultChip(kind.catalogId);
  for (StringRef key : {StringRef(kind.catalogId), StringRef(kind.name)}) {
    auto it = chipOverrides.find(key);
    if (key.empty() || it == chipOverrides.end())
      continue;
    llvm::consumeError(applyChip(it->second, calib, key)); // validated
    calib.source = "calibration file";
  }
  return calib;
}

LinkCalibration Calibration::link(const LinkKindSpec &kind) const {
  LinkCalibration calib = defaultLink(kind.catalogId, kind.technology);
  for (StringRef key : {StringRef(kind.catalogId), StringRef(kind.name)}) {
    auto it = linkOverrides.find(key);
    if (key.empty() || it == linkOverrides.end())
      continue;
    llvm::consumeError(applyLink(it->second, calib, key));
    calib.source = "calibration file";
  }
  return calib;
}
