# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "ChipMesh"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.chipmesh_obj_root, "test")

# Every FileCheck run checks variable scopes (STYLE.md habit 5).
config.environment["FILECHECK_OPTS"] = "-enable-var-scope --allow-unused-prefixes=false"

config.substitutions.append(("%models", config.chipmesh_reference_models))
config.substitutions.append(("%examples", os.path.join(config.chipmesh_src_root, "examples")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.chipmesh_tools_dir, config.llvm_tools_dir]
tools = ["chipmesh-opt", "chipmesh-translate", "chipmesh-catalog", "chipmesh-plan",
         "chipmesh-mpirun", "chipmesh-calibrate-cpu"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
# Debian's LLVM ships these in its bin/ but not on PATH.
llvm_config.add_tool_substitutions(["not", "count", "split-file", "mlir-opt",
                                    "mlir-runner"],
                                   [config.llvm_tools_dir])
config.substitutions.append(("%llvm_lib_dir", config.llvm_lib_dir))

# Headless Chromium for the HTML report tests (Debian's `chromium`).
import shutil
if shutil.which("chromium") or shutil.which("chromium-browser"):
    config.available_features.add("chromium")
config.substitutions.append(("%python", "/usr/bin/python3"))

# MPICH (Debian's mpich and libmpich-dev) for the MPI runs of a plan.
import glob
if shutil.which("mpirun.mpich") and glob.glob("/usr/lib/*-linux-gnu/libmpich.so"):
    config.available_features.add("mpich")
else:
    lit_config.note("MPICH not found (mpirun.mpich and libmpich.so, Debian's mpich "
                    "and libmpich-dev): the tests that run a plan on MPI are "
                    "UNSUPPORTED")
