//===- CommBase.td - Comm dialect definition ---------------*- tablegen -*-===//
//
// The `comm` dialect is what a partitioned program needs beyond `graph`:
// which device a function runs on, point-to-point transfers between
// devices, and collectives over explicit device groups with uneven shards.
//
//===----------------------------------------------------------------------===//

#ifndef CHIPMESH_DIALECT_COMM_IR_COMMBASE_TD
#define CHIPMESH_DIALECT_COMM_IR_COMMBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Comm_Dialect : Dialect {
  let name = "comm";
  let cppNamespace = "::chipmesh::comm";
  let summary = "Per-device programs: placement, send/recv and collectives";
  let description = [{
    A materialized program is one `func.func` per device, tagged with the
    device it runs on (`comm.device = #comm.device<@mesh, index>`, the
    chip's flat index in the `topo.mesh`). Devices are named by that index
    everywhere: `comm.send` and `comm.recv` name their peer, collectives
    name their group. Collectives take uneven shards: `sizes` gives each
    member's extent along the sharded dimension, in group order, so a
    3:1 split between a fast and a slow chip is two different local
    shapes. The verifier checks what can be checked on one device (the
    device is in the group, no send to itself, local shapes agree with
    `sizes`, group members exist in the mesh); `--chipmesh-verify-plan`
    checks the whole program (matching sends and receives, no deadlock).
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    /// Name of the function attribute holding the device.
    static ::llvm::StringRef getDeviceAttrName() { return "comm.device"; }
    /// Unit attribute on an op every member of a tensor-parallel group
    /// computes in full (the same work, repeated on each member).
    static ::llvm::StringRef getReplicatedAttrName() { return "comm.replicated"; }
  }];
}

class Comm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Comm_Dialect, mnemonic, traits>;

def Comm_ReductionKind : I32EnumAttr<"ReductionKind",
    "how a collective combines its members' values", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"max", 1>,
      I32EnumAttrCase<"min", 2>
    ]> {
  let cppNamespace = "::chipmesh::comm";
  let genSpecializedAttr = 0;
}
def Comm_ReductionKindAttr : EnumAttr<Comm_Dialect, Comm_ReductionKind,
                                      "reduction"> {
  let assemblyFormat = "$value";
}

def Comm_DeviceAttr : AttrDef<Comm_Dialect, "Device"> {
  let mnemonic = "device";
  let summary = "A chip of a `topo.mesh`, by its flat index";
  let description = [{
    ```mlir
    func.func @forward_dev3() attributes {comm.device = #comm.device<@mixed, 3>}
    ```
  }];
  let parameters = (ins "::mlir::FlatSymbolRefAttr":$mesh, "int64_t":$index);
  let assemblyFormat = "`<` $mesh `,` $index `>`";
}

#endif // CHIPMESH_DIALECT_COMM_IR_COMMBASE_TD
