// By-kind layouts: every replica takes an equal part of each chip kind,
// and each kind's chips form tensor groups of that kind's own degree, so
// one pipeline can hold stages of different tensor-parallel widths
// (SAILOR's per-stage tp).
// RUN: split-file %s %t
// SAILOR's OPT/GPT-Neo scenario in small: 8 A100-40GB + 8 V100-16GB, four
// per node, intra-node 245 and 68 GB/s, 3 GB/s between nodes. The search
// pairs one V100 stage with one A100 stage in every replica, the V100
// stage holding fewer layers.
// RUN: chipmesh-translate --import-hf-config %t/gpt.json --hf-batch=4 --hf-seq-len=2048 --hf-dtype=fp16 -o %t/gpt.mlir
// RUN: chipmesh-opt %t/gpt.mlir --chipmesh-partition="mesh=%t/sailor.mlir batch=256 table report=%t/sailor.json" -o %t/sailor-plan.mlir | FileCheck %s --check-prefix=SAILOR
// RUN: chipmesh-opt %t/gpt.mlir --chipmesh-partition="mesh=%t/sailor.mlir batch=256 plan=%t/sailor.json report=%t/again.json" -o /dev/null
// RUN: diff %t/sailor.json %t/again.json
// RUN: chipmesh-opt %t/sailor-plan.mlir --chipmesh-materialize --chipmesh-verify-plan -o /dev/null
// A given plan with stages of tp 1, 1 and 2 is priced, reported with its
// per-stage widths, materialized and verified.
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/widths.json table report=%t/widths-report.json" -o %t/widths-plan.mlir | FileCheck %s --check-prefix=WIDTHS
// RUN: FileCheck %s --input-file=%t/widths-report.json --check-prefix=WIDTHSJSON
// RUN: chipmesh-opt %t/widths-plan.mlir --chipmesh-materialize --chipmesh-verify-plan -o /dev/null
// Outside by-kind plans every group has tp devices, so dp x pp x tp chips.
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/narrow-blocked.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=NARROW

// SAILOR: plan for @forward on @sailor (16 chips): dp=8 pp=2 tp=1 (by-kind replicas), 1f1b, micro-batch 2, 16/16/16/16/16/16/16/16 micro-batches per replica
// SAILOR-NEXT: stage 0: layers [0, [[SPLIT:[0-9]+]])  on cluster/v[0]/v100[0] (100%)
// SAILOR-NEXT: stage 1: layers [[[SPLIT]], 13)  on cluster/a[0]/a100[0] (100%)

// WIDTHS: plan for @forward on @m (4 chips): dp=1 pp=3 tp=1/1/2 (by-kind replicas), 1f1b, micro-batch 1, 8 micro-batches per replica
// WIDTHS-NEXT: stage 0: layers [0, 3)  on cluster/big/fast[0] (100%)
// WIDTHS-NEXT: stage 1: layers [3, 6)  on cluster/big/fast[1] (100%)
// WIDTHS-NEXT: stage 2: layers [6, 8)  on cluster/small/slow[0] (50%), cluster/small/slow[1] (50%)
// WIDTHSJSON: "layout": "by-kind",
// WIDTHSJSON: "tp_per_stage": [
// WIDTHSJSON-NEXT: 1,
// WIDTHSJSON-NEXT: 1,
// WIDTHSJSON-NEXT: 2
// NARROW: strategy: dp x pp x tp = 1 x 3 x 2 = 6, but the mesh has 4 chips

//--- gpt.json
{"model_type": "gpt2", "vocab_size": 50257, "n_embd": 2560, "n_layer": 6, "n_head": 20, "n_positions": 2048}
//--- sailor.mlir
topo.mesh @sailor {
  topo.chip_kind @a100 catalog "a100-sxm-80gb" {memory_bytes = 4.294967296e10 : f64}
  topo.chip_kind @v100 catalog "v100-sxm2-32gb" {memory_bytes = 1.7179869184e10 : f64}
  topo.link_kind @nva {bytes_per_s = 2.45e11 : f64, latency_s = 5.0e-6 : f64}
  topo.link_kind @nvv {bytes_per_s = 6.8e10 : f64, latency_s = 5.0e-6 : f64}
  topo.link_kind @net {bytes_per_s = 3.0e9 : f64, latency_s = 2.0e-5 : f64}
  topo.group "cluster" switched via @net {
    topo.group "a" x 2 switched via @nva { topo.chips @a100 x 4 }
    topo.group "v" x 2 switched via @nvv { topo.chips @v100 x 4 }
  }
}
//--- model.mlir
topo.mesh @m {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "v100-sxm2-32gb"
  topo.link_kind @nvl catalog "nvlink4"
  topo.link_kind @nv2 catalog "nvlink2"
  topo.link_kind @net catalog "roce-100g"
  topo.group "cluster" switched via @net {
    topo.group "big" switched via @nvl { topo.chips @fast x 2 }
    topo.group "small" switched via @nv2 { topo.chips @slow x 2 }
  }
}
func.func @forward(%x: tensor<8x1024x1024xf16>) -> tensor<8x1024x1024xf16> {
  %h = graph.layer "blocks" repeat 8 (%x) : (tensor<8x1024x1024xf16>) -> tensor<8x1024x1024xf16> {
  ^bb0(%in: tensor<8x1024x1024xf16>):
    %w = graph.param "w" : tensor<1024x4096xf16>
    %y = graph.linear %in, %w : tensor<8x1024x1024xf16>, tensor<1024x4096xf16>
    %g = graph.gelu %y : tensor<8x1024x4096xf16>
    %w2 = graph.param "w2" : tensor<4096x1024xf16>
    %z = graph.linear %g, %w2 : tensor<8x1024x4096xf16>, tensor<4096x1024xf16>
    graph.yield %z : tensor<8x1024x1024xf16>
  }
  return %h : tensor<8x1024x1024xf16>
}
//--- widths.json
{"strategy": {"dp": 1, "pp": 3, "tp": 2, "layout": "by-kind"}, "micro_batch": 1, "global_batch": 8,
 "replica_micro_batches": [8], "schedule": "1f1b",
 "stages": [{"layers": [0, 3], "devices": [["cluster/big/fast[0]"]], "shares": [[1.0]]},
            {"layers": [3, 6], "devices": [["cluster/big/fast[1]"]], "shares": [[1.0]]},
            {"layers": [6, 8], "devices": [["cluster/small/slow[0]", "cluster/small/slow[1]"]], "shares": [[0.5, 0.5]]}]}
//--- narrow-blocked.json
{"strategy": {"dp": 1, "pp": 3, "tp": 2}, "micro_batch": 1, "global_batch": 8,
 "replica_micro_batches": [8], "schedule": "1f1b",
 "stages": [{"layers": [0, 3], "devices": [["cluster/big/fast[0]", "cluster/big/fast[1]"]], "shares": [[0.5, 0.5]]},
            {"layers": [3, 6], "devices": [["cluster/small/slow[0]", "cluster/small/slow[1]"]], "shares": [[0.5, 0.5]]},
            {"layers": [6, 8], "devices": [["cluster/small/slow[0]"]], "shares": [[1.0]]}]}
