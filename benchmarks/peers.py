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
    if selected in (None, "sum_10m"):
        n = 10_000_000
        x = np.linspace(-4, 4, n, dtype=np.float32)
        ns = measure(lambda: float(x.sum()), 9, n)
        report("sum_10m", "numpy", ns, "ns/element", ns)
    if selected in (None, "row_sums_jit_10m"):
        x = np.linspace(-4, 4, 10_000_000, dtype=np.float32).reshape(1000, 10_000)
        ns = measure(lambda: (x * x).sum(axis=1), 9, 10_000_000)
        report("row_sums_jit_10m", "numpy", ns, "ns/element", ns)


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
    if selected in (None, "sum_10m"):
        n = 10_000_000
        x = jnp.linspace(-4, 4, n, dtype=jnp.float32)
        ns = measure(lambda: float(x.sum()), 9, n)
        report("sum_10m", "jax", ns, "ns/element", ns)
    if selected in (None, "row_sums_jit_10m"):
        x = jnp.linspace(-4, 4, 10_000_000, dtype=jnp.float32).reshape(1000, 10_000)
        f = jax.jit(lambda v: (v * v).sum(axis=1))
        f(x).block_until_ready()
        ns = measure(lambda: f(x).block_until_ready(), 9, 10_000_000)
        report("row_sums_jit_10m", "jax", ns, "ns/element", ns)


def mlp_setup(batch):
    """The MLP of Flock's benchmark: 784-512-512-10, relu, softmax cross-entropy, SGD 0.01."""
    import jax
    import jax.numpy as jnp
    k = jax.random.split(jax.random.key(0), 3)
    params = {"w1": jax.random.normal(k[0], (784, 512)) * 0.05, "b1": jnp.zeros(512),
              "w2": jax.random.normal(k[1], (512, 512)) * 0.05, "b2": jnp.zeros(512),
              "w3": jax.random.normal(k[2], (512, 10)) * 0.05, "b3": jnp.zeros(10)}
    x = jax.random.normal(jax.random.key(1), (batch, 784))
    labels = jax.nn.one_hot(jax.random.randint(jax.random.key(2), (batch,), 0, 10), 10)

    return make_step(), params, x, labels


def make_step():
    """A new train-step function object (so no JAX cache knows it yet)."""
    import jax

    def loss(p, x, y):
        h1 = jax.nn.relu(x @ p["w1"] + p["b1"])
        h2 = jax.nn.relu(h1 @ p["w2"] + p["b2"])
        logits = h2 @ p["w3"] + p["b3"]
        return -(jax.nn.log_softmax(logits) * y).sum(axis=1).mean()

    def step(p, x, y):
        l, g = jax.value_and_grad(loss)(p, x, y)
        return l, jax.tree.map(lambda a, b: a - 0.01 * b, p, g)
    return step


def jax_jit_cases(selected):
    import jax
    import jax.numpy as jnp
    for batch in (128, 1024):
        case = f"mlp_train_step_{batch}"
        if selected in (None, case):
            step, params, x, labels = mlp_setup(batch)
            jitted = jax.jit(step, donate_argnums=0)
            state = {"p": params}
            n = 10

            def run():
                for _ in range(n):
                    loss, state["p"] = jitted(state["p"], x, labels)
                loss.block_until_ready()
            ns = measure(run, 7, n)
            report(case, "jax", ns, "ms", ns / 1e6)
    if selected in (None, "gelu_10m_jit"):
        n = 10_000_000
        x = jnp.linspace(-4, 4, n, dtype=jnp.float32)
        f = jax.jit(jax.nn.gelu)
        ns = measure(lambda: f(x).block_until_ready(), 15, n)
        report("gelu_10m_jit", "jax", ns, "ns/element", ns)
    if selected in (None, "per_example_grads_jit", "per_example_grads"):
        # Flock's per_example_grads model: 64-64-1 tanh regression, batch 128, gradients of all parameters.
        k = jax.random.split(jax.random.key(3), 4)
        p = [jax.random.normal(k[0], (64, 64)) * 0.1, jnp.zeros(64), jax.random.normal(k[1], (64,)) * 0.1]
        x, y = jax.random.normal(k[2], (128, 64)), jax.random.normal(k[3], (128,))

        def loss(p, xi, yi):
            r = (jnp.tanh(xi @ p[0] + p[1]) * p[2]).sum() - yi
            return r * r
        f = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))
        ns = measure(lambda: jax.block_until_ready(f(p, x, y)), 9, 1)
        report("per_example_grads_jit", "jax", ns, "ms", ns / 1e6)
    if selected in (None, "jit_compile_mlp_step"):
        _, params, x, labels = mlp_setup(128)
        # A fresh function and jit each time: trace, lower and compile (nothing cached in between).
        ns = measure(lambda: jax.jit(make_step()).lower(params, x, labels).compile(), 7, 1)
        report("jit_compile_mlp_step", "jax", ns, "ms", ns / 1e6)


def numpy_gelu(selected):
    if selected in (None, "gelu_10m_jit"):
        n = 10_000_000
        x = np.linspace(-4, 4, n, dtype=np.float32)
        c, k, h = np.float32(np.sqrt(2 / np.pi)), np.float32(0.044715), np.float32(0.5)
        ns = measure(lambda: h * x * (1 + np.tanh(c * (x + k * x * x * x))), 9, n)
        report("gelu_10m_jit", "numpy", ns, "ns/element", ns)


if __name__ == "__main__":
    selected = sys.argv[1] if len(sys.argv) > 1 else None
    numpy_cases(selected)
    numpy_gelu(selected)
    jax_cases(selected)
    jax_jit_cases(selected)
