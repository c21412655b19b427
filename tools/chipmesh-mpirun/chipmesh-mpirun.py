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


def _field(pattern, text, what, who):
    m = re.search(pattern, text)
    if not m:
        raise Failure(f"{who} printed a {what} line without the field it needs: {text!r}")
    return m.group(1)


def _number(text, field, who):
    try:
        return float(text)
    except ValueError:
        raise Failure(f"{who} printed {field}={text!r}, not a number") from None


def parse_output(text, who="the run"):
    """Results and timings printed by one process. What the lines say is
    checked by check_result and check_timing; a line that cannot be read at
    all is a Failure naming `who`."""
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
            offset = int(_field(r"batch_offset=(\d+)", what, "result", who))
            # printMemrefF32: a descriptor line, then the nested rows.
            if i >= len(lines):
                raise Failure(f"{who}: result {len(results)} has no memref descriptor line")
            sizes = []
            for s in _field(r"sizes = \[([^\]]*)\]", lines[i], "memref descriptor",
                            who).split(","):
                if s.strip():
                    if not re.fullmatch(r"\s*\d+\s*", s):
                        raise Failure(f"{who}: result {len(results)} has size {s.strip()!r}")
                    sizes.append(int(s))
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("chipmesh-mpi"):
                body.append(lines[i])
                i += 1
            values = [_number(v, f"result {len(results)} value", who)
                      for v in re.findall(r"[-+]?(?:inf|nan|[0-9.]+(?:e[-+]?\d+)?)",
                                          " ".join(body))]
            results.append(dict(info, offset=offset, sizes=sizes, values=values))
        else:
            timing = dict(info, **{
                field: _number(_field(field + r"=(\S+)", what, "timing", who), field, who)
                for field in ("step_s", "mpi_s", "idle_s")})
    return results, timing


def rows_of(values, sizes):
    row = 1
    for s in sizes[1:]:
        row *= s
    return [values[r * row:(r + 1) * row] for r in range(sizes[0] if sizes else 0)]


def _finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and \
        x - x == 0  # false for nan and +-inf


def check_result(res, who, k):
    """A printed result holds as many finite values as its sizes say."""
    sizes = res["sizes"]
    if not sizes:
        raise Failure(f"{who} result {k} has no sizes")
    count = 1
    for s in sizes:
        if s < 0:
            raise Failure(f"{who} result {k} has a negative size in {sizes}")
        count *= s
    if len(res["values"]) != count:
        raise Failure(f"{who} result {k} has {len(res['values'])} values; its sizes "
                      f"{sizes} need {count}")
    for j, v in enumerate(res["values"]):
        if not _finite(v):
            raise Failure(f"{who} result {k} value {j} is {v}: results must be finite")


def check_timing(timing, who):
    """A rank's measured times are finite and not negative."""
    for field in ("step_s", "mpi_s", "idle_s"):
        v = timing.get(field)
        if not _finite(v) or v < 0:
            raise Failure(f"{who} measured {field}={v}: a time must be finite and >= 0")


def compare(reference, ranks, rtol, atol):
    """Every rank's result rows against the reference rows at its offset.
    Every value of both is checked (finite, as many as the sizes say) and
    every reference row must be covered by some rank."""
    if not _finite(rtol) or rtol < 0 or not _finite(atol) or atol < 0:
        raise Failure(f"the tolerances must be finite and >= 0 (rtol {rtol}, atol {atol})")
    ref_rows = {}
    for k, res in enumerate(reference):
        check_result(res, "the reference", k)
        ref_rows[k] = (res["sizes"], rows_of(res["values"], res["sizes"]))
    if not ref_rows:
        raise Failure("the reference run printed no result")
    checked, worst, covered = [], 0.0, {}
    for rank in sorted(ranks):
        results = ranks[rank][0]
        for k, res in enumerate(results):
            if k not in ref_rows:
                raise Failure(f"device {rank} printed result {k}; the reference has "
                              f"{len(ref_rows)}")
            check_result(res, f"device {rank}", k)
            ref_sizes, rrows = ref_rows[k]
            if len(res["sizes"]) != len(ref_sizes) or res["sizes"][1:] != ref_sizes[1:]:
                raise Failure(f"device {rank} result {k} has shape {res['sizes']}, "
                              f"the reference {ref_sizes}")
            if res["offset"] + res["sizes"][0] > len(rrows):
                raise Failure(f"device {rank} result {k} rows {res['offset']}.."
                              f"{res['offset'] + res['sizes'][0] - 1} run past the "
                              f"reference's {len(rrows)} rows")
            mine = rows_of(res["values"], res["sizes"])
            diff = 0.0
            for r, row in enumerate(mine):
                want = rrows[res["offset"] + r]
                assert len(row) == len(want)  # same sizes[1:], counts checked
                for a, b in zip(row, want):
                    err = abs(a - b)
                    diff = max(diff, err)
                    if not err <= atol + rtol * abs(b):
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


def _reject_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def predicted_by_device(report_path):
    """The partition report's per-device predictions, by chip index, and its
    step time. Every field read is checked: a finite number >= 0, the chip a
    distinct index; a file that cannot be read, is not JSON (NaN and
    Infinity included) or nests too deeply is a Failure."""
    try:
        with open(report_path) as f:
            report = json.load(f, parse_constant=_reject_constant)
    except OSError as e:
        raise Failure(f"cannot read the report {report_path}: {e.strerror}") from None
    except RecursionError:
        raise Failure(f"{report_path} nests too deeply to be a partition report") from None
    except ValueError as e:  # JSONDecodeError, NaN/Infinity, bad UTF-8
        raise Failure(f"{report_path} is not a JSON report: {e}") from None
    if not isinstance(report, dict):
        raise Failure(f"{report_path} is not a JSON object")
    devices = report.get("devices")
    if devices is None:
        raise Failure(f"{report_path} has no 'devices' list (write it with "
                      f"--chipmesh-partition=report=FILE.json)")
    if not isinstance(devices, list):
        raise Failure(f"{report_path}: 'devices' is not a list")

    def seconds(value, field):
        if not _finite(value) or value < 0:
            raise Failure(f"{report_path}: {field} is {value!r}; a predicted time must be "
                          f"a finite number >= 0")
        return float(value)

    # The report lists devices in plan order; the materialized device index
    # is the chip's flat index, which the report gives as "chip".
    out = {}
    for i, d in enumerate(devices):
        if not isinstance(d, dict):
            raise Failure(f"{report_path}: devices[{i}] is not an object")
        if "chip" not in d:
            raise Failure(f"{report_path}: a device entry has no 'chip' index")
        chip = d["chip"]
        if isinstance(chip, bool) or not isinstance(chip, int) or chip < 0:
            raise Failure(f"{report_path}: devices[{i}].chip is {chip!r}, not a chip index")
        if chip in out:
            raise Failure(f"{report_path}: devices[{i}].chip {chip} is listed twice")
        for field in ("compute_s", "comm_s", "idle_s"):
            if field not in d:
                raise Failure(f"{report_path}: devices[{i}] has no '{field}'")
            seconds(d[field], f"devices[{i}].{field}")
        out[chip] = d
    step = report.get("step_time_s")
    if step is not None:
        step = seconds(step, "step_time_s")
    return out, step


def _nonnegative(text):
    """argparse type: a finite number >= 0 (nan, inf and -1 are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not _finite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("module", help="a module with a chipmesh.plan (inference)")
    ap.add_argument("--np", type=int, help="processes to start (must be the plan's device count)")
    ap.add_argument("--report", help="the partition's JSON report: predicted times to compare")
    ap.add_argument("--hosts", help="comma-separated hosts for mpirun.mpich -hosts")
    ap.add_argument("--hostfile", help="a Hydra host file for mpirun.mpich -f")
    ap.add_argument("--timeout", type=_nonnegative, default=120,
                    help="seconds before a hung run is stopped (default 120)")
    ap.add_argument("--workdir", help="keep the lowered programs and rank outputs here")
    ap.add_argument("--rtol", type=_nonnegative, default=1e-4)
    ap.add_argument("--atol", type=_nonnegative, default=1e-4)
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
        reference, ref_timing = parse_output(ref_out, "the reference run")
        if ref_timing is None:
            raise Failure("the reference run printed no timing line")
        check_timing(ref_timing, "the reference run")

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
            ranks[r] = parse_output(text, f"rank {r}")
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

        for r in range(n):
            check_timing(ranks[r][1], f"rank {r}")
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
    except (RecursionError, ValueError) as e:
        # A reader's own checks raise Failure; this is the last guard, so an
        # input nothing foresaw still ends in one line, not a traceback.
        print(f"chipmesh-mpirun: cannot read the run's output or report: "
              f"{type(e).__name__}: {e}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"chipmesh-mpirun: {' '.join(map(str, e.cmd[:1]))} timed out after "
              f"{e.timeout:g} s", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
