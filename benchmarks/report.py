"""Writes BENCHMARKS.md from the JSON lines of Flock and its peers."""
import json
import os
import platform
import subprocess
import sys
from collections import defaultdict

TARGETS = {
    "eager_add_small": ("Eager `a + b`, float32[100], per op", "≤ 1.0× numpy (issue 12)"),
    "eager_exp_small": ("Eager `exp(a)`, float32[100], per op", "≤ 1.0× numpy"),
    "sgemm_1024": ("`matmul` float32 1024×1024", "≥ 90 % of numpy/OpenBLAS throughput"),
    "tanh_affine_10m": ("Eager `tanh(x) * 0.5 + 0.5`, float32[10M]", "≤ 1.5 ns/element (numpy ≈ 4)"),
    "mlp_eager_forward": ("MLP 784-512-512-10, batch 128: eager forward (loss)", "—"),
    "mlp_eager_value_and_grad": ("Same MLP: eager `valueAndGrad`", "—"),
    "mlp_grad_over_forward": ("`valueAndGrad` time / forward time (Flock only)", "≤ 3"),
    "per_example_grads_vmap": ("Per-example gradients via `vmap(grad)`, 64-64-1 tanh net, batch 128", "—"),
    "per_example_grads_by_hand": ("Same gradients, hand-batched", "—"),
    "per_example_grads_over_hand_batched": ("`vmap(grad)` time / hand-batched gradient time (Flock only)", "≤ 1.5"),
    "per_example_grads_jit_over_hand_batched_jit": ("`jit(vmap(grad))` / `jit(hand-batched)` (Flock only)", "—"),
    "tracing_overhead_per_primitive": ("Tracing (staging) cost per primitive, 1000-op chain", "reported"),
    "mlp_train_step_128": ("Jitted MLP 784-512-512-10 SGD train step, batch 128 (donated params)", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "mlp_train_step_1024": ("Same train step, batch 1024", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "train_step_mlp_adam": ("Jitted digits MLP 64-128-10 train step with Adam (FlockOptim / optax), batch 128, params + state donated", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "transformer_block_step": ("Jitted transformer block train step (d 256, 4 heads, causal, MLP 1024, seq 128, batch 16; adamw), params + state donated", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "gelu_10m_jit": ("Jitted (fused) GELU, float32[10M]", "Flock/JAX ≤ 1.0"),
    "gelu_10m_over_memory_floor": ("GELU time / jitted negation time (read + write floor, Flock only)", "≤ 1.5"),
    "per_example_grads_jit": ("Per-example gradients `jit(vmap(grad))`, 64-64-1 tanh net, batch 128", "Flock/JAX ≤ 1.0"),
    "max_pool_2x2_forward": ("Jitted `maxPool` 2×2 stride 2, NHWC float32[128, 28, 28, 32]", "Flock/JAX ≤ 1.0"),
    "max_pool_2x2_backward": ("Same pooling: jitted gradient (select-and-scatter)", "Flock/JAX ≤ 1.0"),
    "jit_compile_mlp_step": ("First-call compile of the train step (trace + optimise + compile)", "Flock/JAX ≤ 0.2"),
    "startup_to_first_result": ("Process start to first jitted result", "Flock/JAX ≤ 0.1"),
}

# psum over 2 MPI ranks on this host (./launch -n 2): Flock eager and jitted,
# MPI_Allreduce from C on preallocated buffers, and mpi4py's comm.Allreduce.
COLLECTIVE_TARGETS = {
    "psum_4B": ("`psum` latency, float32[1] (4 B)", "≤ MPI + 1 µs"),
    "psum_64KiB": ("`psum` bandwidth, 64 KiB", "time ≤ 1.05 × MPI"),
    "psum_4MiB": ("`psum` bandwidth, 4 MiB", "time ≤ 1.05 × MPI"),
    "psum_64MiB": ("`psum` bandwidth, 64 MiB", "time ≤ 1.05 × MPI"),
}


def read_rows(paths):
    rows = defaultdict(dict)
    for path in paths:
        for line in open(path):
            # Lines from ./launch carry a rank prefix such as `[1,0]<stdout>:`.
            line = line.strip()
            if "{" in line and line.endswith("}"):
                r = json.loads(line[line.index("{"):])
                rows[r["case"]].setdefault(r["impl"], []).append(r)
    # Median over rounds of each implementation's per-round medians.
    for case in rows:
        for impl, rs in rows[case].items():
            rs.sort(key=lambda x: x["ns"])
            rows[case][impl] = rs[len(rs) // 2]
    return rows


def old_page():
    """The current BENCHMARKS.md split into its header-and-table part and its `## ` sections, by heading."""
    if not os.path.exists("BENCHMARKS.md"):
        return [], {}
    lines = open("BENCHMARKS.md").read().rstrip("\n").split("\n")
    starts = [i for i, l in enumerate(lines) if l.startswith("## ")]
    head = lines[:starts[0] - 1] if starts else lines
    sections = {}
    for k, i in enumerate(starts):
        end = starts[k + 1] - 1 if k + 1 < len(starts) else len(lines)
        sections[lines[i]] = lines[i - 1:end]
    return head, sections


def main(paths, command, threads, partial):
    """Writes the main table, the Collectives and the pmap sections.

    A full run (`partial` false) rewrites the table and both sections; a run of some cases
    (`benchmarks/run --case X`) replaces only the rows it measured, marks them † and lists its command
    under the table (one line per command since the last full run), and keeps every other row. Sections this script does not write (convolution, gather, training, notes
    added by hand) are kept as they are in both cases.
    """
    rows = read_rows(paths)
    old_head, old_sections = old_page()
    old_rows = {}
    for line in old_head:
        if line.startswith("| ") and not line.startswith("| Case"):
            title = line.split(" | ")[0][2:].rstrip(" †")
            old_rows[title] = line
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    if partial and old_head:
        # Keep the header (machine, command of the last full run) and the earlier footnotes.
        table_end = max(i for i, l in enumerate(old_head) if l.startswith("|"))
        out = [l for l in old_head[:table_end + 1] if not l.startswith("| ") or l.startswith("| Case")]
        footnotes = [l for l in old_head[table_end + 1:] if l.startswith("† ")]
        # Paragraphs written by hand under the table stay after the footnotes, a blank line apart.
        notes = [l for l in old_head[table_end + 1:] if l.strip() and not l.startswith("† ")]
    else:
        out = ["# Benchmarks", "",
               f"Machine: {cpu}, {nproc} cores, {platform.system()} {platform.release()}. "
               "Medians of several runs; Flock and its peers measured in the same run, same thread count"
               + (f" ({threads}: processes pinned with taskset, FLOCK_NUM_THREADS/OPENBLAS_NUM_THREADS set)." if threads else "."), "",
               f"Command: `{command}`", "",
               "Time ratios are Flock / peer (below 1 means Flock is faster).", "",
               "| Case | Flock | numpy | JAX | Flock/numpy (time) | Flock/JAX (time) | Target |",
               "|---|---|---|---|---|---|---|"]
        footnotes, notes = [], []
    measured = False
    for case, (title, target) in TARGETS.items():
        r = rows.get(case, {})
        if partial and not r and title in old_rows:
            out.append(old_rows[title])
            continue
        def cell(impl):
            x = r.get(impl)
            return f"{x['value']:.3g} {x['unit']}" if x else "—"
        def ratio(impl):
            if "flock" in r and impl in r:
                return f"{r['flock']['ns'] / r[impl]['ns']:.2f}"
            return "—"
        mark = " †" if partial and r else ""
        measured = measured or bool(r)
        out.append(f"| {title}{mark} | {cell('flock')} | {cell('numpy')} | {cell('jax')} | {ratio('numpy')} | {ratio('jax')} | {target} |")
    if partial and measured:
        note = f"† Re-measured separately: `{command}`."
        footnotes = [l for l in footnotes if l != note] + [note]
    if footnotes:
        out += [""] + footnotes
    for paragraph in notes:
        out += ["", paragraph]
    ours = {"## Collectives": collective_section(rows), "## pmap": sharding_section(rows)}
    ran = {"## Collectives": any(c in rows for c in COLLECTIVE_TARGETS),
           "## pmap": any(c.startswith("pmap_") for c in rows)}
    for heading, section in ours.items():
        out += section if ran[heading] or heading not in old_sections else old_sections[heading]
    for heading, section in old_sections.items():
        if heading not in ours:
            out += section
    out.append("")
    open("BENCHMARKS.md", "w").write("\n".join(out))
    print("\n".join(out))


def collective_section(rows, command=None):
    """psum over 2 ranks against paired MPI, C and mpi4py; `command` names a run of this section alone."""
    out = ["", "## Collectives", "",
            "`psum` of float32 over 2 MPI ranks on this host (`./launch -n 2`, shared memory), against "
            "`MPI_Allreduce` on preallocated buffers — from a C program (benchmarks/c/allreduce.c, built with "
            "mpicc) and, interleaved with Flock's loops in the same job, from Swift (*paired*: it sees the same "
            "machine load as Flock) — and mpi4py's `comm.Allreduce` on numpy buffers. Each number is the best of "
            "31 repeats of a short loop of calls (a few ms; the machine is shared, and the least disturbed repeat "
            "shows the cost of the call itself), median over rounds. Bandwidth is bytes reduced per second of call time. Buffers "
            "are 64-byte aligned on every side. Flock's psum includes its consistency check; ranks on one host meet "
            "in a shared-memory window (signatures, and operands up to 1 MiB, which every rank then reduces itself), "
            "larger operands then go through `MPI_Allreduce`." + (f" Measured separately from the rest of this page: `{command}`." if command else ""), "",
            "| Case | Flock eager | Flock jit | MPI paired | C | mpi4py | eager vs paired | jit vs paired | eager vs C | jit vs C | Target |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for case, (title, target) in COLLECTIVE_TARGETS.items():
        r = rows.get(case, {})
        def cell(impl):
            x = r.get(impl)
            return f"{x['value']:.3g} {x['unit']}" if x else "—"
        def versus(impl, base):
            if impl not in r or base not in r:
                return "—"
            if case == "psum_4B":
                return f"{r[impl]['ns'] - r[base]['ns']:+.0f} ns"
            return f"{r[impl]['ns'] / r[base]['ns']:.2f}"
        out.append(f"| {title} | {cell('flock')} | {cell('flock_jit')} | {cell('mpi')} | {cell('c')} | {cell('mpi4py')} | "
                   f"{versus('flock', 'mpi')} | {versus('flock_jit', 'mpi')} | {versus('flock', 'c')} | {versus('flock_jit', 'c')} | {target} |")
    return out


def splice_collectives(paths, command):
    """Replaces only the Collectives section of the existing BENCHMARKS.md (`benchmarks/run --case collectives`)."""
    rows = read_rows(paths)
    old = open("BENCHMARKS.md").read().split("\n")
    start = old.index("## Collectives") - 1  # the blank line before the heading
    end = next(i for i in range(start + 2, len(old)) if old[i].startswith("## ")) - 1
    section = collective_section(rows, command)
    out = old[:start] + section + old[end:]
    open("BENCHMARKS.md", "w").write("\n".join(out))
    print("\n".join(section))


CONVOLUTION_TARGETS = {
    "conv_sgemm_peak": ("`matmul` float32 1024×1024 (the measured peak the passes are set against)", "—"),
    "conv2_forward": ("conv2 forward: [128, 32, 28, 28] ⊛ [64, 32, 3, 3], SAME, 3.7 GFLOP", "≥ 60 % of peak"),
    "conv2_input_grad": ("conv2 input gradient (jitted `vjp` w.r.t. the input)", "≥ 60 % of peak"),
    "conv2_kernel_grad": ("conv2 kernel gradient (jitted `vjp` w.r.t. the kernel)", "≥ 60 % of peak"),
    "cnn_train_step": ("Jitted CNN SGD train step, batch 128, 28×28×1 NCHW", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "conv2_forward_nhwc": ("conv2 forward, NHWC / HWIO dimension numbers: [128, 28, 28, 32] ⊛ [3, 3, 32, 64]", "≥ 60 % of peak"),
    "conv2_input_grad_nhwc": ("conv2 input gradient, NHWC / HWIO", "≥ 60 % of peak"),
    "conv2_kernel_grad_nhwc": ("conv2 kernel gradient, NHWC / HWIO", "≥ 60 % of peak"),
    "cnn_train_step_nhwc": ("Jitted CNN SGD train step, NHWC images and HWIO kernels (no transposes)", "Flock/JAX ≤ 1.0"),
    "mobilenet_block_forward": ("MobileNet block forward: depthwise 3×3 + relu, pointwise 1×1 64→64 + relu, NHWC [32, 56, 56, 64]", "—"),
    "mobilenet_block_step": ("MobileNet block SGD step (jitted grad of the mean square, both kernels)", "—"),
}


def convolution_section(rows, threads, command):
    """The convolution cases at one thread count, with % of the sgemm peak measured in the same run."""
    peak = {impl: r["value"] for impl, r in rows.get("conv_sgemm_peak", {}).items()}
    out = ["", f"## Convolution, {threads}", "",
           "The CNN of issue 18 (conv 3×3 1→32 + relu, conv 3×3 32→64 + relu, spatial mean, dense 64→10, softmax "
           "cross-entropy, SGD; NCHW, and again NHWC/HWIO through dimension numbers) and its second convolution's passes, float32. Flock and JAX alternate in the "
           "same run (3 rounds, medians); % of peak is against each side's own 1024² sgemm in the same process. "
           f"Command: `{command}`.", "",
           "| Case | Flock | JAX | Flock/JAX (time) | Flock % of peak | JAX % of peak | Target |",
           "|---|---|---|---|---|---|---|"]
    for case, (title, target) in CONVOLUTION_TARGETS.items():
        r = rows.get(case, {})
        def cell(impl):
            x = r.get(impl)
            return f"{x['value']:.3g} {x['unit']}" if x else "—"
        def share(impl):
            x = r.get(impl)
            if not x or x["unit"] != "GFLOP/s" or case == "conv_sgemm_peak" or impl not in peak:
                return "—"
            return f"{100 * x['value'] / peak[impl]:.0f} %"
        ratio = f"{r['flock']['ns'] / r['jax']['ns']:.2f}" if "flock" in r and "jax" in r else "—"
        out.append(f"| {title} | {cell('flock')} | {cell('jax')} | {ratio} | {share('flock')} | {share('jax')} | {target} |")
    return out


def splice_convolution(paths, command, threads):
    """Replaces (or appends) the Convolution section of this thread count in BENCHMARKS.md."""
    rows = read_rows(paths)
    old = open("BENCHMARKS.md").read().rstrip("\n").split("\n")
    section = convolution_section(rows, threads, command)
    heading = section[1]
    if heading in old:
        start = old.index(heading) - 1
        end = next((i for i in range(start + 2, len(old)) if old[i].startswith("## ")), len(old) + 1) - 1
        out = old[:start] + section + old[end:]
    else:
        out = old + section
    open("BENCHMARKS.md", "w").write("\n".join(out) + "\n")
    print("\n".join(section))


def sharding_section(rows):
    """pmap: the data-parallel MLP step on 1 and 2 ranks, and pmap's cost over jit."""
    def ns(case):
        r = rows.get(case, {}).get("flock")
        return r["ns"] if r else None
    one, two = ns("pmap_mlp_step_1rank"), ns("pmap_mlp_step_2ranks")
    overhead = ns("pmap_overhead_per_step")
    ratio_value = rows.get("pmap_over_jit_mlp_step", {}).get("flock", {}).get("value")
    def ms(x):
        return f"{x / 1e6:.3g} ms" if x else "—"
    out = ["", "## pmap", "",
           f"Data-parallel SGD step of the MLP above (784-512-512-10, softmax cross-entropy) at a fixed global "
           f"batch of 256, gradients averaged with `pmean`, one device per rank (`./launch -n 1` and `-n 2`, one "
           f"core and one BLAS thread per rank). Step time: each step takes as long as its slowest rank; the best of 15 "
           f"steps (the machine is shared: the least disturbed step shows the step's cost), median over rounds. Scaling "
           f"efficiency = T(1 rank) / (2 · T(2 ranks)). Overhead: a 4×4 linear step (batch 8) under `pmap` "
           f"minus the same step under `jit`, one rank. The 2-rank job needs both cores, so a loaded machine slows it "
           f"most: set the step beside its computation alone on the same job.", "",
           "| Case | Flock | Target |", "|---|---|---|",
           f"| Step, 1 rank (batch 256 per rank) | {ms(one)} | — |",
           f"| Step, 2 ranks (batch 128 per rank) | {ms(two)} | — |",
           f"| … its computation alone (each rank, jitted, no communication), 2 ranks | {ms(ns('pmap_mlp_compute_2ranks'))} | — |",
           f"| … the gradients' all-reduce alone (`psum` of 6 arrays, 2.7 MB), 2 ranks | {ms(ns('pmap_mlp_allreduce_2ranks'))} | — |",
           f"| The step's computation alone, 1 rank (batch 256) | {ms(ns('pmap_mlp_compute_1rank'))} | — |",
           f"| Scaling efficiency, 1 → 2 ranks | {one / (2 * two):.2f} | ≥ 0.8 |" if one and two else
           "| Scaling efficiency, 1 → 2 ranks | — | ≥ 0.8 |",
           f"| `pmap` step / `jit` step, 1 rank | {ratio_value:.3f} | ≤ 1.05 |" if ratio_value else
           "| `pmap` step / `jit` step, 1 rank | — | ≤ 1.05 |",
           f"| `pmap` overhead per step, 1 rank | {overhead / 1000:.3g} µs | reported |" if overhead else
           "| `pmap` overhead per step, 1 rank | — | reported |"]
    return out


if __name__ == "__main__":
    if os.environ.get("BENCH_SECTION") == "collectives":
        splice_collectives(sys.argv[2:], sys.argv[1])
    elif os.environ.get("BENCH_SECTION") == "convolution":
        threads = os.environ.get("BENCH_THREADS", "")
        splice_convolution(sys.argv[2:], sys.argv[1], f"{threads} thread{'s' if threads != '1' else ''}" if threads else "all cores")
    else:
        threads = os.environ.get("BENCH_THREADS", "")
        main(sys.argv[2:], sys.argv[1], f"{threads} thread{'s' if threads != '1' else ''}" if threads else "",
             partial=os.environ.get("BENCH_PARTIAL") == "1")
