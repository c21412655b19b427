"""chipmesh.launch's rendezvous store: asked to listen on loopback for one
machine, a fresh secret token per job that the ranks check before they
trust the store (chipmesh.torch.verify_store, init_process_group, run), and
no pickle between ranks (gather_timings sends a tensor)."""

import datetime
import io
import json
import os
import sys

import pytest
import torch.distributed as dist

import chipmesh
import chipmesh.launch
import chipmesh.torch as ct

TESTS = os.path.dirname(os.path.abspath(__file__))


def run_job(tmp_path, body, nproc=2, timeout=60, **kwargs):
    """Runs `body` (Python, with `out` the output folder) as every rank."""
    script = tmp_path / "job.py"
    script.write_text("import json, os, sys\nsys.path.insert(0, %r)\nout = sys.argv[1]\n%s"
                      % (TESTS, body))
    err = io.StringIO()
    code = chipmesh.launch.launch([sys.executable, str(script), str(tmp_path)], nproc,
                                  timeout=timeout, stream=err, **kwargs)
    return code, err.getvalue()


def test_the_store_is_asked_for_loopback_unless_several_nodes(monkeypatch):
    assert chipmesh.launch.store_host(1, "10.9.9.9") == "127.0.0.1"
    assert chipmesh.launch.store_host(2, "10.9.9.9") == "10.9.9.9"
    asked = []

    class Store:  # records what the launcher asks torch for; no socket
        port = 1

        def __init__(self, host, port, world, is_master, timeout, wait_for_workers):
            asked.append((host, is_master))
            self.keys = {}

        def set(self, key, value):
            self.keys[key] = value

    monkeypatch.setattr(dist, "TCPStore", Store)
    monkeypatch.setenv(chipmesh.launch.TOKEN_ENV, "shared-by-every-node")
    ok = [sys.executable, "-c", "pass"]
    assert chipmesh.launch.launch(ok, 1, master_addr="10.9.9.9", stream=io.StringIO()) == 0
    assert chipmesh.launch.launch(ok, 1, nnodes=2, master_addr="10.9.9.9", master_port=1,
                                  stream=io.StringIO()) == 0
    assert asked == [("127.0.0.1", True), ("10.9.9.9", True)]


def test_ranks_get_a_fresh_token_that_the_store_holds(tmp_path):
    body = (
        "import datetime, torch.distributed as dist\n"
        "import chipmesh.torch as ct\n"
        "store = dist.TCPStore(os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']),\n"
        "                      None, False, datetime.timedelta(seconds=10),\n"
        "                      wait_for_workers=False)\n"
        "json.dump({'addr': os.environ['MASTER_ADDR'],\n"
        "           'token': os.environ['CHIPMESH_STORE_TOKEN'],\n"
        "           'stored': store.get('chipmesh/token').decode(),\n"
        "           'verified': ct.verify_store()},\n"
        "          open(os.path.join(out, 'rank%s.json' % os.environ['RANK']), 'w'))\n")
    tokens = []
    for job in range(2):
        # --master-addr does not matter to a one-machine job: loopback.
        code, err = run_job(tmp_path, body, master_addr="localhost")
        assert code == 0, err
        seen = [json.load(open(tmp_path / ("rank%d.json" % r))) for r in range(2)]
        assert all(s == dict(seen[0]) for s in seen)
        assert seen[0]["addr"] == "127.0.0.1" and seen[0]["verified"] is True
        assert seen[0]["token"] == seen[0]["stored"] and len(seen[0]["token"]) == 32
        tokens.append(seen[0]["token"])
    assert tokens[0] != tokens[1]


@pytest.fixture
def impostor(monkeypatch):
    """A store that is not this job's, and a rank's environment pointing at it."""
    store = dist.TCPStore("127.0.0.1", 0, None, True, datetime.timedelta(seconds=10),
                          wait_for_workers=False)
    monkeypatch.setattr(ct.runtime, "_verified_store", None)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(store.port))
    monkeypatch.setenv("CHIPMESH_STORE_TOKEN", "0123abcd")
    return store


def test_a_store_without_the_token_is_refused(impostor):
    with pytest.raises(chipmesh.Error) as e:
        ct.verify_store(timeout=1)
    assert str(e.value) == (
        "the rendezvous store at 127.0.0.1:%d holds no chipmesh/token within 1 s: it is "
        "not this job's chipmesh.launch store; refusing to trust it" % impostor.port)


def test_a_store_with_another_token_is_refused(impostor):
    impostor.set("chipmesh/token", "another job")
    with pytest.raises(chipmesh.Error) as e:
        ct.init_process_group("gloo", rank=0, world_size=1)
    assert "holds another job's chipmesh/token (not this rank's CHIPMESH_STORE_TOKEN)" \
        in str(e.value)
    assert not dist.is_initialized()  # refused before the rendezvous


def test_the_right_token_is_accepted_once(impostor):
    impostor.set("chipmesh/token", "0123abcd")
    assert ct.verify_store(timeout=1) is True
    impostor.set("chipmesh/token", "changed")
    assert ct.verify_store(timeout=1) is True  # checked once per process


def test_without_a_token_there_is_nothing_to_check(monkeypatch):
    monkeypatch.setattr(ct.runtime, "_verified_store", None)
    monkeypatch.delenv("CHIPMESH_STORE_TOKEN", raising=False)
    assert ct.verify_store() is False


def test_run_refuses_a_store_whose_token_changed(tmp_path):
    # Ranks that set up their group with torch.distributed directly are
    # checked by run(), before the first step.
    body = (
        "import datetime, torch.distributed as dist\n"
        "import chipmesh, chipmesh.torch as ct\n"
        "from models import build\n"
        "dist.init_process_group('gloo')\n"
        "if dist.get_rank() == 0:\n"
        "    raw = dist.TCPStore(os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']),\n"
        "                        None, False, datetime.timedelta(seconds=10),\n"
        "                        wait_for_workers=False)\n"
        "    raw.set('chipmesh/token', 'forged')\n"
        "dist.barrier()\n"
        "net, x, _, _, _ = build('mlp')\n"
        "plan = ct.partition(net, (x,), chipmesh.Mesh.node('h100-sxm', 2),\n"
        "                    strategy='dp=1,pp=2,tp=1', micro_batch=2)\n"
        "try:\n"
        "    ct.run(plan, x)\n"
        "except chipmesh.Error as e:\n"
        "    open(os.path.join(out, 'refused%s' % dist.get_rank()), 'w').write(str(e))\n")
    code, err = run_job(tmp_path, body)
    assert code == 0, err
    for r in range(2):
        assert "holds another job's chipmesh/token" in (tmp_path / ("refused%d" % r)).read_text()


def test_timings_are_gathered_as_a_tensor_not_pickled(tmp_path):
    body = (
        "import torch.distributed as dist\n"
        "import chipmesh.torch as ct\n"
        "def no_pickle(*args, **kwargs):\n"
        "    raise AssertionError('all_gather_object unpickles what peers send')\n"
        "dist.all_gather_object = no_pickle\n"
        "ct.init_process_group('gloo')\n"
        "rank = dist.get_rank()\n"
        "timing = None if rank == 1 else ct.Timing(1.0 + rank, 0.5, 0.25, 0.25 + 1e-12)\n"
        "got = ct.gather_timings(ct.RankResult(None, {}, {}, timing))\n"
        "assert all(t is None or type(t) is ct.Timing for t in got), got\n"
        "json.dump(got, open(os.path.join(out, 'rank%d.json' % rank), 'w'))\n")
    code, err = run_job(tmp_path, body, nproc=3)
    assert code == 0, err
    want = [[1.0, 0.5, 0.25, 0.25 + 1e-12], None, [3.0, 0.5, 0.25, 0.25 + 1e-12]]
    for r in range(3):
        assert json.load(open(tmp_path / ("rank%d.json" % r))) == want


def test_several_nodes_need_a_shared_token(monkeypatch, capsys):
    monkeypatch.delenv("CHIPMESH_STORE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as e:
        chipmesh.launch.main(["--nproc", "1", "--nnodes", "2", "--master-port", "29999",
                              "script.py"])
    assert e.value.code == 2
    assert "--nnodes 2 needs the same CHIPMESH_STORE_TOKEN on every node" in \
        capsys.readouterr().err
    with pytest.raises(ValueError, match="needs the same CHIPMESH_STORE_TOKEN"):
        chipmesh.launch.launch(["true"], 1, nnodes=2, master_port=29999)
