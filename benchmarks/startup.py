"""Process start to first result, for benchmarks/run: times whole processes.

Flock: `flock-bench startup` (jit a GELU, run it, print a number). JAX: a
Python process that imports jax and does the same. Prints one JSON line per
implementation with the median wall time over several starts.
"""
import json
import os
import subprocess
import sys
import time

JAX_PROGRAM = (
    "import jax, jax.numpy as jnp\n"
    "f = jax.jit(lambda v: jax.nn.gelu(v) * 2)\n"
    "print(float(f(jnp.linspace(-1, 1, 1000)).sum()))\n"
)


def median_wall(argv, repeats=5):
    subprocess.run(argv, check=True, capture_output=True)  # warm the file cache
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        subprocess.run(argv, check=True, capture_output=True)
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    return samples[len(samples) // 2]


if __name__ == "__main__":
    flock_bench, python = sys.argv[1], sys.argv[2]
    for impl, argv in (("flock", [flock_bench, "startup"]), ("jax", [python, "-c", JAX_PROGRAM])):
        ns = median_wall(argv)
        print(json.dumps({"case": "startup_to_first_result", "impl": impl, "ns": ns, "unit": "ms", "value": ns / 1e6}), flush=True)
