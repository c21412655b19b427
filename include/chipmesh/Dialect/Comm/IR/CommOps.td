//===- CommOps.td - Comm dialect operations ----------------*- tablegen -*-===//

#ifndef CHIPMESH_DIALECT_COMM_IR_COMMOPS_TD
#define CHIPMESH_DIALECT_COMM_IR_COMMOPS_TD

include "chipmesh/Dialect/Comm/IR/CommBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Communication is a side effect: never dropped or reordered by generic
// folding, even when a result is unused.
def Comm_Transfers : MemoryEffects<[MemRead, MemWrite]>;

//===----------------------------------------------------------------------===//
// Point to point
//===----------------------------------------------------------------------===//

def Comm_SendOp : Comm_Op<"send", [Comm_Transfers]> {
  let summary = "Sends a tensor to another device";
  let description = [{
    Matched by the `comm.recv` on device `peer` with the same `tag` from
    this device; the receive's type must be the value's type. A send does
    not wait for its receive (buffered, as `isend`); a receive waits.

    ```mlir
    comm.send %act to 4 tag 12 : tensor<1x4096x4096xbf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$value, I64Attr:$peer, I64Attr:$tag);
  let assemblyFormat = "$value `to` $peer `tag` $tag attr-dict `:` type($value)";
  let hasVerifier = 1;
}

def Comm_RecvOp : Comm_Op<"recv", [Comm_Transfers]> {
  let summary = "Receives a tensor sent by another device";
  let description = [{
    ```mlir
    %act = comm.recv from 3 tag 12 : tensor<1x4096x4096xbf16>
    ```
  }];
  let arguments = (ins I64Attr:$peer, I64Attr:$tag);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "`from` $peer `tag` $tag attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Collectives
//===----------------------------------------------------------------------===//

class Comm_CollectiveOp<string mnemonic, list<Trait> traits = []>
    : Comm_Op<mnemonic, !listconcat([Comm_Transfers], traits)> {
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// This device's position in `group`, or -1.
    int64_t getRank();
  }];
  let extraClassDefinition = [{
    int64_t $cppClass::getRank() { return rankInGroup(*this, getGroup()); }
  }];
}

def Comm_AllReduceOp : Comm_CollectiveOp<"all_reduce",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "Combines one tensor from every group member; all get the result";
  let description = [{
    ```mlir
    %sum = comm.all_reduce sum %partial over [0, 1] : tensor<1x4096x4096xbf16>
    ```
  }];
  let arguments = (ins Comm_ReductionKindAttr:$kind, AnyRankedTensor:$input,
                       DenseI64ArrayAttr:$group);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$kind $input `over` $group attr-dict `:` type($input)";
}

def Comm_AllGatherOp : Comm_CollectiveOp<"all_gather"> {
  let summary = "Concatenates every member's shard along `dim`; all get the whole";
  let description = [{
    Member `i` contributes `sizes[i]` entries along `dim`; the result's
    `dim` is their sum, the other dimensions are the input's.

    ```mlir
    %full = comm.all_gather %shard over [0, 1] dim 2 sizes [3072, 1024]
        : tensor<1x16x3072xbf16> -> tensor<1x16x4096xbf16>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$group,
                       I64Attr:$dim, DenseI64ArrayAttr:$sizes);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `over` $group `dim` $dim `sizes` $sizes attr-dict `:` type($input)
    `->` type($result)
  }];
}

def Comm_ReduceScatterOp : Comm_CollectiveOp<"reduce_scatter"> {
  let summary = "Combines every member's whole tensor; member `i` keeps shard `i`";
  let description = [{
    The input is whole along `dim` (the sum of `sizes`); member `i` gets
    `sizes[i]` entries of the combined tensor.

    ```mlir
    %mine = comm.reduce_scatter sum %partial over [0, 1] dim 2 sizes [3072, 1024]
        : tensor<1x16x4096xbf16> -> tensor<1x16x3072xbf16>
    ```
  }];
  let arguments = (ins Comm_ReductionKindAttr:$kind, AnyRankedTensor:$input,
                       DenseI64ArrayAttr:$group, I64Attr:$dim,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $kind $input `over` $group `dim` $dim `sizes` $sizes attr-dict `:`
    type($input) `->` type($result)
  }];
}

def Comm_AllToAllOp : Comm_CollectiveOp<"all_to_all"> {
  let summary = "Member `i` sends piece `j` of its tensor to member `j`";
  let description = [{
    Each member cuts its input along `split_dim` into pieces of
    `split_sizes` (one per member), sends piece `j` to member `j`, and
    concatenates what it receives along `concat_dim`, where member `j`'s
    piece has `concat_sizes[j]` entries. So the input has
    `sum(split_sizes)` along `split_dim` and `concat_sizes[rank]` along
    `concat_dim`; the result has `split_sizes[rank]` and
    `sum(concat_sizes)`.

    ```mlir
    %t = comm.all_to_all %x over [0, 1] split_dim 1 [6, 2] concat_dim 0 [4, 4]
        : tensor<4x8xf32> -> tensor<8x6xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$group,
                       I64Attr:$split_dim, DenseI64ArrayAttr:$split_sizes,
                       I64Attr:$concat_dim, DenseI64ArrayAttr:$concat_sizes);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `over` $group `split_dim` $split_dim $split_sizes `concat_dim`
    $concat_dim $concat_sizes attr-dict `:` type($input) `->` type($result)
  }];
}

def Comm_BroadcastOp : Comm_CollectiveOp<"broadcast",
    [AllTypesMatch<["input", "result"]>]> {
  let summary = "Every member gets the `root` member's tensor";
  let description = [{
    `root` is a device index and a member of `group`. Other members'
    inputs only give the shape.

    ```mlir
    %w = comm.broadcast %x from 0 over [0, 1, 2] : tensor<4096xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$root,
                       DenseI64ArrayAttr:$group);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `from` $root `over` $group attr-dict `:` type($input)
  }];
}

#endif // CHIPMESH_DIALECT_COMM_IR_COMMOPS_TD
