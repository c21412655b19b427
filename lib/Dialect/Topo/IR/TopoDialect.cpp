//===- TopoDialect.cpp - Topo dialect and op verifiers --------------------===//

#include "chipmesh/Dialect/Topo/Catalog.h"
#include "chipmesh/Dialect/Topo/IR/TopoOps.h"
#include "chipmesh/Dialect/Topo/MeshView.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"
#include <cmath>

using namespace mlir;
using namespace chipmesh;
using namespace chipmesh::topo;

#include "chipmesh/Dialect/Topo/IR/TopoDialect.cpp.inc"
#include "chipmesh/Dialect/Topo/IR/TopoEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "chipmesh/Dialect/Topo/IR/TopoAttrs.cpp.inc"

void TopoDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "chipmesh/Dialect/Topo/IR/TopoAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "chipmesh/Dialect/Topo/IR/TopoOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Custom directives
//===----------------------------------------------------------------------===//

static ParseResult parseInterconnectKeyword(OpAsmParser &parser,
                                            InterconnectAttr &attr) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Interconnect> kind = symbolizeInterconnect(keyword);
  if (!kind)
    return parser.emitError(loc) << "unknown interconnect '" << keyword
                                 << "'; expected switched, ring, full_mesh "
                                    "or none";
  attr = InterconnectAttr::get(parser.getContext(), *kind);
  return success();
}

static void printInterconnectKeyword(OpAsmPrinter &printer, Operation *,
                                     InterconnectAttr attr) {
  printer << stringifyInterconnect(attr.getValue());
}

/// Groups nested while parsing on this thread: the parser recurses once per
/// level, so thousands of nested groups would overflow the stack. Real
/// hierarchies have a handful of levels (chip, node, rack, pod, cluster).
static thread_local unsigned groupParseDepth = 0;

static ParseResult parseGroupBody(OpAsmParser &parser, Region &body) {
  if (groupParseDepth >= topo::kMaxGroupDepth)
    return parser.emitError(parser.getCurrentLocation())
           << "nests more than " << topo::kMaxGroupDepth
           << " levels of groups (a real hierarchy has a handful)";
  ++groupParseDepth;
  ParseResult result = parser.parseRegion(body, /*arguments=*/{});
  --groupParseDepth;
  // As the generated parser does for a single-block region: `{}` is one
  // empty block (the verifier then says the group holds no chips).
  if (succeeded(result) && body.empty())
    body.emplaceBlock();
  return result;
}

static void printGroupBody(OpAsmPrinter &printer, Operation *, Region &body) {
  printer.printRegion(body);
}

#define GET_OP_CLASSES
#include "chipmesh/Dialect/Topo/IR/TopoOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Verifiers
//===----------------------------------------------------------------------===//

/// Every number written in a kind declaration must be positive, finite and
/// inside the range a real part can have (so that no time, share or price
/// derived from it overflows or vanishes), and every attribute must be one
/// the op declares: a misspelt override would otherwise be ignored.
static LogicalResult verifyPositive(Operation *op, ArrayRef<StringRef> declared) {
  for (NamedAttribute attr : op->getAttrs()) {
    StringRef name = attr.getName().getValue();
    // Dialect-prefixed (discardable) attributes belong to their dialect.
    // sym_visibility is every symbol's (`topo.chip_kind private @x`).
    if (!name.contains('.') && name != "sym_visibility" &&
        !llvm::is_contained(declared, name))
      return op->emitOpError()
             << "unknown attribute '" << name << "'; expected one of "
             << llvm::join(llvm::make_filter_range(declared,
                                                   [](StringRef n) {
                                                     return n != "sym_name" &&
                                                            n != "catalog";
                                                   }),
                           ", ");
    auto value = dyn_cast<FloatAttr>(attr.getValue());
    if (!value)
      continue;
    double number = value.getValueAsDouble();
    if (!(number > 0) || !std::isfinite(number))
      return op->emitOpError()
             << "'" << name << "' must be a positive finite number, got " << number;
    // Rates from 1e3 to 1e21 per second (a kFLOP/s to a zettaFLOP/s),
    // latencies up to an hour, memories from a KB to an exabyte.
    double low = 0, high = 1e12;
    StringRef what = "";
    if (name.ends_with("_per_s")) {
      low = 1e3, high = 1e21, what = " per second";
    } else if (name == "latency_s") {
      low = 1e-12, high = 3600, what = " seconds";
    } else if (name == "memory_bytes") {
      low = 1e3, high = 1e18, what = " bytes";
    }
    if (number < low || number > high)
      return op->emitOpError() << "'" << name << "' must be in [" << low << ", "
                               << high << "]" << what << ", got " << number;
  }
  return success();
}

LogicalResult ChipKindOp::verify() {
  if (failed(verifyPositive(*this, getAttributeNames())))
    return failure();
  if (std::optional<StringRef> id = getCatalog()) {
    if (!lookupCatalogChip(*id))
      return emitOpError() << "unknown catalog chip '" << *id
                           << "'; known chips: " << catalogChipIds();
    return success();
  }
  if (!getMemoryBytes() || !getMemoryBytesPerS())
    return emitOpError() << "without a catalog entry needs both "
                            "'memory_bytes' and 'memory_bytes_per_s'";
  if (!getFp32FlopPerS() && !getTf32FlopPerS() && !getBf16FlopPerS() &&
      !getFp16FlopPerS() && !getFp8FlopPerS() && !getInt8OpPerS())
    return emitOpError() << "without a catalog entry needs at least one peak "
                            "('fp32_flop_per_s', 'bf16_flop_per_s', ...)";
  return success();
}

LogicalResult LinkKindOp::verify() {
  if (failed(verifyPositive(*this, getAttributeNames())))
    return failure();
  if (std::optional<StringRef> id = getCatalog()) {
    if (!lookupCatalogLink(*id))
      return emitOpError() << "unknown catalog link '" << *id
                           << "'; known links: " << catalogLinkIds();
    return success();
  }
  if (!getBytesPerS() || !getLatencyS())
    return emitOpError() << "without a catalog entry needs both "
                            "'bytes_per_s' and 'latency_s'";
  return success();
}

/// Chips one instance of a group body holds, saturating at 2^62.
static uint64_t countGroupChips(Block &block) {
  constexpr uint64_t kCap = uint64_t(1) << 62;
  uint64_t total = 0;
  for (Operation &op : block) {
    uint64_t n = 0;
    if (auto chips = dyn_cast<ChipsOp>(op)) {
      n = static_cast<uint64_t>(std::max<int64_t>(chips.getCount(), 0));
    } else if (auto group = dyn_cast<GroupOp>(op)) {
      uint64_t inner = countGroupChips(group.getBodyBlock());
      uint64_t repeats = static_cast<uint64_t>(std::max<int64_t>(group.getCount(), 0));
      n = inner != 0 && repeats > kCap / inner ? kCap : inner * repeats;
    }
    total = std::min(kCap, total + std::min(n, kCap));
  }
  return total;
}

LogicalResult GroupOp::verify() {
  // Generic-form input skips the parser's guard; the mesh expansion
  // recurses per level too.
  unsigned depth = 0;
  for (Operation *up = (*this)->getParentOp(); up && isa<GroupOp>(up);
       up = up->getParentOp())
    if (++depth >= kMaxGroupDepth)
      return emitOpError() << "nests more than " << kMaxGroupDepth << " levels deep";
  int64_t count = static_cast<int64_t>(getCount());
  if (count < 1)
    return emitOpError() << "count must be at least 1, got " << count;
  Interconnect kind = getInterconnect();
  if (kind == Interconnect::none && getLink())
    return emitOpError() << "with interconnect 'none' takes no link";
  if (kind != Interconnect::none) {
    if (!getLink())
      return emitOpError() << "with interconnect '"
                           << stringifyInterconnect(kind)
                           << "' needs a link: 'via @link_kind'";
    auto mesh = (*this)->getParentOfType<MeshOp>();
    if (!SymbolTable::lookupNearestSymbolFrom<LinkKindOp>(mesh, getLinkAttr()))
      return emitOpError() << "unknown link kind " << getLinkAttr();
  }
  if (getBodyBlock().empty())
    return emitOpError() << "holds no chips";
  if (std::optional<int64_t> ports = getPorts()) {
    if (*ports < 1)
      return emitOpError() << "ports must be at least 1, got " << *ports;
    bool switchedAbove = false;
    for (Operation *up = (*this)->getParentOp(); up; up = up->getParentOp())
      if (auto group = dyn_cast<GroupOp>(up))
        switchedAbove |= group.getInterconnect() == Interconnect::switched;
    if (!switchedAbove)
      return emitOpError() << "has ports " << *ports
                           << ", but no enclosing group is 'switched': ports "
                              "say how the group reaches the switches around it";
    uint64_t chips = countGroupChips(getBodyBlock());
    if (static_cast<uint64_t>(*ports) > chips)
      return emitOpError() << "has ports " << *ports << " for " << chips
                           << " chips; a group has at most one port per chip";
  }
  if (kind == Interconnect::ring || kind == Interconnect::full_mesh)
    for (Operation &member : getBodyBlock())
      if (!isa<ChipsOp>(member))
        return emitOpError()
               << "with interconnect '" << stringifyInterconnect(kind)
               << "' joins chips; its members must be 'topo.chips', "
                  "found '"
               << member.getName() << "'";
  for (Operation &sibling : *(*this)->getBlock()) {
    if (&sibling == getOperation())
      break;
    auto other = dyn_cast<GroupOp>(sibling);
    if (other && other.getName() == getName())
      return emitOpError() << "duplicate group name '" << getName() << "'"
                           << " among siblings";
  }
  return success();
}

LogicalResult ChipsOp::verify() {
  int64_t count = static_cast<int64_t>(getCount());
  if (count < 1)
    return emitOpError() << "count must be at least 1, got " << count;
  auto mesh = (*this)->getParentOfType<MeshOp>();
  if (!SymbolTable::lookupNearestSymbolFrom<ChipKindOp>(mesh, getKindAttr()))
    return emitOpError() << "unknown chip kind " << getKindAttr();
  return success();
}

LogicalResult MeshOp::verifyRegions() {
  return success(succeeded(MeshView::build(*this)));
}

static int64_t saturatingMul(int64_t a, int64_t b) {
  int64_t product;
  return llvm::MulOverflow(a, b, product) ? INT64_MAX : product;
}

static int64_t chipsIn(Block &body) {
  int64_t total = 0;
  for (Operation &op : body) {
    int64_t n = 0;
    if (auto chips = dyn_cast<ChipsOp>(op))
      n = static_cast<int64_t>(chips.getCount());
    else if (auto group = dyn_cast<GroupOp>(op))
      n = saturatingMul(static_cast<int64_t>(group.getCount()),
                        chipsIn(group.getBodyBlock()));
    if (llvm::AddOverflow(total, n, total))
      return INT64_MAX;
  }
  return total;
}

int64_t MeshOp::getNumChips() { return chipsIn(getBodyBlock()); }
