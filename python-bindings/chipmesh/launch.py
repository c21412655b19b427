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

Every rank runs in its own process group, with everything it starts. When
the job ends (a rank failed, time ran out, or all finished) every group is
sent SIGTERM and, after a grace period (5 s), SIGKILL: no rank, and
nothing a rank started that stayed in its group, outlives the launcher's
return, a failed rank's children included. SIGINT and SIGTERM to the launcher are forwarded to every group
(a second one sends SIGKILL at once), and the launcher exits with
128 + the signal's number.

The store: a one-machine job asks it to listen on 127.0.0.1 (--nnodes > 1:
on --master-addr). Each job has a secret token, CHIPMESH_STORE_TOKEN in
every rank's environment, which node 0's launcher writes to the store as
"chipmesh/token"; chipmesh.torch checks it before a rank trusts the store
(chipmesh.torch.init_process_group, and chipmesh.torch.run). A one-machine
job makes a fresh token; for --nnodes > 1, export the same
CHIPMESH_STORE_TOKEN on every machine before starting its launcher. What
this does and does not protect against: docs/robustness.md.
"""

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

_DESCRIBE_ENV = "CHIPMESH_RANK_INFO_DIR"
#: The job's store token: in every rank's environment, and in the store.
TOKEN_ENV = "CHIPMESH_STORE_TOKEN"
TOKEN_KEY = "chipmesh/token"


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


def store_host(nnodes, master_addr):
    """The address the store listens on: loopback for a one-machine job (no
    one else needs to reach it), else the address the other nodes are given."""
    return "127.0.0.1" if nnodes == 1 else master_addr


def _host_store(port, timeout, host="127.0.0.1", token=None):
    """Hosts torch.distributed's rendezvous store in the launcher, as torchrun
    does, and returns it (None without torch). Ranks then all connect as
    clients: the port is bound once and held (no window in which another
    process can take it), and the store outlives any one rank, so a rank that
    exits early does not break the others' connections. The job's token is
    written as TOKEN_KEY before any rank starts."""
    try:
        import datetime
        import torch.distributed as dist
    except ImportError:
        return None
    store = dist.TCPStore(host, port or 0, None, True,
                          datetime.timedelta(seconds=timeout), wait_for_workers=False)
    if token is not None:
        store.set(TOKEN_KEY, token)
    return store


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


def _group_alive(pgid):
    """Whether process group `pgid` still has a live member (zombies, which
    are dead and only wait for their parent, do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                # pid (comm) state ppid pgrp ...: comm may hold spaces and ')'.
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Interrupts:
    """SIGINT and SIGTERM to the launcher, recorded for its loop to forward
    (installed only in the main thread, where Python allows handlers)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.received = []
        self._saved = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._saved[sig] = signal.signal(sig, self._record)
        return self

    def _record(self, signum, frame):
        self.received.append(signum)

    def __exit__(self, *exc):
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


def _stop(procs, sig, grace, interrupts, stream):
    """Sends `sig` to every rank's process group, waits up to `grace`
    seconds for every group to empty (a further interrupt cuts it short),
    then SIGKILLs the groups left. Returns within grace + a few seconds."""
    groups = [(rank, proc.pid) for rank, proc in procs]
    for _, pgid in groups:
        _signal_group(pgid, sig)
    seen = len(interrupts.received)
    deadline = time.monotonic() + grace
    alive = groups
    while True:
        for _, proc in procs:
            proc.poll()  # reap a rank as soon as it exits
        alive = [(rank, pgid) for rank, pgid in alive if _group_alive(pgid)]
        if not alive or time.monotonic() > deadline or len(interrupts.received) > seen:
            break
        time.sleep(0.05)
    if alive:
        print("chipmesh.launch: killing (SIGKILL) what is left of %s"
              % ", ".join("rank %d" % rank for rank, _ in alive), file=stream)
        for _, pgid in alive:
            _signal_group(pgid, signal.SIGKILL)
    for rank, proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # stuck in the kernel: say so, do not hang
            print("chipmesh.launch: rank %d (pid %d) did not exit after SIGKILL"
                  % (rank, proc.pid), file=stream)
    # SIGKILL is not instant: give the groups' other members a moment to go.
    settle = time.monotonic() + 2.0
    while any(_group_alive(pgid) for _, pgid in alive) and time.monotonic() < settle:
        time.sleep(0.02)


def launch(command, nproc, timeout=600.0, grace=5.0, node_rank=0, nnodes=1,
           master_addr="127.0.0.1", master_port=None, stream=sys.stderr, token=None):
    """Runs `command` (a list) `nproc` times; returns 0, or a non-zero code
    after stopping every process when one fails, time runs out (1), or the
    launcher is sent SIGINT or SIGTERM (128 + the signal). Whatever the end,
    every rank's process group is stopped before it returns. `token`: the
    job's store token (default: a fresh one for one machine, else
    $CHIPMESH_STORE_TOKEN, which every node must share)."""
    if token is None:
        token = secrets.token_hex(16) if nnodes == 1 else os.environ.get(TOKEN_ENV)
    if not token:
        raise ValueError("a job of %d nodes needs the same %s on every node "
                         "(export %s=$(python3 -c 'import secrets; print(secrets.token_hex(16))'))"
                         % (nnodes, TOKEN_ENV, TOKEN_ENV))
    host = store_host(nnodes, master_addr)
    store = _host_store(master_port, timeout, host, token) if node_rank == 0 else None
    port = store.port if store is not None else (master_port or _free_port())
    # torch.distributed's env:// rendezvous then connects every rank to the
    # launcher's store (TORCHELASTIC_USE_AGENT_STORE; the attempt names its keys).
    agent_store = dict(TORCHELASTIC_USE_AGENT_STORE="True", TORCHELASTIC_RESTART_COUNT="0") \
        if store is not None or (node_rank > 0 and master_port) else {}
    world = nproc * nnodes
    with tempfile.TemporaryDirectory(prefix="chipmesh-launch-") as info, \
            _Interrupts() as interrupts:
        procs = []
        stopped = False
        try:
            for local in range(nproc):
                if interrupts.received:
                    break
                rank = node_rank * nproc + local
                env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world),
                           LOCAL_RANK=str(local), MASTER_ADDR=host,
                           MASTER_PORT=str(port), **agent_store,
                           **{_DESCRIBE_ENV: info, TOKEN_ENV: token})
                # One thread per rank unless told otherwise (as torchrun does):
                # ranks share the host's cores, and chipmesh-calibrate-cpu
                # measures one thread.
                env.setdefault("OMP_NUM_THREADS", "1")
                # A session of its own: the rank leads a process group that
                # its children join, so one killpg stops them all.
                procs.append((rank, subprocess.Popen(command, env=env, start_new_session=True)))
            deadline = time.monotonic() + timeout
            failure, sig, code = None, signal.SIGTERM, 1
            while failure is None:
                if interrupts.received:
                    sig = interrupts.received[0]
                    code = 128 + sig
                    failure = "interrupted by %s" % signal.Signals(sig).name
                    break
                codes = [(rank, proc.poll()) for rank, proc in procs]
                running = sum(c is None for _, c in codes)
                failure = describe_failures(codes, info)
                if failure is None and running == 0:
                    # Done; children a rank left behind go with the job.
                    _stop(procs, signal.SIGTERM, grace, interrupts, stream)
                    stopped = True
                    return 0
                if failure is None and time.monotonic() > deadline:
                    hung = [r for r, p in procs if p.poll() is None]
                    failure = "timed out after %.0f s; still running: %s" % (
                        timeout, ", ".join("rank %d%s" % (r, _rank_info(info, r)) for r in hung))
                if failure is None:
                    time.sleep(0.05)
            print("chipmesh.launch: %s; stopping every rank (%s to each rank's process "
                  "group, SIGKILL after %g s)" % (failure, signal.Signals(sig).name, grace),
                  file=stream)
            _stop(procs, sig, grace, interrupts, stream)
            stopped = True
            return code
        finally:
            if not stopped:  # an exception in the launcher itself: leave nothing behind
                for _, proc in procs:
                    _signal_group(proc.pid, signal.SIGKILL)
                for _, proc in procs:
                    proc.wait()


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
    if a.nnodes > 1 and not os.environ.get(TOKEN_ENV):
        parser.error("--nnodes %d needs the same %s on every node: export %s=$(python3 -c "
                     "'import secrets; print(secrets.token_hex(16))') and pass it to each "
                     "machine's launcher" % (a.nnodes, TOKEN_ENV, TOKEN_ENV))
    return launch([sys.executable, a.script] + a.args, a.nproc, a.timeout,
                  node_rank=a.node_rank, nnodes=a.nnodes, master_addr=a.master_addr,
                  master_port=a.master_port)


if __name__ == "__main__":
    sys.exit(main())
