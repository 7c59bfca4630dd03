#!/usr/bin/env python3
"""Generates Tests/FlockTransformsTests/Fixtures/kinks.json: JAX's derivatives
at the edges of each function's domain — kinks (abs, relu, max at ties,
clip at its bounds), zeros (sqrt, pow), infinities and NaNs — so Flock's JVP
rules pick the same one-sided value JAX does, exactly.

For an elementwise f, the derivative at every grid point is
jax.grad(lambda x: f(x).sum())(x) (one call, all points); binary functions
run over the grid's Cartesian square; reductions on small arrays with ties.
Each case also holds f's values. Values are float32 bit patterns (exact comparison, any NaN equals any NaN).
No subnormal inputs: XLA CPU treats them as zero (denormals-are-zero), Flock
as IEEE numbers.

Usage: .venv/bin/python tools/make_kink_fixtures.py
"""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests/FlockTransformsTests/Fixtures/kinks.json"
inf, nan = np.inf, np.nan
GRID = np.array([-inf, -3.0, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 6.0, 7.0, inf, nan], np.float32)
SMALL = np.array([-inf, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, inf, nan], np.float32)


def bits(a):
    return [int(v) for v in np.asarray(a, np.float32).reshape(-1).view(np.uint32)]


CASES = []


def unary(name, f, xs=GRID):
    x = jnp.asarray(xs)
    g = jax.grad(lambda v: f(v).sum())(x)
    CASES.append({"name": name, "args": [bits(xs)], "shape": list(xs.shape), "grads": [bits(g)], "values": bits(f(x))})


def binary(name, f, xs=SMALL, ys=SMALL):
    a, b = np.meshgrid(xs, ys, indexing="ij")
    a, b = a.reshape(-1), b.reshape(-1)
    ga, gb = jax.grad(lambda u, v: f(u, v).sum(), argnums=(0, 1))(jnp.asarray(a), jnp.asarray(b))
    CASES.append({"name": name, "args": [bits(a), bits(b)], "shape": [len(a)], "grads": [bits(ga), bits(gb)],
                  "values": bits(f(jnp.asarray(a), jnp.asarray(b)))})


def array(name, f, x):
    x = np.asarray(x, np.float32)
    g = jax.grad(lambda v: f(v))(jnp.asarray(x))
    CASES.append({"name": name, "args": [bits(x)], "shape": list(x.shape), "grads": [bits(g)], "values": bits(f(jnp.asarray(x)))})


# Elementwise, one argument.
unary("abs", jnp.abs)
unary("sign", jnp.sign)
unary("sqrt", jnp.sqrt)
unary("rsqrt", jax.lax.rsqrt)
unary("exp", jnp.exp)
unary("log", jnp.log)
unary("log1p", jnp.log1p)
unary("expm1", jnp.expm1)
unary("tanh", jnp.tanh)
unary("sigmoid", jax.nn.sigmoid)
unary("sin", jnp.sin)
unary("erf", jax.scipy.special.erf)
unary("relu", jax.nn.relu)
unary("relu6", jax.nn.relu6)
unary("softplus", jax.nn.softplus)
unary("silu", jax.nn.silu)
unary("gelu_tanh", lambda x: jax.nn.gelu(x, approximate=True))
unary("gelu_erf", lambda x: jax.nn.gelu(x, approximate=False))
unary("leaky_relu", jax.nn.leaky_relu)
unary("elu", jax.nn.elu)
unary("log_sigmoid", jax.nn.log_sigmoid)
unary("celu", jax.nn.celu)
unary("selu", jax.nn.selu)
unary("hard_tanh", jax.nn.hard_tanh)
unary("maximum_0", lambda x: jnp.maximum(x, 0.0))
unary("minimum_0", lambda x: jnp.minimum(x, 0.0))
unary("clip_-1_1", lambda x: jnp.clip(x, -1.0, 1.0))
unary("clip_0_6", lambda x: jnp.clip(x, 0.0, 6.0))
unary("where_positive", lambda x: jnp.where(x > 0, x, 0.0))
unary("where_sqrt", lambda x: jnp.where(x > 0, jnp.sqrt(x), 0.0))
unary("square", jnp.square)
unary("pow_2", lambda x: x ** 2)
unary("pow_3", lambda x: x ** 3)
unary("pow_0", lambda x: x ** 0)
unary("pow_1", lambda x: x ** 1)
unary("pow_0.5", lambda x: x ** 0.5)
unary("pow_-1", lambda x: x ** -1.0)
unary("pow_2.0", lambda x: x ** jnp.float32(2.0))
unary("two_pow", lambda x: jnp.float32(2.0) ** x)
unary("zero_pow", lambda x: jnp.float32(0.0) ** x)

# Elementwise, two arguments over the square of SMALL.
binary("maximum", jnp.maximum)
binary("minimum", jnp.minimum)
binary("pow", jnp.power)
binary("atan2", jnp.arctan2)
binary("logaddexp", jnp.logaddexp)

# Reductions and selections with ties, infinities and NaN.
for label, x in [("ties", [3.0, 1.0, 3.0, -2.0]), ("all_equal", [2.0, 2.0, 2.0]),
                 ("inf", [-inf, 1.0, inf, inf]), ("nan", [1.0, nan, 3.0]), ("neg_inf", [-inf, -inf])]:
    array(f"max/{label}", jnp.max, x)
    array(f"min/{label}", jnp.min, x)
    array(f"sort_weighted/{label}", lambda v: (jnp.sort(v) * jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)).sum(), x)
    array(f"take_argmax/{label}", lambda v: v[jnp.argmax(v)], x)
    array(f"logsumexp/{label}", jax.nn.logsumexp, x)
    array(f"softmax_first/{label}", lambda v: jax.nn.softmax(v)[0], x)

# Cumulative log-sum-exp (values and gradients through logaddexp's rule).
for label, x in [("mixed", [0.5, -1.0, 2.0, -inf, 3.0] * 4), ("inf", [-inf, -inf, 1.0, inf, 2.0]), ("nan", [1.0, nan, 2.0])]:
    array(f"cumlogsumexp_weighted/{label}", lambda v: (jax.lax.cumlogsumexp(v, axis=0) * jnp.arange(1, v.shape[0] + 1, dtype=v.dtype)).sum(), x)

OUT.write_text(json.dumps(CASES, separators=(",", ":")) + "\n")
print(f"{len(CASES)} cases -> {OUT}")
