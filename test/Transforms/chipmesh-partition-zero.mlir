// ZeRO / FSDP sharding in the search (zero=), the report, the table, the
// plan file and the passes after it.
// RUN: split-file %s %t
// LLaMA-2-13B on one DGX H100, batch 64 of 4096 tokens: replicated Adam
// state does not fit data parallelism, so without sharding the search
// pipelines; with every stage offered, FSDP full sharding over all eight
// (the plan FSDP users run) is fastest.
// RUN: chipmesh-translate --import-hf-config %examples/models/llama-2-13b.json --hf-batch 64 --hf-seq-len 4096 --hf-flash-attention --hf-dtype=bf16 -o %t/llama.mlir
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%examples/meshes/h100-node.mlir table" -o /dev/null | FileCheck %s --check-prefix=PLAIN
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%examples/meshes/h100-node.mlir zero=auto table report=%t/auto.json" -o %t/planned.mlir | FileCheck %s --check-prefix=AUTO
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%examples/meshes/h100-node.mlir zero=0,1 table" -o /dev/null | FileCheck %s --check-prefix=ONE
// RUN: FileCheck %s --check-prefix=REPORT < %t/auto.json
// RUN: FileCheck %s --check-prefix=ATTR < %t/planned.mlir
// The report reads back as a plan and prices the same.
// RUN: chipmesh-opt %t/llama.mlir --chipmesh-partition="mesh=%examples/meshes/h100-node.mlir plan=%t/auto.json report=%t/again.json" -o /dev/null
// RUN: diff %t/auto.json %t/again.json
// Materialization and the runtimes do not shard state yet: they say so.
// RUN: not chipmesh-opt %t/planned.mlir --chipmesh-materialize -o /dev/null 2>&1 | FileCheck %s --check-prefix=MATERIALIZE
// Option and plan-file errors.
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition=zero=4 -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition=zero=fsdp -o /dev/null 2>&1 | FileCheck %s --check-prefix=BADOPT
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/stage5.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=STAGE5
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/single.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=SINGLE
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/uneven.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=UNEVEN
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="mode=infer plan=%t/even.json" -o /dev/null 2>&1 | FileCheck %s --check-prefix=INFER
// RUN: not chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/even.json zero=1" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BOTH
// RUN: chipmesh-opt %t/model.mlir --chipmesh-partition="plan=%t/even.json report=-" -o /dev/null | FileCheck %s --check-prefix=EVEN

// PLAIN: dp=1 pp=8 tp=1 (blocked replicas), 1f1b, micro-batch 1, 64 micro-batches per replica
// PLAIN-NOT: ZeRO
// AUTO: dp=8 pp=1 tp=1 (blocked replicas), 1f1b, micro-batch 1, 8/8/8/8/8/8/8/8 micro-batches per replica, ZeRO-3
// Stage 3 leaves nothing to reduce after the last backward.
// AUTO: step {{.*}} (pipeline {{.*}}, gradient sync 0.0 us, optimizer
// ONE: dp=4 pp=2 tp=1 (blocked replicas), 1f1b, micro-batch 1, 16/16/16/16 micro-batches per replica, ZeRO-1
// REPORT: "zero": 3
// ATTR: virtual_stages = 1 : i64, zero = 3 : i64
// MATERIALIZE: error: chipmesh.plan: 'zero' is 3: ZeRO-sharded plans are priced but not materialized yet (partition with zero=0)
// BADOPT: error: zero must be 0, 1, 2, 3, a comma list of them, or 'auto', got
// STAGE5: plan file '{{.*}}stage5.json': zero: must be a ZeRO stage: 0, 1, 2 or 3
// SINGLE: zero: is 1, but dp = 1 has no data-parallel group to shard over
// UNEVEN: replica_micro_batches: must be equal with zero = 2 (its collectives run every micro-batch across the replicas)
// INFER: plan: zero > 0 shards training state; this is mode=infer
// BOTH: error: plan= prices a plan as given; strategy=, virtual-stages= and zero= come from the plan file
// EVEN: "zero": 2

//--- model.mlir
topo.mesh @duo {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "h100-sxm"
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
//--- stage5.json
{"strategy": {"dp": 2, "pp": 1, "tp": 1}, "schedule": "1f1b", "micro_batch": 2, "zero": 5,
 "replica_micro_batches": [2, 2],
 "stages": [{"layers": [0, 6], "devices": [["box/fast"], ["box/slow"]], "shares": [[1], [1]]}]}
//--- single.json
{"strategy": {"dp": 1, "pp": 2, "tp": 1}, "schedule": "1f1b", "micro_batch": 2, "zero": 1,
 "replica_micro_batches": [4],
 "stages": [{"layers": [0, 3], "devices": [["box/fast"]], "shares": [[1]]},
            {"layers": [3, 6], "devices": [["box/slow"]], "shares": [[1]]}]}
//--- uneven.json
{"strategy": {"dp": 2, "pp": 1, "tp": 1}, "schedule": "1f1b", "micro_batch": 2, "zero": 2,
 "replica_micro_batches": [3, 1],
 "stages": [{"layers": [0, 6], "devices": [["box/fast"], ["box/slow"]], "shares": [[1], [1]]}]}
//--- even.json
{"strategy": {"dp": 2, "pp": 1, "tp": 1}, "schedule": "1f1b", "micro_batch": 2, "zero": 2,
 "replica_micro_batches": [2, 2],
 "stages": [{"layers": [0, 6], "devices": [["box/fast"], ["box/slow"]], "shares": [[1], [1]]}]}
