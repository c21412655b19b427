//===- Enums.td - The planning vocabulary's enums ---------*- tablegen -*-===//
//
// Every fixed value set that ChipMesh reads from options and plans and
// writes into reports, declared once: mlir-tblgen generates the C++ enums
// with stringify<Enum> and symbolize<Enum> (include/chipmesh/Support/Enums.h),
// so the spelling of a value lives here and nowhere else.
//
//===----------------------------------------------------------------------===//

#ifndef CHIPMESH_SUPPORT_ENUMS_TD
#define CHIPMESH_SUPPORT_ENUMS_TD

include "mlir/IR/EnumAttr.td"

class ChipMeshEnum<string name, string summary, list<I32EnumAttrCase> cases>
    : I32EnumAttr<name, summary, cases> {
  let cppNamespace = "::chipmesh";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// The workload (cost model)
//===----------------------------------------------------------------------===//

def Mode : ChipMeshEnum<"Mode", "training or inference", [
  I32EnumAttrCase<"Train", 0, "train">,
  I32EnumAttrCase<"Infer", 1, "infer">]>;

// Activation recomputation (Korthikanti et al. 2022): none keeps every
// activation, selective drops the attention scores and recomputes them,
// full keeps each unit's input and reruns its forward in backward.
def Recompute : ChipMeshEnum<"Recompute", "activation recomputation", [
  I32EnumAttrCase<"None", 0, "none">,
  I32EnumAttrCase<"Selective", 1, "selective">,
  I32EnumAttrCase<"Full", 2, "full">]>;

// Element types the catalog gives peak rates for (INT8 in op/s).
def DType : ChipMeshEnum<"DType", "element type of the math", [
  I32EnumAttrCase<"FP32", 0, "fp32">,
  I32EnumAttrCase<"TF32", 1, "tf32">,
  I32EnumAttrCase<"BF16", 2, "bf16">,
  I32EnumAttrCase<"FP16", 3, "fp16">,
  I32EnumAttrCase<"FP8", 4, "fp8">,
  I32EnumAttrCase<"INT8", 5, "int8">]>;

//===----------------------------------------------------------------------===//
// Collectives (communication model)
//===----------------------------------------------------------------------===//

def CollectiveKind : ChipMeshEnum<"CollectiveKind", "collective operation", [
  I32EnumAttrCase<"AllReduce", 0, "all_reduce">,
  I32EnumAttrCase<"AllGather", 1, "all_gather">,
  I32EnumAttrCase<"ReduceScatter", 2, "reduce_scatter">,
  I32EnumAttrCase<"AllToAll", 3, "all_to_all">,
  I32EnumAttrCase<"Broadcast", 4, "broadcast">]>;

def CollectiveAlgorithm : ChipMeshEnum<"CollectiveAlgorithm",
                                       "collective algorithm", [
  I32EnumAttrCase<"Direct", 0, "direct">,
  I32EnumAttrCase<"Ring", 1, "ring">,
  I32EnumAttrCase<"Tree", 2, "tree">,
  I32EnumAttrCase<"Hierarchical", 3, "hierarchical">]>;

// NCCL's three wire protocols: LL (8-byte stores with a flag: lowest
// latency, half the bandwidth), LL128 (128-byte lines, 120 of 128 bytes
// payload) and Simple (bulk copies with fences: full bandwidth, highest
// latency). The cheapest is chosen per call and message size.
def Protocol : ChipMeshEnum<"Protocol", "NCCL wire protocol", [
  I32EnumAttrCase<"LL", 0, "LL">,
  I32EnumAttrCase<"LL128", 1, "LL128">,
  I32EnumAttrCase<"Simple", 2, "Simple">]>;

//===----------------------------------------------------------------------===//
// The plan (partitioner)
//===----------------------------------------------------------------------===//

def Schedule : ChipMeshEnum<"Schedule", "pipeline schedule", [
  I32EnumAttrCase<"GPipe", 0, "gpipe">,
  I32EnumAttrCase<"OneFOneB", 1, "1f1b">]>;

def Objective : ChipMeshEnum<"Objective", "what the search minimizes", [
  I32EnumAttrCase<"StepTime", 0, "step-time">,
  I32EnumAttrCase<"Throughput", 1, "throughput">,
  I32EnumAttrCase<"Cost", 2, "cost">,
  I32EnumAttrCase<"Energy", 3, "energy">]>;

// How replicas take chips: consecutive blocks, every dp-th block, or by
// kind (every replica takes an equal part of each chip kind, and each
// kind's chips form tensor groups of that kind's own degree, so stages on
// slower chips can be wider: SAILOR's per-stage tensor parallelism).
def ReplicaLayout : ChipMeshEnum<"ReplicaLayout", "replica layout", [
  I32EnumAttrCase<"Blocked", 0, "blocked">,
  I32EnumAttrCase<"Strided", 1, "strided">,
  I32EnumAttrCase<"ByKind", 2, "by-kind">]>;

#endif // CHIPMESH_SUPPORT_ENUMS_TD
