#!/usr/bin/python3
"""Measures this machine as a `cpu` chip for the cost model.

  chipmesh-calibrate-cpu --engine torch|mlir --chips N --out PREFIX

Writes PREFIX.mlir, a mesh of N `cpu` chips (one per process) joined by a
`loopback` link, and PREFIX.json, the calibration that goes with it
(--chipmesh-partition=calibration=PREFIX.json). A CPU has no datasheet the
cost model could trust for what an engine reaches, so every number is
measured here, with the engine that will run the plan:

  torch  PyTorch on one thread per process (chipmesh.launch sets
         OMP_NUM_THREADS=1): fp32 GEMM, a large tensor copy, a tiny op's
         fixed cost, and gloo send/recv between two processes;
  mlir   the code --chipmesh-lower-to-mpi runs: linalg lowered to loops by
         the upstream pipeline under mlir-runner, and MPICH send/recv
         between two ranks.

The measured peaks become the chip's ratings, so the calibration sets the
efficiencies to 1 (the measurement already is what software reaches).
Each figure is the best of several repetitions.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chipmesh_mlir import MLIR_RUNNER, RUNNER_LIBS, find_libmpich, to_llvm  # noqa: E402


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# --- PyTorch -----------------------------------------------------------


def _torch_pingpong(rank, port, result_path):
    import torch
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    figures = {}
    for name, elements in (("latency", 1), ("bandwidth", 4 << 20)):
        buf = torch.zeros(elements)
        rounds = 50 if elements == 1 else 5
        dist.barrier()
        start = time.perf_counter()
        for _ in range(rounds):
            if rank == 0:
                dist.send(buf, 1)
                dist.recv(buf, 1)
            else:
                dist.recv(buf, 0)
                dist.send(buf, 0)
        one_way = (time.perf_counter() - start) / (2 * rounds)
        figures[name] = one_way
    if rank == 0:
        latency = figures["latency"]
        bandwidth = (4 << 20) * 4 / max(figures["bandwidth"] - latency, 1e-9)
        with open(result_path, "w") as f:
            json.dump({"latency_s": latency, "bytes_per_s": bandwidth}, f)
    dist.destroy_process_group()


def measure_torch(args):
    import torch
    import torch.multiprocessing as mp
    torch.set_num_threads(1)
    n = args.gemm
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    gemm_s = best_of(lambda: torch.mm(a, b), args.repeats)
    elements = args.stream_mib * (1 << 20) // 4
    src, dst = torch.randn(elements), torch.empty(elements)
    dst.copy_(src)
    copy_s = best_of(lambda: dst.copy_(src), args.repeats)
    tiny = torch.zeros(1)
    overhead_s = best_of(lambda: [tiny.add_(1.0) for _ in range(1000)], args.repeats) / 1000
    with tempfile.TemporaryDirectory() as tmp:
        result = os.path.join(tmp, "link.json")
        port = 29600 + os.getpid() % 1000
        mp.spawn(_torch_pingpong, args=(port, result), nprocs=2, join=True)
        with open(result) as f:
            link = json.load(f)
    return {
        "fp32_flop_per_s": 2.0 * n ** 3 / gemm_s,
        "memory_bytes_per_s": 2.0 * elements * 4 / copy_s,
        "kernel_overhead_s": overhead_s,
        "link_bytes_per_s": link["bytes_per_s"],
        "link_latency_s": link["latency_s"],
        "how": "PyTorch %s, 1 thread: %dx%d fp32 GEMM, %d MiB copy, gloo ping-pong"
               % (torch.__version__, n, n, args.stream_mib),
    }


# --- MLIR (the --chipmesh-lower-to-mpi program) --------------------------

def _timed_program(body, repeats):
    """A @main that runs `body` (which uses %a, %b, %c) `repeats` times and
    prints the best time."""
    return """
func.func private @rtclock() -> f64
func.func @main() {
  %%best0 = arith.constant 1.0e9 : f64
  %%lo = arith.constant 0 : index
  %%hi = arith.constant %d : index
  %%one = arith.constant 1 : index
  %%best = scf.for %%i = %%lo to %%hi step %%one iter_args(%%acc = %%best0) -> f64 {
    %%t0 = func.call @rtclock() : () -> f64
%s
    %%t1 = func.call @rtclock() : () -> f64
    %%dt = arith.subf %%t1, %%t0 : f64
    %%m = arith.minimumf %%acc, %%dt : f64
    scf.yield %%m : f64
  }
  vector.print str "seconds="
  vector.print %%best : f64
  return
}
""" % (repeats, body)


def _run_mlir(text, workdir, name, mpi_ranks=0):
    ll = os.path.join(workdir, name + ".ll.mlir")
    with open(ll, "w") as f:
        f.write(to_llvm(text))
    libs = list(RUNNER_LIBS)
    cmd = [MLIR_RUNNER, ll, "-e", "main", "-entry-point-result=void"]
    if mpi_ranks:
        libs.append(find_libmpich())
        cmd = [shutil.which("mpirun.mpich"), "-np", str(mpi_ranks)] + cmd
    out = subprocess.run(cmd + ["-shared-libs=" + ",".join(libs)], capture_output=True,
                         text=True, check=True, timeout=600).stdout
    return [float(v) for v in re.findall(r"seconds=\s*([0-9.eE+-]+)", out)]


def measure_mlir(args):
    n = args.gemm
    gemm = """
  %f = arith.constant 1.0 : f32
  %a = tensor.splat %f : tensor<NxNxf32>
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<NxNxf32>
  %c = linalg.fill ins(%z : f32) outs(%e : tensor<NxNxf32>) -> tensor<NxNxf32>
  %r = linalg.matmul ins(%a, %a : tensor<NxNxf32>, tensor<NxNxf32>) outs(%c : tensor<NxNxf32>) -> tensor<NxNxf32>
  %x = tensor.extract %r[%lo, %lo] : tensor<NxNxf32>
  vector.print %x : f32""".replace("N", str(n))
    elements = args.stream_mib * (1 << 20) // 4
    stream = """
  %f = arith.constant 1.0 : f32
  %src = tensor.splat %f : tensor<Exf32>
  %e = tensor.empty() : tensor<Exf32>
  %r = linalg.copy ins(%src : tensor<Exf32>) outs(%e : tensor<Exf32>) -> tensor<Exf32>
  %x = tensor.extract %r[%lo] : tensor<Exf32>
  vector.print %x : f32""".replace("E", str(elements))
    with tempfile.TemporaryDirectory() as workdir:
        gemm_s = _run_mlir(_timed_program(gemm, args.repeats), workdir, "gemm")[0]
        # Copy time includes making the source (a fill): the read-write of
        # the copy plus the write of the fill, 3 passes over the buffer.
        stream_s = _run_mlir(_timed_program(stream, args.repeats), workdir, "stream")[0]
        link = {}
        for label, count, rounds in (("latency", 1, 100), ("bandwidth", 1 << 20, 5)):
            text = """
module attributes {dlti.map = #dlti.map<"MPI:Implementation" = "MPICH">} {
func.func private @rtclock() -> f64
func.func @main() {
  %%ret = mpi.init : !mpi.retval
  %%w = mpi.comm_world : !mpi.comm
  %%rank = mpi.comm_rank(%%w) : i32
  %%buf = memref.alloc() : memref<%dxf32>
  %%zero = arith.constant 0 : i32
  %%peer = arith.subi %%zero, %%rank : i32
  %%one32 = arith.constant 1 : i32
  %%other = arith.addi %%peer, %%one32 : i32
  %%tag = arith.constant 7 : i32
  %%first = arith.cmpi eq, %%rank, %%zero : i32
  %%lo = arith.constant 0 : index
  %%hi = arith.constant %d : index
  %%step = arith.constant 1 : index
  %%t0 = func.call @rtclock() : () -> f64
  scf.for %%i = %%lo to %%hi step %%step {
    scf.if %%first {
      mpi.send(%%buf, %%tag, %%other, %%w) : memref<%dxf32>, i32, i32
      mpi.recv(%%buf, %%tag, %%other, %%w) : memref<%dxf32>, i32, i32
    } else {
      mpi.recv(%%buf, %%tag, %%other, %%w) : memref<%dxf32>, i32, i32
      mpi.send(%%buf, %%tag, %%other, %%w) : memref<%dxf32>, i32, i32
    }
  }
  %%t1 = func.call @rtclock() : () -> f64
  %%dt = arith.subf %%t1, %%t0 : f64
  scf.if %%first {
    vector.print str "seconds="
    vector.print %%dt : f64
  }
  %%fin = mpi.finalize : !mpi.retval
  return
}
}""" % (count, rounds, count, count, count, count)
            total = _run_mlir(text, workdir, "pingpong-" + label, mpi_ranks=2)[0]
            link[label] = total / (2 * rounds)
    return {
        "fp32_flop_per_s": 2.0 * n ** 3 / gemm_s,
        "memory_bytes_per_s": 3.0 * elements * 4 / stream_s,
        # Loops call nothing per op: no launch cost worth modelling.
        "kernel_overhead_s": 0.0,
        "link_bytes_per_s": (1 << 20) * 4 / max(link["bandwidth"] - link["latency"], 1e-9),
        "link_latency_s": link["latency"],
        "how": "linalg to loops under mlir-runner: %dx%d fp32 matmul, %d MiB copy, "
               "MPICH ping-pong" % (n, n, args.stream_mib),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", choices=["torch", "mlir"], required=True)
    ap.add_argument("--chips", type=int, default=2, help="cpu chips (processes) in the mesh")
    ap.add_argument("--out", required=True, help="writes OUT.mlir (mesh) and OUT.json (calibration)")
    ap.add_argument("--gemm", type=int, help="GEMM size (default 512 torch, 128 mlir)")
    ap.add_argument("--stream-mib", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if args.chips < 1:
        ap.error("--chips must be at least 1")
    if args.gemm is None:
        args.gemm = 512 if args.engine == "torch" else 128
    figures = measure_torch(args) if args.engine == "torch" else measure_mlir(args)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / args.chips
    stamp = datetime.date.today().isoformat()
    host = "%s (%s, %d cores)" % (platform.node(), platform.processor() or platform.machine(),
                                  os.cpu_count())
    with open(args.out + ".mlir", "w") as f:
        f.write("// Measured by chipmesh-calibrate-cpu --engine %s on %s, %s.\n"
                "// %s.\n" % (args.engine, host, stamp, figures["how"]))
        f.write("topo.mesh @cpu_%s {\n" % args.engine)
        f.write("  topo.chip_kind @cpu {fp32_flop_per_s = %.6e : f64, memory_bytes = %.6e : f64, "
                "memory_bytes_per_s = %.6e : f64}\n" % (figures["fp32_flop_per_s"], memory,
                                                      figures["memory_bytes_per_s"]))
        f.write("  topo.link_kind @loopback {bytes_per_s = %.6e : f64, latency_s = %.6e : f64}\n"
                % (figures["link_bytes_per_s"], figures["link_latency_s"]))
        f.write("  topo.group \"host\" switched via @loopback { topo.chips @cpu x %d }\n}\n"
                % args.chips)
    calibration = {
        "comment": "chipmesh-calibrate-cpu --engine %s on %s, %s: %s. The chip and link "
                   "ratings are measured, so the efficiencies are 1."
                   % (args.engine, host, stamp, figures["how"]),
        "chips": {"cpu": {"matmul_efficiency": 1.0, "memory_efficiency": 1.0,
                          "attention_forward_efficiency": 1.0,
                          "attention_backward_efficiency": 1.0,
                          "kernel_overhead_s": figures["kernel_overhead_s"],
                          "compute_units": 1, "tile_m": 16, "tile_n": 16, "tile_k": 1,
                          "reserved_bytes": 0}},
        "links": {"loopback": {"bandwidth_efficiency": 1.0,
                               "step_latency_s": figures["link_latency_s"]}},
    }
    with open(args.out + ".json", "w") as f:
        json.dump(calibration, f, indent=2)
        f.write("\n")
    print("cpu (%s): %.2f GFLOP/s fp32 GEMM, %.2f GB/s memory, %.1f us per op; "
          "loopback %.2f GB/s, %.1f us latency"
          % (args.engine, figures["fp32_flop_per_s"] / 1e9, figures["memory_bytes_per_s"] / 1e9,
             figures["kernel_overhead_s"] * 1e6, figures["link_bytes_per_s"] / 1e9,
             figures["link_latency_s"] * 1e6))
    print("wrote %s.mlir and %s.json" % (args.out, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
