"""Writes BENCHMARKS.md from the JSON lines of Flock and its peers."""
import json
import os
import platform
import subprocess
import sys
from collections import defaultdict

TARGETS = {
    "eager_add_small": ("Eager `a + b`, float32[100], per op", "≤ 2 µs per op (JAX eager ~14, numpy ~0.8)"),
    "sgemm_1024": ("`matmul` float32 1024×1024", "≥ 90 % of numpy/OpenBLAS throughput"),
    "tanh_affine_10m": ("Eager `tanh(x) * 0.5 + 0.5`, float32[10M]", "≤ 1.5 ns/element (numpy ≈ 4)"),
    "mlp_eager_forward": ("MLP 784-512-512-10, batch 128: eager forward (loss)", "—"),
    "mlp_eager_value_and_grad": ("Same MLP: eager `valueAndGrad`", "—"),
    "mlp_grad_over_forward": ("`valueAndGrad` time / forward time (Flock only)", "≤ 3"),
    "per_example_grads_vmap": ("Per-example gradients via `vmap(grad)`, batch 128", "—"),
    "per_example_grads_over_hand_batched": ("`vmap(grad)` time / hand-batched gradient time (Flock only)", "≤ 1.5"),
    "tracing_overhead_per_primitive": ("Tracing (staging) cost per primitive, 1000-op chain", "reported"),
    "mlp_train_step_128": ("Jitted MLP 784-512-512-10 SGD train step, batch 128 (donated params)", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "mlp_train_step_1024": ("Same train step, batch 1024", "Flock/JAX ≤ 1.0 (aim 0.8)"),
    "gelu_10m_jit": ("Jitted (fused) GELU, float32[10M]", "Flock/JAX ≤ 1.0"),
    "jit_compile_mlp_step": ("First-call compile of the train step (trace + optimise + compile)", "Flock/JAX ≤ 0.2"),
    "startup_to_first_result": ("Process start to first jitted result", "Flock/JAX ≤ 0.1"),
}


def main(paths, command, threads):
    rows = defaultdict(dict)
    for path in paths:
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows[r["case"]].setdefault(r["impl"], []).append(r)
    # Median over rounds of each implementation's per-round medians.
    for case in rows:
        for impl, rs in rows[case].items():
            rs.sort(key=lambda x: x["ns"])
            rows[case][impl] = rs[len(rs) // 2]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    out = ["# Benchmarks", "",
           f"Machine: {cpu}, {nproc} cores, {platform.system()} {platform.release()}. "
           "Medians of several runs; Flock and its peers measured in the same run, same thread count"
           + (f" ({threads}: processes pinned with taskset, FLOCK_NUM_THREADS/OPENBLAS_NUM_THREADS set)." if threads else "."), "",
           f"Command: `{command}`", "",
           "Time ratios are Flock / peer (below 1 means Flock is faster).", "",
           "| Case | Flock | numpy | JAX | Flock/numpy (time) | Flock/JAX (time) | Target |",
           "|---|---|---|---|---|---|---|"]
    for case, (title, target) in TARGETS.items():
        r = rows.get(case, {})
        def cell(impl):
            x = r.get(impl)
            return f"{x['value']:.3g} {x['unit']}" if x else "—"
        def ratio(impl):
            if "flock" in r and impl in r:
                return f"{r['flock']['ns'] / r[impl]['ns']:.2f}"
            return "—"
        out.append(f"| {title} | {cell('flock')} | {cell('numpy')} | {cell('jax')} | {ratio('numpy')} | {ratio('jax')} | {target} |")
    out.append("")
    open("BENCHMARKS.md", "w").write("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    threads = os.environ.get("BENCH_THREADS", "")
    main(sys.argv[2:], sys.argv[1], f"{threads} thread{'s' if threads != '1' else ''}" if threads else "")
