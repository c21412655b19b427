"""What chipmesh-mpirun and chipmesh-calibrate-cpu share: where LLVM's
tools are, the upstream lowering to LLVM (the recipe in STYLE.md), and
where MPICH is. Configured next to them with the LLVM paths."""

import glob
import os
import subprocess

LLVM_TOOLS_DIR = "@LLVM_TOOLS_DIR@"
LLVM_LIBRARY_DIR = "@LLVM_LIBRARY_DIR@"
HERE = os.path.dirname(os.path.abspath(__file__))
CHIPMESH_OPT = os.path.join(HERE, "chipmesh-opt")
MLIR_RUNNER = os.path.join(LLVM_TOOLS_DIR, "mlir-runner")
RUNNER_LIBS = [os.path.join(LLVM_LIBRARY_DIR, "libmlir_c_runner_utils.so"),
               os.path.join(LLVM_LIBRARY_DIR, "libmlir_runner_utils.so")]

PIPELINE = ("builtin.module(one-shot-bufferize{bufferize-function-boundaries},"
            "func.func(convert-linalg-to-loops),expand-strided-metadata,"
            "lower-affine,convert-scf-to-cf,convert-vector-to-llvm,"
            "convert-to-llvm,reconcile-unrealized-casts)")


class Failure(Exception):
    pass


def run(cmd, what, stdin=None, timeout=None):
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise Failure(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc.stdout


def to_llvm(text):
    """linalg/tensor/mpi text to the LLVM dialect mlir-runner reads (DLTI
    dropped after convert-mpi-to-llvm has used it)."""
    llvm = run([os.path.join(LLVM_TOOLS_DIR, "mlir-opt"), f"--pass-pipeline={PIPELINE}"],
               "mlir-opt (bufferize, convert-to-llvm)", stdin=text)
    return run([CHIPMESH_OPT, "--chipmesh-drop-dlti"], "chipmesh-opt --chipmesh-drop-dlti",
               stdin=llvm)


def find_libmpich():
    for pattern in ("/usr/lib/*-linux-gnu/libmpich.so", "/usr/lib/libmpich.so",
                    "/usr/lib64/libmpich.so", "/usr/local/lib/libmpich.so"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None
