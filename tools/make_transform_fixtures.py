"""Generates JAX reference values for Flock's transform tests.

Run from the repository root with the reference environment:
    tools/setup-reference-env && .venv/bin/python tools/make_transform_fixtures.py
Writes Tests/FlockTransformsTests/Fixtures/transforms.json: a map from case
name to {"shape": [...], "dtype": "...", "values": [...]} (float64 values, NaN
and infinities as strings). CI does not run this script; the output is committed.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "FlockTransformsTests", "Fixtures", "transforms.json")
cases = {}


def put(name, value):
    a = np.asarray(value)
    vals = []
    for v in a.astype(np.float64).ravel().tolist():
        vals.append(v if np.isfinite(v) else str(v))
    cases[name] = {"shape": list(a.shape), "dtype": str(a.dtype), "values": vals}


# --- The autodiff tutorial -------------------------------------------------
x2 = jnp.float32(2.0)
d = jnp.tanh
for k in range(1, 4):
    d = jax.grad(d)
    put(f"tutorial.tanh.d{k}", d(x2))

poly = lambda x: x**3 + 2 * x**2 - 3 * x + 1
d = poly
for k in range(1, 5):
    d = jax.grad(d)
    put(f"tutorial.poly.d{k}", d(jnp.float32(1.0)))

inputs = jnp.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]], dtype=jnp.float32)
targets = jnp.array([True, True, False, True])
W = jnp.array([0.1, -0.3, 0.7], dtype=jnp.float32)
b = jnp.float32(0.4)


def predict(W, b, inputs):
    return jax.nn.sigmoid(jnp.dot(inputs, W) + b)


def loss(W, b):
    preds = predict(W, b, inputs)
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -jnp.sum(jnp.log(label_probs))


put("tutorial.logreg.loss", loss(W, b))
put("tutorial.logreg.dW", jax.grad(loss, argnums=0)(W, b))
put("tutorial.logreg.db", jax.grad(loss, argnums=1)(W, b))
dW, db = jax.grad(loss, argnums=(0, 1))(W, b)
put("tutorial.logreg.both.dW", dW)
put("tutorial.logreg.both.db", db)


def loss_dict(params):
    return loss(params["W"], params["b"])


g = jax.grad(loss_dict)({"W": W, "b": b})
put("tutorial.logreg.dict.W", g["W"])
put("tutorial.logreg.dict.b", g["b"])

# 1-D convolution tutorial (vmap).
xc = jnp.arange(5, dtype=jnp.float32)
wc = jnp.array([2.0, 3.0, 4.0], dtype=jnp.float32)


def convolve(x, w):
    output = []
    for i in range(1, len(x) - 1):
        output.append(jnp.dot(x[i - 1 : i + 2], w))
    return jnp.array(output)


xs = jnp.stack([xc, xc + 1])
ws = jnp.stack([wc, wc * 2])
put("tutorial.convolve.single", convolve(xc, wc))
put("tutorial.convolve.vmap", jax.vmap(convolve)(xs, ws))
put("tutorial.convolve.vmap_axes1", jax.vmap(convolve, in_axes=1, out_axes=1)(xs.T, ws.T))
put("tutorial.convolve.vmap_unbatched_w", jax.vmap(convolve, in_axes=[0, None])(xs, wc))

# --- Composition matrix ----------------------------------------------------
# Scalar-input functions f: R -> R composed under every order of grad/jit/vmap
# (vmap maps over a batch of inputs, so it wraps a scalar function).
FUNCS = {
    "sin_x2": lambda x: jnp.sin(x) * x * x,
    "tanh_exp": lambda x: jnp.tanh(jnp.exp(0.3 * x)),
    "logistic_log1p": lambda x: jax.nn.sigmoid(x) * jnp.log1p(x * x),
    "poly_max": lambda x: jnp.maximum(x**3 - x, 0.5 * x),
}
POINTS = jnp.array([-1.3, -0.2, 0.4, 1.7], dtype=jnp.float64)
COMPOSITIONS = ["grad", "jit(grad)", "grad(jit)", "grad(grad)", "jit(grad(grad))", "grad(grad(jit))",
                "grad(grad(grad))", "vmap(grad)", "jit(vmap(grad))", "vmap(grad(grad))", "vmap(jit(grad))",
                "grad(vmap_sum)", "jit(grad(vmap_sum))", "vmap(grad(jit))"]


def compose(name, f):
    if name == "grad": return jax.vmap(jax.grad(f))
    if name == "jit(grad)": return jax.vmap(jax.jit(jax.grad(f)))
    if name == "grad(jit)": return jax.vmap(jax.grad(jax.jit(f)))
    if name == "grad(grad)": return jax.vmap(jax.grad(jax.grad(f)))
    if name == "jit(grad(grad))": return jax.vmap(jax.jit(jax.grad(jax.grad(f))))
    if name == "grad(grad(jit))": return jax.vmap(jax.grad(jax.grad(jax.jit(f))))
    if name == "grad(grad(grad))": return jax.vmap(jax.grad(jax.grad(jax.grad(f))))
    if name == "vmap(grad)": return jax.vmap(jax.grad(f))
    if name == "jit(vmap(grad))": return jax.jit(jax.vmap(jax.grad(f)))
    if name == "vmap(grad(grad))": return jax.vmap(jax.grad(jax.grad(f)))
    if name == "vmap(jit(grad))": return jax.vmap(jax.jit(jax.grad(f)))
    if name == "grad(vmap_sum)": return jax.grad(lambda xs: jnp.sum(jax.vmap(f)(xs)))
    if name == "jit(grad(vmap_sum))": return jax.jit(jax.grad(lambda xs: jnp.sum(jax.vmap(f)(xs))))
    if name == "vmap(grad(jit))": return jax.vmap(jax.grad(jax.jit(f)))
    raise ValueError(name)


for fname, f in FUNCS.items():
    put(f"compose.{fname}.value", jax.vmap(f)(POINTS))
    for c in COMPOSITIONS:
        put(f"compose.{fname}.{c}", compose(c, f)(POINTS))

# Per-example gradients of a small linear-regression loss.
key = np.random.default_rng(0)
Xb = key.standard_normal((6, 3))
yb = key.standard_normal(6)
wb = key.standard_normal(3)


def example_loss(w, x, y):
    return (jnp.dot(x, w) - y) ** 2


put("perexample.X", Xb)
put("perexample.y", yb)
put("perexample.w", wb)
put("perexample.grads", jax.vmap(jax.grad(example_loss), in_axes=(None, 0, 0))(wb, Xb, yb))

# Control flow under grad.
xs3 = jnp.array([1.0, 2.0, 3.0])
put("control.scan_cumprod_grad", jax.grad(lambda x: jnp.sum(jax.lax.scan(lambda c, v: (c * v, c * v), 1.0, x)[1]))(xs3))
put("control.cond_grad", jax.grad(lambda x: jax.lax.cond(jnp.sum(x) > 0, lambda v: jnp.sum(v * v), lambda v: jnp.sum(v), x))(xs3))
put("control.fori_grad", jax.grad(lambda v: jax.lax.fori_loop(0, 3, lambda i, c: c * v, 1.0))(2.0))
put("control.while_jvp", jax.jvp(lambda x: jnp.sum(jax.lax.while_loop(lambda c: jnp.sum(c) < 100, lambda c: c * 2, x)), (xs3,), (jnp.ones(3),))[1])

# --- Per-primitive VJPs and JVPs ---------------------------------------------
# grad of sum(f(a, b) * weights) w.r.t. both arguments, and the JVP along fixed
# directions, for functions mirrored in GradFixtureTests.swift.
A = np.array([[0.3, -1.2, 0.7], [1.9, -0.4, 0.25]])
B = np.array([[1.1, 0.6, -0.9], [0.45, 1.3, -0.7]])
POS = np.array([[0.3, 1.2, 0.7], [1.9, 0.4, 2.5]])
UNIT = np.array([[0.3, -0.6, 0.7], [0.1, -0.4, 0.25]])
TA = np.array([[0.5, -0.25, 1.0], [0.75, 0.1, -0.6]])
TB = np.array([[-0.3, 0.8, 0.2], [0.4, -0.9, 0.35]])
GRAD_FUNCS = {
    "exp": (lambda a, b: jnp.exp(a) * b, A, B),
    "log": (lambda a, b: jnp.log(a) * b, POS, B),
    "log1p": (lambda a, b: jnp.log1p(a) * b, POS, B),
    "expm1": (lambda a, b: jnp.expm1(a) * b, A, B),
    "sin_cos": (lambda a, b: jnp.sin(a) * jnp.cos(b), A, B),
    "tan": (lambda a, b: jnp.tan(a) * b, UNIT, B),
    "tanh": (lambda a, b: jnp.tanh(a * b), A, B),
    "sigmoid": (lambda a, b: jax.nn.sigmoid(a) * b, A, B),
    "sqrt_rsqrt": (lambda a, b: jnp.sqrt(a) + jax.lax.rsqrt(a) * b, POS, B),
    "abs": (lambda a, b: jnp.abs(a) * b, A, B),
    "erf": (lambda a, b: jax.scipy.special.erf(a) * b, A, B),
    "erf_inv": (lambda a, b: jax.scipy.special.erfinv(a) * b, UNIT, B),
    "div": (lambda a, b: a / b, A, B),
    "pow": (lambda a, b: a ** b, POS, B),
    "max_min": (lambda a, b: jnp.maximum(a, b) - jnp.minimum(a * 2, b), A, B),
    "atan2": (lambda a, b: jnp.arctan2(a, b), A, B),
    "where": (lambda a, b: jnp.where(a > b, a * 2, b * b), A, B),
    "reductions": (lambda a, b: jnp.max(a, axis=0) * jnp.sum(b, axis=0) + jnp.prod(a, axis=0), A, B),
    "logsumexp": (lambda a, b: jax.nn.logsumexp(a * b, axis=1), A, B),
    "softmax": (lambda a, b: jax.nn.softmax(a) * b, A, B),
    "matmul": (lambda a, b: a @ b.T, A, B),
    "transpose_reshape": (lambda a, b: a.reshape(3, 2).T * b, A, B),
    "slice_concat": (lambda a, b: jnp.concatenate([a[:, ::2], b[:, 1:]], axis=1), A, B),
    "index": (lambda a, b: a[jnp.array([1, 0, 1])] * b[0], A, B),
    "cumsum": (lambda a, b: jnp.cumsum(a * b, axis=1), A, B),
    "sort": (lambda a, b: jnp.sort(a * b, axis=1), A, B),
    "pad": (lambda a, b: jnp.pad(a * b, ((1, 2), (0, 1))), A, B),
    "conv1d": (lambda a, b: jax.lax.conv_general_dilated(a.reshape(1, 2, 3), b.reshape(3, 2, 1)[:2, :, :], (1,), "SAME"), A, B),
    "gelu": (lambda a, b: jax.nn.gelu(a) * b, A, B),
    # A[0, 0] - 0.3 and B[0, 1] - 0.6 are exact zeros: relu's derivative there is 0.
    "relu": (lambda a, b: jax.nn.relu(a - 0.3) * b + jax.nn.relu(b - 0.6), A, B),
    "cond": (lambda a, b: jax.lax.cond(jnp.sum(a) > 0, lambda v: v[0] * v[1], lambda v: v[0] - v[1], (a, b)), A, B),
    "scan": (lambda a, b: jax.lax.scan(lambda c, v: (c * v + jnp.sin(c), c * 2), b[0], a)[1], A, B),
}
for name, (f, a, b) in GRAD_FUNCS.items():
    out = f(a, b)
    w = np.linspace(-1, 1, out.size).reshape(out.shape)
    ga, gb = jax.grad(lambda x, y: jnp.sum(f(x, y) * w), argnums=(0, 1))(a, b)
    put(f"primgrad.{name}.out", out)
    put(f"primgrad.{name}.ga", ga)
    put(f"primgrad.{name}.gb", gb)
    put(f"primgrad.{name}.jvp", jax.jvp(f, (a, b), (TA, TB))[1])

with open(OUT, "w") as fh:
    json.dump(cases, fh, indent=0, sort_keys=True)
print(f"wrote {len(cases)} cases to {OUT}")
