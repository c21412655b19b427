#!/usr/bin/python3
"""Fidelity benchmark: ChipMesh's predicted training step against published,
measured runs (bench/fidelity/runs.json, every row cited).

Each row's model becomes a Hugging Face config, its cluster a topo mesh (N
nodes x G chips, the row's intra- and inter-node links), and its published
parallel configuration a fixed strategy=; --chipmesh-partition prices it.
Nothing here is fitted: the constants live in the cost model, each with its
source (docs/cost-model.md).

Prints, per group (one publication series), how many rows were priced,
refused or skipped, the median and largest |error| of the step time and the
Spearman rank correlation of predicted against measured per-chip
throughput. --markdown FILE writes the per-row table too.

  bench/fidelity/fidelity.py [--build build] [--jobs 2] [--markdown out.md]
"""
import argparse
import concurrent.futures
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Catalog ids a row may name; others (consumer cards, GH200) are skipped
# with the reason, not guessed.
CATALOG = {"h100-sxm", "h100-pcie", "h800-sxm", "h20", "a100-sxm-80gb",
           "a100-sxm-40gb",
           "a100-pcie-80gb", "a800-sxm-80gb", "l40s", "v100-sxm2-32gb",
           "rtx-4090", "ascend-910", "ascend-910b", "mtt-s4000", "mi300x",
           "mi250x", "gaudi2", "h200", "b200", "l20"}
LINKS = {"nvlink2", "nvlink3", "nvlink3-a800", "nvlink4", "nvlink4-h800",
         "nvlink5", "pcie4-x16", "pcie5-x16", "hccs", "hccs-910b",
         "infiniband-hdr", "infiniband-ndr", "roce-100g", "roce-200g",
         "roce-400g", "ethernet-25g", "ethernet-100g", "xgmi"}
# Rows name some links by their per-node total; the catalog has per-port
# links (one port per chip).
LINK_ALIASES = {"roce-1600g-per-node": "roce-200g",
                "rdma-400g-per-gpu": "roce-400g",
                "hccs": "hccs-910b"}
DEFAULT_INTRA = {"a100-sxm-80gb": "nvlink3", "a100-sxm-40gb": "nvlink3",
                 "h100-sxm": "nvlink4",
                 "h200": "nvlink4", "ascend-910b": "hccs-910b"}
DEFAULT_INTER = {"a100-sxm-80gb": "infiniband-hdr", "a100-sxm-40gb": "infiniband-hdr",
                 "h100-sxm": "infiniband-ndr",
                 "h200": "infiniband-ndr", "ascend-910b": "roce-200g"}


# The attention kernel a group's software stack ran, where it differs from
# the catalog's default (FlashAttention-2 on Hopper): Megatron-Core runs
# Transformer Engine's cuDNN fused attention, FlashAttention-3 class on
# Hopper (cuDNN forward 617/989 beside FA3's 648/989 in Shah et al. 2024,
# fig. 5; FA3's backward ~0.45 of peak, docs/cost-model.md).
STACK_CALIBRATION = {
    "megatron-core-r0.8-h100": {"chips": {"h100-sxm": {
        "attention_forward_efficiency": 0.65,
        "attention_backward_efficiency": 0.45}}},
}


def hf_config(model, group):
    """A config.json of the row's architecture."""
    arch = model["arch"]
    dropout = model.get("dropout")
    if dropout is None:
        # Megatron's defaults (--hidden-dropout, --attention-dropout 0.1).
        dropout = 0.1 if group.startswith("megatron") else 0.0
    if arch in ("gpt", "opt", "mpt", "gpt-neo"):
        return {"model_type": "gpt2", "vocab_size": model["vocab"],
                "n_embd": model["hidden"], "n_layer": model["layers"],
                "n_head": model["heads"], "n_inner": model["ffn"],
                "n_positions": model["seq"],
                "tie_word_embeddings": bool(model.get("tied_embeddings", True)),
                "attn_pdrop": dropout, "resid_pdrop": dropout,
                "embd_pdrop": dropout}
    if arch == "llama":
        return {"model_type": "llama", "vocab_size": model["vocab"],
                "hidden_size": model["hidden"],
                "num_hidden_layers": model["layers"],
                "num_attention_heads": model["heads"],
                "num_key_value_heads": model.get("kv_heads") or model["heads"],
                "intermediate_size": model["ffn"],
                "max_position_embeddings": model["seq"],
                "tie_word_embeddings": bool(model.get("tied_embeddings", False)),
                "attention_dropout": dropout}
    return None


def mesh_text(hw):
    chip = hw["chip"]
    per_node = hw.get("gpus_per_node") or 8
    gpus = hw["gpus"]
    per_node = min(per_node, gpus)
    nodes = gpus // per_node
    intra = LINK_ALIASES.get(hw.get("intra_node") or "", hw.get("intra_node")) \
        or DEFAULT_INTRA.get(chip)
    inter = LINK_ALIASES.get(hw.get("inter_node") or "", hw.get("inter_node")) \
        or DEFAULT_INTER.get(chip)
    if intra not in LINKS or inter not in LINKS or nodes * per_node != gpus:
        return None, f"links {intra}/{inter} or {gpus} chips over nodes of {per_node}"
    shape = "full_mesh" if intra.startswith("hccs") else "switched"
    # Nodes with fewer NICs than chips share them (`ports`).
    nics = hw.get("nics_per_node")
    ports = f" ports {nics}" if nics and 0 < nics < per_node else ""
    return (f"topo.mesh @cluster {{\n"
            f"  topo.chip_kind @gpu catalog \"{chip}\"\n"
            f"  topo.link_kind @intra catalog \"{intra}\"\n"
            f"  topo.link_kind @inter catalog \"{inter}\"\n"
            f"  topo.group \"cluster\" switched via @inter {{\n"
            f"    topo.group \"node\" x {nodes} {shape} via @intra{ports} {{\n"
            f"      topo.chips @gpu x {per_node}\n"
            f"    }}\n  }}\n}}\n"), None


def price(row, build):
    """Returns (predicted step seconds or None, note)."""
    model, hw, par = row["model"], row["hardware"], row["parallel"]
    measured = row.get("derived_step_time_s") or row["measured"].get("step_time_s")
    if not measured:
        return None, "skipped: no measured step time"
    if row.get("quality") == "suspect":
        return None, "skipped: flagged suspect by the collector"
    if hw["chip"] not in CATALOG:
        return None, f"skipped: chip '{hw['chip']}' not in the catalog"
    config = hf_config(model, row["group"])
    if config is None:
        return None, f"skipped: architecture '{model['arch']}'"
    mesh, why = mesh_text(hw)
    if mesh is None:
        return None, "skipped: " + why
    tp, pp = par.get("tp") or 1, par.get("pp") or 1
    dp = hw["gpus"] // (tp * pp)
    notes = []
    chunks = par.get("virtual_stages") or 1
    if chunks > 1:
        notes.append(f"interleaved 1F1B, {chunks} chunks per device")
    # ZeRO / FSDP sharding as the row ran it (nothing to shard at dp = 1).
    zero = (par.get("zero_stage") or 0) if dp > 1 else 0
    if zero > 0:
        notes.append(f"ZeRO-{zero}")
    if (par.get("cp") or 1) > 1:
        return None, "skipped: context parallelism"
    dtype = {"bf16": "bf16", "fp16": "fp16", "fp32": "fp32"}.get(par.get("dtype") or "bf16")
    if dtype is None:
        return None, f"skipped: dtype {par.get('dtype')}"
    recompute = par.get("recompute") or "none"
    flash = model.get("flash_attention")
    flash = True if flash is None else flash
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "config.json")
        with open(cfg, "w") as f:
            json.dump(config, f)
        with open(os.path.join(tmp, "mesh.mlir"), "w") as f:
            f.write(mesh)
        imported = subprocess.run(
            [f"{build}/bin/chipmesh-translate", "--import-hf-config", cfg,
             f"--hf-seq-len={model['seq']}", f"--hf-dtype={dtype}",
             f"--hf-flash-attention={'true' if flash else 'false'}",
             "-o", os.path.join(tmp, "model.mlir")],
            capture_output=True, text=True, timeout=600)
        if imported.returncode != 0:
            return None, "import failed: " + imported.stderr.strip().splitlines()[-1]
        stack = STACK_CALIBRATION.get(row["group"])
        if stack:
            with open(os.path.join(tmp, "calibration.json"), "w") as f:
                json.dump(stack, f)
        options = [f"mesh={tmp}/mesh.mlir", f"batch={par['global_batch']}",
                   f"strategy=dp={dp},pp={pp},tp={tp}", f"recompute={recompute}",
                   f"report={tmp}/report.json", "threads=1"]
        if stack:
            options.append(f"calibration={tmp}/calibration.json")
        if par.get("micro_batch"):
            options.append(f"micro-batch={par['micro_batch']}")
        if chunks > 1 and pp > 1:
            options.append(f"virtual-stages={chunks}")
        # Overlaps the source says the run used.
        if par.get("overlap_grad_reduce"):
            options.append("overlap-grad-reduce")
        if par.get("tp_comm_overlap"):
            options.append("overlap-tp-comm")
        # Sequence parallelism as the row ran it; Megatron's validate_args
        # refuses --tp-comm-overlap without --sequence-parallel, so a row
        # with the overlap and no stated setting ran with it.
        sequence_parallel = par.get("sequence_parallel")
        if sequence_parallel is None:
            sequence_parallel = bool(par.get("tp_comm_overlap"))
        if sequence_parallel and tp > 1:
            options.append("sequence-parallel")
        if zero > 0:
            options.append(f"zero={zero}")
        # FSDP reduce-scatters each unit's gradients on its own stream as
        # the backward produces them (torch.distributed.fsdp's post-backward
        # hook), whatever the run's flags.
        if zero >= 2 and par.get("fsdp_sharding") and "overlap-grad-reduce" not in options:
            options.append("overlap-grad-reduce")
        run = subprocess.run(
            [f"{build}/bin/chipmesh-opt", os.path.join(tmp, "model.mlir"),
             "--chipmesh-partition=" + " ".join(options), "-o", "/dev/null"],
            capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            lines = [l for l in run.stderr.splitlines() if "error:" in l]
            return None, "refused: " + (lines[0].split("error:", 1)[1].strip()
                                        if lines else run.stderr.strip()[:200])
        with open(os.path.join(tmp, "report.json")) as f:
            report = json.load(f)
    return report["step_time_s"], "; ".join(notes)


COLLECTIVE_LINKS = {"nvlink2-hybrid-cube-mesh": "nvlink2",
                    "infinity-fabric-xgmi": "xgmi"}
COLLECTIVE_CHIPS = {"v100-sxm2-16gb": "v100-sxm2-32gb"}  # same links


def collective_mesh(hw):
    """The sweep's cluster as a mesh; None and why when it has no catalog
    equivalent."""
    chip = COLLECTIVE_CHIPS.get(hw["chip"], hw["chip"])
    intra = COLLECTIVE_LINKS.get(hw.get("intra_node"), hw.get("intra_node"))
    per_node = hw.get("gpus_per_node") or hw["gpus"]
    nodes = hw["gpus"] // per_node
    inter = hw.get("inter_node")
    if nodes > 1 and inter is None:
        inter = DEFAULT_INTER.get(chip)  # unnamed: the chip's usual fabric
    if chip not in CATALOG or intra not in LINKS:
        return None, f"chip {chip} or link {intra} not in the catalog"
    if nodes > 1 and inter not in LINKS:
        return None, f"inter-node transport '{inter}' not in the catalog"
    shape = "full_mesh" if intra in ("xgmi", "hccs-910b") else "switched"
    text = [f"topo.mesh @sweep {{",
            f"  topo.chip_kind @gpu catalog \"{chip}\"",
            f"  topo.link_kind @intra catalog \"{intra}\""]
    if nodes > 1:
        text += [f"  topo.link_kind @inter catalog \"{inter}\"",
                 f"  topo.group \"cluster\" switched via @inter {{",
                 f"    topo.group \"node\" x {nodes} {shape} via @intra {{ topo.chips @gpu x {per_node} }}",
                 "  }"]
    else:
        text += [f"  topo.group \"node\" {shape} via @intra {{ topo.chips @gpu x {per_node} }}"]
    return "\n".join(text + ["}"]) + "\n", None


def collectives(rows, markdown, build):
    """Per sweep: all-reduce time against nccl-tests/rccl-tests, small
    messages (<= 64 KiB: latency) and large ones (>= 256 MiB: bandwidth)."""
    sys.path.insert(0, os.path.join(build, "python"))
    try:
        from chipmesh import _chipmesh
    except ImportError as e:
        print(f"collectives: skipped ({e}); build the Python module first")
        return
    sweeps = {}
    for row in rows:
        key = json.dumps(row["hardware"], sort_keys=True)
        sweeps.setdefault(key, []).append(row)
    print()
    print(f"{'collective sweep':44} {'sizes':>5} {'small med|err|':>14} "
          f"{'small max':>9} {'large med|err|':>14}")
    for key, sweep in sweeps.items():
        hw = sweep[0]["hardware"]
        name = f"{hw['chip']} {hw['gpus']//(hw.get('gpus_per_node') or hw['gpus'])}x{hw.get('gpus_per_node')} {hw.get('inter_node') or hw.get('intra_node')}"
        mesh, why = collective_mesh(hw)
        if mesh is None:
            print(f"{name[:44]:44} skipped: {why}")
            continue
        small, large = [], []
        for row in sweep:
            got = _chipmesh.collective_time(mesh, row["op"], float(row["bytes"]))
            error = got["seconds"] * 1e6 / row["time_us"] - 1
            (small if row["bytes"] <= 65536 else large if row["bytes"] >= 256 << 20 else []).append(abs(error))
            markdown.append(f"| {row['id']} | {row['bytes']} | {row['time_us']} us | "
                            f"{got['seconds'] * 1e6:.1f} us | {100 * error:+.1f}% | "
                            f"{got['algorithm']} {got['protocol']} |")
        fmt = lambda v: f"{100 * statistics.median(v):13.1f}%" if v else f"{'':14}"
        print(f"{name[:44]:44} {len(sweep):5d} {fmt(small)} "
              f"{(100 * max(small)) if small else float('nan'):8.1f}% {fmt(large)}")


def spearman(xs, ys):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2.0
            i = j + 1
        return r
    if len(xs) < 3:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den if den else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--runs", default=os.path.join(HERE, "runs.json"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--group", action="append",
                        help="only these groups (repeatable)")
    parser.add_argument("--markdown", help="write the per-row table here")
    args = parser.parse_args()
    with open(args.runs) as f:
        rows = json.load(f)["training"]
    if args.group:
        rows = [r for r in rows if r["group"] in args.group]
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda r: price(r, args.build), rows))

    table = ["| Row | Measured step | Predicted | Error | Note |",
             "|---|---|---|---|---|"]
    groups = {}
    for row, (predicted, note) in zip(rows, results):
        measured = row.get("derived_step_time_s") or row["measured"].get("step_time_s")
        g = groups.setdefault(row["group"], {"errors": [], "pred": [], "meas": [],
                                             "refused": 0, "skipped": 0})
        if predicted is None:
            g["refused" if note.startswith(("refused", "import")) else "skipped"] += 1
            table.append(f"| {row['id']} | {measured or ''} | | | {note} |")
            continue
        error = predicted / measured - 1
        g["errors"].append(abs(error))
        # Per-chip throughput (tokens per chip-second) ranks configurations
        # of different sizes on one scale.
        tokens = row["parallel"]["global_batch"] * row["model"]["seq"]
        chips = row["hardware"]["gpus"]
        g["pred"].append(tokens / predicted / chips)
        g["meas"].append(tokens / measured / chips)
        table.append(f"| {row['id']} | {measured:.4g} s | {predicted:.4g} s | "
                     f"{100 * error:+.1f}% | {note} |")

    print(f"{'group':34} {'priced':>6} {'refused':>7} {'skipped':>7} "
          f"{'median|err|':>11} {'max|err|':>9} {'spearman':>8}")
    all_errors = []
    for name, g in groups.items():
        e = g["errors"]
        all_errors += e
        rho = spearman(g["pred"], g["meas"])
        print(f"{name:34} {len(e):6d} {g['refused']:7d} {g['skipped']:7d} "
              f"{(100 * statistics.median(e)) if e else float('nan'):10.1f}% "
              f"{(100 * max(e)) if e else float('nan'):8.1f}% "
              f"{'' if rho is None else f'{rho:8.2f}'}")
    if all_errors:
        print(f"{'all':34} {len(all_errors):6d} {'':7} {'':7} "
              f"{100 * statistics.median(all_errors):10.1f}% "
              f"{100 * max(all_errors):8.1f}%")
    comm_table = ["", "| Sweep point | Bytes | Measured | Predicted | Error | Algorithm |",
                  "|---|---|---|---|---|---|"]
    if not args.group:
        with open(args.runs) as f:
            collectives(json.load(f)["collectives"], comm_table, args.build)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(table + comm_table) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
