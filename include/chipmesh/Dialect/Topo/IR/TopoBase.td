//===- TopoBase.td - Topo dialect definition ---------------*- tablegen -*-===//
//
// The `topo` dialect describes hardware: chip kinds, link kinds, and how
// chips are grouped into nodes, racks and pods.
//
//===----------------------------------------------------------------------===//

#ifndef CHIPMESH_DIALECT_TOPO_IR_TOPOBASE_TD
#define CHIPMESH_DIALECT_TOPO_IR_TOPOBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Topo_Dialect : Dialect {
  let name = "topo";
  let cppNamespace = "::chipmesh::topo";
  let summary = "Chips, links and their hierarchy: the hardware a model runs on";
  let description = [{
    A `topo.mesh` symbol holds the description of one machine: the chip and
    link kinds it uses (from the built-in catalog or given by number) and a
    hierarchy of groups (chips in nodes, nodes in racks or pods) with the
    interconnect of each level, plus irregular point-to-point links where a
    hierarchy is not enough. Repeat counts keep a 4096-chip cluster to a
    few lines. All quantities are in SI base units: bytes, bytes per second
    (per direction), FLOP per second, seconds, watts, US dollars.
  }];
  let useDefaultAttributePrinterParser = 1;
}

def Topo_Interconnect : I32EnumAttr<"Interconnect",
    "how the members of a group are joined", [
      I32EnumAttrCase<"switched", 0>,
      I32EnumAttrCase<"ring", 1>,
      I32EnumAttrCase<"full_mesh", 2>,
      I32EnumAttrCase<"none", 3>
    ]> {
  let cppNamespace = "::chipmesh::topo";
  let genSpecializedAttr = 0;
}
def Topo_InterconnectAttr : EnumAttr<Topo_Dialect, Topo_Interconnect,
                                     "interconnect">;

def Topo_LinkTechnology : I32EnumAttr<"LinkTechnology",
    "the physical technology of a link", [
      I32EnumAttrCase<"nvlink", 0>,
      I32EnumAttrCase<"hccs", 1>,
      I32EnumAttrCase<"pcie", 2>,
      I32EnumAttrCase<"infiniband", 3>,
      I32EnumAttrCase<"roce", 4>,
      I32EnumAttrCase<"ethernet", 5>,
      I32EnumAttrCase<"xgmi", 6>,
      I32EnumAttrCase<"host_bridge", 7>,
      I32EnumAttrCase<"other", 8>
    ]> {
  let cppNamespace = "::chipmesh::topo";
  let genSpecializedAttr = 0;
}
def Topo_LinkTechnologyAttr : EnumAttr<Topo_Dialect, Topo_LinkTechnology,
                                       "technology"> {
  let assemblyFormat = "`<` $value `>`";
}

class Topo_Op<string mnemonic, list<Trait> traits = []>
    : Op<Topo_Dialect, mnemonic, traits>;

#endif // CHIPMESH_DIALECT_TOPO_IR_TOPOBASE_TD
