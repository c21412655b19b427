"""chipmesh.launch stops the whole tree of every rank: a failed rank's own
children, ranks killed by SIGKILL, and when the launcher itself is sent
SIGINT or SIGTERM. The ranks are plain Python scripts (no torch in them);
each writes its pid, its child's and an orphan's (a process whose parent,
a child of the rank, exited at once), and the test checks that none is
alive afterwards."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import chipmesh.launch

RANK = textwrap.dedent(r'''
    import os, signal, subprocess, sys, time
    out, mode = sys.argv[1], sys.argv[2]
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    stubborn = mode.endswith("-stubborn")
    mode = mode.split("-")[0]
    if stubborn:  # SIGTERM and SIGINT do nothing: only SIGKILL stops it
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
    sleeper = ("import signal, time\n"
               + ("for s in (signal.SIGTERM, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\n"
                  if stubborn else "")
               + "time.sleep(300)\n")
    child = subprocess.Popen([sys.executable, "-c", sleeper])
    # An orphan: started by a process that exits at once (as a daemon does).
    # (Its output to /dev/null: it must not hold the pipe this rank reads.)
    spawner = subprocess.run(
        [sys.executable, "-c", "import subprocess, sys; print(subprocess.Popen("
         "[sys.executable, '-c', sys.argv[1]], stdout=subprocess.DEVNULL).pid)", sleeper],
        stdout=subprocess.PIPE, text=True, check=True)
    orphan = int(spawner.stdout)

    def note(name, pid):
        path = os.path.join(out, name)
        with open(path + ".tmp", "w") as f:
            f.write(str(pid))
        os.rename(path + ".tmp", path)  # never read half-written

    note("rank%d.pid" % rank, os.getpid())
    note("child%d.pid" % rank, child.pid)
    note("orphan%d.pid" % rank, orphan)
    note("ready%d" % rank, 1)
    # Everyone's pids are on disk before any rank ends.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
            os.path.exists(os.path.join(out, "ready%d" % r)) for r in range(world)):
        time.sleep(0.02)
    if mode == "fail" and rank == 0:
        sys.exit(3)
    if mode == "sigkill" and rank == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "finish":
        sys.exit(0)  # leaves its child and orphan running
    time.sleep(300)
''')


def alive(pid):
    """Whether `pid` runs: os.kill(pid, 0) succeeds and it is not a zombie
    (a dead process its parent, maybe init, has not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def pids(out, nproc):
    found = {}
    for r in range(nproc):
        for what in ("rank", "child", "orphan"):
            with open(os.path.join(out, "%s%d.pid" % (what, r))) as f:
                found["%s %d" % (what, r)] = int(f.read())
    return found


def assert_all_gone(out, nproc, within=3.0):
    everyone = pids(out, nproc)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = {name: pid for name, pid in everyone.items() if alive(pid)}
        if not left:
            return
        time.sleep(0.05)
    # Do not leave them to the next test.
    for pid in left.values():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    raise AssertionError("still running after the job: %s" % left)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "rank.py"
    path.write_text(RANK)
    out = tmp_path / "out"
    out.mkdir()
    yield str(path), str(out)
    # Whatever a failed test left running goes, so it cannot slow the next.
    for name in os.listdir(out):
        if name.endswith(".pid"):
            with open(os.path.join(out, name)) as f:
                pid = int(f.read())
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def run_launch(script, mode, nproc, grace=5.0, timeout=60):
    err = io.StringIO()
    start = time.monotonic()
    code = chipmesh.launch.launch([sys.executable, script[0], script[1], mode], nproc,
                                  timeout=timeout, grace=grace, stream=err)
    return code, err.getvalue(), time.monotonic() - start


def test_a_failed_ranks_children_are_stopped_with_the_job(script):
    code, err, took = run_launch(script, "fail", 3)
    assert code == 1
    assert "rank 0 exited with code 3; stopping every rank" in err, err
    # Rank 0 is gone before the launcher acts, but its child and orphan are
    # still in its process group: they go too.
    assert_all_gone(script[1], 3)
    assert took < 15, took


def test_a_rank_killed_by_sigkill_is_named_and_the_others_stopped(script):
    code, err, took = run_launch(script, "sigkill", 3)
    assert code == 1
    assert "rank 1 exited with code -9; stopping every rank" in err, err
    assert_all_gone(script[1], 3)
    assert took < 15, took


def test_what_ignores_sigterm_is_killed_after_the_grace_period(script):
    code, err, took = run_launch(script, "fail-stubborn", 2, grace=1.0)
    assert code == 1
    assert "killing (SIGKILL) what is left of rank 0, rank 1" in err, err
    assert_all_gone(script[1], 2)
    assert 1.0 <= took < 12, took


def test_children_a_finished_job_left_behind_are_stopped(script):
    code, err, _ = run_launch(script, "finish", 2)
    assert code == 0, err
    assert_all_gone(script[1], 2)


def start_cli(script, mode, nproc):
    """The launcher as a command, in a process group of its own (as a shell
    runs a foreground job), once every rank has written its pids."""
    # Its output to a file, not a pipe: a rank left running would hold a
    # pipe open, and reading it to the end would wait for that rank.
    err = open(os.path.join(script[1], "launcher.err"), "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "chipmesh.launch", "--nproc", str(nproc), "--timeout", "120",
         script[0], script[1], mode],
        stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    proc.err = err
    deadline = time.monotonic() + 30
    while not all(os.path.exists(os.path.join(script[1], "ready%d" % r)) for r in range(nproc)):
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            proc.wait()
            raise AssertionError("the ranks did not start: %s" % finish(proc)[1])
        time.sleep(0.05)
    return proc


def finish(proc, timeout=20):
    """Waits for the launcher; returns its exit code and what it printed."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError("the launcher did not exit within %g s" % timeout)
    finally:
        proc.err.seek(0)
        err = proc.err.read()
        proc.err.close()
    return proc.returncode, err


@pytest.mark.parametrize("sig, mode", [
    (signal.SIGINT, "sleep"), (signal.SIGTERM, "sleep"), (signal.SIGTERM, "sleep-stubborn")])
def test_the_launcher_interrupted_leaves_nothing_running(script, sig, mode):
    proc = start_cli(script, mode, 2)
    start = time.monotonic()
    # SIGINT as a terminal's Ctrl-C sends it: to the foreground process
    # group, which holds the launcher but not the ranks (sessions of their
    # own). SIGTERM as `kill` sends it: to the launcher alone.
    if sig == signal.SIGINT:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    code, err = finish(proc)
    took = time.monotonic() - start
    assert code == 128 + sig, (code, err)
    name = signal.Signals(sig).name
    assert "chipmesh.launch: interrupted by %s; stopping every rank (%s to each rank's " \
        "process group, SIGKILL after 5 s)" % (name, name) in err, err
    assert_all_gone(script[1], 2)
    # Ranks that ignore the signal are killed once the grace period is over.
    assert took < (12 if "stubborn" in mode else 6), took
    if "stubborn" in mode:
        assert "killing (SIGKILL) what is left of rank 0, rank 1" in err, err


def test_a_second_interrupt_kills_at_once(script):
    proc = start_cli(script, "sleep-stubborn", 2)
    start = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGINT)
    code, err = finish(proc)
    assert code == 128 + signal.SIGTERM, err
    assert "killing (SIGKILL) what is left of rank 0, rank 1" in err, err
    assert_all_gone(script[1], 2)
    assert time.monotonic() - start < 4  # not the 5 s grace period
