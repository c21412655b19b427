//===- TopoOps.td - Topo dialect operations ----------------*- tablegen -*-===//

#ifndef CHIPMESH_DIALECT_TOPO_IR_TOPOOPS_TD
#define CHIPMESH_DIALECT_TOPO_IR_TOPOOPS_TD

include "chipmesh/Dialect/Topo/IR/TopoBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/IR/RegionKindInterface.td"

def Topo_MeshOp : Topo_Op<"mesh", [
    Symbol, SymbolTable, IsolatedFromAbove, NoTerminator, SingleBlock,
    NoRegionArguments]> {
  let summary = "A machine: chip kinds, link kinds and how chips are joined";
  let description = [{
    Holds `topo.chip_kind` and `topo.link_kind` declarations, then the
    chips: `topo.group` hierarchies and bare `topo.chips`, then optional
    irregular `topo.link`s between chips named by their flat index. Chips
    are numbered depth-first in the order they are written, each group's
    repeats one after another.

    The verifier expands the hierarchy and rejects a mesh in which some
    chip has no path to the others, or which has more than 1,048,576 chips.

    ```mlir
    topo.mesh @two_nodes {
      topo.chip_kind @a100 catalog "a100-sxm-80gb"
      topo.link_kind @nvl catalog "nvlink3"
      topo.link_kind @ib catalog "infiniband-hdr"
      topo.group "cluster" switched via @ib {
        topo.group "node" x 2 switched via @nvl {
          topo.chips @a100 x 8
        }
      }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$sym_name attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
    /// Chips the hierarchy expands to, without building a MeshView
    /// (saturates at INT64_MAX).
    int64_t getNumChips();
  }];
}

def Topo_ChipKindOp : Topo_Op<"chip_kind", [Symbol, HasParent<"MeshOp">]> {
  let summary = "A kind of chip, from the catalog or given by its numbers";
  let description = [{
    Declares a chip kind usable by `topo.chips`. With `catalog "id"` every
    number comes from the built-in catalog (`chipmesh-catalog` lists it);
    attributes written beside it override the catalog value. Without a
    catalog entry, `memory_bytes`, `memory_bytes_per_s` and at least one
    peak are required.

    Units: peaks in FLOP/s (`int8_op_per_s` in op/s), dense, without
    sparsity; `memory_bytes` in bytes; `memory_bytes_per_s` in bytes/s;
    `tdp_watts` in W; `price_usd` in US dollars. A missing peak means the
    chip has no fast path for that data type; every given number must be
    positive.

    ```mlir
    topo.chip_kind @h100 catalog "h100-sxm"
    topo.chip_kind @h100_slow catalog "h100-sxm" {memory_bytes_per_s = 2.0e12 : f64}
    topo.chip_kind @npu {bf16_flop_per_s = 3.2e14 : f64, memory_bytes = 6.8719476736e10 : f64,
                         memory_bytes_per_s = 1.6e12 : f64}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       OptionalAttr<StrAttr>:$catalog,
                       OptionalAttr<F64Attr>:$fp32_flop_per_s,
                       OptionalAttr<F64Attr>:$tf32_flop_per_s,
                       OptionalAttr<F64Attr>:$bf16_flop_per_s,
                       OptionalAttr<F64Attr>:$fp16_flop_per_s,
                       OptionalAttr<F64Attr>:$fp8_flop_per_s,
                       OptionalAttr<F64Attr>:$int8_op_per_s,
                       OptionalAttr<F64Attr>:$memory_bytes,
                       OptionalAttr<F64Attr>:$memory_bytes_per_s,
                       OptionalAttr<F64Attr>:$tdp_watts,
                       OptionalAttr<F64Attr>:$price_usd);
  let assemblyFormat = "$sym_name (`catalog` $catalog^)? attr-dict";
  let hasVerifier = 1;
}

def Topo_LinkKindOp : Topo_Op<"link_kind", [Symbol, HasParent<"MeshOp">]> {
  let summary = "A kind of link, from the catalog or given by its numbers";
  let description = [{
    Declares a link kind used by a group's interconnect or by `topo.link`.
    `bytes_per_s` is the bandwidth per direction of one chip's port (bytes/s),
    `latency_s` the small-message latency of one traversal (seconds).
    Attributes beside `catalog "id"` override the catalog; without a catalog
    entry `bytes_per_s` and `latency_s` are required, and `technology`
    defaults to `other`.

    ```mlir
    topo.link_kind @nvl catalog "nvlink4"
    topo.link_kind @bridge {bytes_per_s = 1.2e10 : f64, latency_s = 2.5e-5 : f64,
                            technology = #topo.technology<host_bridge>}
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       OptionalAttr<StrAttr>:$catalog,
                       OptionalAttr<F64Attr>:$bytes_per_s,
                       OptionalAttr<F64Attr>:$latency_s,
                       OptionalAttr<Topo_LinkTechnologyAttr>:$technology);
  let assemblyFormat = "$sym_name (`catalog` $catalog^)? attr-dict";
  let hasVerifier = 1;
}

def Topo_GroupOp : Topo_Op<"group", [
    NoTerminator, SingleBlock, NoRegionArguments,
    ParentOneOf<["MeshOp", "GroupOp"]>]> {
  let summary = "A level of the hierarchy (node, rack, pod), repeated `count` times";
  let description = [{
    Groups the chips and groups in its body and joins them with one
    interconnect over one link kind; `x N` repeats the whole group N times.

    - `switched`: every member has a port on a switch; any two chips of the
      group talk over one traversal of `link`. A member that is itself a
      group reaches the switch through each of its chips (rail-style: every
      chip owns a port at every level).
    - `full_mesh`: a direct `link` between every pair of member chips.
    - `ring`: a `link` between neighbouring member chips, closed into a ring.
    - `none`: no links at this level; members are joined only by higher
      levels or by `topo.link`.

    `full_mesh` and `ring` join chips, so their members must be `topo.chips`.

    `ports N` says how this group reaches the switches of the groups around
    it: through N ports shared by its chips (consecutive chips share one:
    chip i of n uses port i * N / n), not one port per chip. A cloud node
    with one NIC for its eight GPUs, or a PCIe box with two, is
    `ports 1` / `ports 2`; every transfer that leaves the group through a
    port shares its bandwidth, in each direction. Traffic inside the group
    uses its own interconnect as before. An enclosing group must be
    `switched`, and N is at most the group's chip count.

    ```mlir
    topo.group "cluster" switched via @eth100 {
      topo.group "node" x 4 switched via @pcie ports 1 {
        topo.chips @t4 x 8
      }
    }
    ```
  }];
  let arguments = (ins StrAttr:$name,
                       DefaultValuedAttr<I64Attr, "1">:$count,
                       Topo_InterconnectAttr:$interconnect,
                       OptionalAttr<FlatSymbolRefAttr>:$link,
                       OptionalAttr<I64Attr>:$ports);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $name (`x` $count^)? custom<InterconnectKeyword>($interconnect)
    (`via` $link^)? (`ports` $ports^)? attr-dict-with-keyword
    custom<GroupBody>($body)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
  }];
}

def Topo_ChipsOp : Topo_Op<"chips", [ParentOneOf<["MeshOp", "GroupOp"]>]> {
  let summary = "`count` chips of one kind";
  let description = [{
    ```mlir
    topo.chips @a100 x 8
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$kind,
                       DefaultValuedAttr<I64Attr, "1">:$count);
  let assemblyFormat = "$kind (`x` $count^)? attr-dict";
  let hasVerifier = 1;
}

def Topo_LinkOp : Topo_Op<"link", [HasParent<"MeshOp">]> {
  let summary = "An irregular bidirectional link between two chips";
  let description = [{
    Joins the chips with flat indices `from` and `to` (depth-first order of
    the mesh) with one `link`, for what a hierarchy cannot say: two PCIe
    pairs joined by a slow bridge, a cross-vendor host-staged path.

    ```mlir
    topo.link 1 to 2 via @bridge
    ```
  }];
  let arguments = (ins I64Attr:$from, I64Attr:$to, FlatSymbolRefAttr:$link);
  let assemblyFormat = "$from `to` $to `via` $link attr-dict";
}

#endif // CHIPMESH_DIALECT_TOPO_IR_TOPOOPS_TD
