"""Peer measurements for benchmarks/run: the same cases in numpy and JAX.

Prints one JSON line per (case, implementation) with the median ns per
operation, in the format of Flock's benchmark executable.
"""
import json
import os
import sys
import time

import numpy as np


def measure(fn, repeats, inner):
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t0) / inner)
    samples.sort()
    n = len(samples)
    return samples[n // 2] if n % 2 else (samples[n // 2 - 1] + samples[n // 2]) / 2


def report(case, impl, ns, unit, value):
    print(json.dumps({"case": case, "impl": impl, "ns": ns, "unit": unit, "value": value}), flush=True)


def numpy_cases(selected):
    if selected in (None, "eager_add_small"):
        a = np.arange(100, dtype=np.float32); b = a * 0.5
        n = 20_000
        def run():
            for _ in range(n):
                c = a + b
        ns = measure(run, 7, n)
        report("eager_add_small", "numpy", ns, "us/op", ns / 1000)
    if selected in (None, "sgemm_1024"):
        a = np.linspace(-1, 1, 1024 * 1024, dtype=np.float32).reshape(1024, 1024)
        b = np.linspace(1, -1, 1024 * 1024, dtype=np.float32).reshape(1024, 1024)
        ns = measure(lambda: a @ b, 9, 1)
        report("sgemm_1024", "numpy", ns, "GFLOP/s", 2 * 1024**3 / ns)
    if selected in (None, "tanh_affine_10m"):
        n = 10_000_000
        x = np.linspace(-4, 4, n, dtype=np.float32)
        ns = measure(lambda: np.tanh(x) * np.float32(0.5) + np.float32(0.5), 9, n)
        report("tanh_affine_10m", "numpy", ns, "ns/element", ns)


def jax_cases(selected):
    import jax
    import jax.numpy as jnp
    if selected in (None, "eager_add_small"):
        a = jnp.arange(100, dtype=jnp.float32); b = a * 0.5
        n = 2_000
        def run():
            for _ in range(n):
                c = a + b
            c.block_until_ready()
        ns = measure(run, 7, n)
        report("eager_add_small", "jax", ns, "us/op", ns / 1000)
    if selected in (None, "sgemm_1024"):
        a = jnp.linspace(-1, 1, 1024 * 1024, dtype=jnp.float32).reshape(1024, 1024)
        b = jnp.linspace(1, -1, 1024 * 1024, dtype=jnp.float32).reshape(1024, 1024)
        ns = measure(lambda: (a @ b).block_until_ready(), 9, 1)
        report("sgemm_1024", "jax", ns, "GFLOP/s", 2 * 1024**3 / ns)
    if selected in (None, "tanh_affine_10m"):
        n = 10_000_000
        x = jnp.linspace(-4, 4, n, dtype=jnp.float32)
        ns = measure(lambda: (jnp.tanh(x) * 0.5 + 0.5).block_until_ready(), 9, n)
        report("tanh_affine_10m", "jax", ns, "ns/element", ns)


if __name__ == "__main__":
    selected = sys.argv[1] if len(sys.argv) > 1 else None
    numpy_cases(selected)
    jax_cases(selected)
