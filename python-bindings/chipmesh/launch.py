"""Run one process per device of a plan, and stop them all if one fails.

    python3 -m chipmesh.launch --nproc 4 [--timeout 600] script.py [args...]

Each process gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT
(torch.distributed's env:// convention). The launcher hosts the rendezvous
store itself, as torchrun does. For several machines, start one launcher per
machine with --node-rank/--nnodes and the same --master-addr and
--master-port: node 0's launcher hosts the store there. If a process exits
non-zero, raises, or the whole run exceeds --timeout, the launcher names
every failed rank (and, when the script
registered it through chipmesh.launch.describe_rank, its device and stage),
terminates the others within a bounded time, and exits non-zero.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

_DESCRIBE_ENV = "CHIPMESH_RANK_INFO_DIR"


def describe_rank(device, stage):
    """Called by a rank to tell the launcher what it runs (for messages)."""
    where = os.environ.get(_DESCRIBE_ENV)
    if where:
        with open(os.path.join(where, "rank%s.json" % os.environ.get("RANK", "0")), "w") as f:
            json.dump({"device": device, "stage": stage}, f)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _host_store(port, timeout):
    """Hosts torch.distributed's rendezvous store in the launcher, as torchrun
    does, and returns it (None without torch). Ranks then all connect as
    clients: the port is bound once and held (no window in which another
    process can take it), and the store outlives any one rank, so a rank that
    exits early does not break the others' connections."""
    try:
        import datetime
        import torch.distributed as dist
    except ImportError:
        return None
    return dist.TCPStore("0.0.0.0", port or 0, None, True,
                         datetime.timedelta(seconds=timeout), wait_for_workers=False)


def _rank_info(directory, rank):
    try:
        with open(os.path.join(directory, "rank%d.json" % rank)) as f:
            info = json.load(f)
        return " (device %s, stage %s)" % (info["device"], info["stage"])
    except (OSError, ValueError, KeyError):
        return ""


def describe_failures(codes, info_dir):
    """Names every rank of `codes` ((rank, exit code or None), ...) that
    failed, or returns None. All are named, not only the first: one failing
    rank often takes others down with it, and one look at the processes cannot
    tell which went first."""
    failed = ["rank %d%s exited with code %d" % (rank, _rank_info(info_dir, rank), code)
              for rank, code in codes if code not in (None, 0)]
    return ", ".join(failed) if failed else None


def launch(command, nproc, timeout=600.0, grace=5.0, node_rank=0, nnodes=1,
           master_addr="127.0.0.1", master_port=None, stream=sys.stderr):
    """Runs `command` (a list) `nproc` times; returns 0, or a non-zero code
    after stopping every process when one fails or time runs out."""
    store = _host_store(master_port, timeout) if node_rank == 0 else None
    port = store.port if store is not None else (master_port or _free_port())
    # torch.distributed's env:// rendezvous then connects every rank to the
    # launcher's store (TORCHELASTIC_USE_AGENT_STORE; the attempt names its keys).
    agent_store = dict(TORCHELASTIC_USE_AGENT_STORE="True", TORCHELASTIC_RESTART_COUNT="0") \
        if store is not None or (node_rank > 0 and master_port) else {}
    world = nproc * nnodes
    with tempfile.TemporaryDirectory(prefix="chipmesh-launch-") as info:
        procs = []
        for local in range(nproc):
            rank = node_rank * nproc + local
            env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world),
                       LOCAL_RANK=str(local), MASTER_ADDR=master_addr,
                       MASTER_PORT=str(port), **agent_store, **{_DESCRIBE_ENV: info})
            # One thread per rank unless told otherwise (as torchrun does):
            # ranks share the host's cores, and chipmesh-calibrate-cpu
            # measures one thread.
            env.setdefault("OMP_NUM_THREADS", "1")
            procs.append((rank, subprocess.Popen(command, env=env, start_new_session=True)))
        deadline = time.monotonic() + timeout
        failure = None
        while failure is None:
            codes = [(rank, proc.poll()) for rank, proc in procs]
            running = sum(code is None for _, code in codes)
            failure = describe_failures(codes, info)
            if failure is None and running == 0:
                return 0
            if failure is None and time.monotonic() > deadline:
                hung = [r for r, p in procs if p.poll() is None]
                failure = "timed out after %.0f s; still running: %s" % (
                    timeout, ", ".join("rank %d%s" % (r, _rank_info(info, r)) for r in hung))
            time.sleep(0.05)
        print("chipmesh.launch: %s; stopping the other ranks" % failure, file=stream)
        for _, proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        stop = time.monotonic() + grace
        for _, proc in procs:
            try:
                proc.wait(timeout=max(0.0, stop - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m chipmesh.launch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, required=True, help="processes on this machine")
    parser.add_argument("--nnodes", type=int, default=1)
    parser.add_argument("--node-rank", type=int, default=0)
    parser.add_argument("--master-addr", default="127.0.0.1")
    parser.add_argument("--master-port", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    a = parser.parse_args(argv)
    if a.nproc < 1:
        parser.error("--nproc must be at least 1")
    if a.nnodes > 1 and a.master_port is None:
        parser.error("--nnodes %d needs --master-port: every node's ranks meet at node 0's store"
                     % a.nnodes)
    return launch([sys.executable, a.script] + a.args, a.nproc, a.timeout,
                  node_rank=a.node_rank, nnodes=a.nnodes, master_addr=a.master_addr,
                  master_port=a.master_port)


if __name__ == "__main__":
    sys.exit(main())
