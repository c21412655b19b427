#!/usr/bin/python3
"""Runs a partitioned ChipMesh module on MPI, one process per device.

  chipmesh-mpirun plan.mlir [--report plan.json] [--np N]
                  [--hosts a,b | --hostfile F] [--timeout S]

The module must carry a `chipmesh.plan` (the output of --chipmesh-partition,
or a hand-written plan) for an inference step. The launcher

  1. materializes and verifies the per-device programs, lowers them to one
     MPI program (--chipmesh-lower-to-mpi) and the unpartitioned model to a
     one-process reference, both through upstream bufferization and
     convert-to-llvm;
  2. refuses, before anything starts, a process count that is not the
     plan's device count;
  3. runs the reference with mlir-runner and the plan with
     `mpirun.mpich -np N mlir-runner ...` (MPICH's Hydra: `--hosts` and
     `--hostfile` spread the ranks over machines that share this path);
  4. checks that every rank's results equal the reference rows they stand
     for, and prints each rank's measured step, MPI and compute time, next
     to the cost model's prediction when given the partition's JSON report.

A rank that fails or hangs is named with its device and stage, the whole
job is stopped, and the exit status is non-zero.
"""

import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chipmesh_mlir import (CHIPMESH_OPT, MLIR_RUNNER, RUNNER_LIBS, Failure,  # noqa: E402
                           find_libmpich, run, to_llvm)

HEADER = re.compile(r"^chipmesh-mpi (?P<who>reference|device=(?P<device>\d+) "
                    r"stage=(?P<stage>\d+) replica=(?P<replica>\d+) "
                    r"tp_rank=(?P<tp>\d+)) (?P<what>.*)$")


def lower(source, passes, out_path):
    mid = run([CHIPMESH_OPT, source, passes], f"chipmesh-opt {passes}")
    final = to_llvm(mid)
    with open(out_path, "w") as f:
        f.write(final)
    match = re.search(r"chipmesh\.mpi_ranks = (\d+)", final)
    if not match:
        raise Failure(f"{out_path} does not say how many ranks it needs")
    return int(match.group(1))


def parse_output(text):
    """Results and timings printed by one process."""
    results, timing, lines = [], None, text.splitlines()
    i = 0
    while i < len(lines):
        m = HEADER.match(lines[i])
        i += 1
        if not m:
            continue
        what = m.group("what")
        info = {k: int(v) for k, v in m.groupdict().items()
                if k in ("device", "stage", "replica", "tp") and v is not None}
        if what.startswith("result="):
            offset = int(re.search(r"batch_offset=(\d+)", what).group(1))
            # printMemrefF32: a descriptor line, then the nested rows.
            sizes = [int(s) for s in re.search(r"sizes = \[([^\]]*)\]", lines[i]).group(1)
                     .split(",") if s.strip()]
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("chipmesh-mpi"):
                body.append(lines[i])
                i += 1
            values = [float(v) for v in re.findall(r"-?(?:inf|nan|[0-9.]+(?:e[-+]?\d+)?)",
                                                   " ".join(body))]
            results.append(dict(info, offset=offset, sizes=sizes, values=values))
        else:
            step = float(re.search(r"step_s=(\S+)", what).group(1))
            mpi = float(re.search(r"mpi_s=(\S+)", what).group(1))
            idle = float(re.search(r"idle_s=(\S+)", what).group(1))
            timing = dict(info, step_s=step, mpi_s=mpi, idle_s=idle)
    return results, timing


def rows_of(values, sizes):
    row = 1
    for s in sizes[1:]:
        row *= s
    return [values[r * row:(r + 1) * row] for r in range(sizes[0] if sizes else 0)]


def compare(reference, ranks, rtol, atol):
    """Every rank's result rows against the reference rows at its offset."""
    ref_rows = {}
    for k, res in enumerate(reference):
        ref_rows[k] = (res["sizes"], rows_of(res["values"], res["sizes"]))
    checked, worst, covered = [], 0.0, {}
    for rank in sorted(ranks):
        results = ranks[rank][0]
        for k, res in enumerate(results):
            if k not in ref_rows:
                raise Failure(f"device {rank} printed result {k}; the reference has "
                              f"{len(ref_rows)}")
            ref_sizes, rrows = ref_rows[k]
            if res["sizes"][1:] != ref_sizes[1:]:
                raise Failure(f"device {rank} result {k} has shape {res['sizes']}, "
                              f"the reference {ref_sizes}")
            mine = rows_of(res["values"], res["sizes"])
            diff = 0.0
            for r, row in enumerate(mine):
                want = rrows[res["offset"] + r]
                for a, b in zip(row, want):
                    err = abs(a - b)
                    diff = max(diff, err)
                    if err > atol + rtol * abs(b):
                        raise Failure(
                            f"device {rank} result {k} row {res['offset'] + r}: {a} "
                            f"where the unpartitioned model gives {b}")
                covered.setdefault(k, set()).add(res["offset"] + r)
            worst = max(worst, diff)
            checked.append((rank, k, res["offset"], res["sizes"], diff))
    for k, (sizes, rrows) in ref_rows.items():
        missing = set(range(len(rrows))) - covered.get(k, set())
        if missing:
            raise Failure(f"no rank printed rows {sorted(missing)} of result {k}")
    return checked, worst


def predicted_by_device(report_path):
    with open(report_path) as f:
        report = json.load(f)
    devices = report.get("devices")
    if devices is None:
        raise Failure(f"{report_path} has no 'devices' list (write it with "
                      f"--chipmesh-partition=report=FILE.json)")
    # The report lists devices in plan order; the materialized device index
    # is the chip's flat index, which the report gives as "chip".
    out = {}
    for d in devices:
        if "chip" not in d:
            raise Failure(f"{report_path}: a device entry has no 'chip' index")
        out[d["chip"]] = d
    return out, report.get("step_time_s")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="a module with a chipmesh.plan (inference)")
    ap.add_argument("--np", type=int, help="processes to start (must be the plan's device count)")
    ap.add_argument("--report", help="the partition's JSON report: predicted times to compare")
    ap.add_argument("--hosts", help="comma-separated hosts for mpirun.mpich -hosts")
    ap.add_argument("--hostfile", help="a Hydra host file for mpirun.mpich -f")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds before a hung run is stopped (default 120)")
    ap.add_argument("--workdir", help="keep the lowered programs and rank outputs here")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-4)
    args = ap.parse_args(argv)

    mpirun = shutil.which("mpirun.mpich")
    libmpich = find_libmpich()
    if not mpirun or not libmpich:
        print("chipmesh-mpirun: MPICH is not installed (needs mpirun.mpich and "
              "libmpich.so: Debian's mpich and libmpich-dev)", file=sys.stderr)
        return 2
    workdir = args.workdir or tempfile.mkdtemp(prefix="chipmesh-mpirun-")
    os.makedirs(workdir, exist_ok=True)
    libs = ",".join(RUNNER_LIBS)
    runner = [MLIR_RUNNER, "-e", "main", "-entry-point-result=void"]
    try:
        # Everything that can be refused is refused before a process starts.
        ranks_ll = os.path.join(workdir, "ranks.ll.mlir")
        ref_ll = os.path.join(workdir, "reference.ll.mlir")
        n = lower(args.module,
                  "--pass-pipeline=builtin.module(chipmesh-materialize,"
                  "chipmesh-verify-plan,chipmesh-lower-to-mpi)", ranks_ll)
        lower(args.module, "--chipmesh-lower-to-mpi=reference", ref_ll)
        if args.np is not None and args.np != n:
            raise Failure(f"the plan has {n} devices, one process each; "
                          f"--np {args.np} asks for {args.np}")
        predicted, predicted_step = ({}, None)
        if args.report:
            predicted, predicted_step = predicted_by_device(args.report)

        ref_out = run(runner + [ref_ll, f"-shared-libs={libs}"], "the reference run",
                      timeout=args.timeout)
        reference, ref_timing = parse_output(ref_out)

        # Hydra opens the output files without truncating them.
        for stale in glob.glob(os.path.join(workdir, "rank-*.out")) + \
                glob.glob(os.path.join(workdir, "rank-*.err")):
            os.remove(stale)
        cmd = [mpirun, "-np", str(n)]
        if args.hosts:
            cmd += ["-hosts", args.hosts]
        if args.hostfile:
            cmd += ["-f", args.hostfile]
        cmd += ["-outfile-pattern", os.path.join(workdir, "rank-%r.out"),
                "-errfile-pattern", os.path.join(workdir, "rank-%r.err")]
        cmd += runner + [ranks_ll, f"-shared-libs={libs},{libmpich}"]
        print(f"$ mpirun.mpich -np {n} mlir-runner {os.path.basename(ranks_ll)} "
              f"(outputs in {workdir})")
        proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        timed_out = False
        try:
            launcher_out, _ = proc.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                launcher_out, _ = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                launcher_out, _ = proc.communicate()

        ranks = {}
        for r in range(n):
            path = os.path.join(workdir, f"rank-{r}.out")
            text = open(path).read() if os.path.exists(path) else ""
            ranks[r] = parse_output(text)
        unfinished = [r for r in range(n) if ranks[r][1] is None]
        if timed_out or proc.returncode != 0 or unfinished:
            why = (f"timed out after {args.timeout:g} s" if timed_out
                   else f"mpirun exited with {proc.returncode}")
            lines = [f"the MPI run failed: {why}"]
            for r in unfinished:
                err_path = os.path.join(workdir, f"rank-{r}.err")
                err = open(err_path).read().strip() if os.path.exists(err_path) else ""
                lines.append(f"  rank {r} (device {r}) did not finish its step"
                             + (f": {err.splitlines()[-1]}" if err else ""))
            if launcher_out.strip():
                lines.append("  mpirun: " + launcher_out.strip().splitlines()[-1])
            raise Failure("\n".join(lines))

        checked, worst = compare(reference, ranks, args.rtol, args.atol)
        print(f"results: {len(checked)} pieces from {n} ranks equal the unpartitioned "
              f"model (largest difference {worst:.3g}; rtol {args.rtol:g}, atol {args.atol:g})")
        for rank, k, offset, sizes, diff in checked:
            print(f"  device {rank} result {k} rows {offset}..{offset + sizes[0] - 1} "
                  f"shape {sizes}: max |diff| {diff:.3g}")
        print(f"reference (one process): step {ref_timing['step_s'] * 1e3:.3f} ms")
        # Idle as the model counts it: the waits for a peer's ready message
        # plus the time from this rank's end to the slowest rank's.
        measured = max(ranks[r][1]["step_s"] for r in range(n))

        def column(value, pred):
            text = f"{value * 1e3:>10.3f}"
            if pred is not None:
                # No error against a prediction that prints as zero.
                err = f"{(value - pred) / pred * 100:+.0f}%" if pred >= 0.5e-6 else "n/a"
                text += f" {pred * 1e3:>10.3f} {err:>7}"
            return text

        header = f"{'device':>6} {'stage':>5} {'tp':>3} {'step ms':>9}"
        for name in ("compute ms", "comm ms", "idle ms"):
            header += f" | {name:>10}" + (f" {'predicted':>10} {'error':>7}" if predicted else "")
        print(header)
        for r in range(n):
            t = ranks[r][1]
            compute = t["step_s"] - t["mpi_s"] - t["idle_s"]
            idle = t["idle_s"] + measured - t["step_s"]
            p = predicted.get(r) or {}
            print(f"{r:>6} {t['stage']:>5} {t['tp']:>3} {t['step_s'] * 1e3:>9.3f}"
                  f" | {column(compute, p.get('compute_s'))}"
                  f" | {column(t['mpi_s'], p.get('comm_s'))}"
                  f" | {column(idle, p.get('idle_s'))}")
        if predicted_step:
            print(f"step: predicted {predicted_step * 1e3:.3f} ms, measured "
                  f"{measured * 1e3:.3f} ms ({(measured - predicted_step) / predicted_step * 100:+.0f}%)")
        return 0
    except Failure as e:
        print(f"chipmesh-mpirun: {e}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"chipmesh-mpirun: {' '.join(map(str, e.cmd[:1]))} timed out after "
              f"{e.timeout:g} s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
