// recompute=auto: each pipeline stage takes the fastest recomputation that
// fits. LLaMA-2-70B on 4 x 8 H800 (dp=2 pp=8 tp=2, 32 micro-batches per
// replica): early 1F1B stages hold up to 8 micro-batches and recompute
// fully, the last holds one and recompute nothing, which shortens the
// step against recompute=full everywhere.
// RUN: split-file %s %t
// RUN: chipmesh-translate --import-hf-config %examples/models/llama-2-70b.json --hf-batch 64 --hf-seq-len 4096 --hf-flash-attention --hf-dtype=bf16 -o %t/llama.mlir
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%t/h800.mlir recompute=full strategy=dp=2,pp=8,tp=2 table" -o /dev/null | FileCheck %s --check-prefix=FULL
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%t/h800.mlir recompute=auto strategy=dp=2,pp=8,tp=2 table report=%t/auto.json" -o %t/planned.mlir | FileCheck %s --check-prefix=AUTO
// RUN: FileCheck %s --check-prefix=REPORT < %t/auto.json
// RUN: FileCheck %s --check-prefix=ATTR < %t/planned.mlir
// The report prices again as a plan file (its stages say their policy).
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%t/h800.mlir plan=%t/auto.json report=%t/again.json" -o /dev/null
// RUN: diff %t/auto.json %t/again.json
// Materialized, each stage's backward rebuilds as its stage says, and the
// programs' FLOPs match the model's (forward again on the full stages).
// RUN: chipmesh-opt %t/planned.mlir --chipmesh-materialize --chipmesh-verify-plan -o %t/programs.mlir
// RUN: FileCheck %s --check-prefix=PROGRAMS < %t/programs.mlir
// Errors.
// RUN: not chipmesh-opt %t/duo.mlir --chipmesh-partition="plan=%t/partial.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PARTIAL
// RUN: not chipmesh-opt %t/duo.mlir --chipmesh-partition="plan=%t/unknown.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not chipmesh-opt %t/duo.mlir --chipmesh-partition="mode=infer plan=%t/given.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INFER
// RUN: chipmesh-opt %t/duo.mlir --chipmesh-partition="plan=%t/given.json table" -o /dev/null | FileCheck %s --check-prefix=GIVEN
// RUN: not chipmesh-opt %t/no-stage-policy.mlir --chipmesh-materialize -o /dev/null 2>&1 | FileCheck %s --check-prefix=SPEC

// FULL: dp=2 pp=8 tp=2 (strided replicas), 1f1b, micro-batch 1, 32/32 micro-batches per replica
// FULL: step 9.91 s
// AUTO-COUNT-7: recompute full
// AUTO: stage 7: layers {{.*}}, recompute none
// AUTO: step 9.57 s
// REPORT: "recompute": "full"
// REPORT: "recompute": "none"
// ATTR: recompute = "auto"
// ATTR-SAME: {devices = {{.*}}, layers = {{.*}}, recompute = "full", shares
// PROGRAMS: graph.backward @forward_dev0_stage({{.*}} recompute = "full"
// PARTIAL: stages[1].recompute: is missing, but stages[0] has one (give every stage one, or none)
// UNKNOWN: stages[0].recompute: must be none, selective or full
// INFER: plan: stages[].recompute is a training setting; this is mode=infer
// GIVEN: stage 0: layers [0, 3)  on box/fast (100%), recompute full
// GIVEN: stage 1: layers [3, 6)  on box/slow (100%), recompute none
// SPEC: error: chipmesh.plan: 'stages[0]' needs its own 'recompute' (the plan's is auto)

//--- h800.mlir
topo.mesh @h800 {
  topo.chip_kind @h800 catalog "h800-sxm"
  topo.link_kind @nvl catalog "nvlink4-h800"
  topo.link_kind @ib catalog "infiniband-ndr"
  topo.group "cluster" switched via @ib {
    topo.group "node" x 4 switched via @nvl { topo.chips @h800 x 8 }
  }
}
//--- duo.mlir
topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @net catalog "roce-200g"
  topo.group "box" switched via @net {
    topo.chips @fast x 1
    topo.chips @slow x 1
  }
}
func.func @forward(%x: tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  %h = graph.layer "blocks" repeat 6 (%x) : (tensor<8x1024x1024xbf16>) -> tensor<8x1024x1024xbf16> {
  ^bb0(%in: tensor<8x1024x1024xbf16>):
    %w = graph.param "w" : tensor<1024x4096xbf16>
    %y = graph.linear %in, %w : tensor<8x1024x1024xbf16>, tensor<1024x4096xbf16>
    %g = graph.gelu %y : tensor<8x1024x4096xbf16>
    %w2 = graph.param "w2" : tensor<4096x1024xbf16>
    %z = graph.linear %g, %w2 : tensor<8x1024x4096xbf16>, tensor<4096x1024xbf16>
    graph.yield %z : tensor<8x1024x1024xbf16>
  }
  return %h : tensor<8x1024x1024xbf16>
}
//--- partial.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["box/fast"]], "shares": [[1]], "recompute": "full"},
            {"layers": [3, 6], "devices": [["box/slow"]], "shares": [[1]]}]}
//--- unknown.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["box/fast"]], "shares": [[1]], "recompute": "some"},
            {"layers": [3, 6], "devices": [["box/slow"]], "shares": [[1]], "recompute": "none"}]}
//--- given.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["box/fast"]], "shares": [[1]], "recompute": "full"},
            {"layers": [3, 6], "devices": [["box/slow"]], "shares": [[1]], "recompute": "none"}]}
//--- no-stage-policy.mlir
module attributes {chipmesh.plan = {dp = 1 : i64, func = "forward", layout = "blocked", mesh = @duo, micro_batch = 8 : i64, mode = "train", pp = 1 : i64, recompute = "auto", replica_micro_batches = array<i64: 1>, schedule = "1f1b", stages = [{devices = [array<i64: 0>], layers = array<i64: 0, 1>, shares = [array<f64: 1.000000e+00>]}], step_time_s = 1.0 : f64, tp = 1 : i64, virtual_stages = 1 : i64, zero = 0 : i64}} {
  topo.mesh @duo {
    topo.chip_kind @fast catalog "h100-sxm"
    topo.link_kind @net catalog "roce-200g"
    topo.group "box" switched via @net {
      topo.chips @fast x 1
    }
  }
  func.func @forward(%x: tensor<8x64xbf16>) -> tensor<8x64xbf16> {
    %w = graph.param "w" : tensor<64x64xbf16>
    %y = graph.linear %x, %w : tensor<8x64xbf16>, tensor<64x64xbf16>
    return %y : tensor<8x64xbf16>
  }
}
