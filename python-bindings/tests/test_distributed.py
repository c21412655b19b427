"""chipmesh.torch.run on torch.distributed (gloo, CPU), one process per
device: outputs and updated weights equal the single-process run."""

import io
import os
import sys
import time

import pytest
import torch

import chipmesh.launch

sys.path.insert(0, os.path.dirname(__file__))
from models import build  # noqa: E402

JOB = os.path.join(os.path.dirname(__file__), "dist_job.py")
# fp32 on CPU; pipelining only reorders the sums of the gradient over
# micro-batches and replicas.
ATOL, RTOL = 1e-6, 1e-5


def launch(tmp_path, nproc, *args, timeout=120):
    err = io.StringIO()
    code = chipmesh.launch.launch([sys.executable, JOB, str(tmp_path)] + list(args),
                                  nproc, timeout=timeout, stream=err)
    return code, err.getvalue()


def reference(name, mode, steps):
    net, x, y, loss_fn, _ = build(name)
    if mode == "infer":
        with torch.no_grad():
            return net(x), dict(net.named_parameters())
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        (loss_fn(net(x), y) / x.shape[0]).backward()
        opt.step()
    with torch.no_grad():
        return None, {k: v.detach() for k, v in net.named_parameters()}


def check(tmp_path, nproc, name, mode, steps=1, strategy="dp=1,pp=2,tp=1",
          schedule="1f1b"):
    code, err = launch(tmp_path, nproc, name, strategy, mode, str(steps), schedule)
    assert code == 0, err
    expected_out, expected = reference(name, mode, steps)
    outputs, pieces = [], {}
    for r in range(nproc):
        result = torch.load(os.path.join(tmp_path, "rank%d.pt" % r))
        if result["out"] is not None:
            outputs.append(result["out"])
        for param, value in result["state"].items():
            if param in result["shards"]:
                dim, offset, whole = result["shards"][param]
                pieces.setdefault(param, {})[offset] = (dim, value)
                continue
            assert torch.allclose(value, expected[param], atol=ATOL, rtol=RTOL), \
                (r, param, (value - expected[param]).abs().max())
    # Shards of a weight, in offset order, make the whole weight (per replica
    # they are identical after the gradient all-reduce).
    for param, by_offset in pieces.items():
        (dim,) = {d for d, _ in by_offset.values()}
        whole = torch.cat([by_offset[o][1] for o in sorted(by_offset)], dim=dim)
        assert torch.allclose(whole, expected[param], atol=ATOL, rtol=RTOL), \
            (param, (whole - expected[param]).abs().max())
    if mode == "infer":
        assert outputs, "no rank returned an output"
        got = torch.cat(outputs)
        assert got.shape == expected_out.shape
        assert torch.allclose(got, expected_out, atol=ATOL, rtol=RTOL), \
            (got - expected_out).abs().max()
    # Every rank measured its step: compute and communication add up.
    dp, pp, tp = (int(part.split("=")[1])
                  for part in strategy.split(";")[0].split(","))
    for r in range(nproc):
        step_s, comm_s, idle_s, compute_s = \
            torch.load(os.path.join(tmp_path, "rank%d.pt" % r))["timing"]
        assert step_s > 0 and comm_s >= 0 and idle_s >= 0 and compute_s >= 0
        assert abs(step_s - comm_s - idle_s - compute_s) < 1e-9
        # A later pipeline stage cannot start before the first stage's
        # first micro-batch arrives: that wait is idle time.
        if pp > 1 and (r // tp) % pp == pp - 1:
            assert idle_s > 0, (r, idle_s)
    return pieces


@pytest.mark.parametrize("schedule", ["gpipe", "1f1b"])
@pytest.mark.parametrize("steps", [1, 3])
def test_mlp_training_data_and_pipeline_parallel(tmp_path, schedule, steps):
    check(tmp_path, 4, "mlp", "train", steps, "dp=2,pp=2,tp=1", schedule)


@pytest.mark.parametrize("steps", [1, 3])
def test_mlp_training_zero1(tmp_path, steps):
    # ZeRO-1: each replica updates half of every stage's flat parameters;
    # the gathered result equals one process.
    check(tmp_path, 4, "mlp", "train", steps, "dp=2,pp=2,tp=1;zero=1")


def test_uneven_tensor_parallel_zero1(tmp_path):
    check(tmp_path, 4, "gpt-tp", "train", 2, "dp=2,pp=1,tp=2;zero=1")


@pytest.mark.parametrize("zero,what", [("2", "gradients"), ("3", "gradients and weights")])
def test_zero2_and_zero3_plans_are_refused_by_name(zero, what):
    # Refused before any process group is needed.
    import chipmesh
    import chipmesh.torch as ct
    net, x, y, loss_fn, chips = build("mlp")
    plan = ct.partition(net, (x,), chipmesh.Mesh.node("h100-sxm", chips),
                        strategy="dp=2,pp=2,tp=1", mode="train", micro_batch=2,
                        zero=zero)
    assert plan.plan.zero == int(zero)
    with pytest.raises(chipmesh.Error, match="the plan shards %s with ZeRO-%s; the runtime "
                       "shards the optimizer state only: partition with zero=0 or "
                       "zero=1" % (what, zero)):
        ct.run(plan, x, y, loss_fn)


def test_mlp_inference(tmp_path):
    check(tmp_path, 4, "mlp", "infer", strategy="dp=2,pp=2,tp=1")


@pytest.mark.parametrize("steps", [1, 3])
def test_small_gpt_training_two_stages(tmp_path, steps):
    check(tmp_path, 2, "gpt", "train", steps)


@pytest.mark.parametrize("steps", [1, 3])
def test_small_gpt_uneven_tensor_parallel_and_two_stages(tmp_path, steps):
    pieces = check(tmp_path, 4, "gpt-tp", "train", steps, "dp=1,pp=2,tp=2")
    # The fast chip holds three times the slow one's share (3:1 speed
    # shares) of the MLP's 128 hidden features: rows of `up`, and, as a
    # Megatron pair, the same columns of `down`.
    sizes = {p: sorted((v.shape[d] for d, v in by.values()), reverse=True)
             for p, by in pieces.items() if p.endswith(("up.weight", "down.weight"))}
    assert len(sizes) == 4 and all(pair == [96, 32] for pair in sizes.values()), sizes
    assert all(d == 1 for p, by in pieces.items() if p.endswith("down.weight")
               for d, _ in by.values())


def test_small_gpt_tensor_parallel_inference(tmp_path):
    check(tmp_path, 4, "gpt-tp", "infer", strategy="dp=1,pp=2,tp=2")


def test_resnet18_inference_two_stages(tmp_path):
    check(tmp_path, 2, "resnet18", "infer")


@pytest.mark.parametrize("steps", [1, 3])
def test_resnet18_training_two_stages(tmp_path, steps):
    # BatchNorm with frozen statistics (eval mode), as in fine-tuning: batch
    # statistics per micro-batch would differ from the whole batch's.
    check(tmp_path, 2, "resnet18", "train", steps)


def test_failing_rank_stops_the_job(tmp_path):
    start = time.monotonic()
    code, err = launch(tmp_path, 4, "mlp", "dp=2,pp=2,tp=1", "train", "1", "1f1b", "raise")
    assert code != 0
    assert "rank 1 (device" in err and "stage 1) exited with code 1" in err, err
    assert time.monotonic() - start < 60


def test_hanging_rank_times_out(tmp_path):
    start = time.monotonic()
    code, err = launch(tmp_path, 4, "mlp", "dp=2,pp=2,tp=1", "train", "1", "1f1b", "hang",
                       timeout=20)
    assert code != 0
    assert "timed out after 20 s; still running: rank" in err, err
    assert time.monotonic() - start < 40


def test_plan_and_process_count_must_match(tmp_path):
    # A plan for 4 devices started on 2 processes: refused before any step.
    import subprocess
    proc = subprocess.run(
        [sys.executable, "-m", "chipmesh.launch", "--nproc", "2", "--timeout", "60", JOB,
         str(tmp_path), "mlp", "dp=2,pp=2,tp=1", "train", "1", "1f1b"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "the plan needs 4 processes (dp=2 x pp=2 x tp=1), this job has 2" in proc.stderr, proc.stderr
    assert not os.path.exists(os.path.join(tmp_path, "rank0.pt"))


def test_store_outlives_a_rank_that_exits_early(tmp_path):
    # The launcher hosts the rendezvous store: rank 0 leaving first must not
    # break rank 1's connection (with a store hosted by rank 0 it would, with
    # a broken pipe), and every rank still meets at the one store.
    script = tmp_path / "early_exit.py"
    script.write_text(
        "import os, sys, time\n"
        "import torch.distributed as dist\n"
        "dist.init_process_group('gloo')\n"
        "store = dist.distributed_c10d._get_default_store()\n"
        "if dist.get_rank() == 0:\n"
        "    store.set('from-rank-0', 'hello')\n"
        "    sys.exit(0)\n"
        "time.sleep(2)\n"
        "assert store.get('from-rank-0') == b'hello'\n"
        "store.set('from-rank-1', 'still here')\n"
        "open(sys.argv[1], 'w').write(store.get('from-rank-1').decode())\n")
    done = tmp_path / "rank1.txt"
    err = io.StringIO()
    code = chipmesh.launch.launch([sys.executable, str(script), str(done)], 2, timeout=60,
                                  stream=err)
    assert code == 0, err.getvalue()
    assert done.read_text() == "still here"


def test_failed_ranks_are_all_named(tmp_path):
    # Every rank found failed in one look is named, with its device and stage
    # where the rank registered them; running and finished ranks are not.
    with open(os.path.join(tmp_path, "rank2.json"), "w") as f:
        f.write('{"device": 5, "stage": 1}')
    codes = [(0, 0), (1, None), (2, 1), (3, -9)]
    assert chipmesh.launch.describe_failures(codes, str(tmp_path)) == \
        "rank 2 (device 5, stage 1) exited with code 1, rank 3 exited with code -9"
    assert chipmesh.launch.describe_failures([(0, 0), (1, None)], str(tmp_path)) is None
