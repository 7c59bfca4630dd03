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
    if selected in (None, "eager_exp_small"):
        a = np.arange(100, dtype=np.float32) / np.float32(50)
        n = 20_000
        def run():
            for _ in range(n):
                c = np.exp(a)
        ns = measure(run, 7, n)
        report("eager_exp_small", "numpy", ns, "us/op", ns / 1000)
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
    if selected in (None, "eager_exp_small"):
        a = jnp.arange(100, dtype=jnp.float32) / 50
        n = 2_000
        def run():
            for _ in range(n):
                c = jnp.exp(a)
            c.block_until_ready()
        ns = measure(run, 7, n)
        report("eager_exp_small", "jax", ns, "us/op", ns / 1000)
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
    unary = {"tanh_1m": jnp.tanh, "exp_1m": jnp.exp, "gelu_1m": jax.nn.gelu,
             "gelu_erf_1m": lambda v: jax.nn.gelu(v, approximate=False)}
    for case, f in unary.items():
        if selected in (None, case):
            x = jnp.linspace(-10, 10, 1 << 20, dtype=jnp.float32)
            ns = measure(lambda: f(x).block_until_ready(), 21, 1 << 20)
            report(case, "jax", ns, "ns/element", ns)
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


CONV_CASES = ("conv_sgemm_peak", "conv2_forward", "conv2_input_grad", "conv2_kernel_grad", "cnn_train_step",
              "conv2_forward_nhwc", "conv2_input_grad_nhwc", "conv2_kernel_grad_nhwc", "cnn_train_step_nhwc",
              "mobilenet_block_forward", "mobilenet_block_step")


def jax_convolution_cases(selected):
    """Flock's convolution cases (benchmarks/Sources/Convolution.swift) in JAX, NCHW, SAME padding."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    if selected not in ("convolution",) + CONV_CASES:
        return
    run_all = selected == "convolution"
    conv = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    flops = 2.0 * 128 * 64 * 32 * 9 * 28 * 28
    if run_all or selected == "conv_sgemm_peak":
        a = jnp.linspace(-1, 1, 1024 * 1024, dtype=jnp.float32).reshape(1024, 1024)
        b = jnp.linspace(1, -1, 1024 * 1024, dtype=jnp.float32).reshape(1024, 1024)
        ns = measure(lambda: (a @ b).block_until_ready(), 9, 1)
        report("conv_sgemm_peak", "jax", ns, "GFLOP/s", 2 * 1024**3 / ns)
    x = jax.random.normal(jax.random.key(1), (128, 32, 28, 28))
    w = jax.random.normal(jax.random.key(2), (64, 32, 3, 3))
    ct = jax.random.normal(jax.random.key(3), (128, 64, 28, 28))
    passes = {
        "conv2_forward": (jax.jit(conv), (x, w)),
        "conv2_input_grad": (jax.jit(lambda x, w, ct: jax.vjp(lambda x: conv(x, w), x)[1](ct)), (x, w, ct)),
        "conv2_kernel_grad": (jax.jit(lambda x, w, ct: jax.vjp(lambda w: conv(x, w), w)[1](ct)), (x, w, ct)),
    }
    nhwc = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    x_l = jax.random.normal(jax.random.key(1), (128, 28, 28, 32))
    w_l = jax.random.normal(jax.random.key(2), (3, 3, 32, 64))
    ct_l = jax.random.normal(jax.random.key(3), (128, 28, 28, 64))
    passes.update({
        "conv2_forward_nhwc": (jax.jit(nhwc), (x_l, w_l)),
        "conv2_input_grad_nhwc": (jax.jit(lambda x, w, ct: jax.vjp(lambda x: nhwc(x, w), x)[1](ct)), (x_l, w_l, ct_l)),
        "conv2_kernel_grad_nhwc": (jax.jit(lambda x, w, ct: jax.vjp(lambda w: nhwc(x, w), w)[1](ct)), (x_l, w_l, ct_l)),
    })
    for case, (f, args) in passes.items():
        if run_all or selected == case:
            ns = measure(lambda: jax.block_until_ready(f(*args)), 9, 1)
            report(case, "jax", ns, "GFLOP/s", flops / ns)
    if run_all or selected == "cnn_train_step":
        k = jax.random.split(jax.random.key(10), 3)
        params = [jax.random.normal(k[0], (32, 1, 3, 3)) * 0.3, jnp.zeros(32),
                  jax.random.normal(k[1], (64, 32, 3, 3)) * 0.06, jnp.zeros(64),
                  jax.random.normal(k[2], (64, 10)) * 0.1, jnp.zeros(10)]
        xs = jax.random.normal(jax.random.key(4), (128, 1, 28, 28))
        labels = jax.nn.one_hot(jax.random.randint(jax.random.key(5), (128,), 0, 10), 10)

        def loss(p, x, y):
            h1 = jax.nn.relu(conv(x, p[0]) + p[1].reshape(1, 32, 1, 1))
            h2 = jax.nn.relu(conv(h1, p[2]) + p[3].reshape(1, 64, 1, 1))
            logits = h2.mean(axis=(2, 3)) @ p[4] + p[5]
            return -(jax.nn.log_softmax(logits) * y).sum(axis=1).mean()

        def step(p, x, y):
            l, g = jax.value_and_grad(loss)(p, x, y)
            return l, [a - 0.01 * b for a, b in zip(p, g)]
        jitted = jax.jit(step, donate_argnums=0)
        state = {"p": params}
        n = 3

        def run():
            for _ in range(n):
                l, state["p"] = jitted(state["p"], xs, labels)
            l.block_until_ready()
        ns = measure(run, 5, n)
        report("cnn_train_step", "jax", ns, "ms", ns / 1e6)
    if run_all or selected == "cnn_train_step_nhwc":
        k = jax.random.split(jax.random.key(10), 3)
        params_l = [jax.random.normal(k[0], (3, 3, 1, 32)) * 0.3, jnp.zeros(32),
                    jax.random.normal(k[1], (3, 3, 32, 64)) * 0.06, jnp.zeros(64),
                    jax.random.normal(k[2], (64, 10)) * 0.1, jnp.zeros(10)]
        xs_l = jax.random.normal(jax.random.key(4), (128, 28, 28, 1))
        labels = jax.nn.one_hot(jax.random.randint(jax.random.key(5), (128,), 0, 10), 10)

        def loss_l(p, x, y):
            h1 = jax.nn.relu(nhwc(x, p[0]) + p[1])
            h2 = jax.nn.relu(nhwc(h1, p[2]) + p[3])
            logits = h2.mean(axis=(1, 2)) @ p[4] + p[5]
            return -(jax.nn.log_softmax(logits) * y).sum(axis=1).mean()

        def step_l(p, x, y):
            l, g = jax.value_and_grad(loss_l)(p, x, y)
            return l, [a - 0.01 * b for a, b in zip(p, g)]
        jitted_l = jax.jit(step_l, donate_argnums=0)
        state_l = {"p": params_l}

        def run_l():
            for _ in range(3):
                l, state_l["p"] = jitted_l(state_l["p"], xs_l, labels)
            l.block_until_ready()
        ns = measure(run_l, 5, 3)
        report("cnn_train_step_nhwc", "jax", ns, "ms", ns / 1e6)

    if run_all or selected in ("mobilenet_block_forward", "mobilenet_block_step"):
        dn = ("NHWC", "HWIO", "NHWC")
        k = jax.random.split(jax.random.key(20), 2)
        params_m = [jax.random.normal(k[0], (3, 3, 1, 64)) * 0.3, jax.random.normal(k[1], (1, 1, 64, 64)) * 0.1]
        xm = jax.random.normal(jax.random.key(6), (32, 56, 56, 64))

        def block(p, x):
            h = jax.nn.relu(lax.conv_general_dilated(x, p[0], (1, 1), "SAME", dimension_numbers=dn,
                                                     feature_group_count=64))
            return jax.nn.relu(lax.conv_general_dilated(h, p[1], (1, 1), "VALID", dimension_numbers=dn))
        if run_all or selected == "mobilenet_block_forward":
            fm = jax.jit(block)
            ns = measure(lambda: fm(params_m, xm).block_until_ready(), 9, 1)
            report("mobilenet_block_forward", "jax", ns, "ms", ns / 1e6)
        if run_all or selected == "mobilenet_block_step":
            def step_m(p, x):
                l, g = jax.value_and_grad(lambda q: jnp.mean(jnp.square(block(q, x))))(p)
                return l, [a - 0.01 * b for a, b in zip(p, g)]
            jitted_m = jax.jit(step_m, donate_argnums=0)
            state_m = {"p": params_m}

            def run_m():
                for _ in range(3):
                    l, state_m["p"] = jitted_m(state_m["p"], xm)
                l.block_until_ready()
            ns = measure(run_m, 5, 3)
            report("mobilenet_block_step", "jax", ns, "ms", ns / 1e6)


def jax_pool_cases(selected):
    if selected not in (None, "max_pool_2x2"):
        return
    import jax
    import jax.numpy as jnp
    from flax import linen as nn
    x = jax.random.normal(jax.random.key(3), (128, 28, 28, 32), jnp.float32)
    ct = jax.random.normal(jax.random.key(4), (128, 14, 14, 32), jnp.float32)
    f = jax.jit(lambda v: nn.max_pool(v, (2, 2), (2, 2)))
    g = jax.jit(jax.grad(lambda v: jnp.sum(nn.max_pool(v, (2, 2), (2, 2)) * ct)))
    ns = measure(lambda: f(x).block_until_ready(), 15, 1)
    report("max_pool_2x2_forward", "jax", ns, "ms", ns / 1e6)
    ns = measure(lambda: g(x).block_until_ready(), 15, 1)
    report("max_pool_2x2_backward", "jax", ns, "ms", ns / 1e6)

def jax_gather_cases(selected):
    """Issue 19's embedding cases: the train step, the lookup, a scatter-add."""
    if selected not in (None, "gather_scatter", "embedding_step", "embedding_lookup", "scatter_add"):
        return
    import jax
    import jax.numpy as jnp
    t = os.environ.get("FLOCK_NUM_THREADS") or os.environ.get("BENCH_THREADS") or str(len(os.sched_getaffinity(0)))
    k = jax.random.split(jax.random.key(7), 3)
    table = jax.random.normal(k[0], (10_000, 128), jnp.float32) * 0.1
    ids = jax.random.randint(k[1], (4096,), 0, 10_000, jnp.int32)
    targets = jax.random.normal(k[2], (4096, 128), jnp.float32)
    n = 20
    if selected in (None, "gather_scatter", "embedding_step"):
        def step(w, i, y):
            g = jax.grad(lambda w: jnp.mean((jnp.take(w, i, axis=0) - y) ** 2))(w)
            return w - 0.1 * g
        jitted = jax.jit(step, donate_argnums=0)
        state = {"w": table + 0}

        def run():
            for _ in range(n):
                state["w"] = jitted(state["w"], ids, targets)
            state["w"].block_until_ready()
        ns = measure(run, 9, n)
        report(f"embedding_step_t{t}", "jax", ns, "ms", ns / 1e6)
        mem = jax.jit(step, donate_argnums=0).lower(table, ids, targets).compile().memory_analysis()
        if mem is not None:
            peak = mem.temp_size_in_bytes + mem.argument_size_in_bytes + mem.output_size_in_bytes - mem.alias_size_in_bytes
            report(f"embedding_step_peak_bytes_t{t}", "jax", 0, "MB", peak / 1e6)
    if selected in (None, "gather_scatter", "embedding_lookup"):
        lookup = jax.jit(lambda w, i: jnp.take(w, i, axis=0))

        def run():
            for _ in range(n):
                y = lookup(table, ids)
            y.block_until_ready()
        ns = measure(run, 9, n)
        report(f"embedding_lookup_t{t}", "jax", ns, "us", ns / 1e3)
    if selected in (None, "gather_scatter", "scatter_add"):
        updates = targets * 0.01
        add = jax.jit(lambda w, i, u: w.at[i].add(u), donate_argnums=0)
        state = {"w": table + 0}

        def run():
            for _ in range(n):
                state["w"] = add(state["w"], ids, updates)
            state["w"].block_until_ready()
        ns = measure(run, 9, n)
        report(f"scatter_add_t{t}", "jax", ns, "us", ns / 1e3)


def numpy_gelu(selected):
    if selected in (None, "gelu_10m_jit"):
        n = 10_000_000
        x = np.linspace(-4, 4, n, dtype=np.float32)
        c, k, h = np.float32(np.sqrt(2 / np.pi)), np.float32(0.044715), np.float32(0.5)
        ns = measure(lambda: h * x * (1 + np.tanh(c * (x + k * x * x * x))), 9, n)
        report("gelu_10m_jit", "numpy", ns, "ns/element", ns)


def time_optax_step(case, loss, tx, params, x, y, n, unit, scale):
    """Reports the time of a jitted train step (value_and_grad of `loss`, `tx`'s
    update) with the parameters and optimiser state donated, as Flock's side runs it."""
    import jax
    import optax

    def step(p, s, x, y):
        l, g = jax.value_and_grad(loss)(p, x, y)
        u, s = tx.update(g, s, p)
        return optax.apply_updates(p, u), s, l
    jitted = jax.jit(step, donate_argnums=(0, 1))
    state = {"p": params, "s": tx.init(params)}

    def run():
        for _ in range(n):
            state["p"], state["s"], l = jitted(state["p"], state["s"], x, y)
        l.block_until_ready()
    ns = measure(run, 7, n)
    report(case, "jax", ns, unit, ns / scale)


def optax_cases(selected):
    if selected not in (None, "train_step_mlp_adam"):
        return
    import jax
    import jax.numpy as jnp
    import optax
    # The digits-sized MLP (64-128-10) with optax's Adam, batch 128; params and state donated.
    k = jax.random.split(jax.random.key(0), 4)
    params = {"w1": jax.random.normal(k[0], (64, 128)) * 0.1, "b1": jnp.zeros(128),
              "w2": jax.random.normal(k[1], (128, 10)) * 0.1, "b2": jnp.zeros(10)}
    x, y = jax.random.normal(k[2], (128, 64)), jax.random.randint(k[3], (128,), 0, 10)
    tx = optax.adam(1e-3)

    def loss(p, x, y):
        h = jax.nn.relu(x @ p["w1"] + p["b1"])
        return optax.softmax_cross_entropy_with_integer_labels(h @ p["w2"] + p["b2"], y).mean()

    time_optax_step("train_step_mlp_adam", loss, tx, params, x, y, n=100, unit="us", scale=1e3)


def transformer_cases(selected):
    """Issue 13's transformer block (benchmarks/Sources/Transformer.swift) in Flax + Optax."""
    if selected not in (None, "transformer_block_step"):
        return
    import jax
    import jax.numpy as jnp
    import optax
    from flax import linen as nn
    batch, length, features = 16, 128, 256

    class Block(nn.Module):
        @nn.compact
        def __call__(self, x, mask):
            h = x + nn.MultiHeadDotProductAttention(num_heads=4, qkv_features=features)(nn.LayerNorm()(x), mask=mask)
            return h + nn.Dense(features)(nn.gelu(nn.Dense(4 * features)(nn.LayerNorm()(h))))

    model = Block()
    x = jax.random.normal(jax.random.key(1), (batch, length, features))
    y = jax.random.normal(jax.random.key(2), (batch, length, features))
    mask = nn.make_causal_mask(jnp.ones((batch, length)))
    params = model.init(jax.random.key(0), x, mask)
    tx = optax.adamw(1e-3, weight_decay=1e-4)

    def loss(p, x, y):
        d = model.apply(p, x, mask) - y
        return jnp.mean(d * d)

    time_optax_step("transformer_block_step", loss, tx, params, x, y, n=5, unit="ms", scale=1e6)


if __name__ == "__main__":
    selected = sys.argv[1] if len(sys.argv) > 1 else None
    if selected == "convolution" or selected in CONV_CASES:
        jax_convolution_cases(selected)
        sys.exit(0)
    numpy_cases(selected)
    numpy_gelu(selected)
    jax_cases(selected)
    jax_jit_cases(selected)
    optax_cases(selected)
    transformer_cases(selected)
    jax_pool_cases(selected)
    jax_gather_cases(selected)
