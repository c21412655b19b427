"""The chipmesh package over the passes: models, meshes, plans, errors."""

import json

import pytest

import chipmesh

MLP = """
topo.mesh @pair {
  topo.chip_kind @fast catalog "h100-sxm"
  topo.chip_kind @slow catalog "a100-sxm-80gb"
  topo.link_kind @nvl catalog "nvlink4"
  topo.group "node" switched via @nvl { topo.chips @fast x 1  topo.chips @slow x 1 }
}
func.func @forward(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %h = graph.layer "mlp" repeat 2 (%x) : (tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  ^bb0(%in: tensor<64x1024xf32>):
    %w1 = graph.param "up" : tensor<1024x4096xf32>
    %a = graph.linear %in, %w1 : tensor<64x1024xf32>, tensor<1024x4096xf32>
    %r = graph.relu %a : tensor<64x4096xf32>
    %w2 = graph.param "down" : tensor<4096x1024xf32>
    %y = graph.linear %r, %w2 : tensor<64x4096xf32>, tensor<4096x1024xf32>
    %s = graph.add %in, %y : tensor<64x1024xf32>, tensor<64x1024xf32>
    graph.yield %s : tensor<64x1024xf32>
  }
  return %h : tensor<64x1024xf32>
}
"""


def test_catalog_has_sourced_chips():
    chips = {c["id"]: c for c in chipmesh.catalog_chips()}
    assert chips["h100-sxm"]["memory_bytes"] == 80 * 2**30
    assert chips["h100-sxm"]["sources"]
    links = {l["id"]: l for l in chipmesh.catalog_links()}
    assert links["nvlink4"]["bytes_per_s"] == 450e9


def test_parse_errors_are_located_exceptions():
    with pytest.raises(chipmesh.Error, match=r"bad\.mlir:2:2: error: custom op 'graph.bogus' is unknown"):
        chipmesh.parse("func.func @f() {\n graph.bogus\n}", "bad.mlir")


def test_round_trip(examples):
    model = chipmesh.import_hf_config(examples / "models" / "gpt2.json", batch=2, seq_len=128)
    assert model.functions == ["forward"]
    again = chipmesh.parse(model.text)
    assert again.text == model.text


def test_import_errors_name_the_file(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "nonesuch"}))
    with pytest.raises(chipmesh.Error, match="config.json"):
        chipmesh.import_hf_config(config)
    with pytest.raises(chipmesh.Error, match="mode must be 'train' or 'infer'"):
        chipmesh.import_hf_config({"model_type": "gpt2"}, mode="serve")


def test_mesh_in_a_line():
    mesh = chipmesh.Mesh.cluster([("ascend-910b", 4), ("mtt-s4000", 4)], network="roce-200g")
    assert 'catalog "ascend-910b"' in mesh.text and "x 4" in mesh.text
    assert chipmesh.Mesh.parse(mesh.text).name == "cluster"
    with pytest.raises(chipmesh.Error, match="unknown chip 'h101'"):
        chipmesh.Mesh.node("h101", 8)
    with pytest.raises(chipmesh.Error, match="at least one"):
        chipmesh.Mesh.node("h100-sxm", 0)


def test_estimate_prices_every_kind(examples):
    model = chipmesh.import_hf_config(examples / "models" / "gpt2.json", batch=8, seq_len=1024)
    report = chipmesh.estimate(model, chipmesh.Mesh.node("h100-sxm", 8), micro_batch=8)
    chips = report["chips"]
    assert len(chips) == 1 and chips[0]["catalog"] == "h100-sxm"
    assert chips[0]["step_s"] > 0 and chips[0]["fits"]


def test_partition_materialize_verify():
    model = chipmesh.parse(MLP)
    plan = chipmesh.partition(model, "@pair", strategy="dp=1,pp=1,tp=2", micro_batch=16)
    assert (plan.dp, plan.pp, plan.tp) == (1, 1, 2)
    assert len(plan.devices) == 2 and plan.step_time_s > 0
    # Uneven shares for an H100 and an A100.
    fast, slow = plan.stages[0].shares[0]
    assert fast > slow and abs(fast + slow - 1) < 1e-6
    assert plan.placements[0][1]["stages"] == [0]
    programs = chipmesh.materialize(plan)
    assert {"forward_dev0", "forward_dev0_stage", "forward_dev1"} <= set(programs.functions)
    assert "comm.all_reduce" in programs.text
    assert chipmesh.verify_plan(programs) == "verified: 2 device programs"
    shard = chipmesh.export_shard(plan)
    assert "shard.grid @forward_stage0_grid(shape = 2)" in shard.text


def test_bad_options_raise_with_the_pass_message():
    model = chipmesh.parse(MLP)
    with pytest.raises(chipmesh.Error, match="objective must be"):
        chipmesh.partition(model, "@pair", objective="fastest")
    with pytest.raises(chipmesh.Error, match="cannot be passed"):
        chipmesh.partition(model, "@pair", calibration="a b.json")
    with pytest.raises(chipmesh.Error, match="no 'chipmesh.plan'"):
        chipmesh.materialize(model)


def test_interleaved_plan_is_priced_but_not_materialized():
    # Four layers over two chips, two model chunks each (interleaved 1F1B):
    # four virtual stages, chunks k and k + 2 on the same chip.
    model = chipmesh.parse(MLP.replace("repeat 2", "repeat 4"))
    plan = chipmesh.partition(model, "@pair", strategy="dp=1,pp=2,tp=1",
                              virtual_stages=2, micro_batch=16)
    assert plan.virtual_stages == 2 and len(plan.stages) == 4
    assert plan.stages[0].devices == plan.stages[2].devices
    assert plan.stages[1].devices == plan.stages[3].devices
    with pytest.raises(chipmesh.Error, match="interleaved plans are priced but not materialized"):
        chipmesh.materialize(plan)


def test_a_chip_too_slow_to_help_is_left_idle():
    # An H100 beside a 1 TFLOP/s chip: the plan leaves the slow one out
    # and says why; use_all_chips forces it in, and that is slower.
    slow_mesh = MLP.replace(
        'topo.chip_kind @slow catalog "a100-sxm-80gb"',
        "topo.chip_kind @slow {fp32_flop_per_s = 1.0e12, memory_bytes = 80.0e9, "
        "memory_bytes_per_s = 1.0e11}")
    model = chipmesh.parse(slow_mesh)
    plan = chipmesh.partition(model, "@pair", micro_batch=16)
    assert plan.idle_chips == ["node/slow"]
    assert plan.idle_reason.startswith("1 of the 2 chips left idle")
    assert [d.name for d in plan.devices] == ["node/fast"]
    forced = chipmesh.partition(model, "@pair", micro_batch=16, use_all_chips=True)
    assert forced.idle_chips == [] and len(forced.devices) == 2
    assert forced.step_time_s > plan.step_time_s
    programs = chipmesh.materialize(plan)
    assert "forward_dev0" in programs.functions
    assert "forward_dev1" not in programs.functions


def test_a_failed_pipeline_leaves_no_report(tmp_path):
    # The partition pass writes its report, then verify-plan fails (there
    # are no programs yet): the report must not stay behind half-true.
    model = chipmesh.parse(MLP)
    report = tmp_path / "report.json"
    with pytest.raises(chipmesh.Error, match="has no step function"):
        model.run("chipmesh-partition{mesh=@pair report=%s},chipmesh-verify-plan" % report)
    assert list(tmp_path.iterdir()) == []
    model = chipmesh.parse(MLP)
    model.run("chipmesh-partition{mesh=@pair report=%s}" % report)
    assert json.loads(report.read_text())["strategy"]["dp"] >= 1


def test_zero_and_per_stage_recompute_reach_python(examples):
    # LLaMA-2-13B on one DGX H100: with ZeRO offered the plan shards fully
    # (FSDP); with recompute chosen per stage (and 20% of memory kept free)
    # the first two of four 1F1B stages, which hold the most micro-batches,
    # recompute fully and the last two not at all.
    def llama():
        return chipmesh.import_hf_config(examples / "models" / "llama-2-13b.json",
                                         batch=64, seq_len=4096, dtype="bf16",
                                         flash_attention=True)
    mesh = str(examples / "meshes" / "h100-node.mlir")
    plan = chipmesh.partition(llama(), mesh, zero="auto")
    assert (plan.dp, plan.pp, plan.zero) == (8, 1, 3)
    assert [s.recompute for s in plan.stages] == [""]
    with pytest.raises(chipmesh.Error, match="ZeRO-sharded plans are priced but not materialized"):
        chipmesh.materialize(plan)
    staged = chipmesh.partition(llama(), mesh, recompute="auto", headroom=0.2,
                                strategy="dp=2,pp=4,tp=1")
    assert staged.zero == 0
    assert [s.recompute for s in staged.stages] == ["full", "full", "none", "none"]
