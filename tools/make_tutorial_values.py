"""JAX's values for every result the `tutorial` example prints.

    .venv/bin/python tools/make_tutorial_values.py   # (re)writes Examples/Tutorial/jax-values.json

The same steps as Examples/Tutorial/Tutorial.swift, in JAX, under both
threefry modes (`legacy` = jax_threefry_partitionable=False, the mode JAX's
documentation was printed with). `tutorial --check FILE` compares its own
results with these.
"""
import json
import pathlib

import jax
import jax.numpy as jnp
from jax import grad, jit, vmap, value_and_grad

OUT = pathlib.Path(__file__).resolve().parent.parent / "Examples" / "Tutorial" / "jax-values.json"


def values(partitionable):
    jax.config.update("jax_threefry_partitionable", partitionable)
    r = {}

    def show(label, x):
        r[label] = [float(v) for v in jnp.ravel(jnp.asarray(x, dtype=jnp.float32))]

    def convolve(x, w):
        return jnp.stack([jnp.dot(x[i - 1:i + 2], w) for i in range(1, len(x) - 1)])

    x = jnp.arange(5, dtype=jnp.float32)
    w = jnp.array([2.0, 3.0, 4.0], dtype=jnp.float32)
    xs, ws = jnp.stack([x, x + 1]), jnp.stack([w, w * 2])
    show("convolve(x, w)", convolve(x, w))
    show("vmap(convolve)(xs, ws)", vmap(convolve)(xs, ws))
    show("in/out axes 1", vmap(convolve, in_axes=1, out_axes=1)(xs.T, ws.T))
    show("w unbatched", vmap(convolve, in_axes=(0, None))(xs, w))
    show("jit(vmap)", jit(vmap(convolve))(xs, ws))
    show("vmap(jit)", vmap(jit(convolve))(xs, ws))

    dtanh = grad(jnp.tanh)
    show("grad(tanh)(2)", dtanh(2.0))
    show("grad(grad(tanh))(2)", grad(dtanh)(2.0))
    show("grad(grad(grad(tanh)))(2)", grad(grad(dtanh))(2.0))
    d = lambda x: x**3 + 2 * x**2 - 3 * x + 1
    for k in range(1, 5):
        d = grad(d)
        show(f"d{k}/dx{k} (x³ + 2x² − 3x + 1) at 1", d(1.0))

    inputs = jnp.array([[0.52, 1.12, 0.77], [0.88, -1.08, 0.15], [0.52, 0.06, -1.30], [0.74, -2.49, 1.39]])
    targets = jnp.array([1.0, 1.0, 0.0, 1.0])

    def sigmoid(x):
        return 0.5 * (jnp.tanh(x / 2) + 1)

    def loss(W, b):
        preds = sigmoid(jnp.dot(inputs, W) + b)
        return -jnp.sum(jnp.log(preds * targets + (1 - preds) * (1 - targets)))

    key = jax.random.key(0)
    key, W_key, b_key = jax.random.split(key, 3)
    W = jax.random.normal(W_key, (3,))
    b = jax.random.normal(b_key, ())
    show("W", W)
    show("b", b)
    show("loss", loss(W, b))
    show("dloss/dW", grad(loss, argnums=0)(W, b))
    show("dloss/db", grad(loss, argnums=1)(W, b))
    v, g = value_and_grad(loss)(W, b)
    show("valueAndGrad value", v)
    show("valueAndGrad dW", g)

    W0 = jnp.array([0.1, -0.3, 0.7], dtype=jnp.float32)

    def per_example(xi, ti):
        return grad(lambda w: (jax.nn.sigmoid(jnp.dot(xi, w)) - ti) ** 2)(W0)

    show("per-example gradients", vmap(per_example)(inputs, targets))
    return r


result = {"jax": jax.__version__, "partitionable": values(True), "legacy": values(False)}
OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
print("wrote", OUT)
