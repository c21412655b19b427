#!/usr/bin/env python3
"""Regenerates include/chipmesh/Dialect/Topo/Catalog.def from the sourced
reference tables (../shared/reference/chips.tsv and links.tsv).

Catalog.def is the one source of truth that C++, IR (`catalog "h100-sxm"`)
and the Python bindings read; this script only records how it was made.
Cells the reference leaves empty mean "no public figure": a missing peak
becomes 0 (the chip has no fast path for that data type); missing memory
bandwidth or link latency take the ASSUMED values below, flagged in the
entry's note so that a user knows to override them.

Usage: utils/import-reference-catalog.py ../shared/reference > include/chipmesh/Dialect/Topo/Catalog.def
"""
import csv
import sys

# Documented fallbacks for cells the reference leaves empty.
ASSUMED_MEMORY_BW_GBPS = {
    # "~1.2 TB/s is often repeated but no primary source was found" (chips.tsv).
    "ascend-910": 1200.0,
}
# Small-message latency by technology when links.tsv has no figure (us).
# NVLink/xGMI-class on-package fabrics: same order as nvlink rows (1.8-2.6).
# InfiniBand NDR: HDR's 0.6-1 us verbs latency. Vendor meshes: NVLink-class.
ASSUMED_LATENCY_US = {
    "nvlink": 2.2, "xgmi": 2.2, "hccs": 2.2, "other": 2.2, "infiniband": 0.8,
}
# CPU-forwarded bridge between vendors (DESIGN.md, "Bridges are links too").
EXTRA_LINKS = [
    # id, name, technology, GB/s per direction, latency us, sources, note
    ("host-bridge-pcie4", "Host-staged PCIe 4.0 x16 (device->host memory->device)",
     "host_bridge", 12.6, 25.0,
     "https://github.com/NVIDIA/cuda-samples/issues/230 https://github.com/NVIDIA/nccl/issues/1639",
     "ASSUMED: every byte crosses PCIe 4.0 x16 twice through host memory; "
     "taken as 0.4 x 31.5 GB/s raw (copy engines plus protocol overhead) and "
     "tens of microseconds per message as host-staged transfers measure."),
    ("host-bridge-pcie5", "Host-staged PCIe 5.0 x16 (device->host memory->device)",
     "host_bridge", 25.2, 20.0,
     "https://github.com/NVIDIA/cuda-samples/issues/230 https://github.com/NVIDIA/nccl/issues/1639",
     "ASSUMED: as host-bridge-pcie4 on PCIe 5.0 (0.4 x 63 GB/s); an 8 x RTX 5090 "
     "PCIe box measured about 28 GB/s all-reduce bus bandwidth."),
]


def num(cell):
    cell = cell.strip()
    return float(cell) if cell else 0.0


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def latency_us(cell, tech):
    cell = cell.strip()
    if not cell:
        return ASSUMED_LATENCY_US.get(tech, 5.0), True
    lo, _, hi = cell.partition("-")
    return (float(lo) + float(hi or lo)) / 2.0, False


def main(ref):
    out = sys.stdout
    out.write("//===- Catalog.def - Chips and links with public sources ----*- C++ -*-===//\n"
              "//\n// Generated once by utils/import-reference-catalog.py from the sourced\n"
              "// reference tables, then maintained by hand: this file is the single source\n"
              "// of truth for the chip and link catalog.\n//\n"
              "// CHIPMESH_CHIP(id, name, vendor, fp32, tf32, bf16, fp16, fp8, int8,\n"
              "//               memory_gib, memory_bw_gbps, scaleup_link, tdp_w, sources, note)\n"
              "//   Throughput in dense TFLOP/s (TOP/s for int8); 0 = no fast path for the\n"
              "//   data type. Memory in GiB as marketed, bandwidth in GB/s (1e9 B/s).\n"
              "// CHIPMESH_LINK(id, name, technology, bw_gbps_per_dir, latency_us, sources, note)\n"
              "//===----------------------------------------------------------------------===//\n\n")
    out.write("#ifdef CHIPMESH_CHIP\n")
    with open(f"{ref}/chips.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            bw = num(r["memory_bw_gbps"])
            note = r["notes"]
            if bw == 0.0:
                bw = ASSUMED_MEMORY_BW_GBPS[r["id"]]
                note = f"ASSUMED memory bandwidth {bw:g} GB/s. " + note
            tdp = num(r["tdp_w"])
            if tdp == 0.0:
                tdp = 700.0
                note = "ASSUMED TDP 700 W (same board as H100 SXM). " + note
            vals = [num(r[k]) for k in ("fp32_tflops", "tf32_tflops", "bf16_tflops",
                                        "fp16_tflops", "fp8_tflops", "int8_tops")]
            out.write(f"CHIPMESH_CHIP({cstr(r['id'])}, {cstr(r['name'])}, {cstr(r['vendor'])},\n"
                      f"              {', '.join(f'{v:g}' for v in vals)},\n"
                      f"              {num(r['memory_gib']):g}, {bw:g}, {cstr(r['scaleup_link'])}, {tdp:g},\n"
                      f"              {cstr(r['source_urls'])},\n"
                      f"              {cstr(note)})\n")
    out.write("#undef CHIPMESH_CHIP\n#endif\n\n#ifdef CHIPMESH_LINK\n")
    with open(f"{ref}/links.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            tech = r["kind"]
            lat, assumed = latency_us(r["typical_latency_us"], tech)
            note = r.get("notes", "")
            if assumed:
                note = f"ASSUMED latency {lat:g} us (no public figure). " + note
            out.write(f"CHIPMESH_LINK({cstr(r['id'])}, {cstr(r['name'])}, {cstr(tech)}, "
                      f"{num(r['bw_gbps_per_dir']):g}, {lat:g},\n"
                      f"              {cstr(r['source_urls'])},\n"
                      f"              {cstr(note)})\n")
    for (i, n, t, bw, lat, src, note) in EXTRA_LINKS:
        out.write(f"CHIPMESH_LINK({cstr(i)}, {cstr(n)}, {cstr(t)}, {bw:g}, {lat:g},\n"
                  f"              {cstr(src)},\n              {cstr(note)})\n")
    out.write("#undef CHIPMESH_LINK\n#endif\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference")
